"""What a real install ships: every runtime package, and nothing of the training package; what
the frozen bundle leaves out (packager/pruning.py) and how it ships its models.

The editable install used in development maps the whole ``companion/`` folder, so a package
missing from pyproject.toml works here and breaks only in a wheel or the frozen installer.
"""

from __future__ import annotations

import tomllib

import pytest

from packager.bundle import gpu_providers
from packager.pruning import keep
from tests.support.data import REPO


def _setuptools() -> dict:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return project["tool"]["setuptools"]


def test_every_runtime_package_is_listed_for_the_wheel():
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "companion").rglob("__init__.py")
    }
    assert found <= set(_setuptools()["packages"])


def test_the_training_package_and_the_packager_never_ship():
    listed = _setuptools()["packages"]
    assert not [name for name in listed if name.split(".")[0] in ("training", "packager")]


@pytest.mark.parametrize("kept", [
    "PyQt6/Qt6/lib/libQt6WebEngineCore.so.6", "PyQt6/Qt6/lib/libQt6Quick.so.6",
    "PyQt6/Qt6/plugins/platforms/libqxcb.so", "PyQt6/Qt6/plugins/platforms/libqwayland.so",
    "PyQt6/Qt6/plugins/platforms/libqoffscreen.so", "PyQt6/Qt6/plugins/imageformats/libqjpeg.so",
    "PyQt6/Qt6/plugins/imageformats/libqsvg.so", "PyQt6/QtWebEngineWidgets.abi3.so",
    "PyQt6/Qt6/translations/qtwebengine_locales/el.pak", "pillow.libs/libjpeg-6dc8d115.so.62",
    "libnss3.so", "libglib-2.0.so.0", "libgthread-2.0.so.0", "libssl.so.3", "libsqlite3.so.0",
    "numpy.libs/libscipy_openblas64_-32a4b2a6.so"])
def test_the_bundle_keeps_what_the_window_and_the_companion_load(kept):
    assert keep(kept)


@pytest.mark.parametrize("dropped", [
    "PyQt6/Qt6/qml/QtQuick/Controls/libqtquickcontrols2plugin.so",
    "PyQt6/Qt6/plugins/platforms/libqvnc.so", "PyQt6/Qt6/plugins/platforms/libqlinuxfb.so",
    "PyQt6/Qt6/lib/libQt6EglFSDeviceIntegration.so.6", "libQt6EglFSDeviceIntegration.so.6",
    "PyQt6/Qt6/plugins/imageformats/libqtiff.so", "PyQt6/Qt6/translations/qt_de.qm",
    "PyQt6/Qt6/resources/qtwebengine_devtools_resources.pak", "libgnutls.so.30",
    "libgio-2.0.so.0", "libunistring.so.2", "libjpeg.so.62", "libgtk-3.so.0"])
def test_the_bundle_leaves_out_what_nothing_loads(dropped):
    assert not keep(dropped)


def test_only_a_cpu_onnxruntime_gets_its_models_as_graphs_alone():
    """A GPU provider needs the models' own files (a graph optimised for the CPU is not one
    for a GPU), so a bundle whose onnxruntime offers one keeps them."""
    assert gpu_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == []
    assert gpu_providers(["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider"]
    assert gpu_providers(["DmlExecutionProvider", "CPUExecutionProvider"]) == [
        "DmlExecutionProvider"]
