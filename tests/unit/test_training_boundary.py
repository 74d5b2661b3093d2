"""The runtime never reaches into training: companion/ imports neither the training package nor
the training-only libraries (torch, ultralytics, onnx, ...), which the installer does not ship.

Read from the source with ast, so a lazy import inside a function counts as much as one at the
top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.data import REPO

# The training package, and what only the training environments install (pyproject's `train`
# extra and training.convert's .venv-convert); the packager and PyInstaller (build time only).
TRAINING_ONLY = ("training", "torch", "torchvision", "ultralytics", "onnx", "onnx2torch",
                 "onnxslim", "scipy", "tensorflow", "tf2onnx", "packager", "PyInstaller")
RUNTIME = sorted((REPO / "companion").rglob("*.py"))


def imported_modules(source: str) -> list[str]:
    """Every module an `import` or `from ... import` statement names (absolute imports)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def training_only(module: str) -> bool:
    """`onnx` and `onnx.helper` are training-only; `onnxruntime` is the runtime's own."""
    return module.split(".")[0] in TRAINING_ONLY


def test_the_check_sees_top_level_lazy_and_from_imports():
    source = ("import torch.nn\nfrom training.data import data_root\n"
              "def f():\n    import ultralytics\n"
              "import onnxruntime\nfrom . import training\n")
    found = [m for m in imported_modules(source) if training_only(m)]
    assert found == ["torch.nn", "training.data", "ultralytics"]


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: str(p.relative_to(REPO)))
def test_no_runtime_module_imports_training_code(path: Path):
    found = [m for m in imported_modules(path.read_text(encoding="utf-8")) if training_only(m)]
    assert not found, f"{path.relative_to(REPO)} imports {found}"


def test_the_runtime_has_modules_to_check():
    assert len(RUNTIME) > 20 and REPO / "companion" / "__init__.py" in RUNTIME
