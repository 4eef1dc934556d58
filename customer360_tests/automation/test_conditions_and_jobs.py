"""Which assets update when (cadence from lineage), the jobs built from the graph, one-writer execution."""

import datetime as dt

import dagster as dg
import pytest

from customer360 import sla
from customer360.automation import with_automation
from customer360.automation.conditions import (
    DAILY_CRON,
    HOURLY_CRON,
    WEEKLY_CRON,
    automation_plan,
    cadence_of,
)

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
WEEKLY = dg.WeeklyPartitionsDefinition(start_date="2024-01-01", day_offset=1, end_offset=1)


def _raw(source: str):
    @dg.asset(key=["raw", source], group_name="raw", partitions_def=WEEKLY if source == "products" else DAILY)
    def _a():
        return None

    return _a


def _model(key: str, *deps: str, partitions_def=None):
    schema, name = key.split("/")

    @dg.asset(
        key=[schema, name],
        group_name=schema,
        deps=[dg.AssetKey(d.split("/")) for d in deps],
        partitions_def=partitions_def,
    )
    def _a():
        return None

    return _a


def _small_assets():
    return [_raw(s) for s in ("customers", "orders", "transactions", "events", "products")] + [
        _model("staging/fx_rates"),  # a dbt seed: no upstream
        _model("staging/stg_events", "raw/events"),
        _model("staging/stg_transactions", "raw/transactions", "staging/fx_rates"),
        _model("staging/stg_products", "raw/products"),
        _model("staging/stg_orders", "raw/orders"),
        _model("staging/stg_customers", "raw/customers"),
        _model("intermediate/int_session_features", "staging/stg_events"),
        _model("intermediate/int_product_affinity", "staging/stg_products", "staging/stg_orders"),
        _model("marts/fct_transactions", "raw/transactions", "staging/stg_customers", partitions_def=DAILY),
        _model("ml/feat_customer_segmentation", "intermediate/int_session_features", "staging/stg_customers"),
        _model("ml/customer_segments", "ml/feat_customer_segmentation"),
        _model("marts/fct_customer_value", "ml/customer_segments", "marts/fct_transactions"),
    ]


@pytest.fixture(scope="module")
def small_defs():
    """A miniature of the real lineage (same keys and shapes as the conventions)."""
    return with_automation(dg.Definitions(assets=_small_assets()))


def test_cadence_follows_the_feeding_sources():
    assert cadence_of(frozenset({"events"})) == sla.HOURLY
    assert cadence_of(frozenset({"events", "transactions"})) == sla.HOURLY
    assert cadence_of(frozenset({"products"})) == sla.WEEKLY
    assert cadence_of(frozenset({"products", "orders"})) == sla.DAILY
    assert cadence_of(frozenset()) == sla.ON_DEPLOY  # seeds: rebuilt only by a deploy
    assert cadence_of(frozenset({"transactions", "customers"})) == sla.DAILY
    assert cadence_of(frozenset({"transactions", "customers"}), partitioned=True) == sla.HOURLY


def test_plan_and_conditions_on_the_graph(small_defs):
    plan = {k.to_user_string(): row.rebuild_cron for k, row in automation_plan(small_defs).items()}
    assert plan["staging/stg_events"] == HOURLY_CRON
    assert plan["marts/fct_transactions"] == HOURLY_CRON  # partitioned and fed by transactions
    assert plan["staging/stg_products"] == WEEKLY_CRON
    assert plan["intermediate/int_product_affinity"] == DAILY_CRON
    assert plan["ml/customer_segments"] == DAILY_CRON
    assert not any(k.startswith("raw/") for k in plan)  # raw loads are arrival-driven (sensors)

    graph = small_defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        condition = graph.get(key).automation_condition
        if key.path[0] == "raw":
            assert condition is None
        else:
            assert condition is not None and condition.get_label().startswith(
                ("rebuild_on(", "build_root_when_missing")
            )
    assert graph.get(dg.AssetKey(["staging", "stg_events"])).automation_condition.get_label() == (
        f"rebuild_on({HOURLY_CRON})"
    )


def test_automation_builds_on_arrival_once_then_per_cadence(small_defs):
    """Evaluate the real conditions tick by tick against an instance (what the automation sensor does)."""
    assets = {a.key.to_user_string(): a for a in small_defs.assets}
    today = dt.datetime.now(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday())

    def materialize(*keys, partition=None):
        for key in keys:
            part = partition
            if key == "raw/products":
                part = monday.isoformat()
            elif part is None and assets[key].partitions_def is not None:
                part = today.isoformat()
            dg.materialize([assets[key]], instance=instance, partition_key=part)

    def requested(evaluation_time=None) -> set[str]:
        nonlocal cursor
        result = dg.evaluate_automation_conditions(
            defs=small_defs, instance=instance, cursor=cursor, evaluation_time=evaluation_time
        )
        cursor = result.cursor
        return {r.key.to_user_string() for r in result.results if r.true_subset.size}

    with dg.instance_for_test() as instance:
        cursor = None
        assert requested() == {"staging/fx_rates"}  # the seed has no upstream: built at once
        materialize("staging/fx_rates")
        assert requested() == set()
        materialize("raw/customers", "raw/orders")  # two sources land first
        assert requested() == {"staging/stg_customers", "staging/stg_orders"}
        materialize("staging/stg_customers", "staging/stg_orders")
        # fct_transactions waits for today's raw/transactions partition; nothing else is complete yet
        assert requested() == set()
        materialize("raw/events", "raw/transactions", "raw/products")
        rest = {
            "staging/stg_events",
            "staging/stg_transactions",
            "staging/stg_products",
            "intermediate/int_session_features",
            "intermediate/int_product_affinity",
            "marts/fct_transactions",
            "ml/feat_customer_segmentation",
            "ml/customer_segments",
        }
        assert requested() == rest  # one evaluation: the whole chain joins one request
        materialize(*sorted(rest))
        # a partitioned and an unpartitioned asset cannot share a run: the mart reading fct_transactions follows
        assert requested() == {"marts/fct_customer_value"}
        materialize("marts/fct_customer_value")
        assert requested() == set()

        materialize("raw/orders")  # more orders the same day: wait for the next 02:00 build
        assert requested() == set()
        next_run = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(2, 1), tzinfo=dt.UTC)
        assert requested(next_run) == {"staging/stg_orders", "intermediate/int_product_affinity"}


def test_jobs_group_assets_by_partitioning(small_defs):
    jobs = {j.name: j for j in small_defs.resolve_all_job_defs()}
    keys = lambda name: {k.to_user_string() for k in jobs[name].asset_layer.executable_asset_keys}  # noqa: E731
    assert keys("daily_partitions_job") == {
        "raw/customers",
        "raw/orders",
        "raw/transactions",
        "raw/events",
        "marts/fct_transactions",
    }
    assert keys("weekly_partitions_job") == {"raw/products"}
    assert "ml/customer_segments" in keys("downstream_job") and not any(
        k.startswith("raw/") for k in keys("downstream_job")
    )
    assert jobs["daily_partitions_job"].partitions_def is not None


def test_code_location_runs_in_process_and_pools_the_warehouse():
    """One writer per DuckDB file: in-process executor for every run + every warehouse asset in the pool."""
    from customer360.definitions import defs

    assert defs.executor is not None and defs.executor.name == "in_process"
    repo = defs.get_repository_def()
    for assets_def in repo.asset_graph.assets_defs:
        if not assets_def.is_executable:
            continue
        needs_warehouse = {"warehouse", "dbt"} & set(assets_def.required_resource_keys)
        if needs_warehouse:
            pools = {op.pool for op in assets_def.node_def.iterate_op_defs()}
            assert pools == {"warehouse"}, f"{assets_def.keys}: writes the warehouse outside the `warehouse` pool"
    names = {s.name for s in defs.sensors}
    assert {"c360_freshness_alerts", "c360_asset_check_alerts", "c360_run_failure_alerts", "c360_automation"} <= names


def test_range_backfill_of_raw_and_fct_transactions_targets_both_in_order():
    """The UI's "Materialize" dialog (and GraphQL ``partitionNames`` + ``assetSelection``) maps the range from the
    raw roots through partitioned assets only: ``fct_transactions`` must be reachable (same-day edge from
    ``raw/transactions``, see transform/translator.py) and must come after the raw loads."""
    import time

    from dagster._core.execution.asset_backfill import AssetBackfillData

    from customer360.definitions import defs
    from customer360.ingestion.partitions import daily_partitions

    graph = defs.resolve_asset_graph()
    fct = dg.AssetKey(["marts", "fct_transactions"])
    selection = [k for k in graph.get_all_asset_keys() if k.path[0] == "raw" and k.path[1] != "products"] + [fct]
    first = dt.date.fromisoformat(daily_partitions().get_first_partition_key())
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range(3)]
    with dg.instance_for_test() as instance:
        data = AssetBackfillData.from_asset_partitions(
            asset_graph=graph,
            partition_names=days,
            asset_selection=selection,
            dynamic_partitions_store=instance,
            backfill_start_timestamp=time.time(),
            all_partitions=False,
        )
    targeted = data.target_subset.partitions_subsets_by_asset_key
    assert set(targeted) == set(selection)
    assert set(targeted[fct].get_partition_keys()) == set(days)
    assert dg.AssetKey(["raw", "transactions"]) in graph.get(fct).parent_keys  # ordered after the load


def test_rebuilds_wait_while_a_raw_load_is_pending(small_defs):
    """A burst of arrivals settles first: nothing downstream is requested while an arrival load is pending."""
    from dagster._core.test_utils import create_run_for_test

    from customer360.ingestion.sensors import ARRIVAL_TRIGGER, TRIGGER_TAG

    assets = {a.key.to_user_string(): a for a in small_defs.assets}
    today = dt.datetime.now(dt.UTC).date().isoformat()

    def requested(cursor=None):
        result = dg.evaluate_automation_conditions(defs=small_defs, instance=instance, cursor=cursor)
        return {r.key.to_user_string() for r in result.results if r.true_subset.size}, result.cursor

    with dg.instance_for_test() as instance:
        dg.materialize([assets["staging/fx_rates"]], instance=instance)
        keys, cursor = requested()  # baseline evaluation (the sensor's first tick)
        assert keys == set()
        dg.materialize([assets["raw/customers"]], instance=instance, partition_key=today)
        load = create_run_for_test(
            instance,
            job_name="raw_orders_load",
            status=dg.DagsterRunStatus.STARTED,
            tags={TRIGGER_TAG: ARRIVAL_TRIGGER},
        )
        unrelated = create_run_for_test(instance, job_name="other", status=dg.DagsterRunStatus.STARTED)
        keys, cursor = requested(cursor)
        assert keys == set()  # stg_customers is ready, but the orders load is still running
        instance.report_run_canceled(load)
        keys, cursor = requested(cursor)
        assert keys == {"staging/stg_customers"}  # a run without the arrival tag does not hold anything back
        assert instance.get_run_by_id(unrelated.run_id).status == dg.DagsterRunStatus.STARTED
