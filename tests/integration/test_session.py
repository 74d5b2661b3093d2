"""Which execution provider runs the models: the best this onnxruntime offers, or the CPU when
``SHOP_THE_LOOK_PROVIDER=cpu`` says so (for machines whose GPU driver misbehaves)."""

from __future__ import annotations

import pytest

from companion.inference import session
from companion.inference.session import PROVIDER_ENV, pick_providers
from companion.paths import models_dir

OFFERED = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_without_the_variable_the_best_offered_provider_comes_first(monkeypatch):
    monkeypatch.delenv(PROVIDER_ENV, raising=False)
    assert pick_providers(OFFERED) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert pick_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert pick_providers([]) == ["CPUExecutionProvider"]


@pytest.mark.parametrize("value", ["cpu", "CPU", "Cpu"])
def test_cpu_forces_the_cpu_provider_even_where_a_gpu_is_offered(monkeypatch, value):
    monkeypatch.setenv(PROVIDER_ENV, value)
    assert pick_providers(OFFERED) == ["CPUExecutionProvider"]


@pytest.mark.parametrize("value", ["", "gpu", "cuda", "tpu"])
def test_any_other_value_is_ignored_and_the_best_offered_provider_is_used(monkeypatch, value):
    """Only "cpu" means something; a typo must not stop the companion from starting."""
    monkeypatch.setenv(PROVIDER_ENV, value)
    assert pick_providers(OFFERED) == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_sessions_are_created_with_the_picked_providers(monkeypatch):
    """create_session asks onnxruntime for exactly what pick_providers says, on a machine that
    offers a GPU as well (stood in for: this build may offer the CPU alone)."""
    asked: list[list[str]] = []
    monkeypatch.setattr(session.ort, "get_available_providers", lambda: OFFERED)
    monkeypatch.setattr(session.ort, "InferenceSession",
                        lambda path, options, providers: asked.append(providers))
    model = models_dir() / "blazeface" / "blazeface.onnx"
    monkeypatch.setenv(PROVIDER_ENV, "cpu")
    session.create_session(model)
    monkeypatch.setenv(PROVIDER_ENV, "gpu")
    session.create_session(model)
    assert asked == [["CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]]


def test_a_real_session_runs_on_the_cpu_when_told(monkeypatch):
    monkeypatch.setenv(PROVIDER_ENV, "cpu")
    real = session.create_session(models_dir() / "blazeface" / "blazeface.onnx")
    assert real.get_providers() == ["CPUExecutionProvider"]
