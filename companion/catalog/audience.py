"""Who each product is for (gender, age group), held in memory by index key.

Why: a look's search asks the vector index for several times more neighbours than it shows,
because the gender and age filters drop some. Reading every one of those rows from SQLite only
to drop most of them was most of a search's time (360 rows read for 90 kept); with the two
labels in two small arrays (one byte per product) the filters run first and SQLite reads only
the rows that are kept.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

GENDERS = ("", "female", "male", "unisex")  # code = position; any other label is 0 ("")
AGES = ("adult", "kids")  # code = position; an empty age group is an adult's


@dataclass(frozen=True)
class Audience:
    """Per index key (position in the arrays): the product's gender and age group codes."""

    present: np.ndarray  # bool: a product has this key
    gender: np.ndarray  # uint8, GENDERS
    age: np.ndarray  # uint8, AGES

    @classmethod
    def read(cls, db: sqlite3.Connection, has_age_group: bool) -> Audience:
        """From an index's ``products`` table (keys are feed line numbers: small and dense)."""
        age_column = "age_group" if has_age_group else "''"
        rows = db.execute(f"SELECT key, gender, {age_column} FROM products").fetchall()
        size = max((row[0] for row in rows), default=-1) + 1
        present = np.zeros(size, bool)
        gender, age = np.zeros(size, np.uint8), np.zeros(size, np.uint8)
        gender_code = {name: code for code, name in enumerate(GENDERS)}
        for key, product_gender, product_age in rows:
            present[key] = True
            gender[key] = gender_code.get(product_gender or "", 0)
            age[key] = AGES.index("kids") if product_age == "kids" else 0
        return cls(present, gender, age)

    def admits(self, keys: np.ndarray, gender: str | None, age_group: str) -> np.ndarray:
        """Which of ``keys`` a search for ``gender`` (female, male; else anyone) and
        ``age_group`` (adult, kids or all) may show: that gender or unisex, that age group."""
        keys = np.asarray(keys, dtype=np.int64)
        inside = np.where((keys >= 0) & (keys < len(self.present)), keys, 0)
        admitted = (keys >= 0) & (keys < len(self.present)) & self.present[inside]
        if gender in ("female", "male"):
            codes = self.gender[inside]
            admitted &= (codes == GENDERS.index(gender)) | (codes == GENDERS.index("unisex"))
        if age_group != "all":
            admitted &= self.age[inside] == AGES.index(age_group)
        return admitted
