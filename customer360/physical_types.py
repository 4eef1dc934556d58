"""THE map from a logical column type to its physical types: DuckDB and Snowflake DDL, polars/pandera, dbt.

Every table the project creates or describes takes its column types from here: the raw tables (``catalog``'s
logical types, created by the warehouse engines), the ingestion contracts (polars), the dbt sources yml and the
ML output tables (``ml.contracts`` → the generated ``_ml_sources.yml`` and on-run-start macro).

``int`` is the raw tables' 64-bit integer (BIGINT); ``int32`` is the 32-bit integer of the dbt models
(``type_int()`` = ``integer``, e.g. ``ml.customer_segments.segment_id``). DuckDB's FLOAT is 32-bit while
Snowflake's is 64-bit, so ``float`` is DOUBLE in DuckDB.
"""

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class PhysicalType:
    duckdb: str  # DuckDB DDL
    snowflake: str  # Snowflake DDL
    dbt: str  # dbt yml ``data_type`` (DuckDB's name: the dev warehouse; Snowflake accepts it as an alias)
    dbt_macro: str  # the portable Jinja expression of the type in generated dbt SQL
    polars: pl.DataType  # the dataframe type (ingestion contracts, pandera)


TYPES: dict[str, PhysicalType] = {
    "string": PhysicalType("VARCHAR", "VARCHAR", "varchar", "dbt.type_string()", pl.String()),
    "date": PhysicalType("DATE", "DATE", "date", "'date'", pl.Date()),
    "timestamp": PhysicalType("TIMESTAMP", "TIMESTAMP_NTZ", "timestamp", "type_ts()", pl.Datetime("us")),
    "float": PhysicalType("DOUBLE", "FLOAT", "double", "type_double()", pl.Float64()),
    "int": PhysicalType("BIGINT", "NUMBER(38,0)", "bigint", "dbt.type_bigint()", pl.Int64()),
    "int32": PhysicalType("INTEGER", "NUMBER(38,0)", "integer", "type_int()", pl.Int32()),
    "bool": PhysicalType("BOOLEAN", "BOOLEAN", "boolean", "type_bool()", pl.Boolean()),
}

DUCKDB_TYPES: dict[str, str] = {name: t.duckdb for name, t in TYPES.items()}
SNOWFLAKE_TYPES: dict[str, str] = {name: t.snowflake for name, t in TYPES.items()}
DBT_TYPES: dict[str, str] = {name: t.dbt for name, t in TYPES.items()}
POLARS_TYPES: dict[str, pl.DataType] = {name: t.polars for name, t in TYPES.items()}


def logical_type_of(dtype: pl.DataType) -> str:
    """The logical type whose polars type is ``dtype`` (a pandera column's dtype), e.g. ``pl.Int32`` → ``int32``."""
    for name, t in TYPES.items():
        if t.polars == dtype:
            return name
    raise KeyError(f"no logical type for polars type {dtype!r}")
