"""The semantic layer (MetricFlow) as CI runs it: `mf validate-configs` passes against the built warehouse, every KPI
column of the marts (meta.is_kpi) is answered by a metric or is a dimension, the `customer` entity lets the
customer segments slice the other facts' metrics, and every dashboard of the exposures has a saved query that runs.

mf reads dbt_project/target/semantic_manifest.json, written by `dbt parse` at setup (scripts/prepare_dbt.py)."""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from customer360.settings import DBT_PROJECT_DIR
from customer360.transform.translator import column_is_kpi

MF = str(Path(sys.executable).parent / "mf")
# KPIs the documents name outside the marts' "Is KPI" columns, with the metric that answers each
NAMED_KPIS = {
    "customer tenure": "avg_customer_tenure_days",
    "flagged-transaction share": "flagged_transaction_share",
    "ticket resolution time": "avg_resolution_hours",
    "CSAT": "csat",
    "total spend": "total_spend",
    "predicted LTV": "predicted_ltv",
}
CUSTOMER_SLICES = ("customer__customer_segment", "customer__rfm_segment", "customer__risk_tier")


def _mf(env, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MF, *args],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **env.env()},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def semantic(test_project) -> dict:
    return json.loads((Path(test_project.target_path) / "semantic_manifest.json").read_text())


def test_mf_validate_configs_passes_against_the_warehouse(built):
    out = _mf(built.env, "validate-configs", timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    counts = re.findall(r"\(ERRORS: (\d+), FUTURE_ERRORS: (\d+)", out.stdout)
    assert len(counts) >= 2 and all(c == ("0", "0") for c in counts), out.stdout[-4000:]  # semantics + warehouse


def test_every_kpi_column_has_a_metric(test_project, semantic):
    manifest = json.loads(Path(test_project.manifest_path).read_text())
    measures_with_metric = {
        m["type_params"]["measure"]["name"]
        for m in semantic["metrics"]
        if (m["type_params"].get("measure") or {}).get("name")
    }
    metrics = {m["name"] for m in semantic["metrics"]}
    uncovered = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["config"].get("schema") != "marts":
            continue
        kpis = [name for name, col in node["columns"].items() if column_is_kpi(col)]
        models = [sm for sm in semantic["semantic_models"] if sm["node_relation"]["alias"] == node["name"]]
        for column in kpis:
            word = re.compile(rf"\b{re.escape(column)}\b")
            as_measure = any(
                word.search(m.get("expr") or m["name"]) and m["name"] in measures_with_metric
                for sm in models
                for m in sm["measures"]
            )
            as_dimension = any(column in (d["name"], d.get("expr")) for sm in models for d in sm["dimensions"])
            # a per-row ratio (avg_order_value = total_spend / total_orders) is re-aggregated by a ratio metric
            # of the same name, not summed
            if not (as_measure or as_dimension or column in metrics):
                uncovered.append(f"{node['name']}.{column}")
    assert uncovered == []
    assert {kpi: name for kpi, name in NAMED_KPIS.items() if name not in metrics} == {}


def test_one_customer_entity_lets_segments_slice_every_customer_level_metric(semantic):
    primaries = {
        sm["name"]
        for sm in semantic["semantic_models"]
        for e in sm["entities"]
        if e["type"] == "primary" and e["name"] == "customer"
    }
    assert primaries == {"customers", "customer_value"}
    with_customer = {
        sm["name"] for sm in semantic["semantic_models"] if any(e["name"] == "customer" for e in sm["entities"])
    }
    assert with_customer == {sm["name"] for sm in semantic["semantic_models"]}  # every fact reaches the segments


def test_customer_segments_slice_the_facts(built):
    env = built.env
    target = env.target_path / "by_rfm.csv"
    out = _mf(
        env,
        "query",
        "--metrics",
        "revenue,flagged_amount,campaign_sends,total_spend,support_ticket_count",
        "--group-by",
        ",".join(CUSTOMER_SLICES),
        "--csv",
        str(target),
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    rows = _csv(target)
    assert {"customer__rfm_segment", "revenue", "flagged_amount"} <= set(rows[0])
    assert len({r["customer__rfm_segment"] for r in rows}) > 1
    revenue = sum(float(r["revenue"] or 0) for r in rows)
    sql_total = env.sql("select sum(total_amount) from marts.fct_orders where order_status = 'completed'")[0][0]
    assert abs(revenue - sql_total) < 1e-6 * max(1.0, sql_total)  # the join through customer loses no order
    champions = (
        env.sql(
            "select sum(o.total_amount) from marts.fct_orders o join marts.fct_customer_value v using (customer_id)"
            " where o.order_status = 'completed' and v.rfm_segment = 'Champions'"
        )[0][0]
        or 0.0
    )
    mf_champions = sum(float(r["revenue"] or 0) for r in rows if r["customer__rfm_segment"] == "Champions")
    assert abs(mf_champions - champions) < 1e-6 * max(1.0, champions)


def test_every_dashboard_has_a_saved_query_that_runs(built, test_project, semantic):
    manifest = json.loads(Path(test_project.manifest_path).read_text())
    dashboards = {e["name"] for e in manifest["exposures"].values() if e["type"] == "dashboard"}
    saved = {q["name"] for q in semantic.get("saved_queries", [])}
    assert dashboards and dashboards <= saved, dashboards - saved
    failures = {}
    for name in sorted(dashboards):
        target = built.env.target_path / f"{name}.csv"
        out = _mf(built.env, "query", "--saved-query", name, "--csv", str(target))
        if out.returncode != 0 or not _csv(target):
            failures[name] = (out.stdout + out.stderr)[-1500:]
    assert failures == {}
