"""Environment-driven configuration, read in one place.

Every setting has a documented default (README "Configuration"). Secrets are never read here: resources take
them through ``dagster.EnvVar`` so they stay out of run configuration and logs.
"""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from customer360.partitions_start import DEFAULT_PARTITIONS_START, parse_day, recorded_start

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEFAULT_SNOWFLAKE_STAGE = "RAW.C360_LANDING"  # the COPY INTO stage and file format (deploy/snowflake)
DEFAULT_SNOWFLAKE_FILE_FORMAT = "RAW.C360_PARQUET"
# DuckDB's memory ceiling for every process that opens the warehouse (the engine and dbt; README "Memory"): beyond
# it, joins, aggregates, sorts and window functions spill to ``<warehouse file>.tmp``. The dbt profile's fallback
# (dbt run by hand) repeats it; customer360_tests/resources/test_duckdb_limits.py keeps the two equal.
DEFAULT_DUCKDB_MEMORY_LIMIT = "4GB"
_MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KIB|MIB|GIB|TIB)$", re.IGNORECASE)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _positive_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{name} must be a positive integer, not {raw!r}")
    return n


def _memory_size(name: str, default: str) -> str:
    raw = _env(name, default)
    if not _MEMORY_SIZE.match(raw):
        raise ValueError(f"{name} must be a size such as 4GB or 512MB, not {raw!r}")
    return raw.replace(" ", "")


def _local_or_url(value: str) -> str:
    """Relative local paths become absolute once, here: a library that changes the working directory mid-run
    (dagster-dbt's in-process adapter does) must not make a later step open a different file."""
    if "://" in value or value == ":memory:":
        return value
    return str(Path(value).expanduser().resolve())


@dataclass(frozen=True)
class Settings:
    landing_url: str
    quarantine_url: str
    duckdb_path: str
    warehouse: str  # "duckdb" | "snowflake"
    partitions_start: str  # first day of the daily partitions, YYYY-MM-DD (customer360/partitions_start.py)
    artifacts_url: str
    as_of_date: str | None  # YYYY-MM-DD reference "today" for recency/churn; None = current UTC date
    ml_threads: int = 1  # CPU threads for model fitting/scoring (scikit-learn / OpenMP)
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT  # C360_DUCKDB_MEMORY_LIMIT (README "Memory")
    duckdb_threads: int = os.cpu_count() or 1  # C360_DUCKDB_THREADS; DuckDB's own default, all cores
    git_url: str | None = None  # repository the UI's code references link to (customer360/code_references.py)
    git_ref: str | None = None  # commit or branch of those links
    exports_url: str = "data/exports"  # consumers' exports + scorecard: local folder or s3://bucket/prefix
    ml_retrain_days: int = 7  # an ML model at least this many days old is refitted on the next run (retrain policy)
    ml_training_customers: int = 500_000  # C360_ML_TRAINING_CUSTOMERS: churn/LTV refits train on a sample this big
    ml_scoring_batch_customers: int = 300_000  # C360_ML_SCORING_BATCH_CUSTOMERS: as-of features per batch
    partitions_start_set: bool = False  # C360_PARTITIONS_START given (else recorded by `customer360 demo` or default)
    dagster_home: str | None = None  # DAGSTER_HOME; None = the demo's data/dagster_home (customer360/cli.py)
    dbt_fetch_metadata: bool = True  # row counts and column schemas on each dbt materialization
    alert_webhook_set: bool = False  # C360_ALERT_WEBHOOK_URL given (the URL, a secret, is resolved by dg.EnvVar)
    sla_overrides: str = ""  # C360_TEST_SLA_OVERRIDES, end-to-end test only (customer360/automation/freshness.py)
    snowflake_stage: str = (
        DEFAULT_SNOWFLAKE_STAGE  # C360_SNOWFLAKE_STAGE (customer360/resources/snowflake_warehouse.py)
    )
    snowflake_file_format: str = DEFAULT_SNOWFLAKE_FILE_FORMAT  # C360_SNOWFLAKE_FILE_FORMAT

    @classmethod
    def from_env(cls) -> "Settings":
        warehouse = _env("C360_WAREHOUSE", "duckdb").lower()
        if warehouse not in {"duckdb", "snowflake"}:
            raise ValueError(f"C360_WAREHOUSE must be 'duckdb' or 'snowflake', not {warehouse!r}")
        quarantine_url = _local_or_url(_env("C360_QUARANTINE_URL", "data/quarantine"))
        explicit_start = _env("C360_PARTITIONS_START", "")
        partitions_start = (
            parse_day(explicit_start, "C360_PARTITIONS_START")
            if explicit_start
            else recorded_start(quarantine_url) or DEFAULT_PARTITIONS_START
        )
        return cls(
            landing_url=_local_or_url(_env("C360_LANDING_URL", "data/landing")),
            quarantine_url=quarantine_url,
            duckdb_path=_local_or_url(_env("C360_DUCKDB_PATH", "data/warehouse.duckdb")),
            warehouse=warehouse,
            partitions_start=partitions_start,
            artifacts_url=_local_or_url(_env("C360_ARTIFACTS_URL", "data/artifacts")),
            as_of_date=os.environ.get("C360_AS_OF_DATE", "").strip() or None,
            ml_threads=_positive_int("C360_ML_THREADS", 1),
            duckdb_memory_limit=_memory_size("C360_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT),
            duckdb_threads=_positive_int("C360_DUCKDB_THREADS", os.cpu_count() or 1),
            git_url=os.environ.get("C360_GIT_URL", "").strip() or None,
            git_ref=os.environ.get("C360_GIT_REF", "").strip() or None,
            exports_url=_local_or_url(_env("C360_EXPORTS_URL", "data/exports")),
            ml_retrain_days=_positive_int("C360_ML_RETRAIN_DAYS", 7),
            ml_training_customers=_positive_int("C360_ML_TRAINING_CUSTOMERS", cls.ml_training_customers),
            ml_scoring_batch_customers=_positive_int("C360_ML_SCORING_BATCH_CUSTOMERS", cls.ml_scoring_batch_customers),
            partitions_start_set=bool(explicit_start),
            dagster_home=_env("DAGSTER_HOME", "") or None,
            dbt_fetch_metadata=_env("C360_DBT_FETCH_METADATA", "1").lower() not in {"0", "false", "no", "off"},
            alert_webhook_set=bool(_env("C360_ALERT_WEBHOOK_URL", "")),
            sla_overrides=_env("C360_TEST_SLA_OVERRIDES", ""),
            snowflake_stage=_env("C360_SNOWFLAKE_STAGE", DEFAULT_SNOWFLAKE_STAGE),
            snowflake_file_format=_env("C360_SNOWFLAKE_FILE_FORMAT", DEFAULT_SNOWFLAKE_FILE_FORMAT),
        )


_LOADING: ContextVar["Settings | None"] = ContextVar("customer360_settings_for_load", default=None)


def get_settings() -> Settings:
    """The settings of the code location being assembled (read once by ``customer360/definitions.py`` and passed to
    every layer through :func:`settings_for_load`); outside a load, the environment as it is now (the CLI and the
    tests change it between calls)."""
    return _LOADING.get() or Settings.from_env()


@contextmanager
def settings_for_load(settings: Settings) -> Iterator[Settings]:
    """While the layers in ``customer360/defs/`` build, ``get_settings()`` is ``settings``: one reading for all."""
    token = _LOADING.set(settings)
    try:
        yield settings
    finally:
        _LOADING.reset(token)
