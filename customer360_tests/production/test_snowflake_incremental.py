"""The incremental design on target `snowflake` (dbt-snowflake MERGE, against the fakesnow server): the history
loaded by the Snowflake engine and built once, then the last arrival days loaded one at a time (late rows,
re-sends, status changes) each followed by an incremental `dbt build`; every staging, intermediate, mart and
ML-feature table then equals a `--full-refresh` build of the same raw tables (as multisets, floats rounded)."""

import os
import shutil
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from customer360.ingestion.loader import load_days
from customer360.resources.landing import LandingResource
from customer360.resources.warehouse import WarehouseResource
from customer360_tests.production.conftest import GEN_DAYS, GEN_END, bad_file_keys
from customer360_tests.production.helpers import DBT_PROJECT, fakesnow_server, snowflake_env
from customer360_tests.production.snowflake_setup import SOURCE_ORDER, prepare_account
from customer360_tests.production.test_snowflake_dbt import _dbt
from customer360_tests.transform.equality import COMPARED, EXCLUDED_COLUMNS, ROUND_DIGITS

DAYS = [date.fromisoformat(GEN_END) - timedelta(days=i) for i in range(GEN_DAYS)][::-1]
HISTORY, APPENDED = DAYS[:-2], DAYS[-2:]


def _arrival(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)


def _canonical(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Comparable form of a table: excluded columns dropped, floats rounded, rows sorted (a multiset)."""
    frame = frame.rename({c: c.lower() for c in frame.columns})
    frame = frame.drop([c for c in EXCLUDED_COLUMNS.get(table, set()) if c in frame.columns])
    frame = frame.with_columns(
        [pl.col(c).round(ROUND_DIGITS + 2).round(ROUND_DIGITS) for c, t in frame.schema.items() if t.is_float()])
    return frame.sort(frame.columns, nulls_last=True)


@pytest.mark.xfail(strict=True, reason="on the emulator the customer-level intermediates (and what reads them) differ "
                   "from a full refresh after the appended days while staging and fct_* are equal: not diagnosed yet "
                   "(DuckDB guard passes); strict, so it reports when fixed")
def test_incremental_days_equal_full_refresh_on_snowflake_emulator(generated_landing, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    shutil.copytree(generated_landing, landing)
    shutil.copytree(generated_landing.parent / "truth", tmp_path / "truth")
    with fakesnow_server(tmp_path / "fakesnow.log") as port:
        env_sf = snowflake_env(port)
        for key, value in env_sf.items():
            monkeypatch.setenv(key, value)
        warehouse = WarehouseResource(engine="snowflake")
        wh = warehouse.engine_impl()
        prepare_account(wh, landing)
        res = LandingResource(landing_url=str(landing), quarantine_url=str(tmp_path / "quarantine"))
        bad = bad_file_keys(landing)

        def load(days: list[date]) -> None:
            for day in days:
                for source in (s for s in SOURCE_ORDER if s != "customers"):
                    quarantined = {q.key for q in load_days(source, [day], warehouse, res, loaded_at=_arrival(day)).quarantined}
                    assert quarantined <= bad, quarantined - bad

        env = {**os.environ, **env_sf, "C360_DBT_TARGET": "snowflake", "DBT_PROFILES_DIR": str(DBT_PROJECT),
               "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs"),
               "C360_DBT_THREADS": "4"}
        # profiles first (an event or order can name a customer whose row lands a day later), then the history
        for day in DAYS:
            assert {q.key for q in load_days("customers", [day], warehouse, res, loaded_at=_arrival(day)).quarantined} <= bad
        load(HISTORY)
        _dbt(env, tmp_path, "build")
        for day in APPENDED:
            load([day])
            _dbt(env, tmp_path, "build")
        log = (tmp_path / "logs" / "dbt.log").read_text().lower()
        assert "merge into" in log and "touched" in log  # the incremental models merged what the days touched
        incremental = {t: _canonical(wh.query(f"select * from {t}"), t) for t in COMPARED}
        assert incremental["marts.fct_orders"].height > 0

        _dbt(env, tmp_path, "run", "--full-refresh")
        drift = {}
        for table in COMPARED:
            full = _canonical(wh.query(f"select * from {table}"), table)
            if not full.equals(incremental[table]):
                drift[table] = (incremental[table].height, full.height)
        assert drift == {}, f"incremental tables differ from a full refresh (rows incremental, full): {drift}"
