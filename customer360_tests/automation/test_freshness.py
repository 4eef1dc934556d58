"""Freshness policies come from THE SLA table, and the Dagster policies and the dbt source freshness never drift."""

from datetime import timedelta

import dagster as dg
import pytest
import yaml

from customer360.automation.freshness import (
    SLA_OVERRIDE_ENV,
    apply_freshness_policies,
    effective_slas,
    freshness_policy_for,
    parse_sla_overrides,
)
from customer360.settings import DBT_PROJECT_DIR
from customer360.sla import DOWNSTREAM_ERROR_AFTER, DOWNSTREAM_WARN_AFTER, SLAS

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


def test_downstream_assets_follow_the_daily_rebuild(loaded_graph):
    downstream = [k for k in loaded_graph.get_all_asset_keys()
                  if k.path[0] != "raw" and loaded_graph.get(k).is_materializable]
    for key in downstream:
        assert _windows(loaded_graph.get(key).freshness_policy) == (DOWNSTREAM_WARN_AFTER, DOWNSTREAM_ERROR_AFTER)


def test_dagster_policies_and_dbt_source_freshness_do_not_drift(loaded_graph):
    dbt = _dbt_freshness()
    assert set(dbt) == set(SLAS), "every SLA row needs a dbt source freshness block and vice versa"
    for source, (warn, error) in dbt.items():
        policy = loaded_graph.get(dg.AssetKey(["raw", source])).freshness_policy
        assert _windows(policy) == (warn, error), f"{source}: Dagster {_windows(policy)} vs dbt {(warn, error)}"


def test_override_is_test_only_and_validated():
    assert effective_slas({}) == SLAS
    shortened = effective_slas({SLA_OVERRIDE_ENV: "transactions:60:86400"})
    assert shortened["transactions"].warn_after == timedelta(seconds=60)
    assert shortened["orders"] == SLAS["orders"]
    assert SLAS["transactions"].warn_after == timedelta(hours=1)  # the table itself is untouched
    policy = freshness_policy_for(dg.AssetKey(["raw", "transactions"]), {SLA_OVERRIDE_ENV: "transactions:60:120"})
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
