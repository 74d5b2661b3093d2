"""The panel's layout of a real look: a real street photo through the real pipeline."""

from __future__ import annotations

from companion.panel.images import catalog_image_source
from companion.panel.layout import build_layout
from companion.pipeline.look_output import look_to_json
from tests.support.data import STREET, requires_data, street_photo


@requires_data
def test_layout_of_a_real_street_photo(pipeline, small_index):
    data = street_photo("ccp_0001.jpg")
    look = look_to_json(pipeline.run(data, str(STREET / "images" / "ccp_0001.jpg")))
    layout = build_layout(look, None, catalog_image_source(small_index.product))
    assert len(layout["garments"]) == len(look["items"]) >= 2
    assert len(layout["people"]) == len(look["people"]) == 1
    assert sum(len(g["cards"]) for g in layout["garments"]) == sum(
        len(i["matches"]) for i in look["items"])
    for garment in layout["garments"]:
        assert all(0.0 <= v <= 1.0 for v in garment["box"].values())
        assert all(c["image"].startswith("data:image/jpeg;base64,") for c in garment["cards"])
