"""The command line, run as a user runs it: a real process, real files, one JSON line each."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.companion_http import index_of_another_embedder
from tests.support.data import STREET, requires_data

pytestmark = requires_data


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "companion.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_look_json_prints_one_object_per_image_and_goes_on_after_a_bad_one(
    small_index_dir, tmp_path
):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"definitely not a photo")
    photo = STREET / "images" / "ccp_0003.jpg"
    result = run_cli("look", str(broken), str(photo), "--index", str(small_index_dir),
                     "--json", "--top-k", "2")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0] == {"image": str(broken), "error": {
        "code": "image_unreadable", "message": lines[0]["error"]["message"]}}
    look = lines[1]
    assert look["image"] == str(photo)
    assert set(look) == {"image", "width", "height", "people", "items", "timings_ms"}
    assert look["items"] and all(len(i["matches"]) == 2 for i in look["items"])
    person = look["people"][0]
    assert set(person) == {"box", "score", "gender", "background"}
    assert set(person["gender"]) == {"label", "score"}
    item = look["items"][0]
    assert {"category", "box", "person", "background", "whole_photo", "matches"} <= set(item)
    assert {"id", "score", "title", "image_link", "link", "crop"} <= set(item["matches"][0])


def test_a_missing_catalog_tells_the_user_how_to_build_it(tmp_path):
    result = run_cli("look", str(STREET / "images" / "ccp_0003.jpg"),
                     "--index", str(tmp_path / "none"))
    assert result.returncode == 1
    assert "catalog_missing" in result.stderr
    assert "index build" in result.stderr


def test_a_catalog_of_another_embedder_stops_the_look_and_asks_for_a_rebuild(
    small_index_dir, tmp_path
):
    index = index_of_another_embedder(small_index_dir, tmp_path)
    result = run_cli("look", str(STREET / "images" / "ccp_0003.jpg"), "--index", str(index),
                     "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"error [catalog_embedder_mismatch]: The catalog at {index} was built with the embedder "
        "someone-elses-embedder (000000000000…)")
    assert "Rebuild the catalog with `shop-the-look index build`." in result.stderr


def test_models_list_checks_every_checksum():
    result = run_cli("models", "list")
    assert result.returncode == 0
    assert "movenet-multipose" in result.stdout
    assert "BAD" not in result.stdout


def test_help_teaches_with_examples():
    result = run_cli("--help")
    assert "examples:" in result.stdout
    assert "index build" in result.stdout
