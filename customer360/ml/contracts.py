"""pandera (polars) contracts on every ML input and output.

A violation raises :class:`ContractViolation` with every failed check (column, check, a few failing values),
so the asset fails with the reason instead of writing a bad score table.

Inputs: the dbt feature tables (``customer_id`` unique and not null; every documented feature present; every
feature — documented or added later — a not-null double in [0, 1]) and the point-in-time churn/LTV features.
Outputs: the four ``ml.*`` tables of the brief (ranges, enums, one row per customer).
"""

from __future__ import annotations

import polars as pl
import pandera.polars as pa
from pandera.errors import SchemaError, SchemaErrors

from customer360.ml.features import CHURN_LTV_FEATURES, ID

SEGMENTATION_FEATURES = (
    "recency_norm",
    "frequency_norm",
    "monetary_norm",
    "avg_order_value_norm",
    "session_frequency_norm",
    "avg_session_dur_norm",
    "category_diversity_norm",
    "email_open_rate_norm",
    "click_rate_norm",
    "support_ticket_rate_norm",
    "tenure_norm",
)
FRAUD_FEATURES = (
    "velocity_norm",
    "failed_txn_ratio",
    "night_txn_ratio",
    "cross_border_ratio",
    "avg_transaction_amount_norm",
    "max_transaction_amount_norm",
    "max_single_day_amount_norm",
    "amount_spike_norm",
    "distinct_merchants_norm",
    "payment_methods_used_norm",
    "new_device_ratio",
    "high_velocity_flag",
    "unusual_amount_flag",
    "new_device_flag",
    "cross_border_flag",
)
RISK_TIERS = ("low", "medium", "high")


class ContractViolation(ValueError):
    """A frame broke its contract; the message lists every failed check."""


def _id_column() -> pa.Column:
    return pa.Column(pl.Utf8, nullable=False, unique=True)


def _unit(nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Float64, checks=pa.Check.in_range(0.0, 1.0), nullable=nullable)


def feature_table_schema(name: str, required: tuple[str, ...], columns: list[str]) -> pa.DataFrameSchema:
    """Contract of a dbt feature table: the documented features must exist; *every* feature column present
    (including ones added later) is a not-null double in [0, 1]."""
    features = sorted(set(required) | {c for c in columns if c != ID})
    return pa.DataFrameSchema(
        {ID: _id_column(), **{f: _unit() for f in features}},
        name=name,
        strict=False,
    )


def churn_ltv_features_schema() -> pa.DataFrameSchema:
    ratios = {"cancel_return_ratio", "open_rate_90d", "click_rate_90d", "open_rate_prev_90d", "failed_txn_ratio_90d"}
    cols: dict[str, pa.Column] = {ID: _id_column()}
    for f in CHURN_LTV_FEATURES:
        if f in ratios:
            cols[f] = _unit()
        elif f == "avg_csat_90d":
            cols[f] = pa.Column(pl.Float64, checks=pa.Check.in_range(1.0, 5.0), nullable=True)
        else:
            cols[f] = pa.Column(pl.Float64, checks=pa.Check.ge(0.0), nullable=False)
    return pa.DataFrameSchema(cols, name="point_in_time_features", strict=True)


_META = {
    "model_version": pa.Column(pl.Utf8, nullable=False, checks=pa.Check.str_length(min_value=1)),
    "scored_at": pa.Column(pl.Datetime("us"), nullable=False),
}

OUTPUT_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "customer_segments": pa.DataFrameSchema(
        {
            ID: _id_column(),
            "segment_id": pa.Column(pl.Int32, checks=pa.Check.ge(1), nullable=False),
            "customer_segment": pa.Column(pl.Utf8, nullable=False, checks=pa.Check.str_length(min_value=1)),
            **_META,
        },
        name="ml.customer_segments",
        strict=True,
        ordered=True,
    ),
    "customer_risk_scores": pa.DataFrameSchema(
        {
            ID: _id_column(),
            "anomaly_score": _unit(),
            "risk_tier": pa.Column(pl.Utf8, checks=pa.Check.isin(RISK_TIERS), nullable=False),
            "top_signals": pa.Column(pl.Utf8, nullable=False),
            **_META,
        },
        name="ml.customer_risk_scores",
        strict=True,
        ordered=True,
    ),
    "churn_predictions": pa.DataFrameSchema(
        {ID: _id_column(), "churn_probability": _unit(), **_META},
        name="ml.churn_predictions",
        strict=True,
        ordered=True,
    ),
    "ltv_predictions": pa.DataFrameSchema(
        {
            ID: _id_column(),
            "predicted_ltv": pa.Column(pl.Float64, checks=pa.Check.ge(0.0), nullable=False),
            **_META,
        },
        name="ml.ltv_predictions",
        strict=True,
        ordered=True,
    ),
}


def validate(schema: pa.DataFrameSchema, df: pl.DataFrame) -> pl.DataFrame:
    """Validate ``df`` (all checks, lazily) and return it; raise :class:`ContractViolation` with the reasons."""
    try:
        return schema.validate(df, lazy=True)
    except SchemaErrors as exc:
        raise ContractViolation(f"{schema.name} contract violated:\n{_summarise(exc)}") from None
    except SchemaError as exc:  # pragma: no cover - lazy=True normally aggregates
        raise ContractViolation(f"{schema.name} contract violated: {exc}") from None


def _summarise(exc: SchemaErrors) -> str:
    fc = exc.failure_cases
    if isinstance(fc, pl.DataFrame) and fc.height:
        lines = []
        cols = [c for c in ("column", "check", "failure_case") if c in fc.columns]
        grouped = fc.select(cols).with_columns(pl.col(c).cast(pl.Utf8) for c in cols)
        for key, grp in grouped.group_by([c for c in cols if c != "failure_case"], maintain_order=True):
            sample = grp["failure_case"].head(3).to_list() if "failure_case" in grp.columns else []
            lines.append(f"  - {' / '.join(str(k) for k in key)}: {grp.height} failure(s), e.g. {sample}")
        return "\n".join(lines)
    return str(exc)


def validate_feature_table(name: str, df: pl.DataFrame, required: tuple[str, ...]) -> pl.DataFrame:
    return validate(feature_table_schema(f"ml.{name}", required, df.columns), df)


def validate_output(table: str, df: pl.DataFrame) -> pl.DataFrame:
    return validate(OUTPUT_SCHEMAS[table], df)
