"""``shop-the-look serve`` as a user runs it: a real process on a real port; and the server's
own lifetime (binding, warm-up) in a thread."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading

import pytest

from companion.errors import LookError
from companion.server.config import ServerConfig
from companion.server.engine import LookEngine
from companion.server.keys import WARM_UP
from companion.server.runner import ServerThread
from tests.support.companion_http import EXTENSION_ORIGIN, authorised, request
from tests.support.data import requires_data, street_photo
from tests.support.serve_process import start_serve, stop


@requires_data
def test_serve_pairs_and_looks_then_stops_cleanly(tmp_path, small_index_dir):
    process, port = start_serve(tmp_path, small_index_dir, "--auto-approve-pairing")
    try:
        pairing = request(port, "POST", "/v1/pair", b'{"code": "246810"}',
                          {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})
        assert pairing.status == 200
        paired = pairing.json
        answer = request(port, "POST", "/v1/looks?top_k=3", street_photo("ccp_0003.jpg"),
                         authorised(paired["token"], **{"Content-Type": "image/jpeg"}))
        assert answer.status == 200, answer.raw
        look = answer.json
        assert look["items"] and all(0 < len(i["matches"]) <= 3 for i in look["items"])
        assert answer.headers["Shop-The-Look-Results"] == "none", "--no-panel: no window shows it"
    finally:
        output = stop(process)
    assert f"http://127.0.0.1:{port}" in output
    assert "tests only" in output
    assert "Stopped." in output
    pairings = (tmp_path / "config" / "pairings.json").read_text()
    assert paired["token"] not in pairings and EXTENSION_ORIGIN in pairings


@requires_data
def test_without_a_terminal_to_ask_in_pairing_is_refused(tmp_path, small_index_dir):
    process, port = start_serve(tmp_path, small_index_dir)
    try:
        answer = request(port, "POST", "/v1/pair", b'{"code": "246810"}',
                         {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})
    finally:
        output = stop(process)
    assert (answer.status, answer.error_code) == (403, "pairing_refused")
    assert "no terminal" in output
    assert not (tmp_path / "config" / "pairings.json").exists()


def test_serve_help_teaches_pairing_and_marks_the_test_flag():
    result = subprocess.run([sys.executable, "-m", "companion.cli", "serve", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "127.0.0.1" in result.stdout and "six-digit code" in result.stdout
    assert "FOR AUTOMATED TESTS ONLY" in result.stdout
    assert "17317" in result.stdout


def test_serve_on_a_taken_port_says_so_and_exits(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "companion.cli", "serve", "--port", str(port), "--no-panel",
             "--index", str(tmp_path / "none")],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
            env={**os.environ, "SHOP_THE_LOOK_CONFIG": str(tmp_path / "config")})
    assert result.returncode == 1
    assert f"error [port_in_use]: Port {port} is already in use" in result.stderr


class BlockingWarmUp:
    """Stands in for loading the pipeline: says when the warm-up began, then waits to be let go."""

    def __init__(self) -> None:
        self.began = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> None:
        self.began.set()
        self.release.wait(60)


def test_a_taken_port_fails_before_any_warm_up_begins(tmp_path, monkeypatch):
    warm_up = BlockingWarmUp()
    monkeypatch.setattr(LookEngine, "_get_pipeline", lambda _engine: warm_up())
    with socket.create_server(("127.0.0.1", 0)) as taken:
        server = ServerThread(ServerConfig(port=taken.getsockname()[1],
                                           pairings_path=tmp_path / "pairings.json"),
                              warm_up=True)
        with pytest.raises(LookError) as caught:
            server.start()
        server.stop()
    assert (caught.value.code, caught.value.status) == ("port_in_use", 503)
    assert not warm_up.began.is_set()


def test_stopping_the_server_cancels_and_awaits_its_warm_up(tmp_path, monkeypatch):
    warm_up = BlockingWarmUp()
    monkeypatch.setattr(LookEngine, "_get_pipeline", lambda _engine: warm_up())
    server = ServerThread(ServerConfig(port=0, pairings_path=tmp_path / "pairings.json"),
                          warm_up=True)
    server.start()
    try:
        assert warm_up.began.wait(30), "the warm-up starts with the server"
        task = server.app[WARM_UP]
        assert not task.done()
        server.stop()  # while the warm-up is still loading
    finally:
        warm_up.release.set()
    assert task.cancelled()
    assert asyncio.all_tasks(server._loop) == set(), "no task left pending on the closed loop"
