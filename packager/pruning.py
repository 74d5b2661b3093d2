"""What the bundle leaves out, so it stays small: modules the companion never imports (the
training stack, test tools) and the parts of Qt that the results window does not use (QML, 3D,
multimedia, PDF, the web inspector, other languages' translations). The window needs Qt Widgets
and Qt WebEngine, whose own libraries (Quick, Qml, Positioning, WebChannel, …) stay.
"""

from __future__ import annotations

import re

EXCLUDED_MODULES = [
    # training and development only; ultralytics is AGPL-3.0 and must never ship
    "torch", "torchvision", "ultralytics", "training", "tests", "benchmarks", "onnx",
    "onnxslim", "onnx2torch", "scipy", "pandas", "matplotlib", "cv2", "tensorflow", "tf2onnx",
    "pytest", "_pytest", "playwright", "IPython", "jinja2", "tkinter", "setuptools",
    "pkg_resources", "yaml",
    # pywebview's other toolkits (Linux uses Qt; Windows and macOS their own webviews)
    "gi", "PySide6", "PyQt5", "PySide2",
    # onnxruntime's Python tools (model conversion, quantisation, transformer fusions) and what
    # only they import (sympy, with mpmath and networkx: about 9 MB of the executable); a
    # session needs none of it. usearch imports networkx only to export a graph.
    "onnxruntime.tools", "onnxruntime.transformers", "onnxruntime.quantization", "sympy",
    "mpmath", "networkx", "mpl_toolkits",
    # numpy's Fortran wrapper generator (and charset_normalizer, which only it imports)
    "numpy.f2py", "charset_normalizer", "pydoc_data",
    # PyQt6 bindings that PyInstaller's Qt hooks add but pywebview never imports (their Qt
    # libraries stay: Qt WebEngine links them)
    "PyQt6.QtQml", "PyQt6.QtQuick", "PyQt6.QtQuickWidgets", "PyQt6.QtPositioning",
    "PyQt6.QtDBus",
]

_QT = r"(PyQt6/Qt6/)?"
DROPPED = [re.compile(pattern) for pattern in (
    r"PyQt6/Qt6/qml/",  # QML modules: the window is a QWidget
    r"PyQt6/Qt6/translations/(?!qtwebengine_locales/(en-US|el)\.pak$)",  # English and Greek only
    r"PyQt6/Qt6/resources/qtwebengine_devtools_resources\.pak$",  # the web inspector
    # plugins the window never loads (it needs platforms, xcbglintegrations, wayland, imageformats)
    r"PyQt6/Qt6/plugins/(platformthemes|multimedia|position|sensors|sqldrivers|texttospeech"
    r"|renderers|renderplugins|sceneparsers|geometryloaders|assetimporters|qmllint|qmlls"
    r"|scxmldatamodel|help|webview|printsupport|generic|networkinformation"
    r"|egldeviceintegrations)/",
    # platforms other than X11 and Wayland (and offscreen/minimal, tiny): framebuffer, VNC,
    # Vulkan and EGL full-screen ones are for devices without a desktop
    r"PyQt6/Qt6/plugins/platforms/libq(linuxfb|vnc|vkkhrdisplay|eglfs|minimalegl)\.so$",
    _QT + r"(lib/)?libQt6EglFSDeviceIntegration[\w.]*$",
    # image formats the window never decodes through Qt (the page's images are Chromium's;
    # the icon is a PNG; libqpdf needs the Qt PDF library, left out above)
    r"PyQt6/Qt6/plugins/imageformats/libq(tiff|webp|icns|pdf|tga|wbmp)\.so$",
    # Qt libraries used only by what is dropped above
    _QT + r"(lib/)?libQt6(Quick3D|QuickControls2|QuickDialogs2|QuickTemplates2|QuickEffects"
    r"|QuickParticles|QuickShapes|QuickLayouts|QuickTimeline|QuickVectorImage|QuickTest"
    r"|Multimedia|Pdf|Designer|Test|TextToSpeech|SerialPort|Sensors|RemoteObjects"
    r"|SpatialAudio|StateMachine|ShaderTools|Labs|Bluetooth|Nfc|WebSockets|WebEngineQuick"
    r"|WebChannelQuick|PositioningQuick|Help|Sql|3D|Charts|DataVisualization|Graphs)[\w.]*$",
    _QT + r"(lib/)?lib(av\w+|sw\w+)\.so",  # FFmpeg, for QtMultimedia
    # GTK and sound libraries that only the dropped plugins above pulled in
    r"^lib(gtk-3|gdk-3|atk|atk-bridge|atspi|cairo|cairo-gobject|pango\w*|gdk_pixbuf|epoxy"
    r"|pulse\w*|sndfile|FLAC|mp3lame|mpg123|ogg|opus|vorbis\w*|asyncns|cups|avahi\w*"
    r"|thai|datrie|fribidi|pixman)[-.]",
    r"^lib(harfbuzz|graphite2)\.so",  # the system's, for GTK; Pillow brings its own
    # system libraries that only plugins and libraries left out above needed (no file that
    # stays names them, nor loads them by name): GnuTLS with its own dependencies, GIO with
    # its own, and the system's libjpeg (Pillow and Qt bring their own)
    r"^lib(gnutls|unistring|p11-kit|gmp|nettle|hogweed|idn2|tasn1|gio-2\.0|mount|blkid"
    r"|selinux|gobject-2\.0|gmodule-2\.0|jpeg)\.so",
)]


def keep(destination: str) -> bool:
    """Whether the bundle keeps the file it would put at ``destination`` (relative, any OS)."""
    name = destination.replace("\\", "/")
    return not any(pattern.search(name) for pattern in DROPPED)
