"""Clickstream: sessions of known customers (and anonymous / pre-login visitors with a null customer_id),
each a sequence of events with plausible depth, dwell times and page paths.

A known customer mostly uses their own device and browser; a fraud burst is preceded by a session on a
device/browser combination they have not used (a "new device"). Sessions of churners get rarer, shorter and
shallower before they stop.
"""

import numpy as np

from . import reference as ref
from .engine import NIGHT_HOURS, Sampler, per_day_sequence, times_of_day
from .fraud import Bursts, login_before
from .population import Population
from .schema import day_key
from .util import DAY_US, STREAM, rng_for

PAGE_VIEW, CLICK, FORM_SUBMIT, LOGIN, LOGOUT = range(5)  # catalog EVENT_TYPES order
ANONYMOUS_SHARE = 0.12
DEVICE_SHARE = np.array([0.55, 0.35, 0.10])
BROWSER_P = np.array(ref.BROWSER_WEIGHTS) / np.sum(ref.BROWSER_WEIGHTS)
LOGIN_URL, LOGOUT_URL = ref.URL_INDEX["/login"], ref.URL_INDEX["/logout"]
BROWSE = np.array(ref.BROWSE_URLS)
FORMS = np.array(ref.FORM_URLS)
CATEGORY_URL = np.array([ref.URL_INDEX[f"/c/{c}"] for c in ref.CATEGORIES])


def mean_depth(pop: Population, weights: np.ndarray) -> float:
    """Average events per session (known + anonymous), to turn the events target into a session count."""
    known = float(np.sum(weights * pop.depth) / max(np.sum(weights), 1e-9))
    return (1 - ANONYMOUS_SHARE) * known + ANONYMOUS_SHARE * 3.0


def generate_events(
    seed: int, pop: Population, days: np.ndarray, session_counts: np.ndarray, sampler: Sampler, bursts: Bursts
) -> dict[str, np.ndarray]:
    rng = rng_for(seed, STREAM["events"], int(days[0]))
    row_days = np.repeat(days, session_counts)
    n = len(row_days)
    anon = rng.random(n) < ANONYMOUS_SHARE
    cidx = np.full(n, -1, np.int64)
    known = np.flatnonzero(~anon)
    cidx[known] = sampler.sample(rng, row_days[known])
    drop = ~anon & (cidx < 0)
    row_days, cidx, anon = row_days[~drop], cidx[~drop], anon[~drop]
    n = len(row_days)
    kc = np.maximum(cidx, 0)
    act = np.where(anon, 1.0, pop.activity(kc, row_days))
    night = ~anon & pop.night_owl[kc] & (rng.random(n) < 0.3)
    start = row_days * DAY_US + np.where(night, times_of_day(rng, n, NIGHT_HOURS), times_of_day(rng, n))
    depth_mu = np.where(anon, 3.0, pop.depth[kc] * (0.45 + 0.55 * act))
    depth = np.clip(np.round(np.exp(np.log(depth_mu) + 0.55 * rng.standard_normal(n) - 0.15)), 1, 60).astype(np.int64)
    dwell = np.where(anon, 25.0, pop.dwell[kc] * (0.55 + 0.45 * act))
    own = ~anon & (rng.random(n) < 0.86)
    device = np.where(
        own, pop.device[kc], np.minimum(np.searchsorted(np.cumsum(DEVICE_SHARE), rng.random(n), side="right"), 2)
    )
    browser = np.where(
        own,
        pop.browser[kc],
        np.minimum(np.searchsorted(np.cumsum(BROWSER_P), rng.random(n), side="right"), len(BROWSER_P) - 1),
    )
    fraud_session = np.zeros(n, bool)

    # sessions that precede fraud bursts: a device/browser combination the customer does not normally use
    if len(bursts.cidx):
        fs = np.maximum(login_before(bursts, seed), bursts.day * DAY_US)
        k = len(fs)
        other_dev = (pop.device[bursts.cidx] + 1 + rng.integers(0, 2, k)) % 3
        other_br = (pop.browser[bursts.cidx] + 1 + rng.integers(0, len(BROWSER_P) - 1, k)) % len(BROWSER_P)
        row_days = np.concatenate([row_days, bursts.day])
        cidx = np.concatenate([cidx, bursts.cidx])
        anon = np.concatenate([anon, np.zeros(k, bool)])
        start = np.concatenate([start, fs])
        depth = np.concatenate([depth, 3 + rng.integers(0, 6, k)])
        dwell = np.concatenate([dwell, np.full(k, 12.0)])
        device = np.concatenate([device, other_dev])
        browser = np.concatenate([browser, other_br])
        fraud_session = np.concatenate([fraud_session, np.ones(k, bool)])
        n = len(row_days)

    order = np.lexsort((start, row_days))
    row_days, cidx, anon, start, depth, dwell, device, browser, fraud_session = (
        a[order] for a in (row_days, cidx, anon, start, depth, dwell, device, browser, fraud_session)
    )
    session_key = day_key("session", row_days, per_day_sequence(row_days))

    # expand sessions into events
    s = np.repeat(np.arange(n), depth)
    m = len(s)
    first = np.concatenate([[0], np.cumsum(depth)[:-1]])
    pos = np.arange(m) - first[s]
    last = pos == depth[s] - 1
    gaps = np.exp(np.log(dwell[s]) + 0.8 * rng.standard_normal(m) - 0.32) * 1e6
    gaps = np.where(pos == 0, 0.0, gaps)
    csum = np.cumsum(gaps)
    offset = (csum - csum[first[s]]).astype(np.int64)
    # a session ends before midnight of its day (it starts earlier if it would not)
    length = offset[first + depth - 1]
    start = np.maximum(np.minimum(start, (row_days + 1) * DAY_US - 1 - length), row_days * DAY_US)
    ts = np.minimum(start[s] + offset, (row_days[s] + 1) * DAY_US - 1)

    is_anon = anon[s]
    r = rng.random(m)
    etype = np.where(r < 0.6, PAGE_VIEW, np.where(r < 0.9, CLICK, FORM_SUBMIT))
    etype = np.where(is_anon & (etype == FORM_SUBMIT), PAGE_VIEW, etype)
    login_first = (~is_anon) & (pos == 0) & ((rng.random(m) < 0.55) | fraud_session[s])
    etype = np.where(login_first, LOGIN, etype)
    etype = np.where((pos == 0) & ~login_first, PAGE_VIEW, etype)
    logout = (~is_anon) & last & (pos >= 2) & (rng.random(m) < 0.3)
    etype = np.where(logout, LOGOUT, etype)
    late_login = is_anon & last & (pos >= 1) & (rng.random(m) < 0.15)  # pre-login visit that ends in a login
    etype = np.where(late_login, LOGIN, etype).astype(np.int16)

    kc = np.maximum(cidx[s], 0)
    browse = BROWSE[(rng.random(m) * len(BROWSE)).astype(np.int64)]
    fav = CATEGORY_URL[pop.cats[kc, 0]]
    url = np.where(~is_anon & (rng.random(m) < 0.35), fav, browse)
    url = np.where(etype == FORM_SUBMIT, FORMS[(rng.random(m) * len(FORMS)).astype(np.int64)], url)
    url = np.where(fraud_session[s] & (etype == FORM_SUBMIT), ref.URL_INDEX["/account/payment-methods"], url)
    url = np.where(etype == LOGIN, LOGIN_URL, np.where(etype == LOGOUT, LOGOUT_URL, url)).astype(np.int16)

    mint = row_days[s]
    ekey = day_key("event", mint, per_day_sequence(mint))
    return {
        "event_id": ekey,
        "customer_id": np.where(is_anon, -1, pop.key[kc]),
        "session_id": session_key[s],
        "event_type": etype,
        "page_url": url,
        "event_timestamp": ts,
        "device_type": device[s].astype(np.int16),
        "browser": browser[s].astype(np.int16),
        "_pk": ekey,
        "_ver": np.zeros(m, np.int8),
        "_load": (ts // DAY_US).astype(np.int32),
        "_final": np.ones(m, bool),
    }
