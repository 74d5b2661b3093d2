"""The shipped garment embedder: an intact file, the preprocessing the runtime needs, and real
behaviour on catalog photos (a crop of a product finds that product, not another kind of garment).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from companion.inference.embedder import DEFAULT_EMBEDDER, Embedder
from companion.inference.manifest import file_sha256
from tests.support.data import CATALOG, requires_data
from training.data.catalog import read_feed

NAME = "garment-embedder"


@pytest.fixture(scope="module")
def embedder(store) -> Embedder:
    return Embedder(store, NAME)


def test_the_onnx_file_matches_its_manifest(store):
    manifest = store.manifest(NAME)
    assert manifest.task == "image-embedding"
    assert file_sha256(manifest.path) == manifest.sha256
    assert manifest.path.stat().st_size == manifest.size_bytes
    store.get(NAME)  # loads: declared input/output names and shapes agree with the graph


def test_the_manifest_tells_the_runtime_how_to_preprocess(store):
    manifest = store.manifest(NAME)
    preprocessing = {k: manifest.extra[k] for k in ("input_size", "resize", "fill")}
    assert preprocessing == {"input_size": 160, "resize": "letterbox", "fill": [255, 255, 255]}
    spec = manifest.input
    assert (spec.layout, spec.value_range, spec.shape[1:]) == ("NCHW", (0, 1), [3, 160, 160])


def test_it_is_the_default_embedder_of_the_pipeline_and_index_builds():
    assert DEFAULT_EMBEDDER == NAME


def product_photos(article_types: tuple[str, ...], per_type: int,
                   colour: str | None = None) -> dict[str, list]:
    """The first large (168x224) index photos of each article type, as RGB arrays."""
    photos: dict[str, list] = {t: [] for t in article_types}
    for row in read_feed(CATALOG).rows_of("index"):
        kind = row["article_type"]
        if kind not in photos or len(photos[kind]) >= per_type:
            continue
        if colour is not None and row["base_colour"] != colour:
            continue
        with Image.open(CATALOG / row["image_link"]) as img:
            if img.height >= 200:
                photos[kind].append(np.asarray(img.convert("RGB")))
    return photos


def tighter_crop(photo: np.ndarray) -> np.ndarray:
    """A crop as a detector might cut it: 15% off every side, and off-centre."""
    h, w = photo.shape[:2]
    return photo[int(0.12 * h) : int(0.88 * h), int(0.18 * w) : int(0.9 * w)]


@requires_data
def test_a_crop_of_a_product_is_nearer_to_it_than_to_any_other_kind_of_garment(embedder):
    photos = product_photos(("Tshirts", "Jeans", "Casual Shoes", "Handbags", "Dresses"), 4)
    kinds = [k for k, items in photos.items() for _ in items]
    products = embedder.predict([p for items in photos.values() for p in items])
    crops = embedder.predict([tighter_crop(p) for items in photos.values() for p in items])

    similarity = crops @ products.T
    for i, kind in enumerate(kinds):
        other_kind = [j for j, k in enumerate(kinds) if k != kind]
        assert similarity[i, i] > similarity[i, other_kind].max(), f"crop {i} ({kind})"


@requires_data
def test_embeddings_are_unit_vectors(embedder):
    photos = product_photos(("Shirts",), 2)["Shirts"]
    vectors = embedder.predict(photos)
    assert vectors.dtype == np.float32 and vectors.shape == (2, embedder.ndim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


@requires_data
def test_among_garments_of_one_kind_colour_decides_which_are_nearest(embedder):
    colours = ("Black", "White", "Red", "Blue")
    photos = {c: product_photos(("Tshirts",), 3, colour=c)["Tshirts"] for c in colours}
    labels = [c for c in colours for _ in photos[c]]
    vectors = embedder.predict([p for c in colours for p in photos[c]])

    similarity = vectors @ vectors.T
    # per colour, over its three photos: one photo may sit nearer a same-brand shirt of another
    # colour worn by the same model in the same pose, the feed's colour groups being broad
    # ("Blue" holds a purple jersey here), but a colour's photos as a group are nearer each other
    for colour in colours:
        margins = []
        for i in (i for i, c in enumerate(labels) if c == colour):
            same = [j for j, c in enumerate(labels) if c == colour and j != i]
            other = [j for j, c in enumerate(labels) if c != colour]
            margins.append(similarity[i, same].mean() - similarity[i, other].mean())
        assert np.mean(margins) > 0.05, f"{colour}: {np.round(margins, 3)}"
