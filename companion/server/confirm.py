"""Ways to answer "may this browser extension pair?": the terminal prompt, and a test-only yes.

The terminal prompt asks the user to type the six-digit code their browser shows. Nothing typed
before the question can answer it: pending input is discarded as the question appears, and a
stray "y" or Enter is not the code. Only the exact code approves; anything else, no answer, or a
withdrawn request refuses.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

from companion.server.pairing import PAIRING_TIMEOUT_S, PairingRequest

log = logging.getLogger(__name__)
PROMPT = "Code: "
SLICE_S = 0.2  # how often a waiting prompt checks whether its request was withdrawn
_TERMINAL = threading.Lock()  # one prompt on the terminal at a time


def ask_in_terminal(request: PairingRequest, timeout_s: float = PAIRING_TIMEOUT_S) -> bool:
    """Ask for the code the browser shows; True only when exactly that code is typed in time."""
    if sys.stdin is None or not sys.stdin.isatty():
        print(f"Pairing request from {request.origin} refused: the companion has no terminal to "
              "ask in.", flush=True)
        return False
    deadline = time.monotonic() + timeout_s
    # A withdrawn prompt comes down within one slice; a newer one waits for that.
    while not _TERMINAL.acquire(timeout=SLICE_S):
        if request.withdrawn.is_set() or time.monotonic() >= deadline:
            return False
    try:
        print(question(request, timeout_s), flush=True)
        discard_typed_ahead(sys.stdin.fileno())  # keys pressed before the question was read
        print(PROMPT, end="", flush=True)  # what is typed from here on is the answer
        typed = read_line(sys.stdin.fileno(), deadline, request.withdrawn)
    finally:
        _TERMINAL.release()
    if typed is None or request.withdrawn.is_set():
        print("\nThis pairing request was withdrawn (the browser stopped waiting, or no code "
              "was typed in time): nothing was paired.", flush=True)
        return False
    approved = request.matches(typed)
    print("Right code: pairing this browser." if approved
          else "That is not the code the browser shows: pairing refused.", flush=True)
    return approved


def question(request: PairingRequest, timeout_s: float) -> str:
    replaces = ("  This browser is already paired; approving replaces its pairing.\n"
                if request.already_paired else "")
    return (f"\nA browser extension asks to pair with this companion.\n"
            f"  from: {request.origin}\n{replaces}"
            f"To pair, type the six-digit code that the extension's options page shows, then "
            f"press Enter.\nAnything else, or no answer within {timeout_s:.0f} s, refuses.")


def discard_typed_ahead(fd: int) -> None:
    """Throw away whatever was typed before the question appeared (a stale "y", a code)."""
    if os.name == "nt":
        import msvcrt

        while msvcrt.kbhit():
            msvcrt.getwch()
        return
    import termios

    termios.tcflush(fd, termios.TCIFLUSH)


def read_line(fd: int, deadline: float, withdrawn: threading.Event) -> str | None:
    """One line typed on the terminal, or None when ``withdrawn`` is set or ``deadline`` passes.

    Reads the descriptor itself, never ``sys.stdin``'s buffer, so nothing read earlier can answer.
    End of input (Ctrl-D) gives an empty line, which matches no code.
    """
    if os.name == "nt":
        return _read_line_windows(deadline, withdrawn)
    import select

    typed = b""
    while not withdrawn.is_set() and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], SLICE_S)
        if not ready:
            continue
        chunk = os.read(fd, 1024)
        typed += chunk
        if not chunk or b"\n" in chunk:
            return typed.decode("utf-8", "replace").partition("\n")[0]
    return None


def _read_line_windows(deadline: float, withdrawn: threading.Event) -> str | None:
    import msvcrt

    typed = ""
    while not withdrawn.is_set() and time.monotonic() < deadline:
        if not msvcrt.kbhit():
            time.sleep(SLICE_S / 4)
            continue
        char = msvcrt.getwche()
        if char in "\r\n":
            print(flush=True)
            return typed
        typed += char
    return None


def approve_for_tests(request: PairingRequest) -> bool:
    """Pairs every request without asking. For automated tests only (--auto-approve-pairing)."""
    log.warning("Pairing %s without asking (--auto-approve-pairing, for tests only).",
                request.origin)
    return True
