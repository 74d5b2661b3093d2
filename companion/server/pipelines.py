"""The look pipeline as this build ships it: with the brand's garment finder (a build without
the detector trained with AGPL code finds garments from body keypoints). The serving paths
(``serve``, the results window) make theirs here, through ``LivePipeline``'s factory."""

from __future__ import annotations

from companion import branding
from companion.inference.store import ModelStore
from companion.pipeline.look import LookPipeline


def brand_pipeline(store: ModelStore, catalogs) -> LookPipeline:
    return LookPipeline(store, catalogs, garment_finder=branding.current().garment_finder)
