"""Physical layout of the landing files, derived from :mod:`customer360.catalog`.

Inside the generator a source is a *frame*: a ``dict`` of equally long numpy arrays holding compact codes (int64
keys for ids, small ints for enum codes, int64 µs for timestamps, int32 day ordinals for dates). Columns whose
name starts with ``_`` are bookkeeping (arrival day, version, planted truth) and never reach a file. A *codec*
per catalog column turns the codes into the Arrow column at write time, so strings are built only once per file
and without per-row Python.

Physical types (fixed for every file): ids and text → string, money → float64, dates → date32,
timestamps → timestamp[us, tz=UTC], counts → int64, flags → bool.
"""

import io
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from customer360.catalog import (
    ACCOUNT_STATUSES,
    CAMPAIGN_CHANNELS,
    DEVICE_TYPES,
    EVENT_TYPES,
    FX_RATES_TO_USD,
    KYC_STATUSES,
    ORDER_CHANNELS,
    ORDER_STATUSES,
    PAYMENT_METHODS,
    SOURCES,
    TICKET_CATEGORIES,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    TRANSACTION_STATUSES,
    TRANSACTION_TYPES,
)

from . import reference as ref
from .util import NULL_TS, dictionary, format_ids, yyyymmdd

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}

CURRENCIES = tuple(FX_RATES_TO_USD)


def arrow_schema(source: str) -> pa.Schema:
    """The schema every landing file of ``source`` has (catalog columns, catalog order)."""
    s = SOURCES[source]
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in s.columns])


# Id formats: prefix + fixed number of digits. Day-stamped ids (yyyymmdd + per-day sequence) can never collide
# between runs that generate different days, which is what lets --append-day mint new ids without a counter.
ID_FORMATS: dict[str, tuple[str, int]] = {
    "customer": ("CU", 14),  # yyyymmdd of signup + 6-digit sequence
    "order": ("O", 15),  # yyyymmdd + 7
    "transaction": ("T", 15),  # yyyymmdd + 7
    "event": ("E", 15),  # yyyymmdd + 7
    "session": ("S", 15),  # yyyymmdd + 7
    "ticket": ("TCK", 13),  # yyyymmdd + 5
    "product": ("P", 7),
    "merchant": ("M", 7),
}
SEQ_DIGITS = {"customer": 6, "order": 7, "transaction": 7, "event": 7, "session": 7, "ticket": 5}
# Defective rows in --bad-files use sequence numbers from this offset upwards, so they never share a key with
# a good row (a partly accepted bad file can then never overwrite a good row in staging's "latest wins").
BAD_SEQ_FRACTION = 0.9


def day_key(kind: str, days: np.ndarray, seq: np.ndarray) -> np.ndarray:
    digits = SEQ_DIGITS[kind]
    if len(seq) and int(np.max(seq)) >= int(10**digits * BAD_SEQ_FRACTION):
        raise OverflowError(f"too many {kind} ids on one day for {digits} sequence digits; lower --scale")
    return yyyymmdd(days) * 10**digits + np.asarray(seq, dtype=np.int64)


def bad_day_key(kind: str, day: int, seq: np.ndarray) -> np.ndarray:
    digits = SEQ_DIGITS[kind]
    return yyyymmdd(np.array([day]))[0] * 10**digits + int(10**digits * BAD_SEQ_FRACTION) + np.asarray(seq)


def fmt(kind: str):
    prefix, width = ID_FORMATS[kind]
    return lambda keys, valid=None: format_ids(prefix, keys, width, valid)


@dataclass(frozen=True)
class Codec:
    kind: str  # id | fk | cat | lookup | float | int | bool | date | ts | campaign_id
    id_kind: str = ""
    values: tuple[str, ...] = ()
    lookup: str = ""  # name of a run-level lookup array (e.g. product names)
    index: str = ""  # frame column holding the index into the lookup
    dictionary_encode: bool = True


def _id(kind: str) -> Codec:
    return Codec("id", id_kind=kind, dictionary_encode=False)


def _fk(kind: str) -> Codec:
    return Codec("fk", id_kind=kind, dictionary_encode=False)


def _cat(values) -> Codec:
    return Codec("cat", values=tuple(values))


FLOAT, INT, BOOL, DATE, TS = Codec("float"), Codec("int"), Codec("bool"), Codec("date"), Codec("ts")

CODECS: dict[str, dict[str, Codec]] = {
    "customers": {
        "customer_id": _id("customer"),
        "first_name": _cat(ref.FIRST_NAMES),
        "last_name": _cat(ref.LAST_NAMES),
        "email": Codec("lookup", lookup="email", index="_cidx", dictionary_encode=False),
        "phone": Codec("phone", dictionary_encode=False),
        "signup_date": DATE,
        "state": _cat(ref.US_STATES),
        "country": _cat(ref.COUNTRIES),
        "kyc_status": _cat(KYC_STATUSES),
        "account_status": _cat(ACCOUNT_STATUSES),
        "preferred_language": _cat(ref.LANGUAGES),
    },
    "orders": {
        "order_id": _id("order"),
        "customer_id": _fk("customer"),
        "order_date": DATE,
        "order_status": _cat(ORDER_STATUSES),
        "total_amount": FLOAT,
        "product_id": _fk("product"),
        "quantity": INT,
        "channel": _cat(ORDER_CHANNELS),
    },
    "transactions": {
        "transaction_id": _id("transaction"),
        "customer_id": _fk("customer"),
        "order_id": _fk("order"),
        "transaction_date": TS,
        "amount": FLOAT,
        "currency": _cat(CURRENCIES),
        "payment_method": _cat(PAYMENT_METHODS),
        "transaction_type": _cat(TRANSACTION_TYPES),
        "status": _cat(TRANSACTION_STATUSES),
        "merchant_id": _fk("merchant"),
    },
    "events": {
        "event_id": _id("event"),
        "customer_id": _fk("customer"),
        "session_id": _fk("session"),
        "event_type": _cat(EVENT_TYPES),
        "page_url": _cat(ref.PAGE_URLS),
        "event_timestamp": TS,
        "device_type": _cat(DEVICE_TYPES),
        "browser": _cat(ref.BROWSERS),
    },
    "products": {
        "product_id": _id("product"),
        "product_name": Codec("lookup", lookup="product_name", index="_pidx"),
        "category": _cat(ref.CATEGORIES),
        "subcategory": _cat(ref.SUBCATEGORIES),
        "unit_price": FLOAT,
        "is_active": BOOL,
    },
    "campaigns": {
        "campaign_id": Codec("campaign_id", dictionary_encode=False),
        "customer_id": _fk("customer"),
        "campaign_name": Codec("lookup", lookup="campaign_name", index="_camp"),
        "channel": _cat(CAMPAIGN_CHANNELS),
        "sent_at": TS,
        "opened_at": TS,
        "clicked_at": TS,
        "converted": BOOL,
    },
    "support_tickets": {
        "ticket_id": _id("ticket"),
        "customer_id": _fk("customer"),
        "created_at": TS,
        "resolved_at": TS,
        "category": _cat(TICKET_CATEGORIES),
        "priority": _cat(TICKET_PRIORITIES),
        "status": _cat(TICKET_STATUSES),
        "satisfaction_score": INT,
    },
}

# Internal columns every frame carries besides the catalog columns.
#   _pk    int64  stable unique key of the entity (dedup within a file)
#   _ver   int8   version of the entity's row (0 = first); a later version supersedes an earlier one
#   _load  int32  arrival day ordinal (the load_date= folder)
#   _final bool   last version of the entity (only final rows are ever late or re-sent)
EVENT_TIME = {name: s.event_time for name, s in SOURCES.items()}


@dataclass
class Lookups:
    """Run-level string tables referenced by ``lookup`` codecs."""

    arrays: dict[str, pa.Array] = field(default_factory=dict)
    keys: dict[str, np.ndarray] = field(default_factory=dict)  # sorted int keys → position in arrays[name]

    def index_of(self, name: str, keys: np.ndarray) -> np.ndarray:
        k = self.keys[name]
        pos = np.searchsorted(k, keys)
        pos = np.minimum(pos, len(k) - 1)
        if len(keys) and not np.array_equal(k[pos], keys):
            raise KeyError(f"lookup {name}: unknown keys")
        return pos


def _ts_array(v: np.ndarray) -> pa.Array:
    valid = v != NULL_TS
    if valid.all():
        return pa.array(v, type=ARROW_TYPES["timestamp"])
    return pa.array(np.where(valid, v, 0), type=ARROW_TYPES["timestamp"], mask=~valid)


def column_to_arrow(source: str, name: str, frame: dict[str, np.ndarray], lookups: Lookups) -> pa.Array:
    codec = CODECS[source][name]
    v = frame.get(name)
    if codec.kind == "id":
        return fmt(codec.id_kind)(v, None if (v >= 0).all() else v >= 0)
    if codec.kind == "fk":
        valid = v >= 0
        return fmt(codec.id_kind)(v, None if valid.all() else valid)
    if codec.kind == "cat":
        valid = v >= 0
        return dictionary(v, codec.values, None if valid.all() else valid)
    if codec.kind == "lookup":
        idx = lookups.index_of(codec.lookup, frame[codec.index]) if codec.lookup in lookups.keys else frame[codec.index]
        arr = lookups.arrays[codec.lookup]
        if codec.dictionary_encode:
            uniq, inverse = np.unique(idx, return_inverse=True)
            return dictionary(inverse, arr.take(pa.array(uniq)))
        return arr.take(pa.array(idx))
    if codec.kind == "phone":
        valid = v >= 0
        return format_ids("+1", v, 10, None if valid.all() else valid)
    if codec.kind == "float":
        return pa.array(v.astype(np.float64, copy=False), type=pa.float64())
    if codec.kind == "int":
        valid = v >= 0 if source == "support_tickets" else np.ones(len(v), bool)
        return pa.array(v.astype(np.int64), type=pa.int64(), mask=None if valid.all() else ~valid)
    if codec.kind == "bool":
        return pa.array(v.astype(bool), type=pa.bool_())
    if codec.kind == "date":
        return pa.array(v.astype(np.int32), type=pa.date32())
    if codec.kind == "ts":
        return _ts_array(v.astype(np.int64, copy=False))
    if codec.kind == "campaign_id":
        # composite send id: campaign + customer + send date (design: "campaign + customer + send_date")
        camp = format_ids("CMP", frame["_camp"], 9)
        cust = fmt("customer")(frame["customer_id"])
        sent = format_ids("", yyyymmdd(frame["sent_at"] // 86_400_000_000), 8)
        return pc.binary_join_element_wise(camp, cust, sent, "-")
    raise ValueError(f"unknown codec {codec.kind}")


def to_table(source: str, frame: dict[str, np.ndarray], lookups: Lookups) -> pa.Table:
    schema = arrow_schema(source)
    arrays = [column_to_arrow(source, f.name, frame, lookups) for f in schema]
    return pa.Table.from_arrays(
        arrays, schema=pa.schema([pa.field(f.name, a.type) for f, a in zip(schema, arrays, strict=True)])
    )


# Fixed writer settings: the same table always gives the same bytes (no timestamps in the footer; the Arrow
# schema is not stored, so dictionary-encoded string columns read back as plain strings everywhere).
PARQUET_OPTIONS = dict(
    compression="snappy",  # zstd is ~35 % smaller but costs ~0.4 ms more per file and ~40 % more per row
    store_schema=False,
    write_statistics=True,
    version="2.6",
    data_page_version="1.0",
    row_group_size=1 << 20,
)


def parquet_bytes(table: pa.Table, source: str | None = None) -> bytes:
    opts = dict(PARQUET_OPTIONS)
    if source is not None:
        opts["use_dictionary"] = [n for n in table.column_names if CODECS[source][n].dictionary_encode]
        # min/max statistics where readers prune with them (dates, timestamps, numbers), not on strings
        opts["write_statistics"] = [
            f.name for f in table.schema if not pa.types.is_string(f.type) and not pa.types.is_dictionary(f.type)
        ]
    buf = io.BytesIO()
    pq.write_table(table, buf, **opts)
    return buf.getvalue()
