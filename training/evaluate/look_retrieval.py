"""Retrieval as a shopper gets it: each held-out query product's photo goes through the whole look
(``shop-the-look look --json``), and its matches are scored in the order the look shows them.

For every query row of catalog/split.tsv, the look's first item of the product's own category
(companion.catalog.categories) is "the item"; a look with no such item misses.

    found             the look has an item of the product's category
    type R@1          the item's first match has the query's articleType and a fitting gender
    type+colour R@k   ... and the same baseColour, within the item's first k matches

Gender fits as in training.evaluate.retrieval: same, or either side unisex. Every rate counts
over all queries of its row (a query whose garment was not found is a miss).

Queries are grouped by what the photo shows: "worn" when MoveNet finds a person in it (its
shipped threshold), else "packshot"; and by source size (168×224 or 60×80, see the catalog's
README). Next to the look-path numbers, "embedder only" embeds the whole query photo and
searches all index products (training.evaluate.retrieval's product → product rule), which is
what the product-photo case of a look does and hides the worn case.

Street fit (``--street``): every labelled garment box of the street test split searches the
index the looks search, in its category, as a look does (consensus order, no gender filter);
the score per class is the share of the top 10 whose articleType fits the class
(training.evaluate.retrieval.CLASS_TYPES). It shows what an object-level index changes for
street photos, which the query rows above do not contain.

Usage:
    .venv/bin/python -m training.evaluate.look_retrieval                        # runs the looks
    .venv/bin/python -m training.evaluate.look_retrieval --looks runs/eval/looks.jsonl
    .venv/bin/python -m training.evaluate.look_retrieval --index index/demo --save runs/eval/l.jsonl

Choosing a setting (``--tuning``): the same tables for the monitoring slice, the 518 index rows
the trained models never saw (training.data.catalog.Feed.monitoring_rows), searching an index
built without them, so the query rows only ever measure:
    .venv/bin/python -m training.evaluate.look_retrieval --write-tuning-split runs/tune/split.tsv
    .venv/bin/shop-the-look index build ../shared/data/catalog/feed.tsv \
        --split runs/tune/split.tsv --out runs/tune/index
    .venv/bin/python -m training.evaluate.look_retrieval --tuning --index runs/tune/index

``--looks`` scores a saved ``look --json --top-k 10 --age-group all`` run of the query photos
(one line per photo, any order); without it the looks run now, in one ``shop-the-look look``
process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from companion.catalog.categories import category_of
from companion.inference.embedder import DEFAULT_EMBEDDER, Embedder
from companion.inference.movenet import MoveNet
from companion.inference.store import ModelStore
from companion.pipeline.consensus import ConsensusWeights
from companion.progress import Progress
from training.data import data_root
from training.data.catalog import Feed, read_feed
from training.evaluate.retrieval import (
    CLASS_CATEGORY,
    CLASS_TYPES,
    embed,
    gender_match,
    look_order,
    nearest,
    street_boxes,
)
from training.log import note, save_report
from training.params import cli, parse
from training.paths import REPO

TOP_K = 10
GROUPS = ("168×224 packshot", "168×224 worn", "60×80 packshot", "60×80 worn", "all")
COLUMNS = ("n", "found", "type R@1", "type+colour R@1", "type+colour R@10")


@dataclass(frozen=True)
class Query:
    """One held-out product: its labels, the group its photo falls in, its photo."""

    id: str
    path: Path
    gender: str
    article: str
    colour: str
    category: str
    group: str


@dataclass
class Hits:
    """Per query: was the item found, and which of its first TOP_K matches hit each rule."""

    found: np.ndarray  # [Q] bool
    type: np.ndarray  # [Q, TOP_K] bool
    type_colour: np.ndarray  # [Q, TOP_K] bool


def fits_gender(query: str, product: str) -> bool:
    return bool(gender_match(np.array([query]), np.array([product]))[0, 0])


def queries(feed: Feed, movenet: MoveNet, limit: int | None = None,
            tuning: bool = False) -> list[Query]:
    """The query rows (with ``tuning``, the monitoring slice's; the first ``limit``), each put
    in its group (MoveNet reads every photo once)."""
    rows = (feed.monitoring_rows() if tuning else feed.rows_of("query"))[:limit]
    out = []
    with Progress(len(rows), "  grouping query photos", unit="photos") as bar:
        for row in rows:
            path = feed.image(row)
            pixels = _pixels(path)
            size = "168×224" if pixels.shape[0] >= 200 else "60×80"
            shows = "worn" if movenet.predict(pixels) else "packshot"
            out.append(Query(row["id"], path, row["gender"], row["article_type"],
                             row["base_colour"],
                             category_of(row["product_type"], row["google_product_category"]),
                             f"{size} {shows}"))
            bar.advance()
    return out


def write_tuning_split(catalog: Path, out: Path) -> None:
    """split.tsv with the monitoring slice as 'tuning' (an index built from it leaves them out)
    and every other row as it was."""
    feed = read_feed(catalog)
    tuning = {r["id"] for r in feed.monitoring_rows()}
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["id\tsplit"] + [f"{product}\t{'tuning' if product in tuning else split}"
                             for product, split in feed.split.items()]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    note(f"wrote {out}: {len(tuning)} monitoring rows as 'tuning'; build the index with "
         f"`shop-the-look index build {catalog / 'feed.tsv'} --split {out} --out DIR`")


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def run_looks(paths: list[Path], index: Path | None, save: Path) -> None:
    """``shop-the-look look --json --top-k 10`` over every photo, as one process, into ``save``."""
    # Everyone's products: the query rows include kids' products, which an adult's look (the
    # default) would not be shown.
    command = [sys.executable, "-m", "companion.cli", "look", "--json", "--top-k", str(TOP_K),
               "--age-group", "all"]
    if index is not None:
        command += ["--index", str(index)]
    save.parent.mkdir(parents=True, exist_ok=True)
    note(f"running {len(paths)} looks into {save}")
    with save.open("w") as out:
        subprocess.run([*command, *map(str, paths)], stdout=out, check=False, cwd=REPO)


def read_looks(path: Path) -> dict[str, dict]:
    """Saved ``look --json`` lines by photo file name."""
    looks = {}
    for line in path.read_text().splitlines():
        if line.strip():
            look = json.loads(line)
            looks[Path(look["image"]).name] = look
    return looks


def look_hits(qs: list[Query], looks: dict[str, dict], products: dict[str, dict]) -> Hits:
    """Scores each query's look: its first item of the product's category, matches in order."""
    found = np.zeros(len(qs), bool)
    type_hit = np.zeros((len(qs), TOP_K), bool)
    colour_hit = np.zeros((len(qs), TOP_K), bool)
    for i, q in enumerate(qs):
        look = looks.get(q.path.name, {})
        item = next((it for it in look.get("items", []) if it["category"] == q.category), None)
        if item is None:
            continue
        found[i] = True
        for k, match in enumerate(item["matches"][:TOP_K]):
            product = products.get(match["id"])
            if product is None:
                continue
            same_type = (product["article_type"] == q.article
                         and fits_gender(q.gender, product["gender"]))
            type_hit[i, k] = same_type
            colour_hit[i, k] = same_type and product["base_colour"] == q.colour
    return Hits(found, type_hit, colour_hit)


def embedder_hits(qs: list[Query], feed: Feed, store: ModelStore) -> Hits:
    """The whole query photo against all index products but the queries (no look, no category,
    no gender filter; consensus order as a look shows it)."""
    embedder = Embedder(store, DEFAULT_EMBEDDER)
    asked = {q.id for q in qs}
    gallery = [r for r in feed.rows_of("index") if r["id"] not in asked]

    q_emb = embed(embedder, [_pixels(q.path) for q in qs], "queries")
    g_emb = embed(embedder, [_pixels(feed.image(r)) for r in gallery], "index products")
    weights = ConsensusWeights.of(embedder.manifest.extra)
    sim = q_emb @ g_emb.T
    articles = np.array([r["article_type"] for r in gallery])
    colours = np.array([r["base_colour"] for r in gallery])
    top = look_order(sim, nearest(sim, max(TOP_K, weights.pool)), articles, colours, weights)
    genders = gender_match(np.array([q.gender for q in qs]),
                           np.array([r["gender"] for r in gallery]))
    same_type = (np.take_along_axis(genders, top, axis=1)
                 & (articles[top] == np.array([q.article for q in qs])[:, None]))
    same_colour = colours[top] == np.array([q.colour for q in qs])[:, None]
    return Hits(np.ones(len(qs), bool), same_type, same_type & same_colour)


def table_rows(qs: list[Query], hits: Hits) -> dict[str, dict[str, float]]:
    """One row per group: n and the four rates."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(qs):
        members[q.group].append(i)
        members["all"].append(i)
    rows = {}
    for group in GROUPS:
        idx = np.array(members.get(group, []), int)
        if not len(idx):
            continue
        rows[group] = {
            "n": len(idx),
            "found": float(hits.found[idx].mean()),
            "type R@1": float(hits.type[idx, 0].mean()),
            "type+colour R@1": float(hits.type_colour[idx, 0].mean()),
            "type+colour R@10": float(hits.type_colour[idx].any(axis=1).mean()),
        }
    return rows


def format_table(title: str, rows: dict[str, dict[str, float]]) -> str:
    lines = [title, "| query photo | " + " | ".join(COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for group, row in rows.items():
        cells = [str(row["n"])] + [f"{row[c]:.3f}" for c in COLUMNS[1:]]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def misses(qs: list[Query], hits: Hits) -> dict[str, dict[str, int]]:
    """Where the look path loses a query at rank 1, per category: garment not found, found but
    the first match of another type, or of the right type but another colour."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i, q in enumerate(qs):
        key = f"{q.category} ({q.group.split()[1]})"
        reason = ("not found" if not hits.found[i] else "type" if not hits.type[i, 0]
                  else "colour" if not hits.type_colour[i, 0] else "hit")
        out[key][reason] += 1
    return {k: dict(v) for k, v in sorted(out.items())}


def street_fit(index_dir: Path | None, street: Path, store: ModelStore,
               classes: bool = True) -> dict[str, dict]:
    """Per street class: boxes, the mean share of a look's top 10 that fit the class, and the
    share of boxes the look names right (its fine class within the category). ``classes``:
    rank the products that fit the named class first, as a look does (False: as before fine
    classes, for the comparison)."""
    from companion import paths
    from companion.catalog.index import CatalogIndex
    from companion.pipeline.fine_classes import fine_class, street_class
    from companion.pipeline.look import LookPipeline

    pipeline = LookPipeline(store, CatalogIndex(index_dir or paths.default_index_dir()))
    boxes = street_boxes(street)
    embedded = pipeline.embedder.embed([pixels for _, pixels in boxes])
    shares: dict[str, list[float]] = defaultdict(list)
    named: dict[str, list[bool]] = defaultdict(list)
    for row, (cls, _) in enumerate(boxes):
        category = CLASS_CATEGORY[cls]
        shown, score = fine_class(embedded, row, category)
        named[cls].append(street_class(shown) == cls)
        matches = pipeline.matches(category, embedded.vectors[row], TOP_K, None,
                                   shown_class=shown if classes else "", class_score=score)
        shares[cls].append(float(np.mean([m.article_type in CLASS_TYPES[cls]
                                          for m in matches])) if matches else 0.0)
    return {cls: {"boxes": len(v), "fit": float(np.mean(v)),
                  "class right": float(np.mean(named[cls]))} for cls, v in shares.items()}


def print_street_fit(params: LookRetrievalParams, store: ModelStore) -> dict[str, dict]:
    """The street fit with the look's fine classes, beside the fit without them."""
    street = params.data.resolve() / "street"
    nearest = street_fit(params.index, street, store, classes=False)
    named = street_fit(params.index, street, store)
    print("\nStreet test boxes: share of a look's top 10 that fit the class, nearest first and "
          "with the named class's products first; share of boxes named right:")
    for cls, row in named.items():
        print(f"  {cls:<8} ({row['boxes']:>3} boxes) fit {nearest[cls]['fit']:.3f} -> "
              f"{row['fit']:.3f}   named right {row['class right']:.3f}")
    return {cls: {**row, "fit nearest first": nearest[cls]["fit"]} for cls, row in named.items()}


@dataclass(kw_only=True)
class LookRetrievalParams:
    """Which index to search and where the looks come from."""

    data: Path = field(default=data_root(), metadata=cli(
        f"folder with catalog/ (default: {data_root()})"))
    index: Path | None = field(default=None, metadata=cli(
        "catalog index the looks search (default: the look command's default, index/demo)"))
    looks: Path | None = field(default=None, metadata=cli(
        "score this saved `look --json --top-k 10` run instead of running the looks"))
    save: Path | None = field(default=None, metadata=cli(
        "keep the looks' JSON lines here (default: a temporary file)"))
    json: Path | None = field(default=None, metadata=cli("also write the tables here"))
    embedder_only: bool = field(default=True, metadata=cli(
        "also the embedder-only table (on by default)", action=argparse.BooleanOptionalAction))
    limit: int | None = field(default=None, metadata=cli(
        "smoke runs: only the first N query rows (numbers not comparable)"))
    street: bool = field(default=False, metadata=cli(
        "also the street test split's per-class fit through the same index"))
    street_only: bool = field(default=False, metadata=cli(
        "only the street test split's per-class fit (no looks at the query rows)"))
    tuning: bool = field(default=False, metadata=cli(
        "ask with the monitoring slice instead of the query rows, to choose a setting; search "
        "an index built with --write-tuning-split's split"))
    write_tuning_split: Path | None = field(default=None, metadata=cli(
        "write a split.tsv whose 'index' rows leave the monitoring slice out, and stop"))


def main(argv: list[str] | None = None) -> int:
    params = parse(LookRetrievalParams, argv, description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    if params.write_tuning_split is not None:
        write_tuning_split(params.data.resolve() / "catalog", params.write_tuning_split)
        return 0
    store = ModelStore()
    if params.street_only:
        result = {"street fit": print_street_fit(params, store)}
        if params.json:
            save_report(params.json, result)
        return 0
    feed = read_feed(params.data.resolve() / "catalog")
    qs = queries(feed, MoveNet(store), params.limit, params.tuning)
    looks_file = params.looks
    if looks_file is None:
        looks_file = params.save or Path(tempfile.mkdtemp()) / "looks.jsonl"
        run_looks([q.path for q in qs], params.index, looks_file)
    products = {r["id"]: r for r in feed.rows}
    look = look_hits(qs, read_looks(looks_file), products)
    result = {"look path": table_rows(qs, look), "misses at rank 1": misses(qs, look)}
    print(format_table(f"Through the look ({len(qs)} query products, matches as the look "
                       "shows them):", result["look path"]))
    if params.embedder_only:
        result["embedder only"] = table_rows(qs, embedder_hits(qs, feed, store))
        print()
        print(format_table("Embedder only (the whole query photo against all index products):",
                           result["embedder only"]))
    if params.street:
        result["street fit"] = print_street_fit(params, store)
    print("\nMisses at rank 1 by category (not found / type / colour / hit):")
    for key, counts in result["misses at rank 1"].items():
        print(f"  {key:<22} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if params.json:
        save_report(params.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
