"""Arrival sensors against a local folder and a real S3 API on loopback (moto), evaluated by Dagster."""

import json
import logging

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from customer360.ingestion.sensors import build_arrival_sensor, load_cursor
from customer360.resources import LandingResource
from customer360.run_priorities import ARRIVAL_RUN_PRIORITY, USER_RUN_PRIORITY
from customer360.settings import Settings

START = "2024-01-01"


def _settings(landing_url: str) -> Settings:
    return Settings(landing_url, "unused", "unused.duckdb", "duckdb", START, "unused", None)


@pytest.fixture(params=["local", "s3"])
def landing(request, tmp_path) -> LandingResource:
    if request.param == "local":
        return LandingResource(landing_url=str(tmp_path / "landing"), quarantine_url=str(tmp_path / "q"))
    bucket = request.getfixturevalue("s3_bucket")
    return LandingResource(landing_url=f"s3://{bucket}/landing", quarantine_url=f"s3://{bucket}/q")


def tick(sensor, landing, cursor=None, instance=None):
    ctx = dg.build_sensor_context(cursor=cursor, instance=instance, resources={"landing": landing})
    result = sensor(ctx)
    assert isinstance(result, dg.SensorResult)
    return result.run_requests or [], result.cursor


def put(landing, key, data=b"parquet bytes"):
    landing.store.write(key, data)


def span(req: dg.RunRequest) -> tuple[str, str]:
    """The partitions a request covers: its range tags, or its one partition."""
    if req.partition_key is not None:
        return req.partition_key, req.partition_key
    return req.tags[ASSET_PARTITION_RANGE_START_TAG], req.tags[ASSET_PARTITION_RANGE_END_TAG]


def test_new_files_several_per_tick_and_days(landing):
    sensor = build_arrival_sensor("transactions", _settings(landing.landing_url))
    assert sensor.minimum_interval_seconds == 30
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    reqs, cursor = tick(sensor, landing)
    assert reqs == []
    for i in range(3):  # three micro-batches of one day, plus another day, all between two ticks
        put(landing, f"transactions/load_date=2024-01-02/batch_{i}.parquet", f"day2-{i}".encode())
    put(landing, "transactions/load_date=2024-01-03/batch_0.parquet", b"day3")
    reqs, cursor = tick(sensor, landing, cursor)
    # both days in ONE range run (not one run per day)
    [req] = reqs
    assert req.partition_key is None and span(req) == ("2024-01-02", "2024-01-03")
    assert req.run_key.startswith("transactions:2024-01-02..2024-01-03:")
    assert req.tags["customer360/files"] == "4" and req.tags["customer360/partitions"] == "2"
    # loads rank below a user's runs (untagged: 0), so queued loads never starve a backfill
    assert int(req.tags["dagster/priority"]) == ARRIVAL_RUN_PRIORITY < USER_RUN_PRIORITY
    assert set(load_cursor(cursor)) == {"2024-01-02", "2024-01-03"}
    # nothing new: no request, and the listing is compared without reading any file
    reqs, cursor2 = tick(sensor, landing, cursor)
    assert reqs == [] and cursor2 == cursor


def test_redelivery_is_ignored_and_new_file_reloads_the_day(landing):
    sensor = build_arrival_sensor("orders", _settings(landing.landing_url))
    put(landing, "orders/load_date=2024-02-01/a.parquet", b"aaa")
    [first], cursor = tick(sensor, landing)
    # identical file delivered again (new mtime / same ETag): no run
    put(landing, "orders/load_date=2024-02-01/a.parquet", b"aaa")
    reqs, cursor = tick(sensor, landing, cursor)
    assert reqs == []
    # the same files with a lost cursor give the same run key: Dagster launches at most one run per key
    [again], _ = tick(sensor, landing, None)
    assert again.run_key == first.run_key
    # a genuinely new file for the loaded day: the day is requested again, under a new run key
    put(landing, "orders/load_date=2024-02-01/b.parquet", b"bbb")
    [reload], cursor = tick(sensor, landing, cursor)
    assert reload.partition_key == "2024-02-01" and reload.run_key != first.run_key
    # a changed file (same key, new content) also reloads
    put(landing, "orders/load_date=2024-02-01/a.parquet", b"aaa-corrected")
    [changed], cursor = tick(sensor, landing, cursor)
    assert changed.run_key not in (first.run_key, reload.run_key)


def test_restart_midway_uses_the_persisted_cursor(landing):
    settings = _settings(landing.landing_url)
    put(landing, "events/load_date=2024-01-05/h00.parquet", b"0")
    [_r1], cursor = tick(build_arrival_sensor("events", settings), landing)
    persisted = json.loads(json.dumps(cursor))  # what the instance stores
    # the daemon restarts: a new sensor object, files landed meanwhile (one old day re-delivered, one new)
    put(landing, "events/load_date=2024-01-05/h00.parquet", b"0")
    put(landing, "events/load_date=2024-01-06/h00.parquet", b"1")
    put(landing, "events/load_date=2024-01-06/h01.parquet", b"2")
    reqs, cursor = tick(build_arrival_sensor("events", settings), landing, persisted)
    assert [r.partition_key for r in reqs] == ["2024-01-06"]
    assert set(load_cursor(cursor)) == {"2024-01-05", "2024-01-06"}


def test_products_map_to_monday_weeks_and_out_of_range_days_are_ignored(landing):
    sensor = build_arrival_sensor("products", _settings(landing.landing_url))
    put(landing, "products/load_date=2024-01-08/catalog.parquet")  # a Monday
    put(landing, "products/load_date=2024-01-10/late_fix.parquet")  # same week
    put(landing, "products/load_date=2023-12-25/old.parquet")  # before C360_PARTITIONS_START's week
    put(landing, "products/load_date=2999-01-01/future.parquet")  # no such partition yet
    reqs, _ = tick(sensor, landing)
    assert [r.partition_key for r in reqs] == ["2024-01-08"]


def test_backlog_is_one_range_run_per_stretch_of_pending_days(tmp_path):
    """Two months of files found in one tick: one range run per stretch of consecutive days (a day without files
    between them splits the stretch: an unchanged day is never reloaded); a lost cursor gives the same run keys."""
    landing = LandingResource(landing_url=str(tmp_path / "l"), quarantine_url=str(tmp_path / "q"))
    sensor = build_arrival_sensor("campaigns", _settings(landing.landing_url))
    days = [f"2024-03-{d:02d}" for d in range(1, 31)] + [f"2024-04-{d:02d}" for d in range(1, 31)]  # no 03-31
    for day in days:
        put(landing, f"campaigns/load_date={day}/c.parquet", day.encode())
    first, cursor = tick(sensor, landing)
    assert [span(r) for r in first] == [("2024-03-01", "2024-03-30"), ("2024-04-01", "2024-04-30")]
    assert [r.tags["customer360/partitions"] for r in first] == ["30", "30"]
    assert set(load_cursor(cursor)) == set(days)
    again, _ = tick(sensor, landing, None)
    assert [r.run_key for r in again] == [r.run_key for r in first]
    assert tick(sensor, landing, cursor)[0] == []
    # one day of the loaded stretch changes, its neighbours do not: only that day is requested
    put(landing, "campaigns/load_date=2024-03-15/c.parquet", b"corrected")
    put(landing, "campaigns/load_date=2024-03-16/c.parquet", b"2024-03-16")  # re-delivered, identical
    [changed], _ = tick(sensor, landing, cursor)
    assert span(changed) == ("2024-03-15", "2024-03-15") and changed.partition_key == "2024-03-15"


def test_weekly_partitions_are_consecutive_a_week_apart(tmp_path):
    landing = LandingResource(landing_url=str(tmp_path / "l"), quarantine_url=str(tmp_path / "q"))
    sensor = build_arrival_sensor("products", _settings(landing.landing_url))
    for monday in ("2024-01-08", "2024-01-15", "2024-01-22", "2024-02-05"):
        put(landing, f"products/load_date={monday}/catalog.parquet", monday.encode())
    reqs, _ = tick(sensor, landing)
    assert [span(r) for r in reqs] == [("2024-01-08", "2024-01-22"), ("2024-02-05", "2024-02-05")]


def test_sensor_skips_partitions_already_loaded_by_a_backfill(tmp_path):
    """After a range load (e.g. ``customer360 demo``) a sensor starting with no cursor requests nothing for
    the loaded days, but still requests a day whose files changed since."""
    import dagster as dg

    from customer360.ingestion import build_raw_assets
    from customer360.resources import build_resources
    from customer360_tests.ingestion.conftest import GEN_END, generate_landing

    generate_landing(tmp_path)
    settings = Settings(
        str(tmp_path / "landing"), str(tmp_path / "q"), str(tmp_path / "wh.duckdb"), "duckdb", START, "unused", None
    )
    resources = build_resources(settings)
    customers = [a for a in build_raw_assets(settings) if a.key.path[1] == "customers"]
    days = sorted(p.name.split("=")[1] for p in (tmp_path / "landing" / "customers").iterdir())
    with dg.DagsterInstance.ephemeral() as instance:
        from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

        tags = {ASSET_PARTITION_RANGE_START_TAG: days[0], ASSET_PARTITION_RANGE_END_TAG: days[-1]}
        assert dg.materialize(customers, resources=resources, instance=instance, tags=tags).success
    landing = resources["landing"]
    sensor = build_arrival_sensor("customers", settings)
    reqs, cursor = tick(sensor, landing)
    assert reqs == [] and set(load_cursor(cursor)) == set(days)
    put(landing, f"customers/load_date={GEN_END.isoformat()}/extra.parquet", b"new file")
    [req], _ = tick(sensor, landing, None)  # even without a cursor, the changed day is requested
    assert req.partition_key == GEN_END.isoformat()


def test_a_tick_of_landed_days_loads_in_one_run_with_one_materialization_per_day(tmp_path):
    """The range run the sensor requests loads every pending day in ONE run, records each day's own
    materialization, and after it a sensor without a cursor requests nothing (exactly once)."""
    from customer360.ingestion import build_raw_assets
    from customer360.resources import build_resources
    from customer360_tests.ingestion.conftest import generate_landing

    generate_landing(tmp_path)
    settings = Settings(
        str(tmp_path / "landing"), str(tmp_path / "q"), str(tmp_path / "wh.duckdb"), "duckdb", START, "unused", None
    )
    resources = build_resources(settings)
    orders = [a for a in build_raw_assets(settings) if a.key.path[1] == "orders"]
    days = sorted(p.name.split("=")[1] for p in (tmp_path / "landing" / "orders").iterdir())
    assert len(days) > 2
    sensor = build_arrival_sensor("orders", settings)
    [req], _ = tick(sensor, resources["landing"])
    assert span(req) == (days[0], days[-1])
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(orders, resources=resources, instance=instance, tags=req.tags)
        assert result.success
        assert len(instance.get_runs()) == 1
        materialized = [m.partition for m in result.asset_materializations_for_node(orders[0].op.name)]
        assert sorted(materialized) == days
    assert tick(build_arrival_sensor("orders", settings), resources["landing"], None)[0] == []


class _TickLog(logging.Handler):
    """Collects the warnings a tick writes to its ``context.log`` (the sensor's evaluation log)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def logged_tick(sensor, landing, cursor=None) -> tuple[dg.SensorResult, str]:
    ctx = dg.build_sensor_context(cursor=cursor, resources={"landing": landing})
    handler = _TickLog()
    ctx.log.addHandler(handler)
    result = sensor(ctx)
    return result, "\n".join(handler.messages)


def test_unrecognised_landing_objects_are_reported_by_the_tick(landing):
    """A bad day folder, an unknown source folder and a non-parquet file are named with their reasons in the tick
    log (again whenever that set changes) and counted in the skip reason; the good file of the same tick loads."""
    sensor = build_arrival_sensor("orders", _settings(landing.landing_url))
    put(landing, "orders/load_date=2024-01-02/part 001 ü.parquet", b"good")
    put(landing, "orders/load_date=2026-13-45/a.parquet", b"bad day")
    put(landing, "vendors/load_date=2024-01-02/v.parquet", b"unknown source")
    result, warning = logged_tick(sensor, landing)
    assert [r.partition_key for r in result.run_requests] == ["2024-01-02"]
    assert "orders/load_date=2026-13-45/a.parquet: day folder 'load_date=2026-13-45' is not a valid date" in warning
    assert "vendors/load_date=2024-01-02/v.parquet: unknown source folder 'vendors'" in warning
    assert "part 001" not in warning
    # the same set: not logged again, but every skipped tick says how many objects are not loaded
    result, warning = logged_tick(sensor, landing, result.cursor)
    assert not result.run_requests and "2 landing object(s) match no layout" in result.skip_reason.skip_message
    assert warning == ""
    # a new one: the tick names the whole set again
    put(landing, "orders/load_date=2024-01-02/notes.txt", b"x")
    _, warning = logged_tick(sensor, landing, result.cursor)
    assert "3 landing object(s)" in warning and "orders/load_date=2024-01-02/notes.txt: not a .parquet file" in warning
