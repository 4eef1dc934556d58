"""The schedules of the code location, tick by tick: the run each requests (job, selection, partition, run config)
and its skip reasons, on the real definitions and an ephemeral instance for state."""

import warnings
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import InstigatorState, InstigatorStatus
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from customer360.automation.conditions import AUTOMATION_SENSOR_NAME
from customer360.automation.schedules import (
    COMPLIANCE_EXPORT_KEY,
    ML_ASSETS,
    SCORECARD_KEY,
    daily_tick_before,
    delivery_inputs,
    requesting_sensors,
    sensor_targets,
)
from customer360.sla import DAILY_REBUILD_CRON, SLAS

SUNDAY_0300 = datetime(2024, 3, 17, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def defs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from customer360.definitions import defs as loaded
    return loaded


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def _schedule(defs, name) -> dg.ScheduleDefinition:
    return defs.resolve_schedule_def(name)


@pytest.fixture
def instance():
    """An instance with a ref (a schedule context reads ``instance`` through it; an ephemeral one has none)."""
    with dg.instance_for_test() as test_instance:
        yield test_instance


def _tick(defs, name, at, instance=None):
    schedule = _schedule(defs, name)
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=at, repository_def=defs.get_repository_def()
    ) as context:
        return schedule.evaluate_tick(context)


def _one(data) -> dg.RunRequest:
    assert data.skip_message is None, data.skip_message
    [request] = data.run_requests
    return request


def _job_assets(defs, graph, job_name):
    job = next(j for j in defs.jobs if j.name == job_name)
    return job.selection.resolve(graph), job.selection.resolve_checks(graph)


def test_every_schedule_is_utc_described_with_a_chosen_default(defs):
    names = {s.name: s for s in defs.schedules}
    assert set(names) == {
        "weekly_model_refit",
        "weekly_dbt_full_tests",
        "hourly_dbt_source_freshness",
        "daily_consumer_delivery",
        "daily_partitions_job_schedule",
        "weekly_partitions_job_schedule",
    }
    for schedule in names.values():
        assert schedule.execution_timezone == "UTC" and schedule.description
    stopped = {n for n, s in names.items() if s.default_status == dg.DefaultScheduleStatus.STOPPED}
    assert stopped == {"daily_partitions_job_schedule", "weekly_partitions_job_schedule"}
    assert {s.job_name for s in names.values()} <= {j.name for j in defs.resolve_all_job_defs()}


def test_weekly_refit_requests_the_ml_assets_with_refit_true(defs, graph):
    schedule = _schedule(defs, "weekly_model_refit")
    assert schedule.cron_schedule == "0 3 * * 0"
    request = _one(_tick(defs, "weekly_model_refit", SUNDAY_0300))
    assert request.run_key.startswith("weekly_model_refit:2024-03-17T03:00")
    assets, _ = _job_assets(defs, graph, "ml_refit_job")
    assert assets == set(ML_ASSETS)
    ops = request.run_config["ops"]
    assert set(ops) == {"ml__customer_segments", "ml__customer_risk_scores", "churn_and_ltv_predictions"}
    assert all(op["config"] == {"refit": True} for op in ops.values())
    dg.validate_run_config(defs.resolve_job_def("ml_refit_job"), request.run_config)


def test_weekly_full_tests_runs_every_dbt_test_and_no_model_with_full_tests(defs, graph):
    request = _one(_tick(defs, "weekly_dbt_full_tests", SUNDAY_0300 + timedelta(hours=1)))
    assets, checks = _job_assets(defs, graph, "dbt_full_tests_job")
    assert assets == set()  # the tests only: no model is rebuilt
    names = {c.name for c in checks}
    assert "not_null_stg_orders_order_id" in names and len(checks) > 200
    assert not names & {"freshness_sla", "dbt_source_freshness"}  # dbt tests, not the other checks
    assert any(c.asset_key == dg.AssetKey(["marts", "fct_transactions"]) for c in checks)
    assert request.run_config["ops"] == {
        "c360_dbt_assets": {"config": {"full_tests": True}},
        "c360_fct_transactions_assets": {"config": {"full_tests": True}},
    }
    dg.validate_run_config(defs.resolve_job_def("dbt_full_tests_job"), request.run_config)


def test_hourly_source_freshness_targets_one_check_per_raw_source(defs, graph):
    assert _schedule(defs, "hourly_dbt_source_freshness").cron_schedule == "30 * * * *"
    request = _one(_tick(defs, "hourly_dbt_source_freshness", SUNDAY_0300 + timedelta(minutes=30)))
    assert request.partition_key is None and request.run_config == {}
    assets, checks = _job_assets(defs, graph, "dbt_source_freshness_job")
    assert assets == set()
    assert checks == {dg.AssetCheckKey(dg.AssetKey(["raw", s]), "dbt_source_freshness") for s in SLAS}
    # beside Dagster's own freshness policy on the same asset
    for source in SLAS:
        assert graph.get(dg.AssetKey(["raw", source])).freshness_policy is not None


def test_daily_tick_before():
    assert daily_tick_before("0 2 * * *", datetime(2024, 3, 17, 6, tzinfo=UTC)) == datetime(2024, 3, 17, 2, tzinfo=UTC)
    assert daily_tick_before("0 2 * * *", datetime(2024, 3, 17, 1, tzinfo=UTC)) == datetime(2024, 3, 16, 2, tzinfo=UTC)
    with pytest.raises(ValueError):
        daily_tick_before("0 2 * * 1", datetime(2024, 3, 17, tzinfo=UTC))


def test_daily_delivery_waits_for_the_rebuild_then_delivers_yesterday(defs, graph, instance):
    assert _schedule(defs, "daily_consumer_delivery").cron_schedule == "0 6 * * *"
    inputs = delivery_inputs(graph)
    assert (
        dg.AssetKey(["marts", "fct_transactions"]) in inputs and dg.AssetKey(["marts", "fct_customer_value"]) in inputs
    )
    now = datetime.now(UTC)
    rebuild = daily_tick_before(DAILY_REBUILD_CRON, now)
    delivery = rebuild + timedelta(hours=4)

    nothing = _tick(defs, "daily_consumer_delivery", delivery, instance)
    assert not nothing.run_requests
    assert f"the {rebuild:%Y-%m-%d %H:%M} UTC rebuild has not finished" in nothing.skip_message
    assert "marts/fct_transactions (never materialized)" in nothing.skip_message

    for key in inputs[1:]:  # all but one rebuilt
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    partial = _tick(defs, "daily_consumer_delivery", delivery, instance)
    assert inputs[0].to_user_string() in partial.skip_message
    assert inputs[1].to_user_string() not in partial.skip_message

    instance.report_runless_asset_event(dg.AssetMaterialization(inputs[0]))
    request = _one(_tick(defs, "daily_consumer_delivery", delivery, instance))
    assert request.partition_key == (delivery - timedelta(days=1)).strftime("%Y-%m-%d")
    assets, _ = _job_assets(defs, graph, "consumer_delivery_job")
    assert assets == {COMPLIANCE_EXPORT_KEY, SCORECARD_KEY}

    # the next day, before that day's rebuild: skips again, naming the last materializations
    tomorrow = _tick(defs, "daily_consumer_delivery", delivery + timedelta(days=1), instance)
    assert tomorrow.skip_message and f"(last {now:%Y-%m-%d}" in tomorrow.skip_message


def test_the_scorecard_has_one_trigger_the_export_keeps_todays_automation(graph):
    assert graph.get(SCORECARD_KEY).automation_condition is None
    assert graph.get(COMPLIANCE_EXPORT_KEY).automation_condition is not None  # today's partition only


def _set_sensor(instance, name: str, status: InstigatorStatus) -> None:
    origin = RemoteInstigatorOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=InProcessCodeLocationOrigin(
                loadable_target_origin=LoadableTargetOrigin(module_name="customer360.definitions"),
                location_name="customer360",
            ),
            repository_name="__repository__",
        ),
        instigator_name=name,
    )
    state = InstigatorState(origin, InstigatorType.SENSOR, status)
    existing = instance.get_instigator_state(state.instigator_origin_id, state.selector_id)
    (instance.update_instigator_state if existing else instance.add_instigator_state)(state)


@pytest.mark.parametrize(
    "schedule_name, job_name, at, expected_partitions",
    [
        (
            "daily_partitions_job_schedule",
            "daily_partitions_job",
            datetime(2024, 3, 14, 2, 30, tzinfo=UTC),
            ["2024-03-13", "2024-03-14"],
        ),
        (
            "weekly_partitions_job_schedule",
            "weekly_partitions_job",
            datetime(2024, 3, 11, 2, 30, tzinfo=UTC),
            ["2024-03-11"],
        ),
    ],
)
def test_partition_job_schedule_never_requests_what_a_running_sensor_requests(
    defs, graph, instance, schedule_name, job_name, at, expected_partitions
):
    assets, _ = _job_assets(defs, graph, job_name)
    sensors = requesting_sensors(defs, assets)
    # every sensor of the code location that can request one of the job's assets is watched
    overlapping = {s.name for s in defs.sensors if sensor_targets(s, graph) & assets}
    assert {s.name for s in sensors} == overlapping and AUTOMATION_SENSOR_NAME in overlapping
    raw_sources = {k.path[1] for k in assets if k.path[0] == "raw"}
    assert {f"raw_{s}_arrivals" for s in raw_sources} <= overlapping

    defaults = _tick(defs, schedule_name, at, instance)  # as deployed: automation and arrival sensors on
    assert not defaults.run_requests and AUTOMATION_SENSOR_NAME in defaults.skip_message

    for sensor in sensors:
        _set_sensor(instance, sensor.name, InstigatorStatus.STOPPED)
    data = _tick(defs, schedule_name, at, instance)
    assert data.skip_message is None
    assert [r.partition_key for r in data.run_requests] == expected_partitions
    assert len({r.run_key for r in data.run_requests}) == len(expected_partitions)

    for sensor in sensors:  # any one of them turned back on: the schedule skips, naming it
        _set_sensor(instance, sensor.name, InstigatorStatus.RUNNING)
        one_on = _tick(defs, schedule_name, at, instance)
        assert not one_on.run_requests, sensor.name
        assert f"sensor(s) {sensor.name} running" in one_on.skip_message
        _set_sensor(instance, sensor.name, InstigatorStatus.STOPPED)
