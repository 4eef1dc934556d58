"""Orchestration: freshness SLAs, alerts, declarative automation, jobs/backfills, one-writer execution.

``customer360/definitions.py`` calls ``with_automation(defs)`` once, after assembling everything else: it merges
``definitions()`` (alert sensors, automation sensor, jobs, notifier resource, executor) and applies the
SLA-derived freshness policies and the lineage-derived automation conditions to every asset.

One writer per DuckDB file: every run uses the in-process executor (one process per run, steps in sequence) and
the instance allows one run at a time (``concurrency.runs.max_concurrent_runs: 1`` in dagster.yaml for the DuckDB
warehouse; raise it with Snowflake). Queued runs wait, they are not dropped.
"""

import dagster as dg

from customer360.automation.alerts import ALERT_SENSORS
from customer360.automation.conditions import apply_automation_conditions, automation_sensor
from customer360.automation.freshness import apply_freshness_policies
from customer360.automation.jobs import build_jobs
from customer360.automation.notifier import notifier_from_env

ALERT_NOTIFIER_RESOURCE_KEY = "alert_notifier"


def definitions() -> dg.Definitions:
    """The orchestration pieces that do not depend on which assets exist."""
    return dg.Definitions(
        sensors=[*ALERT_SENSORS, automation_sensor],
        resources={ALERT_NOTIFIER_RESOURCE_KEY: notifier_from_env()},
        executor=dg.in_process_executor,
    )


def with_automation(base: dg.Definitions) -> dg.Definitions:
    """``base`` + orchestration, with freshness policies and automation conditions applied to every asset."""
    own = definitions()
    if base.executor is not None:  # an explicit executor elsewhere wins; ours is only the default
        own = dg.Definitions(sensors=own.sensors, resources=own.resources)
    merged = apply_automation_conditions(apply_freshness_policies(dg.Definitions.merge(base, own)))
    return dg.Definitions.merge(merged, dg.Definitions(jobs=build_jobs(merged)))
