"""Small vectorised helpers: seeded RNGs, counter-based hashing, day arithmetic, string formatting.

Everything the generator draws is a pure function of ``seed`` and a position (source, day, customer key), so the
same arguments always give the same bytes and ``--append-day`` can re-derive a customer's hidden traits from the
seed and the customer id alone.
"""

from datetime import date, timedelta

import numpy as np
import pyarrow as pa

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
NULL_TS = np.iinfo(np.int64).min  # sentinel for a null timestamp in an int64 µs column
NO_DAY = np.iinfo(np.int32).max  # sentinel "never" for day-ordinal columns (e.g. no churn)
EPOCH = date(1970, 1, 1)

# Stable small integers that namespace the random streams (never reorder: it would change every file).
STREAM = {
    "population": 1,
    "products": 2,
    "campaigns": 3,
    "orders": 4,
    "transactions": 5,
    "events": 6,
    "support_tickets": 7,
    "customers": 8,
    "emit": 9,
    "bad_files": 10,
    "signups": 11,
}


def rng_for(seed: int, *parts: int) -> np.random.Generator:
    """An independent generator for ``(seed, *parts)`` (e.g. source stream and day ordinal)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *map(int, parts)])))


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised (uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLD
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def hash_uniform(seed: int, keys: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [0, 1) floats that depend only on (seed, key, salt): a customer's fixed hidden traits."""
    k = np.asarray(keys, dtype=np.int64).astype(np.uint64)
    h = mix64(k ^ mix64(np.uint64((seed * 1_000_003 + salt) & 0xFFFFFFFFFFFFFFFF)))
    h = mix64(h + np.uint64(salt))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def hash_normal(seed: int, keys: np.ndarray, salt: int) -> np.ndarray:
    u1 = np.clip(hash_uniform(seed, keys, salt), 1e-12, 1.0)
    u2 = hash_uniform(seed, keys, salt + 7919)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)


def day_ordinal(d: date) -> int:
    return (d - EPOCH).days


def ordinal_date(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Day ordinals → int64 yyyymmdd (through a lookup table over the range of days)."""
    days = np.asarray(days, dtype=np.int64)
    if days.size > 64:
        lo, hi = int(days.min()), int(days.max())
        if hi - lo < 100_000:
            return _yyyymmdd(np.arange(lo, hi + 1))[days - lo]
    return _yyyymmdd(days)


def _yyyymmdd(days: np.ndarray) -> np.ndarray:
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y * 10_000 + m * 100 + dd


def weekday(days: np.ndarray | int) -> np.ndarray:
    """Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday)."""
    return (np.asarray(days, dtype=np.int64) + 3) % 7


def day_of_year(days: np.ndarray) -> np.ndarray:
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    return (d - d.astype("datetime64[Y]")).astype(np.int64)


from functools import cache, lru_cache  # noqa: E402


@cache
def _word_lut(prefix: bytes, ndigits: int) -> np.ndarray:
    """uint32 words of ``prefix + zero-padded i`` (4 bytes each) for i in 0..10**ndigits-1."""
    words = b"".join(prefix + f"{i:0{ndigits}d}".encode() for i in range(10**ndigits))
    return np.frombuffer(words, dtype="<u4").copy()


def _validity(valid: np.ndarray | None) -> pa.Buffer | None:
    if valid is None or valid.all():
        return None
    return pa.py_buffer(np.packbits(valid.astype(np.uint8), bitorder="little"))


def format_ids(prefix: str, values: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """``prefix`` + zero-padded ``values`` as an Arrow string array, without per-row Python.

    Strings whose length is a multiple of 4 are assembled as uint32 words from lookup tables (4 digits per
    gather); other lengths go digit group by digit group."""
    v = np.asarray(values, dtype=np.int64)
    v = np.where(v < 0, 0, v)
    n = len(v)
    p = prefix.encode()
    total = len(p) + width
    offsets = pa.py_buffer(np.arange(0, (n + 1) * total, total, dtype=np.int32))
    if total % 4 == 0 and len(p) < 4:
        words = np.empty((n, total // 4), dtype="<u4")
        lut4 = _word_lut(b"", 4)
        rest = v
        for j in range(total // 4 - 1, 0, -1):
            rest, r = np.divmod(rest, 10_000)
            words[:, j] = lut4[r]
        first = 4 - len(p)
        words[:, 0] = _word_lut(p, first)[rest % 10**first]
        data = words.view(np.uint8).reshape(-1)
    else:
        buf = np.empty((n, total), dtype=np.uint8)
        if p:
            buf[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
        rest = v
        for pos in range(total - 1, len(p) - 1, -1):
            rest, r = np.divmod(rest, 10)
            buf[:, pos] = r + 48
        data = buf.reshape(-1)
    return pa.StringArray.from_buffers(n, offsets, pa.py_buffer(data), _validity(valid))


def dictionary(
    codes: np.ndarray, values: tuple[str, ...] | list[str] | pa.Array, valid: np.ndarray | None = None
) -> pa.Array:
    """Integer codes into ``values`` as a dictionary array (the parquet writer stores it dictionary-encoded
    and, because the Arrow schema is not stored, readers see a plain string column)."""
    codes = np.asarray(codes)
    dict_values = values if isinstance(values, pa.Array) else _string_array(tuple(values))
    if valid is None:
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32, copy=False)), dict_values)
    idx = np.where(valid, codes, 0).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx, mask=~valid), dict_values)


@lru_cache(maxsize=256)
def _string_array(values: tuple[str, ...]) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def cumulative_round(x: np.ndarray) -> np.ndarray:
    """Round a non-negative float vector to ints whose sum equals round(sum(x)) (no drift over days)."""
    c = np.round(np.cumsum(x)).astype(np.int64)
    return np.diff(np.concatenate([[0], c]))


def pick(rng: np.random.Generator, probs: np.ndarray | list[float], size: int) -> np.ndarray:
    """Categorical draws with the given probabilities (codes 0..k-1)."""
    p = np.asarray(probs, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(p) - 1).astype(np.int16)
