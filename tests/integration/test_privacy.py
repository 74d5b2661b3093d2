"""Privacy is the product: a look opens no connection and leaves no copy of the photo on disk.

Here, in this process: Python's audit hooks see what Python code does during a look, after a
warm-up; they see nothing native code does (ONNX Runtime's threads), nor the start. And in a
fresh process: loading a model leaves none of ONNX Runtime's telemetry files. The whole
companion, native code, start-up and a minute of ``serve`` included, is watched from the
operating system in tests/e2e/test_privacy_os.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from companion.paths import MODELS_ENV
from tests.support.data import requires_data, street_photo

pytestmark = requires_data

TELEMETRY_LEFT_ON = Path(__file__).resolve().parents[1] / "support" / "telemetry_left_on"
LOAD_A_MODEL = ("from companion.inference.store import ModelStore; "
                "store = ModelStore(); store.get(store.available()[0])")


class Audit:
    """Records, through Python's audit hooks, every socket connect and every file opened for
    writing while ``active``. Hooks cannot be removed, so this one is gated by a flag."""

    def __init__(self) -> None:
        self.active = False
        self.connections: list = []
        self.writes: list = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if not self.active:
            return
        if event in ("socket.connect", "socket.sendto", "socket.getaddrinfo"):
            self.connections.append((event, args[1:]))
        elif event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if writing:
                self.writes.append(path)


@pytest.fixture(scope="module")
def audit() -> Audit:
    return Audit()


def test_a_look_opens_no_connection_and_writes_no_file(pipeline, audit):
    photo = street_photo("ccp_0003.jpg")
    pipeline.run(photo)  # warm up: models load, sessions are created
    temp_before = set(os.listdir(tempfile.gettempdir()))
    audit.active = True
    try:
        look = pipeline.run(photo, source="ccp_0003.jpg")
    finally:
        audit.active = False
    assert look.items, "the look must really have run"
    assert audit.connections == []
    assert audit.writes == []
    assert set(os.listdir(tempfile.gettempdir())) == temp_before


def test_the_audit_does_see_connections_and_writes(audit, tmp_path):
    """The hook is live: a connection attempt and a file write are both recorded."""
    import socket

    audit.active = True
    try:
        (tmp_path / "x.txt").write_text("written")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            with contextlib.suppress(OSError):
                sock.connect(("127.0.0.1", 9))
    finally:
        audit.active = False
    assert any(str(tmp_path) in str(p) for p in audit.writes)
    assert audit.connections


def files_left_by_loading_a_model(root: Path, **extra: str) -> list[str]:
    """Load one model in a fresh process whose HOME and TMPDIR are empty folders under ``root``
    (its environment built from nothing: this process has the companion's own setting);
    the files it left there."""
    home, tmp = root / "home", root / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "TMPDIR": str(tmp),
           "PYTHONDONTWRITEBYTECODE": "1", **extra}
    if MODELS_ENV in os.environ:
        env[MODELS_ENV] = os.environ[MODELS_ENV]
    run = subprocess.run([sys.executable, "-c", LOAD_A_MODEL], cwd=root, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_loading_a_model_leaves_no_onnx_runtime_telemetry_files(tmp_path):
    assert files_left_by_loading_a_model(tmp_path) == []


def test_with_telemetry_left_on_loading_a_model_leaves_its_files(tmp_path):
    """The check above can fail: ONNX Runtime imported before the companion switches its
    telemetry off (as every build did before) leaves a device id, an events database and a
    session file."""
    left = files_left_by_loading_a_model(tmp_path, PYTHONPATH=str(TELEMETRY_LEFT_ON))
    assert "home/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid" in left
    assert "home/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db" in left
    assert "tmp/.ses" in left
