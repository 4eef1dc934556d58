"""Orchestration: freshness SLAs, alerts, declarative automation, jobs/backfills, one-writer execution.

``customer360/definitions.py`` calls ``with_automation(defs)`` once, after assembling everything else: it merges
``definitions()`` (alert sensors, freshness-check sensor, automation sensor, jobs, notifier resource, executor),
applies the SLA-derived freshness policies and the lineage-derived automation conditions to every asset, and adds
the ``freshness_sla`` check of every asset with a policy (``freshness_checks``: freshness in the catalog/lineage),
the ``dbt_source_freshness`` check of every raw asset (``source_freshness``), the jobs (``jobs``) and the schedules
(``schedules``: weekly refit and full dbt tests, hourly source freshness, daily consumer delivery, partition-job
schedules for deployments with automation off).

One writer per DuckDB file: every run uses the in-process executor (one process per run, steps in sequence), and
every asset that opens the warehouse (raw loads, dbt, ML) is in the pool ``warehouse``, which the instance limits
to one step at a time (``concurrency.pools.default_limit: 1`` in deploy/dagster.yaml; raise it with
``dagster instance concurrency set warehouse <n>`` on Snowflake). Steps and runs wait for the slot, they are not
dropped; the DuckDB resource additionally waits for the file lock. A test (customer360_tests/automation/
test_conditions_and_jobs.py) fails if an asset that needs the warehouse or dbt resource is outside the pool.
"""

import dagster as dg

from customer360.automation.alerts import ALERT_SENSORS
from customer360.automation.conditions import apply_automation_conditions, automation_sensor
from customer360.automation.freshness import apply_freshness_policies
from customer360.automation.freshness_checks import build_freshness_checks, freshness_check_sensor
from customer360.automation.jobs import build_jobs
from customer360.automation.notifier import alert_notifier
from customer360.automation.schedules import SCHEDULED_ONLY, build_schedules
from customer360.automation.source_freshness import source_freshness_checks
from customer360.settings import get_settings

ALERT_NOTIFIER_RESOURCE_KEY = "alert_notifier"


def definitions() -> dg.Definitions:
    """The orchestration pieces that do not depend on which assets exist."""
    return dg.Definitions(
        sensors=[*ALERT_SENSORS, freshness_check_sensor, automation_sensor],
        resources={ALERT_NOTIFIER_RESOURCE_KEY: alert_notifier(get_settings().alert_webhook_set)},
        executor=dg.in_process_executor,
    )


def with_automation(base: dg.Definitions) -> dg.Definitions:
    """``base`` + orchestration, with freshness policies and automation conditions applied to every asset."""
    own = definitions()
    if base.executor is not None:  # an explicit executor elsewhere wins; ours is only the default
        own = dg.Definitions(sensors=own.sensors, resources=own.resources)
    merged = apply_freshness_policies(dg.Definitions.merge(base, own))
    merged = apply_automation_conditions(merged, exclude=SCHEDULED_ONLY)  # their trigger is a schedule
    merged = dg.Definitions.merge(
        merged,
        dg.Definitions(asset_checks=[*build_freshness_checks(merged), *source_freshness_checks(merged)]),
    )
    jobs = build_jobs(merged)
    scheduled = build_schedules(merged, jobs)
    return dg.Definitions.merge(merged, dg.Definitions(jobs=[*jobs, *scheduled.jobs], schedules=scheduled.schedules))
