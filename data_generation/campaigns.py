"""Campaign sends, opens, clicks and conversions.

Each day has one or two campaigns (a theme and a channel); each sends to a sample of the customers signed up by
then. Opens and clicks depend on archetype, channel and the churn precursor (engagement falls before churning,
stops after). A click may *cause* an order within 7 days (an order intent handed to the order generator);
``converted`` is then computed from the real orders: true iff the customer placed an order with ``order_date``
in ``[sent_at::date, sent_at::date + 7]`` that was completed (it may be returned later: the purchase happened;
cancelled orders never count).

The export is change-based: a send's row arrives on the send day, and again (full row, latest state) on the day
it was opened, clicked or converted, so staging keeps the latest version per ``campaign_id``.
"""

import numpy as np
import pyarrow as pa

from . import reference as ref
from .population import A_CLICK, A_CONV, A_OPEN, ARCH, Population
from .util import DAY_US, HOUR_US, MINUTE_US, NULL_TS, STREAM, hash_uniform, mix64, rng_for, weekday, yyyymmdd

CHANNEL_SHARE = np.array([0.55, 0.15, 0.20, 0.10])  # email, sms, push, in-app
CHANNEL_OPEN = np.array([1.0, 1.35, 0.6, 0.9])
CONVERSION_WINDOW_DAYS = 7


def campaigns_for_day(seed: int, day: int) -> tuple[np.ndarray, np.ndarray]:
    """(campaign keys, channels) sent on ``day``: key = yyyymmdd * 10 + slot."""
    n = 2 if (weekday(day) < 5 and hash_uniform(seed, np.array([day]), 801)[0] < 0.6) else 1
    keys = yyyymmdd(np.array([day]))[0] * 10 + np.arange(n, dtype=np.int64)
    return keys, campaign_channel(seed, keys)


def campaign_channel(seed: int, keys: np.ndarray) -> np.ndarray:
    u = hash_uniform(seed, keys, 802)
    return np.minimum(np.searchsorted(np.cumsum(CHANNEL_SHARE), u, side="right"), 3).astype(np.int16)


def campaign_names(seed: int, keys: np.ndarray) -> pa.Array:
    """``<theme>_<yyyymmdd>_<channel>`` — a pure function of the campaign key."""
    keys = np.asarray(keys, dtype=np.int64)
    ymd = keys // 10
    month = (ymd // 100) % 100
    theme = (hash_uniform(seed, keys, 803) * len(ref.CAMPAIGN_THEMES)).astype(np.int64)
    themes = np.array(ref.CAMPAIGN_THEMES, dtype=object)[theme]
    themes = np.where(month == 11, np.where(hash_uniform(seed, keys, 804) < 0.5, "black_friday", themes), themes)
    themes = np.where(month == 12, np.where(hash_uniform(seed, keys, 805) < 0.5, "holiday_gift_guide", themes), themes)
    ch = np.array(["email", "sms", "push", "in_app"], dtype=object)[campaign_channel(seed, keys)]
    names = [f"{t}_{d}_{c}" for t, d, c in zip(themes, ymd, ch, strict=True)]
    return pa.array(names, type=pa.string())


def generate_sends(seed: int, pop: Population, days: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """All sends of ``days`` with their (final) open and click times and order intents."""
    frames = []
    for day, n in zip(days, counts, strict=True):
        rng = rng_for(seed, STREAM["campaigns"], int(day))
        keys, chans = campaigns_for_day(seed, int(day))
        split = rng.dirichlet(np.full(len(keys), 4.0))
        sizes = np.round(n * split).astype(np.int64)
        limit = pop.signed_by(int(day))
        if limit == 0:
            continue
        for key, ch, size in zip(keys, chans, sizes, strict=True):
            size = min(int(size), limit)
            cust = np.unique(rng.integers(0, limit, size))  # one send per customer per campaign
            send_hour = 9 + int(rng.integers(0, 9))
            sent = day * DAY_US + send_hour * HOUR_US + (rng.random(len(cust)) * 90 * MINUTE_US).astype(np.int64)
            frames.append((np.full(len(cust), key), np.full(len(cust), ch, np.int16), cust, sent))
    if not frames:
        return {}
    camp = np.concatenate([f[0] for f in frames])
    chan = np.concatenate([f[1] for f in frames])
    cust = np.concatenate([f[2] for f in frames])
    sent = np.concatenate([f[3] for f in frames])
    rng = rng_for(seed, STREAM["campaigns"], int(days[0]), 1)
    n = len(cust)
    day = sent // DAY_US
    arch = pop.archetype[cust]
    act = pop.activity(cust, day)
    p_open = np.clip(ARCH[arch, A_OPEN] * CHANNEL_OPEN[chan] * pop.engagement[cust] * act, 0, 0.95)
    opened = rng.random(n) < p_open
    open_delay = np.minimum(np.exp(np.log(90) + 1.1 * rng.standard_normal(n)), 72 * 60) * MINUTE_US
    opened = opened & ((sent + open_delay.astype(np.int64)) // DAY_US < pop.churn[cust])  # nobody opens after churning
    opened_at = np.where(opened, sent + open_delay.astype(np.int64), NULL_TS)
    p_click = np.clip(ARCH[arch, A_CLICK] * np.sqrt(pop.engagement[cust]) * (0.4 + 0.6 * act), 0, 0.9)
    click_delay = np.minimum(np.exp(np.log(3) + 0.9 * rng.standard_normal(n)), 600) * MINUTE_US
    clicked = (
        opened & (rng.random(n) < p_click) & ((opened_at + click_delay.astype(np.int64)) // DAY_US < pop.churn[cust])
    )
    clicked_at = np.where(clicked, opened_at + click_delay.astype(np.int64), NULL_TS)
    intent = clicked & (rng.random(n) < ARCH[arch, A_CONV] * act)
    lag = np.minimum(rng.geometric(0.45, n) - 1, CONVERSION_WINDOW_DAYS)
    intent_day = np.where(intent, np.maximum(day + lag, clicked_at // DAY_US), -1)
    return {
        "_camp": camp,
        "_cidx": cust,
        "channel": chan,
        "sent_at": sent,
        "opened_at": opened_at,
        "clicked_at": clicked_at,
        "_intent_day": intent_day,
    }


def conversion_day(sends: dict[str, np.ndarray], completed_keys: np.ndarray) -> np.ndarray:
    """First day in [sent day, sent day + 7] with a completed order of the customer (or -1).
    ``completed_keys`` = sorted ``customer_index * 100_000 + order_day``."""
    day = sends["sent_at"] // DAY_US
    lo = sends["_cidx"] * 100_000 + day
    pos = np.searchsorted(completed_keys, lo, side="left")
    pos_c = np.minimum(pos, max(len(completed_keys) - 1, 0))
    found = (
        (pos < len(completed_keys)) & (completed_keys[pos_c] <= lo + CONVERSION_WINDOW_DAYS)
        if len(completed_keys)
        else np.zeros(len(lo), bool)
    )
    return np.where(found, completed_keys[pos_c] % 100_000, -1)


def send_rows(
    pop: Population, sends: dict[str, np.ndarray], conv_day: np.ndarray, last_day: int
) -> dict[str, np.ndarray]:
    """Versioned rows: the send day, then the day of each later change (open, click, conversion)."""
    day = sends["sent_at"] // DAY_US
    open_day = np.where(sends["opened_at"] != NULL_TS, sends["opened_at"] // DAY_US, -1)
    click_day = np.where(sends["clicked_at"] != NULL_TS, sends["clicked_at"] // DAY_US, -1)
    cand = np.stack([day, open_day, click_day, conv_day], axis=1)
    cand = np.where((cand >= day[:, None]) & (cand <= last_day), cand, day[:, None])
    cand.sort(axis=1)
    keep = np.ones_like(cand, dtype=bool)
    keep[:, 1:] = cand[:, 1:] != cand[:, :-1]
    rows, slot = np.nonzero(keep)
    load = cand[rows, slot]
    ver = np.cumsum(keep, axis=1)[rows, slot] - 1
    nver = keep.sum(axis=1)
    s = {k: v[rows] for k, v in sends.items()}
    show_open = (s["opened_at"] != NULL_TS) & (s["opened_at"] // DAY_US <= load)
    show_click = (s["clicked_at"] != NULL_TS) & (s["clicked_at"] // DAY_US <= load)
    cust_key = pop.key[s["_cidx"]]
    return {
        "campaign_id": s["_camp"],
        "customer_id": cust_key,
        "campaign_name": s["_camp"],
        "channel": s["channel"],
        "sent_at": s["sent_at"],
        "opened_at": np.where(show_open, s["opened_at"], NULL_TS),
        "clicked_at": np.where(show_click, s["clicked_at"], NULL_TS),
        "converted": (conv_day[rows] >= 0) & (conv_day[rows] <= load),
        "_camp": s["_camp"],
        "_pk": send_pk(s["_camp"], cust_key),
        "_ver": ver.astype(np.int8),
        "_load": load.astype(np.int32),
        "_final": ver == nver[rows] - 1,
    }


def send_pk(camp: np.ndarray, cust_key: np.ndarray) -> np.ndarray:
    """Unique int64 per (campaign, customer): campaign keys are unique per day and customers per campaign."""
    return (mix64(camp.astype(np.uint64) * np.uint64(1_000_003) ^ cust_key.astype(np.uint64)) >> np.uint64(1)).astype(
        np.int64
    )
