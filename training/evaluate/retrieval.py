"""Retrieval quality of the shipped embedders, side by side, through the runtime's own Embedder.

Everything goes through `companion.inference.embedder.Embedder` (ONNX Runtime, preprocessing read
from each model's manifest), so the numbers are those of the artefacts under models/, not of a
training checkpoint.

1. Product -> product (catalog/split.tsv): each `query` product searches the `index` products
   (cosine, exhaustive). R@K = share of queries with at least one hit among the first K results.
   Hit rules:
     type         same gender and same articleType
     type+colour  same gender, articleType and baseColour
   Gender: "unisex" matches both male and female (a unisex product is a fair answer to a man's
   or a woman's query, and vice versa); male and female never match each other.
   Also reported per query image resolution (168x224 vs 60x80 sources; see the catalog README).
   Results are the ten a look shows: picked from the nearest products by their feed labels'
   consensus (companion.pipeline.consensus) with the weights in the embedder's manifest;
   "similarity alone" rows are the ten most similar products in similarity order.

2. Street -> product (street/test.txt only): every labelled garment box of the classes below is
   cut out of its photo (the labelled box, no margin) and searches the whole catalog (index +
   query rows: all products a user could be shown). Score = share of the top 10 results whose
   articleType fits the box's class (CLASS_TYPES). "open" searches all products (no category
   to help the embedding); "in category" searches only the products of the pipeline category
   the box would be searched in (companion.catalog.categories), as `shop-the-look look` does.

3. Why the first results miss (product -> product, as a look shows them): how many miss by
   gender, by type, by both, or by colour alone, and the most frequent confusions. And one fact
   about the catalog, not the model: how often two products of one articleType whose garments
   have practically the same mean colour (CIELAB delta E < 3) carry different baseColour names:
   a rough sign of how far the pixels alone can go on the type+colour rule.

Usage:
    .venv/bin/python -m training.evaluate.retrieval                  # both embedders
    .venv/bin/python -m training.evaluate.retrieval --embedders garment-embedder \\
        --json runs/eval/r.json
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from companion.catalog.categories import category_of
from companion.inference.embedder import Embedder
from companion.inference.store import ModelStore
from companion.pipeline.consensus import ConsensusWeights, consensus_order
from companion.pipeline.imaging import crop
from companion.progress import Progress
from training.data import data_root
from training.data.catalog import read_feed
from training.data.street import read_annotations, read_split
from training.log import note, save_report
from training.params import cli, parse
from training.pixels import read_rgb, studio_backdrop

FOOTWEAR = ["Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Flats", "Sandals",
            "Sports Sandals", "Flip Flops"]
# Street box class -> catalog articleTypes that count as a fitting result. Follows the street
# data's labelling: a "shirt" box is any top (t-shirt, blouse, sweater, sweatshirt...), a
# "jacket" box is outerwear (blazer, cardigan, coat, vest...), so knitwear fits both.
CLASS_TYPES: dict[str, set[str]] = {
    "shirt": {"Tshirts", "Shirts", "Tops", "Kurtas", "Kurtis", "Tunics", "Sweatshirts",
              "Sweaters"},
    "jacket": {"Jackets", "Sweatshirts", "Sweaters", "Blazers", "Rain Jacket", "Waistcoat",
               "Nehru Jackets", "Shrug"},
    "pants": {"Jeans", "Trousers", "Track Pants", "Leggings", "Jeggings", "Capris", "Patiala",
              "Salwar", "Churidar", "Tracksuits"},
    "shorts": {"Shorts"},
    "skirt": {"Skirts"},
    "shoe": set(FOOTWEAR),
}
# The pipeline category each street class is searched in ("in category" mode).
CLASS_CATEGORY = {"shirt": "topwear", "jacket": "topwear", "pants": "bottomwear",
                  "shorts": "bottomwear", "skirt": "bottomwear", "shoe": "footwear"}


@dataclass
class Products:
    """Catalog rows with decoded images and the labels the hit rules need."""

    ids: list[str]
    images: list[np.ndarray]
    gender: np.ndarray
    article: np.ndarray
    colour: np.ndarray
    category: np.ndarray
    split: np.ndarray
    hires: np.ndarray  # True for the 168x224 sources, False for 60x80


def load_products(catalog: Path, limit: int | None = None) -> Products:
    """All catalog products, decoded to RGB arrays (about 35 MB of JPEGs, a few seconds);
    `limit`: only the first `limit` rows of each split (smoke runs)."""
    feed = read_feed(catalog)
    split, rows = feed.split, feed.rows
    if limit is not None:
        taken: dict[str, int] = defaultdict(int)
        kept = []
        for row in rows:
            taken[split[row["id"]]] += 1
            if taken[split[row["id"]]] <= limit:
                kept.append(row)
        rows = kept
    images = []
    with Progress(len(rows), "  decoding catalog images") as bar:
        for row in rows:
            images.append(read_rgb(feed.image(row)))
            bar.advance()

    def column(name: str) -> np.ndarray:
        return np.array([r[name] for r in rows])

    return Products(
        ids=[r["id"] for r in rows],
        images=images,
        gender=column("gender"),
        article=column("article_type"),
        colour=column("base_colour"),
        category=np.array([category_of(r["product_type"], r["google_product_category"])
                           for r in rows]),
        split=np.array([split[r["id"]] for r in rows]),
        hires=np.array([im.shape[0] >= 200 for im in images]),
    )


def street_boxes(street: Path, limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """(class, crop) for every labelled box of CLASS_TYPES in the street test split (`limit`:
    of its first `limit` photos only), cut out as the look cuts a garment."""
    names = set(read_split(street, "test")[:limit])
    annotations = read_annotations(street)
    out: list[tuple[str, np.ndarray]] = []
    pixels: dict[str, np.ndarray] = {}
    for box in annotations.boxes:  # in the file's order
        if box.photo not in names or box.cls not in CLASS_TYPES:
            continue
        if box.photo not in pixels:
            pixels[box.photo] = read_rgb(annotations.path(box.photo))
        x, y, w, h = box.bbox
        out.append((box.cls, crop(pixels[box.photo], (x, y, x + w, y + h))))
    return out


def embed(embedder: Embedder, crops: list[np.ndarray], what: str) -> np.ndarray:
    """Embed in chunks with progress, rate and ETA."""
    out, chunk = [], 512
    with Progress(len(crops), f"  {embedder.name}: embedding", unit=what) as bar:
        for start in range(0, len(crops), chunk):
            out.append(embedder.predict(crops[start : start + chunk]))
            bar.advance(len(out[-1]))
    return np.concatenate(out)


def gender_match(query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """[Q,G] bool: same gender, or either side unisex."""
    q, g = query[:, None], gallery[None, :]
    return (q == g) | (q == "unisex") | (g == "unisex")


def nearest(sim: np.ndarray, count: int) -> np.ndarray:
    """[Q,count] gallery positions, most similar first."""
    return np.argsort(-sim, axis=1)[:, :count]


def look_order(sim: np.ndarray, pool: np.ndarray, types: np.ndarray, colours: np.ndarray,
               weights: ConsensusWeights) -> np.ndarray:
    """[Q,10] gallery positions as a look shows them: picked from ``pool`` (`nearest`, at least
    ``weights.pool`` wide) by the consensus of the gallery's feed labels ``types`` and
    ``colours`` (companion.pipeline.consensus)."""
    pool = pool[:, : max(10, weights.pool)]
    if not weights.active:
        return pool[:, :10]
    scores = np.take_along_axis(sim, pool, axis=1)
    return np.stack([row[consensus_order(s, types[row], colours[row], weights, 10)]
                     for row, s in zip(pool, scores, strict=True)])


def product_to_product(p: Products, emb: np.ndarray, weights: ConsensusWeights) -> dict:
    """R@1 and R@10 of query rows against index rows, for both hit rules, overall and per source,
    as a look shows them; also R@1 and R@10 by similarity alone (no consensus)."""
    q = np.flatnonzero(p.split == "query")
    g = np.flatnonzero(p.split == "index")
    sim = emb[q] @ emb[g].T
    pool = nearest(sim, max(10, weights.pool))
    genders_fit = gender_match(p.gender[q], p.gender[g])  # [Q,G], the same for both orders
    result: dict = {"queries": len(q), "gallery": len(g), "type": {}, "type+colour": {}}
    for suffix, order in (("", weights), (" similarity alone", ConsensusWeights())):
        top = look_order(sim, pool, p.article[g], p.colour[g], order)
        same_gender = np.take_along_axis(genders_fit, top, axis=1)
        same_type = p.article[g][top] == p.article[q][:, None]
        same_colour = p.colour[g][top] == p.colour[q][:, None]
        hits = {"type": same_gender & same_type,
                "type+colour": same_gender & same_type & same_colour}
        if not suffix:
            result["first result misses"] = first_result_misses(
                same_gender[:, 0], same_type[:, 0], same_colour[:, 0],
                p.article[q], p.article[g][top[:, 0]], p.colour[q], p.colour[g][top[:, 0]])
        for rule, hit in hits.items():
            result[rule][f"R@1{suffix}"] = float(hit[:, 0].mean())
            result[rule][f"R@10{suffix}"] = float(hit.any(axis=1).mean())
            for name, mask in (("168x224", p.hires[q]), ("60x80", ~p.hires[q])):
                result[rule][f"R@1 {name}{suffix}"] = (float(hit[mask, 0].mean())
                                                        if mask.any() else float("nan"))
    return result


def first_result_misses(same_gender: np.ndarray, same_type: np.ndarray,
                        same_colour: np.ndarray, query_types: np.ndarray,
                        result_types: np.ndarray, query_colours: np.ndarray,
                        result_colours: np.ndarray, most_common: int = 10) -> dict:
    """Why the first results miss: counts by what is wrong, and the most frequent confusions
    (unordered pairs of articleTypes where the type is wrong; of baseColours where only the
    colour is)."""
    colour_only = same_gender & same_type & ~same_colour
    return {"queries": len(same_gender),
            "gender only": int((~same_gender & same_type).sum()),
            "type only": int((same_gender & ~same_type).sum()),
            "gender and type": int((~same_gender & ~same_type).sum()),
            "colour only": int(colour_only.sum()),
            "type pairs": frequent_pairs(query_types[~same_type], result_types[~same_type],
                                         most_common),
            "colour pairs": frequent_pairs(query_colours[colour_only],
                                           result_colours[colour_only], most_common)}


def frequent_pairs(ours: np.ndarray, theirs: np.ndarray, most_common: int) -> list:
    """[["A / B", count], ...] of unordered label pairs, most frequent first."""
    counted = Counter(" / ".join(sorted(pair)) for pair in zip(ours, theirs, strict=True))
    return [[pair, n] for pair, n in counted.most_common(most_common)]


def pairs_text(pairs: list) -> str:
    """"A / B 12, C / D 7" for a report line."""
    return ", ".join(f"{pair} {n}" for pair, n in pairs)


def garment_lab(image: np.ndarray) -> np.ndarray:
    """Mean CIELAB colour (D65) of a studio photo's garment: every pixel but the backdrop (all
    of them if the backdrop fills the photo)."""
    garment = image[~studio_backdrop(image)]
    if len(garment) == 0:
        garment = image.reshape(-1, 3)
    c = garment.astype(np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                             [0.0193, 0.1192, 0.9505]]).T
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])],
                   axis=1)
    return lab.mean(axis=0)


def colour_name_disagreement(p: Products, within: float = 3.0,
                             most_common: int = 10) -> dict:
    """How consistently the feed names colours, whatever the model: of the pairs of index
    products with the same articleType whose garments' mean colours lie within ``within``
    (CIELAB delta E) of each other, the share whose baseColour names differ. A mean hides
    prints and trims, so this is a rough sign, not a bound."""
    g = np.flatnonzero(p.split == "index")
    lab = np.array([garment_lab(p.images[i]) for i in g])
    ours, theirs = [], []
    for article in np.unique(p.article[g]):
        members = np.flatnonzero(p.article[g] == article)
        first, second = np.triu_indices(len(members), 1)
        close = np.linalg.norm(lab[members[first]] - lab[members[second]], axis=1) < within
        names = p.colour[g][members]
        ours.append(names[first][close])
        theirs.append(names[second][close])
    ours, theirs = np.concatenate([[], *ours]), np.concatenate([[], *theirs])
    differ = ours != theirs
    return {"delta E": within, "pairs": len(ours),
            "names differ": float(differ.mean()) if len(ours) else float("nan"),
            "most frequent": frequent_pairs(ours[differ], theirs[differ], most_common)}


def street_to_product(p: Products, boxes: list, emb_boxes: np.ndarray, emb: np.ndarray,
                      weights: ConsensusWeights) -> dict:
    """Per class: mean share of the top 10 whose articleType fits, open and in category, as a
    look shows them and by similarity alone."""
    sims = emb_boxes @ emb.T
    everything = np.arange(len(p.ids))
    shares: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for (cls, _), sim in zip(boxes, sims, strict=True):
        fits = np.isin(p.article, list(CLASS_TYPES[cls]))
        in_category = np.flatnonzero(p.category == CLASS_CATEGORY[cls])
        for mode, gallery in (("open", everything), ("in category", in_category)):
            scores = sim[None, gallery]
            pool = nearest(scores, max(10, weights.pool))  # sorted once for both orders
            for suffix, order in (("", weights), (", similarity alone", ConsensusWeights())):
                top = look_order(scores, pool, p.article[gallery], p.colour[gallery], order)[0]
                shares[cls][mode + suffix].append(fits[gallery[top]].mean())
    return {cls: {"boxes": len(v["open"]), **{m: float(np.mean(s)) for m, s in v.items()}}
            for cls, v in shares.items()}


def speed(embedder: Embedder, crops: list[np.ndarray], repeats: int = 3) -> float:
    """Best-of-N milliseconds per crop for a batch of crops (preprocessing included)."""
    embedder.predict(crops[:8])  # warm-up: session creation, allocations
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        embedder.predict(crops)
        best = min(best, (time.perf_counter() - started) * 1000 / len(crops))
    return best


def evaluate(name: str, store: ModelStore, p: Products, boxes: list) -> dict:
    """All metrics for one embedder."""
    embedder = Embedder(store, name)
    manifest = embedder.manifest
    emb = embed(embedder, p.images, "catalog images")
    emb_boxes = embed(embedder, [c for _, c in boxes], "street boxes")
    weights = ConsensusWeights.of(manifest.extra)
    return {
        "embedder": name,
        "sha256": manifest.sha256,
        "bytes": manifest.size_bytes,
        "dim": int(emb.shape[1]),
        "input_size": manifest.extra.get("input_size", 224),
        "ms_per_crop": speed(embedder, [c for _, c in boxes][:128]),
        "consensus": asdict(weights),
        "product_to_product": product_to_product(p, emb, weights),
        "street_to_product": street_to_product(p, boxes, emb_boxes, emb, weights),
    }


def table(results: list[dict]) -> str:
    """The side-by-side report, one column per embedder."""
    names = [r["embedder"] for r in results]
    lines = [f"{'metric':<44}" + "".join(f"{n:>20}" for n in names)]

    def row(label: str, values: list) -> None:
        cells = "".join(f"{v:>20.3f}" if isinstance(v, float) else f"{v!s:>20}" for v in values)
        lines.append(f"{label:<44}{cells}")

    row("size (MB)", [round(r["bytes"] / 1e6, 1) for r in results])
    row("input size / dims", [f"{r['input_size']} / {r['dim']}" for r in results])
    row("ms per crop (2 CPU threads, incl. resize)", [r["ms_per_crop"] for r in results])
    first = results[0]["product_to_product"]
    lines.append(f"product -> product ({first['queries']} queries vs {first['gallery']} index)")
    for rule in ("type", "type+colour"):
        for k in ("R@1", "R@10", "R@1 168x224", "R@1 60x80", "R@1 similarity alone",
                  "R@10 similarity alone", "R@1 168x224 similarity alone",
                  "R@1 60x80 similarity alone"):
            row(f"  {rule:<12} {k}", [r["product_to_product"][rule][k] for r in results])
    for r in results:
        m = r["product_to_product"]["first result misses"]
        lines.append(f"  {r['embedder']}: first results that miss, of {m['queries']}: "
                     f"gender only {m['gender only']}, type only {m['type only']}, "
                     f"gender and type {m['gender and type']}; right type, other colour "
                     f"{m['colour only']}")
        for what in ("type pairs", "colour pairs"):
            lines.append(f"    most frequent {what}: {pairs_text(m[what])}")
    lines.append("street -> product: share of the top 10 with a fitting articleType")
    for cls in CLASS_TYPES:
        s = [r["street_to_product"].get(cls) for r in results]
        if s[0] is None:
            continue
        row(f"  {cls:<8} ({s[0]['boxes']} boxes) open", [x["open"] for x in s])
        row(f"  {cls:<8} in category", [x["in category"] for x in s])
        for mode in ("open", "in category"):
            row(f"  {cls:<8} {mode}, similarity alone",
                [x[f"{mode}, similarity alone"] for x in s])
    return "\n".join(lines)


@dataclass(kw_only=True)
class RetrievalParams:
    """Which embedders to compare, on which data."""

    data: Path = field(default=data_root(), metadata=cli(
        f"folder with catalog/ and street/ (default: {data_root()})"))
    embedders: str = field(default="nanodet-embedder,garment-embedder", metadata=cli(
        "comma-separated model names under models/ (first = baseline column)"))
    json: Path | None = field(default=None, metadata=cli("also write the results here"))
    threads: int = field(default=2, metadata=cli("ONNX Runtime threads"))
    limit: int | None = field(default=None, metadata=cli(
        "smoke runs: only the first N products of each split and the boxes of the first N "
        "street test photos (numbers not comparable)"))
    models: Path | None = field(default=None, metadata=cli(
        "model folder to read the embedders from (default: the shipped models/)"))


def main(argv: list[str] | None = None) -> int:
    params = parse(RetrievalParams, argv, description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    data = params.data.resolve()
    note(f"loading catalog from {data / 'catalog'}")
    products = load_products(data / "catalog", params.limit)
    boxes = street_boxes(data / "street", params.limit)
    note(f"{len(products.ids)} products, {len(boxes)} street test boxes")
    store = ModelStore(params.models, threads=params.threads)
    results = [evaluate(n.strip(), store, products, boxes) for n in params.embedders.split(",")]
    print(table(results))
    names = colour_name_disagreement(products)
    print(f"catalog colour names: of {names['pairs']} pairs of index products with one "
          f"articleType whose garments' mean colours lie within delta E {names['delta E']:g}, "
          f"{names['names differ']:.1%} have different baseColour names, most often "
          f"{pairs_text(names['most frequent'])}")
    if params.json:
        save_report(params.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
