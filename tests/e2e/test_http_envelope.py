"""Whatever a client sends, the companion answers in the one error envelope and names no
software: requests aiohttp cannot even parse included, sent byte for byte over a raw socket to a
real server on loopback. The answer and the log echo nothing of the offending bytes."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.companion_http import EXTENSION_ORIGIN, LiveCompanion

MARK = b"ECHO-ME-7f3a"  # in every bad request, so any echo of it is easy to see


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]  # names lower-cased
    raw: bytes  # everything the server sent

    @property
    def json(self) -> dict:
        return json.loads(self.raw.split(b"\r\n\r\n", 1)[1])


def send_raw(port: int, *parts: bytes, pause_s: float = 0.0) -> RawAnswer:
    """Send ``parts`` (``pause_s`` apart) on one connection and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        for i, part in enumerate(parts):
            if i:
                time.sleep(pause_s)
            connection.sendall(part)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(head[0].split()[1]), headers, received)


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveCompanion]:
    """A companion with no pipeline: nothing here reaches a look."""
    companion = LiveCompanion(None, tmp_path_factory.mktemp("config") / "pairings.json")
    yield companion
    companion.stop()


@pytest.fixture(scope="module")
def paired(live) -> str:
    return live.pair()


def host(live: LiveCompanion) -> bytes:
    return f"Host: {live.host}\r\n".encode()


def auth(token: str) -> bytes:
    return f"Authorization: Bearer {token}\r\nOrigin: {EXTENSION_ORIGIN}\r\n".encode()


def request_line(method: bytes = b"GET", path: bytes = b"/v1/ping") -> bytes:
    return method + b" " + path + b" HTTP/1.1\r\n"


MALFORMED = {
    "not HTTP at all": lambda h: MARK + b"\r\n\r\n",
    "a method with a bad character": lambda h: request_line(b"G<" + MARK) + h + b"\r\n",
    "an unknown HTTP version": lambda h: b"GET /v1/ping HTTP/9." + MARK + b"\r\n" + h + b"\r\n",
    "a request line too long": lambda h: request_line(path=b"/" + MARK * 1000) + h + b"\r\n",
    "a control byte in a header name": lambda h: (request_line() + h + b"X-" + MARK + b"\x01: 1"
                                                  b"\r\n\r\n"),
    "a header without a colon": lambda h: request_line() + h + MARK + b"\r\n\r\n",
    "a header too long": lambda h: request_line() + h + b"X-Long: " + MARK * 1000 + b"\r\n\r\n",
    "a NUL in a header value": lambda h: request_line() + h + b"X-A: " + MARK + b"\x00\r\n\r\n",
    "a Content-Length that is not a number": lambda h: (request_line(b"POST", b"/v1/pair") + h
                                                        + b"Content-Length: " + MARK
                                                        + b"\r\n\r\n"),
    "Content-Length and chunked together": lambda h: (
        request_line(b"POST", b"/v1/looks") + h + b"Content-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "an unknown transfer coding": lambda h: (request_line(b"POST", b"/v1/looks") + h
                                             + b"Transfer-Encoding: " + MARK + b"\r\n\r\n"),
    "a chunk size that is not hex": lambda h: (request_line(b"POST", b"/v1/looks") + h
                                               + b"Transfer-Encoding: chunked\r\n\r\n" + MARK
                                               + b"\r\nxx\r\n0\r\n\r\n"),
}


def assert_is_the_envelope(answer: RawAnswer, status: int, code: str) -> None:
    assert answer.status == status, answer.raw[:300]
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json["error"]["code"] == code
    assert set(answer.json["error"]) == {"code", "message"}


def assert_names_no_software(answer: RawAnswer) -> None:
    assert "server" not in answer.headers, answer.headers
    assert b"aiohttp" not in answer.raw.lower() and b"python" not in answer.raw.lower()


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_request_that_cannot_be_parsed_gets_the_envelope_and_no_echo(name, live, caplog):
    with caplog.at_level(logging.DEBUG):
        answer = send_raw(live.port, MALFORMED[name](host(live)))
    assert_is_the_envelope(answer, 400, "malformed_request")
    assert MARK not in answer.raw
    assert_names_no_software(answer)
    assert MARK.decode() not in caplog.text, "the log keeps the attacker's bytes out too"


@pytest.mark.parametrize("pause_s", [0.0, 0.3])
def test_a_broken_chunk_part_way_through_a_body_gets_the_envelope(pause_s, live, paired, caplog):
    """The bad chunk comes after a good one: with a pause, the handler is reading the body."""
    head = (request_line(b"POST", b"/v1/looks") + host(live) + auth(paired)
            + b"Content-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"4\r\n\xff\xd8\xff\xe0\r\n")
    with caplog.at_level(logging.DEBUG):
        answer = send_raw(live.port, head, MARK + b"\r\nnot a chunk\r\n0\r\n\r\n",
                          pause_s=pause_s)
    assert_is_the_envelope(answer, 400, "malformed_request")
    assert answer.raw.count(b"HTTP/1.") == 1, "one answer, then the connection closes"
    assert MARK not in answer.raw
    assert_names_no_software(answer)
    assert "Traceback" not in caplog.text and MARK.decode() not in caplog.text


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    (b"GET", b"/v1/ping", 200, None),
    (b"POST", b"/v1/session", 200, None),
    (b"GET", b"/v1/no-such-route", 404, "not_found"),
    (b"GET", b"/v1/looks", 405, "method_not_allowed"),
    (b"POST", b"/v1/looks?token=x", 400, "token_in_url"),
])
def test_no_answer_names_the_server_software(method, path, status, code, live, paired):
    answer = send_raw(live.port, request_line(method, path) + host(live) + auth(paired)
                      + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    if code is None:
        assert answer.status == status
    else:
        assert_is_the_envelope(answer, status, code)
    assert_names_no_software(answer)


def test_a_refusal_before_any_route_names_no_software_either(live):
    answer = send_raw(live.port,
                      request_line() + b"Host: evil.example\r\nConnection: close\r\n\r\n")
    assert_is_the_envelope(answer, 403, "host_forbidden")
    assert_names_no_software(answer)
