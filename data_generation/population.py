"""The customer population and its hidden behaviour (the planted truth).

Every customer has an *archetype* (how much they buy and engage), may be a *fraudster*, and may *churn* on a
day inside the window. Their fixed traits (country, devices, favourite categories, rate multipliers, …) are hashes
of ``(seed, customer key)``, so a population can be rebuilt from the truth file and the seed alone
(``--append-day`` relies on this).

Customer keys are ``yyyymmdd(signup) * 10**6 + sequence``: sorted by key = sorted by signup day, which lets the
samplers pick "customers signed up by day d" as a prefix of the arrays.
"""

from dataclasses import dataclass

import numpy as np

from . import reference as ref
from .util import NO_DAY, STREAM, cumulative_round, hash_normal, hash_uniform, rng_for, weekday, yyyymmdd

ARCHETYPES = ("high_value", "loyal", "regular", "bargain", "dormant", "new")
HIGH_VALUE, LOYAL, REGULAR, BARGAIN, DORMANT, NEW = range(6)
ARCHETYPE_SHARE = np.array([0.08, 0.20, 0.27, 0.20, 0.25])  # of the non-"new" customers

# Per-archetype behaviour: each column is a multiplier or parameter, rows in ARCHETYPES order.
#                      order  session txn  ticket open  click conv  price_q aov_mu depth dwell_s churn_p
ARCH = np.array(
    [
        [4.2, 2.6, 3.0, 0.8, 0.46, 0.32, 0.45, 0.82, 0.35, 9.0, 58, 0.08],  # high_value
        [2.4, 2.1, 1.8, 0.9, 0.40, 0.24, 0.35, 0.55, 0.05, 7.0, 46, 0.07],  # loyal
        [1.0, 1.0, 1.0, 1.0, 0.22, 0.12, 0.22, 0.50, 0.00, 5.0, 36, 0.20],  # regular
        [1.6, 1.4, 1.2, 1.2, 0.34, 0.26, 0.30, 0.14, -0.55, 6.0, 28, 0.20],  # bargain
        [0.12, 0.16, 0.25, 0.45, 0.06, 0.04, 0.10, 0.40, -0.10, 3.0, 20, 0.34],  # dormant
        [0.8, 2.3, 0.8, 1.6, 0.36, 0.20, 0.25, 0.45, -0.05, 6.0, 40, 0.0],  # new
    ]
)
A_ORDER, A_SESSION, A_TXN, A_TICKET, A_OPEN, A_CLICK, A_CONV, A_PRICEQ, A_AOV, A_DEPTH, A_DWELL, A_CHURN = range(12)

FRAUD_RATE = 0.015  # share of customers who are fraudsters
PRE_WINDOW_SHARE = 0.55  # customers who signed up before the window (arrive in the first customers file)
NEW_DAYS = 60  # customers signed up in the last NEW_DAYS of the initial window are archetype "new"
MIN_HISTORY_BEFORE_CHURN = 90

# salts for hash_uniform (never reorder)
(
    S_ARCH,
    S_FRAUD,
    S_CHURN,
    S_CHURN_DAY,
    S_COUNTRY,
    S_STATE,
    S_DEVICE,
    S_BROWSER,
    S_PAY,
    S_CHAN,
    S_CAT1,
    S_CAT2,
    S_CAT3,
    S_ORD,
    S_SES,
    S_TXN,
    S_TIK,
    S_ENG,
    S_PRICE,
    S_PREC,
    S_FLOOR,
    S_DIP,
    S_DIPLEN,
    S_NIGHT,
    S_TRAVEL,
    S_KYC,
    S_KYCDAYS,
    S_EXPIRE,
    S_ACCT,
    S_ACCTDAY,
    S_PHONE,
    S_PHONEDAY,
    S_NAME1,
    S_NAME2,
    S_NMERCH,
    S_AOV,
    S_DORMANT,
    S_SUSPEND,
) = range(100, 138)


@dataclass
class Population:
    seed: int
    key: np.ndarray  # int64, sorted
    signup: np.ndarray  # int32 day ordinal
    archetype: np.ndarray  # int8
    fraud: np.ndarray  # bool
    churn: np.ndarray  # int32 day ordinal or NO_DAY

    def __post_init__(self) -> None:
        self.derive_traits()

    @property
    def n(self) -> int:
        return len(self.key)

    def derive_traits(self) -> None:
        """Fixed per-customer traits, pure functions of (seed, key) and the truth columns."""
        s, k, a = self.seed, self.key, self.archetype.astype(np.int64)
        u = lambda salt: hash_uniform(s, k, salt)  # noqa: E731
        shares = np.cumsum([c[3] for c in ref.COUNTRY_PROFILE])
        self.country = np.minimum(
            np.searchsorted(shares / shares[-1], u(S_COUNTRY), side="right"), len(shares) - 1
        ).astype(np.int16)
        home = {c[0]: c[1] for c in ref.COUNTRY_PROFILE}
        from .schema import CURRENCIES

        self.currency = np.array([CURRENCIES.index(home[c]) for c in ref.COUNTRIES], dtype=np.int16)[self.country]
        self.language = np.array([ref.LANGUAGES.index(c[2]) for c in ref.COUNTRY_PROFILE], dtype=np.int16)[self.country]
        # 8% of customers prefer English whatever their country, a few US customers prefer Spanish
        en = u(S_NAME2 + 50) < 0.08
        self.language = np.where(en, 0, self.language).astype(np.int16)
        es = (self.country == 0) & (u(S_NAME2 + 51) < 0.07)
        self.language = np.where(es, 1, self.language).astype(np.int16)
        sw = np.cumsum(ref.US_STATE_WEIGHTS) / np.sum(ref.US_STATE_WEIGHTS)
        st = np.minimum(np.searchsorted(sw, u(S_STATE), side="right"), len(sw) - 1).astype(np.int16)
        self.state = np.where(self.country == 0, st, -1).astype(np.int16)
        self.device = np.searchsorted([0.55, 0.9, 1.0], u(S_DEVICE), side="right").clip(0, 2).astype(np.int16)
        bw = np.cumsum(ref.BROWSER_WEIGHTS[:7]) / np.sum(ref.BROWSER_WEIGHTS[:7])  # usual browsers only
        self.browser = np.minimum(np.searchsorted(bw, u(S_BROWSER), side="right"), 6).astype(np.int16)
        self.pay_method = np.searchsorted([0.62, 0.80, 0.96, 1.0], u(S_PAY), side="right").clip(0, 3).astype(np.int16)
        self.channel = np.searchsorted([0.45, 0.80, 0.92, 1.0], u(S_CHAN), side="right").clip(0, 3).astype(np.int16)
        ncat = len(ref.CATEGORIES)
        c1 = (u(S_CAT1) * ncat).astype(np.int16)
        c2 = (c1 + 1 + (u(S_CAT2) * (ncat - 1)).astype(np.int16)) % ncat
        c3 = (c1 + 1 + (u(S_CAT3) * (ncat - 1)).astype(np.int16)) % ncat
        self.cats = np.stack([c1, c2, c3], axis=1).astype(np.int16)
        self.n_cats = np.array([3, 3, 2, 2, 1, 2])[a] + (u(S_CAT3 + 60) < 0.3)
        lognoise = lambda salt, sd: np.exp(sd * hash_normal(s, k, salt) - sd * sd / 2)  # noqa: E731
        self.w_order = ARCH[a, A_ORDER] * lognoise(S_ORD, 0.5)
        self.w_session = ARCH[a, A_SESSION] * lognoise(S_SES, 0.45)
        self.w_txn = ARCH[a, A_TXN] * lognoise(S_TXN, 0.5)
        self.w_ticket = ARCH[a, A_TICKET] * lognoise(S_TIK, 0.6)
        self.engagement = np.clip(lognoise(S_ENG, 0.35), 0.3, 2.5)
        self.price_q = np.clip(ARCH[a, A_PRICEQ] + 0.16 * hash_normal(s, k, S_PRICE), 0.0, 0.999)
        self.aov_shift = ARCH[a, A_AOV] + 0.25 * hash_normal(s, k, S_AOV)
        self.depth = ARCH[a, A_DEPTH] * lognoise(S_SES + 70, 0.25)
        self.dwell = ARCH[a, A_DWELL] * lognoise(S_SES + 71, 0.3)
        self.n_merchants = (3 + u(S_NMERCH) * np.array([14, 12, 8, 10, 3, 6])[a]).astype(np.int64)
        self.night_owl = u(S_NIGHT) < 0.05
        self.traveller = u(S_TRAVEL) < 0.04
        # churn precursor: activity falls linearly over `prec_days` to `floor` before the churn day
        self.prec_days = (30 + 45 * u(S_PREC)).astype(np.int32)
        self.floor = 0.12 + 0.3 * u(S_FLOOR)
        # noise: a temporary dip in activity for some customers who never churn (looks like a precursor)
        has_dip = (u(S_DIP) < 0.15) & (self.churn == NO_DAY)
        self.dip_start = np.where(has_dip, self.signup + 20 + (u(S_DIP + 1) * 400).astype(np.int32), NO_DAY).astype(
            np.int32
        )
        self.dip_len = (20 + 40 * u(S_DIPLEN)).astype(np.int32)

    # ---- activity factors -------------------------------------------------------------------------------------
    def activity(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Multiplier in [0, 1] of a customer's activity on a day: 0 before signup and from the churn day on,
        falling before churn (precursor), reduced during a dip."""
        d = np.asarray(day, dtype=np.int64)
        churn = self.churn[idx].astype(np.int64)
        start = churn - self.prec_days[idx]
        fl = self.floor[idx]
        ramp = np.clip((d - start) / np.maximum(churn - start, 1), 0.0, 1.0)
        f = 1.0 - (1.0 - fl) * ramp
        f = np.where(d >= churn, 0.0, f)
        f = np.where(d < self.signup[idx], 0.0, f)
        dip = (d >= self.dip_start[idx]) & (d < self.dip_start[idx].astype(np.int64) + self.dip_len[idx])
        return np.where(dip, f * 0.3, f)

    def in_precursor(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        churn = self.churn[idx].astype(np.int64)
        d = np.asarray(day, dtype=np.int64)
        return (d < churn) & (d >= churn - self.prec_days[idx])

    def signed_by(self, day: int) -> int:
        """Number of customers who signed up on or before ``day`` (a prefix, keys are sorted by signup)."""
        return int(np.searchsorted(self.signup, day, side="right"))


def key_signup_day(keys: np.ndarray) -> np.ndarray:
    ymd = np.asarray(keys, dtype=np.int64) // 10**6
    y, m, d = ymd // 10_000, (ymd // 100) % 100, ymd % 100
    months = (y - 1970) * 12 + (m - 1)
    return (months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + d - 1).astype(np.int32)


def signup_keys(days: np.ndarray) -> np.ndarray:
    """Keys for customers signing up on ``days`` (sorted input): yyyymmdd * 10**6 + per-day sequence."""
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0:
        return np.zeros(0, np.int64)
    first = np.searchsorted(days, days, side="left")
    seq = np.arange(len(days)) - first
    if seq.max() >= 900_000:
        raise OverflowError("more than 900,000 sign-ups on one day; lower --scale")
    return yyyymmdd(days) * 10**6 + seq


def signup_shape(days: np.ndarray) -> np.ndarray:
    """Relative sign-up intensity per day: growth trend, weekly shape, January/November bumps."""
    wd = weekday(days)
    shape = np.array([1.05, 1.0, 1.0, 1.0, 0.95, 0.9, 0.95])[wd]
    m = (np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1
    return shape * np.where(np.isin(m, [1, 11]), 1.15, 1.0)


def build_population(seed: int, n_customers: int, start: int, end: int) -> Population:
    """Sign-up days, archetypes, fraudsters and churn for a fresh window ``[start, end]`` (day ordinals)."""
    rng = rng_for(seed, STREAM["population"])
    n_pre = round(n_customers * PRE_WINDOW_SHARE)
    n_in = n_customers - n_pre
    # before the window: up to three years back, denser closer to the window (growth)
    back = (3 * 365 * rng.random(n_pre) ** 1.6).astype(np.int64) + 1
    pre_days = start - back
    window = np.arange(start, end + 1)
    trend = 0.8 + 0.4 * (window - start) / max(end - start, 1)
    w = signup_shape(window) * trend
    counts = cumulative_round(n_in * w / w.sum())
    in_days = np.repeat(window, counts)
    days = np.sort(np.concatenate([pre_days, in_days]))
    keys = signup_keys(days)
    signup = days.astype(np.int32)

    u = lambda salt: hash_uniform(seed, keys, salt)  # noqa: E731
    arch = np.searchsorted(np.cumsum(ARCHETYPE_SHARE), u(S_ARCH) * ARCHETYPE_SHARE.sum(), side="right").clip(0, 4)
    arch = np.where(signup > end - NEW_DAYS, NEW, arch).astype(np.int8)
    # fraudsters: more likely among accounts opened recently (in the window)
    p_fraud = np.where(signup >= start, FRAUD_RATE * 1.5, FRAUD_RATE * 0.6)
    fraud = u(S_FRAUD) < p_fraud
    # churners: must have >= 90 days of history before churning; churn days spread over the window so that a
    # model trained at cut-off T-90 sees many recent churners with their precursors.
    earliest = np.maximum(signup.astype(np.int64) + MIN_HISTORY_BEFORE_CHURN, start + 45)
    latest = end - 3
    can = earliest <= latest
    churner = can & (u(S_CHURN) < ARCH[arch, A_CHURN] * 1.2)
    churn_day = earliest + (u(S_CHURN_DAY) * np.maximum(latest - earliest + 1, 1)).astype(np.int64)
    churn = np.where(churner, churn_day, NO_DAY).astype(np.int32)
    return Population(seed, keys, signup, arch, fraud, churn)
