"""The incremental design on target `snowflake` (dbt-snowflake MERGE, against the fakesnow server): the history
loaded by the Snowflake engine and built once, then the last arrival days loaded one at a time (late rows,
re-sends, status changes) each followed by an incremental `dbt build`; every staging, intermediate, mart and
ML-feature table then equals a `--full-refresh` build of the same raw tables (as multisets, floats rounded).

Loads are stamped (`loaded_at`) in the order they commit, as the loader's default stamp, the load time, is
(README "Incremental design"): a model keeps one watermark over all its sources, so a load stamped before rows a
model already holds would never be seen. Profiles come one day ahead (an event names a customer whose profile
lands the next day; the relationship tests need it), stamped with the load they come with."""

import os
import shutil
from datetime import UTC, date, datetime, timedelta

import polars as pl

from customer360.ingestion.loader import load_days
from customer360.resources import WarehouseResource
from customer360.resources.landing import LandingResource
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
        [pl.col(c).round(ROUND_DIGITS + 2).round(ROUND_DIGITS) for c, t in frame.schema.items() if t.is_float()]
    )
    return frame.sort(frame.columns, nulls_last=True)


def test_incremental_days_equal_full_refresh_on_snowflake_emulator(generated_landing, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    shutil.copytree(generated_landing, landing)
    shutil.copytree(generated_landing.parent / "truth", tmp_path / "truth")
    with fakesnow_server(tmp_path / "fakesnow.log") as port:
        env_sf = snowflake_env(port)
        for key, value in env_sf.items():
            monkeypatch.setenv(key, value)
        wh = WarehouseResource(engine="snowflake").build()
        prepare_account(wh, landing)
        res = LandingResource(landing_url=str(landing), quarantine_url=str(tmp_path / "quarantine"))
        bad = bad_file_keys(landing)

        profile_days = set()

        def load(days: list[date]) -> None:
            """Each day one load stamped with its arrival: the profiles up to the next day, then the day's facts."""
            for day in days:
                loads = [
                    ("customers", d) for d in (day, day + timedelta(days=1)) if d in DAYS and d not in profile_days
                ]
                loads += [(source, day) for source in SOURCE_ORDER if source != "customers"]
                for source, part in loads:
                    report = load_days(source, [part], wh, res, loaded_at=_arrival(day))
                    assert {q.key for q in report.quarantined} <= bad, {q.key for q in report.quarantined} - bad
                profile_days.update(part for source, part in loads if source == "customers")

        env = {
            **os.environ,
            **env_sf,
            "C360_DBT_TARGET": "snowflake",
            "DBT_PROFILES_DIR": str(DBT_PROJECT),
            "DBT_TARGET_PATH": str(tmp_path / "target"),
            "DBT_LOG_PATH": str(tmp_path / "logs"),
            "C360_DBT_THREADS": "4",
        }
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
