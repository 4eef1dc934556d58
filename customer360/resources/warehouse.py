"""The warehouse resource: one interface, the engine chosen by ``C360_WAREHOUSE``.

Everything above this module (ingestion, ML, tests) talks to :class:`WarehouseResource` and never learns
which engine runs. The engines live in their own modules behind the :class:`Warehouse` interface:

* ``duckdb`` (default) → :class:`customer360.resources.duckdb_warehouse.DuckDBWarehouse`
* ``snowflake`` → ``customer360.resources.snowflake_warehouse.SnowflakeWarehouse`` (the production path;
  implements the same interface, raw loads become ``COPY INTO`` from the landing stage).

The switch point is :meth:`WarehouseResource.engine_impl`: adding an engine means one class implementing
:class:`Warehouse` and one branch there.

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
from datetime import date, datetime
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field

WAREHOUSE_SCHEMAS: tuple[str, ...] = ("raw", "staging", "intermediate", "marts", "ml", "snapshots")
ENGINES: tuple[str, ...] = ("duckdb", "snowflake")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class InvalidIdentifierError(ValueError):
    """A schema, table or column name that is not a plain lower-case SQL identifier."""


def validate_identifier(name: str) -> str:
    """Return ``name`` if it is a safe identifier (``^[a-z_][a-z0-9_]*$``, ≤ 63 chars), else raise."""
    if not isinstance(name, str) or len(name) > 63 or not _IDENTIFIER.match(name):
        raise InvalidIdentifierError(f"invalid SQL identifier {name!r}: expected ^[a-z_][a-z0-9_]*$")
    return name


@dataclass(frozen=True)
class RawFile:
    """One validated landing file ready to load into ``raw.<source>``.

    ``frame`` has exactly the catalog columns in catalog order with the catalog's types. Engines that load
    straight from the landing zone (Snowflake ``COPY INTO``) may use ``key`` instead of ``frame``.
    """

    key: str  # landing key, e.g. "orders/load_date=2024-01-03/orders_0001.parquet"
    load_date: date  # the arrival day (its load_date= folder)
    frame: pl.DataFrame


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

    @abstractmethod
    def ensure_table(self, schema: str, table: str, columns: Sequence[tuple[str, str]]) -> None:
        """Create ``schema.table`` if missing, from ``(name, logical_type)`` pairs (catalog logical types)."""

    @abstractmethod
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

    def close(self) -> None:  # engines holding connections override this
        return None


class WarehouseResource(dg.ConfigurableResource):
    """The ``warehouse`` resource. ``engine`` selects the implementation (``C360_WAREHOUSE``)."""

    engine: str = Field(default="duckdb", description="duckdb | snowflake (env C360_WAREHOUSE).")
    duckdb_path: str = Field(
        default="data/warehouse.duckdb", description="DuckDB database file (env C360_DUCKDB_PATH)."
    )
    lock_timeout_seconds: float = Field(
        default=120.0,
        description="DuckDB: how long to wait for another process's write lock on the file before failing.",
    )

    def engine_impl(self) -> Warehouse:
        """THE switch point between engines."""
        engine = self.engine.strip().lower()
        if engine == "duckdb":
            from customer360.resources.duckdb_warehouse import DuckDBWarehouse

            return DuckDBWarehouse(self.duckdb_path, lock_timeout_seconds=self.lock_timeout_seconds)
        if engine == "snowflake":
            try:
                from customer360.resources.snowflake_warehouse import SnowflakeWarehouse  # type: ignore
            except ImportError as exc:  # pragma: no cover - until the Snowflake engine lands
                raise NotImplementedError(
                    "C360_WAREHOUSE=snowflake: customer360/resources/snowflake_warehouse.py (SnowflakeWarehouse, "
                    "implementing customer360.resources.warehouse.Warehouse) is not available"
                ) from exc
            return SnowflakeWarehouse.from_resource(self)
        raise ValueError(f"unknown warehouse engine {self.engine!r}: expected one of {ENGINES}")

    # Delegation: the public interface used by assets. Each call opens and closes its own connection.
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        return self.engine_impl().query(sql, params)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.engine_impl().execute(sql, params)

    def table_exists(self, schema: str, table: str) -> bool:
        return self.engine_impl().table_exists(schema, table)

    def read_table(self, schema: str, table: str) -> pl.DataFrame:
        return self.engine_impl().read_table(schema, table)

    def write_table(self, schema: str, table: str, df: pl.DataFrame) -> int:
        return self.engine_impl().write_table(schema, table, df)

    def replace_partition(
        self,
        schema: str,
        table: str,
        df: pl.DataFrame,
        partition_column: str,
        partition_values: Sequence[Any],
    ) -> int:
        return self.engine_impl().replace_partition(schema, table, df, partition_column, partition_values)

    def ensure_table(self, schema: str, table: str, columns: Sequence[tuple[str, str]]) -> None:
        self.engine_impl().ensure_table(schema, table, columns)

    def load_raw_files(
        self,
        table: str,
        columns: Sequence[tuple[str, str]],
        load_dates: Sequence[date],
        files: Sequence[RawFile],
        loaded_at: datetime,
        retain_files: Sequence[str] = (),
    ) -> int:
        return self.engine_impl().load_raw_files(table, columns, load_dates, files, loaded_at, retain_files)
