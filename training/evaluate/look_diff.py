"""Did a change alter what shoppers see? Compare two runs of ``look --json`` photo by photo.

    .venv/bin/shop-the-look look PHOTOS... --json > before.jsonl   (on the old code)
    .venv/bin/shop-the-look look PHOTOS... --json > after.jsonl    (on the new code)
    .venv/bin/python -m training.evaluate.look_diff before.jsonl after.jsonl

A refactor must leave every photo's people (box, gender), items (category, box, person) and the
first match of each item unchanged: the first match is the product a shopper sees first. The
command prints the counts, then one line per photo that differs, and exits 1 when any does.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from training.params import cli, parse


@dataclass
class LookDiffParams:
    before: Path = field(metadata=cli("look --json output of the old code", positional=True))
    after: Path = field(metadata=cli("look --json output of the new code", positional=True))


@dataclass
class LookDiff:
    photos: int = 0
    items: int = 0
    same_people: int = 0
    same_items: int = 0
    same_first_matches: int = 0
    differences: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.photos} photos, {self.items} items: people and genders the same on "
                f"{self.same_people}/{self.photos}, items the same on "
                f"{self.same_items}/{self.photos}, first match per item the same on "
                f"{self.same_first_matches}/{self.photos}")


def read_looks(path: Path) -> dict[str, dict]:
    """One look (or error) per photo, by the photo's path as ``look`` printed it."""
    looks = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return {look["image"]: look for look in looks}


def _people(look: dict) -> list:
    return [(p["box"], p["gender"]["label"]) for p in look.get("people", [])]


def _items(look: dict) -> list:
    return [(i["category"], i["box"], i["person"]) for i in look.get("items", [])]


def _first_matches(look: dict) -> list:
    return [i["matches"][0]["id"] if i["matches"] else None for i in look.get("items", [])]


def compare(before: dict[str, dict], after: dict[str, dict]) -> LookDiff:
    diff = LookDiff()
    for photo in sorted(set(before) | set(after)):
        diff.photos += 1
        old, new = before.get(photo), after.get(photo)
        if old is None or new is None:
            diff.differences.append(f"{photo}: only in {'after' if old is None else 'before'}")
            continue
        diff.items += len(old.get("items", []))
        checks = (("people", _people, "same_people"), ("items", _items, "same_items"),
                  ("first matches", _first_matches, "same_first_matches"))
        for name, part, counter in checks:
            if part(old) == part(new):
                setattr(diff, counter, getattr(diff, counter) + 1)
            else:
                diff.differences.append(f"{photo}: {name} differ: {part(old)} -> {part(new)}")
        if old.get("error") != new.get("error"):
            diff.differences.append(f"{photo}: errors differ")
    return diff


def main(argv: list[str] | None = None) -> int:
    params = parse(LookDiffParams, argv, description=__doc__.split("\n")[0])
    diff = compare(read_looks(params.before), read_looks(params.after))
    print(diff.summary())
    for line in diff.differences:
        print("  " + line)
    return 1 if diff.differences else 0


if __name__ == "__main__":
    sys.exit(main())
