"""Just enough of Firefox's Marionette protocol to drive the extension in a real Firefox: no
extra package, only the browser (Debian's firefox-esr) and a TCP socket.

Each message is ``<length>:<JSON>``; a command is ``[0, id, name, params]`` and its answer
``[1, id, error, result]``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from pathlib import Path

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C WebDriver element key


# In the browser's chrome: waits for the page's context menu to open, then activates the item
# with the label in arguments[0]; null when it did, else the labels the menu shows.
CHOOSE_FROM_CONTEXT_MENU = """
const menu = document.getElementById("contentAreaContextMenu");
return (async () => {
  if (menu.state !== "open") {
    await new Promise((resolve) => menu.addEventListener("popupshown", resolve, {once: true}));
  }
  const items = [...menu.querySelectorAll("menuitem")].filter((item) => !item.hidden);
  const item = items.find((candidate) => candidate.label === arguments[0]);
  if (!item) {
    menu.hidePopup();
    return items.map((candidate) => candidate.label);
  }
  menu.activateItem(item);
  return null;
})();
"""


class MarionetteError(RuntimeError):
    pass


class Marionette:
    def __init__(self, port: int, timeout_s: float = 90.0) -> None:
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self._buffer = b""
        self._id = 0
        self._receive()  # the greeting: {"applicationType": "gecko", "marionetteProtocol": 3}

    @classmethod
    def connect(cls, port: int, wait_s: float = 60.0) -> Marionette:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return cls(port)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def _receive(self):
        while b":" not in self._buffer:
            self._buffer += self._recv()
        length, _, rest = self._buffer.partition(b":")
        while len(rest) < int(length):
            rest += self._recv()
        message, self._buffer = rest[: int(length)], rest[int(length):]
        return json.loads(message)

    def _recv(self) -> bytes:
        chunk = self._socket.recv(65536)
        if not chunk:
            raise MarionetteError("Firefox closed the Marionette connection")
        return chunk

    def call(self, name: str, params: dict | None = None):
        self._id += 1
        body = json.dumps([0, self._id, name, params or {}]).encode("ascii")
        self._socket.sendall(str(len(body)).encode() + b":" + body)
        while True:
            kind, number, error, result = self._receive()
            if kind == 1 and number == self._id:
                break
        if error:
            raise MarionetteError(f"{name}: {error.get('error')}: {error.get('message')}")
        return result

    # The few WebDriver commands the tests use.
    def new_session(self) -> None:
        self.call("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {}}})

    def install_addon(self, path: Path) -> str:
        return self.call("Addon:Install", {"path": str(path), "temporary": True})["value"]

    def navigate(self, url: str) -> None:
        self.call("WebDriver:Navigate", {"url": url})

    def open_trusted(self, url: str, timeout_s: float = 30.0) -> None:
        """Load ``url`` in the current tab as the browser's own UI would.

        Firefox 153 refuses WebDriver:Navigate to moz-extension:// pages ("not allowed in this
        context"), so the chrome context loads it with the system principal, as a bookmark does.
        Returns once a new document (not the one shown before, which may be the same URL) has
        loaded.
        """
        before = self.script("return performance.timeOrigin;")
        self.chrome_script("const win = Services.wm.getMostRecentWindow('navigator:browser');"
                           "win.openTrustedLinkIn(arguments[0], 'current');", url)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.script("return document.readyState === 'complete' && location.href === "
                               "arguments[0] && performance.timeOrigin !== arguments[1];",
                               url, before):
                    return
            except MarionetteError:  # the old document went away while the script ran
                pass
            if time.monotonic() > deadline:
                raise MarionetteError(f"{url} did not load within {timeout_s} s")
            time.sleep(0.2)

    def script(self, source: str, *args, timeout_ms: int = 90_000):
        """Run ``source`` (a function body; may return a promise) in the current page."""
        self.call("WebDriver:SetTimeouts", {"script": timeout_ms})
        return self.call("WebDriver:ExecuteScript", {"script": source, "args": list(args)})[
            "value"]

    def chrome_script(self, source: str, *args):
        """Run ``source`` in the browser's own window (its chrome), not in the page."""
        self.call("Marionette:SetContext", {"value": "chrome"})
        try:
            return self.call("WebDriver:ExecuteScript", {"script": source, "args": list(args)})[
                "value"]
        finally:
            self.call("Marionette:SetContext", {"value": "content"})

    def element(self, css: str) -> dict:
        return self.call("WebDriver:FindElement", {"using": "css selector", "value": css})["value"]

    def click(self, css: str) -> None:
        self.call("WebDriver:ElementClick", {"id": self.element(css)[ELEMENT]})

    def right_click(self, css: str) -> None:
        """A real (trusted) right-click, as the user's mouse makes it."""
        element = self.element(css)
        self.call("WebDriver:PerformActions", {"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "origin": element, "x": 0, "y": 0},
                        {"type": "pointerDown", "button": 2},
                        {"type": "pointerUp", "button": 2}],
        }]})
        self.call("WebDriver:ReleaseActions")

    def choose_from_context_menu(self, label: str) -> None:
        """Pick the item ``label`` in Firefox's own context menu, which a right_click opened:
        the menu Firefox builds, extension items included, activated as a mouse click does."""
        labels = self.chrome_script(CHOOSE_FROM_CONTEXT_MENU, label)
        if labels is not None:
            raise MarionetteError(f"no {label!r} in the context menu, only {labels}")

    def new_tab(self) -> str:
        return self.call("WebDriver:NewWindow", {"type": "tab"})["handle"]

    def switch_to(self, handle: str) -> None:
        self.call("WebDriver:SwitchToWindow", {"handle": handle})

    def close(self) -> None:
        with contextlib.suppress(OSError, MarionetteError):
            self.call("WebDriver:DeleteSession")
        self._socket.close()


def launch_firefox(binary: str, profile: Path, port: int, prefs: dict) -> subprocess.Popen:
    """Headless Firefox with Marionette on ``port`` and ``prefs`` in a fresh profile."""
    lines = [f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in
             {"marionette.port": port, "browser.shell.checkDefaultBrowser": False,
              "datareporting.policy.dataSubmissionEnabled": False,
              "toolkit.telemetry.reportingpolicy.firstRun": False,
              "app.update.disabledForTesting": True, **prefs}.items()]
    (profile / "user.js").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # -remote-allow-system-access: Firefox 153 lets Marionette's chrome context (open_trusted)
    # run only with it; older releases ignore the flag.
    return subprocess.Popen([binary, "--headless", "--marionette", "--no-remote",
                             "-remote-allow-system-access", "--profile", str(profile)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
