"""Log lines of long training runs (timestamped, on stdout) and of evaluations (on stderr).

Counts with a rate and an ETA come from the company's one progress helper,
`companion.progress.Progress`.
"""

from __future__ import annotations

import sys
import time


def log(msg: str) -> None:
    """Timestamped progress line, flushed so `tail -f train.log` shows it at once."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def note(msg: str) -> None:
    """An evaluation's side remark: on stderr, so that stdout is the report alone."""
    print(msg, file=sys.stderr, flush=True)
