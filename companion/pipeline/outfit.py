"""One row per garment of a person: shoes as a pair, no garment twice.

Why: the detector learned one box per category per person (street labels: a pair of shoes is one
box, a jacket over a shirt is one topwear box), but it often answers with more: one box per shoe,
a skirt and the tights below it as two bottomwear boxes, a dress and a skirt over the same
pixels. Each of those became a row of its own in the look. Here, per person:

- **footwear**: the best box and the other shoe (a box at the same height beside it, at a foot
  the person's ankles say is there) become one pair box, their union; other footwear is dropped;
- **the same garment twice**: a box that mostly lies inside a better box of its category, or that
  nearly coincides with a better box of a rival category (a dress against a top or a bottom), is
  that garment again and is dropped; boxes that overlap less are distinct garments and stay;
- **one dress**: a person wears one dress, so a dress box beside a better one (a long coat
  scored as a dress, the lower half of the dress again) is dropped;
- bags: two bags are two products, but a bag box that mostly lies inside a better bag box is
  that bag again (on street trainval 12 such rows, against 1 real bag lost), and is dropped.

The thresholds live in the detector manifest's ``extra.outfit`` (tuned on street trainval by
``python -m training.evaluate.garment_tuning``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from companion.pipeline.imaging import box_area, intersection, iou
from companion.pipeline.keypoints import ANKLES, visible_of
from companion.types import Box, Garment, Person

PAIRED = "footwear"
SINGLE = ("topwear", "bottomwear", "footwear", "dress")  # one box per garment (bags: each its own)
# Rival categories that name the same pixels: a dress's skirt taken for a bottom (rarely both in
# the street labels: 19 of 216 dresses), a dress's bodice for a top (often both: a jacket over it).
RIVALS = {frozenset({"bottomwear", "dress"}): "bottom_in_dress",
          frozenset({"topwear", "dress"}): "top_dress_iou"}


@dataclass(frozen=True)
class OutfitRules:
    """When two boxes of one person are one garment.

    ``pair_gap``: the most horizontal gap between two shoe boxes, in shoe widths, for one pair;
    ``pair_level``: the least vertical overlap of the two, as a share of the lower box's height;
    ``same_garment``: the share of a box inside a better one of its category from which it is
    the same garment;
    ``bottom_in_dress``: the share of the smaller of a bottom and a dress inside the other from
    which they are one garment;
    ``top_dress_iou``: the IoU of a top and a dress from which they are one garment (IoU, not the
    share inside: a jacket worn over a dress lies inside the dress's box and is a garment too);
    ``rival_score``: a rival is dropped only when its score is below this share of the better's;
    ``dress_weight``: a dress's score counts this many times against a top or a bottom over the
    same pixels (the detector scores a dress lower than the top its bodice looks like);
    ``dress_limit``: the most dress rows a person gets (0: no limit);
    ``second_look_height``: a person the whole-photo pass left bare gets a pass of their own only
    when at least this share of the tallest dressed person's height (companion.pipeline.garments).
    """

    pair_gap: float = 1.0
    pair_level: float = 0.3
    same_garment: float = 0.7
    bottom_in_dress: float = 0.7
    top_dress_iou: float = 0.6
    rival_score: float = 0.0  # by default a rival category is never dropped (the manifest tunes it)
    dress_weight: float = 1.0
    dress_limit: float = 0.0  # by default as many dresses as the detector finds
    second_look_height: float = 0.0

    @classmethod
    def of(cls, extra: dict) -> OutfitRules:
        given = extra.get("outfit", {})
        return cls(**{f.name: float(given[f.name]) for f in fields(cls) if f.name in given})


def inside_share(box: Box, other: Box) -> float:
    """How much of ``box`` lies inside ``other`` (0..1)."""
    area = box_area(box)
    return box_area(intersection(box, other)) / area if area > 0 else 0.0


def union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def is_other_shoe(pair: Box, shoe: Box, rules: OutfitRules, ankles: list[float]) -> bool:
    """Whether ``shoe`` is the second shoe beside ``pair``: at its height, close beside it, and,
    when the ankles are seen, not beyond the feet."""
    width = max(pair[2] - pair[0], shoe[2] - shoe[0])
    gap = max(shoe[0] - pair[2], pair[0] - shoe[2], 0.0)
    overlap = min(pair[3], shoe[3]) - max(pair[1], shoe[1])
    level = overlap / max(min(pair[3] - pair[1], shoe[3] - shoe[1]), 1e-6)
    if gap > rules.pair_gap * width or level < rules.pair_level:
        return False
    if len(ankles) == 2:  # both feet seen: the pair lies around them
        reach = (min(ankles) - width, max(ankles) + width)
        return reach[0] <= shoe[0] and shoe[2] <= reach[1]
    return True


def _ankle_xs(person: Person | None) -> list[float]:
    if person is None:
        return []
    points = np.asarray(person.keypoints)
    return [float(points[i, 0]) for i in visible_of(points, ANKLES)]


def tidy_person(garments: list[Garment], person: Person | None, rules: OutfitRules
                ) -> list[Garment]:
    """One person's garments: shoes merged into a pair, boxes of the same garment dropped."""
    ranked = sorted(garments, key=lambda g: -_weighted(g, rules))
    kept: list[Garment] = []
    ankles = _ankle_xs(person)
    for garment in ranked:
        if garment.category == PAIRED:
            pair = next((i for i, k in enumerate(kept) if k.category == PAIRED), None)
            if pair is not None:
                if is_other_shoe(kept[pair].box, garment.box, rules, ankles):
                    kept[pair] = replace(kept[pair], box=union(kept[pair].box, garment.box))
                continue  # a pair per person: any other footwear is the same shoes again
        if _duplicates(garment, kept, rules) or _dresses_full(garment, kept, rules):
            continue
        kept.append(garment)
    return kept


def _weighted(garment: Garment, rules: OutfitRules) -> float:
    return garment.score * (rules.dress_weight if garment.category == "dress" else 1.0)


def _duplicates(garment: Garment, kept: list[Garment], rules: OutfitRules) -> bool:
    """Whether ``garment`` is one of the better ``kept`` garments found again."""
    for better in kept:
        if better.category == garment.category:
            if inside_share(garment.box, better.box) >= rules.same_garment:
                return True
            continue
        rule = RIVALS.get(frozenset({garment.category, better.category}))
        weaker = _weighted(garment, rules) < rules.rival_score * _weighted(better, rules)
        if rule is None or not weaker:
            continue
        if rule == "top_dress_iou":
            overlap = iou(garment.box, better.box)
        else:
            overlap = max(inside_share(garment.box, better.box),
                          inside_share(better.box, garment.box))
        if overlap >= getattr(rules, rule):
            return True
    return False


def _dresses_full(garment: Garment, kept: list[Garment], rules: OutfitRules) -> bool:
    """Whether ``garment`` is a dress beyond the person's ``rules.dress_limit`` better ones."""
    if garment.category != "dress" or rules.dress_limit <= 0:
        return False
    return sum(1 for k in kept if k.category == "dress") >= rules.dress_limit


def tidy_outfit(garments: list[Garment], people: list[Person], rules: OutfitRules
                ) -> list[Garment]:
    """Every person's garments tidied (``tidy_person``); nobody's garments as they are. The
    order is the people's, best score first within each."""
    result = [g for g in garments if g.person is None]
    for index, person in enumerate(people):
        result += tidy_person([g for g in garments if g.person == index], person, rules)
    return result
