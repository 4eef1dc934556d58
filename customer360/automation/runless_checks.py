"""Sensors that report asset check results computed outside any run (``report_runless_asset_event``) and never
request a run: the ``freshness_sla`` checks (:mod:`customer360.automation.freshness_checks`) and each consumer's
``upstream_checks`` (:mod:`customer360.consumers.upstream_checks`)."""

from collections.abc import Callable, Sequence

import dagster as dg

Report = Callable[[dg.DagsterInstance, object], Sequence[dg.AssetCheckEvaluation]]  # (instance, asset graph)


def runless_check_sensor(
    name: str,
    description: str,
    interval_seconds: int,
    report: Report,
    summary: Callable[[Sequence[dg.AssetCheckEvaluation]], str],
) -> dg.SensorDefinition:
    """A sensor (running by default) whose tick runs ``report`` on the code location's asset graph and skips with
    ``summary`` of what it reported, or "in sync"."""

    @dg.sensor(
        name=name,
        description=description,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _runless_check_sensor(context: dg.SensorEvaluationContext):
        repo = context.repository_def
        reported = report(context.instance, repo.asset_graph) if repo else []
        return dg.SkipReason(summary(reported) if reported else "in sync")

    return _runless_check_sensor
