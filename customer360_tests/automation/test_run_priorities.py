"""Queued arrival loads never starve a user's run: the QueuedRunCoordinator of the deployment's and of the demo's
instance dequeues a manual run / backfill before queued loads, and the loads before queued rebuilds."""

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.test_utils import create_run_for_test, create_test_daemon_workspace_context, instance_for_test
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from customer360.automation.conditions import automation_sensor
from customer360.cli import demo_instance_yaml
from customer360.ingestion.sensors import build_arrival_sensor
from customer360.resources import LandingResource
from customer360.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _instance_overrides(config: dict) -> dict:
    """The run queue, concurrency (and SQLite event log) of an instance config, with at most one run in flight (so
    the order shows); PostgreSQL storage is replaced by the test instance's own."""
    concurrency = dict(config.get("concurrency", {}))
    concurrency["runs"] = {**concurrency.get("runs", {}), "max_concurrent_runs": 1}
    storage = {k: config[k] for k in ("event_log_storage",) if k in config}  # the demo's (SQLite, file paths)
    return {
        **storage,
        "run_coordinator": config.get(
            "run_coordinator", {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}
        ),
        "run_launcher": {"module": "dagster._core.test_utils", "class": "MockedRunLauncher"},
        "concurrency": concurrency,
    }


def _arrival_tags(tmp_path) -> dict[str, str]:
    """The tags of a real arrival sensor request (two days of orders landed in one tick)."""
    landing = LandingResource(landing_url=str(tmp_path / "landing"), quarantine_url=str(tmp_path / "q"))
    for day in ("2024-01-02", "2024-01-03"):
        landing.store.write(f"orders/load_date={day}/a.parquet", day.encode())
    settings = Settings(landing.landing_url, "unused", "unused.duckdb", "duckdb", "2024-01-01", "unused", None)
    result = build_arrival_sensor("orders", settings)(dg.build_sensor_context(resources={"landing": landing}))
    [request] = result.run_requests
    return dict(request.tags)


@pytest.mark.parametrize("instance_yaml", ["deploy", "demo"])
def test_a_users_run_is_dequeued_before_queued_loads_and_loads_before_rebuilds(tmp_path, instance_yaml):
    deploy = (REPO / "deploy" / "dagster.yaml").read_text()
    text = deploy if instance_yaml == "deploy" else demo_instance_yaml(tmp_path)
    overrides = _instance_overrides(yaml.safe_load(text))
    arrival = _arrival_tags(tmp_path)
    with instance_for_test(overrides=overrides) as instance:
        if instance_yaml == "demo":
            assert type(instance.event_log_storage).__name__ == "PooledSqliteEventLogStorage"
        queued = {}
        # a burst of arrival loads and a rebuild are queued first; then the user materializes (no tags)
        for name, tags in [
            ("load-1", arrival),
            ("rebuild", dict(automation_sensor.run_tags)),
            ("load-2", arrival),
            ("user", {}),
        ]:
            origin = RemoteJobOrigin(
                RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("customer360"), "__repository__"), name
            )
            run = create_run_for_test(
                instance, job_name=name, status=dg.DagsterRunStatus.QUEUED, tags=tags, remote_job_origin=origin
            )
            queued[run.run_id] = name
        order = []
        with create_test_daemon_workspace_context(EmptyWorkspaceTarget(), instance) as context:
            daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
            for _ in range(len(queued)):
                list(daemon.run_iteration(context))
                [launched] = [r for r in instance.get_runs() if r.status == dg.DagsterRunStatus.STARTING]
                order.append(queued[launched.run_id])
                instance.report_run_canceled(launched)  # finished: the next one may go
    assert order == ["user", "load-1", "load-2", "rebuild"]
