"""Privacy seen from the operating system: the real companion, run under strace (which sees
native code, ONNX Runtime's own threads included, where Python's audit hooks cannot), opens no
connection beyond loopback, looks up no name and writes nothing outside its config and index
folders: through a minute of ``serve`` with a look, and through a ``look`` on the command line.
No file holding the photo is left behind. And the watch can fail: a companion that leaves
ONNX Runtime's telemetry on is caught by the same analysis (``tests.support.strace_audit``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from companion.paths import APP_DIR_NAME, MODELS_ENV
from tests.support.companion_http import (
    EXTENSION_ORIGIN,
    Answer,
    authorised,
    free_port,
    request,
)
from tests.support.data import STREET, requires_data
from tests.support.strace_audit import (
    Traced,
    Violation,
    file_changes,
    files_containing,
    violations,
)

pytestmark = [
    requires_data,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("strace") is None,
                       reason="strace is not installed (scripts/setup.sh --test installs it)"),
]

PHOTO = STREET / "images" / "ccp_0003.jpg"
SHOP_THE_LOOK = Path(sys.executable).parent / "shop-the-look"  # the venv's command, as users run it
SERVE_FOR_S = 60
# ONNX Runtime's telemetry looked up its server about 9 s after the start (twice, 9 and 10 s).
TELEMETRY_DEADLINE_S = 60
TELEMETRY_LEFT_ON = Path(__file__).resolve().parents[1] / "support" / "telemetry_left_on"
ORT_TELEMETRY_FOLDER = Path("Microsoft") / "DeveloperTools" / ".onnxruntime"


@dataclass(frozen=True)
class User:
    """A fresh user: HOME, TMPDIR and the XDG folders under one folder the test searches after.

    The environment is built from nothing, so no variable of this test process leaks in: it
    has ORT_DISABLE_TELEMETRY=1, set by the companion imported here, and the companion under
    test must set it itself."""

    root: Path
    FOLDERS = ("home", "tmp", "config", "cache", "data", "state", "runtime")

    def __post_init__(self) -> None:
        for name in self.FOLDERS:
            (self.root / name).mkdir(parents=True, mode=0o700)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def companion_config(self) -> Path:
        """Where the companion keeps its pairings: $XDG_CONFIG_HOME/shop-the-look."""
        return self.root / "config" / APP_DIR_NAME

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": os.environ["PATH"], "LANG": "C.UTF-8",
            "HOME": str(self.home), "TMPDIR": str(self.root / "tmp"),
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "XDG_CACHE_HOME": str(self.root / "cache"),
            "XDG_DATA_HOME": str(self.root / "data"),
            "XDG_STATE_HOME": str(self.root / "state"),
            "XDG_RUNTIME_DIR": str(self.root / "runtime"),
            # Python's bytecode cache is code, not the user's data, and is written only on a
            # first run from a fresh checkout; off, so every file written is the companion's.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if MODELS_ENV in os.environ:
            env[MODELS_ENV] = os.environ[MODELS_ENV]
        return {**env, **extra}


@dataclass
class ServeRun:
    look: Answer
    output: str
    lines: list[str]


def serve_traced(user: User, index_dir: Path, trace_dir: Path, *, seconds: float,
                 stop_when: Callable[[list[str]], bool] | None = None,
                 **extra_env: str) -> ServeRun:
    """``shop-the-look serve`` under strace: paired (auto-approved) and sent one look, then left
    running until ``seconds`` after its start or until ``stop_when(trace lines)``; stopped with
    SIGTERM."""
    port = free_port()
    started = time.monotonic()
    traced = Traced([str(SHOP_THE_LOOK), "serve", "--port", str(port), "--no-panel",
                     "--auto-approve-pairing", "--index", str(index_dir)],
                    user.env(**extra_env), user.home, trace_dir)
    try:
        wait_for_ping(port, traced)
        host = {"Host": f"127.0.0.1:{port}"}
        pairing = request(port, "POST", "/v1/pair", b'{"code": "246810"}',
                          {**host, "Origin": EXTENSION_ORIGIN,
                           "Content-Type": "application/json"})
        assert pairing.status == 200, pairing.raw
        look = request(port, "POST", "/v1/looks", PHOTO.read_bytes(),
                       {**host, **authorised(pairing.json["token"],
                                             **{"Content-Type": "image/jpeg"})})
        while time.monotonic() - started < seconds:
            if stop_when is not None and stop_when(traced.lines()):
                break
            time.sleep(1)
    finally:
        output = traced.stop()
    assert traced.process.returncode == 0 and "Stopped." in output, output
    return ServeRun(look, output, traced.lines())


def wait_for_ping(port: int, traced: Traced, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if traced.process.poll() is not None:
            pytest.fail(f"serve exited: {traced.wait()}")
        try:
            if request(port, "GET", "/v1/ping", timeout=5).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail("serve did not answer /v1/ping under strace")


def report(found: list[Violation]) -> str:
    return f"{len(found)} violation(s):\n" + "\n".join(map(str, found[:40]))


def test_a_minute_of_serve_with_a_look_talks_to_no_one_and_writes_only_its_own_folders(
        tmp_path, small_index_dir):
    user = User(tmp_path / "user")
    run = serve_traced(user, small_index_dir, tmp_path / "trace", seconds=SERVE_FOR_S)

    assert run.look.status == 200 and run.look.json["items"], run.look.raw
    found = violations(run.lines, [user.companion_config, small_index_dir], user.home)
    assert found == [], report(found)
    changed = [path for path, _ in file_changes(run.lines, str(user.home))]
    assert str(user.companion_config / "pairings.json") in changed, \
        "the trace sees the companion's own writes (the pairing), so it would see others"
    assert files_containing([user.root, small_index_dir], PHOTO.read_bytes()) == []


def test_a_look_on_the_command_line_talks_to_no_one_and_writes_nothing(tmp_path,
                                                                        small_index_dir):
    user = User(tmp_path / "user")
    traced = Traced([str(SHOP_THE_LOOK), "look", str(PHOTO), "--index", str(small_index_dir),
                     "--json"], user.env(), user.home, tmp_path / "trace")
    output = traced.wait(timeout=180)

    assert traced.process.returncode == 0, output
    assert json.loads(output.strip().splitlines()[-1])["items"]
    found = violations(traced.lines(), [user.companion_config, small_index_dir], user.home)
    assert found == [], report(found)
    assert files_containing([user.root, small_index_dir], PHOTO.read_bytes()) == []


def test_a_companion_that_leaves_onnx_runtime_telemetry_on_is_caught(tmp_path, small_index_dir):
    """The same run, with ONNX Runtime imported (and its telemetry enabled) before the companion
    can switch it off, as every build did before: its files and its DNS look-ups are reported."""
    user = User(tmp_path / "user")

    def looked_up_a_name(lines: list[str]) -> bool:
        return any(v.kind == "dns" for v in violations(lines, [], user.home))

    run = serve_traced(user, small_index_dir, tmp_path / "trace", seconds=TELEMETRY_DEADLINE_S,
                       stop_when=looked_up_a_name, PYTHONPATH=str(TELEMETRY_LEFT_ON))

    assert run.look.status == 200, "the companion itself still works"
    found = violations(run.lines, [user.companion_config, small_index_dir], user.home)
    telemetry = user.root / "cache" / ORT_TELEMETRY_FOLDER
    written = {v.target for v in found if v.kind == "write"}
    assert str(telemetry / "deviceid") in written, report(found)
    assert str(telemetry / "onnxruntime.db") in written, report(found)
    assert any(v.kind == "dns" and v.target.endswith(":53") for v in found), report(found)
    assert (telemetry / "deviceid").is_file(), "strace saw what the disk shows"
