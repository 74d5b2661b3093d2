"""The training data under ../shared/data, and one reader for each of its sources.

    catalog.py  catalog/feed.tsv and split.tsv (`index` rows may be trained on, `query` never)
    street.py   street/annotations.json with trainval.txt / test.txt, and the categories the
                companion searches
    people.py   people/labels.csv and faces/labels.csv

`data_root()` is the one place that knows where the data lives: `../shared/data` next to the
repository, or the folder named by $SHOP_THE_LOOK_DATA.
"""

from __future__ import annotations

import os
from pathlib import Path

from training.paths import REPO

DATA_ENV = "SHOP_THE_LOOK_DATA"
DATA_NAME = "../shared/data"  # as provenance and help texts name it, relative to the repository


def data_root() -> Path:
    """The data folder: $SHOP_THE_LOOK_DATA, or ../shared/data next to the repository."""
    return Path(os.environ.get(DATA_ENV) or REPO / DATA_NAME).resolve()
