"""Data contracts of the landing files: pandera (polars backend) schemas built from the source catalog.

A landing file passes when, in this order:

1. ``readable``   – it parses as parquet;
2. ``columns``    – it has exactly the catalog's columns (no missing, no unexpected ones; order is free);
3. ``types``      – each column's physical type belongs to its logical type's family. Lossless widenings are
   normalised (any integer width → Int64, float32/integers → Float64 for float columns, any timestamp unit →
   microseconds, tz-aware timestamps → naive UTC, all-null columns → the catalog type); anything else (a
   string in a numeric column, a timestamp in a date column, …) is a ``wrong_type`` error;
4. pandera     – non-null columns (so every primary key) have no nulls, the primary key (and the catalog's
   other unique columns) are unique within the file, enum columns use exactly the catalog's value set,
   numeric ranges (``min``/``max``) hold, and no date/timestamp lies in the future: later than the end of
   the day after the file's arrival day (``load_date + 1``; one day of slack for time zones and late
   exports). The foreign-key rule needs the warehouse and the landing zone and lives in
   :mod:`customer360.ingestion.foreign_keys`.

Every failure becomes a :class:`Violation` (check, column, message, sample rows) — the quarantine's reason.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandera.polars as pa
import polars as pl

from customer360.catalog import SOURCES, Column, Source
from customer360.physical_types import POLARS_TYPES

FUTURE_SLACK_DAYS = 1  # an event may be dated up to the end of the day after its file's arrival day
SAMPLE_ROWS = 5


@dataclass
class Violation:
    check: str  # readable | columns | wrong_type | not_nullable | unique | enum | range | future_date | foreign_key
    message: str
    column: str | None = None
    failing_rows: int | None = None
    sample: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "column": self.column,
            "message": self.message,
            "failing_rows": self.failing_rows,
            "sample_rows": self.sample,
        }


class ContractError(Exception):
    """A file that breaks its contract; carries every violation found."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        super().__init__("; ".join(v.message for v in violations))


def catalog_columns(source: str) -> list[tuple[str, str]]:
    """``(name, logical_type)`` of ``source`` in catalog order."""
    return [(c.name, c.type) for c in SOURCES[source].columns]


def _family_ok(dtype: pl.DataType, logical: str) -> bool:
    if dtype == pl.Null:
        return True
    if logical == "string":
        return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    if logical == "date":
        return dtype == pl.Date
    if logical == "timestamp":
        return isinstance(dtype, pl.Datetime)
    if logical == "float":
        return dtype.is_float() or dtype.is_integer() or dtype.is_decimal()
    if logical == "int":
        return dtype.is_integer()
    if logical == "bool":
        return dtype == pl.Boolean
    raise ValueError(f"unknown logical type {logical!r}")


def _normalise(series: pl.Series, logical: str) -> pl.Series:
    target = POLARS_TYPES[logical]
    if logical == "timestamp" and isinstance(series.dtype, pl.Datetime) and series.dtype.time_zone:
        series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return series.cast(target, strict=True)


def conform(source: str, df: pl.DataFrame) -> pl.DataFrame:
    """Check names and type families, normalise types, return the frame in catalog column order.

    Raises :class:`ContractError` (``columns`` / ``wrong_type``) when the file cannot be conformed.
    """
    spec = SOURCES[source]
    expected = spec.column_names
    violations: list[Violation] = []
    missing = [c for c in expected if c not in df.columns]
    extra = [c for c in df.columns if c not in expected]
    for c in missing:
        violations.append(Violation("columns", f"required column {c!r} is missing", column=c))
    for c in extra:
        violations.append(Violation("columns", f"unexpected column {c!r} (not in the {source} contract)", column=c))
    if violations:
        raise ContractError(violations)
    out = []
    for col in spec.columns:
        s = df.get_column(col.name)
        if not _family_ok(s.dtype, col.type):
            bad = df.select(col.name).head(SAMPLE_ROWS)
            violations.append(
                Violation(
                    "wrong_type",
                    f"column {col.name!r} has type {s.dtype}, expected {col.type} ({POLARS_TYPES[col.type]})",
                    column=col.name,
                    failing_rows=df.height,
                    sample=_jsonable(bad),
                )
            )
            continue
        try:
            out.append(_normalise(s, col.type))
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
            violations.append(
                Violation(
                    "wrong_type",
                    f"column {col.name!r} ({s.dtype}) does not convert losslessly to {col.type}: {exc}",
                    column=col.name,
                )
            )
    if violations:
        raise ContractError(violations)
    return pl.DataFrame(out)


FILE_ID = "_c360_file"  # batch-only helper columns (never loaded)
ARRIVAL_DAY = "_c360_arrival_day"
_EPOCH = date(1970, 1, 1)


def _column_checks(col: Column) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if col.enum is not None:
        checks.append(pa.Check.isin(list(col.enum), name="enum"))
    if col.min is not None:
        checks.append(pa.Check.ge(col.min, name="range"))
    if col.max is not None:
        checks.append(pa.Check.le(col.max, name="range"))
    return checks


def _unique_within_file(column: str) -> pa.Check:
    def check(data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(column).is_null() | ~pl.struct([FILE_ID, column]).is_duplicated())

    return pa.Check(check, name=f"unique:{column}")


def _not_in_future(col: Column) -> pa.Check:
    slack = pl.duration(days=FUTURE_SLACK_DAYS)
    if col.type == "date":
        limit = pl.col(ARRIVAL_DAY) + slack
        ok = pl.col(col.name) <= limit
    else:  # timestamp: strictly before the start of day arrival + slack + 1
        limit = (pl.col(ARRIVAL_DAY) + slack + pl.duration(days=1)).cast(pl.Datetime("us"))
        ok = pl.col(col.name) < limit

    def check(data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(col.name).is_null() | ok)

    return pa.Check(check, name=f"future_date:{col.name}")


@lru_cache(maxsize=16)
def contract_schema(source: str) -> pa.DataFrameSchema:
    """The pandera schema of ``source``, applied to a batch of conformed files at once.

    A batch carries two helper columns: the file each row came from and that file's arrival day, so
    uniqueness is checked *within* each file (re-sends across days are legitimate) and future dates against
    each file's own arrival day.
    """
    spec: Source = SOURCES[source]
    columns = {
        col.name: pa.Column(
            POLARS_TYPES[col.type], nullable=col.nullable, checks=_column_checks(col), description=col.description
        )
        for col in spec.columns
    }
    columns[FILE_ID] = pa.Column(pl.Int32, nullable=False)
    columns[ARRIVAL_DAY] = pa.Column(pl.Date, nullable=False)
    checks = [_unique_within_file(c) for c in dict.fromkeys([spec.primary_key, *spec.unique])]
    checks += [_not_in_future(c) for c in spec.columns if c.type in ("date", "timestamp")]
    return pa.DataFrameSchema(columns, checks=checks, strict=True, ordered=False, name=f"{source}_contract")


_CHECK_NAMES = {"not_nullable": "not_nullable"}


def _check_kind(check: str) -> tuple[str, str | None]:
    """pandera's check label → (our violation kind, column for frame-level checks)."""
    if check in _CHECK_NAMES:
        return _CHECK_NAMES[check], None
    if ":" in check:
        kind, column = check.split(":", 1)
        return kind, column
    if check.startswith("isin"):
        return "enum", None
    if check.startswith(("greater_than", "less_than", "in_range")):
        return "range", None
    return check, None


def helper_columns(days: Sequence[date], heights: Sequence[int]) -> list[pl.Series]:
    """``FILE_ID`` and ``ARRIVAL_DAY`` of files of ``heights`` rows stacked in order (two vectorised repeats)."""
    counts = np.asarray(heights, dtype=np.int64)
    file_id = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    arrival = np.repeat(np.asarray([(d - _EPOCH).days for d in days], dtype=np.int32), counts)
    return [pl.Series(FILE_ID, file_id, dtype=pl.Int32), pl.Series(ARRIVAL_DAY, arrival, dtype=pl.Int32).cast(pl.Date)]


def batch(frames: list[tuple[date, pl.DataFrame]]) -> pl.DataFrame:
    """Concatenate conformed frames with their file index and arrival day (the helper columns)."""
    data = pl.concat([df for _, df in frames], how="vertical", rechunk=False)
    return data.with_columns(helper_columns([day for day, _ in frames], [df.height for _, df in frames]))


def validate_stacked(source: str, data: pl.DataFrame, days: Sequence[date]) -> dict[int, list[Violation]]:
    """Validate a stacked batch (conformed rows + ``FILE_ID`` + ``ARRIVAL_DAY``; file ``i`` arrived on
    ``days[i]``) with ONE pandera pass. Returns the violations per file index; files without an entry passed."""
    if data.height == 0:
        return {}
    try:
        contract_schema(source).validate(data, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return _violations_from_pandera(source, data, exc.failure_cases, days)
    return {}


def _violations_from_pandera(
    source: str, data: pl.DataFrame, cases: pl.DataFrame, days: Sequence[date]
) -> dict[int, list[Violation]]:
    spec = SOURCES[source]
    cases = cases.filter(pl.col("index").is_not_null())
    file_of = data.get_column(FILE_ID)
    cases = cases.with_columns(
        pl.col("index").map_batches(lambda s: file_of.gather(s), return_dtype=pl.Int32).alias("_file")
    )
    out: dict[int, list[Violation]] = {}
    for (file_id, column, check), group in cases.group_by(["_file", "column", "check"], maintain_order=True):
        kind, frame_column = _check_kind(str(check))
        column = frame_column or column
        col = spec.column(str(column)) if column in spec.column_names else None
        rows = group.get_column("index").unique().sort()
        sample = _jsonable(data[rows.head(SAMPLE_ROWS).to_list()].drop(FILE_ID, ARRIVAL_DAY))
        values = [r.get(str(column)) for r in sample] if col is not None else []
        day = days[int(file_id)]
        if kind == "not_nullable":
            what = "primary key " if column == spec.primary_key else ""
            msg = f"{what}column {column!r} has {rows.len()} null value(s)"
        elif kind == "unique":
            what = "primary key " if column == spec.primary_key else ""
            msg = f"{what}column {column!r} is not unique within the file: {rows.len()} rows share values, e.g. {values[:3]}"
        elif kind == "enum" and col is not None:
            bad = sorted({str(v) for v in group.get_column("failure_case").to_list()})[:5]
            msg = f"column {column!r} has {rows.len()} value(s) outside {list(col.enum or ())}: {bad}"
        elif kind == "range" and col is not None:
            msg = f"column {column!r} has {rows.len()} value(s) outside [{col.min}, {col.max}], e.g. {values[:3]}"
        elif kind == "future_date":
            msg = (
                f"column {column!r} has {rows.len()} value(s) in the future of the file's arrival day "
                f"{day} (+{FUTURE_SLACK_DAYS} day), e.g. {values[:3]}"
            )
        else:
            msg = f"column {column!r} fails {check}: e.g. {values[:3]}"
        out.setdefault(int(file_id), []).append(
            Violation(kind, msg, column=str(column), failing_rows=rows.len(), sample=sample)
        )
    return out


def _jsonable(df: pl.DataFrame) -> list[dict[str, Any]]:
    rows = df.head(SAMPLE_ROWS).to_dicts()
    return [{k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in r.items()} for r in rows]
