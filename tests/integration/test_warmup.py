"""The server's warm-up: every model of the look loaded (several at once), Pillow's decoders
read in and every catalog category searched once, and nothing a look answers changed by it."""

from __future__ import annotations

import pytest

from companion.inference.model import InferenceModel
from companion.inference.store import ModelStore
from companion.pipeline.look import LookPipeline
from companion.pipeline.look_output import look_to_json
from companion.server.refresh import LivePipeline
from companion.server.warmup import warm_up_pipeline
from tests.support.data import requires_data, street_photo

pytestmark = requires_data


def _models(pipeline: LookPipeline) -> list[InferenceModel]:
    return [m for m in vars(pipeline).values() if isinstance(m, InferenceModel)]


def test_the_warm_up_loads_every_model_and_searches_every_category(small_index, monkeypatch):
    pipeline = LookPipeline(ModelStore(), small_index)
    assert not all(model.loaded for model in _models(pipeline))
    searched: list[str] = []
    search = small_index.search
    monkeypatch.setattr(small_index, "search",
                        lambda category, *a, **k: searched.append(category)
                        or search(category, *a, **k))
    assert warm_up_pipeline(pipeline) > 0
    assert all(model.loaded for model in _models(pipeline))
    assert set(searched) == set(small_index.categories)


def test_a_pipeline_that_follows_its_catalogs_is_warmed_up_through_its_current_one(
        small_index_dir):
    live = LivePipeline(ModelStore(), [small_index_dir])
    warm_up_pipeline(live)
    assert all(model.loaded for model in _models(live.current()))


@pytest.mark.parametrize("photo", ["ccp_0003.jpg"])
def test_a_look_after_the_warm_up_is_the_look_without_it(small_index, photo):
    warmed, cold = LookPipeline(ModelStore(), small_index), LookPipeline(ModelStore(), small_index)
    warm_up_pipeline(warmed)
    after = look_to_json(warmed.run(street_photo(photo), source=photo))
    without = look_to_json(cold.run(street_photo(photo), source=photo))
    assert after.pop("timings_ms").keys() == without.pop("timings_ms").keys()
    assert after == without and after["items"]
