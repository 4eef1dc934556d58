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

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import pandera.polars as pa
import polars as pl

from customer360.catalog import SOURCES, Column, Source

POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
    "float": pl.Float64(),
    "int": pl.Int64(),
    "bool": pl.Boolean(),
}

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


def _checks(col: Column, load_date: date) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if col.enum is not None:
        checks.append(pa.Check.isin(list(col.enum), name="enum"))
    if col.min is not None:
        checks.append(pa.Check.ge(col.min, name="range"))
    if col.max is not None:
        checks.append(pa.Check.le(col.max, name="range"))
    if col.type == "date":
        latest = load_date + timedelta(days=FUTURE_SLACK_DAYS)
        checks.append(pa.Check.le(latest, name="future_date"))
    elif col.type == "timestamp":
        latest_ts = datetime.combine(load_date + timedelta(days=FUTURE_SLACK_DAYS + 1), time()) - timedelta(
            microseconds=1
        )
        checks.append(pa.Check.le(latest_ts, name="future_date"))
    return checks


@lru_cache(maxsize=4096)
def contract_schema(source: str, load_date: date) -> pa.DataFrameSchema:
    """The pandera schema of ``source`` for a file that arrived on ``load_date``."""
    spec: Source = SOURCES[source]
    unique = {spec.primary_key, *spec.unique}
    columns = {
        col.name: pa.Column(
            POLARS_TYPES[col.type],
            nullable=col.nullable,
            unique=col.name in unique,
            checks=_checks(col, load_date),
            description=col.description,
        )
        for col in spec.columns
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=False, name=f"{source}_contract")


_CHECK_NAMES = {"not_nullable": "not_nullable", "field_uniqueness": "unique"}


def _check_name(check: str, col: Column | None) -> str:
    """pandera's check label → our violation kind."""
    if check in _CHECK_NAMES:
        return _CHECK_NAMES[check]
    if check.startswith("isin"):
        return "enum"
    if check.startswith("less_than_or_equal_to") and col is not None and col.type in ("date", "timestamp"):
        return "future_date"
    if check.startswith(("greater_than", "less_than", "in_range")):
        return "range"
    return check


def validate(source: str, df: pl.DataFrame, load_date: date) -> pl.DataFrame:
    """Conform and validate one file's frame; return it (catalog order and types) or raise ContractError."""
    df = conform(source, df)
    try:
        contract_schema(source, load_date).validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise ContractError(_violations_from_pandera(source, df, exc.failure_cases, load_date)) from None
    return df


def _violations_from_pandera(source: str, df: pl.DataFrame, cases: pl.DataFrame, load_date: date) -> list[Violation]:
    spec = SOURCES[source]
    out: list[Violation] = []
    for (column, check), group in cases.group_by(["column", "check"], maintain_order=True):
        col = spec.column(str(column)) if column in spec.column_names else None
        check_name = _check_name(str(check), col)
        rows = group.get_column("index").drop_nulls().unique().sort()
        sample = _jsonable(df[rows.head(SAMPLE_ROWS).to_list()]) if rows.len() else []
        values = group.get_column("failure_case").head(SAMPLE_ROWS).to_list()
        if check_name == "not_nullable":
            what = "primary key " if column == spec.primary_key else ""
            msg = f"{what}column {column!r} has {rows.len()} null value(s)"
        elif check_name == "unique":
            msg = f"column {column!r} is not unique within the file: {rows.len()} rows share values, e.g. {values[:3]}"
        elif check_name == "enum" and col is not None:
            msg = f"column {column!r} has values outside {list(col.enum or ())}: {sorted(set(map(str, values)))}"
        elif check_name == "range" and col is not None:
            msg = f"column {column!r} has {rows.len()} value(s) outside [{col.min}, {col.max}], e.g. {values[:3]}"
        elif check_name == "future_date":
            msg = (
                f"column {column!r} has {rows.len()} value(s) in the future of the file's arrival day "
                f"{load_date} (+{FUTURE_SLACK_DAYS} day), e.g. {values[:3]}"
            )
        else:
            msg = f"column {column!r} fails {check}: e.g. {values[:3]}"
        out.append(Violation(check_name, msg, column=str(column), failing_rows=rows.len() or None, sample=sample))
    return out


def _jsonable(df: pl.DataFrame) -> list[dict[str, Any]]:
    rows = df.head(SAMPLE_ROWS).to_dicts()
    return [{k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in r.items()} for r in rows]
