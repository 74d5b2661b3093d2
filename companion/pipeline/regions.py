"""Garment regions from body keypoints: topwear, bottomwear and footwear per person.

Each region is anchored on the joints that bound the garment and padded by body-relative
margins (shoulder width, torso length), so it scales with the person. When the anchoring joints
are hidden (a portrait, a crop, sitting legs) the region is shortened or left out rather than
guessed: a wrong box is worse than no box. The margins were fitted on the street *trainval* split
(``python -m training.evaluate.regions``; scored with
``python -m training.evaluate.detection --split trainval``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.pipeline.imaging import box_area, clip_box
from companion.pipeline.keypoints import (
    ANKLES,
    HIPS,
    KNEES,
    LEFT_ELBOW,
    LEFT_WRIST,
    RIGHT_ELBOW,
    RIGHT_WRIST,
    SHOULDERS,
    visible_of,
)
from companion.types import Box, Garment, Person


@dataclass(frozen=True)
class RegionGeometry:
    """Margins in units of shoulder width (``sw``) or torso length (``tl``)."""

    collar: float = 0.14  # tl above the shoulders
    top_hem: float = 0.3  # tl below the hips
    sleeve_pad: float = 0.19  # sw beyond the outermost arm joint used
    wrists_in_top: bool = False  # long sleeves reach the wrists; short ones do not
    waist: float = 0.04  # tl above the hips
    hip_pad: float = 0.19  # sw beside the hips
    leg_pad: float = 0.18  # sw beside knees and ankles
    hem_below_ankle: float = 0.05  # tl below the ankles
    shoe_above: float = 0.03  # tl above the ankles
    shoe_below: float = 0.35  # tl below the ankles
    shoe_side: float = 0.22  # sw beside the ankles
    min_area_fraction: float = 0.002  # of the image; smaller regions are noise


DEFAULT_GEOMETRY = RegionGeometry()


def garment_regions(
    person: Person,
    person_index: int,
    image_size: tuple[int, int],
    geometry: RegionGeometry = DEFAULT_GEOMETRY,
) -> list[Garment]:
    """Topwear, bottomwear and footwear boxes for one person (those whose joints show)."""
    points = person.keypoints
    width, height = image_size
    shoulders = visible_of(points, SHOULDERS)
    hips = visible_of(points, HIPS)
    knees = visible_of(points, KNEES)
    ankles = visible_of(points, ANKLES)
    scale = _body_scale(person, shoulders, hips)
    if scale is None:
        return []
    sw, tl = scale
    regions: list[tuple[str, Box]] = []

    if shoulders:
        arm_joints = [LEFT_ELBOW, RIGHT_ELBOW]
        if geometry.wrists_in_top:
            arm_joints += [LEFT_WRIST, RIGHT_WRIST]
        xs = points[shoulders + visible_of(points, tuple(arm_joints)), 0]
        shoulder_y = float(points[shoulders, 1].mean())
        if hips:
            bottom = float(points[hips, 1].mean()) + geometry.top_hem * tl
        else:  # a portrait: the top runs out of the picture
            bottom = min(height, shoulder_y + 1.2 * tl)
        regions.append((
            "topwear",
            (float(xs.min()) - geometry.sleeve_pad * sw, shoulder_y - geometry.collar * tl,
             float(xs.max()) + geometry.sleeve_pad * sw, bottom),
        ))

    if hips:
        hip_y = float(points[hips, 1].mean())
        legs = knees + ankles
        if ankles:
            bottom = float(points[ankles, 1].max()) + geometry.hem_below_ankle * tl
        elif knees:  # lower legs hidden: stop a little below the knees
            bottom = float(points[knees, 1].max()) + 0.5 * tl
        else:
            bottom = None
        if bottom is not None and bottom > hip_y + 0.3 * tl:
            hip_xs = points[hips, 0]
            leg_xs = points[legs, 0] if legs else hip_xs
            x1 = min(float(hip_xs.min()) - geometry.hip_pad * sw,
                     float(leg_xs.min()) - geometry.leg_pad * sw)
            x2 = max(float(hip_xs.max()) + geometry.hip_pad * sw,
                     float(leg_xs.max()) + geometry.leg_pad * sw)
            regions.append(("bottomwear", (x1, hip_y - geometry.waist * tl, x2, bottom)))

    if ankles:
        xs, ys = points[ankles, 0], points[ankles, 1]
        regions.append((
            "footwear",
            (float(xs.min()) - geometry.shoe_side * sw, float(ys.min()) - geometry.shoe_above * tl,
             float(xs.max()) + geometry.shoe_side * sw, float(ys.max()) + geometry.shoe_below * tl),
        ))

    min_area = geometry.min_area_fraction * width * height
    garments = []
    for category, box in regions:
        clipped = clip_box(box, width, height)
        if box_area(clipped) >= min_area:
            garments.append(Garment(category, clipped, person_index, round(person.score, 4)))
    return garments


def _body_scale(
    person: Person, shoulders: list[int], hips: list[int]
) -> tuple[float, float] | None:
    """(shoulder width, torso length) in pixels, each estimated from the other when hidden."""
    points = person.keypoints
    box_height = person.box[3] - person.box[1]
    sw = tl = None
    if len(shoulders) == 2:
        sw = float(np.hypot(*(points[shoulders[0], :2] - points[shoulders[1], :2])))
    if shoulders and hips:
        tl = float(points[hips, 1].mean() - points[shoulders, 1].mean())
        if tl <= 0:  # lying down or mis-detected: no reliable frame of reference
            tl = None
    if sw is None and tl is None:
        if not shoulders and not hips:
            return None
        tl = 0.3 * box_height
    sw = max(sw if sw is not None else 0.0, 0.55 * tl if tl is not None else 0.0, 1.0)
    tl = tl if tl is not None else 1.5 * sw
    return sw, tl
