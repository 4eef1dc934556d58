"""What the Dagster UI shows about the ML tables, derived from the ML objects themselves.

* :func:`column_schema` — ``dagster/column_schema`` of an ``ml.*`` output table, built from its pandera output
  contract (:data:`customer360.ml.contracts.OUTPUT_SCHEMAS`: dtype, nullability, uniqueness, value checks,
  description), so the schema shown is the schema enforced.
* :func:`table_value` — a polars frame as a ``TableMetadataValue``: the UI renders those inline in the metadata
  table (a markdown value longer than 1,000 characters only shows behind a "[Show Markdown]" link).
"""

from __future__ import annotations

import math
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl

from customer360.ml.contracts import OUTPUT_SCHEMAS
from customer360.physical_types import DBT_TYPES, logical_type_of


def _type_name(column: pa.Column) -> str:
    """The column's dbt type name (``physical_types``: what the raw tables' and dbt models' column schemas say)."""
    dtype = column.dtype.type
    try:
        return DBT_TYPES[logical_type_of(dtype)]
    except KeyError:  # a polars type the project's map does not list (none today): its own name
        return str(dtype).lower()


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def describe_check(check: pa.Check) -> str:
    """A pandera check in words: ``in [0, 1]``, ``>= 0``, ``one of ['low', 'medium', 'high']``…"""
    st = check.statistics or {}
    match check.name:
        case "in_range":
            lo = "[" if st.get("include_min", True) else "("
            hi = "]" if st.get("include_max", True) else ")"
            return f"in {lo}{_fmt(st['min_value'])}, {_fmt(st['max_value'])}{hi}"
        case "greater_than_or_equal_to":
            return f">= {_fmt(st['min_value'])}"
        case "greater_than":
            return f"> {_fmt(st['min_value'])}"
        case "less_than_or_equal_to":
            return f"<= {_fmt(st['max_value'])}"
        case "isin":
            return f"one of {list(st['allowed_values'])}"
        case "str_length":
            if st.get("exact_value") is not None:
                return f"length {st['exact_value']}"
            parts = [
                f">= {st['min_value']}" if st.get("min_value") is not None else "",
                f"<= {st['max_value']}" if st.get("max_value") is not None else "",
            ]
            return "length " + " and ".join(p for p in parts if p)
    return str(check.error or check.name)


def column_schema(table: str) -> dg.TableSchema:
    """``dagster/column_schema`` of ``ml.<table>`` from its output contract."""
    schema = OUTPUT_SCHEMAS[table]
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name,
                _type_name(col),
                description=col.description,
                constraints=dg.TableColumnConstraints(
                    nullable=col.nullable, unique=col.unique, other=[describe_check(c) for c in col.checks]
                ),
            )
            for name, col in schema.columns.items()
        ]
    )


def contract_summary(table: str) -> str:
    """The output contract in one line per column, for check descriptions."""
    parts = []
    for name, col in OUTPUT_SCHEMAS[table].columns.items():
        rules = [_type_name(col)]
        rules += [] if col.nullable else ["not null"]
        rules += ["unique"] if col.unique else []
        rules += [describe_check(c) for c in col.checks]
        parts.append(f"{name} ({', '.join(rules)})")
    return "; ".join(parts)


def _cell(v: Any, digits: int) -> Any:
    if isinstance(v, float):
        return round(v, digits) if math.isfinite(v) else None
    if v is None or isinstance(v, str | int | bool):
        return v
    return str(v)


def table_value(df: pl.DataFrame, digits: int = 3) -> dg.TableMetadataValue:
    """``df`` as an inline metadata table (floats rounded to ``digits``, lists and dates as text)."""
    columns = [
        dg.TableColumn(
            c, "float" if t.is_float() else "int" if t.is_integer() else "bool" if t == pl.Boolean else "string"
        )
        for c, t in df.schema.items()
    ]
    records = [dg.TableRecord({k: _cell(v, digits) for k, v in row.items()}) for row in df.iter_rows(named=True)]
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))
