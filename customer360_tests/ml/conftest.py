"""A small real warehouse for the ML tests: generator → raw tables (clean files, bulk load) → dbt staging +
ML feature tables.

Built once per session in a temp folder with its own DuckDB file. 280 days at scale 0.006 (~1,600 customers) give the churn/LTV
time split (as_of − 180 d / − 90 d) enough history.
"""

import shutil
import sys
from datetime import date
from pathlib import Path

import pytest

from customer360.settings import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))

END_DATE = date(2025, 3, 31)


@pytest.fixture(scope="session")
def ml_warehouse(tmp_path_factory) -> Path:
    from benchmarks.ml_pipeline import dbt_features, fast_ingest, generate

    work = tmp_path_factory.mktemp("ml_wh")
    landing, truth, db = work / "landing", work / "truth", work / "warehouse.duckdb"
    generate(landing, truth, scale=0.006, days=280, end_date=END_DATE, seed=3)
    fast_ingest(landing, db)
    dbt_features(db, as_of=END_DATE, target_path=work / "dbt_target")
    return db


@pytest.fixture()
def warehouse_copy(ml_warehouse, tmp_path) -> Path:
    """A private copy of the session warehouse for tests that damage data."""
    dst = tmp_path / "warehouse.duckdb"
    shutil.copy(ml_warehouse, dst)
    return dst
