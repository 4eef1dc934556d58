"""A 30-day backfill of the raw sources and fct_transactions through Dagster's own execution (in-process).

What a UI/CLI backfill runs: the raw assets have ``BackfillPolicy.single_run()``, so the 30 days of every raw source
load in one run (partition-range run tags); ``fct_transactions`` is then backfilled in three 10-day range runs
(as three successive backfills, or ``BackfillPolicy.multi_run(10)``, would do): its merge + lookback must give
exactly what a full refresh gives. Every partition of every backfilled asset must end up materialized.
(The dbt tests prove incremental == full refresh on dbt's own; this proves the Dagster partition plumbing:
range tags → the assets' time windows → dbt vars.) Then the risk model changes and a 5-day range backfill of
``fct_transactions`` must re-flag the transactions of those days, and only those.
"""

from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest
import yaml

from customer360.automation import with_automation
from customer360.ingestion import build_arrival_sensors, build_raw_assets
from customer360.resources import build_resources
from customer360.settings import DBT_PROJECT_DIR, Settings

END = date(2024, 3, 30)
DAYS = 30
FIRST = END - timedelta(days=DAYS - 1)
DAILY_RAW = ["customers", "orders", "transactions", "events", "campaigns", "support_tickets"]
FCT = dg.AssetKey(["marts", "fct_transactions"])
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@pytest.fixture(scope="module")
def backfill_env(tmp_path_factory):
    from customer360.transform.assets import build_dbt_assets
    from customer360.transform.project import dbt_project, dbt_target
    from customer360.transform.resource import build_dbt_resource
    from data_generation.generator import GenerateConfig, generate

    root = tmp_path_factory.mktemp("backfill30")
    generate(GenerateConfig(landing=str(root / "landing"), scale=0.003, days=DAYS, end_date=END, seed=5))
    settings = Settings(
        landing_url=str(root / "landing"),
        quarantine_url=str(root / "quarantine"),
        duckdb_path=str(root / "warehouse.duckdb"),
        warehouse="duckdb",
        partitions_start=FIRST.isoformat(),
        artifacts_url=str(root / "artifacts"),
        as_of_date=END.isoformat(),
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("DBT_TARGET_PATH", str(root / "dbt_target"))  # never touch the shared dbt_project/target
    mp.setenv("C360_DUCKDB_PATH", settings.duckdb_path)
    # no in-process dbt adapter for row counts: it keeps the DuckDB file locked inside this process, and the next
    # dbt subprocess of the test then cannot open it
    mp.setenv("C360_DBT_FETCH_METADATA", "0")
    defs = with_automation(
        dg.Definitions.merge(
            dg.Definitions(resources=build_resources(settings)),
            # the ingestion and transform layers (customer360/defs/), built from this test's settings
            dg.Definitions(assets=build_raw_assets(settings), sensors=build_arrival_sensors(settings)),
            dg.Definitions(
                assets=build_dbt_assets(dbt_project(dbt_target(settings)), settings),
                resources={"dbt": build_dbt_resource(settings)},
            ),
        )
    )
    with dg.instance_for_test() as instance:
        yield defs, settings, instance
    mp.undo()


def _run(defs, instance, selection, start: str | None = None, end: str | None = None):
    job = defs.get_implicit_global_asset_job_def()
    tags = {RANGE_START: start, RANGE_END: end} if start else None
    result = job.get_subset(asset_selection=set(selection)).execute_in_process(
        instance=instance, tags=tags, raise_on_error=False
    )
    failures = [e.message for e in result.all_events if e.is_failure]
    assert result.success, failures
    return result


@pytest.fixture(scope="module")
def backfilled(backfill_env):
    """The 30 days backfilled: the raw sources in one range run, the dbt project once, fct_transactions in three
    10-day range runs. Returns the days."""
    defs, _, instance = backfill_env
    days = [(FIRST + timedelta(days=i)).isoformat() for i in range(DAYS)]

    # raw: one single-run backfill over the 30 days (6 daily sources), and the weekly products
    _run(defs, instance, [dg.AssetKey(["raw", s]) for s in DAILY_RAW], days[0], days[-1])
    first_monday, last_monday = (d - timedelta(days=d.weekday()) for d in (FIRST, END))
    _run(defs, instance, [dg.AssetKey(["raw", "products"])], first_monday.isoformat(), last_monday.isoformat())

    # the unpartitioned dbt project once (what fct_transactions reads), then the partitioned model in three ranges
    dbt_assets = next(
        a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.node_def.name == "c360_dbt_assets"
    )
    _run(defs, instance, dbt_assets.keys)
    for chunk in (days[0:10], days[10:20], days[20:30]):
        _run(defs, instance, [FCT], chunk[0], chunk[-1])
    return days


def _full_refresh_fct(defs, settings):
    vars_json = f'{{"as_of_date": "{settings.as_of_date}"}}'
    defs.resources["dbt"].cli(
        ["run", "--select", "fct_transactions", "--full-refresh", "--vars", vars_json], raise_on_error=True
    ).wait()


def test_thirty_day_backfill_materializes_every_partition_and_equals_full_refresh(backfill_env, backfilled):
    defs, settings, instance = backfill_env
    days = backfilled

    for key in [dg.AssetKey(["raw", s]) for s in DAILY_RAW] + [FCT]:
        assert set(instance.get_materialized_partitions(key)) == set(days), key.to_user_string()

    con = duckdb.connect(settings.duckdb_path)
    try:
        con.execute("create schema if not exists compare")
        con.execute("create or replace table compare.incremental as select * from marts.fct_transactions")
    finally:
        con.close()
    _full_refresh_fct(defs, settings)

    con = duckdb.connect(settings.duckdb_path, read_only=True)
    try:
        total = con.execute("select count(*), count(distinct transaction_id) from marts.fct_transactions").fetchone()
        raw_total = con.execute("select count(distinct transaction_id) from raw.transactions").fetchone()[0]
        only_inc = con.execute(
            "select count(*) from (select * from compare.incremental except all select * from marts.fct_transactions)"
        ).fetchone()[0]
        only_full = con.execute(
            "select count(*) from (select * from marts.fct_transactions except all select * from compare.incremental)"
        ).fetchone()[0]
    finally:
        con.close()
    assert total[0] == total[1] == raw_total > 0  # one row per transaction, none lost
    assert (only_inc, only_full) == (0, 0)


def test_range_backfill_recomputes_the_flags_of_its_days_only(backfill_env, backfilled):
    """The risk model changed (a newer score run rates every customer `high`): a backfill of fct_transactions over
    five old days re-flags is_high_risk of the transactions dated in them (+ lookback_days) or that arrived on them,
    exactly as a full refresh would; every other row keeps its flag until its own days are backfilled."""
    defs, settings, instance = backfill_env
    days = backfilled
    start, end = date.fromisoformat(days[10]), date.fromisoformat(days[14])
    lookback = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["lookback_days"]

    con = duckdb.connect(settings.duckdb_path)
    try:
        con.execute("create schema if not exists compare")
        con.execute(
            "create or replace table compare.flags_before as select transaction_id, is_high_risk"
            " from marts.fct_transactions"
        )
        con.execute(
            "insert into ml.customer_risk_scores (customer_id, anomaly_score, risk_tier, top_signals, model_version,"
            " scored_at) select customer_id, 1.0, 'high', '[]', 'risk-model-v2', current_timestamp::timestamp"
            " from staging.stg_customers"
        )
    finally:
        con.close()

    _run(defs, instance, [FCT], start.isoformat(), end.isoformat())  # what a UI backfill of the 5 days runs
    con = duckdb.connect(settings.duckdb_path)
    try:
        con.execute(
            "create or replace table compare.flags_backfilled as select transaction_id, is_high_risk"
            " from marts.fct_transactions"
        )
    finally:
        con.close()
    _full_refresh_fct(defs, settings)  # the flags every row would get from the new risk scores

    con = duckdb.connect(settings.duckdb_path, read_only=True)
    try:
        rows = con.execute(
            """
            select
                (s.transaction_date >= ? and s.transaction_date < ?) or (s._load_date >= ? and s._load_date < ?)
                    as in_range,
                b.is_high_risk as before, k.is_high_risk as backfilled, f.is_high_risk as recomputed
            from marts.fct_transactions f
            join staging.stg_transactions s using (transaction_id)
            join compare.flags_before b using (transaction_id)
            join compare.flags_backfilled k using (transaction_id)
            """,
            [start - timedelta(days=lookback), end + timedelta(days=1), start, end + timedelta(days=1)],
        ).fetchall()
    finally:
        con.close()
    inside = [r for r in rows if r[0]]
    outside = [r for r in rows if not r[0]]
    # the new scores change flags on both sides, so both assertions below can fail
    assert sum(1 for r in inside if r[1] != r[3]) > 0
    assert sum(1 for r in outside if r[1] != r[3]) > 0
    assert [r for r in inside if r[2] != r[3]] == []  # the backfilled days: re-flagged as a full refresh does
    assert [r for r in outside if r[2] != r[1]] == []  # the other days: untouched
