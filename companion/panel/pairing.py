"""Asking "may this browser extension pair?" in the window instead of the terminal.

A companion started from the desktop has no terminal to ask in; the window always has the user.
As in the terminal, the user types the six-digit code the extension's options page shows: the
window never shows it, so only someone who sees the browser can approve, and a click or a key
pressed before the question appeared cannot. The server's pairing handler blocks in a worker
thread on ``ask``; the page answers through the js_api. One question at a time; a withdrawn
request (the browser gave up, the time ran out) takes its question down at once.
"""

from __future__ import annotations

import threading
import time

from companion.server.pairing import PairingRequest

SLICE_S = 0.1  # how often a waiting question checks whether its request was withdrawn


class PairingPrompt:
    """The pending pairing question and the code the user typed for it."""

    def __init__(self) -> None:
        self._question: dict | None = None
        self._typed: str | None = None
        self._answered = threading.Event()
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()

    def pending(self) -> dict | None:
        with self._lock:
            return dict(self._question) if self._question else None

    def ask(self, request: PairingRequest, timeout_s: float, show=lambda q: None) -> bool:
        """Block until the user answers (True only when they typed the request's code), refuses,
        ``timeout_s`` passes or the request is withdrawn.

        ``show`` is called with the question dict, or None when it comes down.
        """
        deadline = time.monotonic() + timeout_s
        while not self._one_at_a_time.acquire(timeout=SLICE_S):
            if request.withdrawn.is_set() or time.monotonic() >= deadline:
                return False
        try:
            with self._lock:
                self._question = {"origin": request.origin,
                                  "alreadyPaired": request.already_paired}
                self._typed = None
                self._answered.clear()
            show(self.pending())
            while not self._answered.wait(SLICE_S):
                if request.withdrawn.is_set() or time.monotonic() >= deadline:
                    break
            with self._lock:
                typed, self._question = self._typed, None
            show(None)
            return typed is not None and not request.withdrawn.is_set() and request.matches(typed)
        finally:
            self._one_at_a_time.release()

    def answer(self, typed: str | None) -> bool:
        """The code the user typed, or None for "Don't pair"; False when nothing was asked."""
        with self._lock:
            if self._question is None:
                return False
            self._typed = typed
            self._answered.set()
            return True
