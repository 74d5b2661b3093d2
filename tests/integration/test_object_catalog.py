"""The catalog indexes objects, not photos: a model shot by its own garment, a packshot whole."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from companion.catalog.build import build_index
from companion.catalog.index import CatalogIndex
from companion.catalog.views import WHOLE_PHOTO_SHARE, ProductViews, embed_views, street_classes
from companion.inference.embedder import PHOTO_WEIGHT, Embedder
from companion.pipeline.imaging import box_area
from companion.pipeline.look import LookPipeline, LookRequest
from tests.support.data import CATALOG, requires_data

pytestmark = requires_data
TRACK_PANTS_WORN = "2113"  # a man in a grey top and brown track pants, head cut off
SWEATSHIRT_WORN = "1609"  # a woman in a pink sweatshirt and dark trousers
BACKPACK = "1646"  # a packshot


def pixels_of(product_id: str) -> np.ndarray:
    with Image.open(CATALOG / "images" / f"{product_id}.jpg") as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def views(store) -> ProductViews:
    return ProductViews(store)


def test_a_model_shot_is_indexed_by_the_crop_of_its_own_garment(views):
    pants = views.view(pixels_of(TRACK_PANTS_WORN), "bottomwear")
    top = views.view(pixels_of(SWEATSHIRT_WORN), "topwear")
    for view, photo in ((pants, TRACK_PANTS_WORN), (top, SWEATSHIRT_WORN)):
        height, width = pixels_of(photo).shape[:2]
        assert view.worn and view.crop is not None
        assert box_area(view.crop) < WHOLE_PHOTO_SHARE * width * height
        assert view.pixels.shape[:2] == (round(view.crop[3]) - int(view.crop[1]),
                                         round(view.crop[2]) - int(view.crop[0]))
    # The trousers' box reaches the lower half of the photo, the sweatshirt's the upper half.
    assert pants.crop[3] > 0.6 * pixels_of(TRACK_PANTS_WORN).shape[0]
    assert top.crop[1] < 0.4 * pixels_of(SWEATSHIRT_WORN).shape[0]


def test_a_packshot_is_indexed_whole(views):
    view = views.view(pixels_of(BACKPACK), "bag")
    assert view.crop is None and not view.worn
    assert view.pixels.shape == pixels_of(BACKPACK).shape


def test_a_worn_product_is_embedded_by_its_garment_and_its_photo_together(views, store):
    embedder = Embedder(store)
    worn = views.view(pixels_of(SWEATSHIRT_WORN), "topwear")
    packshot = views.view(pixels_of(BACKPACK), "bag")
    embedded = embed_views(embedder, [worn, packshot])
    combined, whole_bag = embedded.vectors
    crop_alone, photo_alone, bag_alone = embedder.predict(
        [worn.pixels, worn.photo, packshot.photo])
    # What the index keeps of each: the street class of the crop, and of the packshot.
    assert street_classes(embedded) == ["shirt", "bag"]
    assert np.linalg.norm(combined) == pytest.approx(1.0, abs=1e-5)
    # Nearer to each of its two views than they are to each other: it holds both.
    assert combined @ crop_alone > crop_alone @ photo_alone
    assert combined @ photo_alone > crop_alone @ photo_alone
    assert whole_bag == pytest.approx(bag_alone, abs=1e-5)


def test_the_crop_box_is_kept_with_the_product_and_comes_back_with_its_matches(store,
                                                                                tmp_path):
    ids = {TRACK_PANTS_WORN, SWEATSHIRT_WORN, BACKPACK}
    embedder = Embedder(store)
    out = tmp_path / "objects"
    build_index(CATALOG / "feed.tsv", out, embedder, include=lambda p: p.id in ids,
                show_progress=False, views=ProductViews(store))
    index = CatalogIndex(out)
    crops = {}
    for category in index.categories:
        for match in index.search(category, embedder.predict([pixels_of(BACKPACK)])[0], 5):
            crops[match.id] = match.crop
    assert set(crops) == ids
    assert crops[BACKPACK] is None
    assert crops[TRACK_PANTS_WORN] is not None and crops[SWEATSHIRT_WORN] is not None
    product = index.product(TRACK_PANTS_WORN)
    assert product["worn"] == 1


@pytest.mark.parametrize("index_by", ["garment", "photo"])
def test_a_studio_shot_asks_the_way_its_catalog_indexes_a_worn_product(index_by, store, tmp_path):
    # By garment the index holds a worn product's crop and photo (the photo weighed as the
    # manifest says), by photo its photo alone; the look's featured garment asks the same way,
    # so the product's own model shot finds itself at a similarity of one.
    ids = {TRACK_PANTS_WORN, SWEATSHIRT_WORN, BACKPACK}
    out = tmp_path / index_by
    build_index(CATALOG / "feed.tsv", out, Embedder(store), include=lambda p: p.id in ids,
                show_progress=False, views=ProductViews(store) if index_by == "garment" else None)
    index = CatalogIndex(out)
    assert index.manifest.index_by == index_by
    if index_by == "garment":
        assert index.manifest.photo_weight == PHOTO_WEIGHT
    look = LookPipeline(store, index).run(
        (CATALOG / "images" / f"{SWEATSHIRT_WORN}.jpg").read_bytes(), "",
        LookRequest(top_k=3, gender="all"))
    featured = look.items[0]
    assert featured.garment.category == "topwear"
    assert featured.matches[0].id == SWEATSHIRT_WORN
    assert featured.matches[0].score == pytest.approx(1.0, abs=2e-3)
