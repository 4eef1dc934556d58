"""pandera (polars) contracts on every ML input and output.

A violation raises :class:`ContractViolation` with every failed check (column, check, a few failing values),
so the asset fails with the reason instead of writing a bad score table.

Inputs: the dbt feature tables (``customer_id`` unique and not null; every documented feature present; every
feature — documented or added later — a not-null double in [0, 1]) and the point-in-time churn/LTV features.
Outputs: the four ``ml.*`` tables of the brief (ranges, enums, one row per customer), with a description per
column: the assets run them as blocking asset checks and show them as the tables' column schema.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
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


def _id_column(description: str | None = None) -> pa.Column:
    return pa.Column(pl.Utf8, nullable=False, unique=True, description=description)


def _unit(nullable: bool = False, description: str | None = None) -> pa.Column:
    return pa.Column(pl.Float64, checks=pa.Check.in_range(0.0, 1.0), nullable=nullable, description=description)


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


_CUSTOMER = "The scored customer (staging.stg_customers.customer_id); one row per customer."
_META = {
    "model_version": pa.Column(
        pl.Utf8,
        nullable=False,
        checks=pa.Check.str_length(min_value=1),
        description=(
            "Saved model that produced the row (artifact store version: UTC fit time, then the first hex digits "
            "of the training-data fingerprint)."
        ),
    ),
    "scored_at": pa.Column(pl.Datetime("us"), nullable=False, description="When the row was scored (UTC, naive)."),
}


def _output_schema(table: str, description: str, columns: dict[str, pa.Column]) -> pa.DataFrameSchema:
    """An ML output table ``ml.<table>``: the scored customer, ``columns``, then the model metadata — nothing else,
    in that order."""
    return pa.DataFrameSchema(
        {ID: _id_column(_CUSTOMER), **columns, **_META},
        name=f"ml.{table}",
        description=description,
        strict=True,
        ordered=True,
    )


# The one description of each ML output table: the contract the asset checks enforce, (customer360.ml.catalog) the
# column schema the Dagster UI shows, and (customer360.ml.outputs_yml) the generated dbt source and table DDL.
OUTPUT_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    schema.name.removeprefix("ml."): schema
    for schema in (
        _output_schema(
            "customer_segments",
            "KMeans segment per customer (label from the centroid profile).",
            {
                "segment_id": pa.Column(
                    pl.Int32,
                    checks=pa.Check.ge(1),
                    nullable=False,
                    description="Fixed position of the segment label (1 = High Value … 8 = Occasional): stable across refits.",
                ),
                "customer_segment": pa.Column(
                    pl.Utf8,
                    nullable=False,
                    checks=pa.Check.str_length(min_value=1),
                    description="k-means segment label from the centroid profile, e.g. High Value, New, Dormant.",
                ),
            },
        ),
        _output_schema(
            "customer_risk_scores",
            "IsolationForest fraud risk per customer.",
            {
                "anomaly_score": _unit(
                    description="IsolationForest anomaly score rescaled to [0, 1]; higher = more unusual."
                ),
                "risk_tier": pa.Column(
                    pl.Utf8,
                    checks=pa.Check.isin(RISK_TIERS),
                    nullable=False,
                    description="high = above the training 99th percentile of anomaly_score, medium = above the 95th.",
                ),
                "top_signals": pa.Column(
                    pl.Utf8,
                    nullable=False,
                    description="Up to three comma-separated fraud features > 1 standard deviation above the mean ('' if none).",
                ),
            },
        ),
        _output_schema(
            "churn_predictions",
            "Calibrated churn probability per customer (> 0.7 = high risk).",
            {
                "churn_probability": _unit(
                    description=(
                        "Calibrated probability of no interaction (completed order, session, payment attempt, message "
                        "opened, ticket) in the label window after the scoring day (window in the materialization's "
                        "horizon_days); > 0.7 = high risk (dbt var churn_probability_threshold)."
                    )
                ),
            },
        ),
        _output_schema(
            "ltv_predictions",
            "Predicted 12-month spend in USD per customer.",
            {
                "predicted_ltv": pa.Column(
                    pl.Float64,
                    checks=pa.Check.ge(0.0),
                    nullable=False,
                    description="Expected completed-order spend over the next 12 months, USD (≥ 0).",
                ),
            },
        ),
    )
}


def contract_failures(schema: pa.DataFrameSchema, df: pl.DataFrame) -> pl.DataFrame:
    """Every failed check of ``df`` against ``schema`` (all checks, lazily): one row per failing value with
    ``column``, ``check``, ``failure_case`` (the value, as text) and ``index`` (the row, null for table-level
    failures such as a missing column). Empty when the frame honours its contract."""
    try:
        schema.validate(df, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases
        if isinstance(fc, pl.DataFrame) and fc.height:
            return fc.select(
                pl.col("column").cast(pl.Utf8),
                pl.col("check").cast(pl.Utf8),
                pl.col("failure_case").cast(pl.Utf8),
                pl.col("index").cast(pl.Int64),
            )
        return _failure_frame([(schema.name, "schema", str(exc), None)])
    except SchemaError as exc:  # pragma: no cover - lazy=True normally aggregates
        return _failure_frame([(schema.name, "schema", str(exc), None)])
    return _failure_frame([])


def _failure_frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"column": pl.Utf8, "check": pl.Utf8, "failure_case": pl.Utf8, "index": pl.Int64}, orient="row"
    )


def summarise_failures(failures: pl.DataFrame, examples: int = 3) -> pl.DataFrame:
    """One row per failed (column, check): how many values failed and a few of them."""
    return failures.group_by("column", "check", maintain_order=True).agg(
        pl.len().alias("failures"),
        pl.col("failure_case").head(examples).alias("examples"),
    )


def validate(schema: pa.DataFrameSchema, df: pl.DataFrame) -> pl.DataFrame:
    """Validate ``df`` (all checks, lazily) and return it; raise :class:`ContractViolation` with the reasons."""
    failures = contract_failures(schema, df)
    if failures.height:
        raise ContractViolation(f"{schema.name} contract violated:\n{_summarise(failures)}")
    return df


def _summarise(failures: pl.DataFrame) -> str:
    return "\n".join(
        f"  - {row['column']} / {row['check']}: {row['failures']} failure(s), e.g. {row['examples']}"
        for row in summarise_failures(failures).iter_rows(named=True)
    )


def validate_feature_table(name: str, df: pl.DataFrame, required: tuple[str, ...]) -> pl.DataFrame:
    return validate(feature_table_schema(f"ml.{name}", required, df.columns), df)


def output_failures(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """The failed checks of an ML output table (empty = the table may be written); see :func:`contract_failures`."""
    return contract_failures(OUTPUT_SCHEMAS[table], df)
