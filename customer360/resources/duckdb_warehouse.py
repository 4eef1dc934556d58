"""DuckDB engine of the warehouse (the embedded default).

One connection per operation (opened, used, closed), so a Dagster run, a test and an ad-hoc reader never
hold the file longer than one statement or transaction. Data moves as Arrow tables (vectorised, no row
loops). DuckDB allows one writer *process* per file: when another process holds the lock we wait (up to
``lock_timeout_seconds``) instead of failing at once.
"""

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from customer360.catalog import LOAD_DATE, RAW, SOURCE_FILE
from customer360.physical_types import DUCKDB_TYPES
from customer360.resources.duckdb_limits import DuckDBLimits
from customer360.resources.warehouse import (
    WAREHOUSE_SCHEMAS,
    RawFile,
    RawLoad,
    Warehouse,
    qualified,
    validate_identifier,
)

_SCHEMAS_READY: set[str] = set()  # database files whose schemas exist (per process)


_OPEN_CLOSE_LOCK = threading.Lock()


def _is_lock_error(exc: Exception) -> bool:
    """Another process holds the file (wait for it), or a transient in-process attach conflict."""
    text = str(exc).lower()
    return ("lock" in text and ("conflicting" in text or "could not set" in text)) or "already attached" in text


class DuckDBWarehouse(Warehouse):
    def __init__(self, path: str, lock_timeout_seconds: float = 120.0, limits: DuckDBLimits | None = None):
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock_timeout_seconds = lock_timeout_seconds
        self.limits = limits or DuckDBLimits()
        self._config = self.limits.connect_config(path)

    # ---------------------------------------------------------------- connections
    def _connect(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.05
        while True:
            try:
                with _OPEN_CLOSE_LOCK:  # duckdb's per-process instance cache races on concurrent open/close
                    return duckdb.connect(self.path, config=self._config)
            except (duckdb.IOException, duckdb.ResourceInUseException) as exc:
                if not _is_lock_error(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._connect()
        try:
            key = str(Path(self.path).resolve()) if self.path != ":memory:" else None
            if key is None or key not in _SCHEMAS_READY:
                for schema in WAREHOUSE_SCHEMAS:
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                if key is not None:
                    _SCHEMAS_READY.add(key)
            yield con
        finally:
            with _OPEN_CLOSE_LOCK:
                con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # ---------------------------------------------------------------- interface
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        with self.connection() as con:
            return _to_polars(con.sql(sql, params=list(params) if params else None))

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self.transaction() as con:
            con.execute(sql, list(params) if params else None)

    def table_exists(self, schema: str, table: str) -> bool:
        validate_identifier(schema), validate_identifier(table)
        with self.connection() as con:
            row = con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchone()
        return bool(row and row[0])

    def read_table(self, schema: str, table: str) -> pl.DataFrame:
        name = qualified(schema, table)
        with self.connection() as con:
            return _to_polars(con.sql(f"select * from {name}"))

    def write_table(self, schema: str, table: str, df: pl.DataFrame) -> int:
        name = qualified(schema, table)
        for column in df.columns:
            validate_identifier(column)
        with self.transaction() as con:
            con.register("_c360_df", df.to_arrow())
            con.execute(f"create or replace table {name} as select * from _c360_df")
            con.unregister("_c360_df")
        return df.height

    def ensure_table(self, schema: str, table: str, columns: Sequence[tuple[str, str]]) -> None:
        with self.connection() as con:
            con.execute(_create_table_sql(schema, table, columns))

    def _replace_partition(
        self, schema: str, name: str, df: pl.DataFrame, partition_column: str, values: list[Any]
    ) -> int:
        with self.transaction() as con:
            con.register("_c360_df", df.to_arrow())
            con.execute(f"create table if not exists {name} as select * from _c360_df limit 0")
            if values:
                marks = ", ".join("?" for _ in values)
                con.execute(f"delete from {name} where {partition_column} in ({marks})", values)
            cols = ", ".join(df.columns)
            con.execute(f"insert into {name} ({cols}) select {cols} from _c360_df")
            con.unregister("_c360_df")
        return df.height

    def _load_raw(self, load: RawLoad) -> int:
        for f in load.files:
            if f.frame.columns != load.names:
                raise ValueError(
                    f"{f.key}: columns {f.frame.columns} differ from raw.{load.table} columns {load.names}"
                )
        all_names = [c for c, _ in load.all_columns]
        with self.transaction() as con:
            con.execute(_create_table_sql(RAW, load.table, load.all_columns))
            if load.days:
                where, params = load.replaced_rows()
                con.execute(f"delete from {load.name} where {where}", params)
            inserted = 0
            if load.files:
                batch = _with_loader_columns(load.files)
                # one contiguous frame (DuckDB scans a few big Arrow chunks faster than one per file) handed
                # over as string views (DuckDB reads them without re-encoding): zero-copy, one statement
                con.register("_c360_raw", batch.to_arrow(compat_level=pl.CompatLevel.newest()))
                cols = ", ".join(all_names)
                con.execute(
                    f"insert into {load.name} ({cols}) select {', '.join(all_names[:-1])}, ?::timestamp from _c360_raw",
                    [load.loaded_at],
                )
                con.unregister("_c360_raw")
                inserted = batch.height
        return inserted


def _with_loader_columns(files: Sequence[RawFile]) -> pl.DataFrame:
    """Every file's rows in one frame plus ``_load_date`` and ``_source_file`` (vectorised, not per file)."""
    heights = np.asarray([f.frame.height for f in files], dtype=np.int64)
    frames = [f.frame for f in files]
    data = pl.concat(frames, how="vertical", rechunk=False) if len(frames) > 1 else frames[0]
    file_of = pl.Series(np.repeat(np.arange(len(files), dtype=np.int32), heights))
    days = pl.Series([f.load_date for f in files], dtype=pl.Date)
    keys = pl.Series([f.key for f in files], dtype=pl.String)
    return data.with_columns(days.gather(file_of).alias(LOAD_DATE), keys.gather(file_of).alias(SOURCE_FILE)).rechunk()


def _create_table_sql(schema: str, table: str, columns: Sequence[tuple[str, str]]) -> str:
    cols = ", ".join(f"{validate_identifier(c)} {DUCKDB_TYPES[t]}" for c, t in columns)
    return f"create table if not exists {qualified(schema, table)} ({cols})"


def _to_polars(rel: duckdb.DuckDBPyRelation | None) -> pl.DataFrame:
    if rel is None:  # a statement, not a query
        return pl.DataFrame()
    out = pl.from_arrow(rel.to_arrow_table())
    assert isinstance(out, pl.DataFrame)
    return out
