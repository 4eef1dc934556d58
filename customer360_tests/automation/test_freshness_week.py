"""Weeks tick by tick: a normal week stays PASS and pages nobody; a stalled feed still goes WARN then FAIL; the
``freshness_sla`` checks follow the daemon's state (what the catalog and lineage show) without paging a second time.

The code location's own freshness policies and automation conditions, the freshness daemon's own evaluation, a
simulated clock (``week_simulation``). Expectations come from the lineage and the policies on the graph.
"""

import datetime as dt

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState

from customer360.automation.alerts import asset_check_alert_sensor, freshness_alert, freshness_alert_sensor
from customer360.automation.freshness_checks import FRESHNESS_CHECK_NAME
from customer360.automation.notifier import AlertNotifier
from customer360_tests.automation.webhook_receiver import WebhookReceiver
from customer360_tests.automation.week_simulation import HOUR, SensorTicker, by_hour, simulation

UTC = dt.UTC
DEPLOY = dt.datetime(2024, 6, 2, 12, 0, tzinfo=UTC)  # a Sunday: the backlog of every feed lands, all is built
WEEK = dt.datetime(2024, 6, 3, tzinfo=UTC)  # Monday 00:00: everything has been built once
DAY = dt.timedelta(days=1)
STALL = WEEK + 3 * HOUR  # Monday 03:00, after the Monday 01:30 files and the 02:00 rebuild
STALLED = ("products", "orders", "events")
RESUME = STALL + 12 * HOUR  # Monday 15:00: the events feed is back
BAD = {FreshnessState.WARN, FreshnessState.FAIL}


@pytest.fixture(scope="module")
def code_location() -> dg.Definitions:
    from customer360.definitions import defs

    return defs


def _raw_sources(graph, key: dg.AssetKey) -> set[str]:
    return {k.path[1] for k in graph.get_ancestor_asset_keys(key) if k.path[0] == "raw"}


def _windows(policy) -> tuple[dt.timedelta, dt.timedelta]:
    return policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()


def _alerts(changes):
    return [a for a in (freshness_alert(c.record) for c in changes) if a is not None]


def _fed_only_by(graph, sources) -> set[dg.AssetKey]:
    """The assets we build (not the external dashboards) whose raw inputs are all among ``sources``."""
    return {
        k
        for k in graph.get_all_asset_keys()
        if k.path[0] != "raw"
        and graph.get(k).is_materializable
        and _raw_sources(graph, k)
        and _raw_sources(graph, k) <= set(sources)
    }


def _check_sequence(sim, key, after=WEEK):
    return [(at, state) for at, k, state in sim.check_results if k == key and at > after]


@pytest.fixture(scope="module")
def normal_week(code_location):
    """Deploy on Sunday, then a normal week until the next Monday's 02:00 rebuild is done (cadence model)."""
    with simulation(code_location, DEPLOY) as sim:
        sim.run(DEPLOY, WEEK + 7 * DAY + 4 * HOUR, conditions_until=DEPLOY)
        yield sim, sim.state_changes()


@pytest.fixture(scope="module")
def stalled_feeds(code_location):
    """products, orders and events stop on Monday 03:00; two weeks later. Dagster's conditions drive the first
    18 hours (deploy, hourly ticks, the midnight partition, the Monday 02:00 rebuild, the first stalled hours),
    the cadence model the rest; the daemon is evaluated every hour."""
    with simulation(code_location, DEPLOY, stalled=dict.fromkeys(STALLED, STALL)) as sim:
        sim.run(DEPLOY, STALL + 14 * DAY + 3 * HOUR, conditions_until=STALL + 3 * HOUR, freshness_before_builds=False)
        yield sim, sim.state_changes()


def test_the_cadence_model_requests_what_the_conditions_request(stalled_feeds):
    sim, _ = stalled_feeds
    readable = [
        (
            t.strftime("%a %H:%M:%S"),
            sorted(k.to_user_string() for k, _ in real),
            sorted(k.to_user_string() for k, _ in model),
        )
        for t, real, model in sim.compared
    ]
    assert [r for r in readable if r[1] != r[2]] == []
    assert [(t, real) for t, real, _ in sim.compared] == [(t, model) for t, _, model in sim.compared]  # partitions
    requested_at = {t.strftime("%a %H:%M:%S"): {k.to_user_string() for k, _ in real} for t, real, _ in sim.compared}
    # the comparison covered every kind of decision: deploy, hourly ticks, Monday 02:00, a stalled feed
    assert len(requested_at["Sun 12:10:30"]) > 20
    assert {"staging/stg_events", "staging/stg_transactions", "marts/fct_transactions"} <= requested_at["Sun 23:00:30"]
    assert {"staging/stg_products", "staging/stg_orders", "marts/fct_customer_value"} <= requested_at["Mon 02:00:30"]
    assert "staging/stg_products" not in requested_at["Mon 03:00:30"]
    assert "staging/stg_events" in requested_at["Mon 03:00:30"]  # the last batch, 02:15
    assert "staging/stg_events" not in requested_at["Mon 04:00:30"]  # no batch since: nothing to rebuild


def test_a_normal_week_stays_pass_and_pages_nobody(normal_week):
    sim, changes = normal_week
    graph = sim.graph
    # the simulation runs the automation, not the schedules: the scorecard (delivered by daily_consumer_delivery)
    # is outside it
    with_policy = {
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).freshness_policy is not None and graph.get(k).automation_condition is not None
    }
    at_week_start = {}
    for change in changes:
        if change.at <= WEEK:
            at_week_start[change.key] = change.new
    assert with_policy <= set(at_week_start)
    assert {
        k.to_user_string(): s.value for k, s in at_week_start.items() if k in with_policy and s != FreshnessState.PASS
    } == {}

    during_week = [c for c in changes if c.at > WEEK]
    assert by_hour(during_week) == {}, "a normal week must not change any freshness state"
    assert _alerts(changes) == []
    # the checks: one PASS each once the daemon first said PASS, nothing during the week
    with_check = {
        k.asset_key
        for k in sim.freshness_checks
        if k.asset_key in with_policy or graph.get(k.asset_key).automation_condition is not None
    }
    assert with_check == with_policy
    assert {(k, s) for _, k, s in sim.check_results if k in with_policy} == {
        (k, FreshnessState.PASS) for k in with_policy
    }
    assert [r for r in sim.check_results if r[0] > WEEK] == []


def test_the_simulated_week_rebuilds_on_the_automation_cadence(normal_week):
    """The week above is the automation's: hourly assets every hour, products ones on Mondays, the rest daily."""
    sim, _ = normal_week
    start, end = WEEK, WEEK + 7 * DAY

    assert [t.strftime("%a %H:%M") for t in sim.builds_of("staging/stg_products", start, end)] == ["Mon 02:10"]
    assert len(sim.builds_of("staging/stg_events", start, end)) == 7 * 24
    assert len(sim.builds_of("marts/fct_transactions", start, end)) >= 7 * 24
    assert [t.strftime("%H:%M") for t in sim.builds_of("marts/fct_customer_value", start, end)] == ["02:10"] * 7
    assert sim.builds_of("staging/fx_rates", start, end) == []  # a seed: built once, at deploy


def test_stalled_feeds_go_warn_then_fail_and_page(stalled_feeds):
    sim, changes = stalled_feeds
    graph = sim.graph
    fed_only_by_stalled = _fed_only_by(graph, STALLED)
    # stg_* of each stalled feed, and fct_orders (orders + products: both stalled)
    assert {k.to_user_string() for k in fed_only_by_stalled} == {
        "staging/stg_products",
        "staging/stg_orders",
        "staging/stg_events",
        "marts/fct_orders",
    }
    expected = {dg.AssetKey(["raw", s]) for s in STALLED} | fed_only_by_stalled

    late = {c.key for c in changes if c.new in BAD}
    assert sorted(k.to_user_string() for k in late) == sorted(k.to_user_string() for k in expected), by_hour(
        [c for c in changes if c.key in late]
    )
    for key in expected:
        sequence = [(c.new, c.at) for c in changes if c.key == key and c.at > WEEK]
        assert [s for s, _ in sequence] == [FreshnessState.WARN, FreshnessState.FAIL], (key, sequence)
        warn, fail = _windows(graph.get(key).freshness_policy)
        last = sim.last_build(key, sim.clock.now)
        (_, warned_at), (_, failed_at) = sequence
        # the daemon is evaluated every hour here: each transition within the hour its window ends
        assert last + warn <= warned_at < last + warn + HOUR, (key, last, warned_at)
        assert last + fail <= failed_at < last + fail + HOUR, (key, last, failed_at)
        # its freshness_sla check turns WARN then FAIL at the same evaluations
        assert _check_sequence(sim, key) == [(warned_at, FreshnessState.WARN), (failed_at, FreshnessState.FAIL)]

    pages = sorted((a.asset_key, a.severity) for a in _alerts(changes))
    assert pages == sorted((k.to_user_string(), s) for k in expected for s in ("warning", "error"))


@pytest.fixture(scope="module")
def events_stall_and_resume(code_location):
    """events stops on Monday 03:00 and is back at 15:00; the freshness and check alert sensors tick after every
    daemon evaluation (hourly), delivering to a local webhook."""
    with (
        WebhookReceiver() as receiver,
        simulation(code_location, DEPLOY, stalled={"events": STALL}, resumed={"events": RESUME}) as sim,
    ):
        notifier = AlertNotifier(webhook_url=receiver.url, attempts=1, backoff_seconds=0.01, timeout_seconds=5)
        sim.after_freshness.append(
            SensorTicker(
                code_location, [freshness_alert_sensor, asset_check_alert_sensor], {"alert_notifier": notifier}
            )
        )
        sim.run(DEPLOY, RESUME + 6 * HOUR, conditions_until=DEPLOY, freshness_before_builds=False)
        yield sim, sim.state_changes(), receiver.alerts()


def test_the_freshness_check_follows_the_daemon_and_passes_after_a_fresh_build(events_stall_and_resume):
    sim, changes, _ = events_stall_and_resume
    late = {dg.AssetKey(["raw", "events"])} | _fed_only_by(sim.graph, ["events"])
    assert dg.AssetKey(["staging", "stg_events"]) in late
    for key in late:
        daemon = [(c.at, c.new) for c in changes if c.key == key and c.at > WEEK]
        assert [s for _, s in daemon] == [FreshnessState.WARN, FreshnessState.FAIL, FreshnessState.PASS], (key, daemon)
        assert _check_sequence(sim, key) == daemon, key  # mirrored at the daemon's own evaluation
        recovered_at = daemon[-1][0]
        assert recovered_at > RESUME and sim.builds_of(key.to_user_string(), RESUME, recovered_at), key
        # what the UI reads: the latest execution of the check passed
        check_key = dg.AssetCheckKey(key, FRESHNESS_CHECK_NAME)
        latest = sim.instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key]
        assert latest.event.dagster_event.event_specific_data.passed, key
    # every other asset's check stayed PASS
    assert {(k, s) for at, k, s in sim.check_results if k not in late} <= {
        (k, FreshnessState.PASS) for k in sim.graph.get_all_asset_keys()
    }


def test_one_page_per_transition_and_none_from_the_check_sensor(events_stall_and_resume):
    sim, _, alerts = events_stall_and_resume
    late = {dg.AssetKey(["raw", "events"])} | _fed_only_by(sim.graph, ["events"])
    assert sorted((a["kind"], a["asset_key"], a["severity"]) for a in alerts) == sorted(
        ("freshness", k.to_user_string(), s) for k in late for s in ("warning", "error", "resolved")
    )
