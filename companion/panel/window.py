"""The results window the companion owns (pywebview; Qt on Linux, the native webview elsewhere).

pywebview wants the main thread for its GUI loop, so the companion's own work (the HTTP server,
``look --show``'s inference) runs in a worker thread started by ``run_with_worker``. The window is
created once, hidden, and shown and raised whenever ``show_look`` gets a look — from any thread.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

from companion import branding
from companion.panel.api import PanelApi
from companion.panel.controller import PanelController
from companion.panel.i18n import choose_language, messages, page_brand, static_dir
from companion.panel.images import catalog_image_source
from companion.panel.layout import exact_threshold
from companion.panel.pairing import PairingPrompt
from companion.server.pairing import PAIRING_TIMEOUT_S  # as long as the terminal prompt waits

log = logging.getLogger(__name__)

SIZE = (1180, 780)
MIN_SIZE = (720, 520)
LOAD_TIMEOUT_S = 60.0


class Panel:
    """The window plus what it shows. ``show_look`` and ``show_error`` are thread-safe."""

    def __init__(self, controller: PanelController, *, quit_on_close: bool = True,
                 language: str | None = None, size: tuple[int, int] = SIZE,
                 open_url: Callable[[str], object] = webbrowser.open) -> None:
        import webview

        self.controller = controller
        self.language = language or choose_language()
        self.quit_on_close = quit_on_close
        self._ready = threading.Event()
        self._closed = threading.Event()
        self._qt = sys.platform.startswith("linux")
        self._gui_calls = None
        self.pairing = PairingPrompt()
        self.window = webview.create_window(
            branding.current().name, url=(static_dir() / "index.html").as_uri(),
            js_api=PanelApi(controller, open_url, self.pairing), hidden=True,
            width=size[0], height=size[1], min_size=MIN_SIZE,
            background_color="#F7F5F2", text_select=True,  # panel.css decides what selects
        )
        self.window.events.loaded += self._on_loaded
        self.window.events.closing += self._on_closing
        self.window.events.closed += self._closed.set

    @classmethod
    def for_pipeline(cls, pipeline, top_k: int | None = None, age_group: str = "adult",
                     **options) -> Panel:
        """A panel that can re-run searches (gender, more results, drawn boxes) on ``pipeline``."""
        from companion.pipeline.look_output import look_to_json

        def search(data: bytes, request) -> dict:
            return look_to_json(pipeline.run(data, source="", request=request))

        index = pipeline.index
        controller = PanelController(
            search, threshold=exact_threshold(index.manifest.embedder),
            # The catalogs of the moment: a live pipeline swaps them when a new version appears.
            image_source=catalog_image_source(lambda *key: pipeline.index.product(*key)),
            age_group=age_group, **({"top_k": top_k} if top_k else {}),
        )
        return cls(controller, **options)

    # --- called from any thread -----------------------------------------------------------
    def show_look(self, look_json: dict, image_bytes: bytes | None = None) -> None:
        """Show a look (``look_to_json`` shape) with its photo, kept in memory only; raise the
        window. This is the server's ``on_look`` hook."""
        self._push(self.controller.add_look(look_json, image_bytes))
        self.bring_to_front()

    def show_error(self, code: str, message: str) -> None:
        """Show an error state instead of a look (e.g. the catalog is missing at start)."""
        self._push(self.controller.set_error(code, message))
        self.bring_to_front()

    def show_pairing_step(self, port: int) -> None:
        """First run (no browser paired): open the window on how to pair, at once."""
        self._push(self.controller.set_pairing_step(branding.current().name, port))
        self.bring_to_front()

    def confirm_pairing(self, request, timeout_s: float = PAIRING_TIMEOUT_S) -> bool:
        """The server's ``confirm``: ask in the window for the code the extension shows; a
        browser that pairs ends the first-run pairing step."""
        if self._ask_pairing(request, timeout_s):
            self._push(self.controller.clear_pairing_step())
            return True
        return False

    def _ask_pairing(self, request, timeout_s: float) -> bool:
        """True when the user typed the request's code in the window."""

        def show(question: dict | None) -> None:
            if self.wait_ready():
                self.window.evaluate_js(f"window.panel.askPairing({json.dumps(question)})")
            if question is not None:
                self.bring_to_front()

        return self.pairing.ask(request, timeout_s, show)

    def wait_ready(self, timeout: float = LOAD_TIMEOUT_S) -> bool:
        return self._ready.wait(timeout)

    def evaluate(self, script: str):
        """Run JavaScript in the page (tests use it to read the DOM)."""
        self.wait_ready()
        return self.window.evaluate_js(script)

    def bring_to_front(self) -> None:
        self.window.show()
        if self._gui_calls is not None:
            native = self.window.native
            self._gui_calls.run(lambda: _raise_qt(native))

    def visible(self) -> bool:
        """Whether the window is on screen (asked on the GUI thread)."""
        if self._gui_calls is None:
            return not self.window.hidden
        answer: list[bool] = []
        native = self.window.native
        self._gui_calls.run(lambda: answer.append(bool(native.isVisible())), wait=True)
        return answer[0]

    def screenshot(self, path: Path) -> None:
        """Save what the window shows as a PNG (tests and docs)."""
        if self._gui_calls is None:
            raise RuntimeError("screenshots need the Qt backend")
        native = self.window.native
        self._gui_calls.run(lambda: native.grab().save(str(path)), wait=True)

    def close(self) -> None:
        """End the GUI loop (and with it ``run_with_worker``)."""
        self.quit_on_close = True
        if not self._closed.is_set():
            self.window.destroy()

    # --- main thread ----------------------------------------------------------------------
    def run_with_worker(self, work: Callable[[], object],
                        stop: Callable[[], object] | None = None) -> None:
        """Run the GUI loop here (main thread) and ``work`` in a worker thread.

        The loop ends when the window is closed (or Ctrl+C, SIGTERM); then ``stop`` is called so a
        long-running ``work`` (the server) can end, and the worker is joined briefly. An exception
        from ``work`` closes the window and is raised here.
        """
        import webview

        failure: list[BaseException] = []

        def worker() -> None:
            try:
                work()
            except BaseException as exc:  # handed to the main thread
                failure.append(exc)
                self.close()

        if sys.platform.startswith("linux") and os.geteuid() == 0:
            # Chromium refuses to start its sandbox as root (CI containers); there is no user to
            # protect from, and the page loads only our own files.
            os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
        if self._qt:
            self._gui_calls = _QtCalls()
        stopping = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s]
        previous = {s: signal.signal(s, lambda *_: self.close()) for s in stopping}
        thread = threading.Thread(target=worker, name="companion-worker", daemon=True)
        try:
            webview.start(self._start_worker, (thread,), gui="qt" if self._qt else None,
                          private_mode=True)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            if stop is not None:
                stop()
            thread.join(timeout=5.0)
        if failure:
            raise failure[0]

    # --- internals ------------------------------------------------------------------------
    def _start_worker(self, thread: threading.Thread) -> None:
        if self._gui_calls is not None:
            self._gui_calls.run(self._gui_calls.start_heartbeat)
        thread.start()

    def _on_loaded(self) -> None:
        """Every page load: hand over the messages and the current state."""
        init = {"lang": self.language, "messages": messages(self.language), "brand": page_brand(),
                "payload": self.controller.payload(), "pairing": self.pairing.pending()}
        self.window.evaluate_js(f"window.panel.init({json.dumps(init)})")
        self._ready.set()

    def _on_closing(self) -> bool:
        if self.quit_on_close:
            return True
        self.window.hide()  # the server keeps running; the next look shows the window again
        return False

    def _push(self, payload: dict) -> None:
        if not self._ready.wait(LOAD_TIMEOUT_S):
            log.warning("panel page did not load; look not shown")
            return
        self.window.evaluate_js(f"window.panel.render({json.dumps(payload)})")


def _raise_qt(native) -> None:
    if native.isMinimized():
        native.showNormal()
    native.raise_()
    native.activateWindow()


class _QtCalls:
    """Runs callables on the Qt GUI thread: made on the main thread, so a signal emitted from any
    other thread is queued to the main loop. Widgets must never be touched from a worker."""

    def __init__(self) -> None:
        from qtpy.QtCore import QObject, Signal, Slot

        class Invoker(QObject):
            call = Signal(object)

            @Slot(object)
            def invoke(self, fn: Callable[[], object]) -> None:
                fn()

        self._invoker = Invoker()
        self._invoker.call.connect(self._invoker.invoke)
        self._heartbeat = None

    def run(self, fn: Callable[[], object], wait: bool = False, timeout: float = 10.0) -> None:
        if not wait:
            self._invoker.call.emit(fn)
            return
        done = threading.Event()

        def call() -> None:
            try:
                fn()
            finally:
                done.set()

        self._invoker.call.emit(call)
        if not done.wait(timeout):
            raise TimeoutError("the GUI thread did not answer")

    def start_heartbeat(self) -> None:
        """Wake Python every 200 ms so Ctrl+C and SIGTERM reach their handler while Qt runs."""
        from qtpy.QtCore import QTimer

        self._heartbeat = QTimer()
        self._heartbeat.timeout.connect(lambda: None)
        self._heartbeat.start(200)
