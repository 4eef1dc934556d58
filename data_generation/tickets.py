"""Support tickets: category, priority, resolution time, CSAT.

Before churning, customers file more tickets, of higher priority, and rate the help lower. A ticket arrives on
the day it is created (open / in-progress, no resolution yet) and again on the day it is resolved (resolved /
closed, with ``resolved_at`` and maybe a CSAT score); a ticket resolved the same day arrives once.
"""

import numpy as np

from .engine import WORK_HOURS, Sampler, per_day_sequence, times_of_day
from .population import Population
from .schema import day_key
from .util import DAY_US, HOUR_US, NULL_TS, STREAM, rng_for

# catalog orders: categories billing, fraud, technical, account, general; priorities low..critical;
# statuses open, in-progress, resolved, closed
CATEGORY_NORMAL = np.array([0.30, 0.06, 0.30, 0.19, 0.15])
CATEGORY_PRECURSOR = np.array([0.38, 0.02, 0.35, 0.17, 0.08])
PRIORITY_NORMAL = np.array([0.36, 0.40, 0.17, 0.07])
PRIORITY_PRECURSOR = np.array([0.12, 0.30, 0.36, 0.22])
MEDIAN_HOURS = np.array([40.0, 20.0, 8.0, 3.0])
OPEN, IN_PROGRESS, RESOLVED, CLOSED = range(4)
PRECURSOR_BOOST = 3.0


def ticket_factor(pop: Population):
    """Acceptance factor for the ticket sampler: x3 during a churn precursor, 0 once churned."""

    def f(idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        d = np.asarray(day, dtype=np.int64)
        alive = (d >= pop.signup[idx]) & (d < pop.churn[idx])
        return np.where(alive, np.where(pop.in_precursor(idx, d), 1.0, 1.0 / PRECURSOR_BOOST), 0.0)

    return f


def _rows_pick(rng: np.random.Generator, normal: np.ndarray, precursor: np.ndarray, pre: np.ndarray) -> np.ndarray:
    p = np.where(pre[:, None], precursor[None, :], normal[None, :])
    cdf = np.cumsum(p, axis=1)
    return np.minimum((rng.random(len(pre))[:, None] >= cdf).sum(axis=1), len(normal) - 1).astype(np.int16)


def generate_tickets(
    seed: int, pop: Population, days: np.ndarray, counts: np.ndarray, sampler: Sampler
) -> dict[str, np.ndarray]:
    rng = rng_for(seed, STREAM["support_tickets"], int(days[0]))
    row_days = np.repeat(days, counts)
    cidx = sampler.sample(rng, row_days)
    ok = cidx >= 0
    cidx, row_days = cidx[ok], row_days[ok]
    n = len(cidx)
    pre = pop.in_precursor(cidx, row_days)
    category = _rows_pick(rng, CATEGORY_NORMAL, CATEGORY_PRECURSOR, pre)
    priority = _rows_pick(rng, PRIORITY_NORMAL, PRIORITY_PRECURSOR, pre)
    created = row_days * DAY_US + times_of_day(rng, n, WORK_HOURS)
    order = np.lexsort((created, row_days))
    cidx, row_days, pre, category, priority, created = (
        a[order] for a in (cidx, row_days, pre, category, priority, created)
    )
    hours = np.exp(np.log(MEDIAN_HOURS[priority]) + 0.9 * rng.standard_normal(n))
    resolved = rng.random(n) >= 0.03
    resolved_at = np.where(resolved, created + (hours * HOUR_US).astype(np.int64), NULL_TS)
    final_status = np.where(
        resolved, np.where(rng.random(n) < 0.55, CLOSED, RESOLVED), np.where(rng.random(n) < 0.5, OPEN, IN_PROGRESS)
    )
    csat_mu = 4.3 - 0.25 * np.log1p(hours / 24) - 1.7 * pre
    csat = np.clip(np.round(csat_mu + 0.8 * rng.standard_normal(n)), 1, 5).astype(np.int64)
    csat = np.where(resolved & (rng.random(n) < 0.62), csat, -1)
    key = day_key("ticket", row_days, per_day_sequence(row_days))
    res_day = np.where(resolved, resolved_at // DAY_US, -1)
    two = resolved & (res_day > row_days)
    # first row (on the creation day): still open if it gets resolved later
    first_status = np.where(two, np.where(rng.random(n) < 0.5, OPEN, IN_PROGRESS), final_status)
    idx = np.concatenate([np.arange(n), np.flatnonzero(two)])
    m2 = int(two.sum())
    is_second = np.concatenate([np.zeros(n, bool), np.ones(m2, bool)])
    first_final = ~two
    return {
        "ticket_id": key[idx],
        "customer_id": pop.key[cidx[idx]],
        "created_at": created[idx],
        "resolved_at": np.where(is_second | first_final[idx], resolved_at[idx], NULL_TS),
        "category": category[idx],
        "priority": priority[idx],
        "status": np.where(is_second, final_status[idx], first_status[idx]).astype(np.int16),
        "satisfaction_score": np.where(is_second | first_final[idx], csat[idx], -1),
        "_pk": key[idx],
        "_ver": is_second.astype(np.int8),
        "_load": np.where(is_second, res_day[idx], row_days[idx]).astype(np.int32),
        "_final": is_second | first_final[idx],
    }
