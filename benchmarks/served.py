"""A real ``serve --no-panel`` in a process of its own, paired, for benchmarks that need the
companion as the shopper runs it: its looks over loopback HTTP, its CPU time and its memory.

``tree`` is the source tree it runs from (this checkout, or a ``git worktree`` of an older
commit: ``python -m companion.cli`` run there imports that tree's code, and reads that tree's
models because ``serve`` sets ``SHOP_THE_LOOK_MODELS`` to them), so
one benchmark can time the old and the new companion side by side on the same machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_bundle import ORIGIN, call, free_port
from companion.paths import MODELS_ENV, default_index_dir
from training.data import data_root

REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAIRING_CODE = b'{"code": "246802"}'


@dataclass
class Served:
    """A running, paired companion."""

    process: subprocess.Popen
    port: int
    token: str
    ready_s: float  # launch to ``"ready": true`` (models loaded and warmed up)

    def look(self, data: bytes) -> float:
        """Seconds from sending ``data`` to its look's whole answer."""
        headers = {"Authorization": f"Bearer {self.token}", "Origin": ORIGIN,
                   "Content-Type": "image/jpeg"}
        began = time.perf_counter()
        answer = call(self.port, "POST", "/v1/looks", data, headers)
        if answer is None or "items" not in answer:
            raise RuntimeError(f"the look failed: {answer}")
        return time.perf_counter() - began

    def cpu_s(self) -> float:
        """CPU seconds the process has used so far, every thread (user + system)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def rss_mb(self) -> float:
        """Resident memory now (VmRSS), MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@contextmanager
def serve(tree: Path, index: Path, extra_env: dict[str, str] | None = None,
          timeout_s: float = 180) -> Iterator[Served]:
    """Start ``serve`` from ``tree`` over ``index``, wait until ready, pair; stop it after."""
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        # The tree's own models: an older tree's code alone would read this checkout's, since
        # the editable install maps the package's models to this checkout's models/ folder.
        env = {**os.environ, "HOME": home, "SHOP_THE_LOOK_CONFIG": home,
               MODELS_ENV: str(tree.resolve() / "models"), **(extra_env or {})}
        env.pop("PYTHONPATH", None)
        launched = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "companion.cli", "serve", "--no-panel", "--port", str(port),
             "--auto-approve-pairing", "--index", str(index)],
            cwd=tree, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            ready_s = _wait_ready(process, port, launched, timeout_s)
            paired = call(port, "POST", "/v1/pair", PAIRING_CODE,
                          {"Origin": ORIGIN, "Content-Type": "application/json"})
            if not paired or "token" not in paired:
                raise RuntimeError(f"pairing failed: {paired}")
            yield Served(process, port, paired["token"], ready_s)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen, port: int, launched: float, timeout_s: float) -> float:
    while True:
        answer = call(port, "GET", "/v1/ping")
        now = time.perf_counter() - launched
        if answer is not None and answer.get("ready"):
            return now
        if now > timeout_s or process.poll() is not None:
            raise RuntimeError(f"serve did not get ready (exit {process.poll()})")
        time.sleep(0.02)


def add_tree_options(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark that runs serve from this tree and maybe an older one."""
    parser.add_argument("--baseline-repo", type=Path, help="an older tree to compare with")
    parser.add_argument("--index", type=Path, default=None, help="default: the demo index")
    parser.add_argument("--data", type=Path, default=data_root())
    parser.add_argument("--photos", type=int, default=10, help="street test photos to look at")


@dataclass(frozen=True)
class Setup:
    trees: dict[str, Path]  # "this" (the tree this benchmark is in), and "baseline" if given
    photos: list[Path]
    index: Path


def setup_of(args: argparse.Namespace) -> Setup:
    street = args.data / "street"
    names = (street / "test.txt").read_text().split()[: args.photos]
    trees = {"this": REPO}
    if args.baseline_repo:
        trees["baseline"] = args.baseline_repo.resolve()
    return Setup(trees, [street / "images" / n for n in names],
                 (args.index or default_index_dir()).resolve())
