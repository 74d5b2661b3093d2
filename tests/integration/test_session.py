"""Which execution provider runs the models: ``--device auto`` takes the best this onnxruntime
offers, a named device its own provider, and whatever cannot start falls back to the CPU without
the user doing anything. ``SHOP_THE_LOOK_PROVIDER=cpu`` (deprecated) still forces the CPU. And
how sessions share the machine: no spinning threads, one CPU arena for every model."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from companion.inference import session
from companion.inference.session import PROVIDER_ENV, pick_providers
from companion.paths import models_dir

OFFERED = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
BLAZEFACE = models_dir() / "blazeface" / "blazeface.onnx"


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch):
    """Each test starts like a new process: no device chosen, nothing failed or said yet."""
    monkeypatch.delenv(PROVIDER_ENV, raising=False)
    for name, value in (("_chosen", None), ("_failed", set()), ("_in_use", {}), ("_told", set())):
        monkeypatch.setattr(session, name, value)


def test_auto_puts_the_best_offered_provider_first_and_the_cpu_last():
    assert pick_providers("auto", OFFERED) == [CUDA, CPU]
    assert pick_providers("auto", ["CoreMLExecutionProvider", CPU]) == [
        "CoreMLExecutionProvider", CPU]
    assert pick_providers("auto", [CPU]) == [CPU]
    assert pick_providers("auto", []) == [CPU]


@pytest.mark.parametrize(("device", "provider"), [
    ("cuda", CUDA), ("directml", "DmlExecutionProvider"), ("coreml", "CoreMLExecutionProvider"),
])
def test_a_named_device_asks_for_its_provider_then_the_cpu(device, provider):
    assert pick_providers(device, [provider, CPU]) == [provider, CPU]


def test_cpu_means_the_cpu_even_where_a_gpu_is_offered():
    assert pick_providers("cpu", OFFERED) == [CPU]


def test_a_device_this_build_does_not_offer_falls_back_to_the_cpu_and_says_how_to_get_it(
        caplog):
    with caplog.at_level(logging.WARNING, logger=session.__name__):
        assert pick_providers("cuda", [CPU]) == [CPU]
    assert "onnxruntime-gpu" in caplog.text and "using the CPU" in caplog.text


def test_an_unknown_device_is_refused():
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        session.use_device("tpu")


@pytest.mark.parametrize("value", ["cpu", "CPU", " Cpu "])
def test_the_deprecated_variable_still_forces_the_cpu_and_says_it_is_deprecated(
        monkeypatch, caplog, value):
    monkeypatch.setenv(PROVIDER_ENV, value)
    with caplog.at_level(logging.WARNING, logger=session.__name__):
        assert pick_providers(available=OFFERED) == [CPU]
    assert "deprecated" in caplog.text and "--device cpu" in caplog.text


def test_a_device_given_on_the_command_line_wins_over_the_deprecated_variable(monkeypatch):
    monkeypatch.setenv(PROVIDER_ENV, "cpu")
    session.use_device("auto")
    assert pick_providers(available=OFFERED) == [CUDA, CPU]


@pytest.mark.parametrize("value", ["gpu", "cuda", "tpu"])
def test_any_other_value_of_the_deprecated_variable_changes_nothing(monkeypatch, value):
    """Only "cpu" ever meant something; a typo must not stop the companion from starting."""
    monkeypatch.setenv(PROVIDER_ENV, value)
    assert pick_providers(available=OFFERED) == [CUDA, CPU]


@pytest.mark.filterwarnings("ignore:Specified provider:UserWarning")
def test_a_provider_offered_but_unable_to_start_falls_back_to_the_cpu_and_the_model_runs(
        monkeypatch, caplog):
    """This machine's onnxruntime has no CUDA; told that it offers it (as a GPU build does on a
    machine without the CUDA libraries), the real session starts on the CPU, the fallback is
    logged once, and CUDA is not tried again for the next model."""
    monkeypatch.setattr(session.ort, "get_available_providers", lambda: OFFERED)
    session.use_device("auto")
    with caplog.at_level(logging.WARNING, logger=session.__name__):
        first = session.create_session(BLAZEFACE)
        second = session.create_session(models_dir() / "faceres" / "faceres.onnx")
    assert first.get_providers() == [CPU] and second.get_providers() == [CPU]
    assert session.failed_providers() == {CUDA}
    assert caplog.text.count("did not start") == 1
    assert session.providers_in_use() == {"blazeface.onnx": CPU, "faceres.onnx": CPU}
    spec = first.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in spec.shape]
    assert first.run(None, {spec.name: np.zeros(shape, np.float32)})


def test_a_provider_that_raises_when_starting_is_skipped_for_the_cpu(monkeypatch, caplog):
    """A broken driver makes onnxruntime raise while creating the session; that error is caught
    for that provider alone (stood in for by raising on any provider but the CPU)."""
    real = session.ort.InferenceSession

    def broken_gpu(path, options, providers):
        if providers[0] != CPU:
            raise RuntimeError("CUDA failure 35: CUDA driver version is insufficient")
        return real(path, options, providers=providers)

    monkeypatch.setattr(session.ort, "get_available_providers", lambda: OFFERED)
    monkeypatch.setattr(session.ort, "InferenceSession", broken_gpu)
    session.use_device("cuda")
    with caplog.at_level(logging.WARNING, logger=session.__name__):
        made = session.create_session(BLAZEFACE)
    assert made.get_providers() == [CPU]
    assert "driver version is insufficient" in caplog.text


def test_a_broken_model_file_is_still_an_error_on_the_cpu(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(Exception, match=r"(?i)protobuf|invalid|load"):
        session.create_session(broken)


def test_a_real_session_runs_on_the_cpu_when_told():
    session.use_device("cpu")
    assert session.create_session(BLAZEFACE).get_providers() == [CPU]


def test_sessions_do_not_spin_between_runs_and_keep_the_thread_count_asked_for():
    """Busy-waiting worker threads took a core from the shopper's browser after every look:
    every session is made with spinning off, whatever thread count it is given."""
    for threads in (None, 1, session.Threads(intra_op=2)):
        options = session.create_session(BLAZEFACE, threads).get_session_options()
        for key in session.SPINNING_OPTIONS:
            assert options.get_session_config_entry(key) == "0"
    assert session.create_session(BLAZEFACE, 1).get_session_options().intra_op_num_threads == 1


def test_spinning_can_be_turned_on_for_a_benchmark_of_what_it_cost():
    spinning = session.Threads(intra_op=2, spinning=True)
    options = session.create_session(BLAZEFACE, spinning).get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert options.intra_op_num_threads == 2


def test_every_session_draws_from_the_process_arena_without_memory_patterns():
    options = session.create_session(BLAZEFACE).get_session_options()
    assert options.get_session_config_entry(session.SHARED_ARENA_OPTION) == "1"
    assert not options.enable_mem_pattern


# Run in a fresh process, so that no earlier test has grown the arena already.
SECOND_MODEL_GROWTH = """
import json, os
import numpy as np
from companion.inference.store import ModelStore

def resident_mb():
    for line in open(f"/proc/{os.getpid()}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def batch_of(model, size):
    spec = model.session.get_inputs()[0]
    shape = [size if not isinstance(d, int) else d for d in spec.shape]
    return {spec.name: np.random.default_rng(0).random(shape, dtype=np.float32)}

store = ModelStore()
first, second = store.get("garment-embedder"), store.get("body-gender")
feeds = batch_of(first, 32), batch_of(second, 32)
before = resident_mb()
first.run(feeds[0])
after_first = resident_mb()
second.run(feeds[1])
after_second = resident_mb()
first.run(feeds[0])
second.run(feeds[1])
print(json.dumps([after_first - before, after_second - after_first, resident_mb() - after_second]))
"""


def test_a_model_run_after_another_reuses_the_memory_the_first_one_freed():
    """With an arena per session, each of a look's models kept its own largest run: the body
    model's batch of 32 after the embedder's grew the process by 131 MB more, and running both
    again by about 150 MB more (memory patterns). One shared arena holds only the larger run."""
    result = subprocess.run([sys.executable, "-c", SECOND_MODEL_GROWTH], capture_output=True,
                            text=True, check=True, timeout=300)
    first, second, again = json.loads(result.stdout)
    assert first > 50  # the embedder's batch of 32 needs room: the measure can see growth
    assert second < first / 2
    assert again < 10
