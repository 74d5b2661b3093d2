"""Start-up a shopper can see, and a device that cannot start: the real ``serve`` answers
``/v1/ping`` at once with ``"ready": false`` while its models load, then ``true``; ``look`` asked
for a GPU this machine cannot use runs on the CPU with the same result, and says so."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

from tests.support.companion_http import EXTENSION_ORIGIN, authorised, free_port, request
from tests.support.data import STREET, requires_data, street_photo

pytestmark = requires_data
PHOTO = STREET / "images" / "ccp_0003.jpg"


def pings_until_ready(port: int, process: subprocess.Popen, timeout_s: float = 90) -> list[dict]:
    """Every ping answer from the start until one says ready (polled every 50 ms)."""
    answers: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError):  # not listening yet
            answers.append(request(port, "GET", "/v1/ping", timeout=5).json)
        if answers and answers[-1]["ready"]:
            return answers
        time.sleep(0.05)
    raise AssertionError(f"never ready; answers: {answers[-3:]}")


def test_ping_says_starting_while_the_models_load_then_ready(tmp_path, small_index_dir):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "serve", "--no-panel", "--port", str(port),
         "--index", str(small_index_dir), "--auto-approve-pairing"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "SHOP_THE_LOOK_CONFIG": str(tmp_path / "config")})
    try:
        answers = pings_until_ready(port, process)
        assert answers[0]["ready"] is False, "the first answer comes while the models load"
        assert {a["app"] for a in answers} == {"shop-the-look"}
        token = request(port, "POST", "/v1/pair", b'{"code": "135790"}',
                        {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"}).json
        look = request(port, "POST", "/v1/looks", street_photo("ccp_0003.jpg"),
                       authorised(token["token"], **{"Content-Type": "image/jpeg"}))
        assert look.status == 200 and look.json["items"]
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "Models loaded and warmed up in" in output
    assert "runs the models on CPUExecutionProvider (device: auto)" in output


def look(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "companion.cli", "look", str(PHOTO), "--json",
                           "--top-k", "5", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def items(run: subprocess.CompletedProcess) -> list[tuple]:
    answer = json.loads(run.stdout)
    return [(i["category"], i["box"], [m["id"] for m in i["matches"]]) for i in answer["items"]]


def test_a_gpu_that_cannot_start_falls_back_to_the_cpu_with_the_same_look(small_index_dir):
    on_cpu = look("--index", str(small_index_dir), "--device", "cpu")
    on_cuda = look("--index", str(small_index_dir), "--device", "cuda")
    assert on_cpu.returncode == on_cuda.returncode == 0, on_cuda.stderr
    assert items(on_cuda) == items(on_cpu) and items(on_cpu)
    assert "no CUDAExecutionProvider (install onnxruntime-gpu" in on_cuda.stderr
    assert "using the CPU" in on_cuda.stderr


def test_the_deprecated_provider_variable_still_works_and_says_to_use_device(small_index_dir):
    run = look("--index", str(small_index_dir), SHOP_THE_LOOK_PROVIDER="cpu")
    assert run.returncode == 0 and items(run)
    assert "SHOP_THE_LOOK_PROVIDER is deprecated: use --device cpu" in run.stderr
