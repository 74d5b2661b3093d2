"""The JSON shape of a look, shared by ``look --json``, the HTTP API and the panel.

Other tools depend on this exact shape; change it only with a new API version.
"""

from __future__ import annotations

from companion.errors import LookError
from companion.pipeline.types import Look, Match


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
            }
            for person, gender in look.people
        ],
        "items": [
            {
                "category": item.garment.category,
                "box": [round(v, 1) for v in item.garment.box],
                "person": item.garment.person,
                "score": item.garment.score,
                "matches": [match_to_json(m) for m in item.matches],
            }
            for item in look.items
        ],
        "timings_ms": look.timings_ms,
    }


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
    }


def error_to_json(source: str, error: LookError) -> dict:
    return {"image": source, "error": error.to_dict()}
