"""Weeks tick by tick: a normal week stays PASS and pages nobody; a stalled feed still goes WARN then FAIL.

The code location's own freshness policies and automation conditions, the freshness daemon's own evaluation, a
simulated clock (``week_simulation``). Expectations come from the lineage and the policies on the graph.
"""

import datetime as dt

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState  # noqa: PLC2701

from customer360.automation.alerts import freshness_alert
from customer360_tests.automation.week_simulation import HOUR, by_hour, simulation

UTC = dt.UTC
DEPLOY = dt.datetime(2024, 6, 2, 12, 0, tzinfo=UTC)  # a Sunday: the backlog of every feed lands, all is built
WEEK = dt.datetime(2024, 6, 3, tzinfo=UTC)  # Monday 00:00: everything has been built once
DAY = dt.timedelta(days=1)
STALL = WEEK + 3 * HOUR  # Monday 03:00, after the Monday 01:30 files and the 02:00 rebuild
STALLED = ("products", "orders", "events")
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
        sim.run(DEPLOY, STALL + 14 * DAY + 3 * HOUR, conditions_until=STALL + 3 * HOUR,
                freshness_before_builds=False)
        yield sim, sim.state_changes()


def test_the_cadence_model_requests_what_the_conditions_request(stalled_feeds):
    sim, _ = stalled_feeds
    readable = [(t.strftime("%a %H:%M:%S"), sorted(k.to_user_string() for k, _ in real),
                 sorted(k.to_user_string() for k, _ in model)) for t, real, model in sim.compared]
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
    with_policy = {k for k in graph.get_all_asset_keys() if graph.get(k).freshness_policy is not None}
    at_week_start = {}
    for change in changes:
        if change.at <= WEEK:
            at_week_start[change.key] = change.new
    assert with_policy <= set(at_week_start)
    assert {k.to_user_string(): s.value for k, s in at_week_start.items()
            if k in with_policy and s != FreshnessState.PASS} == {}

    during_week = [c for c in changes if c.at > WEEK]
    assert by_hour(during_week) == {}, "a normal week must not change any freshness state"
    assert _alerts(changes) == []


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
    fed_only_by_stalled = {
        k for k in graph.get_all_asset_keys()
        if k.path[0] != "raw" and _raw_sources(graph, k) and _raw_sources(graph, k) <= set(STALLED)
    }
    # stg_* of each stalled feed, and fct_orders (orders + products: both stalled)
    assert {k.to_user_string() for k in fed_only_by_stalled} == {
        "staging/stg_products", "staging/stg_orders", "staging/stg_events", "marts/fct_orders"
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

    pages = sorted((a.asset_key, a.severity) for a in _alerts(changes))
    assert pages == sorted((k.to_user_string(), s) for k in expected for s in ("warning", "error"))
