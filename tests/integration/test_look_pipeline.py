"""The look pipeline on real street photos: people, garments, gender, matches."""

from __future__ import annotations

import json

import numpy as np
import pytest

from companion.inference.movenet import MoveNet
from companion.pipeline.decode import decode_image
from companion.pipeline.imaging import crop, iou
from companion.pipeline.look import LookPipeline, LookRequest
from companion.pipeline.look_output import look_to_json
from companion.pipeline.regions import garment_regions
from companion.types import DecodedImage, Person
from tests.support.data import CATALOG, STREET, requires_data, street_photo
from training.data.street import load_street

pytestmark = requires_data
TEST_PHOTOS = (STREET / "test.txt").read_text().split()[:12] if STREET.is_dir() else []


@pytest.fixture(scope="module")
def movenet(store) -> MoveNet:
    return MoveNet(store)


@pytest.fixture(scope="module")
def labelled():
    """name → the street photo with its labelled person and garment boxes."""
    return {item.name: item for item in load_street(STREET, "test")}


def test_the_person_in_each_street_photo_is_found(movenet, labelled):
    found = 0
    for name in TEST_PHOTOS:
        image = decode_image(street_photo(name))
        people = movenet.predict(image.pixels)
        found += bool(people) and iou(people[0].box, labelled[name].person) >= 0.6
    assert found >= len(TEST_PHOTOS) - 1


def test_keypoint_regions_overlap_the_labelled_garments(movenet, labelled):
    hits = {"topwear": 0, "bottomwear": 0, "footwear": 0}
    totals = dict.fromkeys(hits, 0)
    for name in TEST_PHOTOS:
        image = decode_image(street_photo(name))
        person = movenet.predict(image.pixels)[0]
        regions = {g.category: g.box for g in garment_regions(person, 0, (image.width,
                                                                          image.height))}
        for category in hits:
            for truth in [g.box for g in labelled[name].garments if g.category == category]:
                totals[category] += 1
                hits[category] += category in regions and iou(regions[category], truth) >= 0.3
    for category in hits:
        assert hits[category] >= 0.7 * totals[category], (category, hits, totals)


def test_a_portrait_gets_a_top_but_no_trousers_or_shoes(movenet):
    """Only the upper body shows: no guessing garments whose joints are out of the picture."""
    full = decode_image(street_photo(TEST_PHOTOS[0]))
    upper = full.pixels[: full.pixels.shape[0] * 2 // 5]
    portrait = DecodedImage(upper, upper.shape[1], upper.shape[0])
    people = movenet.predict(portrait.pixels)
    assert people
    categories = {g.category for g in garment_regions(people[0], 0, (portrait.width,
                                                                     portrait.height))}
    assert "footwear" not in categories
    assert "bottomwear" not in categories


def test_a_person_with_no_visible_joints_gets_no_regions():
    hidden = Person(box=(0, 0, 100, 200), score=0.5, keypoints=np.zeros((17, 3), np.float32))
    assert garment_regions(hidden, 0, (100, 200)) == []


def test_a_street_look_finds_garments_with_matches_of_the_right_gender(pipeline):
    look = pipeline.run(street_photo("ccp_0003.jpg"), source="ccp_0003.jpg",
                        request=LookRequest(top_k=4))
    data = look_to_json(look)
    assert data["width"] == 424 and data["height"] == 640
    assert len(data["people"]) == 1
    assert data["people"][0]["gender"]["label"] == "female"
    categories = {item["category"] for item in data["items"]}
    assert {"topwear", "footwear"} <= categories
    for item in data["items"]:
        assert len(item["matches"]) == 4
        assert item["person"] == 0
        assert all(m["category"] == item["category"] for m in item["matches"])
        assert all(m["gender"] in ("female", "unisex") for m in item["matches"])
        x1, y1, x2, y2 = item["box"]
        assert 0 <= x1 < x2 <= 424 and 0 <= y1 < y2 <= 640
    assert set(data["timings_ms"]) >= {"decode", "people", "gender", "embed", "search", "total"}
    json.dumps(data)  # plain JSON all the way down


def test_a_product_photo_without_a_person_is_matched_as_a_whole(pipeline, small_index):
    """A studio shot of a shoe: no person, so the picture is classified and searched."""
    shoe_id = next(
        line.split("\t")[0] for line in (CATALOG / "feed.tsv").read_text().splitlines()[1:]
        if "\tSports Shoes\t" in line and small_index.product(line.split("\t")[0]) is None
    )
    look = pipeline.run((CATALOG / "images" / f"{shoe_id}.jpg").read_bytes())
    assert look.people == []
    assert len(look.items) == 1
    assert look.items[0].garment.category == "footwear"
    assert look.items[0].matches


def test_a_drawn_region_is_searched_on_its_own(pipeline):
    look = pipeline.run(street_photo("ccp_0003.jpg"),
                        request=LookRequest(region=(150.0, 540.0, 320.0, 620.0), top_k=3))
    assert len(look.items) == 1
    item = look.items[0]
    assert item.garment.box == pytest.approx((150.0, 540.0, 320.0, 620.0), abs=1)
    assert item.garment.category in ("footwear", "bottomwear")
    assert len(item.matches) == 3


def test_gender_can_be_overridden(pipeline):
    look = pipeline.run(street_photo("ccp_0003.jpg"), request=LookRequest(gender="male"))
    for item in look.items:
        assert all(m.gender in ("male", "unisex") for m in item.matches)


@pytest.mark.parametrize("region", [(10, 10, 5, 50), (0, 0, 5000, 50), (-3, 0, 50, 50),
                                    (0, 0, 4, 4)])
def test_a_region_outside_the_photo_is_refused(pipeline, region):
    from companion.errors import LookError

    with pytest.raises(LookError) as caught:
        pipeline.run(street_photo("ccp_0003.jpg"), request=LookRequest(region=region))
    assert caught.value.code == "bad_region"


def test_a_crowd_of_twelve_is_mostly_found(pipeline):
    """MoveNet alone sees at most six; CenterNet's extra people get their own pose pass."""
    from PIL import Image

    names = (STREET / "test.txt").read_text().split()[:12]
    tiles = [np.asarray(Image.open(STREET / "images" / n).convert("RGB").resize((200, 300)))
             for n in names]
    grid = np.concatenate([np.concatenate(tiles[row * 6 : row * 6 + 6], axis=1)
                           for row in range(2)], axis=0)
    image = DecodedImage(grid, grid.shape[1], grid.shape[0])
    alone = pipeline.movenet.predict(image.pixels)
    people, garments = pipeline.detect(image)
    assert len(alone) <= 6
    assert len(people) >= 10
    owners = {g.person for g in garments if g.category == "topwear"}
    assert len(owners) >= 10


def test_keypoint_regions_remain_a_working_garment_finder(store, small_index):
    """Without the trained detector (e.g. a build that leaves it out) looks still work."""
    keypoints = LookPipeline(store, small_index, garment_finder="keypoints")
    look = keypoints.run(street_photo("ccp_0003.jpg"), request=LookRequest(top_k=2))
    assert keypoints.detector is None
    assert {"topwear", "footwear"} <= {item.garment.category for item in look.items}
    assert "regions" in look.timings_ms and "garments" not in look.timings_ms


def test_the_trained_detector_is_the_default_garment_finder(pipeline):
    look = pipeline.run(street_photo("ccp_0003.jpg"), request=LookRequest(top_k=2))
    assert pipeline.detector is not None
    assert "garments" in look.timings_ms
    assert {"topwear", "footwear"} <= {item.garment.category for item in look.items}


def _genders(matches) -> set[str]:
    return {m.gender for m in matches}


def test_an_unknown_gender_searches_without_a_gender_filter(pipeline, small_index):
    """A person whose gender nobody could tell gets the products of every gender, the same ones
    as a search with no gender at all; a known gender keeps to its own and unisex."""
    image = decode_image(street_photo("ccp_0003.jpg"))
    top = next(g for g in pipeline.detect(image)[1] if g.category == "topwear")
    vector = pipeline.embedder.predict([crop(image.pixels, top.box)])[0]
    unknown = small_index.search("topwear", vector, 60, "unknown")
    assert [m.id for m in unknown] == [m.id for m in small_index.search("topwear", vector, 60)]
    assert {"female", "male"} <= _genders(unknown)
    assert _genders(small_index.search("topwear", vector, 60, "female")) <= {"female", "unisex"}

    shown = pipeline.matches("topwear", vector, 30, "unknown")
    assert [m.id for m in shown] == [m.id for m in pipeline.matches("topwear", vector, 30, None)]
    assert {"female", "male"} <= _genders(shown)
    assert "male" not in _genders(pipeline.matches("topwear", vector, 30, "female"))
