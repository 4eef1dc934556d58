"""Asset checks of the ML scores: the output contract (blocking) and the quality thresholds (WARN).

* ``output_contract`` — blocking, ERROR: the scores honour the table's pandera output contract (columns and
  types, ``customer_id`` unique and not null, probabilities and scores in [0, 1], tiers from the enum, LTV ≥ 0…).
  When it fails the asset does not write the table (the last good version stays), the check's metadata lists the
  failed checks and failing rows, and the run stops before anything downstream (the marts) reads the table.
* quality checks — non-blocking, WARN: one per threshold of :mod:`customer360.ml.thresholds` (segment share, fraud
  high-tier share, churn holdout AUC and calibration, LTV against the naive baseline and holdout bias). They
  report, they never stop the scores.

The assets declare :func:`check_specs` and yield the results built here with their materialization.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl

from customer360.ml import thresholds as T
from customer360.ml.catalog import contract_summary, table_value
from customer360.ml.contracts import output_failures, summarise_failures
from customer360.ml.features import ID

CONTRACT_CHECK = "output_contract"
FAILING_ROWS_SHOWN = 20  # failing rows copied into the check's metadata


@dataclass(frozen=True)
class QualityCheck:
    """A WARN check on one metric of a materialization.

    ``bounds(metrics)`` gives the threshold(s) (most are constants; the calibration allowance depends on the
    holdout size), ``passes(value, bounds)`` decides, ``rule`` says it in words, ``reason`` why."""

    name: str
    metric: str
    rule: str
    bounds: Callable[[Mapping[str, Any]], dict[str, float]]
    passes: Callable[[float, dict[str, float]], bool]
    reason: str


def _calibration_bounds(metrics: Mapping[str, Any]) -> dict[str, float]:
    n = metrics.get("holdout_rows") or 0
    bins = metrics.get("calibration_bins") or 10
    sigma = math.sqrt(0.25 * bins / n) if n else 0.0
    noise = sigma * (math.sqrt(2 / math.pi) + T.CALIBRATION_NOISE_Z * math.sqrt((1 - 2 / math.pi) / bins))
    return {"threshold": round(T.MAX_CHURN_CALIBRATION_ERROR + noise, 4)}


def _threshold(value: float) -> Callable[[Mapping[str, Any]], dict[str, float]]:
    return lambda metrics: {"threshold": value}


QUALITY: dict[str, tuple[QualityCheck, ...]] = {
    "customer_segments": (
        QualityCheck(
            "min_segment_share",
            "min_segment_share",
            f"every segment holds ≥ {T.MIN_SEGMENT_SHARE:.0%} of the customers",
            _threshold(T.MIN_SEGMENT_SHARE),
            lambda v, b: v >= b["threshold"],
            T.reason("MIN_SEGMENT_SHARE"),
        ),
    ),
    "customer_risk_scores": (
        QualityCheck(
            "high_tier_share",
            "high_share",
            f"the high tier holds {T.HIGH_TIER_SHARE_BAND[0]:.1%}–{T.HIGH_TIER_SHARE_BAND[1]:.1%} of the customers",
            lambda metrics: {"min_share": T.HIGH_TIER_SHARE_BAND[0], "max_share": T.HIGH_TIER_SHARE_BAND[1]},
            lambda v, b: b["min_share"] <= v <= b["max_share"],
            T.reason("HIGH_TIER_SHARE_BAND"),
        ),
    ),
    "churn_predictions": (
        QualityCheck(
            "holdout_roc_auc",
            "holdout_roc_auc",
            f"holdout ROC-AUC ≥ {T.MIN_CHURN_HOLDOUT_AUC}",
            _threshold(T.MIN_CHURN_HOLDOUT_AUC),
            lambda v, b: v >= b["threshold"],
            T.reason("MIN_CHURN_HOLDOUT_AUC"),
        ),
        QualityCheck(
            "holdout_calibration",
            "holdout_calibration_error",
            f"holdout expected calibration error ≤ {T.MAX_CHURN_CALIBRATION_ERROR} + sampling allowance",
            _calibration_bounds,
            lambda v, b: v <= b["threshold"],
            T.reason("MAX_CHURN_CALIBRATION_ERROR") + " " + T.reason("CALIBRATION_NOISE_Z"),
        ),
    ),
    "ltv_predictions": (
        QualityCheck(
            "beats_naive_baseline",
            "holdout_rmse_vs_naive",
            f"holdout RMSE / naive-baseline RMSE < {T.MAX_LTV_RMSE_VS_NAIVE:g}",
            _threshold(T.MAX_LTV_RMSE_VS_NAIVE),
            lambda v, b: v < b["threshold"],
            T.reason("MAX_LTV_RMSE_VS_NAIVE"),
        ),
        QualityCheck(
            "holdout_bias",
            "holdout_bias",
            f"|mean predicted / mean realised − 1| on the holdout ≤ {T.MAX_LTV_HOLDOUT_BIAS:.0%}",
            _threshold(T.MAX_LTV_HOLDOUT_BIAS),
            lambda v, b: abs(v) <= b["threshold"],
            T.reason("MAX_LTV_HOLDOUT_BIAS"),
        ),
    ),
}


def check_specs(table: str, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The checks of ``ml.<table>`` (asset ``key``): the blocking output contract, then the quality checks."""
    specs = [
        dg.AssetCheckSpec(
            CONTRACT_CHECK,
            asset=key,
            blocking=True,
            description=(
                f"Blocking: the scores honour the ml.{table} contract — {contract_summary(table)}; strict column "
                "set and order. On failure the table is not written and nothing downstream runs."
            ),
        )
    ]
    specs += [
        dg.AssetCheckSpec(q.name, asset=key, description=f"WARN unless {q.rule}. {q.reason}") for q in QUALITY[table]
    ]
    return specs


def contract_result(table: str, scores: pl.DataFrame, key: dg.AssetKey) -> dg.AssetCheckResult:
    """The blocking ``output_contract`` result: every failed check and the first failing rows as metadata."""
    failures = output_failures(table, scores)
    if failures.height == 0:
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=CONTRACT_CHECK,
            passed=True,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"all {scores.height} rows honour the ml.{table} contract",
            metadata={"rows_checked": scores.height},
        )
    summary = summarise_failures(failures).with_columns(pl.col("examples").list.join(", "))
    rows = failures["index"].drop_nulls().unique().sort()
    failing = (
        scores.with_row_index("row").filter(pl.col("row").is_in(rows.head(FAILING_ROWS_SHOWN).implode()))
        if rows.len()
        else pl.DataFrame()
    )
    described = "; ".join(
        f"{r['column']} {r['check']}: {r['failures']} failure(s), e.g. {r['examples']}"
        for r in summary.iter_rows(named=True)
    )
    metadata: dict[str, Any] = {
        "rows_checked": scores.height,
        "failing_rows": rows.len(),
        "failed_checks": summary.height,
        "failures": table_value(summary),
    }
    if failing.height:
        metadata["failing_rows_sample"] = table_value(failing)
        if ID in failing.columns:
            metadata["failing_customer_ids"] = dg.MetadataValue.json([str(v) for v in failing[ID].to_list()])
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=CONTRACT_CHECK,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"ml.{table} contract violated, table not written: {described}"[:2000],
        metadata=metadata,
    )


def quality_results(
    table: str, metrics: Mapping[str, Any], key: dg.AssetKey, measured: str
) -> list[dg.AssetCheckResult]:
    """WARN results of the quality checks of ``ml.<table>`` from ``metrics``; ``measured`` says on what and when
    the metrics were measured (e.g. the fit of a reused model)."""
    out = []
    for q in QUALITY[table]:
        value = metrics.get(q.metric)
        bound = q.bounds(metrics)
        measurable = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not measurable:
            passed, text = False, f"{q.metric} not measured ({measured}): cannot confirm that {q.rule}"
        else:
            passed = q.passes(float(value), bound)
            text = f"{q.metric} = {value:.4g}: {'ok' if passed else 'NOT ok'}, want {q.rule} ({measured})"
        out.append(
            dg.AssetCheckResult(
                asset_key=key,
                check_name=q.name,
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=text,
                metadata={
                    q.metric: round(float(value), 4) if measurable else dg.MetadataValue.text("not measured"),
                    **bound,
                    "measured_on": measured,
                },
            )
        )
    return out
