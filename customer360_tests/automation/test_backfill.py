"""A 30-day backfill of the raw sources and fct_transactions through Dagster's own execution (in-process).

What a UI/CLI backfill runs: the raw assets have ``BackfillPolicy.single_run()``, so the 30 days of every raw source
load in one run (partition-range run tags); ``fct_transactions`` is then backfilled in three 10-day range runs
(as three successive backfills, or ``BackfillPolicy.multi_run(10)``, would do): its merge + lookback must give
exactly what a full refresh gives. Every partition of every backfilled asset must end up materialized.
(The dbt tests prove incremental == full refresh on dbt's own; this proves the Dagster partition plumbing:
range tags → the assets' time windows → dbt vars.)
"""

from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from customer360.automation import with_automation
from customer360.ingestion import ingestion_definitions
from customer360.resources import build_resources
from customer360.settings import Settings

END = date(2024, 3, 30)
DAYS = 30
FIRST = END - timedelta(days=DAYS - 1)
DAILY_RAW = ["customers", "orders", "transactions", "events", "campaigns", "support_tickets"]
FCT = dg.AssetKey(["marts", "fct_transactions"])
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@pytest.fixture(scope="module")
def backfill_env(tmp_path_factory):
    from data_generation.generator import GenerateConfig, generate

    from customer360.transform.defs import transform_definitions

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
            ingestion_definitions(settings),
            transform_definitions(settings),
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


def test_thirty_day_backfill_materializes_every_partition_and_equals_full_refresh(backfill_env):
    defs, settings, instance = backfill_env
    graph = defs.resolve_asset_graph()
    days = [(FIRST + timedelta(days=i)).isoformat() for i in range(DAYS)]

    # raw: one single-run backfill over the 30 days (6 daily sources), and the weekly products
    _run(defs, instance, [dg.AssetKey(["raw", s]) for s in DAILY_RAW], days[0], days[-1])
    first_monday, last_monday = (d - timedelta(days=d.weekday()) for d in (FIRST, END))
    _run(defs, instance, [dg.AssetKey(["raw", "products"])], first_monday.isoformat(), last_monday.isoformat())

    # the unpartitioned dbt project once (what fct_transactions reads), then the partitioned model in three ranges
    dbt_assets = next(a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.node_def.name == "c360_dbt_assets")
    _run(defs, instance, dbt_assets.keys)
    for chunk in (days[0:10], days[10:20], days[20:30]):
        _run(defs, instance, [FCT], chunk[0], chunk[-1])

    for key in [dg.AssetKey(["raw", s]) for s in DAILY_RAW] + [FCT]:
        assert set(instance.get_materialized_partitions(key)) == set(days), key.to_user_string()

    con = duckdb.connect(settings.duckdb_path)
    try:
        con.execute("create schema if not exists compare")
        con.execute("create or replace table compare.incremental as select * from marts.fct_transactions")
    finally:
        con.close()
    dbt = defs.resources["dbt"]
    vars_json = '{"as_of_date": "%s"}' % settings.as_of_date
    dbt.cli(["run", "--select", "fct_transactions", "--full-refresh", "--vars", vars_json], raise_on_error=True).wait()

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
