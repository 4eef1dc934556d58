"""Freshness policies come from THE SLA table, and the Dagster policies and the dbt source freshness never drift."""

import datetime as dt
import itertools
from datetime import timedelta

import dagster as dg
import pytest
import yaml

from customer360.automation.freshness import (
    SLA_OVERRIDE_ENV,
    apply_freshness_policies,
    effective_slas,
    parse_sla_overrides,
    raw_freshness_policies,
)
from customer360.settings import DBT_PROJECT_DIR
from customer360.sla import BUILD_SLACK, DAILY, HOURLY, ON_DEPLOY, REBUILD_SLAS, SLAS, WEEKLY

SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"
_PERIOD = {"minute": "minutes", "hour": "hours", "day": "days"}


def _windows(policy) -> tuple[timedelta, timedelta]:
    return policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()


def _dbt_freshness() -> dict[str, tuple[timedelta, timedelta]]:
    """source table → (warn_after, error_after) as written in the dbt sources yml (the file dbt reads)."""
    doc = yaml.safe_load(SOURCES_YML.read_text())
    out = {}
    for source in doc["sources"]:
        for table in source["tables"]:
            fresh = (table.get("config") or {}).get("freshness") or table.get("freshness")
            if not fresh:
                continue
            warn, error = (
                timedelta(**{_PERIOD[fresh[k]["period"]]: fresh[k]["count"]}) for k in ("warn_after", "error_after")
            )
            out[table["name"]] = (warn, error)
    return out


@pytest.fixture(scope="module")
def loaded_graph():
    """The real code location's asset graph (definitions.py with orchestration applied)."""
    from customer360.definitions import defs

    return defs.resolve_asset_graph()


def test_every_raw_asset_in_the_code_location_has_its_sla_policy(loaded_graph, monkeypatch):
    monkeypatch.delenv(SLA_OVERRIDE_ENV, raising=False)
    raw_keys = {k for k in loaded_graph.get_all_asset_keys() if k.path[0] == "raw"}
    assert {k.path[1] for k in raw_keys} == set(SLAS)
    for key in raw_keys:
        sla = SLAS[key.path[1]]
        assert _windows(loaded_graph.get(key).freshness_policy) == (sla.warn_after, sla.error_after), key


def test_downstream_policies_follow_the_rebuild_cadence(loaded_graph):
    """Each asset's windows are those of the cadence its automation condition rebuilds it on."""
    expected = {
        "staging/stg_products": WEEKLY,  # fed only by the weekly catalogue: rebuilt on Mondays
        "staging/stg_events": HOURLY,
        "staging/stg_transactions": HOURLY,
        "marts/fct_transactions": HOURLY,  # today's partition follows the micro-batches
        "staging/stg_orders": DAILY,
        "intermediate/int_product_affinity": DAILY,  # products and orders: rebuilt daily
        "marts/fct_customer_value": DAILY,
        "staging/fx_rates": ON_DEPLOY,  # a seed: no policy, nothing can make it late
        "marts/metricflow_time_spine": ON_DEPLOY,
    }
    for name, cadence in expected.items():
        node, row = loaded_graph.get(dg.AssetKey(name.split("/"))), REBUILD_SLAS[cadence]
        if row.warn_after is None:
            assert node.freshness_policy is None, name
        else:
            assert _windows(node.freshness_policy) == (row.warn_after, row.error_after), name
    crons = {row.rebuild_cron: row for row in REBUILD_SLAS.values() if row.warn_after is not None}
    for key in loaded_graph.get_all_asset_keys():
        node = loaded_graph.get(key)
        label = node.automation_condition.get_label() if node.automation_condition else ""
        if label.startswith("rebuild_on(") and node.freshness_policy is not None:
            row = crons[label.removeprefix("rebuild_on(").removesuffix(")")]  # the automation's own cadence
            assert _windows(node.freshness_policy) == (row.warn_after, row.error_after), key


def _interval(cron: str) -> dt.timedelta:
    from dagster._utils.schedules import cron_string_iterator

    ticks = cron_string_iterator(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp(), cron, "UTC")
    return max(b - a for a, b in itertools.pairwise(itertools.islice(ticks, 200)))


def test_rebuild_windows_outlast_a_cycle_and_their_feeds():
    """A window shorter than the rebuild interval fails every normal cycle (the weekly assets under the daily
    windows did); a window shorter than the feed's own lets a late-but-within-SLA feed page downstream."""
    for cadence, row in REBUILD_SLAS.items():
        feeds = [s for s in SLAS.values() if s.rebuilds == cadence]
        if cadence == ON_DEPLOY:
            assert row.warn_after is None and row.error_after is None and not feeds
            continue
        assert feeds, cadence
        assert row.warn_after >= _interval(row.rebuild_cron) + BUILD_SLACK, cadence
        assert row.warn_after >= max(s.warn_after for s in feeds) + BUILD_SLACK, cadence
        assert row.error_after >= max(s.error_after for s in feeds) + BUILD_SLACK, cadence
        assert row.warn_after < row.error_after


def test_dagster_policies_and_dbt_source_freshness_do_not_drift(loaded_graph):
    dbt = _dbt_freshness()
    assert set(dbt) == set(SLAS), "every SLA row needs a dbt source freshness block and vice versa"
    for source, (warn, error) in dbt.items():
        policy = loaded_graph.get(dg.AssetKey(["raw", source])).freshness_policy
        assert _windows(policy) == (warn, error), f"{source}: Dagster {_windows(policy)} vs dbt {(warn, error)}"


def test_override_is_test_only_and_validated():
    assert effective_slas("") == SLAS
    shortened = effective_slas("transactions:60:86400")
    assert shortened["transactions"].warn_after == timedelta(seconds=60)
    assert shortened["orders"] == SLAS["orders"]
    assert SLAS["transactions"].warn_after == timedelta(hours=1)  # the table itself is untouched
    policy = raw_freshness_policies("transactions:60:120")[dg.AssetKey(["raw", "transactions"])]
    assert _windows(policy) == (timedelta(seconds=60), timedelta(seconds=120))
    for bad in ("nosuch:60:120", "transactions:60", "transactions:30:120", "transactions:a:b", "transactions:120:60"):
        with pytest.raises(ValueError):
            parse_sla_overrides(bad)


def test_unknown_raw_asset_is_an_error():
    @dg.asset(key=["raw", "unknown_feed"])
    def unknown():
        return None

    with pytest.raises(ValueError, match="no row in the SLA table"):
        apply_freshness_policies(dg.Definitions(assets=[unknown])).resolve_asset_graph()


def test_every_asset_with_a_policy_has_one_non_blocking_freshness_check_naming_its_windows(loaded_graph):
    """What the catalog and lineage show: the ``freshness_sla`` check, described by its windows and SLA row."""
    from customer360.automation.freshness_checks import FRESHNESS_CHECK_NAME

    with_policy = {k for k in loaded_graph.get_all_asset_keys() if loaded_graph.get(k).freshness_policy is not None}
    checks = [k for k in loaded_graph.asset_check_keys if k.name == FRESHNESS_CHECK_NAME]
    assert sorted(k.asset_key for k in checks) == sorted(with_policy)  # one each, none on a seed
    orders = loaded_graph.get(dg.AssetCheckKey(dg.AssetKey(["raw", "orders"]), FRESHNESS_CHECK_NAME))
    assert not orders.blocking
    assert "older than 1 d" in orders.description and "older than 2 d" in orders.description
    assert 'SLAS["orders"]' in orders.description
    value = loaded_graph.get(dg.AssetCheckKey(dg.AssetKey(["marts", "fct_customer_value"]), FRESHNESS_CHECK_NAME))
    assert 'REBUILD_SLAS["daily"]' in value.description and "older than 1 d 2 h" in value.description
    assert "older than 2 d 2 h" in value.description


def test_freshness_check_results_mirror_the_daemon_states():
    from dagster._core.definitions.freshness import FreshnessState

    from customer360.automation.freshness_checks import check_result_fields, state_of_evaluation

    assert check_result_fields(FreshnessState.PASS)[0] is True
    assert check_result_fields(FreshnessState.WARN) == (False, dg.AssetCheckSeverity.WARN)
    assert check_result_fields(FreshnessState.FAIL) == (False, dg.AssetCheckSeverity.ERROR)
    with pytest.raises(ValueError):
        check_result_fields(FreshnessState.UNKNOWN)
    for state in (FreshnessState.PASS, FreshnessState.WARN, FreshnessState.FAIL):
        passed, severity = check_result_fields(state)
        evaluation = dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("a"), check_name="freshness_sla", passed=passed, severity=severity
        )
        assert state_of_evaluation(evaluation) == state


def test_override_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv(SLA_OVERRIDE_ENV, "transactions:60:120")
    assert effective_slas()["transactions"].warn_after == timedelta(seconds=60)
    monkeypatch.delenv(SLA_OVERRIDE_ENV)
    assert effective_slas() == SLAS
