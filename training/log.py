"""Log lines of long training runs (timestamped, on stdout) and of evaluations (on stderr).

Counts with a rate and an ETA come from the company's one progress helper,
`companion.progress.Progress`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def log(msg: str) -> None:
    """Timestamped progress line, flushed so `tail -f train.log` shows it at once."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def note(msg: str) -> None:
    """An evaluation's side remark: on stderr, so that stdout is the report alone."""
    print(msg, file=sys.stderr, flush=True)


def save_report(path: Path, report: object) -> None:
    """An evaluation's results as JSON (``--json``), its folder made if need be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
