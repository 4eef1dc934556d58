"""Customer profile feed: a row when a customer signs up, and a full profile row again whenever something
changes (KYC decided or expired, account suspended / reactivated / dormant / closed, phone added).

The first file of a fresh window also carries every customer who signed up before the window (the CRM's
initial export), with their profile as of that day. All change days are pure functions of (seed, customer key)
and the planted truth, so ``--append-day`` emits the same kind of changes for the day it adds.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import reference as ref
from .population import (
    DORMANT,
    S_ACCT,
    S_ACCTDAY,
    S_DORMANT,
    S_EXPIRE,
    S_KYC,
    S_KYCDAYS,
    S_NAME1,
    S_NAME2,
    S_PHONE,
    S_PHONEDAY,
    S_SUSPEND,
    Population,
)
from .util import NO_DAY, hash_uniform

# catalog orders
PENDING, VERIFIED, FAILED, EXPIRED = range(4)  # KYC_STATUSES
ACTIVE, SUSPENDED, CLOSED, DORMANT_ST = range(4)  # ACCOUNT_STATUSES
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me", "example.org")


class Profiles:
    """Per-customer change schedule (day ordinals; NO_DAY = never)."""

    def __init__(self, pop: Population):
        s, k = pop.seed, pop.key
        u = lambda salt: hash_uniform(s, k, salt)  # noqa: E731
        signup = pop.signup.astype(np.int64)
        self.first_name = (u(S_NAME1) * len(ref.FIRST_NAMES)).astype(np.int16)
        self.last_name = (u(S_NAME2) * len(ref.LAST_NAMES)).astype(np.int16)
        self.kyc_day = signup + (u(S_KYCDAYS) * 6).astype(np.int64)
        r = u(S_KYC)
        self.kyc_outcome = np.where(
            pop.fraud,
            np.where(r < 0.70, VERIFIED, np.where(r < 0.90, FAILED, PENDING)),
            np.where(r < 0.91, VERIFIED, np.where(r < 0.96, FAILED, PENDING)),
        )
        self.expire_day = np.where(
            (self.kyc_outcome == VERIFIED) & (u(S_EXPIRE) < 0.05),
            self.kyc_day + 200 + (u(S_EXPIRE + 1) * 500).astype(np.int64),
            NO_DAY,
        )
        ra, rd = u(S_ACCT), u(S_ACCTDAY)
        churn = pop.churn.astype(np.int64)
        churner = pop.churn != NO_DAY
        d1 = np.full(pop.n, NO_DAY, np.int64)
        s1 = np.full(pop.n, ACTIVE, np.int64)
        close = churner & (ra < 0.4)
        d1 = np.where(close, churn + 5 + (rd * 35).astype(np.int64), d1)
        s1 = np.where(close, CLOSED, s1)
        dorm = churner & (ra >= 0.4) & (ra < 0.7)
        d1 = np.where(dorm, churn + 30 + (rd * 30).astype(np.int64), d1)
        s1 = np.where(dorm, DORMANT_ST, s1)
        arch_dorm = ~churner & (pop.archetype == DORMANT) & (u(S_DORMANT) < 0.35)
        d1 = np.where(arch_dorm, signup + 100 + (rd * 400).astype(np.int64), d1)
        s1 = np.where(arch_dorm, DORMANT_ST, s1)
        rs = u(S_SUSPEND)
        susp = pop.fraud & (rs < 0.45)
        d1 = np.where(susp, signup + 20 + (rd * 300).astype(np.int64), d1)
        s1 = np.where(susp, SUSPENDED, s1)
        noise = ~pop.fraud & (d1 == NO_DAY) & (rs < 0.006)
        d1 = np.where(noise, signup + 30 + (rd * 600).astype(np.int64), d1)
        s1 = np.where(noise, SUSPENDED, s1)
        self.acct_day, self.acct_status = d1, s1
        self.reactivate_day = np.where(noise, d1 + 5 + (u(S_SUSPEND + 1) * 25).astype(np.int64), NO_DAY)
        has_phone = u(S_PHONE) < 0.7
        self.phone_day = np.where(
            has_phone,
            signup,
            np.where(u(S_PHONEDAY) < 0.3, signup + 10 + (u(S_PHONEDAY + 1) * 190).astype(np.int64), NO_DAY),
        )
        self.phone = 2_000_000_000 + (u(S_PHONE + 1) * 7_999_999_999).astype(np.int64)

    def change_days(self) -> list[np.ndarray]:
        return [self.kyc_day, self.expire_day, self.acct_day, self.reactivate_day, self.phone_day]

    def state(self, pop: Population, idx: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
        d = np.asarray(day, dtype=np.int64)
        kyc = np.where(d < self.kyc_day[idx], PENDING, self.kyc_outcome[idx])
        kyc = np.where((kyc == VERIFIED) & (d >= self.expire_day[idx]), EXPIRED, kyc)
        acct = np.where(d >= self.acct_day[idx], self.acct_status[idx], ACTIVE)
        acct = np.where(d >= self.reactivate_day[idx], ACTIVE, acct)
        phone = np.where(d >= self.phone_day[idx], self.phone[idx], -1)
        return {
            "customer_id": pop.key[idx],
            "first_name": self.first_name[idx],
            "last_name": self.last_name[idx],
            "email": idx,
            "phone": phone,
            "signup_date": pop.signup[idx].astype(np.int32),
            "state": pop.state[idx],
            "country": pop.country[idx],
            "kyc_status": kyc.astype(np.int16),
            "account_status": acct.astype(np.int16),
            "preferred_language": pop.language[idx],
            "_cidx": idx,
        }


def customer_rows(
    pop: Population, prof: Profiles, first: int, last: int, initial_export: bool
) -> dict[str, np.ndarray]:
    """Rows arriving on days ``first..last``: sign-ups, changes, and (``initial_export``) everyone who signed
    up before ``first`` on day ``first``."""
    idx_parts, day_parts = [], []
    signup = pop.signup.astype(np.int64)
    new = np.flatnonzero((signup >= first) & (signup <= last))
    idx_parts.append(new)
    day_parts.append(signup[new])
    if initial_export:
        old = np.flatnonzero(signup < first)
        idx_parts.append(old)
        day_parts.append(np.full(len(old), first, np.int64))
    for cd in prof.change_days():
        cd = np.asarray(cd, dtype=np.int64)
        hit = np.flatnonzero((cd >= first) & (cd <= last) & (cd > signup))
        idx_parts.append(hit)
        day_parts.append(cd[hit])
    idx = np.concatenate(idx_parts)
    day = np.concatenate(day_parts)
    key = idx * 1_000_000 + (day - first)
    _, uniq = np.unique(key, return_index=True)
    idx, day = idx[uniq], day[uniq]
    frame = prof.state(pop, idx, day)
    # the last row of each customer in this range is their final version (only those may be late / re-sent)
    order = np.lexsort((day, idx))
    final = np.zeros(len(idx), bool)
    if len(idx):
        final_sorted = np.ones(len(idx), bool)
        final_sorted[:-1] = idx[order][1:] != idx[order][:-1]
        final[order] = final_sorted
    frame.update(
        {"_pk": pop.key[idx], "_ver": (day - first).astype(np.int32), "_load": day.astype(np.int32), "_final": final}
    )
    return frame


def _base36(keys: np.ndarray, width: int = 9) -> pa.Array:
    alphabet = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    v = np.asarray(keys, dtype=np.int64).copy()
    out = np.empty((len(v), width), dtype=np.uint8)
    for i in range(width - 1, -1, -1):
        out[:, i] = alphabet[v % 36]
        v //= 36
    offsets = np.arange(0, (len(v) + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(len(v), pa.py_buffer(offsets), pa.py_buffer(out.reshape(-1)))


def email_lookup(pop: Population, prof: Profiles) -> pa.Array:
    """``first.last.<base36 key>@domain`` — unique because the key is."""
    first = pa.array(np.array(ref.FIRST_NAMES, dtype=object)[prof.first_name], pa.string())
    last = pa.array(np.array(ref.LAST_NAMES, dtype=object)[prof.last_name], pa.string())
    dom = (hash_uniform(pop.seed, pop.key, 950) * len(DOMAINS)).astype(np.int64)
    domain = pa.array(np.array(DOMAINS, dtype=object)[dom], pa.string())
    local = pc.binary_join_element_wise(first, last, _base36(pop.key), ".")
    return pc.binary_join_element_wise(local, domain, "@")
