"""Converting the TF.js models again (training.convert) writes manifests that say how each model
is fed and keep the settings chosen for it since, so a reconverted ``models/`` behaves as the
shipped one."""

from __future__ import annotations

import pytest

from training.convert.__main__ import converted_extra
from training.convert.specs import SPECS
from training.manifest import read_manifest
from training.paths import MODELS

FED = ("layout", "dtype", "range", "colour", "normalisation")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_shipped_manifest_says_what_its_conversion_spec_says(name):
    shipped = read_manifest(MODELS / name)
    spec = SPECS[name]
    assert {k: shipped["inputs"][0][k] for k in FED} == {k: spec["input"][k] for k in FED}
    assert shipped["provenance"]["converter"].startswith("training.convert ")
    for key, value in spec.get("extra", {}).items():
        assert shipped["extra"][key] == value


@pytest.mark.parametrize("name", sorted(SPECS))
def test_converting_again_keeps_every_setting_the_shipped_manifest_holds(name):
    shipped = read_manifest(MODELS / name)
    assert converted_extra(SPECS[name], shipped) == shipped.get("extra")


def test_a_first_conversion_gets_how_the_model_is_fed_from_its_spec():
    assert converted_extra(SPECS["faceres"], None) == {
        "channel_order": "BGR", "channel_mean": [103.939, 116.779, 123.68]}
    assert converted_extra(SPECS["movenet-multipose"], None) is None


def test_a_tuned_setting_wins_over_the_specs_own():
    previous = {"extra": {"channel_order": "RGB", "head_min_score": 0.4}}
    assert converted_extra(SPECS["faceres"], previous)["channel_order"] == "RGB"
    assert converted_extra(SPECS["blazeface"], previous) == previous["extra"]
