"""A model store can be told of every session run (benchmarks/bench_look.py's per-model table):
the model's name, what it was fed and how long it took; without an observer nothing changes."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_look import Runs, model_table
from companion.inference.blazeface import BlazeFace
from companion.inference.store import ModelStore


def test_every_run_is_reported_with_its_model_its_feeds_and_its_time():
    heard = []
    faces = BlazeFace(ModelStore(on_run=lambda *run: heard.append(run)))
    pixels = np.zeros((300, 200, 3), np.uint8)
    unobserved = BlazeFace(ModelStore())
    assert faces.predict(pixels) == unobserved.predict(pixels)
    faces.predict(pixels)
    assert [name for name, _, _ in heard] == ["blazeface", "blazeface"]
    _, feeds, ms = heard[0]
    assert next(iter(feeds.values())).shape == (1, 256, 256, 3)
    assert ms > 0


def test_the_per_model_table_counts_calls_per_look_and_shares_of_the_look():
    runs = Runs()
    runs.add({"people": 30.0, "total": 50.0}, [("movenet", (1, 256, 256, 3), 30.0)])
    runs.add({"people": 70.0, "total": 150.0}, [("movenet", (1, 256, 256, 3), 50.0),
                                                 ("movenet", (1, 192, 192, 3), 20.0),
                                                 ("centernet", (1, 512, 512, 3), 60.0)])
    table = {row[0]: row for row in model_table(runs, looks=2)}
    assert table["movenet"][1:] == ("1x256x256x3", 30.0, 1.5, 50.0, 0.5)
    assert table["centernet"][3:] == (0.5, 30.0, 0.3)
    assert next(iter(table)) == "movenet"  # the most expensive first
