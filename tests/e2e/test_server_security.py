"""Every refusal of the companion's HTTP API, on a real server on loopback: each answers with its
status and code in the error envelope, sends no CORS header, and runs nothing."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest

from companion.server.pairing import token_hash
from tests.support.companion_http import (
    EXTENSION_ORIGIN,
    LiveCompanion,
    authorised,
)
from tests.support.data import requires_data, street_photo

pytestmark = requires_data
PHOTO = "ccp_0003.jpg"


def no_cors_headers(answer) -> bool:
    return not any(name.lower().startswith("access-control-") for name in answer.headers)


def test_ping_needs_nothing_and_says_only_who_we_are(companion):
    answer = companion.request("GET", "/v1/ping")
    assert answer.status == 200
    assert answer.json["app"] == "shop-the-look"
    assert answer.json["api"] == 1
    assert no_cors_headers(answer)


def test_pairing_keeps_only_a_hash_of_the_token_with_the_origin_pinned(companion, token):
    text = companion.pairings_path.read_text(encoding="utf-8")
    assert token not in text
    (pairing,) = json.loads(text)["pairings"]
    assert pairing["token_sha256"] == token_hash(token)
    assert pairing["origin"] == EXTENSION_ORIGIN
    if os.name == "posix":
        assert stat.S_IMODE(companion.pairings_path.stat().st_mode) == 0o600


def test_the_paired_extension_gets_in(companion, token):
    answer = companion.request("POST", "/v1/session", headers=authorised(token))
    assert answer.status == 200
    assert answer.json["paired"] is True


REFUSALS = {
    # name: (headers builder, path, status, code)
    "no token": (lambda t, h: {"Origin": EXTENSION_ORIGIN}, "/v1/looks", 401, "auth_missing"),
    "not a bearer token": (lambda t, h: {"Origin": EXTENSION_ORIGIN, "Authorization": f"Basic {t}"},
                           "/v1/looks", 401, "auth_missing"),
    "wrong token": (lambda t, h: authorised(t[::-1]), "/v1/looks", 401, "auth_invalid"),
    "token in the URL": (lambda t, h: {"Origin": EXTENSION_ORIGIN}, "/v1/looks?token={t}", 400,
                         "token_in_url"),
    "foreign Origin": (lambda t, h: authorised(t, "https://shop.evil.example"), "/v1/looks", 403,
                       "origin_forbidden"),
    "another extension": (lambda t, h: authorised(t, "chrome-extension://abcdefghijklmnop"),
                          "/v1/looks", 403, "origin_forbidden"),
    "no Origin": (lambda t, h: {"Authorization": f"Bearer {t}"}, "/v1/looks", 403,
                  "origin_forbidden"),
    "foreign Host (DNS rebinding)": (lambda t, h: authorised(t, Host=f"evil.example:{h}"),
                                     "/v1/looks", 403, "host_forbidden"),
    "Host without the port": (lambda t, h: authorised(t, Host="localhost"), "/v1/looks", 403,
                              "host_forbidden"),
    "Host with another port": (lambda t, h: authorised(t, Host=f"127.0.0.1:{h + 1}"),
                               "/v1/looks", 403, "host_forbidden"),
    "foreign Host on ping": (lambda t, h: {"Host": f"rebind.evil.example:{h}"}, "/v1/ping", 403,
                             "host_forbidden"),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_each_refusal_has_its_code_and_processes_nothing(name, companion, token, counting):
    build_headers, path, status, code = REFUSALS[name]
    runs, looks = counting.runs, len(companion.looks)
    headers = {"Content-Type": "image/jpeg", **build_headers(token, companion.port)}
    answer = companion.request("GET" if path == "/v1/ping" else "POST", path.format(t=token),
                               street_photo(PHOTO), headers)
    assert (answer.status, answer.error_code) == (status, code)
    assert set(answer.json) == {"error"} and answer.json["error"]["message"]
    assert no_cors_headers(answer)
    assert counting.runs == runs, "a refused request must not reach the pipeline"
    assert len(companion.looks) == looks


def test_localhost_with_the_port_is_accepted_as_host(companion, token):
    answer = companion.request("POST", "/v1/session",
                               headers=authorised(token, Host=f"localhost:{companion.port}"))
    assert answer.status == 200
    assert answer.json["paired"] is True


def test_a_token_is_refused_when_sent_from_another_paired_origin(companion):
    first, second = ("chrome-extension://aaaabbbbccccddddaaaabbbbccccdddd",
                     "moz-extension://0b5e1c2d-1111-4222-8333-944455556666")
    tokens = {first: companion.pair(first), second: companion.pair(second)}
    for origin, token in tokens.items():
        assert companion.request("POST", "/v1/session",
                                 headers=authorised(token, origin)).status == 200
    for origin, other in ((first, second), (second, first)):
        answer = companion.request("POST", "/v1/session", headers=authorised(tokens[other], origin))
        assert (answer.status, answer.error_code) == (403, "origin_forbidden")


def test_a_web_page_cannot_pair(companion):
    before = companion.pairings_path.read_bytes()
    for origin in ("https://shop.evil.example", "null", ""):
        answer = companion.request("POST", "/v1/pair", b'{"code": "123456"}',
                                   {"Origin": origin, "Content-Type": "application/json"})
        assert (answer.status, answer.error_code) == (403, "origin_forbidden")
    assert companion.pairings_path.read_bytes() == before


def test_a_pairing_the_user_refuses_gives_no_token(pipeline, tmp_path):
    asked = []
    live = LiveCompanion(pipeline, tmp_path / "pairings.json",
                         {"confirm": lambda request: asked.append(request) or False})
    try:
        answer = live.request("POST", "/v1/pair", b'{"code": "424242"}',
                              {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})
    finally:
        live.stop()
    assert (answer.status, answer.error_code) == (403, "pairing_refused")
    assert "token" not in answer.json
    assert [(r.origin, r.code) for r in asked] == [(EXTENSION_ORIGIN, "424242")]
    assert not (tmp_path / "pairings.json").exists()


def test_pairing_needs_the_code_the_extension_shows(companion):
    answer = companion.request("POST", "/v1/pair", b'{"code": "12"}',
                               {"Origin": EXTENSION_ORIGIN, "Content-Type": "application/json"})
    assert (answer.status, answer.error_code) == (400, "bad_pairing_code")


def test_a_cors_preflight_from_a_page_gets_no_permission(companion):
    """A page's fetch with an Authorization header needs this preflight to succeed; it never
    does, and no answer carries Access-Control-Allow-Origin, so the page reads nothing."""
    answer = companion.request("OPTIONS", "/v1/looks", headers={
        "Origin": "https://shop.evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert answer.status >= 400
    assert no_cors_headers(answer)
    ping = companion.request("GET", "/v1/ping", headers={"Origin": "https://shop.evil.example"})
    assert ping.status == 200 and no_cors_headers(ping)


class Exploding:
    def run(self, data, source="", request=None):
        raise RuntimeError("secret internals at /home/user/.config")


def test_an_unexpected_failure_answers_plainly_and_logs_the_trace(tmp_path, caplog):
    live = LiveCompanion(Exploding(), tmp_path / "pairings.json")
    try:
        token = live.pair()
        with caplog.at_level(logging.ERROR, logger="companion.server"):
            answer = live.request("POST", "/v1/looks", street_photo(PHOTO),
                                  authorised(token, **{"Content-Type": "image/jpeg"}))
    finally:
        live.stop()
    assert (answer.status, answer.error_code) == (500, "internal_error")
    assert b"secret internals" not in answer.raw and b"Traceback" not in answer.raw
    assert "secret internals" in caplog.text
    assert any(record.exc_info for record in caplog.records)


def test_the_server_listens_on_loopback_only(companion):
    addresses = companion.server._runner.addresses
    assert addresses and all(address[0] == "127.0.0.1" for address in addresses)


def test_unpairing_makes_the_token_useless(companion):
    token = companion.pair("chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba")
    headers = authorised(token, "chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba")
    assert companion.request("POST", "/v1/session", headers=headers).status == 200
    assert companion.request("POST", "/v1/unpair", headers=headers).json == {"paired": False}
    answer = companion.request("POST", "/v1/session", headers=headers)
    assert (answer.status, answer.error_code) == (401, "auth_invalid")
    assert "ponmlkjihgfedcba" not in companion.pairings_path.read_text()
