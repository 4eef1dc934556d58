"""Contracts reject bad frames with the reason, and accept good ones (including an added feature column)."""

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from customer360.ml.contracts import (
    FRAUD_FEATURES,
    SEGMENTATION_FEATURES,
    ContractViolation,
    output_failures,
    validate_feature_table,
)


def _features(n: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {"customer_id": [f"c{i}" for i in range(n)], **{f: rng.random(n) for f in SEGMENTATION_FEATURES}}
    )


def test_good_feature_table_passes_and_new_feature_is_allowed():
    df = _features().with_columns(pl.lit(0.5).alias("brand_new_norm"))
    assert validate_feature_table("feat_customer_segmentation", df, SEGMENTATION_FEATURES).height == 5


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: pl.concat([d, d.head(1)]), "customer_id"),  # two rows for one customer
        (
            lambda d: d.with_columns(
                pl.when(pl.col("customer_id") == "c1")
                .then(1.5)
                .otherwise(pl.col("monetary_norm"))
                .alias("monetary_norm")
            ),
            "monetary_norm",
        ),
        (lambda d: d.with_columns(pl.lit(None, dtype=pl.Float64).alias("recency_norm")), "recency_norm"),
        (lambda d: d.drop("tenure_norm"), "tenure_norm"),
        (lambda d: d.with_columns(pl.lit(2.0).alias("brand_new_norm")), "brand_new_norm"),  # added features obey too
        (lambda d: d.with_columns(pl.col("frequency_norm").cast(pl.Float32)), "frequency_norm"),
    ],
)
def test_bad_feature_tables_are_rejected_with_the_reason(mutate, reason):
    with pytest.raises(ContractViolation, match=reason):
        validate_feature_table("feat_customer_segmentation", mutate(_features()), SEGMENTATION_FEATURES)


def test_fraud_table_needs_every_documented_signal():
    df = pl.DataFrame({"customer_id": ["a"], **{f: [0.0] for f in FRAUD_FEATURES if f != "night_txn_ratio"}})
    with pytest.raises(ContractViolation, match="night_txn_ratio"):
        validate_feature_table("feat_fraud_behavior", df, FRAUD_FEATURES)


def _risk(**over) -> pl.DataFrame:
    base = {
        "customer_id": ["a", "b"],
        "anomaly_score": [0.4, 0.9],
        "risk_tier": ["low", "high"],
        "top_signals": ["", "velocity_norm"],
        "model_version": ["v1", "v1"],
        "scored_at": [datetime(2024, 1, 1)] * 2,
    }
    base.update(over)
    return pl.DataFrame(base).with_columns(pl.col("scored_at").cast(pl.Datetime("us")))


def _failing_columns(table: str, df: pl.DataFrame) -> set[str]:
    return set(output_failures(table, df).get_column("column").to_list())


def test_outputs_checked():
    assert output_failures("customer_risk_scores", _risk()).height == 0
    assert _failing_columns("customer_risk_scores", _risk(risk_tier=["low", "severe"])) == {"risk_tier"}
    assert _failing_columns("customer_risk_scores", _risk(anomaly_score=[0.4, 1.2])) == {"anomaly_score"}
    churn = pl.DataFrame(
        {
            "customer_id": ["a", "a"],
            "churn_probability": [0.2, -0.1],
            "model_version": ["v", "v"],
            "scored_at": [datetime(2024, 1, 1)] * 2,
        }
    ).with_columns(pl.col("scored_at").cast(pl.Datetime("us")))
    assert _failing_columns("churn_predictions", churn) == {"customer_id", "churn_probability"}
    ltv = pl.DataFrame(
        {"customer_id": ["a"], "predicted_ltv": [-1.0], "model_version": ["v"], "scored_at": [datetime(2024, 1, 1)]}
    ).with_columns(pl.col("scored_at").cast(pl.Datetime("us")))
    assert _failing_columns("ltv_predictions", ltv) == {"predicted_ltv"}
