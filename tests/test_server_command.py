"""``shop-the-look serve`` as a user runs it: a real process on a real port."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.companion_http import EXTENSION_ORIGIN
from tests.conftest import requires_data, street_photo

pytestmark = requires_data


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(port: int, method: str, path: str, body: bytes = b"",
         headers: dict | None = None) -> tuple[int, dict, http.client.HTTPMessage]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read()), response.headers
    finally:
        connection.close()


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
            if call(port, "GET", "/v1/ping")[0] == 200:
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


def test_serve_pairs_and_looks_then_stops_cleanly(tmp_path, small_index_dir):
    process, port = start_serve(tmp_path, small_index_dir, "--auto-approve-pairing")
    try:
        status, paired, _ = call(port, "POST", "/v1/pair", b'{"code": "246810"}',
                              {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})
        assert status == 200
        status, look, headers = call(
            port, "POST", "/v1/looks?top_k=3", street_photo("ccp_0003.jpg"),
            {"Origin": EXTENSION_ORIGIN, "Content-Type": "image/jpeg",
             "Authorization": f"Bearer {paired['token']}"})
        assert status == 200, look
        assert look["items"] and all(0 < len(i["matches"]) <= 3 for i in look["items"])
        assert headers["Shop-The-Look-Results"] == "none", "--no-panel: no window shows it"
    finally:
        output = stop(process)
    assert f"http://127.0.0.1:{port}" in output
    assert "tests only" in output
    assert "Stopped." in output
    pairings = (tmp_path / "config" / "pairings.json").read_text()
    assert paired["token"] not in pairings and EXTENSION_ORIGIN in pairings


def test_without_a_terminal_to_ask_in_pairing_is_refused(tmp_path, small_index_dir):
    process, port = start_serve(tmp_path, small_index_dir)
    try:
        status, answer, _ = call(port, "POST", "/v1/pair", b'{"code": "246810"}',
                              {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})
    finally:
        output = stop(process)
    assert (status, answer["error"]["code"]) == (403, "pairing_refused")
    assert "no terminal" in output
    assert not (tmp_path / "config" / "pairings.json").exists()


def test_serve_help_teaches_pairing_and_marks_the_test_flag():
    result = subprocess.run([sys.executable, "-m", "companion.cli", "serve", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "127.0.0.1" in result.stdout and "six-digit code" in result.stdout
    assert "FOR AUTOMATED TESTS ONLY" in result.stdout
    assert "17317" in result.stdout
