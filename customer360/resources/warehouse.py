"""The warehouse interface: what every engine provides, and the helpers the engines share. No Dagster here.

Everything above the engines (ingestion, ML, consumers, tests) talks to a :class:`Warehouse` and never learns
which engine runs. The engines live in their own modules and import only this one:

* ``duckdb`` (default) → :class:`customer360.resources.duckdb_warehouse.DuckDBWarehouse`
* ``snowflake`` → :class:`customer360.resources.snowflake_warehouse.SnowflakeWarehouse` (the production path;
  raw loads become ``COPY INTO`` from the landing stage).

The Dagster resource that selects and builds the engine is
:class:`customer360.resources.warehouse_resource.WarehouseResource`.

Conventions every engine honours:

* schemas ``raw, staging, intermediate, marts, ml, snapshots`` are created on first use;
* identifiers (schema, table, column names) match ``^[a-z_][a-z0-9_]*$`` and are validated before they
  become SQL; values always travel as bound parameters;
* timestamps are stored as naive ``TIMESTAMP`` in UTC;
* ``replace_partition`` / ``load_raw_files`` delete and insert in ONE transaction, so no reader ever sees
  half a partition.
"""

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from customer360.catalog import LAYERS, LOAD_DATE, LOADER_COLUMNS, RAW, SOURCE_FILE

WAREHOUSE_SCHEMAS: tuple[str, ...] = LAYERS
ENGINES: tuple[str, ...] = ("duckdb", "snowflake")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class InvalidIdentifierError(ValueError):
    """A schema, table or column name that is not a plain lower-case SQL identifier."""


def validate_identifier(name: str) -> str:
    """Return ``name`` if it is a safe identifier (``^[a-z_][a-z0-9_]*$``, ≤ 63 chars), else raise."""
    if not isinstance(name, str) or len(name) > 63 or not _IDENTIFIER.match(name):
        raise InvalidIdentifierError(f"invalid SQL identifier {name!r}: expected ^[a-z_][a-z0-9_]*$")
    return name


def qualified(schema: str, table: str) -> str:
    """``schema.table`` from two validated identifiers (unquoted: Snowflake stores them upper-case)."""
    return f"{validate_identifier(schema)}.{validate_identifier(table)}"


def raw_table_columns(columns: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``(name, logical type)`` columns of a raw table: the catalog's ``columns``, then the loader's."""
    return [*columns, *((c.name, c.type) for c in LOADER_COLUMNS)]


@dataclass(frozen=True)
class RawFile:
    """One validated landing file ready to load into ``raw.<source>``.

    ``frame`` has exactly the catalog columns in catalog order with the catalog's types. Engines that load
    straight from the landing zone (Snowflake ``COPY INTO``) may use ``key`` instead of ``frame``.
    """

    key: str  # landing key, e.g. "orders/load_date=2024-01-03/orders_0001.parquet"
    load_date: date  # the arrival day (its load_date= folder)
    frame: pl.DataFrame


@dataclass(frozen=True)
class RawLoad:
    """One replacement of arrival days of ``raw.<table>``, validated: what an engine's raw load receives."""

    table: str
    columns: tuple[tuple[str, str], ...]  # the catalog columns (name, logical type), without the loader's
    days: tuple[date, ...]  # sorted, distinct
    files: tuple[RawFile, ...]
    loaded_at: datetime  # naive UTC
    retain: tuple[str, ...]  # sorted, distinct landing keys whose earlier rows stay

    @classmethod
    def of(
        cls,
        table: str,
        columns: Sequence[tuple[str, str]],
        load_dates: Sequence[date],
        files: Sequence[RawFile],
        loaded_at: datetime,
        retain_files: Sequence[str],
    ) -> "RawLoad":
        validate_identifier(table)
        for name, _ in columns:
            validate_identifier(name)
        if loaded_at.tzinfo is not None:
            loaded_at = loaded_at.astimezone(UTC).replace(tzinfo=None)
        return cls(
            table,
            tuple(columns),
            tuple(sorted(set(load_dates))),
            tuple(files),
            loaded_at,
            tuple(sorted(set(retain_files))),
        )

    @property
    def name(self) -> str:
        return qualified(RAW, self.table)

    @property
    def names(self) -> list[str]:
        return [c for c, _ in self.columns]

    @property
    def all_columns(self) -> list[tuple[str, str]]:
        return raw_table_columns(self.columns)

    def replaced_rows(self, keep: Sequence[str] = ()) -> tuple[str, list[Any]]:
        """The ``where`` clause (and its parameters) of the rows this load replaces: its days' rows, except
        those of the retained files and of ``keep``."""
        kept = sorted(set(self.retain) | set(keep))
        where = f"{LOAD_DATE} in ({', '.join('?' for _ in self.days)})"
        if kept:
            where += f" and {SOURCE_FILE} not in ({', '.join('?' for _ in kept)})"
        return where, [*self.days, *kept]


class Warehouse(ABC):
    """What an engine must provide. All table names are ``(schema, table)`` pairs of validated identifiers."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run a read query, return its rows as a polars DataFrame."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement (DDL/DML) in its own transaction."""

    @abstractmethod
    def table_exists(self, schema: str, table: str) -> bool: ...

    @abstractmethod
    def read_table(self, schema: str, table: str) -> pl.DataFrame: ...

    @abstractmethod
    def write_table(self, schema: str, table: str, df: pl.DataFrame) -> int:
        """Atomically create or replace ``schema.table`` with ``df``; return the row count."""

    @abstractmethod
    def ensure_table(self, schema: str, table: str, columns: Sequence[tuple[str, str]]) -> None:
        """Create ``schema.table`` if missing, from ``(name, logical_type)`` pairs (catalog logical types)."""

    def replace_partition(
        self,
        schema: str,
        table: str,
        df: pl.DataFrame,
        partition_column: str,
        partition_values: Sequence[Any],
    ) -> int:
        """Delete rows whose ``partition_column`` is in ``partition_values`` and insert ``df``, in ONE
        transaction. Creates the table from ``df`` when missing. Returns the number of rows inserted."""
        name = qualified(schema, table)
        validate_identifier(partition_column)
        for column in df.columns:
            validate_identifier(column)
        if partition_column not in df.columns:
            raise ValueError(f"partition column {partition_column!r} is not a column of the frame")
        return self._replace_partition(schema, name, df, partition_column, list(partition_values))

    def load_raw_files(
        self,
        table: str,
        columns: Sequence[tuple[str, str]],
        load_dates: Sequence[date],
        files: Sequence[RawFile],
        loaded_at: datetime,
        retain_files: Sequence[str] = (),
    ) -> int:
        """Replace the arrival days ``load_dates`` of ``raw.<table>`` with ``files`` in ONE transaction.

        Adds the loader columns ``_load_date`` (the file's arrival day), ``_source_file`` (its key) and
        ``_loaded_at`` (``loaded_at``, naive UTC). Rows of those days whose ``_source_file`` is in
        ``retain_files`` are kept as they are (a quarantined re-delivery never deletes the last good load of
        that file). Returns the number of rows inserted."""
        return self._load_raw(RawLoad.of(table, columns, load_dates, files, loaded_at, retain_files))

    @abstractmethod
    def _replace_partition(
        self, schema: str, name: str, df: pl.DataFrame, partition_column: str, values: list[Any]
    ) -> int:
        """:meth:`replace_partition` of the validated ``name`` (``schema.table``) in this engine's SQL."""

    @abstractmethod
    def _load_raw(self, load: RawLoad) -> int:
        """:meth:`load_raw_files` of a validated :class:`RawLoad` in this engine's SQL."""
