"""Correctness guard of the incremental design: a warehouse built once and then kept up to date day by day
(``--append-day`` landing files with late rows, re-sends, order status changes, late campaign opens; as_of_date
moving with each day, then moving with no new data) equals a ``--full-refresh`` build of the same raw tables, in
every staging, intermediate, mart and ML-feature table (EXCEPT ALL both ways, floats rounded)."""

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from customer360_tests.transform.conftest import _new_env
from customer360_tests.transform.equality import COMPARED, difference_sql
from customer360_tests.transform.rawdata import load_raw

INITIAL_END = date(2024, 3, 8)
INITIAL_DAYS = 8
APPENDED = 3  # days appended one at a time, each built incrementally


def _arrival(day: date) -> datetime:
    """The loader stamps each day's files when they land (06:00 the day after their load_date)."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time()) + timedelta(hours=6)


def _differences(inc_db: Path, full_db: Path) -> dict[str, int]:
    with duckdb.connect(str(inc_db)) as con:
        con.execute(f"attach '{full_db}' as full_refresh (read_only)")
        out = {}
        for table in COMPARED:
            schema, name = table.split(".")
            columns = con.execute(
                "select column_name, data_type from information_schema.columns where table_catalog = 'warehouse'"
                " and table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
            assert columns, table
            out[table] = con.execute(difference_sql(table, columns, "warehouse.", "full_refresh.")).fetchone()[0]
        return out


def _full_refresh_copy(env, folder: Path, landing: Path, as_of: date):
    """The same raw tables in a fresh warehouse, built with --full-refresh."""
    full = _new_env(landing.parent, folder)
    with duckdb.connect(str(full.db_path)) as con:
        con.execute(f"attach '{env.db_path}' as src (read_only)")
        con.execute("create schema raw")
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'src' and table_schema = 'raw'"
        ).fetchall():
            con.execute(f"create table raw.{table} as select * from src.raw.{table}")
    full.dbt("seed")
    full.dbt("run", "--full-refresh", vars={"as_of_date": as_of.isoformat()})
    return full


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    from data_generation.generator import GenerateConfig, generate

    root = tmp_path_factory.mktemp("c360_incremental_gen")
    generate(
        GenerateConfig(landing=str(root / "landing"), scale=0.004, days=INITIAL_DAYS, end_date=INITIAL_END, seed=5)
    )
    return root / "landing"


def test_incremental_days_equal_a_full_refresh(landing, tmp_path):
    from data_generation.append import append_day

    env = _new_env(landing.parent, tmp_path / "incremental")
    first = INITIAL_END - timedelta(days=INITIAL_DAYS - 1)
    for day in (first + timedelta(days=i) for i in range(INITIAL_DAYS)):  # history loaded day by day, one build
        load_raw(landing, env.db_path, only_days=(day, day), loaded_at=_arrival(day), append=day != first)
    env.dbt("seed")
    env.dbt("build", vars={"as_of_date": INITIAL_END.isoformat()})

    day = INITIAL_END
    for _ in range(APPENDED):
        append_day(str(landing))
        day += timedelta(days=1)
        assert load_raw(landing, env.db_path, only_days=(day, day), loaded_at=_arrival(day), append=True)["orders"] > 0
        env.dbt("build", vars={"as_of_date": day.isoformat()})  # incremental models merge, tests on the new rows
    compiled = env.target_path / "compiled" / "customer360" / "models" / "intermediate" / "int_customer_orders.sql"
    assert "touched" in compiled.read_text(), "the last build did not take the incremental path"

    # the appended days exercised what incremental models get wrong: new versions of old orders (status changes),
    # opens/clicks of old sends, late transactions (event day before the arrival day)
    changed_orders, late_opens, late_txns = env.sql(
        f"""select
            (select count(distinct order_id) from raw.orders where _load_date > '{INITIAL_END}' and order_id in
                (select order_id from raw.orders where _load_date <= '{INITIAL_END}')),
            (select count(*) from raw.campaigns where _load_date > '{INITIAL_END}'
                and cast(sent_at as date) <= '{INITIAL_END}'),
            (select count(*) from raw.transactions where _load_date > '{INITIAL_END}'
                and cast(transaction_date as date) < _load_date)"""
    )[0]
    assert changed_orders > 0 and late_opens > 0 and late_txns > 0, (changed_orders, late_opens, late_txns)

    full = _full_refresh_copy(env, tmp_path / "full", landing, day)
    drift = {t: n for t, n in _differences(env.db_path, full.db_path).items() if n}
    assert drift == {}, f"incremental tables differ from a full refresh (rows): {drift}"
    # the row counts themselves are not trivially equal: the days added rows
    assert env.sql("select count(*) from marts.fct_orders")[0][0] > 0

    # a later as_of_date with no new data: recency, tenure and the new-device window move without new facts
    later = day + timedelta(days=3)
    env.dbt("build", vars={"as_of_date": later.isoformat()})
    full_later = _full_refresh_copy(env, tmp_path / "full_later", landing, later)
    drift = {t: n for t, n in _differences(env.db_path, full_later.db_path).items() if n}
    assert drift == {}, f"after moving as_of_date, incremental tables differ from a full refresh (rows): {drift}"
    shutil.rmtree(tmp_path / "full", ignore_errors=True)
