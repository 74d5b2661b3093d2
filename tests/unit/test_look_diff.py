"""The before/after comparison of looks that a refactor must pass."""

from __future__ import annotations

import json
from pathlib import Path

from training.evaluate.look_diff import main


def look(image: str, first_match: str = "p1", box=(10.0, 20.0, 30.0, 40.0)) -> dict:
    return {"image": image, "width": 100, "height": 100,
            "people": [{"box": [0, 0, 100, 100], "score": 0.9,
                        "gender": {"label": "female", "score": 0.8}}],
            "items": [{"category": "topwear", "box": list(box), "person": 0, "score": 0.7,
                       "matches": [{"id": first_match, "score": 0.9}, {"id": "p2"}]}]}


def write(path: Path, looks: list[dict]) -> Path:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in looks), encoding="utf-8")
    return path


def test_identical_runs_pass_and_say_so(tmp_path, capsys):
    before = write(tmp_path / "before.jsonl", [look("a.jpg"), look("b.jpg")])
    after = write(tmp_path / "after.jsonl", [look("b.jpg"), look("a.jpg")])
    assert main([str(before), str(after)]) == 0
    assert capsys.readouterr().out.strip() == (
        "2 photos, 2 items: people and genders the same on 2/2, items the same on 2/2, "
        "first match per item the same on 2/2")


def test_another_first_match_or_box_fails_and_names_the_photo(tmp_path, capsys):
    before = write(tmp_path / "before.jsonl", [look("a.jpg"), look("b.jpg")])
    after = write(tmp_path / "after.jsonl",
                  [look("a.jpg", first_match="p9"), look("b.jpg", box=(11.0, 20.0, 30.0, 40.0))])
    assert main([str(before), str(after)]) == 1
    out = capsys.readouterr().out
    assert "a.jpg: first matches differ: ['p1'] -> ['p9']" in out
    assert "b.jpg: items differ" in out


def test_a_photo_missing_from_one_run_fails(tmp_path, capsys):
    before = write(tmp_path / "before.jsonl", [look("a.jpg"), look("b.jpg")])
    after = write(tmp_path / "after.jsonl", [look("a.jpg")])
    assert main([str(before), str(after)]) == 1
    assert "b.jpg: only in before" in capsys.readouterr().out
