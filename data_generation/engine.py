"""Shared machinery of the per-source generators: daily volumes, calendar shape, time-of-day profiles and the
customer sampler (weighted by behaviour, thinned by the churn/precursor activity factor)."""

import numpy as np

from .population import Population
from .util import HOUR_US, cumulative_round, day_of_year, weekday

# Relative weekday intensity (Mon..Sun) per source family.
WEEKDAY = {
    "orders": np.array([0.95, 0.95, 0.97, 1.0, 1.08, 1.15, 1.05]),
    "transactions": np.array([1.0, 1.0, 1.0, 1.02, 1.12, 1.08, 0.92]),
    "events": np.array([1.02, 1.0, 1.0, 1.0, 0.96, 1.04, 1.08]),
    "campaigns": np.array([1.2, 1.25, 1.2, 1.15, 1.0, 0.55, 0.45]),
    "support_tickets": np.array([1.25, 1.15, 1.1, 1.05, 1.0, 0.7, 0.6]),
}

# Share of activity per UTC hour for ordinary customers (00–05 UTC is quiet: the "night" of the fraud signals).
DAY_HOURS = np.array(
    [
        0.8,
        0.5,
        0.35,
        0.3,
        0.35,
        0.6,
        1.2,
        2.2,
        3.4,
        4.4,
        5.0,
        5.4,
        5.8,
        5.6,
        5.4,
        5.4,
        5.6,
        6.0,
        6.4,
        6.6,
        6.0,
        4.8,
        3.2,
        1.8,
    ]
)
NIGHT_HOURS = np.array([6, 6, 5, 5, 4, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5], dtype=float)
WORK_HOURS = np.array([0.1] * 7 + [1, 3, 5, 5, 5, 4, 5, 5, 5, 4, 2, 1, 0.5] + [0.2] * 4)


def day_shape(days: np.ndarray, family: str) -> np.ndarray:
    """Weekday × season × holidays."""
    days = np.asarray(days, dtype=np.int64)
    doy = day_of_year(days)
    season = 1.0 + 0.12 * np.cos(2 * np.pi * (doy - 350) / 365.25)
    wd = weekday(days)
    d64 = days.astype("datetime64[D]")
    month = d64.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (d64 - d64.astype("datetime64[M]")).astype(np.int64) + 1
    black_friday = (month == 11) & (wd == 4) & (dom >= 22) & (dom <= 28)
    cyber_monday = ((month == 11) & (wd == 0) & (dom >= 25)) | ((month == 12) & (wd == 0) & (dom <= 3))
    xmas_run = (month == 12) & (dom <= 22)
    quiet = ((month == 12) & (dom >= 24) & (dom <= 26)) | ((month == 1) & (dom == 1))
    holiday = np.ones(len(days))
    if family in ("orders", "transactions", "events"):
        holiday = np.where(black_friday, 2.2, holiday)
        holiday = np.where(cyber_monday, 1.8, holiday)
        holiday = np.where(xmas_run, 1.2, holiday)
        holiday = np.where(quiet, 0.6, holiday)
    elif family == "campaigns":
        holiday = np.where(black_friday | cyber_monday, 2.5, np.where(xmas_run, 1.3, holiday))
    return WEEKDAY[family][wd] * season * holiday


def population_weight(pop: Population, weights: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Σ weights of customers signed up and not yet churned, per day (the base of the daily volume)."""
    cache = pop.__dict__.setdefault("_weight_cache", {})
    entry = cache.get(id(weights))
    if entry is None or entry[0] is not weights:
        order = np.argsort(pop.churn, kind="stable")
        entry = (
            weights,
            np.concatenate([[0.0], np.cumsum(weights)]),
            pop.churn[order],
            np.concatenate([[0.0], np.cumsum(weights[order])]),
        )
        cache[id(weights)] = entry
    _, cw, churn_sorted, ccw = entry
    signed = cw[np.searchsorted(pop.signup, days, side="right")]
    churned = ccw[np.searchsorted(churn_sorted, days, side="right")]
    return np.maximum(signed - churned, 1e-9)


def volume_scale(total: float, pop: Population, weights: np.ndarray, days: np.ndarray, family: str) -> float:
    """k such that Σ_d k · shape(d) · population_weight(d) = total over ``days``."""
    g = day_shape(days, family) * population_weight(pop, weights, days)
    return float(total / g.sum()) if g.sum() > 0 else 0.0


def daily_counts(k: float, pop: Population, weights: np.ndarray, days: np.ndarray, family: str) -> np.ndarray:
    g = day_shape(days, family) * population_weight(pop, weights, days)
    return cumulative_round(k * g)


class Sampler:
    """Draws customers for rows on given days: proportional to ``weights`` among customers signed up by the
    day, each draw accepted with probability ``factor(idx, day)`` in [0, 1] (churn precursor, churned = 0)."""

    def __init__(self, pop: Population, weights: np.ndarray, factor=None):
        self.pop = pop
        self.cdf = np.cumsum(weights.astype(np.float64))
        self.factor = factor if factor is not None else pop.activity
        # guide table: bucket b of the cdf's value range → first index whose cdf exceeds the bucket start,
        # so a draw needs a few steps instead of a binary search over all customers
        self.buckets = 2 * max(len(self.cdf), 1)
        self.total = float(self.cdf[-1]) if len(self.cdf) else 0.0
        self.guide = np.searchsorted(self.cdf, np.arange(self.buckets) * (self.total / self.buckets), side="right")

    def locate(self, target: np.ndarray) -> np.ndarray:
        """First index with cdf > target (== np.searchsorted(cdf, target, side="right")) for target < total."""
        b = np.minimum((target * (self.buckets / self.total)).astype(np.int64), self.buckets - 1)
        idx = np.minimum(self.guide[b], len(self.cdf) - 1)
        need = np.flatnonzero(self.cdf[idx] <= target)
        last = len(self.cdf) - 1
        while len(need):
            idx[need] = np.minimum(idx[need] + 1, last)
            need = need[(self.cdf[idx[need]] <= target[need]) & (idx[need] < last)]
        return idx

    def sample(self, rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
        days = np.asarray(days, dtype=np.int64)
        n = len(days)
        out = np.full(n, -1, dtype=np.int64)
        limit_idx = np.searchsorted(self.pop.signup, days, side="right")  # customers signed by the day
        ok = limit_idx > 0
        limits = np.where(ok, self.cdf[np.maximum(limit_idx - 1, 0)], 0.0)
        todo = np.flatnonzero(ok)
        for _ in range(80):
            if len(todo) == 0:
                break
            u = rng.random(len(todo)) * limits[todo]
            cand = np.minimum(self.locate(u), limit_idx[todo] - 1)
            accept = rng.random(len(todo)) < self.factor(cand, days[todo])
            out[todo[accept]] = cand[accept]
            todo = todo[~accept]
        return out  # -1 where nobody could be drawn (dropped by callers)


def times_of_day(rng: np.random.Generator, n: int, profile: np.ndarray = DAY_HOURS) -> np.ndarray:
    p = profile / profile.sum()
    hours = np.minimum(np.searchsorted(np.cumsum(p), rng.random(n), side="right"), 23).astype(np.int64)
    return hours * HOUR_US + (rng.random(n) * HOUR_US).astype(np.int64)


def per_day_sequence(days: np.ndarray) -> np.ndarray:
    """0, 1, 2, … within each run of equal (sorted) days."""
    days = np.asarray(days)
    n = len(days)
    if n == 0:
        return np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.flatnonzero(days[1:] != days[:-1]) + 1])
    first = np.repeat(starts, np.diff(np.concatenate([starts, [n]])))
    return np.arange(n) - first
