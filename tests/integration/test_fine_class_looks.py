"""Garments by name through the real look: a street photo's rows say skirt, jacket, shoes, and
a named garment's matches start with the catalog's products of that class."""

from __future__ import annotations

from companion.pipeline.look import LookRequest
from companion.pipeline.look_output import look_to_json
from tests.support.data import requires_data, street_photo

pytestmark = requires_data


def rows_of_main_person(pipeline, name: str) -> list[dict]:
    look = pipeline.run(street_photo(name), name, LookRequest(top_k=5, gender="all"))
    return [item for item in look_to_json(look)["items"] if item["person"] == 0]


def test_the_index_knows_which_of_its_article_types_are_which_class(small_index):
    table = small_index.class_types
    assert "Skirts" in table["skirt"]
    assert {"Jeans", "Trousers"} <= table["pants"]
    assert "Skirts" not in table["pants"] and "Jeans" not in table["skirt"]
    assert {"Jackets", "Blazers"} <= table["jacket"]
    assert {"Heels", "Casual Shoes", "Sports Shoes"} <= table["shoe"]


def test_a_skirt_is_called_a_skirt_and_its_matches_start_with_skirts(pipeline, small_index):
    rows = rows_of_main_person(pipeline, "ccp_0079.jpg")  # a top, a skirt, shoes, a bag
    names = {row["category"]: row["class"] for row in rows}
    assert names["bottomwear"] == "skirt"
    assert names["topwear"] == "shirt"
    assert names["footwear"] == "shoes"
    skirt = next(row for row in rows if row["class"] == "skirt")
    assert 0.5 < skirt["class_score"] <= 1.0
    first = [m for m in skirt["matches"][:3]]
    fitting = small_index.class_types["skirt"]
    assert all(small_index.product(m["id"])["article_type"] in fitting for m in first), first


def test_a_jacket_is_called_a_jacket_and_its_matches_start_with_outerwear(pipeline, small_index):
    rows = rows_of_main_person(pipeline, "ccp_0035.jpg")  # a jacket over a shirt, trousers
    jacket = next(row for row in rows if row["category"] == "topwear")
    assert jacket["class"] == "jacket"
    fitting = small_index.class_types["jacket"]
    assert small_index.product(jacket["matches"][0]["id"])["article_type"] in fitting
