"""Looks at people wearing clothes: studio model shots, packshots taken for people, bystanders."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from companion.pipeline.look import LookRequest
from companion.pipeline.look_output import look_to_json
from tests.support.data import CATALOG, requires_data, street_photo

pytestmark = requires_data
SHORTS_ON_LEGS = "2193"  # navy shorts, legs and shoes only, on white
SANDAL = "2626"  # a red wedge sandal on white, which MoveNet takes for a person
SKIRT_WORN = "6860"  # a woman in a white top and a black skirt, on white


def catalog_photo(product_id: str) -> bytes:
    return (CATALOG / "images" / f"{product_id}.jpg").read_bytes()


def test_a_studio_model_shot_lists_the_product_it_shows_first(pipeline):
    look = look_to_json(pipeline.run(catalog_photo(SHORTS_ON_LEGS), request=LookRequest(top_k=3)))
    assert look["people"], "the legs are a person"
    first = look["items"][0]
    assert first["category"] == "bottomwear"
    assert first["person"] == 0 and first["matches"]


def test_a_packshot_taken_for_a_person_is_still_matched_as_the_product(pipeline):
    look = look_to_json(pipeline.run(catalog_photo(SANDAL), request=LookRequest(top_k=3)))
    assert [item["category"] for item in look["items"]] == ["footwear"]
    assert look["items"][0]["whole_photo"] is True
    assert all(m["category"] == "footwear" for m in look["items"][0]["matches"])


def test_a_model_shot_keeps_the_rest_of_the_outfit_after_the_featured_garment(pipeline):
    look = look_to_json(pipeline.run(catalog_photo(SKIRT_WORN), request=LookRequest(top_k=3)))
    categories = [item["category"] for item in look["items"]]
    assert len(categories) >= 2 and "topwear" in categories[1:]
    assert not any(item["whole_photo"] for item in look["items"])


def street_with_a_bystander() -> bytes:
    """A street photo widened with another street photo at 55 % of its size beside it: a
    second person, further away (under 0.6 of the main subject's height: the background)."""
    main = Image.open(io.BytesIO(street_photo("ccp_0003.jpg"))).convert("RGB")
    other = Image.open(io.BytesIO(street_photo("ccp_0010.jpg"))).convert("RGB")
    small = other.resize((other.width * 11 // 20, other.height * 11 // 20))
    canvas = Image.new("RGB", (main.width + small.width, main.height), (128, 128, 128))
    canvas.paste(main, (0, 0))
    canvas.paste(small, (main.width, main.height - small.height - 20))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=92)
    return out.getvalue()


def test_a_bystander_is_in_the_background_and_their_garments_come_last(pipeline):
    look = look_to_json(pipeline.run(street_with_a_bystander(), request=LookRequest(top_k=2)))
    assert len(look["people"]) >= 2
    main, *others = look["people"]
    assert main["background"] is False
    assert main["box"][3] - main["box"][1] > 400  # the tall woman of ccp_0003, not the pasted one
    assert any(p["background"] for p in others)
    flags = [item["background"] for item in look["items"]]
    assert flags == sorted(flags), "foreground rows first, background rows last"
    assert not flags[0] and look["items"][0]["person"] == 0
    assert any(flags), "the bystander's garments are listed, marked as background"


@pytest.mark.parametrize("gender", ["female", "male"])
def test_the_featured_garment_of_a_model_shot_follows_the_gender_asked_for(pipeline, gender):
    look = look_to_json(pipeline.run(catalog_photo(SHORTS_ON_LEGS),
                                     request=LookRequest(top_k=3, gender=gender)))
    assert all(m["gender"] in (gender, "unisex") for m in look["items"][0]["matches"])
