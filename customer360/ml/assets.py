"""Dagster assets of the ML layer (group ``ml``): thin wrappers around the pure fit/score functions.

* ``ml/customer_segments``     ← ``ml/feat_customer_segmentation``            (k-means, labelled segments)
* ``ml/customer_risk_scores``  ← ``ml/feat_fraud_behavior``                    (isolation forest)
* ``ml/churn_predictions`` + ``ml/ltv_predictions`` ← ``staging/stg_*``        (one multi-asset: both models share
  the same point-in-time features, so the staging views are read once; the training cutoffs and the history they
  need only when one of them refits, :mod:`customer360.ml.scoring_inputs`)

Each asset validates its input contract, scores every customer with the saved versioned model and refits only
when the retrain policy says so (config ``refit``, model age, drift, revision; :mod:`customer360.ml.retrain`,
reported as ``refit_reason`` / ``model_age_days`` / ``drift_psi`` metadata), checks its scores
(:mod:`customer360.ml.checks`: the blocking output contract and the WARN quality checks, declared as the asset's
``check_specs``), writes its ``ml.<table>`` through the
``warehouse`` resource only when the contract holds, and reports metrics, class balance, importances, segment
profiles and plots as materialization metadata, with the table's ``dagster/column_schema`` derived from the contract.

:func:`build_ml_assets` takes the code location's :class:`~customer360.settings.Settings`: the artifact store,
the default as-of day, the thread count and the retrain interval are fixed when the code location loads, never
re-read (or re-resolved against a working directory another library changed) inside a run.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field
from threadpoolctl import threadpool_limits

from customer360.catalog import ML, STAGING
from customer360.ml import checks, retrain
from customer360.ml._lazy import lazy_module
from customer360.ml.artifacts import ArtifactStore
from customer360.ml.catalog import column_schema, table_value
from customer360.ml.contracts import FRAUD_FEATURES, SEGMENTATION_FEATURES, validate_feature_table
from customer360.ml.features import (
    CHURN_LTV_FEATURES,
    FRAUD_TABLE,
    HORIZON_DAYS,
    SEGMENTATION_TABLE,
    feature_columns,
    fingerprint,
    read_feature_table,
)
from customer360.ml.scoring_inputs import PointInTimeInputs
from customer360.resources.warehouse import Warehouse
from customer360.settings import Settings, get_settings
from customer360.transform.project_vars import churn_probability_threshold

# The model modules pull in scikit-learn, SciPy and matplotlib (≈ 8 s of imports on this machine): imported on
# first use inside a run, not when the code location loads (BENCHMARKS.md, code-location load).
churn_model = lazy_module("customer360.ml.churn")
fraud_model = lazy_module("customer360.ml.fraud")
ltv_model = lazy_module("customer360.ml.ltv")
plots = lazy_module("customer360.ml.plots")
seg_model = lazy_module("customer360.ml.segmentation")

GROUP = ML
OWNERS = ["team:ml-engineering"]
STAGING_INPUTS = (
    "stg_customers",
    "stg_orders",
    "stg_events",
    "stg_campaigns",
    "stg_support_tickets",
    "stg_transactions",
)

SEGMENTS_KEY = dg.AssetKey([ML, "customer_segments"])
RISK_KEY = dg.AssetKey([ML, "customer_risk_scores"])
CHURN_KEY = dg.AssetKey([ML, "churn_predictions"])
LTV_KEY = dg.AssetKey([ML, "ltv_predictions"])
TABLES = {
    SEGMENTS_KEY: "customer_segments",
    RISK_KEY: "customer_risk_scores",
    CHURN_KEY: "churn_predictions",
    LTV_KEY: "ltv_predictions",
}

_HORIZON_RULE = (
    f"H = {HORIZON_DAYS} days when ≥ {3 * HORIZON_DAYS} days of history precede as_of, else a third of the history "
    "(short demo data); the H used is the materialization's horizon_days"
)
SEGMENTS_DESCRIPTION = (
    "k-means customer segments on ml.feat_customer_segmentation with human labels from centroid profiles "
    "(High Value, Loyal, New, At Risk, Dormant, Bargain Hunter, Engaged Browser, Occasional). k in 4..8 by "
    "silhouette with every segment ≥ 2 %. Writes ml.customer_segments."
)
RISK_DESCRIPTION = (
    "IsolationForest on ml.feat_fraud_behavior → anomaly_score in [0,1], risk_tier (high = top 1 %, medium = "
    "next 4 %, cut points fixed at fit time), top_signals. Writes ml.customer_risk_scores."
)
CHURN_DESCRIPTION = (
    "Calibrated churn probability: no interaction (completed order, session, payment attempt, message opened, "
    f"support ticket) in the H days after the scoring day, from point-in-time features ({_HORIZON_RULE}). The "
    "as_of − H fold is split by customer into a calibration half and a holdout half; fitted on the as_of − 2H fold "
    "+ the calibration half (3-fold cross-validated isotonic calibration), every reported metric (accuracy vs the "
    "majority baseline, balanced accuracy, high-risk precision) on the holdout half; scored as of as_of. "
    f"> {churn_probability_threshold()} = high risk (dbt var churn_probability_threshold). Writes ml.churn_predictions."
)
LTV_DESCRIPTION = (
    "Predicted 12-month spend (USD, ≥ 0): gradient boosting on log1p of the next H days' completed-order spend "
    f"from point-in-time RFM + engagement features ({_HORIZON_RULE}), smearing factor fitted on the calibration "
    "half of the as_of − H fold, metrics on its holdout half, annualised × 365/H. Writes ml.ltv_predictions."
)


class MLConfig(dg.Config):
    refit: bool | None = Field(
        default=None,
        description=(
            "None (default): score with the saved model; refit when none is saved, its revision or feature set "
            "differs from the code's, it is at least C360_ML_RETRAIN_DAYS old, or this run's scores drifted from "
            "its fit's (PSI ≥ the threshold). true: always refit. false: always reuse the latest saved model "
            "(fails if none)."
        ),
    )
    as_of_date: str | None = Field(
        default=None,
        description=(
            "Churn/LTV reference day YYYY-MM-DD; default C360_AS_OF_DATE as read when the code location loaded, "
            "else the current UTC date."
        ),
    )


def _as_of(config: MLConfig, settings: Settings) -> date | None:
    raw = config.as_of_date or settings.as_of_date
    return date.fromisoformat(raw) if raw else None


def _stamp(df: pl.DataFrame, version: str) -> pl.DataFrame:
    now = datetime.now(UTC).replace(tzinfo=None)
    return df.with_columns(
        pl.lit(version).alias("model_version"), pl.lit(now).cast(pl.Datetime("us")).alias("scored_at")
    )


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v
    return out


def _float_md(metrics: dict[str, Any]) -> dict[str, Any]:
    """Scalar metrics as Dagster metadata (floats rounded, dicts skipped)."""
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        if isinstance(v, (bool, int)):
            out[k] = v
        elif isinstance(v, float):
            out[k] = round(v, 4) if np.isfinite(v) else dg.MetadataValue.text("nan")
    return out


def _importance_table(imp: dict[str, float], top: int = 15) -> dg.TableMetadataValue:
    items = list(imp.items())[:top]
    return table_value(
        pl.DataFrame(
            {"feature": [k for k, _ in items], "importance": [v for _, v in items]},
            schema={"feature": pl.Utf8, "importance": pl.Float64},
        ),
        digits=4,
    )


def _plot(title: str, b64: str) -> dg.MarkdownMetadataValue:
    return dg.MetadataValue.md(plots.md_image(title, b64))


def _measured(reused: bool, version: str, what: str) -> str:
    return f"{what} when model {version} was fitted (reused)" if reused else f"{what} of this fit ({version})"


def _policy_md(decision: retrain.RetrainDecision) -> dict[str, Any]:
    """The retrain policy's figures (model age, drift against its fit, threshold, why it refit or not)."""
    out = decision.metadata(fitted=decision.refit)
    if out["drift_psi"] is None:
        out["drift_psi"] = dg.MetadataValue.null()
    return out


def _training_window(model: Any, as_of: date) -> dict[str, Any]:
    return {
        "train_cutoff": model.train_cutoff,
        "validation_cutoff": model.validation_cutoff,
        "horizon_days": model.horizon_days,
        "as_of": as_of.isoformat(),
    }


def _definition_metadata(table: str) -> dict[str, Any]:
    return {"dagster/table_name": f"ml.{table}", "dagster/column_schema": column_schema(table)}


def publish(
    context: dg.AssetExecutionContext, warehouse: Warehouse, key: dg.AssetKey, result: dict[str, Any]
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Check the scores of ``result`` and write them if the blocking contract holds.

    Contract ok: ``ml.<table>`` is replaced and one materialization carries every check result. Contract
    violated: nothing is written (the last good table stays), only the check results are reported, and Dagster
    fails the step on the failed blocking check, so nothing downstream runs."""
    table = TABLES[key]
    scores = result.pop("scores")
    quality = checks.quality_results(table, result.pop("quality_metrics"), key, result.pop("measured_on"))
    contract = checks.contract_result(table, scores, key)
    selected = context.selected_asset_check_keys
    results = [r for r in (contract, *quality) if dg.AssetCheckKey(key, r.check_name) in selected]
    if not contract.passed:
        context.log.error(f"{key.to_user_string()}: {contract.description}")
        yield from results
        return
    rows = warehouse.write_table(ML, table, scores)
    yield dg.MaterializeResult(
        asset_key=key,
        metadata={"dagster/row_count": rows, "dagster/column_schema": column_schema(table), **result},
        check_results=results,
    )


# ------------------------------------------------------------------------------------- the retrain policy
class _Refit(NamedTuple):
    """What a refit produced: the model, its scores of this run, the manifest fields particular to the model, the
    fit plots saved with it, and whatever else the caller wants back from the fit (quality, holdout metrics)."""

    model: Any
    scored: pl.DataFrame
    manifest: dict[str, Any]
    plots: dict[str, bytes]
    extra: Any = None


class _Scoring(NamedTuple):
    """A model for this run, saved (reused) or new, and what it scored; ``refit`` is None when it was reused."""

    model: Any
    version: str
    scored: pl.DataFrame
    decision: Any  # retrain.RetrainDecision
    refit: _Refit | None


def _reuse_or_refit(
    store: ArtifactStore,
    table: str,
    refit: bool | None,
    retrain_days: int,
    *,
    revision: int,
    features: Sequence[str],
    score: Callable[[Any], pl.DataFrame],
    fit: Callable[[], _Refit],
    drift_column: str,
    drift_edges: Sequence[float] | None = None,
    data_fingerprint: Callable[[], str],
    as_of: date | None = None,
) -> _Scoring:
    """The retrain policy of every model: score with the saved model unless a refit is due (forced, age, revision,
    features) or the scores drifted from the saved reference; a refit is saved with its manifest (revision, features,
    the scores' drift reference, the training data's fingerprint, plus the model's own fields) and its plots."""
    decision = retrain.before_scoring(
        store, table, refit, revision=revision, features=features, retrain_days=retrain_days, as_of=as_of
    )
    if not decision.refit:
        model, version = decision.loaded.model, decision.loaded.version
        scored = score(model)
        decision = retrain.measure_drift(decision, scored[drift_column])
        if not decision.refit:
            return _Scoring(model, version, scored, decision, None)
    new = fit()
    manifest = {
        "revision": revision,
        "features": new.model.features,
        **new.manifest,
        "drift_reference": retrain.drift_reference(new.scored[drift_column], edges=drift_edges),
        "data_fingerprint": data_fingerprint(),
    }
    version = store.save(table, new.model, manifest, plots=new.plots or None)
    return _Scoring(new.model, version, new.scored, decision, new)


# ------------------------------------------------------------------------------------------ segmentation
def _run_segments_impl(
    features: pl.DataFrame, store: ArtifactStore, refit: bool | None, retrain_days: int
) -> dict[str, Any]:
    t0 = time.perf_counter()

    def fit() -> _Refit:
        model = seg_model.fit_segmentation(features)
        assigned = seg_model.assign_segments(model, features)
        quality = seg_model.segment_quality(features, assigned, model.features)
        manifest = {
            "params": {**model.params, "k": model.k},
            "training_window": {"table": f"ml.{SEGMENTATION_TABLE}", "rows": features.height},
            "metrics": {**quality, "k_selection": model.selection},
            "labels": {str(k): v for k, v in model.cluster_labels.items()},
        }
        return _Refit(model, assigned, manifest, {}, extra=quality)

    run = _reuse_or_refit(
        store,
        "customer_segments",
        refit,
        retrain_days,
        revision=seg_model.REVISION,
        features=feature_columns(features),
        score=lambda model: seg_model.assign_segments(model, features),
        fit=fit,
        drift_column="segment_id",
        drift_edges=seg_model.DRIFT_EDGES,
        data_fingerprint=lambda: fingerprint(features),
    )
    model, version, assigned, decision = run.model, run.version, run.scored, run.decision
    quality = run.refit.extra if run.refit else seg_model.segment_quality(features, assigned, model.features)
    profile = seg_model.segment_profile(features, assigned, model.features)
    selection = pl.DataFrame(model.selection) if model.selection else pl.DataFrame()
    return {
        "scores": _stamp(assigned, version),
        "quality_metrics": quality,
        "measured_on": f"this run's assignment of {assigned.height} customers by model {version}",
        "model_version": version,
        **_policy_md(decision),
        "k": model.k,
        "algorithm": model.params.get("algorithm", ""),
        "silhouette": round(quality["silhouette"], 4),
        "min_segment_share": round(quality["min_segment_share"], 4),
        "segment_sizes": table_value(profile.select("segment_id", "customer_segment", "customers", "share")),
        "segment_profiles": table_value(profile),
        "k_selection": table_value(selection) if selection.height else dg.MetadataValue.text("(reused model)"),
        "segment_profile_plot": _plot("Segment profile", plots.segment_profile_plot(profile)),
        "seconds": round(time.perf_counter() - t0, 2),
    }


# ---------------------------------------------------------------------------------------------- fraud
def _run_risk_impl(
    features: pl.DataFrame, store: ArtifactStore, refit: bool | None, retrain_days: int, *, threads: int = 1
) -> dict[str, Any]:
    t0 = time.perf_counter()

    def fit() -> _Refit:
        model, scored = fraud_model.fit_and_score_fraud(features, n_jobs=threads)
        manifest = {
            "params": model.params,
            "training_window": {"table": f"ml.{FRAUD_TABLE}", "rows": features.height},
            "metrics": {"high_cut": model.high_cut, "medium_cut": model.medium_cut},
        }
        return _Refit(model, scored, manifest, {})

    run = _reuse_or_refit(
        store,
        "customer_risk_scores",
        refit,
        retrain_days,
        revision=fraud_model.REVISION,
        features=feature_columns(features),
        score=lambda model: fraud_model.score_fraud(model, features),
        fit=fit,
        drift_column="anomaly_score",
        data_fingerprint=lambda: fingerprint(features),
    )
    model, version, scored, decision = run.model, run.version, run.scored, run.decision
    tiers = scored["risk_tier"].value_counts().sort("risk_tier")
    importance = fraud_model.signal_importance(model, features, scored)
    scores = scored["anomaly_score"].to_numpy()
    high_share = float((scored["risk_tier"] == "high").mean()) if scored.height else float("nan")
    return {
        "scores": _stamp(scored, version),
        "quality_metrics": {"high_share": high_share},
        "measured_on": f"this run's {scored.height} customers scored by model {version}",
        "model_version": version,
        **_policy_md(decision),
        "high_cut": round(model.high_cut, 4),
        "medium_cut": round(model.medium_cut, 4),
        "high_share": round(high_share, 4),
        "risk_tiers": table_value(tiers),
        "signal_importance": table_value(importance),
        "score_distribution": _plot(
            "Anomaly score",
            plots.histogram_plot(
                scores,
                "Anomaly score (tier cut points fixed at fit time)",
                "anomaly_score",
                {"medium": model.medium_cut, "high": model.high_cut},
            ),
        ),
        "seconds": round(time.perf_counter() - t0, 2),
    }


# ------------------------------------------------------------------------------------------ churn + LTV
def _horizon_text(h: int) -> str:
    if h == HORIZON_DAYS:
        return f"{h} days (≥ {3 * HORIZON_DAYS} days of history before as_of)"
    return f"{h} days: shortened from {HORIZON_DAYS} to a third of the history (< {3 * HORIZON_DAYS} days before as_of)"


class _Fitted(NamedTuple):
    """A supervised model for this run: the saved one (reused) or a new fit, and what it scored."""

    model: Any
    version: str
    scored: pl.DataFrame
    metrics: dict[str, Any]
    fit_plots: dict[str, bytes]
    decision: Any  # retrain.RetrainDecision
    as_of: Any
    training_sample: str  # the customers the model was trained on (its manifest's training window)


def _fit_or_reuse(
    inputs: PointInTimeInputs,
    store: ArtifactStore,
    refit: bool | None,
    retrain_days: int,
    *,
    table: str,
    model_module: Any,
    fit_name: str,
    score: str,
    output: str,
    plots_of: Callable[[Any, Any], dict[str, bytes]],
) -> _Fitted:
    """Churn and LTV under :func:`_reuse_or_refit`: they score the current features; a refit trains on the
    point-in-time frames (computed only then) and keeps its holdout metrics and fit plots."""
    current, as_of = inputs.current(), inputs.as_of
    data = None

    def fit() -> _Refit:
        nonlocal data
        data = model_module.training_frames(
            inputs.training_frames(), as_of, inputs.horizon(), features_at=inputs.features_at
        )
        model, metrics, holdout = getattr(model_module, fit_name)(data)
        sample = inputs.training_sample
        manifest = {
            "params": model.params,
            "training_window": {
                **_training_window(model, as_of),
                "training_sample": sample.description() if sample else "every customer (frames given)",
                "train_rows": data.train.height,
            },
            "metrics": _json_safe(metrics),
        }
        return _Refit(model, getattr(model_module, score)(model, current), manifest, plots_of(model, holdout), metrics)

    run = _reuse_or_refit(
        store,
        table,
        refit,
        retrain_days,
        revision=model_module.REVISION,
        features=CHURN_LTV_FEATURES,
        score=lambda model: getattr(model_module, score)(model, current),
        fit=fit,
        drift_column=output,
        data_fingerprint=lambda: fingerprint(data.train, data.validation),
        as_of=as_of,
    )
    model, version, scored, decision = run.model, run.version, run.scored, run.decision
    if run.refit:
        metrics, fit_plots = run.refit.extra, run.refit.plots
    else:
        metrics = decision.loaded.manifest.get("metrics", {})
        fit_plots = store.plots(table, version)
    window = (run.refit.manifest if run.refit else decision.loaded.manifest).get("training_window", {})
    sample = window.get("training_sample", "not recorded (model saved before training samples)")
    return _Fitted(model, version, scored, metrics, fit_plots, decision, as_of, sample)


def _churn_plots(model: Any, hold: dict[str, Any]) -> dict[str, bytes]:
    fit_plots = {}
    if len(np.unique(hold["y"])) == 2:
        fit_plots["roc_pr_curve"] = plots.roc_pr_plot(hold["y"], hold["p"])
        fit_plots["calibration_curve"] = plots.calibration_plot(hold["y"], hold["p"], churn_model.CALIBRATION_BINS)
    return fit_plots


def _ltv_plots(model: Any, val: dict[str, Any]) -> dict[str, bytes]:
    return {
        "predicted_vs_actual": plots.scatter_plot(
            val["actual"],
            val["predicted"],
            f"Holdout: predicted vs realised {model.horizon_days}-day spend (USD)",
            "realised",
            "predicted",
        )
    }


# what differs between the two supervised models in _fit_or_reuse; the fit/score functions are named, not looked up,
# so that the model modules (and sklearn) stay unimported until a step runs
_CHURN = dict(
    table="churn_predictions",
    model_module=churn_model,
    fit_name="fit_churn",
    score="score_churn",
    output="churn_probability",
    plots_of=_churn_plots,
)
_LTV = dict(
    table="ltv_predictions",
    model_module=ltv_model,
    fit_name="fit_ltv",
    score="score_ltv",
    output="predicted_ltv",
    plots_of=_ltv_plots,
)


def _supervised_md(f: _Fitted) -> dict[str, Any]:
    """What churn and LTV report alike: the scores, the quality measured (on the holdout when it refit), the model
    version and retrain policy, and the point-in-time cutoffs and horizon."""
    h = f.model.horizon_days
    return {
        "scores": _stamp(f.scored, f.version),
        "quality_metrics": f.metrics,
        "measured_on": _measured(not f.decision.refit, f.version, "holdout half of the validation fold"),
        "model_version": f.version,
        **_policy_md(f.decision),
        "as_of": f.as_of.isoformat(),
        "train_cutoff": f.model.train_cutoff,
        "validation_cutoff": f.model.validation_cutoff,
        "horizon_days": h,
        "horizon": _horizon_text(h),
        "training_sample": f.training_sample,
    }


def _run_churn_impl(
    inputs: PointInTimeInputs, store: ArtifactStore, refit: bool | None, retrain_days: int
) -> dict[str, Any]:
    t0 = time.perf_counter()
    fitted = _fit_or_reuse(inputs, store, refit, retrain_days, **_CHURN)
    model, scored, metrics = fitted.model, fitted.scored, fitted.metrics
    p = scored["churn_probability"].to_numpy()
    h = model.horizon_days
    return {
        **_supervised_md(fitted),
        "label": f"churned = no interaction (completed order, session, payment attempt, message opened, ticket) in the {h} days after the cutoff",
        **_float_md(metrics),
        "class_balance": table_value(
            pl.DataFrame(
                {
                    "fold": ["fit (train fold + calibration half)", "calibration half", "holdout"],
                    "rows": [
                        metrics.get("train_rows", 0),
                        metrics.get("calibration_rows", 0),
                        metrics.get("holdout_rows", 0),
                    ],
                    "churn_rate": [metrics.get("train_churn_rate"), None, metrics.get("holdout_churn_rate")],
                },
                schema={"fold": pl.Utf8, "rows": pl.Int64, "churn_rate": pl.Float64},
            )
        ),
        "feature_importance": _importance_table(metrics.get("feature_importance", {})),
        "scored_high_risk_share": round(float(churn_model.high_risk(p).mean()), 4) if len(p) else 0.0,
        "scored_mean_probability": round(float(p.mean()), 4) if len(p) else 0.0,
        **{name: _plot(name, png) for name, png in fitted.fit_plots.items()},
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _run_ltv_impl(
    inputs: PointInTimeInputs, store: ArtifactStore, refit: bool | None, retrain_days: int
) -> dict[str, Any]:
    t0 = time.perf_counter()
    fitted = _fit_or_reuse(inputs, store, refit, retrain_days, **_LTV)
    model, scored, metrics = fitted.model, fitted.scored, fitted.metrics
    v = scored["predicted_ltv"]
    h = model.horizon_days
    return {
        **_supervised_md(fitted),
        "target": f"completed-order spend (USD) in the {h} days after the cutoff; predicted_ltv = prediction × 365/{h}",
        **_float_md(metrics),
        "feature_importance": _importance_table(metrics.get("feature_importance", {})),
        "predicted_ltv_total": round(float(v.sum()), 2),
        "predicted_ltv_median": round(float(v.median() or 0.0), 2),
        "predicted_ltv_p90": round(float(v.quantile(0.9) or 0.0), 2),
        **{name: _plot(name, png) for name, png in fitted.fit_plots.items()},
        "seconds": round(time.perf_counter() - t0, 2),
    }


# what every ML asset (and spec) says of itself
_ML_ASSET_ATTRS: dict[str, Any] = {
    "group_name": GROUP,
    "owners": OWNERS,
    "kinds": {"python", "scikitlearn", "polars"},
    "tags": {"layer": ML},
}


def _ml_asset(key: dg.AssetKey, table: str, deps: list[dg.AssetKey], description: str) -> Callable:
    """The decorator of every ML asset: group, owners, kinds and the warehouse pool alike; its checks from
    ``ml.checks``; not materialized when the blocking output contract fails (``output_required=False``)."""
    return dg.asset(
        key=key,
        deps=deps,
        **_ML_ASSET_ATTRS,
        pool="warehouse",
        description=description,
        metadata=_definition_metadata(table),
        check_specs=checks.check_specs(table, key),
        output_required=False,
    )


def build_ml_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """The ML assets, bound to ``settings`` (artifact store URL, default as-of day, threads) once, at load."""
    artifacts_url, threads, retrain_days = settings.artifacts_url, settings.ml_threads, settings.ml_retrain_days

    def store() -> ArtifactStore:
        return ArtifactStore.from_url(artifacts_url)

    @_ml_asset(SEGMENTS_KEY, "customer_segments", [dg.AssetKey([ML, SEGMENTATION_TABLE])], SEGMENTS_DESCRIPTION)
    def customer_segments(context: dg.AssetExecutionContext, config: MLConfig, warehouse: dg.ResourceParam[Warehouse]):
        features = validate_feature_table(
            SEGMENTATION_TABLE, read_feature_table(warehouse, SEGMENTATION_TABLE), SEGMENTATION_FEATURES
        )
        result = run_segments(features, store(), config.refit, threads=threads, retrain_days=retrain_days)
        yield from publish(context, warehouse, SEGMENTS_KEY, result)

    @_ml_asset(RISK_KEY, "customer_risk_scores", [dg.AssetKey([ML, FRAUD_TABLE])], RISK_DESCRIPTION)
    def customer_risk_scores(
        context: dg.AssetExecutionContext, config: MLConfig, warehouse: dg.ResourceParam[Warehouse]
    ):
        features = validate_feature_table(FRAUD_TABLE, read_feature_table(warehouse, FRAUD_TABLE), FRAUD_FEATURES)
        result = run_risk(features, store(), config.refit, threads=threads, retrain_days=retrain_days)
        yield from publish(context, warehouse, RISK_KEY, result)

    def _spec(key: dg.AssetKey, description: str) -> dg.AssetSpec:
        return dg.AssetSpec(
            key,
            deps=[dg.AssetKey([STAGING, s]) for s in STAGING_INPUTS],
            **_ML_ASSET_ATTRS,
            skippable=True,
            description=description,
            metadata=_definition_metadata(TABLES[key]),
        )

    @dg.multi_asset(
        specs=[_spec(CHURN_KEY, CHURN_DESCRIPTION), _spec(LTV_KEY, LTV_DESCRIPTION)],
        check_specs=[
            *checks.check_specs("churn_predictions", CHURN_KEY),
            *checks.check_specs("ltv_predictions", LTV_KEY),
        ],
        can_subset=True,
        pool="warehouse",
    )
    def churn_and_ltv_predictions(
        context: dg.AssetExecutionContext, config: MLConfig, warehouse: dg.ResourceParam[Warehouse]
    ):
        inputs = PointInTimeInputs(
            _as_of(config, settings),
            warehouse=warehouse,
            batch_customers=settings.ml_scoring_batch_customers,
            training_customers=settings.ml_training_customers,
        )
        context.log.info(f"churn/LTV reference day (effective as_of): {inputs.as_of}")
        models = store()
        selected = context.selected_asset_keys
        for key, run in ((CHURN_KEY, run_churn), (LTV_KEY, run_ltv)):
            if key not in selected:
                continue
            result = run(inputs, models, config.refit, threads=threads, retrain_days=retrain_days)
            context.log.info(f"{key.to_user_string()}: {result['refit_reason']}")
            if result["horizon_days"] != HORIZON_DAYS:
                context.log.warning(
                    f"short history: churn/LTV window is {result['horizon_days']} days instead of {HORIZON_DAYS}"
                )
            yield from publish(context, warehouse, key, result)
        context.log.info(
            "point-in-time features computed at "
            + ", ".join(c.isoformat() for c in inputs.cutoffs_computed)
            + ("" if inputs.history_loaded else " (scoring only: the training history was not read)")
        )

    return [customer_segments, customer_risk_scores, churn_and_ltv_predictions]


def ml_assets(settings: Settings | None = None) -> list[dg.AssetsDefinition]:
    """The ML assets (they need the ``warehouse`` resource); ``settings`` default: the environment, read now."""
    return build_ml_assets(settings or get_settings())


def run_segments(
    features: pl.DataFrame, store: ArtifactStore, refit: bool | None, *, retrain_days: int, threads: int = 1
) -> dict[str, Any]:
    with threadpool_limits(limits=threads):
        return _run_segments_impl(features, store, refit, retrain_days)


def run_risk(
    features: pl.DataFrame, store: ArtifactStore, refit: bool | None, *, retrain_days: int, threads: int = 1
) -> dict[str, Any]:
    with threadpool_limits(limits=threads):
        return _run_risk_impl(features, store, refit, retrain_days, threads=threads)


def run_churn(
    inputs: PointInTimeInputs, store: ArtifactStore, refit: bool | None, *, retrain_days: int, threads: int = 1
) -> dict[str, Any]:
    with threadpool_limits(limits=threads):
        return _run_churn_impl(inputs, store, refit, retrain_days)


def run_ltv(
    inputs: PointInTimeInputs, store: ArtifactStore, refit: bool | None, *, retrain_days: int, threads: int = 1
) -> dict[str, Any]:
    with threadpool_limits(limits=threads):
        return _run_ltv_impl(inputs, store, refit, retrain_days)
