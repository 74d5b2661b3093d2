"""The server under hostile photos and load, on a real server on loopback: a scan bomb is refused
at once and does not hold up the next look, looks whose client left are never run, a full queue
answers 503 busy with Retry-After, and many large uploads at once stay within a memory bound."""

from __future__ import annotations

import http.client
import io
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from companion.pipeline.decode import MAX_SCANS
from companion.server.keys import ENGINE
from tests.support.bombs import scan_bomb
from tests.support.companion_http import (
    EXTENSION_ORIGIN,
    Answer,
    LiveCompanion,
    authorised,
    free_port,
    request,
)
from tests.support.data import requires_data, street_photo

pytestmark = requires_data
PHOTO = "ccp_0003.jpg"
MB = 1024 * 1024
JPEG = {"Content-Type": "image/jpeg"}


def timed(call: Callable[[], Answer]) -> tuple[Answer, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.02)


class Gate:
    """The real pipeline behind a gate: looks hold the worker until the test opens it."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.runs = 0
        self.holding = threading.Event()
        self.opened = threading.Event()

    def run(self, data, source="", request=None):
        self.runs += 1
        self.holding.set()
        self.opened.wait(60)
        return self.pipeline.run(data, source=source, request=request)


class Looks:
    """Looks sent from threads, each answer kept, for requests that wait in the queue."""

    def __init__(self, live: LiveCompanion, token: str) -> None:
        self.live, self.token = live, token
        self.answers: list[Answer] = []
        self.threads: list[threading.Thread] = []

    def send(self, body: bytes) -> None:
        def look() -> None:
            self.answers.append(self.live.request("POST", "/v1/looks", body,
                                                  authorised(self.token, **JPEG)))

        thread = threading.Thread(target=look)
        thread.start()
        self.threads.append(thread)

    def join(self) -> list[int]:
        for thread in self.threads:
            thread.join(120)
        return sorted(answer.status for answer in self.answers)


def send_and_leave(live: LiveCompanion, token: str, body: bytes) -> http.client.HTTPConnection:
    """A client that sends its look; closing the connection later is giving up on the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    connection.request("POST", "/v1/looks", body,
                       {"Host": live.host, **authorised(token, **JPEG)})
    return connection


def test_a_scan_bomb_is_refused_at_once_and_the_next_look_runs_in_normal_time(companion, token):
    photo, headers = street_photo(PHOTO), authorised(token, **JPEG)
    look = lambda body: lambda: companion.request("POST", "/v1/looks", body, headers)  # noqa: E731
    normal, normal_s = timed(look(photo))  # a warm look, for what "normal time" is
    assert normal.status == 200
    bomb = scan_bomb(12_000)
    assert len(bomb) < 1_000_000
    refused: list[tuple[Answer, float]] = []
    attacker = threading.Thread(target=lambda: refused.append(timed(look(bomb))))
    attacker.start()
    time.sleep(0.05)  # the normal look is sent right after the bomb
    after, after_s = timed(look(photo))
    attacker.join(60)
    (answer, bomb_s), = refused
    assert (answer.status, answer.error_code) == (413, "image_too_complex")
    assert bomb_s <= 5.0
    assert after.status == 200
    assert after_s <= 3 * normal_s + 2.0, (normal_s, after_s)


def test_a_look_past_its_deadline_is_stopped_with_look_timeout(pipeline, tmp_path):
    live = LiveCompanion(pipeline, tmp_path / "pairings.json", {"look_timeout_s": 0.2})
    try:
        costly = scan_bomb(MAX_SCANS)  # under the scan cap, but seconds of decoding
        answer, seconds = timed(lambda: live.request("POST", "/v1/looks", costly,
                                                     authorised(live.pair(), **JPEG)))
    finally:
        live.stop()
    assert (answer.status, answer.error_code) == (503, "look_timeout")
    assert "0.2 s" in answer.json["error"]["message"]
    assert seconds <= 5.0


@contextmanager
def held_queue(pipeline, folder: Path, max_waiting_looks: int
               ) -> Iterator[tuple[LiveCompanion, Gate, Looks]]:
    """A live companion whose worker is held by a first look, until the gate opens."""
    gate = Gate(pipeline)
    live = LiveCompanion(gate, folder / "pairings.json", {"max_waiting_looks": max_waiting_looks})
    try:
        looks = Looks(live, live.pair())
        looks.send(street_photo(PHOTO))
        assert gate.holding.wait(30), "the first look holds the worker"
        yield live, gate, looks
    finally:
        gate.opened.set()
        live.stop()


def test_looks_whose_clients_left_are_never_run(pipeline, tmp_path):
    photo = street_photo(PHOTO)
    # A queue deep enough for all 50 (the default turns a burst like this away: busy).
    with held_queue(pipeline, tmp_path, 64) as (live, gate, stayers):
        engine = live.server.app[ENGINE]
        roles = ["leave"] * 30 + ["stay"] * 19
        random.Random(27).shuffle(roles)
        leavers = []
        for role in roles:
            if role == "stay":
                stayers.send(photo)
            else:
                leavers.append(send_and_leave(live, stayers.token, photo))
        wait_until(lambda: engine.queued == 49, "all 49 looks are read and queued")
        for connection in leavers:
            connection.close()  # gave up without reading an answer
        time.sleep(1.0)  # the server's loop sees each close as soon as it runs
        gate.opened.set()
        statuses = stayers.join()
    assert statuses == [200] * 20
    assert gate.runs == engine.runs == 20, "only the looks of clients still there ran"
    assert engine.skipped == 30


def test_a_full_queue_answers_503_busy_with_retry_after(pipeline, tmp_path):
    photo = street_photo(PHOTO)
    with held_queue(pipeline, tmp_path, 2) as (live, gate, admitted):
        engine = live.server.app[ENGINE]
        admitted.send(photo)
        admitted.send(photo)
        wait_until(lambda: engine.queued == 2, "two looks wait")
        refused, seconds = timed(lambda: live.request("POST", "/v1/looks", photo,
                                                      authorised(admitted.token, **JPEG)))
        ran_meanwhile = gate.runs
        gate.opened.set()
        statuses = admitted.join()
    assert (refused.status, refused.error_code) == (503, "busy")
    assert set(refused.json) == {"error"}
    assert int(refused.headers["Retry-After"]) >= 1
    assert seconds < 5.0, "refused at once, not after waiting"
    assert ran_meanwhile == 1
    assert statuses == [200] * 3
    assert gate.runs == engine.runs == 3, "the refused look never ran"


def memory_mb(pid: int, field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (the peak so far) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for process {pid}")


def twelve_megabyte_photo() -> bytes:
    """A 3000×3000 JPEG of noise at quality 97: 12 MiB that the whole pipeline decodes."""
    pixels = np.random.default_rng(12).integers(0, 256, (3000, 3000, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=97)
    return buffer.getvalue()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_twelve_concurrent_12_mb_uploads_keep_the_server_under_600_mb(tmp_path,
                                                                       small_index_dir):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "serve", "--port", str(port), "--no-panel",
         "--index", str(small_index_dir), "--auto-approve-pairing"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "SHOP_THE_LOOK_CONFIG": str(tmp_path / "config")},
    )
    host = {"Host": f"127.0.0.1:{port}"}
    try:
        wait_until(lambda: _pings(port), "serve answers", 120)
        token = request(port, "POST", "/v1/pair", b'{"code": "246810"}',
                        {**host, "Origin": EXTENSION_ORIGIN,
                         "Content-Type": "application/json"}).json["token"]
        headers = {**host, **authorised(token, **JPEG)}
        photo = twelve_megabyte_photo()
        assert len(photo) >= 12 * MB
        for _ in range(2):  # one at a time: the models' and decoder's own memory for this photo
            assert request(port, "POST", "/v1/looks", photo, headers).status == 200
        one_at_a_time_mb = memory_mb(server.pid, "VmHWM")
        answers: list[Answer] = []
        senders = [threading.Thread(target=lambda: answers.append(
            request(port, "POST", "/v1/looks", photo, headers))) for _ in range(12)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(300)
        peak_mb = memory_mb(server.pid, "VmHWM")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    print(f"serve's peak: {one_at_a_time_mb:.0f} MiB after looks one at a time, "
          f"{peak_mb:.0f} MiB after 12 at once")
    assert sorted(a.status for a in answers) == [200] * 12
    assert peak_mb < 600
    # The bodies held at once are bounded by the upload room (64 MiB), not all 12 × 12 MiB.
    assert peak_mb - one_at_a_time_mb < 12 * 12, (one_at_a_time_mb, peak_mb)


def _pings(port: int) -> bool:
    try:
        return request(port, "GET", "/v1/ping", timeout=2).status == 200
    except OSError:
        return False
