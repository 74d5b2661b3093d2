"""The one place that creates ONNX Runtime sessions and picks the execution provider, and the
one place that imports ONNX Runtime first (``companion/__init__`` imports this module), with its
telemetry off.

The device (``--device auto|cpu|cuda|directml|coreml``) is a choice of the whole process, made
once by the command line (``use_device``): every model of a look runs on the same provider. A
provider that this onnxruntime build does not offer, or that fails to start (a missing CUDA
library, a driver too old), is logged and the next one is tried, down to the CPU, which always
works: a shopper never has to know which one ran.

Threads (``Threads``): ONNX Runtime's worker threads spin by default, busy-waiting for the next
operator after every run. Each session has its own pool, so one model's workers spun while the
next model ran on the same cores, and after a look they took CPU from the shopper's browser (a
768×768 matrix product right after a look took twice its time). Every session here is made with
spinning off: docs/speed.md#a-good-neighbour-no-spinning-threads (looks got faster, not slower).

Memory (``share_cpu_arena``): each session's own CPU arena grows to its largest run and keeps it,
and ONNX Runtime's memory patterns keep one more block per input shape seen, so seven models
held seven peaks (498 MB resident after 40 street looks). A look runs its models one after
another, so every session here draws from one arena shared by the process, without memory
patterns: 283 MB after the same looks, no slower (docs/speed.md#memory-one-arena-for-every-model).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

# ONNX Runtime (1.32 on Linux) starts its telemetry when the module is imported, before any
# session: a device id and an events database under ~/.cache/Microsoft/DeveloperTools/.onnxruntime
# and uploads to mobile.events.data.microsoft.com (a DNS look-up about 8 s after the start). Only
# this variable, set before the import, stops both; disable_telemetry_events() after the import
# stops neither (both seen with strace; tests/e2e/test_privacy_os.py holds it). Always "1": a
# user's ORT_DISABLE_TELEMETRY=0 must not turn it back on. Child processes inherit it.
TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"
os.environ[TELEMETRY_ENV] = "1"

import onnxruntime as ort  # noqa: E402  (after the variable, on purpose)

ort.disable_telemetry_events()  # the API's own switch too, for builds that read only that

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
# Each device's provider; "auto" tries them in this order and the CPU last.
DEVICE_PROVIDERS = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": CPU,
}
DEVICES = ("auto", "cpu", "cuda", "directml", "coreml")
PREFERRED_PROVIDERS = (*DEVICE_PROVIDERS.values(),)
# Deprecated: SHOP_THE_LOOK_PROVIDER=cpu still forces the CPU when no --device is given.
PROVIDER_ENV = "SHOP_THE_LOOK_PROVIDER"
INSTALL_HINT = {
    "cuda": "install onnxruntime-gpu and the CUDA 12 runtime",
    "directml": "install onnxruntime-directml (Windows)",
    "coreml": "use the macOS build of onnxruntime",
}

# The session options that turn busy-waiting off (intra-op: a run's worker threads; inter-op:
# the pool of the parallel executor, unused by the sequential one, off all the same).
SPINNING_OPTIONS = ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning")
SHARED_ARENA_OPTION = "session.use_env_allocators"  # the process's arena, not one per session


@dataclass(frozen=True)
class Threads:
    """How a session uses the cores. ``intra_op``: threads of one run (0: onnxruntime's own
    choice, one per physical core); ``spinning``: whether they busy-wait between runs (only
    benchmarks turn it on, to measure what it cost)."""

    intra_op: int = 0
    spinning: bool = False

    @classmethod
    def of(cls, threads: int | Threads | None) -> Threads:
        """A thread count (the old ``threads=`` argument), settings, or None for the defaults."""
        if isinstance(threads, Threads):
            return threads
        return cls(intra_op=threads or 0)

    def apply(self, options: ort.SessionOptions) -> None:
        if self.intra_op:
            options.intra_op_num_threads = self.intra_op
        options.inter_op_num_threads = 1  # sequential execution: no second pool
        for key in SPINNING_OPTIONS:
            options.add_session_config_entry(key, "1" if self.spinning else "0")


_chosen: str | None = None  # set by use_device; None: the environment, else "auto"
_failed: set[str] = set()  # providers that failed to start in this process: not tried again
_in_use: dict[str, str] = {}  # model file name → the provider its session runs on
_told: set[str] = set()  # log messages already given once
_arena_shared = False  # the process's one CPU arena is registered with ONNX Runtime
_lock = threading.Lock()


def use_device(device: str | None) -> None:
    """Choose the device for every session made from now on (None: back to the default)."""
    if device is not None and device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    global _chosen
    _chosen = device


def current_device() -> str:
    """The device asked for: ``use_device``'s, else the deprecated variable's "cpu", else auto."""
    if _chosen is not None:
        return _chosen
    legacy = os.environ.get(PROVIDER_ENV, "")
    if legacy:
        _once(f"{PROVIDER_ENV} is deprecated: use --device cpu (it is read only when no "
              "--device is given).", logging.WARNING)
        if legacy.strip().lower() == "cpu":
            return "cpu"
    return "auto"


def pick_providers(device: str | None = None, available: list[str] | None = None) -> list[str]:
    """The providers to try, best first and the CPU always last, for ``device`` (default: the
    current one) given what this onnxruntime build offers."""
    device = current_device() if device is None else device
    available = ort.get_available_providers() if available is None else available
    if device == "auto":
        wanted = [p for p in PREFERRED_PROVIDERS if p in available and p != CPU]
    else:
        wanted = [DEVICE_PROVIDERS[device]] if device != "cpu" else []
        if wanted and wanted[0] not in available:
            _once(f"--device {device}: this onnxruntime offers no {wanted[0]} "
                  f"({INSTALL_HINT[device]}); using the CPU.", logging.WARNING)
            wanted = []
    return [*wanted, CPU]


def create_session(model_path: Path, threads: int | Threads | None = None,
                   device: str | None = None,
                   cpu_graph: Path | None = None) -> ort.InferenceSession:
    """A session for ``model_path`` on the best provider that starts, the CPU at worst, with
    ``threads`` (a count of intra-op threads or ``Threads``; spinning off unless it says on).

    ``cpu_graph``: the graph the CPU provider loads instead of ``model_path`` (the same model,
    optimised offline for the CPU: companion/inference/optimized.py); any other provider
    loads ``model_path``, since a graph optimised for the CPU is not one for a GPU.

    A provider that raises, or that onnxruntime silently drops for the CPU, is logged once and
    not tried again in this process. Errors of the CPU itself (a broken file) are raised.
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # keep ORT's warnings out of the user's terminal
    Threads.of(threads).apply(options)
    share_cpu_arena(options)
    for provider in pick_providers(device):
        if provider in _failed:
            continue
        if provider == CPU:
            session = ort.InferenceSession(str(cpu_graph or model_path), options,
                                           providers=[CPU])
            _record(model_path, CPU, device)
            return session
        try:
            session = ort.InferenceSession(str(model_path), options, providers=[provider, CPU])
        except Exception as exc:  # ORT raises its own types (RuntimeError, Fail, …)
            _give_up(provider, f"{type(exc).__name__}: {exc}")
            continue
        if session.get_providers()[:1] != [provider]:
            _give_up(provider, "onnxruntime fell back to the CPU when starting it")
            continue
        _record(model_path, provider, device)
        return session
    raise AssertionError("the CPU provider is always tried")  # pragma: no cover


def share_cpu_arena(options: ort.SessionOptions) -> None:
    """Make ``options``' session draw its CPU memory from the process's one arena (registered
    with ONNX Runtime the first time), with no memory patterns: memory a model's run freed is
    there for the next model's, and no block is kept per input shape."""
    global _arena_shared
    with _lock:
        if not _arena_shared:
            ort.create_and_register_allocator(
                ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                                  ort.OrtMemType.DEFAULT),
                ort.OrtArenaCfg({}),  # ONNX Runtime's defaults: no limit, grows by doubling
            )
            _arena_shared = True
    options.add_session_config_entry(SHARED_ARENA_OPTION, "1")
    options.enable_mem_pattern = False


def only_cpu(device: str | None = None) -> bool:
    """Whether every session made now would run on the CPU (the device asks for it, this
    onnxruntime offers nothing else, or everything else failed to start)."""
    return [p for p in pick_providers(device) if p not in _failed] == [CPU]


def providers_in_use() -> dict[str, str]:
    """Model file name → provider, for every session made in this process (for ``doctor``)."""
    with _lock:
        return dict(_in_use)


def failed_providers() -> set[str]:
    """The providers that failed to start in this process."""
    with _lock:
        return set(_failed)


def _record(model_path: Path, provider: str, device: str | None) -> None:
    with _lock:
        _in_use[Path(model_path).name] = provider
    _once(f"ONNX Runtime runs the models on {provider} (device: {device or current_device()}).",
          logging.INFO)


def _give_up(provider: str, reason: str) -> None:
    with _lock:
        _failed.add(provider)
    _once(f"{provider} did not start ({reason.strip()[:300]}); falling back to the next "
          "provider, the CPU at worst.", logging.WARNING)


def _once(message: str, level: int) -> None:
    with _lock:
        if message in _told:
            return
        _told.add(message)
    log.log(level, message)
