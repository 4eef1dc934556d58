"""``--bad-files N``: defective files for the ingestion contracts to catch.

Each bad file is written into the landing layout like a normal file (``part-9NN.parquet`` beside the good parts
of its day) and listed in ``<truth>/bad_files.json`` with ``key``, ``source``, ``load_date``, ``defect`` (machine
name), ``detail`` (human) and ``rows``. The rows are copies of good rows of that day with *fresh* primary keys
from a reserved sequence range, so a bad file never shares a key with a good row: rejecting it loses nothing,
and a partly accepted one can never overwrite a good row. Good files are never touched.

Defects (rotated in this order):

===================== ==================================================================================
corrupt_parquet       a valid file truncated mid-way (no footer): unreadable
missing_column        a required column is absent
wrong_type            a column has the wrong physical type (e.g. amount as text)
null_primary_key      some rows have a null primary key
duplicate_primary_key two rows of the file share a primary key
unknown_foreign_key   customer_id values that never existed in customers
negative_quantity     orders with quantity < 0 (impossible value)
future_date           the event-time column lies 30+ days after the file's load_date
===================== ==================================================================================
"""

import json
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360.catalog import SOURCES
from customer360.storage import ObjectStore

from . import truth as truth_mod
from .emit import nrows, take
from .schema import ID_FORMATS, Lookups, bad_day_key, parquet_bytes, to_table
from .util import DAY_US, STREAM, format_ids, ordinal_date, rng_for

DEFECTS = (
    "corrupt_parquet",
    "missing_column",
    "wrong_type",
    "null_primary_key",
    "duplicate_primary_key",
    "unknown_foreign_key",
    "negative_quantity",
    "future_date",
)
APPLICABLE = {
    "corrupt_parquet": ("transactions", "events", "orders", "campaigns", "customers", "support_tickets", "products"),
    "missing_column": ("orders", "transactions", "customers", "events", "support_tickets", "campaigns", "products"),
    "wrong_type": ("transactions", "orders", "support_tickets", "products", "events"),
    "null_primary_key": ("orders", "transactions", "events", "support_tickets", "customers", "campaigns", "products"),
    "duplicate_primary_key": (
        "transactions",
        "orders",
        "events",
        "support_tickets",
        "customers",
        "campaigns",
        "products",
    ),
    "unknown_foreign_key": ("orders", "transactions", "support_tickets", "campaigns", "events"),
    "negative_quantity": ("orders",),
    "future_date": ("transactions", "orders", "events", "support_tickets", "campaigns"),
}
WRONG_TYPE_COLUMN = {
    "transactions": "amount",
    "orders": "total_amount",
    "support_tickets": "satisfaction_score",
    "products": "unit_price",
    "events": "event_timestamp",
}
PK_KIND = {
    "orders": "order",
    "transactions": "transaction",
    "events": "event",
    "support_tickets": "ticket",
    "customers": "customer",
}
UNKNOWN_CUSTOMER = "CU99990101"  # a sign-up date no real customer can have


def _replace(table: pa.Table, name: str, array: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, pa.field(name, array.type), array)


def _fresh_keys(source: str, table: pa.Table, frame: dict, day: int, offset: int) -> pa.Table:
    """New primary keys from the reserved range (and new unique emails for customers)."""
    n = table.num_rows
    seq = np.arange(n) + offset
    pk = SOURCES[source].primary_key
    if source in PK_KIND:
        kind = PK_KIND[source]
        prefix, width = ID_FORMATS[kind]
        table = _replace(table, pk, format_ids(prefix, bad_day_key(kind, day, seq), width))
        if source == "customers":
            emails = [f"bad.{offset + i}.{day}@example.invalid" for i in range(n)]
            table = _replace(table, "email", pa.array(emails, pa.string()))
        return table
    if source == "products":
        return _replace(table, pk, pa.array([f"P{9_000_000 + offset + i:07d}" for i in range(n)], pa.string()))
    if source == "campaigns":
        # campaign slot 8/9 never exists (a day has at most two campaigns, slots 0/1)
        ids = [s[:11] + str(8 + int(s[11])) + s[12:] for s in table.column(pk).to_pylist()]
        return _replace(table, pk, pa.array(ids, pa.string()))
    raise ValueError(source)


def _apply(
    defect: str, source: str, table: pa.Table, day: int, rng: np.random.Generator
) -> tuple[pa.Table | bytes, str]:
    n = table.num_rows
    pk = SOURCES[source].primary_key
    if defect == "corrupt_parquet":
        data = parquet_bytes(table, source)
        cut = int(len(data) * (0.45 + 0.2 * rng.random()))
        return data[:cut], f"parquet file truncated to {cut} of {len(data)} bytes (no footer)"
    if defect == "missing_column":
        required = [c.name for c in SOURCES[source].columns if not c.nullable and c.name != pk]
        col = required[int(rng.integers(0, len(required)))]
        return table.drop_columns([col]), f"required column {col!r} is missing"
    if defect == "wrong_type":
        col = WRONG_TYPE_COLUMN[source]
        arr = pc.cast(table.column(col), pa.string())
        return _replace(
            table, col, arr.combine_chunks() if hasattr(arr, "combine_chunks") else arr
        ), f"column {col!r} is text instead of {table.schema.field(col).type}"
    if defect == "null_primary_key":
        k = max(1, n // 4)
        mask = np.zeros(n, bool)
        mask[rng.choice(n, k, replace=False)] = True
        col = table.column(pk).combine_chunks()
        return _replace(
            table, pk, pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), col)
        ), f"{k} of {n} rows have a null {pk}"
    if defect == "duplicate_primary_key":
        ids = table.column(pk).to_pylist()
        ids[1] = ids[0]
        return _replace(table, pk, pa.array(ids, pa.string())), f"{pk} {ids[0]!r} appears twice in the file"
    if defect == "unknown_foreign_key":
        k = max(1, n // 3)
        ids = table.column("customer_id").to_pylist()
        for j, i in enumerate(sorted(rng.choice(n, k, replace=False))):
            ids[i] = f"{UNKNOWN_CUSTOMER}{j:06d}"
        return _replace(
            table, "customer_id", pa.array(ids, pa.string())
        ), f"{k} of {n} rows reference customer_id values that never existed"
    if defect == "negative_quantity":
        q = np.array(table.column("quantity").to_pylist())
        k = max(1, n // 4)
        idx = rng.choice(n, k, replace=False)
        q[idx] = -np.abs(q[idx])
        return _replace(table, "quantity", pa.array(q, pa.int64())), f"{k} of {n} rows have a negative quantity"
    if defect == "future_date":
        col = SOURCES[source].event_time
        k = max(1, n // 4)
        idx = rng.choice(n, k, replace=False)
        shift_days = 30 + int(rng.integers(0, 60))
        arr = table.column(col).combine_chunks()
        if pa.types.is_date(arr.type):
            vals = np.array(arr.cast(pa.int32()).to_numpy(zero_copy_only=False))
            vals[idx] = day + shift_days
            new = pa.array(vals.astype(np.int32), pa.date32())
        else:
            vals = np.array(arr.cast(pa.int64()).to_numpy(zero_copy_only=False))
            vals[idx] = (day + shift_days) * DAY_US + (vals[idx] % DAY_US)
            new = pa.array(vals, arr.type)
        future = ordinal_date(day) + timedelta(days=shift_days)
        return _replace(
            table, col, new
        ), f"{k} of {n} rows have {col} on {future.isoformat()}, after the file's load_date"
    raise ValueError(defect)


def write_bad_files(
    seed: int,
    store: ObjectStore,
    truth_dir: str,
    lookups: Lookups,
    samples: dict[str, dict[str, np.ndarray]],
    n: int,
    first_index: int = 0,
) -> list[dict]:
    """Write ``n`` bad files (defects rotated), append them to ``bad_files.json``, return the new records."""
    rng = rng_for(seed, STREAM["bad_files"], first_index)
    records = []
    for i in range(first_index, first_index + n):
        defect = DEFECTS[i % len(DEFECTS)]
        choices = [s for s in APPLICABLE[defect] if nrows(samples.get(s, {})) >= 4]
        if not choices:
            continue
        source = choices[int(rng.integers(0, len(choices)))]
        sample = samples[source]
        rows = take(sample, slice(0, min(20, nrows(sample))))
        day = int(rows["_load"].max())
        table = to_table(source, rows, lookups)
        table = _fresh_keys(source, table, rows, day, offset=1000 * (i + 1))
        result, detail = _apply(defect, source, table, day, rng)
        data = result if isinstance(result, bytes) else parquet_bytes(result, None)
        key = f"{source}/load_date={ordinal_date(day).isoformat()}/part-{900 + i:03d}.parquet"
        store.write(key, data)
        records.append(
            {
                "key": key,
                "source": source,
                "load_date": ordinal_date(day).isoformat(),
                "defect": defect,
                "detail": detail,
                "rows": table.num_rows,
            }
        )
    existing = truth_mod.read_json(truth_dir, truth_mod.BAD_FILES) or []
    truth_mod.write_bytes(truth_dir, truth_mod.BAD_FILES, (json.dumps(existing + records, indent=2) + "\n").encode())
    return records
