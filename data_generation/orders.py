"""Orders: who buys what, for how much, through which channel, and how the order's status evolves.

``total_amount = quantity × unit_price × (1 + markup)`` with ``markup`` in [5 %, 45 %] (narrower for bargain
hunters), so the design's ``gross_margin = total_amount − unit_price × quantity`` is the (mostly positive) margin
over the catalogue's list price. Status lifecycle (each change is a new row in the day's file, same order_id):
completed; pending → completed a day or two later; pending → cancelled (or cancelled outright); completed →
returned 3–30 days later (the refund transaction is generated with it).
"""

from dataclasses import dataclass

import numpy as np

from . import reference as ref
from .engine import Sampler, per_day_sequence, times_of_day
from .population import BARGAIN, HIGH_VALUE, Population
from .products import Available
from .schema import day_key
from .util import DAY_US, STREAM, rng_for

# lifecycle kinds
COMPLETED, PENDING_COMPLETED, CANCELLED, PENDING_CANCELLED, RETURNED = range(5)
LIFECYCLE_SHARE = np.array([0.79, 0.06, 0.03, 0.04, 0.08])
CHANNEL_SHARE = np.array([0.45, 0.35, 0.12, 0.08])
ST_COMPLETED, ST_CANCELLED, ST_PENDING, ST_RETURNED = range(4)  # catalog ORDER_STATUSES order


@dataclass
class OrderBlock:
    key: np.ndarray
    cidx: np.ndarray
    day: np.ndarray
    ts: np.ndarray  # time the order was placed (µs), drives the payment transaction
    total: np.ndarray
    product: np.ndarray
    kind: np.ndarray
    change_day: np.ndarray  # day of the second status (or -1)
    quantity: np.ndarray
    channel: np.ndarray

    @property
    def purchased(self) -> np.ndarray:
        """Orders that were completed (a later return does not undo the purchase a campaign converted)."""
        return (self.kind == COMPLETED) | (self.kind == PENDING_COMPLETED) | (self.kind == RETURNED)


def generate_orders(
    seed: int,
    pop: Population,
    days: np.ndarray,
    counts: np.ndarray,
    sampler: Sampler,
    intents: tuple[np.ndarray, np.ndarray],
    avail: Available,
) -> OrderBlock:
    rng = rng_for(seed, STREAM["orders"], int(days[0]))
    row_days = np.repeat(days, counts)
    cidx = sampler.sample(rng, row_days)
    ok = cidx >= 0
    cidx, row_days = cidx[ok], row_days[ok]
    # orders caused by campaign clicks (the conversion is real: the order exists)
    i_cidx, i_day = intents
    cidx = np.concatenate([cidx, i_cidx])
    row_days = np.concatenate([row_days, i_day])
    order = np.argsort(row_days, kind="stable")
    cidx, row_days = cidx[order], row_days[order]
    n = len(cidx)
    arch = pop.archetype[cidx]

    # product: mostly from the customer's favourite categories, at their usual price level
    fav = (rng.random(n) * pop.n_cats[cidx]).astype(np.int64)
    cat = np.where(
        rng.random(n) < 0.78, pop.cats[cidx, np.minimum(fav, 2)], (rng.random(n) * len(ref.CATEGORIES)).astype(np.int16)
    )
    q = np.clip(pop.price_q[cidx] + 0.12 * rng.standard_normal(n), 0.0, 0.999)
    pos = avail.pick(cat, q)
    product = avail.seq[pos]
    price = avail.price[pos]
    quantity = np.minimum(rng.geometric(np.where(arch == BARGAIN, 0.45, 0.62)), 12)
    lo = np.where(arch == BARGAIN, 0.05, np.where(arch == HIGH_VALUE, 0.18, 0.08))
    hi = np.where(arch == BARGAIN, 0.22, 0.45)
    markup = lo + (hi - lo) * rng.random(n)
    total = np.round(quantity * price * (1.0 + markup), 2)

    share = np.tile(LIFECYCLE_SHARE, (n, 1))
    share[:, RETURNED] *= np.where(arch == BARGAIN, 1.5, np.where(arch == HIGH_VALUE, 0.6, 1.0))
    cdf = np.cumsum(share, axis=1)
    kind = (rng.random(n)[:, None] * cdf[:, -1:] >= cdf).sum(axis=1).astype(np.int8)
    change = np.full(n, -1, dtype=np.int64)
    change = np.where(kind == PENDING_COMPLETED, row_days + 1 + (rng.random(n) < 0.3), change)
    change = np.where(kind == PENDING_CANCELLED, row_days + 1, change)
    change = np.where(kind == RETURNED, row_days + 3 + np.minimum(rng.geometric(0.12, n), 27), change)
    # a customer who has churned does not come back to return an order: it stays completed
    gone = (kind == RETURNED) & (change >= pop.churn[cidx])
    kind = np.where(gone, COMPLETED, kind).astype(np.int8)
    change = np.where(gone, -1, change)

    channel = np.where(
        rng.random(n) < 0.7,
        pop.channel[cidx],
        np.searchsorted(np.cumsum(CHANNEL_SHARE), rng.random(n), side="right").clip(0, 3),
    ).astype(np.int16)
    ts = row_days * DAY_US + times_of_day(rng, n)
    key = day_key("order", row_days, per_day_sequence(row_days))
    return OrderBlock(key, cidx, row_days, ts, total, product, kind, change, quantity, channel)


def order_rows(pop: Population, ob: OrderBlock) -> dict[str, np.ndarray]:
    """One row per status the order goes through (first status on the order day, the change on its day)."""
    n = len(ob.key)
    first_status = np.select(
        [
            ob.kind == COMPLETED,
            ob.kind == PENDING_COMPLETED,
            ob.kind == CANCELLED,
            ob.kind == PENDING_CANCELLED,
            ob.kind == RETURNED,
        ],
        [ST_COMPLETED, ST_PENDING, ST_CANCELLED, ST_PENDING, ST_COMPLETED],
    )
    second_status = np.select(
        [ob.kind == PENDING_COMPLETED, ob.kind == PENDING_CANCELLED, ob.kind == RETURNED],
        [ST_COMPLETED, ST_CANCELLED, ST_RETURNED],
        -1,
    )
    has2 = ob.change_day >= 0
    idx = np.concatenate([np.arange(n), np.flatnonzero(has2)])
    ver = np.concatenate([np.zeros(n, np.int8), np.ones(int(has2.sum()), np.int8)])
    status = np.concatenate([first_status, second_status[has2]]).astype(np.int16)
    load = np.concatenate([ob.day, ob.change_day[has2]]).astype(np.int32)
    final = np.concatenate([~has2, np.ones(int(has2.sum()), bool)])
    return {
        "order_id": ob.key[idx],
        "customer_id": pop.key[ob.cidx[idx]],
        "order_date": ob.day[idx].astype(np.int32),
        "order_status": status,
        "total_amount": ob.total[idx],
        "product_id": ob.product[idx],
        "quantity": ob.quantity[idx].astype(np.int64),
        "channel": ob.channel[idx],
        "_pk": ob.key[idx],
        "_ver": ver,
        "_load": load,
        "_final": final,
    }
