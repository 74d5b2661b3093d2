"""training.evaluate.retrieval: the hit rules the model card's numbers rest on, and a real smoke run
of both shipped embedders on a slice of the catalog and the street test photos."""

from __future__ import annotations

import json

import numpy as np
import pytest

from companion.pipeline.consensus import ConsensusWeights
from tests.support.data import DATA, requires_data, run_module
from training.evaluate.retrieval import (
    CLASS_TYPES,
    Products,
    colour_name_disagreement,
    first_result_misses,
    garment_lab,
    gender_match,
    product_to_product,
    street_to_product,
)


def products(rows: list[tuple[str, str, str, str]]) -> Products:
    """(split, gender, articleType, baseColour) rows; every product 168x224 and topwear."""
    split, gender, article, colour = (np.array(c) for c in zip(*rows, strict=True))
    return Products(ids=[str(i) for i in range(len(rows))], images=[], gender=gender,
                    article=article, colour=colour, category=np.array(["topwear"] * len(rows)),
                    split=split, hires=np.ones(len(rows), bool))


def unit(*angles: float) -> np.ndarray:
    """Unit vectors in the plane: nearer angles are more similar."""
    return np.array([[np.cos(a), np.sin(a)] for a in angles])


def test_unisex_fits_men_and_women_but_men_and_women_never_fit_each_other():
    fits = gender_match(np.array(["male", "female", "unisex"]),
                        np.array(["male", "female", "unisex"]))
    assert fits.tolist() == [[True, False, True], [False, True, True], [True, True, True]]


def test_a_hit_needs_the_gender_and_type_and_for_the_colour_rule_also_the_colour():
    p = products([
        ("query", "male", "Tshirts", "Navy Blue"),
        ("index", "female", "Tshirts", "Navy Blue"),  # nearest: wrong gender
        ("index", "male", "Tshirts", "Black"),  # next: right type, wrong colour
        ("index", "unisex", "Tshirts", "Navy Blue"),  # third: a hit by both rules
    ])
    emb = unit(0.0, 0.1, 0.2, 0.3)
    result = product_to_product(p, emb, ConsensusWeights())
    assert result["queries"] == 1 and result["gallery"] == 3
    assert result["type"]["R@1"] == 0.0 and result["type"]["R@10"] == 1.0
    assert result["type+colour"]["R@1"] == 0.0 and result["type+colour"]["R@10"] == 1.0

    nearer = unit(0.0, 0.3, 0.1, 0.2)  # the black t-shirt first
    result = product_to_product(p, nearer, ConsensusWeights())
    assert result["type"]["R@1"] == 1.0 and result["type+colour"]["R@1"] == 0.0


def test_a_street_box_scores_the_share_of_its_ten_results_that_fit_its_class():
    assert "Tshirts" in CLASS_TYPES["shirt"] and "Dresses" not in CLASS_TYPES["shirt"]
    rows = [("index", "female", "Tshirts", "Black")] * 7 + [("index", "female", "Dresses",
                                                             "Black")] * 5
    p = products(rows)
    box = unit(0.0)
    # the seven t-shirts are nearer than the dresses: seven of the ten results fit
    emb = unit(*[0.01 * i for i in range(7)], *[0.5 + 0.01 * i for i in range(5)])
    shares = street_to_product(p, [("shirt", None)], box, emb, ConsensusWeights())["shirt"]
    assert shares["boxes"] == 1
    assert shares["open"] == pytest.approx(0.7) and shares["in category"] == pytest.approx(0.7)


def test_the_misses_of_first_results_are_counted_by_what_is_wrong_and_their_confusions_paired():
    p = products([
        ("query", "female", "Tops", "Black"),  # first result: a t-shirt (type wrong)
        ("query", "female", "Tshirts", "Navy Blue"),  # first result: a top (type wrong)
        ("query", "male", "Tshirts", "Black"),  # first result: a grey t-shirt (colour wrong)
        ("query", "male", "Tshirts", "Grey"),  # first result: a woman's grey t-shirt
        ("index", "female", "Tshirts", "Black"),
        ("index", "female", "Tops", "Navy Blue"),
        ("index", "male", "Tshirts", "Grey"),
        ("index", "female", "Tshirts", "Grey"),
    ])
    emb = unit(0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0)
    misses = product_to_product(p, emb, ConsensusWeights())["first result misses"]
    assert misses["queries"] == 4
    assert (misses["gender only"], misses["type only"], misses["gender and type"],
            misses["colour only"]) == (1, 2, 0, 1)
    # Tops→Tshirts and Tshirts→Tops are one confusion, whichever side the query is on
    assert misses["type pairs"] == [["Tops / Tshirts", 2]]
    assert misses["colour pairs"] == [["Black / Grey", 1]]


def test_misses_name_at_most_the_asked_number_of_confusions_most_frequent_first():
    wrong = np.zeros(3, bool)
    misses = first_result_misses(~wrong, wrong, ~wrong, np.array(["Flats", "Heels", "Jeans"]),
                                 np.array(["Heels", "Flats", "Trousers"]), np.array(["Red"] * 3),
                                 np.array(["Red"] * 3), most_common=1)
    assert misses["type only"] == 3 and misses["type pairs"] == [["Flats / Heels", 2]]


def test_the_garment_colour_is_the_mean_of_its_pixels_in_cielab_leaving_out_studio_white():
    red_on_white = np.full((40, 40, 3), 255, np.uint8)
    red_on_white[10:30, 10:30] = (255, 0, 0)
    assert garment_lab(red_on_white) == pytest.approx([53.24, 80.09, 67.20], abs=0.1)
    assert garment_lab(np.zeros((8, 8, 3), np.uint8)) == pytest.approx([0, 0, 0], abs=1e-6)
    # an all-white photo has no garment pixels to leave out: white itself
    assert garment_lab(np.full((8, 8, 3), 255, np.uint8)) == pytest.approx([100, 0, 0], abs=0.1)


def test_colour_names_disagree_when_alike_garments_of_one_type_are_named_apart():
    navy, also_navy, red = ((30, 40, 90), (31, 40, 91), (200, 20, 20))

    def photo(rgb: tuple[int, int, int]) -> np.ndarray:
        return np.broadcast_to(np.array(rgb, np.uint8), (20, 20, 3)).copy()

    rows = [("index", "male", "Tshirts", "Navy Blue"), ("index", "male", "Tshirts", "Blue"),
            ("index", "male", "Tshirts", "Red"), ("index", "male", "Jeans", "Navy Blue"),
            ("query", "male", "Tshirts", "Black")]
    p = products(rows)
    p.images = [photo(navy), photo(also_navy), photo(red), photo(navy), photo(navy)]
    # one close pair of one type (the two navy t-shirts); the jeans and the query don't count
    assert colour_name_disagreement(p) == {"delta E": 3.0, "pairs": 1, "names differ": 1.0,
                                           "most frequent": [["Blue / Navy Blue", 1]]}
    p.colour[1] = "Navy Blue"
    assert colour_name_disagreement(p)["names differ"] == 0.0


@pytest.mark.slow
@requires_data
def test_a_smoke_run_reports_both_embedders_side_by_side(tmp_path):
    out = tmp_path / "eval.json"
    log = run_module("training.evaluate.retrieval", "--data", str(DATA), "--limit", "40", "--json",
                     str(out), timeout=600)
    assert "nanodet-embedder" in log and "garment-embedder" in log and "ETA" in log
    assert "first results that miss" in log and "catalog colour names: of " in log
    results = json.loads(out.read_text())
    assert [r["embedder"] for r in results] == ["nanodet-embedder", "garment-embedder"]
    for r in results:
        p2p = r["product_to_product"]
        assert (p2p["queries"], p2p["gallery"]) == (40, 40)
        assert 0 <= p2p["type+colour"]["R@1"] <= p2p["type"]["R@1"] <= p2p["type"]["R@10"] <= 1
        misses = p2p["first result misses"]
        missed = sum(misses[k] for k in ("gender only", "type only", "gender and type"))
        assert missed == round(40 * (1 - p2p["type"]["R@1"]))
        assert r["street_to_product"], "no street box of the first 40 test photos was scored"
        for cls, shares in r["street_to_product"].items():
            assert cls in CLASS_TYPES and 0 <= shares["open"] <= 1
    # the shipped embedder is the better one even on this slice (as on the whole catalog)
    stopgap, ours = (r["product_to_product"]["type+colour"]["R@10"] for r in results)
    assert ours > stopgap
