"""Paired extensions: a random token per browser, kept only as a SHA-256 hash with its Origin.

The token proves "this is the extension the user approved"; the pinned Origin stops a token that
leaked to another extension or page from working there. The user approves by typing the code the
extension shows where the companion asks (``confirm``: the terminal, or the window); the desk asks
one question at a time and withdraws it when nobody waits for the answer any more.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from companion.errors import ErrorCode, LookError
from companion.server.attempts import Attempts
from companion.server.origins import is_extension_origin

log = logging.getLogger(__name__)
FILE_VERSION = 1
PAIRING_TIMEOUT_S = 120.0  # how long a pairing request waits for the user's answer
POLL_S = 0.1  # how often a waiting request checks its answer and its requester


@dataclass(frozen=True)
class PairingRequest:
    """What the user is asked to approve: who asks, and the code the browser shows.

    The user approves by typing that code where they are asked: only someone who sees the
    browser's screen can, and no answer typed ahead of the question can. ``withdrawn`` is set when
    the desk stops waiting (the requester went away, or the time ran out): the question must then
    come down and refuse.
    """

    origin: str
    code: str
    already_paired: bool = False  # approving replaces this browser's pairing: the user is told
    withdrawn: threading.Event = field(default_factory=threading.Event, compare=False,
                                       repr=False)

    def __post_init__(self) -> None:
        if not is_extension_origin(self.origin):  # the user is never shown anything else
            raise ValueError("a pairing request needs an extension's Origin in its exact form")

    def matches(self, typed: str) -> bool:
        """Whether ``typed`` is this request's code (spaces ignored), compared in constant time."""
        entered = "".join(typed.split()).encode("utf-8")
        return hmac.compare_digest(entered, self.code.encode("utf-8"))


Confirm = Callable[[PairingRequest], bool]
"""Blocking question to the user; True pairs the browser. Runs in a worker thread, and returns
(refusing) soon after the request's ``withdrawn`` is set."""


class Answer(StrEnum):
    APPROVED = "approved"
    REFUSED = "refused"  # a wrong code, or no to the question
    UNANSWERED = "unanswered"  # the time ran out
    WITHDRAWN = "withdrawn"  # the requester went away


class PairingLocked(LookError):
    """Pairing is locked for ``retry_after_s`` after several failed attempts."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(ErrorCode.PAIRING_LOCKED,
                         f"Several pairing attempts failed in a row. Wait {retry_after_s} s, "
                         "then press Pair again.", 429)
        self.retry_after_s = retry_after_s


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Pairing:
    origin: str
    token_sha256: str
    paired_at: str


class PairingStore:
    """The pairings file (JSON, owner-only). One pairing per Origin: pairing again replaces it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pairings = self._load()

    def _load(self) -> list[Pairing]:
        if not self.path.is_file():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [Pairing(**entry) for entry in data.get("pairings", [])]
        except (OSError, ValueError, TypeError) as exc:
            log.error("Ignoring unreadable pairings file %s (%s): pair the browser again.",
                      self.path, exc)
            return []

    def __len__(self) -> int:
        return len(self._pairings)

    def add(self, origin: str) -> str:
        """Pair ``origin`` and return its new token; the token itself is never stored."""
        token = secrets.token_urlsafe(32)
        paired_at = datetime.now(UTC).isoformat(timespec="seconds")
        kept = [p for p in self._pairings if p.origin != origin]
        self._save([*kept, Pairing(origin, token_hash(token), paired_at)])
        return token

    def has(self, origin: str) -> bool:
        return any(p.origin == origin for p in self._pairings)

    def remove(self, origin: str) -> None:
        """Forget ``origin``'s pairing: its token stops working at once."""
        self._save([p for p in self._pairings if p.origin != origin])

    def origin_for(self, token: str) -> str | None:
        """The Origin pinned to ``token``, or None if no pairing has it (constant-time compare)."""
        digest = token_hash(token)
        found = None
        for pairing in self._pairings:
            if hmac.compare_digest(pairing.token_sha256, digest):
                found = pairing.origin
        return found

    def _save(self, pairings: list[Pairing]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"version": FILE_VERSION, "pairings": [asdict(p) for p in pairings]},
                          indent=2)
        handle, staging = tempfile.mkstemp(prefix=".pairings-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(body)
            os.chmod(staging, 0o600)
            os.replace(staging, self.path)  # never a half-written file
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
        self._pairings = pairings


class PairingDesk:
    """Asks the user about one pairing at a time, each question in a thread of its own (it blocks).

    The desk is free again the moment a question ends, answered or not: when the time runs out or
    the requester goes away, the question is withdrawn (its prompt comes down by itself) and the
    next request is asked at once. Failed attempts slow the next ones (``Attempts``).
    """

    def __init__(self, confirm: Confirm, timeout_s: float,
                 attempts: Attempts | None = None) -> None:
        self._confirm = confirm
        self._timeout_s = timeout_s
        self._attempts = attempts or Attempts()
        self._pending: PairingRequest | None = None

    async def ask(self, request: PairingRequest,
                  gone: Callable[[], bool] = lambda: False) -> Answer:
        """Ask the user; ``gone`` says whether the requester has stopped waiting."""
        wait_s = self._attempts.wait_s()
        if wait_s > 0:
            raise PairingLocked(math.ceil(wait_s))
        if self._pending is not None:
            raise LookError(ErrorCode.PAIRING_BUSY,
                            "Another pairing request is waiting for an answer in "
                            "the companion. Answer it there, then try again.", 503)
        self._pending = request
        answer = Answer.WITHDRAWN  # also when this coroutine is cancelled
        try:
            answer = await self._wait(request, self._start(request), gone)
            return answer
        finally:
            self._pending = None
            request.withdrawn.set()  # a question still up comes down; an answered one is over
            if answer is Answer.APPROVED:
                self._attempts.succeeded()
            else:
                self._attempts.failed()
                log.info("Pairing not approved (%s).", answer)

    async def _wait(self, request: PairingRequest, answered: Future,
                    gone: Callable[[], bool]) -> Answer:
        deadline = time.monotonic() + self._timeout_s
        while not answered.done():
            if gone() or request.withdrawn.is_set():  # the requester left, or the server stops
                return Answer.WITHDRAWN
            if time.monotonic() >= deadline:
                return Answer.UNANSWERED
            await asyncio.sleep(POLL_S)
        return Answer.APPROVED if answered.result() else Answer.REFUSED

    def _start(self, request: PairingRequest) -> Future:
        answered: Future = Future()

        def run() -> None:
            try:
                answered.set_result(bool(self._confirm(request)))
            except Exception:  # a broken prompt must refuse, never pair
                log.exception("The pairing confirmation failed; refusing.")
                answered.set_result(False)

        threading.Thread(target=run, name="pairing", daemon=True).start()
        return answered

    def close(self) -> None:
        """Withdraw the question still up, if any (the server is stopping)."""
        if self._pending is not None:
            self._pending.withdrawn.set()
