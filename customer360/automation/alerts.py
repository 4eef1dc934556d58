"""Alert sensors: freshness transitions, failed blocking asset checks, failed runs → ``AlertNotifier``.

Dagster OSS sends no notifications of its own. The freshness daemon writes a ``FRESHNESS_STATE_CHANGE`` event to the
event log on every state change; a failed run writes ``RUN_FAILURE``; a check evaluation is recorded as an asset check
execution. The freshness and run-failure sensors read their event type in storage-id order after their cursor; the
check sensor compares the latest execution of every check with its cursor. So:

- one alert per transition: each event is read once; a freshness event alerts when it enters WARN/FAIL or returns
  to PASS from WARN/FAIL (UNKNOWN→PASS at first materialization is not news). Checks are compared by state: the
  latest execution of each check against the cursor, so a check alerts when it starts failing and when it passes
  again, not on every failing run (no storms); this also works on run-sharded SQLite, where check events have no
  global storage id.
- nothing lost across daemon restarts: the cursor (the last handled storage id; for checks the last handled
  execution per check and the set of checks alerted as failing) lives in the sensor cursor, which Dagster stores in the instance database. The cursor only moves past an
  event once its alert was delivered; if the webhook is down the tick stops there and the next tick retries it
  (at-least-once; every alert has a stable ``dedup_key`` so a receiver can drop a duplicate).
- the ``freshness_sla`` checks (``freshness_checks``) are not alerted by the check sensor: they mirror the freshness
  state, which the freshness sensor pages on already (one page per transition, not two).
- a sensor turned on for the first time starts at the newest event (no replay of old history); the freshness
  sensor then alerts once for each asset that is already WARN/FAIL, the check sensor for each check already
  failing, so an existing problem is not silent.

Why not ``@run_failure_sensor``: it advances its own cursor even when the notification raises, so a webhook outage
would lose alerts. The run-failure sensor here reads the same ``RUN_FAILURE`` events with the cursor discipline above.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState  # no public export in 1.13
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from customer360.automation.freshness_checks import is_freshness_check
from customer360.automation.notifier import Alert, AlertDeliveryError, AlertNotifier
from customer360.automation.source_freshness import DBT_SOURCE_FRESHNESS_CHECK

ALERT_SENSOR_INTERVAL_SECONDS = 30
MAX_EVENTS_PER_TICK = 200
_BAD_STATES = {FreshnessState.WARN, FreshnessState.FAIL}


@dataclass
class AlertCursor:
    """Event-log sensors (freshness, run failures): the last handled storage id."""

    last_storage_id: int

    def to_json(self) -> str:
        return json.dumps({"last_storage_id": self.last_storage_id})

    @classmethod
    def from_json(cls, text: str) -> "AlertCursor":
        return cls(last_storage_id=int(json.loads(text)["last_storage_id"]))


@dataclass
class CheckCursor:
    """Check sensor: the last handled execution id per check, and the checks alerted as failing."""

    handled: dict[str, int]
    failing: set[str]

    def to_json(self) -> str:
        return json.dumps({"handled": dict(sorted(self.handled.items())), "failing": sorted(self.failing)})

    @classmethod
    def from_json(cls, text: str | None) -> "CheckCursor":
        if not text:
            return cls(handled={}, failing=set())
        data = json.loads(text)
        return cls(handled={k: int(v) for k, v in data["handled"].items()}, failing=set(data["failing"]))


# Fetchers: records of one event type with storage id > after, oldest first. Freshness changes are runless events
# (index shard on every storage); run failures go through fetch_run_status_changes, which works on run-sharded
# SQLite as well as PostgreSQL.
Fetcher = Callable[[dg.DagsterInstance, int | None, int], list[dg.EventLogRecord]]


def _fetch_freshness(instance: dg.DagsterInstance, after: int | None, limit: int) -> list[dg.EventLogRecord]:
    records_filter = dg.EventRecordsFilter(event_type=dg.DagsterEventType.FRESHNESS_STATE_CHANGE, after_cursor=after)
    return list(instance.event_log_storage.get_event_records(records_filter, limit=limit, ascending=after is not None))


def _fetch_run_failures(instance: dg.DagsterInstance, after: int | None, limit: int) -> list[dg.EventLogRecord]:
    records_filter = dg.RunStatusChangeRecordsFilter(event_type=dg.DagsterEventType.RUN_FAILURE, after_storage_id=after)
    return list(instance.fetch_run_status_changes(records_filter, limit=limit, ascending=after is not None).records)


def _latest_storage_id(instance: dg.DagsterInstance, fetch: Fetcher) -> int:
    latest = fetch(instance, None, 1)  # after=None: newest first
    return latest[0].storage_id if latest else 0


# ---- event → alert ------------------------------------------------------------------------------------------------


def freshness_alert(record: dg.EventLogRecord) -> Alert | None:
    change = record.event_log_entry.dagster_event.asset_freshness_state_change_data
    new, previous = change.new_state, change.previous_state
    key = change.key.to_user_string()
    if new in _BAD_STATES and new != previous:
        severity = "error" if new == FreshnessState.FAIL else "warning"
        verb = "is failing" if new == FreshnessState.FAIL else "is late (warning)"
        text = f"`{key}` {verb} its freshness SLA: {previous.value} → {new.value}."
    elif new == FreshnessState.PASS and previous in _BAD_STATES:
        severity, text = "resolved", f"`{key}` is fresh again: {previous.value} → {new.value}."
    else:
        return None
    return Alert(
        dedup_key=f"freshness:{record.storage_id}",
        kind="freshness",
        severity=severity,
        title=f"Freshness {new.value}: {key}",
        text=text,
        occurred_at=change.state_change_timestamp,
        asset_key=key,
        details={"new_state": new.value, "previous_state": previous.value},
    )


def check_is_alerting(evaluation) -> bool:
    """Checks that stop the pipeline alert: blocking ones, and ERROR-severity ones (dbt error tests)."""
    return bool(evaluation.blocking) or evaluation.severity == dg.AssetCheckSeverity.ERROR


def check_alert(check_key: str, execution, failing: set[str]) -> Alert | None:
    """Alert when a check starts failing and when it passes again; updates ``failing`` in place."""
    evaluation = execution.event.dagster_event.event_specific_data if execution.event else None
    if evaluation is None:
        return None
    partition = f" (partition {evaluation.partition})" if evaluation.partition else ""
    base = dict(
        dedup_key=f"asset_check:{check_key}:{execution.id}",
        kind="asset_check",
        occurred_at=execution.event.timestamp,
        asset_key=evaluation.asset_key.to_user_string(),
        run_id=execution.run_id or None,
        details={
            "check": evaluation.check_name,
            "blocking": bool(evaluation.blocking),
            "check_severity": evaluation.severity.value,
            "partition": evaluation.partition,
        },
    )
    if not evaluation.passed and check_is_alerting(evaluation):
        if check_key in failing:
            return None
        failing.add(check_key)
        reason = f": {evaluation.description}" if evaluation.description else ""
        return Alert(
            severity="error",
            title=f"Asset check failed: {check_key}",
            text=f"`{check_key}` failed{partition}{reason}",
            **base,
        )
    if evaluation.passed and check_key in failing:
        failing.discard(check_key)
        return Alert(
            severity="resolved",
            title=f"Asset check passing again: {check_key}",
            text=f"`{check_key}` passed{partition}.",
            **base,
        )
    return None


def run_failure_alert(record: dg.EventLogRecord, instance: dg.DagsterInstance) -> Alert:
    run_id = record.run_id
    run = instance.get_run_by_id(run_id)
    job = run.job_name if run else "?"
    tags = dict(run.tags) if run else {}
    partition = tags.get("dagster/partition")
    backfill = tags.get("dagster/backfill")
    message = record.event_log_entry.dagster_event.message or record.event_log_entry.user_message or ""
    where = f" partition {partition}" if partition else ""
    return Alert(
        dedup_key=f"run_failure:{record.storage_id}",
        kind="run_failure",
        severity="error",
        title=f"Run failed: {job}{where}",
        text=f"Run `{run_id}` of `{job}`{where} failed. {message}".strip(),
        occurred_at=record.timestamp,
        run_id=run_id,
        details={
            "job": job,
            "partition": partition,
            "backfill": backfill,
            "retry_number": tags.get("dagster/retry_number"),
        },
    )


# ---- the shared tick loop -----------------------------------------------------------------------------------------


def _drain(
    context: dg.SensorEvaluationContext,
    notifier: AlertNotifier,
    fetch: Fetcher,
    to_alert: Callable[[dg.EventLogRecord], Alert | None],
    on_first_tick: Callable[[dg.SensorEvaluationContext], Iterable[Alert]] | None = None,
) -> dg.SkipReason:
    """Send the alerts of the events after the cursor, oldest first; the cursor never passes an unsent alert."""
    instance = context.instance
    if context.cursor:
        cursor = AlertCursor.from_json(context.cursor)
        pending: list[Alert] = []
    else:  # first tick ever: start at the newest event, no replay of history
        cursor = AlertCursor(last_storage_id=_latest_storage_id(instance, fetch))
        pending = list(on_first_tick(context)) if on_first_tick else []
    sent = 0
    try:
        for alert in pending:
            notifier.send(alert)
            sent += 1
        for record in fetch(instance, cursor.last_storage_id, MAX_EVENTS_PER_TICK):
            alert = to_alert(record)
            if alert is not None:
                notifier.send(alert)  # raises → the cursor stays before this record
                sent += 1
            cursor.last_storage_id = record.storage_id
    except AlertDeliveryError as exc:
        return _delivery_failed(context, cursor.to_json(), sent, exc)
    context.update_cursor(cursor.to_json())
    return dg.SkipReason(f"{sent} alert(s) sent" if sent else "no new alerts")


def _delivery_failed(context, cursor_json: str, sent: int, exc: Exception) -> dg.SkipReason:
    context.update_cursor(cursor_json)
    context.log.error(f"{exc}; {sent} alert(s) sent this tick, the rest is retried on the next tick")
    return dg.SkipReason(f"alert delivery failed, will retry: {exc}")


def _current_bad_freshness(context: dg.SensorEvaluationContext) -> Iterable[Alert]:
    """On the first tick: one alert per asset already WARN/FAIL."""
    repo = context.repository_def
    if repo is None:
        return []
    keys = list(repo.asset_graph.get_all_asset_keys())
    alerts = []
    for key, state in sorted(context.instance.get_freshness_state_records(keys).items()):
        if state.freshness_state in _BAD_STATES:
            alerts.append(
                Alert(
                    dedup_key=f"freshness:initial:{key.to_user_string()}:{state.updated_at.timestamp():.0f}",
                    kind="freshness",
                    severity="error" if state.freshness_state == FreshnessState.FAIL else "warning",
                    title=f"Freshness {state.freshness_state.value}: {key.to_user_string()}",
                    text=f"`{key.to_user_string()}` is {state.freshness_state.value} (found when alerting started).",
                    occurred_at=state.updated_at.timestamp(),
                    asset_key=key.to_user_string(),
                    details={"new_state": state.freshness_state.value, "previous_state": None},
                )
            )
    return alerts


def _alert_sensor(name: str, description: str):
    """The decorator of an alert sensor: running by default, every ``ALERT_SENSOR_INTERVAL_SECONDS``."""
    return dg.sensor(
        name=name,
        description=description,
        minimum_interval_seconds=ALERT_SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )


@_alert_sensor(
    "c360_freshness_alerts",
    "Alerts once per freshness transition (to WARN / FAIL, and back to PASS) of every asset.",
)
def freshness_alert_sensor(context: dg.SensorEvaluationContext, alert_notifier: AlertNotifier):
    return _drain(context, alert_notifier, _fetch_freshness, freshness_alert, on_first_tick=_current_bad_freshness)


@_alert_sensor(
    "c360_asset_check_alerts",
    "Alerts when a blocking (or ERROR-severity) asset check starts failing, and when it passes again.",
)
def asset_check_alert_sensor(context: dg.SensorEvaluationContext, alert_notifier: AlertNotifier):
    """State-based: compares each check's latest execution with the cursor (works on every instance storage)."""
    repo = context.repository_def
    all_keys = repo.asset_graph.asset_check_keys if repo else []
    # freshness_sla checks mirror the freshness state, and dbt_source_freshness measures the same SLA rows, which
    # c360_freshness_alerts already pages on: one page per stale source, not two or three
    check_keys = sorted(
        (k for k in all_keys if not is_freshness_check(k) and k.name != DBT_SOURCE_FRESHNESS_CHECK),
        key=lambda k: k.to_user_string(),
    )
    cursor = CheckCursor.from_json(context.cursor)
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    done = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
    sent = 0
    try:
        for key in check_keys:
            execution = latest.get(key)
            name = key.to_user_string()
            if execution is None or execution.status not in done or cursor.handled.get(name) == execution.id:
                continue
            failing = set(cursor.failing)
            alert = check_alert(name, execution, failing)
            if alert is not None:
                alert_notifier.send(alert)
                sent += 1
            cursor.failing, cursor.handled[name] = failing, execution.id
    except AlertDeliveryError as exc:
        return _delivery_failed(context, cursor.to_json(), sent, exc)
    context.update_cursor(cursor.to_json())
    return dg.SkipReason(f"{sent} alert(s) sent" if sent else "no new alerts")


@_alert_sensor(
    "c360_run_failure_alerts",
    "Alerts once for every failed run (each retry attempt that fails is its own run).",
)
def run_failure_alert_sensor(context: dg.SensorEvaluationContext, alert_notifier: AlertNotifier):
    return _drain(
        context, alert_notifier, _fetch_run_failures, lambda record: run_failure_alert(record, context.instance)
    )


ALERT_SENSORS = [freshness_alert_sensor, asset_check_alert_sensor, run_failure_alert_sensor]
