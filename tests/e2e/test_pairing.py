"""Pairing as the user does it at the terminal, and as something else on the computer tries it.

``shop-the-look serve --no-panel`` runs as a real process with a pseudo-terminal as its terminal;
the pairing requests are real HTTP on loopback. The terminal asks for the code the browser shows:
nothing typed before the question can answer it, a spoofed Origin never reaches it, a requester
that goes away takes its question with it, and failed attempts slow the next ones.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.companion_http import (
    EXTENSION_ID,
    EXTENSION_ORIGIN,
    LiveCompanion,
    free_port,
    request,
)
from tests.support.extension_browser import launch_chromium, message, requires_chromium

pty = pytest.importorskip("pty", reason="the terminal tests need a POSIX pseudo-terminal")
QUESTION = "asks to pair with this companion"
PROMPT = "\nCode: "  # printed once typed-ahead keys are gone: the answer is typed after it
OTHER_ORIGIN = "moz-extension://0b5e1c2d-1111-4222-8333-944455556666"


class Terminal:
    """``serve --no-panel`` with a pseudo-terminal as stdin, stdout and stderr: what it printed,
    and typing into it as a user at the keyboard does."""

    def __init__(self, tmp_path: Path) -> None:
        self.config = tmp_path / "config"
        self.port = free_port()
        self._keyboard, screen = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "companion.cli", "serve", "--port", str(self.port),
             "--no-panel", "--index", str(tmp_path / "no-index")],  # pairing needs no catalog
            stdin=screen, stdout=screen, stderr=screen, start_new_session=True,
            env={**os.environ, "SHOP_THE_LOOK_CONFIG": str(self.config)})
        os.close(screen)
        self._printed = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._wait_until_listening()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._keyboard, 4096)
            except OSError:  # the process closed its end
                return
            if not chunk:
                return
            self._printed += chunk

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/v1/ping").status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail(f"serve did not start: {self.printed}")

    @property
    def printed(self) -> str:
        return bytes(self._printed).decode("utf-8", "replace")

    def type(self, keys: str) -> None:
        os.write(self._keyboard, keys.encode("utf-8"))

    def wait_for(self, text: str, count: int = 1, timeout: float = 30.0) -> None:
        """Until ``text`` was printed ``count`` times."""
        deadline = time.monotonic() + timeout
        while self.printed.count(text) < count:
            assert time.monotonic() < deadline, f"{text!r} never printed:\n{self.printed}"
            time.sleep(0.05)

    def pairings(self) -> list[str]:
        path = self.config / "pairings.json"
        if not path.exists():
            return []
        return [p["origin"] for p in json.loads(path.read_text(encoding="utf-8"))["pairings"]]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self._keyboard)


@pytest.fixture()
def terminal(tmp_path):
    serving = Terminal(tmp_path)
    yield serving
    serving.stop()


class Pairing:
    """A pairing request in flight (it waits for the user's answer), in a thread."""

    def __init__(self, port: int, code: str, origin: str = EXTENSION_ORIGIN) -> None:
        self.answer = None
        self._thread = threading.Thread(target=self._ask, args=(port, code, origin), daemon=True)
        self._thread.start()

    def _ask(self, port: int, code: str, origin: str) -> None:
        self.answer = request(port, "POST", "/v1/pair", json.dumps({"code": code}).encode(),
                              {"Host": f"127.0.0.1:{port}", "Origin": origin,
                               "Content-Type": "application/json"}, timeout=60)

    def waiting(self) -> bool:
        return self._thread.is_alive()

    def result(self, timeout: float = 30.0):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the pairing request never got an answer"
        return self.answer


def pair_request(port: int, body: bytes, origin: bytes | str) -> bytes:
    return (b"POST /v1/pair HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (port, origin if isinstance(origin, bytes) else origin.encode(), len(body), body))


def test_typing_ahead_cannot_approve_only_the_code_typed_after_the_question(terminal):
    # a "y" and even the right code, typed before any question is on the screen
    terminal.type("123456\ny\n")
    time.sleep(0.5)
    pairing = Pairing(terminal.port, "123456")
    terminal.wait_for(PROMPT)
    time.sleep(1.5)  # ten times the prompt's reading slice: the typed-ahead lines had their chance
    assert pairing.waiting(), "input typed before the question answered it"
    assert terminal.pairings() == []
    assert f"from: {EXTENSION_ORIGIN}" in terminal.printed
    assert "already paired" not in terminal.printed

    terminal.type("123 456\n")  # as the options page shows it
    answer = pairing.result()
    assert answer.status == 200, answer.raw
    assert answer.json["origin"] == EXTENSION_ORIGIN and len(answer.json["token"]) >= 40
    assert terminal.pairings() == [EXTENSION_ORIGIN]

    # pairing the same browser again says what approving would do
    again = Pairing(terminal.port, "654321")
    terminal.wait_for(PROMPT, count=2)
    assert "This browser is already paired; approving replaces its pairing." in terminal.printed
    terminal.type("654321\n")
    assert again.result().status == 200


@pytest.mark.parametrize("answer", ["y", "yes", "123457", ""])
def test_anything_but_the_code_refuses(terminal, answer):
    pairing = Pairing(terminal.port, "123456")
    terminal.wait_for(PROMPT)
    terminal.type(f"{answer}\n")
    refused = pairing.result()
    assert (refused.status, refused.error_code) == (403, "pairing_refused")
    assert "token" not in refused.json
    assert terminal.pairings() == []
    terminal.wait_for("pairing refused")


SPOOFED = {
    # name: (Origin bytes, status, code)
    "Cyrillic а in the id": ("chrome-extension://knhekecfkhfdgpmj\u0430boemjdidiipffjc".encode(),
                             403, "origin_malformed"),
    "Cyrillic е in the scheme": ("chrom\u0435-extension://knhekecfkhfdgpmjaboemjdidiipffjc"
                                 .encode(), 403, "origin_malformed"),
    "fullwidth letters": ("chrome-extension://\uff4b\uff4e\uff48ekecfkhfdgpmjaboemjdidiipffj"
                          .encode(), 403, "origin_malformed"),
    "C1 escape (CSI)": ("chrome-extension://\u009b2J\u009b31mknhekecfkhfdgpmjaboemjdidii"
                        .encode(), 403, "origin_malformed"),
    "tab inside": (b"chrome-extension://knhekecfkhfdgpm\tjaboemjdidiipffjc", 403,
                   "origin_malformed"),
    "not UTF-8": (b"chrome-extension://knhekecfkhfdgpmjaboemjdidiipff\xe0\xe0", 403,
                  "origin_malformed"),
    "a path after the id": (f"{EXTENSION_ORIGIN}/options".encode(), 403, "origin_malformed"),
    "capitals in the id": (EXTENSION_ORIGIN.upper().encode(), 403, "origin_malformed"),
    "a short id": (b"chrome-extension://abcdefghijklmnop", 403, "origin_malformed"),
    "not a UUID": (b"moz-extension://not-a-uuid", 403, "origin_malformed"),
    "a web page": (b"https://shop.evil.example", 403, "origin_forbidden"),
    # ESC and DEL are refused by the HTTP parser itself, before any handler runs
    "ESC sequence": (b"chrome-extension://\x1b[2J\x1b[31mknhekecfkhfdgpmjaboemjdid", 400,
                     "malformed_request"),
    "DEL": (b"chrome-extension://knhekecfkhfdgpmjaboemjdidiipff\x7fjc", 400,
            "malformed_request"),
}


def test_a_spoofed_origin_is_refused_before_any_question(terminal):
    for name, (origin, status, code) in SPOOFED.items():
        answer = request(terminal.port, "POST", "/v1/pair", b'{"code": "123456"}',
                         {"Host": f"127.0.0.1:{terminal.port}", "Origin": origin,
                          "Content-Type": "application/json"}, timeout=10)
        assert (answer.status, answer.error_code) == (status, code), name
        assert "knhekecfkhfdgpmj" not in answer.json["error"]["message"], name
    time.sleep(0.5)
    printed = terminal.printed
    assert QUESTION not in printed and "pairing refused" not in printed
    assert "knhekecfkhfdgpmj" not in printed, "nothing of a spoofed Origin is printed"
    assert not any(char in printed for char in "\x1b\x9b\x7f\u0430\u0435\uff4b")
    assert terminal.pairings() == []
    # none of them counted as a failed attempt: the real extension is asked at once
    pairing = Pairing(terminal.port, "246810")
    terminal.wait_for(PROMPT)
    terminal.type("246810\n")
    assert pairing.result().status == 200


def test_a_requester_that_goes_away_takes_its_question_with_it(terminal):
    gone = socket.create_connection(("127.0.0.1", terminal.port))
    gone.sendall(pair_request(terminal.port, b'{"code": "111111"}', OTHER_ORIGIN))
    terminal.wait_for(PROMPT)
    assert f"from: {OTHER_ORIGIN}" in terminal.printed
    gone.close()
    terminal.wait_for("withdrawn", timeout=15)

    # the desk is free at once: the real extension is asked, and only its code pairs it
    pairing = Pairing(terminal.port, "222222")
    terminal.wait_for(PROMPT, count=2, timeout=15)
    terminal.type("111111\n")  # the withdrawn question's code answers nothing
    assert (pairing.result().status, pairing.answer.error_code) == (403, "pairing_refused")
    assert terminal.pairings() == []
    pairing = Pairing(terminal.port, "333333")
    terminal.wait_for(PROMPT, count=3, timeout=15)
    terminal.type("333333\n")
    assert pairing.result().status == 200
    assert terminal.pairings() == [EXTENSION_ORIGIN]


def test_stopping_the_companion_withdraws_the_question(terminal):
    pairing = Pairing(terminal.port, "123456")
    terminal.wait_for(PROMPT)
    started = time.monotonic()
    terminal.process.send_signal(signal.SIGTERM)
    assert terminal.process.wait(timeout=30) == 0
    assert time.monotonic() - started < 10, "the unanswered question held the companion up"
    assert pairing.result().error_code == "pairing_refused"
    terminal.wait_for("withdrawn")


def test_failed_attempts_lock_pairing_for_a_while(terminal):
    for attempt in range(1, 4):
        pairing = Pairing(terminal.port, "123456")
        terminal.wait_for(PROMPT, count=attempt)
        terminal.type("000000\n")
        assert pairing.result().error_code == "pairing_refused"
    locked = Pairing(terminal.port, "123456").result()
    assert (locked.status, locked.error_code) == (429, "pairing_locked")
    assert 1 <= int(locked.headers["Retry-After"]) <= 10
    assert f"Wait {locked.headers['Retry-After']} s" in locked.json["error"]["message"]
    time.sleep(0.5)
    assert terminal.printed.count(QUESTION) == 3, "a locked request asks nothing"
    assert terminal.pairings() == []


def test_an_unanswered_question_is_withdrawn_and_frees_the_desk(tmp_path):
    """The time limit (short here) withdraws the question: the prompt learns it at once, and the
    next request is asked without waiting for the old prompt."""
    asked: list = []

    def never_answers(question) -> bool:
        asked.append(question)
        return question.withdrawn.wait(30) and False

    live = LiveCompanion(None, tmp_path / "pairings.json",
                         {"confirm": never_answers, "pairing_timeout_s": 1.0})
    try:
        started = time.monotonic()
        first = live.request("POST", "/v1/pair", b'{"code": "123456"}',
                             {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})
        waited = time.monotonic() - started
        second = live.request("POST", "/v1/pair", b'{"code": "654321"}',
                              {"Origin": OTHER_ORIGIN, "Content-Type": "application/json"})
    finally:
        live.stop()
    assert (first.status, first.error_code) == (403, "pairing_refused")
    assert "in time" in first.json["error"]["message"]
    assert 1.0 <= waited < 10.0
    assert second.error_code == "pairing_refused", "the desk was free for the next request"
    assert [q.code for q in asked] == ["123456", "654321"]
    assert all(q.withdrawn.is_set() for q in asked)
    assert not (tmp_path / "pairings.json").exists()


class Typist:
    """The user at the companion (its ``confirm``): sees each question, and types what the test
    hands it, as they would type what the options page shows."""

    def __init__(self) -> None:
        self.questions: queue.Queue = queue.Queue()
        self.keys: queue.Queue = queue.Queue()

    def __call__(self, question) -> bool:
        self.questions.put(question)
        while not question.withdrawn.is_set():
            try:
                return question.matches(self.keys.get(timeout=0.1))
            except queue.Empty:
                continue
        return False

    def next_question(self):
        return self.questions.get(timeout=30)


@pytest.mark.browser
@requires_chromium
def test_the_options_page_pairs_with_the_code_it_shows_and_says_what_went_wrong(tmp_path):
    """The real extension in Chromium: only the code its options page shows pairs; a wrong code,
    a closed page and the lock after failures each end as the page says."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    typist = Typist()
    live = LiveCompanion(None, tmp_path / "pairings.json", {"confirm": typist})
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = launch_chromium(playwright, tmp_path / "profile")
            try:
                options = open_options(browser, live.port)

                def pair(typed: str | None) -> str:
                    options.click("#pair")
                    question = typist.next_question()
                    shown = options.text_content("#pairing-code")
                    assert question.origin == f"chrome-extension://{EXTENSION_ID}"
                    assert shown.replace(" ", "") == question.code
                    typist.keys.put(shown if typed is None else typed)
                    options.wait_for_selector("#pair:not([disabled])")
                    return options.text_content("#pairing-result")

                wrong = pair("000000")
                assert wrong == message("errPairingRefused")
                assert not (tmp_path / "pairings.json").exists()
                assert pair(None) == message("pairingDone")
                assert json.loads((tmp_path / "pairings.json").read_text())["pairings"]

                # the user closes the page while the companion asks: the question comes down
                options.click("#pair")
                question = typist.next_question()
                assert question.already_paired
                options.close()
                assert question.withdrawn.wait(10), "the closed page's question stayed up"

                options = open_options(browser, live.port)
                pair("111111")  # two more failures: three in a row lock pairing
                pair("222222")
                options.click("#pair")
                options.wait_for_selector("#pair:not([disabled])")
                said = options.text_content("#pairing-result")
                seconds = re.fullmatch(re.escape(message("errPairingLocked"))
                                       .replace(re.escape("$SECONDS$"), r"(\d+)"), said)
                assert seconds and 1 <= int(seconds[1]) <= 10, said
                assert typist.questions.empty(), "a locked request asks nothing"
            finally:
                browser.close()
    finally:
        live.stop()


def open_options(browser, port: int):
    """The options page, set to the companion's port as a user does (the port form)."""
    options = browser.new_page()
    options.goto(f"chrome-extension://{EXTENSION_ID}/options/options.html")
    options.fill("#port", str(port))
    options.click("#port-form button[type=submit]")
    options.wait_for_selector("#status.ok")
    return options
