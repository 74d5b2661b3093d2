"""Each person's gender from the face and the body together, steady across formats and sizes.

Why: the gender picks which catalog section a look searches, so it must not flip when the same
photo comes as WebP instead of JPEG, and must not give up on a woman in sunglasses whose body says
enough. Asking the face first and the body only when the face gave up threw evidence away: a
face a little below its threshold said nothing, however clear the body was. Here both models give
log-odds, each measured in units of its own "sure enough" threshold, and the person's evidence is
their sum: one model past its threshold decides on its own, two that lean the same way decide
together, and two that disagree cancel out. "unknown" only when the sum stays under one
threshold's worth. The thresholds are the manifests': FaceRes's ``look_min_confidence`` (0.6,
on the mean of its views; its ``min_confidence``, 0.67, is FaceRes alone on one view) and the
body model's ``look_min_confidence`` (0.94: on street photos the body alone is right on only 82 %
of its answers past its own 0.8, so in a look it weighs about half as much); each model's lean to
"male" is taken off first (FaceRes 0.5, the body 0.5: on street people the body model's log-odds
average -0.78 for women, +1.79 for men). Chosen on a third of faces/ and on 176 street trainval
people labelled by eye (training/evaluate/street_trainval_gender.csv), each served in the 13 ways
of training.evaluate.gender_consistency; never on the test split.

Most faces are clear from one look, and then that is the answer (one FaceRes crop, as before).
For the rest each model looks more than once (test-time augmentation: the crop and its mirror
image; the face at a canonical resolution), so one re-encoding's noise in one view cannot carry an
answer that sits near a threshold, and the body model adds its evidence. The canonical view
shrinks the face to ``canonical_face_width`` pixels (FaceRes's manifest, 24) before FaceRes
stretches it to its input: a photo served at full size and the same photo at half size then give
that view nearly the same pixels, whatever the page's scale (a face of a street photo is about 50
px wide at full size, 25 at half).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from companion.inference.blazeface import BlazeFace
from companion.inference.body_gender import BodyGender
from companion.inference.faceres import FaceRes
from companion.inference.store import ModelStore
from companion.pipeline.crops import FACE_MARGIN, body_crop, face_box, shrunk, widened
from companion.pipeline.imaging import crop
from companion.types import Gender, Person

SCORE_AT_THRESHOLD = 0.8  # a Gender's score where the evidence reaches one unit (a label starts)
# Face evidence this many units from zero is clear from one view: no mirror, no canonical view, no
# body. On faces/ 76 % of faces are this clear (and faces/ comes out the same as with every view).
CLEAR_UNITS = 3.0
CANONICAL_FACE_WIDTH = 24.0  # pixels; FaceRes's manifest ``canonical_face_width`` overrides it


_SCORE_UNIT = float(np.log(SCORE_AT_THRESHOLD / (1 - SCORE_AT_THRESHOLD)))


class GenderModels(Protocol):
    """The three networks the step asks (LookPipeline has them as attributes)."""

    blazeface: BlazeFace
    faceres: FaceRes
    body_gender: BodyGender


@dataclass(frozen=True)
class GenderModelSet:
    """The networks on their own, for scripts that run only this step."""

    blazeface: BlazeFace
    faceres: FaceRes
    body_gender: BodyGender

    @classmethod
    def of(cls, store: ModelStore) -> GenderModelSet:
        return cls(BlazeFace(store), FaceRes(store), BodyGender(store))


@dataclass(frozen=True)
class GenderRule:
    """How the two models' log-odds (of "male") add up. ``face_unit``/``body_unit``: the log-odds
    where each model alone gives a label; ``face_bias``/``body_bias``: each model's lean towards
    "male", taken off its log-odds first (their manifests' ``log_odds_bias``)."""

    face_unit: float
    body_unit: float
    face_bias: float = 0.0
    body_bias: float = 0.0
    # A small face leans further to "male" (compression and downscaling push FaceRes that way:
    # at half size and JPEG quality 70 women's faces turned "unknown"): under this width (pixels
    # as decoded) up to ``small_face_bias`` more is taken off, in proportion to how much smaller.
    small_face_width: float = 0.0
    small_face_bias: float = 0.0
    canonical_face_width: float = CANONICAL_FACE_WIDTH  # the canonical view's face, in pixels

    @classmethod
    def of(cls, models: GenderModels) -> GenderRule:
        body = models.body_gender
        face = models.faceres
        return cls(
            face_unit=float(log_odds(face.settings.number("look_min_confidence",
                                                          face.min_confidence))),
            body_unit=float(log_odds(body.settings.number("look_min_confidence",
                                                          body.min_confidence))),
            face_bias=face.settings.number("log_odds_bias", 0.0),
            body_bias=body.settings.number("log_odds_bias", 0.0),
            small_face_width=face.settings.number("small_face_width", 0.0),
            small_face_bias=face.settings.number("small_face_bias", 0.0),
            canonical_face_width=face.settings.number("canonical_face_width",
                                                      CANONICAL_FACE_WIDTH),
        )

    def size_bias(self, face_width: float) -> float:
        """What a face ``face_width`` pixels wide leans to "male" beyond ``face_bias``."""
        if self.small_face_width <= 0:
            return 0.0
        smaller = max(0.0, (self.small_face_width - face_width) / self.small_face_width)
        return self.small_face_bias * smaller

    def evidence(self, face: float | None, body: float | None) -> float:
        """Signed evidence for "male" in threshold units: face and body log-odds, each divided
        by its own unit, summed (a model that did not look adds nothing)."""
        total = 0.0
        if face is not None:
            total += (face - self.face_bias) / self.face_unit
        if body is not None:
            total += (body - self.body_bias) / self.body_unit
        return total

    def decide(self, face: float | None, body: float | None) -> Gender:
        """The label once the evidence reaches one unit, else "unknown". The score grows with the
        evidence on one scale whichever model spoke: SCORE_AT_THRESHOLD where a label starts."""
        evidence = self.evidence(face, body)
        confidence = round(float(1.0 / (1.0 + np.exp(-abs(evidence) * _SCORE_UNIT))), 4)
        if abs(evidence) < 1.0:
            return Gender("unknown", confidence)
        return Gender("male" if evidence > 0 else "female", confidence)


def log_odds(probability: float | np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), kept finite at 0 and 1."""
    clipped = np.clip(np.asarray(probability, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(clipped / (1.0 - clipped))


def face_evidence(faceres: FaceRes, rule: GenderRule, pixels: np.ndarray,
                  face: tuple[float, ...]) -> tuple[float, bool]:
    """FaceRes's log-odds for ``face`` and whether they are clear on their own. One view first
    (the face with its margin); only when it is unsure (under CLEAR_UNITS) do the others run (its
    mirror, the canonical view, the face shrunk to ``rule.canonical_face_width``, and that view's
    mirror), and the answer is the mean over all four. A small face's extra lean to "male" is
    taken off first (GenderRule.size_bias)."""
    view = first_view(pixels, face)
    width = face[2] - face[0]
    lean = rule.size_bias(width)
    first = float(log_odds(faceres.male_probability([view]))[0]) - lean
    if abs(rule.evidence(first, None)) >= CLEAR_UNITS:
        return first, True  # the other views are not cut out at all
    rest = log_odds(faceres.male_probability(
        other_views(view, width, rule.canonical_face_width))) - lean
    return (first + float(rest.sum())) / 4, False


def first_view(pixels: np.ndarray, face: tuple[float, ...]) -> np.ndarray:
    """The face with FaceRes's margin: the view every face gets."""
    return crop(pixels, widened(face, FACE_MARGIN))


def other_views(first: np.ndarray, face_width: float, canonical_width: float
                ) -> list[np.ndarray]:
    """An unclear face's other views: the first view's mirror image, the canonical view (the
    first view shrunk so the face is ``canonical_width`` pixels wide) and its mirror image."""
    canonical = shrunk(first, canonical_width / max(face_width, 1.0))
    return [first[:, ::-1], canonical, canonical[:, ::-1]]


def body_log_odds(body: BodyGender, pixels: np.ndarray, people: list[Person]) -> list[float]:
    """The body model's mean log-odds over each person's crop and its mirror image."""
    views = []
    for person in people:
        view = body_crop(pixels, person.box, body.margin)
        views += [view, view[:, ::-1]]
    return log_odds(body.male_probability(views)).reshape(-1, 2).mean(axis=1).tolist()


def genders_of(models: GenderModels, pixels: np.ndarray, people: list[Person]) -> list[Gender]:
    """One Gender per person: a clear face alone, else face (where one shows) and body evidence
    combined. The body model runs, in one batch, only for the people whose face is not clear."""
    rule = GenderRule.of(models) if people else None
    faces: list[tuple[float | None, bool]] = []
    for person in people:
        box = face_box(models.blazeface, pixels, person)
        faces.append((None, False) if box is None else
                     face_evidence(models.faceres, rule, pixels, box))
    unsure = [p for p, (_, clear) in zip(people, faces, strict=True) if not clear]
    bodies = iter(body_log_odds(models.body_gender, pixels, unsure))
    return [rule.decide(face, None if clear else next(bodies)) for face, clear in faces]
