"""Fraud episodes (bursts) — pure functions of (seed, customer, day), shared by transactions and events.

A fraudster has on average ~3 bursts a year after opening the account: 5–40 payment attempts within minutes to
a few hours, mostly at night (00–05 UTC), many failed, at many unrelated merchants, often in a foreign currency,
preceded by a login from a device/browser combination the customer never used. Fraudsters also live an ordinary
customer life in between (their other transactions are not fraud), and some legitimate customers have shopping
sprees, travel or night habits — the signals are there, but never on one column alone.
"""

from dataclasses import dataclass

import numpy as np

from .population import Population
from .util import DAY_US, HOUR_US, MINUTE_US, hash_uniform

BURSTS_PER_YEAR = 3.0


@dataclass
class Bursts:
    cidx: np.ndarray
    day: np.ndarray
    start: np.ndarray  # µs
    duration: np.ndarray  # µs
    size: np.ndarray
    salt_key: np.ndarray  # per-burst hash key for further draws


def fraud_bursts(seed: int, pop: Population, days: np.ndarray) -> Bursts:
    f = np.flatnonzero(pop.fraud)
    days = np.asarray(days, dtype=np.int64)
    if len(f) == 0 or len(days) == 0:
        z = np.zeros(0, np.int64)
        return Bursts(z, z, z, z, z, z)
    ff = np.repeat(f, len(days))
    dd = np.tile(days, len(f))
    hk = pop.key[ff] * 100_000 + dd
    eligible = (dd >= pop.signup[ff].astype(np.int64) + 2) & (dd < pop.churn[ff])
    hit = eligible & (hash_uniform(seed, hk, 701) < BURSTS_PER_YEAR / 365.0)
    ff, dd, hk = ff[hit], dd[hit], hk[hit]
    night = hash_uniform(seed, hk, 702) < 0.65
    hour = np.where(night, hash_uniform(seed, hk, 703) * 4.5, 6 + hash_uniform(seed, hk, 704) * 16)
    start = dd * DAY_US + (hour * HOUR_US).astype(np.int64)
    duration = ((0.3 + 4.7 * hash_uniform(seed, hk, 705) ** 2) * HOUR_US).astype(np.int64)
    duration = np.minimum(duration, (dd + 1) * DAY_US - 1 - start)  # a burst ends before midnight
    size = 5 + np.minimum(
        np.floor(np.log(np.maximum(hash_uniform(seed, hk, 706), 1e-12)) / np.log(1 - 1 / 9)), 35
    ).astype(np.int64)
    order = np.lexsort((ff, start))
    return Bursts(ff[order], dd[order], start[order], duration[order], size[order], hk[order])


def login_before(bursts: Bursts, seed: int) -> np.ndarray:
    """Start of the fraudulent session that precedes each burst (2–30 minutes before)."""
    lead = (2 + 28 * hash_uniform(seed, bursts.salt_key, 707)) * MINUTE_US
    return bursts.start - lead.astype(np.int64)
