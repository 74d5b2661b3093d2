"""Asking "may this browser extension pair?" in the window instead of the terminal.

A companion started from the desktop has no terminal to ask in; the window always has the user.
The server's pairing handler blocks in a worker thread on ``ask``; the page answers through the
js_api. One question at a time: a second request waits for the first to be answered.
"""

from __future__ import annotations

import threading


class PairingPrompt:
    """The pending pairing question and its answer."""

    def __init__(self) -> None:
        self._question: dict | None = None
        self._answer: bool | None = None
        self._answered = threading.Event()
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()

    def pending(self) -> dict | None:
        with self._lock:
            return dict(self._question) if self._question else None

    def ask(self, origin: str, code: str, timeout_s: float, show=lambda q: None) -> bool:
        """Block until the user answers (True pairs) or ``timeout_s`` passes (refused).

        ``show`` is called with the question dict, or None when it is withdrawn.
        """
        if not self._one_at_a_time.acquire(timeout=timeout_s):
            return False
        try:
            with self._lock:
                self._question = {"origin": origin, "code": code}
                self._answer = None
                self._answered.clear()
            show(self.pending())
            self._answered.wait(timeout_s)
            with self._lock:
                approved = bool(self._answer)
                self._question = None
            show(None)
            return approved
        finally:
            self._one_at_a_time.release()

    def answer(self, approved: bool) -> bool:
        """The user's answer; False when nothing was being asked."""
        with self._lock:
            if self._question is None:
                return False
            self._answer = approved
            self._answered.set()
            return True
