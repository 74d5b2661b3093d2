"""Looks through the HTTP API on a real server: the same JSON as the CLI, options honoured,
inference off the event loop, and bodies refused before anything runs (too big, not an image,
a decompression bomb)."""

from __future__ import annotations

import threading

import pytest

from companion.inference.store import LoadedModel
from companion.pipeline.look import LookRequest
from companion.pipeline.look_output import look_to_json
from tests.support.companion_http import (
    LiveCompanion,
    authorised,
    index_of_another_embedder,
    png_claiming,
)
from tests.support.data import requires_data, street_photo

pytestmark = requires_data
PHOTO = "ccp_0003.jpg"
MB = 1024 * 1024


def multipart(fields: dict[str, tuple[str, bytes, str] | str]) -> tuple[bytes, str]:
    boundary = "----shop-the-look-test"
    body = b""
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, data, content_type = value
            head = (f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    f"Content-Type: {content_type}\r\n")
        else:
            data, head = value.encode(), f'Content-Disposition: form-data; name="{name}"\r\n'
        body += f"--{boundary}\r\n{head}\r\n".encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def without_timings(look: dict) -> dict:
    return {k: v for k, v in look.items() if k != "timings_ms"}


def test_raw_bytes_give_exactly_the_cli_json_with_garments_and_matches(companion, token,
                                                                       counting, pipeline):
    photo = street_photo(PHOTO)
    answer = companion.request("POST", "/v1/looks", photo,
                               authorised(token, **{"Content-Type": "image/jpeg"}))
    assert answer.status == 200, answer.raw
    look = answer.json
    assert look["people"], "a street photo has a person"
    assert look["items"] and all(item["matches"] for item in look["items"])
    assert look["timings_ms"]["total"] > 0
    expected = look_to_json(pipeline.run(photo, source="", request=LookRequest()))
    assert without_timings(look) == without_timings(expected)
    assert without_timings(companion.looks[-1]) == without_timings(look), "on_look got the look"
    assert answer.headers["Shop-The-Look-Results"] == "panel"
    assert counting.threads[-1].startswith("look"), "inference runs in the executor's thread"
    assert counting.threads[-1] != threading.main_thread().name


def test_multipart_with_the_page_and_image_addresses(companion, token):
    body, content_type = multipart({
        "image": ("photo.jpg", street_photo(PHOTO), "image/jpeg"),
        "page_url": "https://magazine.example/street-style",
        "image_url": "https://cdn.magazine.example/ccp_0003.jpg",
        "top_k": "2",
        "gender": "male",
    })
    answer = companion.request("POST", "/v1/looks", body,
                               authorised(token, **{"Content-Type": content_type}))
    assert answer.status == 200, answer.raw
    look = answer.json
    assert look["image"] == "https://cdn.magazine.example/ccp_0003.jpg"
    matches = [m for item in look["items"] for m in item["matches"]]
    assert matches and all(len(item["matches"]) <= 2 for item in look["items"])
    assert {m["gender"] for m in matches} <= {"male", "unisex"}


def test_a_data_url_is_never_echoed_as_the_source(companion, token):
    body, content_type = multipart({"image": ("x.jpg", street_photo(PHOTO), "image/jpeg"),
                                    "image_url": "data:image/jpeg;base64,AAAA",
                                    "page_url": "https://magazine.example/p"})
    answer = companion.request("POST", "/v1/looks", body,
                               authorised(token, **{"Content-Type": content_type}))
    assert answer.json["image"] == "https://magazine.example/p"


@pytest.mark.parametrize("query", ["top_k=0", "top_k=many", "top_k=51", "gender=robot"])
def test_bad_options_are_refused_before_any_work(companion, token, counting, query):
    runs = counting.runs
    answer = companion.request("POST", f"/v1/looks?{query}", street_photo(PHOTO),
                               authorised(token, **{"Content-Type": "image/jpeg"}))
    assert (answer.status, answer.error_code) == (400, "bad_argument")
    assert counting.runs == runs


def oversize_requests() -> dict:
    big = b"\xff\xd8\xff" + b"\0" * (21 * MB)
    body, content_type = multipart({"image": ("big.jpg", big, "image/jpeg")})
    return {
        "declared length": (big, {"Content-Type": "image/jpeg"}),
        "multipart part": (body, {"Content-Type": content_type}),
    }


@pytest.mark.parametrize("name", ["declared length", "multipart part", "chunked"])
def test_an_oversize_body_is_refused_with_413(companion, token, counting, name):
    runs = counting.runs
    if name == "chunked":  # no Content-Length (http.client chunks an iterable): the limit must
        # hold while reading
        big = b"\xff\xd8\xff" + b"\0" * (21 * MB)
        chunks = iter([big[i:i + MB] for i in range(0, len(big), MB)])
        answer = companion.request("POST", "/v1/looks", chunks,
                                   authorised(token, **{"Content-Type": "image/jpeg"}))
    else:
        body, headers = oversize_requests()[name]
        answer = companion.request("POST", "/v1/looks", body, authorised(token, **headers))
    assert (answer.status, answer.error_code) == (413, "body_too_large")
    assert counting.runs == runs


@pytest.mark.parametrize(("body", "content_type", "code"), [
    (b"<html><body>not a photo</body></html>", "text/html", "unsupported_media_type"),
    (b"hello", "text/plain", "unsupported_media_type"),
    (b"a=1&b=2", "application/x-www-form-urlencoded", "unsupported_media_type"),
    (b"<html><body>not a photo</body></html>", "image/jpeg", "image_unreadable"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/octet-stream", "image_unreadable"),
])
def test_a_non_image_body_is_refused_with_415(companion, token, counting, body, content_type,
                                              code):
    runs, looks = counting.runs, len(companion.looks)
    answer = companion.request("POST", "/v1/looks", body,
                               authorised(token, **{"Content-Type": content_type}))
    assert (answer.status, answer.error_code) == (415, code)
    assert counting.runs == runs and len(companion.looks) == looks


def test_an_empty_body_is_refused(companion, token):
    answer = companion.request("POST", "/v1/looks", b"",
                               authorised(token, **{"Content-Type": "image/png"}))
    assert (answer.status, answer.error_code) == (400, "image_empty")


@pytest.mark.parametrize("side", [50_000, 8_000])
def test_a_decompression_bomb_is_refused_before_any_model_runs(companion, token, monkeypatch,
                                                                side):
    model_runs = []
    real_run = LoadedModel.run
    monkeypatch.setattr(LoadedModel, "run",
                        lambda self, feeds: model_runs.append(1) or real_run(self, feeds))
    looks = len(companion.looks)
    bomb = png_claiming(side, side)
    assert len(bomb) < 100
    answer = companion.request("POST", "/v1/looks", bomb,
                               authorised(token, **{"Content-Type": "image/png"}))
    assert (answer.status, answer.error_code) == (413, "image_too_large")
    assert model_runs == [], "no model may run on a bomb"
    assert len(companion.looks) == looks


class Gated:
    """A pipeline whose look says when it has begun, then holds until the test lets it go."""

    def __init__(self) -> None:
        self.began = threading.Event()
        self.release = threading.Event()

    def run(self, data, source="", request=None):
        self.began.set()
        self.release.wait(60)
        raise RuntimeError("never mind")


def test_inference_does_not_block_the_event_loop(tmp_path):
    gated = Gated()
    live = LiveCompanion(gated, tmp_path / "pairings.json")
    looks: list = []
    try:
        token = live.pair()
        worker = threading.Thread(target=lambda: looks.append(live.request(
            "POST", "/v1/looks", street_photo(PHOTO),
            authorised(token, **{"Content-Type": "image/jpeg"}))))
        worker.start()
        try:
            assert gated.began.wait(30), "the look started"
            ping = live.request("GET", "/v1/ping", timeout=10)  # answered while the look holds
            still_running = not looks
        finally:
            gated.release.set()
            worker.join(30)
    finally:
        live.stop()
    assert ping.status == 200
    assert still_running, "the ping was answered before the look finished"
    assert [look.status for look in looks] == [500]


def test_an_oversize_text_field_is_refused_before_any_work(companion, token, counting):
    runs = counting.runs
    body, content_type = multipart({"image": ("x.jpg", street_photo(PHOTO), "image/jpeg"),
                                    "page_url": "https://example.com/" + "a" * 100_000})
    answer = companion.request("POST", "/v1/looks", body,
                               authorised(token, **{"Content-Type": content_type}))
    assert (answer.status, answer.error_code) == (400, "bad_argument")
    assert counting.runs == runs


def test_a_catalog_of_another_embedder_answers_503_and_asks_for_a_rebuild(small_index_dir,
                                                                          tmp_path):
    index = index_of_another_embedder(small_index_dir, tmp_path)
    live = LiveCompanion(None, tmp_path / "pairings.json", {"index_dir": index})
    try:
        answer = live.request("POST", "/v1/looks", street_photo(PHOTO),
                              authorised(live.pair(), **{"Content-Type": "image/jpeg"}))
    finally:
        live.stop()
    assert (answer.status, answer.error_code) == (503, "catalog_embedder_mismatch")
    assert set(answer.json) == {"error"}
    assert "Rebuild the catalog" in answer.json["error"]["message"]
    assert live.looks == []
