"""Product catalogue: a full export every Monday (plus one on the first day), evolving week to week.

Products are never dropped from the export: a discontinued product stays with ``is_active = false``, so every
order's product_id keeps resolving. New products launch with a Monday catalogue; a few prices move each week.
"""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import reference as ref
from .util import STREAM, hash_uniform, rng_for

CATEGORY_SHARE = np.array([0.15, 0.15, 0.18, 0.12, 0.10, 0.10, 0.12, 0.08])
PRODUCT_FLOOR = 200
WEEKLY_LAUNCH_SHARE = 0.2 / 52  # the catalogue grows ~20% a year
WEEKLY_DISCONTINUE = 0.0016
WEEKLY_PRICE_CHANGE = 0.03


@dataclass
class Catalogue:
    seq: np.ndarray  # int64 product number (P000123)
    category: np.ndarray  # int16
    subcategory: np.ndarray  # int16 (global index into reference.SUBCATEGORIES)
    price: np.ndarray  # float64 USD list price
    active: np.ndarray  # bool
    day: int = 0  # publication day ordinal

    def copy(self, day: int) -> "Catalogue":
        return Catalogue(
            self.seq.copy(), self.category.copy(), self.subcategory.copy(), self.price.copy(), self.active.copy(), day
        )

    def frame(self) -> dict[str, np.ndarray]:
        n = len(self.seq)
        return {
            "product_id": self.seq,
            "_pidx": self.seq,
            "category": self.category,
            "subcategory": self.subcategory,
            "unit_price": self.price,
            "is_active": self.active,
            "_pk": self.seq,
            "_ver": np.zeros(n, np.int8),
            "_load": np.full(n, self.day, np.int32),
            "_final": np.ones(n, bool),
        }

    def available(self) -> "Available":
        """Active products grouped by category and sorted by price (for the order generator)."""
        idx = np.flatnonzero(self.active)
        order = idx[np.lexsort((self.seq[idx], self.price[idx], self.category[idx]))]
        cats = self.category[order]
        counts = np.bincount(cats, minlength=len(ref.CATEGORIES))
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return Available(self.seq[order], self.price[order], self.category[order], counts, offsets)


@dataclass
class Available:
    seq: np.ndarray
    price: np.ndarray
    category: np.ndarray
    counts: np.ndarray
    offsets: np.ndarray

    def pick(self, cats: np.ndarray, quantile: np.ndarray) -> np.ndarray:
        """Position of the product at price ``quantile`` within each category (falls back to any category)."""
        cats = cats.astype(np.int64)
        empty = self.counts[cats] == 0
        if empty.any():  # a category with no active product: use the most populous one
            cats = np.where(empty, int(np.argmax(self.counts)), cats)
        return self.offsets[cats] + np.minimum((quantile * self.counts[cats]).astype(np.int64), self.counts[cats] - 1)


def _new_products(rng: np.random.Generator, first_seq: int, n: int, day: int) -> Catalogue:
    cat = np.searchsorted(np.cumsum(CATEGORY_SHARE), rng.random(n) * CATEGORY_SHARE.sum(), side="right").clip(0, 7)
    sub = cat * ref.SUBCATS_PER_CATEGORY + (rng.random(n) * ref.SUBCATS_PER_CATEGORY).astype(np.int64)
    mu = np.array(ref.CATEGORY_LOG_PRICE)[cat]
    price = np.round(np.maximum(np.exp(mu + 0.65 * rng.standard_normal(n)), 0.99), 2)
    seq = np.arange(first_seq, first_seq + n, dtype=np.int64)
    return Catalogue(seq, cat.astype(np.int16), sub.astype(np.int16), price, np.ones(n, bool), day)


def initial_catalogue(seed: int, n_products: int, day: int) -> Catalogue:
    rng = rng_for(seed, STREAM["products"], 0)
    cat = _new_products(rng, 1, n_products, day)
    cat.active = rng.random(n_products) >= 0.04
    return cat


def next_catalogue(seed: int, prev: Catalogue, monday: int, base_size: int) -> Catalogue:
    """The Monday export after ``prev``: price moves, discontinuations, launches."""
    rng = rng_for(seed, STREAM["products"], monday)
    cat = prev.copy(monday)
    n = len(cat.seq)
    move = rng.random(n) < WEEKLY_PRICE_CHANGE
    factor = np.exp(0.06 * rng.standard_normal(n))
    cat.price = np.where(move, np.round(np.maximum(cat.price * factor, 0.99), 2), cat.price)
    cat.active = cat.active & ~(rng.random(n) < WEEKLY_DISCONTINUE)
    n_new = int(rng.poisson(base_size * WEEKLY_LAUNCH_SHARE))
    if n_new:
        new = _new_products(rng, int(cat.seq.max()) + 1, n_new, monday)
        cat = Catalogue(
            np.concatenate([cat.seq, new.seq]),
            np.concatenate([cat.category, new.category]),
            np.concatenate([cat.subcategory, new.subcategory]),
            np.concatenate([cat.price, new.price]),
            np.concatenate([cat.active, new.active]),
            monday,
        )
    return cat


def product_names(seed: int, seq: np.ndarray, subcategory: np.ndarray) -> pa.Array:
    """ "<Brand> <Model> <subcategory> <number>" — a pure function of (seed, product number)."""
    brand = (hash_uniform(seed, seq, 901) * len(ref.BRANDS)).astype(np.int64)
    model = (hash_uniform(seed, seq, 902) * len(ref.MODEL_WORDS)).astype(np.int64)
    num = (10 + hash_uniform(seed, seq, 903) * 890).astype(np.int64)
    parts = [
        pa.array(np.array(ref.BRANDS, dtype=object)[brand], pa.string()),
        pa.array(np.array(ref.MODEL_WORDS, dtype=object)[model], pa.string()),
        pa.array(
            np.array([s.replace("-", " ").title() for s in ref.SUBCATEGORIES], dtype=object)[subcategory], pa.string()
        ),
        pc.cast(pa.array(num), pa.string()),
    ]
    return pc.binary_join_element_wise(*parts, " ")
