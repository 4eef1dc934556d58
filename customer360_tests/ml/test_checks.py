"""The ML tables' column schema comes from the output contracts; the contract and quality checks decide as their
thresholds say and name what failed."""

from datetime import datetime

import dagster as dg
import polars as pl

from customer360.ml import thresholds as T
from customer360.ml.catalog import column_schema
from customer360.ml.checks import CONTRACT_CHECK, QUALITY, check_specs, contract_result, quality_results
from customer360.ml.contracts import OUTPUT_SCHEMAS

KEY = dg.AssetKey(["ml", "churn_predictions"])


def _churn(ids, probs) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ids,
            "churn_probability": probs,
            "model_version": ["v"] * len(ids),
            "scored_at": [datetime(2024, 1, 1)] * len(ids),
        }
    ).with_columns(pl.col("scored_at").cast(pl.Datetime("us")))


def test_column_schema_is_the_output_contract():
    for table, schema in OUTPUT_SCHEMAS.items():
        cols = {c.name: c for c in column_schema(table).columns}
        assert list(cols) == list(schema.columns)
        for name, col in schema.columns.items():
            assert cols[name].description == col.description and cols[name].description
            assert cols[name].constraints.nullable == col.nullable and cols[name].constraints.unique == col.unique
    churn = {c.name: c for c in column_schema("churn_predictions").columns}
    assert churn["churn_probability"].type == "double" and churn["churn_probability"].constraints.other == ["in [0, 1]"]
    assert churn["customer_id"].constraints.unique and churn["scored_at"].type == "timestamp"
    risk = {c.name: c for c in column_schema("customer_risk_scores").columns}
    assert risk["risk_tier"].constraints.other == ["one of ['low', 'medium', 'high']"]
    assert {c.name: c for c in column_schema("ltv_predictions").columns}["predicted_ltv"].constraints.other == [">= 0"]


def test_specs_contract_blocking_quality_not():
    specs = {s.name: s for s in check_specs("churn_predictions", KEY)}
    assert (
        specs[CONTRACT_CHECK].blocking
        and "churn_probability (double, not null, in [0, 1])" in specs[CONTRACT_CHECK].description
    )
    assert {n for n, s in specs.items() if not s.blocking} == {q.name for q in QUALITY["churn_predictions"]}


def test_contract_result_names_the_failed_checks_and_rows():
    ok = contract_result("churn_predictions", _churn(["a", "b"], [0.1, 0.9]), KEY)
    assert ok.passed and ok.severity == dg.AssetCheckSeverity.ERROR
    bad = contract_result("churn_predictions", _churn(["a", "a", "b", "c"], [0.1, 0.2, 1.3, None]), KEY)
    assert not bad.passed
    failures = {(r.data["column"], r.data["check"]): r.data["failures"] for r in bad.metadata["failures"].records}
    assert failures[("customer_id", "field_uniqueness")] == 2
    assert failures[("churn_probability", "not_nullable")] == 1
    assert any(c == "churn_probability" and k.startswith("in_range") for c, k in failures)
    assert bad.metadata["failing_rows"].value == 4
    assert sorted(bad.metadata["failing_customer_ids"].value) == ["a", "a", "b", "c"]
    assert "churn_probability" in bad.description and "not written" in bad.description
    missing = contract_result("churn_predictions", _churn(["a"], [0.5]).drop("model_version"), KEY)
    assert not missing.passed and "model_version" in missing.description


def test_quality_checks_warn_at_their_thresholds():
    def run(table, metrics):
        key = dg.AssetKey(["ml", table])
        return {r.check_name: r for r in quality_results(table, metrics, key, "test")}

    churn = run(
        "churn_predictions",
        {"holdout_roc_auc": T.MIN_CHURN_HOLDOUT_AUC - 0.01, "holdout_calibration_error": 0.03, "holdout_rows": 50_000},
    )
    assert not churn["holdout_roc_auc"].passed and churn["holdout_roc_auc"].severity == dg.AssetCheckSeverity.WARN
    assert churn["holdout_calibration"].passed
    # the calibration allowance shrinks with the holdout size
    assert not run("churn_predictions", {"holdout_calibration_error": 0.09, "holdout_rows": 50_000})[
        "holdout_calibration"
    ].passed
    assert run("churn_predictions", {"holdout_calibration_error": 0.09, "holdout_rows": 400})[
        "holdout_calibration"
    ].passed
    ltv = run("ltv_predictions", {"holdout_rmse_vs_naive": 1.05, "holdout_bias": -0.25})
    assert not ltv["beats_naive_baseline"].passed and not ltv["holdout_bias"].passed
    assert run("ltv_predictions", {"holdout_rmse_vs_naive": 0.9, "holdout_bias": 0.1})["holdout_bias"].passed
    risk = run("customer_risk_scores", {"high_share": 0.04})
    assert not risk["high_tier_share"].passed and risk["high_tier_share"].metadata["max_share"].value == 0.02
    assert run("customer_segments", {"min_segment_share": 0.05})["min_segment_share"].passed
    # a metric the model never measured (e.g. a one-class holdout) cannot pass
    unmeasured = run("churn_predictions", {"holdout_roc_auc": float("nan")})["holdout_roc_auc"]
    assert not unmeasured.passed and "not measured" in unmeasured.description
