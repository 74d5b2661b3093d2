"""``shop-the-look serve`` in a process of its own, as a user runs it, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.companion_http import free_port, request


def start_serve(tmp_path, index_dir, *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "SHOP_THE_LOOK_CONFIG": str(tmp_path / "config")}
    process = subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "serve", "--port", str(port), "--no-panel",
         "--index", str(index_dir), *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/v1/ping").status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"serve did not start: {process.communicate()[0]}")


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)  # as a service manager stops it (Ctrl-C also works)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output
