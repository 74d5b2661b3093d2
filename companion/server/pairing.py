"""Paired extensions: a random token per browser, kept only as a SHA-256 hash with its Origin.

The token proves "this is the extension the user approved"; the pinned Origin stops a token that
leaked to another extension or page from working there.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from companion.errors import ErrorCode, LookError

log = logging.getLogger(__name__)
FILE_VERSION = 1
PAIRING_TIMEOUT_S = 120.0  # how long a pairing request waits for the user's answer


@dataclass(frozen=True)
class PairingRequest:
    """What the user is asked to approve: who asks, and the code the browser shows."""

    origin: str
    code: str


Confirm = Callable[[PairingRequest], bool]
"""Blocking question to the user; True pairs the browser. Runs in a worker thread."""


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
    """Asks the user about one pairing at a time, in its own thread (the question blocks)."""

    def __init__(self, confirm: Confirm, timeout_s: float) -> None:
        self._confirm = confirm
        self._timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pairing")
        self._pending: Future | None = None

    async def ask(self, request: PairingRequest) -> bool:
        if self._pending is not None and not self._pending.done():
            raise LookError(ErrorCode.PAIRING_BUSY,
                            "Another pairing request is waiting for an answer in "
                            "the companion. Answer it there, then try again.", 503)
        self._pending = self._executor.submit(self._safe_confirm, request)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self._pending), self._timeout_s)
        except TimeoutError:
            return False

    def _safe_confirm(self, request: PairingRequest) -> bool:
        try:
            return bool(self._confirm(request))
        except Exception:  # a broken prompt must refuse, never pair
            log.exception("The pairing confirmation failed; refusing.")
            return False

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
