"""The executive scorecard: its numbers (from MetricFlow) equal direct SQL on the marts; HTML + charts beside the
exports and in the metadata; a metric the semantic layer cannot resolve is a clear error on the asset."""

import dataclasses
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from customer360.consumers.scorecard import SCORECARD_KPIS, Kpi, build_scorecard_asset
from customer360.settings import Settings
from customer360.transform.project import dbt_project


def _asset(db: Path, exports: Path, kpis=SCORECARD_KPIS):
    settings = dataclasses.replace(
        Settings.from_env(), duckdb_path=str(db), exports_url=str(exports), warehouse="duckdb"
    )
    return build_scorecard_asset(json.loads(dbt_project("local").manifest_path.read_text()), settings, kpis)


def _one(db: Path, sql: str) -> float | None:
    with duckdb.connect(str(db)) as con:
        return con.execute(sql).fetchone()[0]


def test_scorecard_numbers_equal_direct_sql(warehouse_file, tmp_path, monkeypatch):
    import subprocess

    started = []
    real_run = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: started.append(args) or real_run(args, **kw))
    with duckdb.connect(str(warehouse_file)) as con:  # scored customers, as after the ML assets ran
        con.execute(
            "update marts.fct_customer_value set churn_probability = case when hash(customer_id) % 5 = 0 "
            "then 0.9 else 0.2 end, predicted_ltv = total_spend * 1.5, customer_segment = case when "
            "total_orders > 1 then 'Loyal' else 'New' end"
        )
    result = dg.materialize([_asset(warehouse_file, tmp_path / "exports")])
    assert result.success
    assert len(started) == 1  # the three queries (totals, by month, by segment) in ONE MetricFlow process
    md = result.get_asset_materialization_events()[0].materialization.metadata
    sql = {
        "total_spend": "select sum(total_spend) from marts.fct_customer_value",
        "aov": "select sum(total_amount) / count(*) from marts.fct_orders where order_status = 'completed'",
        "predicted_ltv": "select sum(predicted_ltv) from marts.fct_customer_value",
        "revenue": "select sum(total_amount) from marts.fct_orders where order_status = 'completed'",
        "active_customers": "select count(*) from marts.dim_customers where is_active",
        "churn_rate": "select avg(case when churn_probability > 0.7 then 1.0 else 0.0 end) "
        "from marts.fct_customer_value where churn_probability is not null",
        "flagged_amount": "select sum(amount) from marts.fct_transactions where is_high_risk",
        "campaign_conversion_rate": "select avg(case when converted then 1.0 else 0.0 end) from marts.fct_campaigns",
        "csat": "select avg(satisfaction_score) from staging.stg_support_tickets where satisfaction_score is not null",
    }
    assert set(sql) == {k.metric for k in SCORECARD_KPIS}
    for metric, query in sql.items():
        expected = _one(warehouse_file, query)
        assert expected is not None and expected > 0, metric
        assert md[metric].value == pytest.approx(float(expected), rel=1e-9), metric
    # the report and its charts are beside the exports, and in the UI metadata
    report = tmp_path / "exports" / "scorecard" / "executive_kpi_scorecard.html"
    page = report.read_text()
    assert "Executive KPI scorecard" in page and page.count("data:image/png;base64,") == 2
    assert (tmp_path / "exports" / "scorecard" / "by_segment.png").read_bytes()[:4] == b"\x89PNG"
    assert md["charts"].value.count("data:image/png;base64,") == 2
    assert "| Total spend | `total_spend` |" in md["scorecard"].value
    assert md["report"].value == str(report)


def test_unknown_metric_is_a_clear_error_on_the_asset(warehouse_file, tmp_path):
    bogus = (*SCORECARD_KPIS, Kpi("net_promoter_score", "NPS", "score"))
    with pytest.raises(
        dg.Failure,
        match=r"(?s)semantic layer could not answer.*net_promoter_score.*"
        r"does not exactly match any known metrics",
    ):
        dg.materialize([_asset(warehouse_file, tmp_path / "exports", bogus)])
    assert not (tmp_path / "exports" / "scorecard").exists()
    # once the metric list is fixed, a retry completes
    assert dg.materialize([_asset(warehouse_file, tmp_path / "exports")]).success
    assert (tmp_path / "exports" / "scorecard" / "executive_kpi_scorecard.html").exists()
