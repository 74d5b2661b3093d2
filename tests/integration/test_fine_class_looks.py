"""Garments by name through the real look: a street photo's rows say skirt, jacket, shoes, and
a named garment's matches start with the catalog's products of that class; a product photo keeps
its nearest products' order."""

from __future__ import annotations

from companion.pipeline.decode import decode_image
from companion.pipeline.look import LookRequest
from companion.pipeline.look_output import look_to_json
from tests.support.data import CATALOG, requires_data, street_photo

pytestmark = requires_data


def rows_of_main_person(pipeline, name: str) -> list[dict]:
    # everyone's products: most of the small index's skirts are girls' (its first eight per type)
    look = pipeline.run(street_photo(name), name,
                        LookRequest(top_k=5, gender="all", age_group="all"))
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


def test_a_product_photo_keeps_the_nearest_products_order_whatever_its_name(pipeline):
    # A packshot is in the catalog's own style, so its nearest products are the best guide: the
    # embedder names these shorts "pants" (0.67), and listing the catalog's pants first would
    # push the nearest shorts out of the first five.
    photo = (CATALOG / "images" / "2579.jpg").read_bytes()  # Shorts, a query-split packshot
    look = pipeline.run(photo, "2579", LookRequest(top_k=5, age_group="all"))
    item = look.items[0]
    assert not look.people and item.garment.category == "bottomwear"
    vector = pipeline.embedder.embed([decode_image(photo).pixels]).vectors[0]
    nearest = pipeline.matches("bottomwear", vector, 5, None, "all")
    named = pipeline.matches("bottomwear", vector, 5, None, "all", "pants", 0.9)
    assert [m.id for m in item.matches] == [m.id for m in nearest]
    assert "Shorts" in [m.article_type for m in item.matches[:3]]
    assert "Shorts" not in [m.article_type for m in named], "names would reorder this photo"
