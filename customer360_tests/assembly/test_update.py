"""``customer360 update`` plans only the work the new data needs: pending partitions from the load ledger (the
arrival sensors' comparison), as few range runs as the partitions allow, downstream only when something changed."""

import shutil
from datetime import date, timedelta

import dagster as dg
import pytest

from customer360.ingestion.ledger import record_loads
from customer360.ingestion.sensors import evaluate_arrivals
from customer360.pipeline import plan_assets
from customer360.resources.landing import LandingResource
from customer360.update import downstream_reason, load_steps, pending_partitions
from customer360_tests.ingestion.conftest import GEN_DAYS, GEN_END, PARTITIONS_START, generate_landing

DAYS = [(GEN_END - timedelta(days=GEN_DAYS - 1 - i)).isoformat() for i in range(GEN_DAYS)]


@pytest.fixture(scope="module")
def code_location():
    from customer360.definitions import defs

    return defs


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    generate_landing(root)
    return root


@pytest.fixture
def landing(generated, tmp_path) -> LandingResource:
    shutil.copytree(generated / "landing", tmp_path / "landing")
    return LandingResource(landing_url=str(tmp_path / "landing"), quarantine_url=str(tmp_path / "quarantine"))


def _record_all_but(landing: LandingResource, pending: dict[str, set[str]]) -> None:
    """Write the ledger as if every landed partition had been loaded, except ``pending`` {source: days}."""
    for source in ("customers", "orders", "transactions", "events", "products", "campaigns", "support_tickets"):
        requests, _ = evaluate_arrivals(source, landing, None, PARTITIONS_START, max_requests=None)
        fingerprints = {
            r.partition_key: r.run_key.rsplit(":", 1)[1]
            for r in requests
            if r.partition_key not in pending.get(source, set())
        }
        record_loads(landing, source, fingerprints)


def test_pending_is_what_the_ledger_has_not_seen_and_nothing_else(landing):
    assert set(pending_partitions(landing, PARTITIONS_START)) == {
        "customers",
        "orders",
        "transactions",
        "events",
        "products",
        "campaigns",
        "support_tickets",
    }
    _record_all_but(landing, {"orders": {DAYS[-1]}, "events": {DAYS[-1], DAYS[-2]}})
    assert pending_partitions(landing, PARTITIONS_START) == {"orders": [DAYS[-1]], "events": [DAYS[-2], DAYS[-1]]}
    # a re-delivered day with other content is pending again; nothing beyond the landing zone is invented
    day_dir = landing.store._path(f"customers/load_date={DAYS[0]}")
    (day_dir / "part-900.parquet").write_bytes(next(day_dir.glob("*.parquet")).read_bytes())
    assert pending_partitions(landing, PARTITIONS_START)["customers"] == [DAYS[0]]


def test_a_warehouse_without_the_raw_table_has_every_landed_day_pending(landing):
    _record_all_but(landing, {})
    assert pending_partitions(landing, PARTITIONS_START) == {}

    class EmptyWarehouse:
        def table_exists(self, schema, table):
            return table != "orders"

    assert pending_partitions(landing, PARTITIONS_START, EmptyWarehouse()) == {"orders": DAYS}


def test_consecutive_days_with_the_same_sources_share_one_run(code_location):
    d = [(date(2024, 3, 1) + timedelta(days=i)).isoformat() for i in range(6)]
    pending = {
        "orders": [d[0], d[1], d[2], d[4]],  # a gap before d[4]
        "transactions": [d[0], d[1], d[2], d[4]],
        "events": [d[2]],  # d[2] has another set of sources
        "products": ["2024-02-26", "2024-03-04"],  # consecutive Monday weeks
    }
    steps = [
        (s.job_name, sorted(k.path[-1] for k in s.keys), s.partition_range) for s in load_steps(code_location, pending)
    ]
    assert steps == [
        ("daily_partitions_job", ["orders", "transactions"], (d[0], d[1])),
        ("daily_partitions_job", ["events", "orders", "transactions"], (d[2], d[2])),
        ("daily_partitions_job", ["orders", "transactions"], (d[4], d[4])),
        ("weekly_partitions_job", ["products"], ("2024-02-26", "2024-03-04")),
    ]
    assert load_steps(code_location, {}) == []


def test_downstream_runs_only_when_raw_data_is_newer_than_the_last_build(code_location):
    plan = plan_assets(code_location)
    with dg.DagsterInstance.ephemeral() as instance:
        assert downstream_reason(instance, code_location, loaded_now=False) == "never built"
        for key in plan["raw_daily"] + plan["raw_weekly"]:
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=DAYS[0]))
        for key in plan["downstream"]:
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        assert downstream_reason(instance, code_location, loaded_now=False) is None
        assert downstream_reason(instance, code_location, loaded_now=True) == "new raw partitions"
        instance.report_runless_asset_event(dg.AssetMaterialization(plan["raw_daily"][0], partition=DAYS[1]))
        assert downstream_reason(instance, code_location, loaded_now=False) == "raw data loaded since the last build"


def test_load_runs_evaluate_the_assets_own_checks_not_the_scheduled_ones(code_location):
    from customer360.pipeline import own_checks

    orders = dg.AssetKey(["raw", "orders"])
    graph = code_location.resolve_asset_graph()
    every = {c.name for c in graph.asset_check_keys if c.asset_key == orders}
    assert {"dbt_source_freshness", "no_quarantined_files"} <= every  # the hourly check exists on the asset
    assert {c.name for c in own_checks(code_location, [orders])} == {
        "no_quarantined_files",
        "no_unrecognised_landing_objects",
    }
    sensor = code_location.resolve_sensor_def("raw_orders_arrivals")  # its loads: the asset and its own checks
    targeted = code_location.resolve_job_def(sensor.job_name).asset_layer.asset_graph.asset_check_keys
    assert {c.name for c in targeted} == {"no_quarantined_files", "no_unrecognised_landing_objects"}
