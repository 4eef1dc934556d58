"""Payment attempts: order payments (with the order_id), refunds of returned orders, standalone card payments,
fees, refunds and reversals (null order_id), fraud bursts and legitimate spending sprees.

``amount`` is in the local ``currency`` (USD amount / FX_RATES_TO_USD[currency]); refunds and reversals are
negative. Merchants: order payments go to the marketplace seller of the product (M000001–M000200), the bank's
own fees to M000000, card payments to the customer's handful of usual merchants (M001000 upwards, popularity
skewed); fraud hits merchants anywhere in the pool.
"""

import numpy as np

from customer360.catalog import FX_RATES_TO_USD

from .engine import NIGHT_HOURS, Sampler, per_day_sequence, times_of_day
from .fraud import Bursts
from .orders import CANCELLED, PENDING_CANCELLED, RETURNED, OrderBlock
from .population import Population
from .schema import CURRENCIES, day_key
from .util import DAY_US, HOUR_US, MINUTE_US, STREAM, hash_uniform, rng_for

FX = np.array([FX_RATES_TO_USD[c] for c in CURRENCIES])
USD = CURRENCIES.index("USD")
JPY = CURRENCIES.index("JPY")
FOREIGN_WEIGHTS = np.array([0.0, 0.35, 0.2, 0.2, 0.15, 0.05, 0.03, 0.02])  # by CURRENCIES order
# catalog orders: TRANSACTION_TYPES = purchase, refund, reversal, fee; STATUSES = success, failed, pending, reversed
PURCHASE, REFUND, REVERSAL, FEE = range(4)
SUCCESS, FAILED, PENDING, REVERSED = range(4)
SELLERS = 200
MERCHANT_BASE = 1000


def merchant_pool(scale: float) -> int:
    return max(2_000, int(50_000 * scale))


def _foreign(rng: np.random.Generator, home: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(FOREIGN_WEIGHTS)
    cur = np.minimum(np.searchsorted(cdf, rng.random(len(home)), side="right"), len(cdf) - 1)
    return np.where(cur == home, USD, cur).astype(np.int16)


def _local(usd: np.ndarray, cur: np.ndarray) -> np.ndarray:
    local = usd / FX[cur]
    return np.where(cur == JPY, np.round(local, 0), np.round(local, 2))


def _status(rng: np.random.Generator, n: int, probs) -> np.ndarray:
    cdf = np.cumsum(probs)
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(probs) - 1).astype(np.int16)


def _usual_merchant(seed: int, pop: Population, cidx: np.ndarray, rng: np.random.Generator, pool: int) -> np.ndarray:
    j = (rng.random(len(cidx)) ** 1.6 * pop.n_merchants[cidx]).astype(np.int64)
    v = hash_uniform(seed, pop.key[cidx] * 64 + j, 611)
    return MERCHANT_BASE + (pool * v**2.2).astype(np.int64)


def generate_transactions(
    seed: int,
    pop: Population,
    days: np.ndarray,
    counts: np.ndarray,
    sampler: Sampler,
    orders: OrderBlock,
    bursts: Bursts,
    pool: int,
) -> dict[str, np.ndarray]:
    rng = rng_for(seed, STREAM["transactions"], int(days[0]))
    parts = []

    # A) payments of the block's orders, pre-authorisation failures, refunds of returns
    n = len(orders.key)
    c = orders.cidx
    method = np.where(rng.random(n) < 0.85, pop.pay_method[c], (rng.random(n) * 4).astype(np.int16)).astype(np.int16)
    cur = pop.currency[c]
    status = np.full(n, SUCCESS, np.int16)
    cancelled = (orders.kind == CANCELLED) | (orders.kind == PENDING_CANCELLED)
    status = np.where(cancelled, np.where(rng.random(n) < 0.65, FAILED, REVERSED), status).astype(np.int16)
    seller = 1 + orders.product % SELLERS
    ts = np.minimum(orders.ts + (rng.random(n) * 3 * MINUTE_US).astype(np.int64), (orders.day + 1) * DAY_US - 1)
    parts.append(
        dict(
            cidx=c,
            order=orders.key,
            ts=ts,
            usd=orders.total,
            cur=cur,
            method=method,
            ttype=np.full(n, PURCHASE, np.int16),
            status=status,
            merchant=seller,
            mint=orders.day,
            fraud=np.zeros(n, bool),
        )
    )
    pre = np.flatnonzero(rng.random(n) < 0.03)
    if len(pre):
        parts.append(
            dict(
                cidx=c[pre],
                order=orders.key[pre],
                ts=np.maximum(
                    ts[pre] - ((1 + rng.random(len(pre)) * 9) * MINUTE_US).astype(np.int64), orders.day[pre] * DAY_US
                ),
                usd=orders.total[pre],
                cur=cur[pre],
                method=method[pre],
                ttype=np.full(len(pre), PURCHASE, np.int16),
                status=np.full(len(pre), FAILED, np.int16),
                merchant=seller[pre],
                mint=orders.day[pre],
                fraud=np.zeros(len(pre), bool),
            )
        )
    ret = np.flatnonzero(orders.kind == RETURNED)
    if len(ret):
        partial = np.where(rng.random(len(ret)) < 0.2, 0.5 + 0.5 * rng.random(len(ret)), 1.0)
        rts = orders.change_day[ret] * DAY_US + times_of_day(rng, len(ret))
        parts.append(
            dict(
                cidx=c[ret],
                order=orders.key[ret],
                ts=rts,
                usd=-np.round(orders.total[ret] * partial, 2),
                cur=cur[ret],
                method=method[ret],
                ttype=np.full(len(ret), REFUND, np.int16),
                status=np.full(len(ret), SUCCESS, np.int16),
                merchant=seller[ret],
                mint=orders.day[ret],
                fraud=np.zeros(len(ret), bool),
            )
        )

    # B) standalone payments, fees, refunds, reversals
    row_days = np.repeat(days, counts)
    sc = sampler.sample(rng, row_days)
    ok = sc >= 0
    sc, row_days = sc[ok], row_days[ok]
    m = len(sc)
    night = pop.night_owl[sc] & (rng.random(m) < 0.35)
    tod = np.where(night, times_of_day(rng, m, NIGHT_HOURS), times_of_day(rng, m))
    sts = row_days * DAY_US + tod
    ttype = _status(rng, m, [0.86, 0.04, 0.03, 0.07])  # purchase, refund, reversal, fee
    mu = 3.2 + pop.aov_shift[sc]
    usd = np.exp(mu + 0.9 * rng.standard_normal(m))
    usd = np.where(ttype == FEE, np.exp(1.4 + 0.6 * rng.standard_normal(m)), usd)
    usd = np.where((ttype == REFUND) | (ttype == REVERSAL), -np.exp(mu - 0.2 + 0.8 * rng.standard_normal(m)), usd)
    usd = np.round(usd, 2)
    st = _status(rng, m, [0.945, 0.04, 0.01, 0.005])
    st = np.where(ttype == FEE, np.where(rng.random(m) < 0.99, SUCCESS, FAILED), st)
    st = np.where((ttype == REFUND) | (ttype == REVERSAL), np.where(rng.random(m) < 0.97, SUCCESS, PENDING), st).astype(
        np.int16
    )
    home = pop.currency[sc]
    is_us = home == USD
    foreign_p = np.where(is_us, np.where(pop.traveller[sc], 0.2, 0.015), 0.0)
    scur = np.where(rng.random(m) < foreign_p, _foreign(rng, home), home)
    scur = np.where(~is_us & (rng.random(m) < 0.12), USD, scur).astype(np.int16)
    smethod = np.where(rng.random(m) < 0.8, pop.pay_method[sc], (rng.random(m) * 4).astype(np.int16)).astype(np.int16)
    merch = _usual_merchant(seed, pop, sc, rng, pool)
    merch = np.where(ttype == FEE, 0, merch)
    parts.append(
        dict(
            cidx=sc,
            order=np.full(m, -1, np.int64),
            ts=sts,
            usd=usd,
            cur=scur,
            method=smethod,
            ttype=ttype,
            status=st,
            merchant=merch,
            mint=row_days,
            fraud=np.zeros(m, bool),
        )
    )

    # C) fraud bursts
    if len(bursts.cidx):
        b = np.repeat(np.arange(len(bursts.cidx)), bursts.size)
        k = len(b)
        fc = bursts.cidx[b]
        fts = bursts.start[b] + (rng.random(k) * bursts.duration[b]).astype(np.int64)
        fusd = np.round(np.exp(4.1 + 1.0 * rng.standard_normal(k)), 2)
        fhome = pop.currency[fc]
        fcur = np.where(rng.random(k) < 0.55, _foreign(rng, fhome), fhome).astype(np.int16)
        fst = _status(rng, k, [0.58, 0.36, 0.02, 0.04])
        fmethod = _status(rng, k, [0.6, 0.05, 0.3, 0.05])
        fmerch = MERCHANT_BASE + (rng.random(k) * pool).astype(np.int64)
        parts.append(
            dict(
                cidx=fc,
                order=np.full(k, -1, np.int64),
                ts=fts,
                usd=fusd,
                cur=fcur,
                method=fmethod,
                ttype=np.full(k, PURCHASE, np.int16),
                status=fst,
                merchant=fmerch,
                mint=bursts.day[b],
                fraud=np.ones(k, bool),
            )
        )

    # D) legitimate sprees (noise that looks a little like a burst: daytime, home currency, usual merchants)
    n_spree = rng.poisson(0.0012 * pop.signed_by(int(days[-1])) * len(days))
    if n_spree:
        sd = days[(rng.random(n_spree) * len(days)).astype(np.int64)]
        who = sampler.sample(rng, sd)
        okw = who >= 0
        who, sd = who[okw], sd[okw]
        size = 4 + rng.integers(0, 9, len(who))
        b = np.repeat(np.arange(len(who)), size)
        k = len(b)
        start = sd * DAY_US + (9 + rng.random(len(who)) * 10) * HOUR_US
        pts = start.astype(np.int64)[b] + (rng.random(k) * 3 * HOUR_US).astype(np.int64)
        pc_ = who[b]
        parts.append(
            dict(
                cidx=pc_,
                order=np.full(k, -1, np.int64),
                ts=pts,
                usd=np.round(np.exp(3.6 + 0.8 * rng.standard_normal(k)), 2),
                cur=pop.currency[pc_],
                method=pop.pay_method[pc_],
                ttype=np.full(k, PURCHASE, np.int16),
                status=np.where(rng.random(k) < 0.95, SUCCESS, FAILED).astype(np.int16),
                merchant=_usual_merchant(seed, pop, pc_, rng, pool),
                mint=sd[b],
                fraud=np.zeros(k, bool),
            )
        )

    t = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.lexsort((t["ts"], t["mint"]))
    t = {key: v[order] for key, v in t.items()}
    tkey = day_key("transaction", t["mint"], per_day_sequence(t["mint"]))
    n = len(tkey)
    return {
        "transaction_id": tkey,
        "customer_id": pop.key[t["cidx"]],
        "order_id": t["order"],
        "transaction_date": t["ts"],
        "amount": _local(t["usd"], t["cur"]),
        "currency": t["cur"],
        "payment_method": t["method"],
        "transaction_type": t["ttype"],
        "status": t["status"],
        "merchant_id": t["merchant"],
        "_fraud": t["fraud"],
        "_pk": tkey,
        "_ver": np.zeros(n, np.int8),
        "_load": (t["ts"] // DAY_US).astype(np.int32),
        "_final": np.ones(n, bool),
    }
