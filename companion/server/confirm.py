"""Ways to answer "may this browser extension pair?": the terminal prompt, and a test-only yes."""

from __future__ import annotations

import logging
import os
import select
import sys

from companion.server.pairing import PAIRING_TIMEOUT_S, PairingRequest

log = logging.getLogger(__name__)
YES = {"y", "yes", "ν", "ναι"}


def ask_in_terminal(request: PairingRequest, timeout_s: float = PAIRING_TIMEOUT_S) -> bool:
    """Show the code the browser shows and wait for y/N; no terminal or no answer means no."""
    if sys.stdin is None or not sys.stdin.isatty():
        print(f"Pairing request from {request.origin} refused: the companion has no terminal to "
              "ask in.", flush=True)
        return False
    print(f"\nA browser extension asks to pair with this companion.\n"
          f"  from: {request.origin}\n"
          f"  code: {request.code[:3]} {request.code[3:]}\n"
          f"Pair only if your browser shows the same code. Pair? [y/N] ", end="", flush=True)
    if os.name != "nt":  # select() on stdin works on POSIX only; Windows waits without a limit
        ready, _, _ = select.select([sys.stdin], [], [], timeout_s)
        if not ready:
            print("\nNo answer: pairing refused.", flush=True)
            return False
    answer = sys.stdin.readline().strip().lower()
    approved = answer in YES
    print("Paired." if approved else "Pairing refused.", flush=True)
    return approved


def approve_for_tests(request: PairingRequest) -> bool:
    """Pairs every request without asking. For automated tests only (--auto-approve-pairing)."""
    log.warning("Pairing %s without asking (--auto-approve-pairing, for tests only).",
                request.origin)
    return True
