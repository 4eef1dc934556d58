"""Alert sensors against a real (temporary) Dagster instance and a local HTTP webhook receiver."""

import json
import time

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from customer360.automation.alerts import (
    asset_check_alert_sensor,
    freshness_alert_sensor,
    run_failure_alert_sensor,
)
from customer360.automation.notifier import Alert, AlertDeliveryError, AlertNotifier, alert_notifier
from customer360_tests.automation.webhook_receiver import WebhookReceiver

KEY = dg.AssetKey(["raw", "transactions"])


@pytest.fixture
def receiver():
    with WebhookReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def instance():
    # shared by the tests of this module (instance setup costs ~2.5 s); every sensor starts at the newest event
    with dg.instance_for_test() as inst:
        yield inst


def notifier(receiver: WebhookReceiver, attempts: int = 1) -> AlertNotifier:
    return AlertNotifier(webhook_url=receiver.url, attempts=attempts, backoff_seconds=0.01, timeout_seconds=2)


def tick(sensor, instance, receiver, cursor, attempts=1, definitions=None):
    """One sensor evaluation; returns the new cursor (as the daemon would persist it)."""
    ctx = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"alert_notifier": notifier(receiver, attempts)},
        definitions=definitions,
    )
    sensor(ctx)
    return ctx.cursor


def report_change(instance, previous: FreshnessState, new: FreshnessState, key=KEY):
    # what the freshness daemon writes on a state change (dagster/_daemon/freshness.py)
    instance._report_runless_asset_event(
        asset_event=FreshnessStateChange(
            key=key, previous_state=previous, new_state=new, state_change_timestamp=time.time()
        )
    )


def test_notifier_posts_slack_payload_and_always_logs_json(receiver, capfd):
    alert = Alert(
        dedup_key="freshness:7",
        kind="freshness",
        severity="warning",
        title="Freshness WARN: raw/x",
        text="late",
        occurred_at=0.0,
        asset_key="raw/x",
    )
    notifier(receiver).send(alert)
    [body] = receiver.received
    assert "WARNING" in body["text"] and body["blocks"][0]["type"] == "section"
    assert body["customer360_alert"]["dedup_key"] == "freshness:7"
    line = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "customer360.alert" and line["delivery"] == "webhook" and line["asset_key"] == "raw/x"

    AlertNotifier().send(alert)  # no webhook configured: the log line alone
    assert json.loads(capfd.readouterr().err.strip().splitlines()[-1])["delivery"] == "log_only"


def test_notifier_retries_then_names_the_failure_not_the_secret_url(receiver):
    receiver.fail_next = 1
    notifier(receiver, attempts=2).send(
        Alert("k:1", "run_failure", "error", "t", "x", 0.0)
    )  # first attempt 500, second accepted
    assert receiver.attempts == 2 and len(receiver.received) == 1
    receiver.fail_next = 5
    with pytest.raises(AlertDeliveryError) as err:
        notifier(receiver, attempts=2).send(Alert("k:2", "run_failure", "error", "t", "x", 0.0))
    assert "HTTP 500" in str(err.value) and receiver.url not in str(err.value)


def test_the_notifier_reads_the_webhook_through_envvar(monkeypatch):
    from customer360.settings import Settings

    monkeypatch.delenv("C360_ALERT_WEBHOOK_URL", raising=False)
    assert alert_notifier(Settings.from_env().alert_webhook_set).webhook_url is None
    monkeypatch.setenv("C360_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/x")
    resource = alert_notifier(Settings.from_env().alert_webhook_set)
    assert isinstance(resource.webhook_url, dg.EnvVar)  # resolved at run time, never stored in config


def test_one_alert_per_freshness_transition(instance, receiver):
    report_change(instance, FreshnessState.UNKNOWN, FreshnessState.PASS)  # history before the sensor starts
    cursor = tick(freshness_alert_sensor, instance, receiver, None)
    assert receiver.received == []  # first tick starts at the newest event: no replay

    report_change(instance, FreshnessState.PASS, FreshnessState.WARN)
    report_change(instance, FreshnessState.WARN, FreshnessState.FAIL)
    report_change(instance, FreshnessState.FAIL, FreshnessState.PASS)
    report_change(instance, FreshnessState.UNKNOWN, FreshnessState.PASS, key=dg.AssetKey(["raw", "orders"]))
    cursor = tick(freshness_alert_sensor, instance, receiver, cursor)
    alerts = receiver.alerts()
    assert [(a["severity"], a["details"]["new_state"]) for a in alerts] == [
        ("warning", "WARN"),
        ("error", "FAIL"),
        ("resolved", "PASS"),
    ]
    assert all(a["asset_key"] == "raw/transactions" for a in alerts)
    assert len({a["dedup_key"] for a in alerts}) == 3

    for _ in range(3):  # later ticks without new transitions: nothing more (no storm)
        cursor = tick(freshness_alert_sensor, instance, receiver, cursor)
    assert len(receiver.received) == 3


def test_webhook_outage_loses_nothing_and_duplicates_nothing(instance, receiver):
    cursor = tick(freshness_alert_sensor, instance, receiver, None)
    report_change(instance, FreshnessState.PASS, FreshnessState.WARN)
    report_change(instance, FreshnessState.WARN, FreshnessState.FAIL)

    receiver.fail_next = 1  # the first alert is refused
    cursor = tick(freshness_alert_sensor, instance, receiver, cursor)
    assert receiver.received == []
    receiver.fail_next = 0
    # the daemon restarts: only the persisted cursor string carries over
    cursor = tick(freshness_alert_sensor, instance, receiver, cursor)
    assert [a["details"]["new_state"] for a in receiver.alerts()] == ["WARN", "FAIL"]

    report_change(instance, FreshnessState.FAIL, FreshnessState.PASS)
    report_change(instance, FreshnessState.PASS, FreshnessState.WARN)
    receiver.fail_next = 0
    # the second of two alerts fails: the first is not sent again on the retry
    original_post = AlertNotifier._post
    calls = {"n": 0}

    def flaky(self, url, payload):
        calls["n"] += 1
        if calls["n"] == 2:
            raise AlertDeliveryError("down")
        return original_post(self, url, payload)

    AlertNotifier._post = flaky
    try:
        cursor = tick(freshness_alert_sensor, instance, receiver, cursor)
    finally:
        AlertNotifier._post = original_post
    cursor = tick(freshness_alert_sensor, instance, receiver, cursor)
    assert [a["details"]["new_state"] for a in receiver.alerts()] == ["WARN", "FAIL", "PASS", "WARN"]


def test_first_tick_reports_assets_already_failing(instance, receiver):
    @dg.asset(key=KEY)
    def transactions():
        return None

    report_change(instance, FreshnessState.PASS, FreshnessState.FAIL)
    defs = dg.Definitions(assets=[transactions])
    tick(freshness_alert_sensor, instance, receiver, None, definitions=defs)
    [alert] = receiver.alerts()
    assert alert["severity"] == "error" and alert["asset_key"] == "raw/transactions"


def _checked_asset(outcome: dict):
    @dg.asset(
        key=["raw", "orders"],
        check_specs=[dg.AssetCheckSpec("no_quarantined_files", asset=["raw", "orders"], blocking=True)],
    )
    def orders():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(
            check_name="no_quarantined_files",
            passed=outcome["passed"],
            description=None if outcome["passed"] else "2 files quarantined",
        )

    return orders


def test_blocking_check_alerts_on_first_failure_and_on_recovery(instance, receiver):
    outcome = {"passed": False}
    asset = _checked_asset(outcome)
    defs = dg.Definitions(assets=[asset])
    cursor = tick(asset_check_alert_sensor, instance, receiver, None, definitions=defs)
    assert receiver.received == []  # never executed: nothing to say
    dg.materialize([asset], instance=instance, raise_on_error=False)
    cursor = tick(asset_check_alert_sensor, instance, receiver, cursor, definitions=defs)
    dg.materialize([asset], instance=instance, raise_on_error=False)  # fails again: no second alert
    cursor = tick(asset_check_alert_sensor, instance, receiver, cursor, definitions=defs)
    [failed] = receiver.alerts()
    assert failed["severity"] == "error" and "2 files quarantined" in failed["text"]
    assert failed["details"]["blocking"] is True

    outcome["passed"] = True
    dg.materialize([asset], instance=instance, raise_on_error=False)
    receiver.fail_next = 1  # the recovery alert is refused once: retried next tick, sent once
    cursor = tick(asset_check_alert_sensor, instance, receiver, cursor, definitions=defs)
    dg.materialize([asset], instance=instance, raise_on_error=False)
    for _ in range(2):
        cursor = tick(asset_check_alert_sensor, instance, receiver, cursor, definitions=defs)
    assert [a["severity"] for a in receiver.alerts()] == ["error", "resolved"]


def test_failed_run_alerts_once(instance, receiver):
    @dg.asset(key=["ml", "churn_predictions"])
    def churn():
        raise RuntimeError("model artifact missing")

    cursor = tick(run_failure_alert_sensor, instance, receiver, None)
    result = dg.materialize([churn], instance=instance, raise_on_error=False)
    assert not result.success
    cursor = tick(run_failure_alert_sensor, instance, receiver, cursor)
    cursor = tick(run_failure_alert_sensor, instance, receiver, cursor)
    [alert] = receiver.alerts()
    assert alert["kind"] == "run_failure" and alert["run_id"] == result.run_id
    assert alert["details"]["job"] == "__ephemeral_asset_job__"


def test_a_failing_dbt_source_freshness_check_does_not_page_twice(tmp_path, receiver):
    """A stale source pages once, through c360_freshness_alerts (the SLA row); its dbt source freshness check
    failing with ERROR is visible on the asset but not paged again by the check sensor."""
    from customer360.automation.source_freshness import DBT_SOURCE_FRESHNESS_CHECK

    @dg.asset(
        key=["raw", "events"], check_specs=[dg.AssetCheckSpec(DBT_SOURCE_FRESHNESS_CHECK, asset=["raw", "events"])]
    )
    def events():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(
            check_name=DBT_SOURCE_FRESHNESS_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description="error after 6 h",
        )

    with dg.DagsterInstance.ephemeral() as own:
        defs = dg.Definitions(assets=[events])
        cursor = tick(asset_check_alert_sensor, own, receiver, None, definitions=defs)
        result = dg.materialize([events], instance=own, raise_on_error=False)
        assert [e.passed for e in result.get_asset_check_evaluations()] == [False]  # the check did fail
        tick(asset_check_alert_sensor, own, receiver, cursor, definitions=defs)
    assert receiver.alerts() == []
