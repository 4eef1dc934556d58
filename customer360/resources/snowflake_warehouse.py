"""Snowflake engine of the warehouse (the production path), behind :class:`Warehouse`.

Connections come from dagster-snowflake's :class:`SnowflakeResource`, configured from the environment with
``dg.EnvVar`` (secrets never enter run config or logs): ``SNOWFLAKE_ACCOUNT``, ``SNOWFLAKE_USER``,
``SNOWFLAKE_ROLE``, ``SNOWFLAKE_WAREHOUSE``, ``SNOWFLAKE_DATABASE`` and either ``SNOWFLAKE_PASSWORD`` or key-pair
auth (``SNOWFLAKE_PRIVATE_KEY_PATH`` [+ ``SNOWFLAKE_PRIVATE_KEY_PASSPHRASE``] or ``SNOWFLAKE_PRIVATE_KEY``).
``SNOWFLAKE_HOST`` / ``SNOWFLAKE_PORT`` / ``SNOWFLAKE_PROTOCOL`` are optional (the fakesnow emulator in tests).

Raw loads never move rows through Python: each validated landing file is loaded by ``COPY INTO`` from the
external stage ``C360_SNOWFLAKE_STAGE`` (default ``RAW.C360_LANDING``, created by ``deploy/snowflake/``), whose URL
is the landing root (``s3://bucket/prefix/`` in production, ``file://`` in the emulator tests — the only
difference is that URL). One partition folder at a time:

1. every file of the day is copied (``FILES = ('<name>')``, ``MATCH_BY_COLUMN_NAME``, ``FORCE``) into a transient
   per-load table, so a file Snowflake rejects is isolated and reported with Snowflake's own first error, and
   the others still load;
2. one transaction then deletes the day's rows of ``RAW.<source>`` and inserts the copied rows with the loader
   columns (``_load_date`` = arrival day, ``_source_file`` = landing key, ``_loaded_at`` = load time, UTC):
   re-running a day gives the same rows, no reader ever sees half a day.

``_source_file`` holds the landing key (the value DuckDB stores), not ``METADATA$FILENAME``: the key is known
exactly for each file because files are copied one by one, and both engines then agree on it.
Files Snowflake rejects are kept out of the partition (their previously loaded rows, if any, are retained, as
for quarantined files) and reported through :class:`RawFilesRejectedError` after the good files committed.
"""

import os
import re
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster_snowflake import SnowflakeResource

from customer360.catalog import LOAD_DATE, LOADED_AT, RAW, SOURCE_FILE
from customer360.physical_types import SNOWFLAKE_TYPES
from customer360.resources.warehouse import (
    WAREHOUSE_SCHEMAS,
    RawFile,
    RawLoad,
    Warehouse,
    qualified,
    raw_table_columns,
    validate_identifier,
)
from customer360.settings import DEFAULT_SNOWFLAKE_FILE_FORMAT, DEFAULT_SNOWFLAKE_STAGE, get_settings
from customer360.storage import InvalidKeyError, validate_key

DEFAULT_STAGE = DEFAULT_SNOWFLAKE_STAGE
DEFAULT_FILE_FORMAT = DEFAULT_SNOWFLAKE_FILE_FORMAT

# Object names configured by env (stage, file format): SCHEMA.NAME or DB.SCHEMA.NAME, plain identifiers.
_OBJECT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){1,2}$")
# A landing key segment that may appear inside a stage path literal.


class RawFilesRejectedError(RuntimeError):
    """Snowflake rejected some files of a raw load (the others were committed).

    ``rejected`` maps each landing key to Snowflake's reason; ``inserted`` counts the rows committed."""

    def __init__(self, table: str, rejected: dict[str, str], inserted: int):
        self.table = table
        self.rejected = dict(rejected)
        self.inserted = inserted
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(rejected.items()))
        super().__init__(f"raw.{table}: Snowflake COPY rejected {len(rejected)} file(s) ({detail})")


def snowflake_resource_from_env() -> SnowflakeResource:
    """A :class:`SnowflakeResource` whose settings are ``dg.EnvVar`` references (resolved by Dagster).

    Auth: key pair when ``SNOWFLAKE_PRIVATE_KEY_PATH`` or ``SNOWFLAKE_PRIVATE_KEY`` is set, else password."""
    env = os.environ  # which secrets are present picks the auth method; their values stay dg.EnvVar references
    kwargs: dict[str, Any] = {
        "account": dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        "user": dg.EnvVar("SNOWFLAKE_USER"),
        "database": dg.EnvVar("SNOWFLAKE_DATABASE"),
        "paramstyle": "qmark",  # values bind as ``?`` on both engines
        "timezone": "UTC",
        "autocommit": True,  # explicit BEGIN/COMMIT where a unit must be atomic
    }
    for field, var in (("role", "SNOWFLAKE_ROLE"), ("warehouse", "SNOWFLAKE_WAREHOUSE")):
        if env.get(var, "").strip():
            kwargs[field] = dg.EnvVar(var)
    if env.get("SNOWFLAKE_PRIVATE_KEY_PATH", "").strip():
        kwargs["private_key_path"] = dg.EnvVar("SNOWFLAKE_PRIVATE_KEY_PATH")
    elif env.get("SNOWFLAKE_PRIVATE_KEY", "").strip():
        kwargs["private_key"] = dg.EnvVar("SNOWFLAKE_PRIVATE_KEY")
    else:
        kwargs["password"] = dg.EnvVar("SNOWFLAKE_PASSWORD")
    if env.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE", "").strip() and "password" not in kwargs:
        kwargs["private_key_password"] = dg.EnvVar("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE")
    # Endpoint overrides (emulator / private link). dagster-snowflake ignores a plain `host=`: they must travel
    # as additional connector arguments.
    extra: dict[str, Any] = {}
    if env.get("SNOWFLAKE_HOST", "").strip():
        extra["host"] = env["SNOWFLAKE_HOST"].strip()
    if env.get("SNOWFLAKE_PORT", "").strip() not in ("", "0"):
        extra["port"] = int(env["SNOWFLAKE_PORT"])
    if env.get("SNOWFLAKE_PROTOCOL", "").strip():
        extra["protocol"] = env["SNOWFLAKE_PROTOCOL"].strip()
    if extra:
        kwargs["additional_snowflake_connection_args"] = extra
    return SnowflakeResource(**kwargs)


def _object_name(value: str, what: str) -> str:
    if not _OBJECT_NAME.match(value):
        raise ValueError(f"{what} {value!r} is not a plain SCHEMA.NAME (or DB.SCHEMA.NAME) Snowflake object name")
    return value.upper()


def _polars_type(dtype: pl.DataType) -> str:
    if dtype == pl.Boolean:
        return "BOOLEAN"
    if dtype.is_integer():
        return "NUMBER(38,0)"
    if dtype.is_float() or dtype.is_decimal():
        return "FLOAT"
    if dtype == pl.Date:
        return "DATE"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMP_NTZ"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "VARCHAR"
    raise TypeError(f"no Snowflake type for polars dtype {dtype}")


def _create_sql(name: str, columns: Sequence[tuple[str, str]], transient: bool = False) -> str:
    """``CREATE [TRANSIENT] TABLE IF NOT EXISTS`` of the qualified ``name`` from ``(column, Snowflake type)``."""
    cols = ", ".join(f"{validate_identifier(c)} {t}" for c, t in columns)
    kind = "TRANSIENT TABLE" if transient else "TABLE"
    return f"CREATE {kind} IF NOT EXISTS {name} ({cols})"


def raw_table_ddl(table: str, columns: Sequence[tuple[str, str]]) -> str:
    """``CREATE TABLE IF NOT EXISTS RAW.<table>`` with the catalog columns + loader columns (as the loader does)."""
    cols = ",\n  ".join(f"{validate_identifier(c).upper()} {SNOWFLAKE_TYPES[t]}" for c, t in raw_table_columns(columns))
    return f"CREATE TABLE IF NOT EXISTS RAW.{validate_identifier(table).upper()} (\n  {cols}\n);"


def _split_key(key: str) -> tuple[str, str]:
    """``orders/load_date=2024-01-03/f.parquet`` → (``orders/load_date=2024-01-03/``, ``f.parquet``), validated.

    A safe landing key (:func:`customer360.storage.validate_key`: no quote, backslash or control character) may
    hold spaces and letters of any script; the file name goes into the COPY as a quoted string literal."""
    try:
        validate_key(key)
    except InvalidKeyError as exc:
        raise ValueError(f"landing key {key!r} cannot be used in a stage path: {exc}") from None
    parts = key.split("/")
    if len(parts) < 2:
        raise ValueError(f"landing key {key!r} cannot be used in a stage path")
    return "/".join(parts[:-1]) + "/", parts[-1]


@dataclass(frozen=True)
class CopyOutcome:
    key: str
    rows_loaded: int
    error: str | None


class SnowflakeWarehouse(Warehouse):
    def __init__(
        self,
        resource: SnowflakeResource,
        stage: str = DEFAULT_STAGE,
        file_format: str = DEFAULT_FILE_FORMAT,
    ):
        self.resource = resource
        self.stage = _object_name(stage, "stage")
        self.file_format = _object_name(file_format, "file format")

    @classmethod
    def from_env(cls) -> "SnowflakeWarehouse":
        """The engine ``C360_WAREHOUSE=snowflake`` selects: connection, stage and file format from the environment."""
        snowflake = snowflake_resource_from_env().process_config_and_initialize()
        settings = get_settings()
        return cls(snowflake, stage=settings.snowflake_stage, file_format=settings.snowflake_file_format)

    # ---------------------------------------------------------------- connections
    @contextmanager
    def connection(self) -> Iterator[Any]:
        with self.resource.get_connection() as con:
            yield con

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.connection() as con:
            cur = con.cursor()
            cur.execute("BEGIN")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def ensure_schemas(self) -> None:
        with self.connection() as con:
            cur = con.cursor()
            for schema in WAREHOUSE_SCHEMAS:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {validate_identifier(schema)}")

    # ---------------------------------------------------------------- interface
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        with self.connection() as con:
            cur = con.cursor()
            cur.execute(sql, list(params) if params else None)
            return _frame(cur)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self.connection() as con:
            con.cursor().execute(sql, list(params) if params else None)

    def table_exists(self, schema: str, table: str) -> bool:
        validate_identifier(schema), validate_identifier(table)
        out = self.query(
            "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?",
            [schema.upper(), table.upper()],
        )
        return bool(out.item(0, 0))

    def read_table(self, schema: str, table: str) -> pl.DataFrame:
        return self.query(f"select * from {qualified(schema, table)}")

    def ensure_table(self, schema: str, table: str, columns: Sequence[tuple[str, str]]) -> None:
        self.execute(_create_sql(qualified(schema, table), [(c, SNOWFLAKE_TYPES[t]) for c, t in columns]))

    def write_table(self, schema: str, table: str, df: pl.DataFrame) -> int:
        name = qualified(schema, table)
        with self._scratch_from_frame(schema, df) as scratch:
            # One statement: readers see the old table or the new one, never an empty one.
            self.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {scratch}")
        return df.height

    def _replace_partition(
        self, schema: str, name: str, df: pl.DataFrame, partition_column: str, values: list[Any]
    ) -> int:
        columns = [(c, _polars_type(df.schema[c])) for c in df.columns]
        self.execute(_create_sql(name, columns))
        with self._scratch_from_frame(schema, df) as scratch:
            cols = ", ".join(df.columns)
            with self.transaction() as cur:
                if values:
                    marks = ", ".join("?" for _ in values)
                    cur.execute(f"DELETE FROM {name} WHERE {partition_column} IN ({marks})", values)
                cur.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {scratch}")
        return df.height

    def _load_raw(self, load: RawLoad) -> int:
        self.execute(_create_sql(load.name, [(c, SNOWFLAKE_TYPES[t]) for c, t in load.all_columns]))
        for f in load.files:
            _split_key(f.key)  # every key validated before any SQL runs

        scratch = qualified(RAW, f"_c360_copy_{load.table}_{uuid.uuid4().hex[:12]}")
        scratch_columns = [(c, SNOWFLAKE_TYPES[t]) for c, t in load.columns]
        scratch_columns += [(LOAD_DATE, "DATE"), (SOURCE_FILE, "VARCHAR")]
        self.execute(_create_sql(scratch, scratch_columns, transient=True))
        try:
            outcomes = [self._copy_file(scratch, f) for f in load.files]
            rejected = {o.key: o.error for o in outcomes if o.error is not None}
            cols = ", ".join(load.names)
            with self.transaction() as cur:
                if load.days:
                    where, params = load.replaced_rows(keep=list(rejected))
                    cur.execute(f"DELETE FROM {load.name} WHERE {where}", params)
                cur.execute(
                    f"INSERT INTO {load.name} ({cols}, {LOAD_DATE}, {SOURCE_FILE}, {LOADED_AT}) "
                    f"SELECT {cols}, {LOAD_DATE}, {SOURCE_FILE}, CAST(? AS TIMESTAMP_NTZ) FROM {scratch}",
                    [load.loaded_at.isoformat(sep=" ")],
                )
                inserted = int(cur.rowcount or 0)
        finally:
            self.execute(f"DROP TABLE IF EXISTS {scratch}")
        if rejected:
            raise RawFilesRejectedError(load.table, rejected, inserted)  # type: ignore[arg-type]
        return inserted

    # ---------------------------------------------------------------- helpers
    def _copy_file(self, scratch: str, f: RawFile) -> CopyOutcome:
        """COPY one landing file into the scratch table; a rejection is returned, not raised."""
        folder, file_name = _split_key(f.key)
        sql = (
            f"COPY INTO {scratch} FROM @{self.stage}/{folder} FILES = ('{file_name}') "
            f"FILE_FORMAT = (FORMAT_NAME = '{self.file_format}') "
            "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE FORCE = TRUE ON_ERROR = ABORT_STATEMENT"
        )
        try:
            with self.connection() as con:
                cur = con.cursor()
                cur.execute(sql)
                result = _frame(cur)
                loaded = 0
                for row in result.iter_rows(named=True):
                    status = str(row.get("status", "")).upper()
                    if status != "LOADED":
                        return CopyOutcome(f.key, 0, f"{status}: {row.get('first_error') or 'no detail'}")
                    loaded += int(row.get("rows_loaded") or 0)
                if loaded != f.frame.height:
                    cur.execute(f"DELETE FROM {scratch} WHERE {SOURCE_FILE} IS NULL")
                    return CopyOutcome(
                        f.key, 0, f"COPY loaded {loaded} rows but the validated file has {f.frame.height}"
                    )
                cur.execute(
                    f"UPDATE {scratch} SET {SOURCE_FILE} = ?, {LOAD_DATE} = ? WHERE {SOURCE_FILE} IS NULL",
                    [f.key, f.load_date],
                )
        except Exception as exc:  # the connector's ProgrammingError carries Snowflake's message
            return CopyOutcome(f.key, 0, f"{type(exc).__name__}: {exc}")
        return CopyOutcome(f.key, loaded, None)

    @contextmanager
    def _scratch_from_frame(self, schema: str, df: pl.DataFrame) -> Iterator[str]:
        """A transient table holding ``df``, dropped afterwards.

        Rows travel as one parquet file: ``PUT`` to the scratch table's own stage (``@schema.%table``, which its
        owner may always use — no extra grant, no named stage), then ``COPY INTO`` by column name. Fast for
        hundreds of thousands of rows, unlike row binding."""
        columns = [(validate_identifier(c), _polars_type(df.schema[c])) for c in df.columns]
        name = f"_c360_scratch_{uuid.uuid4().hex[:12]}"
        scratch = f"{validate_identifier(schema)}.{name}"
        cols = ", ".join(f"{c} {t}" for c, t in columns)
        self.execute(f"CREATE TRANSIENT TABLE {scratch} ({cols})")
        try:
            if df.height:
                with tempfile.TemporaryDirectory(prefix="c360_put_") as tmp:
                    path = Path(tmp) / "part.parquet"
                    _naive_utc(df).write_parquet(path)
                    with self.connection() as con:
                        cur = con.cursor()
                        cur.execute(
                            f"PUT 'file://{path.as_posix()}' @{schema}.%{name} AUTO_COMPRESS = FALSE OVERWRITE = TRUE"
                        )
                        cur.execute(
                            f"COPY INTO {scratch} FROM @{schema}.%{name} FILE_FORMAT = (TYPE = PARQUET) "
                            "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE"
                        )
            yield scratch
        finally:
            self.execute(f"DROP TABLE IF EXISTS {scratch}")


def _naive_utc(df: pl.DataFrame) -> pl.DataFrame:
    """Timestamps as naive UTC (TIMESTAMP_NTZ), the warehouse convention."""
    exprs = [
        pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        for c, t in df.schema.items()
        if isinstance(t, pl.Datetime) and t.time_zone is not None
    ]
    return df.with_columns(exprs) if exprs else df


def _frame(cur: Any) -> pl.DataFrame:
    if not cur.description:
        return pl.DataFrame()
    names = [d[0].lower() for d in cur.description]
    rows = cur.fetchall()
    if not rows:
        return pl.DataFrame({n: [] for n in names})
    return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
