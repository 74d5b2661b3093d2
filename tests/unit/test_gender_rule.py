"""How face and body evidence add up to one gender (companion.pipeline.gender.GenderRule).

Each model's log-odds of "male" count in units of its own threshold: past one unit a label, under
it "unknown". Face at 0.7 and body at 0.8 below, as the manifests may set them.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from companion.pipeline.crops import shrunk
from companion.pipeline.gender import SCORE_AT_THRESHOLD, GenderRule, log_odds

FACE_AT, BODY_AT = 0.7, 0.8
RULE = GenderRule(face_unit=float(log_odds(FACE_AT)), body_unit=float(log_odds(BODY_AT)))


def odds(p_male: float) -> float:
    return float(log_odds(p_male))


def test_a_sure_face_decides_even_when_the_body_cannot_tell():
    assert RULE.decide(odds(0.95), odds(0.5)).label == "male"
    assert RULE.decide(odds(0.05), None).label == "female"


def test_a_sure_body_decides_when_no_face_shows():
    """Seen from behind: the body model alone, at its own threshold, as before."""
    assert RULE.decide(None, odds(0.85)).label == "male"
    assert RULE.decide(None, odds(0.75)).label == "unknown"


def test_face_and_body_each_unsure_but_agreeing_decide_together():
    """Sunglasses: the face leans female (0.4 of male) short of its threshold, and so does the
    body (0.3); together they are enough."""
    assert RULE.decide(odds(0.4), None).label == "unknown"
    assert RULE.decide(None, odds(0.3)).label == "unknown"
    assert RULE.decide(odds(0.4), odds(0.3)).label == "female"


def test_face_and_body_that_disagree_cancel_out():
    assert RULE.decide(odds(0.8), odds(0.2)).label == "unknown"


def test_with_no_evidence_at_all_the_answer_is_unknown():
    assert RULE.decide(None, None).label == "unknown"
    assert RULE.decide(None, None).score == 0.5


def test_the_score_reads_the_same_where_a_label_starts_whichever_model_spoke():
    body_alone = RULE.decide(None, odds(BODY_AT) + 1e-9)
    face_alone = RULE.decide(odds(1 - FACE_AT) - 1e-9, None)
    assert (body_alone.label, face_alone.label) == ("male", "female")
    assert body_alone.score == pytest.approx(SCORE_AT_THRESHOLD, abs=1e-3)
    assert face_alone.score == pytest.approx(SCORE_AT_THRESHOLD, abs=1e-3)
    assert RULE.decide(None, odds(BODY_AT) - 0.01).score < SCORE_AT_THRESHOLD


def test_the_score_grows_with_the_evidence():
    scores = [RULE.decide(odds(p), odds(p)).score for p in (0.6, 0.7, 0.8, 0.9, 0.99)]
    assert scores == sorted(scores) and scores[-1] > 0.99


def test_the_face_models_lean_is_taken_off_before_it_counts():
    """FaceRes leans male: with a bias of 0.5, a face at 0.62 male is barely evidence."""
    leaning = GenderRule(RULE.face_unit, RULE.body_unit, face_bias=0.5)
    assert RULE.decide(odds(0.72), None).label == "male"
    assert leaning.decide(odds(0.72), None).label == "unknown"
    assert leaning.decide(odds(0.2), None).label == "female"


def test_a_small_face_has_its_extra_lean_to_male_taken_off_in_proportion():
    """Faces under 40 px lean further to "male" (downscaled, compressed): up to one more unit of
    log-odds is taken off, none for a face of 40 px or more."""
    rule = GenderRule(face_unit=1.0, body_unit=1.0, small_face_width=40, small_face_bias=1.0)
    assert rule.size_bias(80) == 0.0 and rule.size_bias(40) == 0.0
    assert rule.size_bias(30) == pytest.approx(0.25)
    assert rule.size_bias(20) == pytest.approx(0.5)
    assert RULE.size_bias(10) == 0.0, "no small-face setting: no change"


def test_the_canonical_face_view_is_nearly_the_same_at_full_and_half_size():
    """A face 48 px wide and the same face served at half size (24 px) give the canonical view
    (shrunk to 24 px) nearly the same pixels; a face already under the width is left alone."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    face = np.asarray(Image.fromarray(coarse).resize((48, 48), Image.Resampling.BICUBIC))
    half = np.asarray(Image.fromarray(face).resize((24, 24), Image.Resampling.LANCZOS))
    full_view, half_view = shrunk(face, 24 / 48), shrunk(half, 24 / 24)
    assert full_view.shape == half_view.shape == (24, 24, 3)
    assert half_view is half
    difference = np.abs(full_view.astype(int) - half_view.astype(int)).mean()
    assert difference < 2.0, difference
    assert shrunk(face, 1.5) is face, "enlarging adds nothing"
