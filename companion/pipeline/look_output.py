"""How a look is written out: its JSON (shared by ``look --json``, the HTTP API and the panel)
and its text for the terminal.

Other tools depend on the exact JSON shape; change it only with a new API version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from companion.errors import ErrorCode, LookError
from companion.types import Look, Match


def look_to_json(look: Look) -> dict:
    return {
        "image": look.source,
        "width": look.width,
        "height": look.height,
        "people": [
            {
                "box": [round(v, 1) for v in person.box],
                "score": round(person.score, 4),
                "gender": {"label": gender.label, "score": round(gender.score, 4)},
                "background": _in_background(look, number),
            }
            for number, (person, gender) in enumerate(look.people)
        ],
        "items": [
            {
                "category": item.garment.category,
                "class": item.garment.fine_class,
                "class_score": item.garment.fine_score,
                "box": [round(v, 1) for v in item.garment.box],
                "person": item.garment.person,
                "score": item.garment.score,
                "background": _in_background(look, item.garment.person),
                "whole_photo": item.garment.whole_photo,
                "matches": [match_to_json(m) for m in item.matches],
            }
            for item in look.items
        ],
        "timings_ms": look.timings_ms,
    }


def _in_background(look: Look, person: int | None) -> bool:
    return person is not None and person < len(look.background) and look.background[person]


def match_to_json(match: Match) -> dict:
    return {
        "id": match.id,
        "score": match.score,
        "title": match.title,
        "image_link": match.image_link,
        "link": match.link,
        "category": match.category,
        "gender": match.gender,
        "price": match.price,
        "availability": match.availability,
        "crop": None if match.crop is None else list(match.crop),
        "shop": match.shop,
        "age_group": match.age_group,
    }


def error_to_json(source: str, error: LookError) -> dict:
    return {"image": source, "error": error.to_dict()}


def format_look(look: Look) -> str:
    """A readable summary of a look for the terminal."""
    lines = [f"{look.source} ({look.width}×{look.height})"]
    if not look.people:
        lines.append("  no person found: matched the whole picture as a product photo")
    for number, (person, gender) in enumerate(look.people):
        lines.append(f"  person {number}: {gender.label} ({gender.score:.2f}), "
                     f"box {[round(v) for v in person.box]}")
    several_shops = len({m.shop for item in look.items for m in item.matches}) > 1
    for item in look.items:
        owner = "" if item.garment.person is None else f" of person {item.garment.person}"
        name = (f"{item.garment.fine_class} ({item.garment.category})" if item.garment.fine_class
                else item.garment.category)
        lines.append(f"  {name}{owner} at {[round(v) for v in item.garment.box]}")
        for match in item.matches:
            shop = f"  ({match.shop})" if several_shops else ""
            lines.append(f"    {match.score:.3f}  {match.title}  [{match.id}]  {match.link}{shop}")
    total = look.timings_ms.get("total", 0.0)
    lines.append(f"  took {total:.0f} ms")
    return "\n".join(lines)


def read_photo(path: Path) -> bytes:
    """A photo file's bytes, or ``image_unreadable`` saying why the file cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        message = f"Cannot read {path}: {exc.strerror}."
        raise LookError(ErrorCode.IMAGE_UNREADABLE, message) from None


def print_look(look: Look, as_json: bool) -> dict:
    """Print a look as ``look`` does (one JSON line, or the summary); returns its JSON."""
    payload = look_to_json(look)
    print(json.dumps(payload, ensure_ascii=False) if as_json else format_look(look), flush=True)
    return payload


def print_failure(source: str, error: LookError, as_json: bool) -> None:
    """A photo that could not be looked at: a JSON line on stdout, or a line on stderr."""
    if as_json:
        print(json.dumps(error_to_json(source, error), ensure_ascii=False), flush=True)
    else:
        print(f"{source}: error [{error.code}]: {error.message}", file=sys.stderr, flush=True)
