"""The orchestration pieces that do not depend on which assets exist: the alert sensors, the freshness-check
sensor, the automation sensor, the alert notifier and the in-process executor (one writer per DuckDB file).

What depends on the assets (freshness policies, automation conditions, checks, jobs, schedules) is applied to the
assembled code location by :func:`customer360.automation.with_automation`.
"""

import dagster as dg

from customer360.automation import ALERT_NOTIFIER_RESOURCE_KEY
from customer360.automation.alerts import ALERT_SENSORS
from customer360.automation.conditions import automation_sensor
from customer360.automation.freshness_checks import freshness_check_sensor
from customer360.automation.notifier import alert_notifier
from customer360.settings import get_settings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        sensors=[*ALERT_SENSORS, freshness_check_sensor, automation_sensor],
        resources={ALERT_NOTIFIER_RESOURCE_KEY: alert_notifier(get_settings().alert_webhook_set)},
        executor=dg.in_process_executor,
    )
