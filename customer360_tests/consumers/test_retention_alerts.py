"""Retention alerts against a local HTTP receiver: one alert per customer per crossing, a daily digest, nothing
re-sent after a restart, nothing lost during a webhook outage; one threshold shared with dbt."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from customer360.automation.notifier import AlertNotifier
from customer360.consumers.retention_alerts import build_retention_alerts_asset
from customer360.resources import WarehouseResource
from customer360.settings import DBT_PROJECT_DIR
from customer360.transform import project_vars
from customer360.transform.project import dbt_project
from customer360.transform.project_vars import churn_probability_threshold
from customer360_tests.automation.webhook_receiver import WebhookReceiver


def _asset():
    return build_retention_alerts_asset(json.loads(dbt_project("local").manifest_path.read_text()))


def _run(db: Path, url: str, raise_on_error: bool = True):
    notifier = AlertNotifier(webhook_url=url, attempts=1, backoff_seconds=0)
    return dg.materialize(
        [_asset()],
        resources={"warehouse": WarehouseResource(duckdb_path=str(db)), "alert_notifier": notifier},
        raise_on_error=raise_on_error,
    )


def _score(db: Path, probabilities: dict[str, float], day_offset: int = 0) -> None:
    """A re-score of the churn model as fct_customer_value would show it: every customer 0.1 except those given."""
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update marts.fct_customer_value set churn_probability = 0.1, as_of_date = cast(? as date) + to_days(?)",
            ["2024-03-14", day_offset],
        )
        for customer, p in probabilities.items():
            con.execute(
                "update marts.fct_customer_value set churn_probability = ? where customer_id = ?", [p, customer]
            )


def _customers(db: Path, n: int) -> list[str]:
    with duckdb.connect(str(db)) as con:
        return [
            r[0]
            for r in con.execute(
                "select customer_id from marts.fct_customer_value order by predicted_ltv desc nulls last, customer_id "
                "limit ?",
                [n],
            ).fetchall()
        ]


def _of_kind(alerts: list[dict], kind: str) -> list[dict]:
    return [a for a in alerts if a["kind"] == kind]


def test_one_alert_per_crossing_and_a_daily_digest(warehouse_file):
    a, b, c, d = _customers(warehouse_file, 4)
    e = _customers(warehouse_file, 5)[-1]
    with WebhookReceiver() as receiver:
        # the first evaluation: e, already above the threshold, is the baseline — in the digest, no alert of its own
        _score(warehouse_file, {e: 0.95}, day_offset=-1)
        assert _run(warehouse_file, receiver.url).success
        baseline = receiver.alerts()
        assert _of_kind(baseline, "retention") == []
        (digest0,) = _of_kind(baseline, "retention_digest")
        assert (
            digest0["details"]["high_risk_customers"],
            digest0["details"]["baseline_customers"],
            digest0["details"]["new_crossings"],
        ) == (1, 1, 0)
        assert "baseline" in digest0["text"]

        _score(warehouse_file, {a: 0.9, b: 0.71, c: 0.7, e: 0.95})  # 0.7 itself is not above the threshold
        assert _run(warehouse_file, receiver.url).success
        first = receiver.alerts()
        assert sorted(x["details"]["customer_id"] for x in _of_kind(first, "retention")) == sorted([a, b])
        digest = _of_kind(first, "retention_digest")[1:]
        assert len(digest) == 1 and digest[0]["details"]["high_risk_customers"] == 3
        assert digest[0]["details"]["baseline_customers"] == 0
        assert digest[0]["details"]["top_customers"][0]["customer_id"] in {a, b, e}

        # a restart (a new process: nothing in memory) with the same scores sends nothing
        assert _run(warehouse_file, receiver.url).success
        assert len(receiver.alerts()) == len(first)

        # next day: a recovers, c crosses, b stays high → one alert (c) and the new day's digest
        _score(warehouse_file, {a: 0.3, b: 0.8, c: 0.75, e: 0.95}, day_offset=1)
        assert _run(warehouse_file, receiver.url).success
        second = receiver.alerts()[len(first) :]
        assert [x["details"]["customer_id"] for x in _of_kind(second, "retention")] == [c]
        day2 = _of_kind(second, "retention_digest")[0]["details"]
        assert (day2["high_risk_customers"], day2["new_crossings"], day2["recovered"]) == (3, 1, 1)

        # a crosses again two days later: a new crossing, a new dedup key
        _score(warehouse_file, {a: 0.95, b: 0.8, c: 0.75}, day_offset=3)
        assert _run(warehouse_file, receiver.url).success
        a_alerts = [x for x in _of_kind(receiver.alerts(), "retention") if x["details"]["customer_id"] == a]
        assert len(a_alerts) == 2 and len({x["dedup_key"] for x in a_alerts}) == 2
        keys = [x["dedup_key"] for x in receiver.alerts()]
        assert len(keys) == len(set(keys))

        # webhook outage: the asset fails clearly, nothing is lost; the retry sends d's alert once + the digest
        # (and e's: the baseline customer fell back below on day 3 and crosses now, a crossing like any other)
        _score(warehouse_file, {a: 0.95, b: 0.8, c: 0.75, d: 0.99, e: 0.9}, day_offset=4)
        before = len(receiver.alerts())
        receiver.fail_next = 100
        with pytest.raises(dg.Failure, match=r"retention alerts: the notifier failed .*HTTP 500.*retry the asset"):
            _run(warehouse_file, receiver.url)
        assert len(receiver.alerts()) == before
        receiver.fail_next = 0
        assert _run(warehouse_file, receiver.url).success
        after = receiver.alerts()[before:]
        assert sorted(x["details"]["customer_id"] for x in _of_kind(after, "retention")) == sorted([d, e])
        assert len(_of_kind(after, "retention_digest")) == 1


def test_threshold_is_the_dbt_var_shared_with_the_churn_rate_metric():
    dbt_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert churn_probability_threshold() == dbt_vars["churn_probability_threshold"] == 0.7
    semantic = (DBT_PROJECT_DIR / "models" / "semantic" / "_semantic_models.yml").read_text()
    assert "churn_probability > {{ var('churn_probability_threshold') }}" in semantic
    assert "churn_probability > 0.7" not in semantic  # no second, hard-coded copy
    # the prepared semantic manifest renders the var into the measure behind churn_rate
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "semantic_manifest.json").read_text())
    measures = {m["name"]: m for sm in manifest["semantic_models"] for m in sm["measures"]}
    assert measures["high_churn_risk_customers"]["expr"] == (
        f"case when churn_probability > {dbt_vars['churn_probability_threshold']} then 1 else 0 end"
    )


def test_the_churn_models_high_risk_tier_follows_the_dbt_var(monkeypatch):
    """Change the dbt var (and only it): the churn model's high-risk tier moves with it (the alerts and the metric
    read the same var, test above), so the three cannot diverge."""
    import numpy as np

    from customer360.ml import churn

    probabilities = np.array([0.55, 0.65, 0.75, 0.9])
    assert churn.high_risk(probabilities).tolist() == [False, False, True, True]  # the var as shipped: 0.7
    variables = {**project_vars.project_vars(), "churn_probability_threshold": 0.6}
    monkeypatch.setattr(project_vars, "project_vars", lambda *_a, **_k: variables)
    assert churn_probability_threshold() == 0.6
    assert churn.high_risk(probabilities).tolist() == [False, True, True, True]
    assert not hasattr(churn, "HIGH_RISK_THRESHOLD")  # no second copy of the setting in the ML code
