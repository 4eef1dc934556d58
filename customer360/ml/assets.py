"""Dagster assets of the ML layer (group ``ml``): thin wrappers around the pure fit/score functions.

* ``ml/customer_segments``     ← ``ml/feat_customer_segmentation``            (k-means, labelled segments)
* ``ml/customer_risk_scores``  ← ``ml/feat_fraud_behavior``                    (isolation forest)
* ``ml/churn_predictions`` + ``ml/ltv_predictions`` ← ``staging/stg_*``        (one multi-asset: both models share
  the same point-in-time features at the same three cutoffs, so the staging views are read once)

Each asset validates its input and output contracts, fits or reuses a versioned model (config ``refit``; see
:mod:`customer360.ml.artifacts`), writes its ``ml.<table>`` through the ``warehouse`` resource and reports
metrics, class balance, importances, segment profiles and plots as materialization metadata.
"""


import time
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
from threadpoolctl import threadpool_limits
import numpy as np
import polars as pl
from pydantic import Field

from customer360.ml._lazy import lazy_module
from customer360.ml.artifacts import ArtifactStore
from customer360.ml.contracts import (
    FRAUD_FEATURES,
    SEGMENTATION_FEATURES,
    churn_ltv_features_schema,
    validate,
    validate_feature_table,
    validate_output,
)
from customer360.ml.features import (
    HORIZON_DAYS,
    choose_horizon,
    ml_threads,
    FRAUD_TABLE,
    SourceFrames,
    ID,
    SEGMENTATION_TABLE,
    effective_as_of,
    fingerprint,
    load_source_frames,
    point_in_time_features,
    read_feature_table,
)
from customer360.resources.warehouse import WarehouseResource
from customer360.settings import get_settings

# The model modules pull in scikit-learn, SciPy and matplotlib (≈ 8 s of imports on this machine): imported on
# first use inside a run, not when the code location loads (BENCHMARKS.md, code-location load).
churn_model = lazy_module("customer360.ml.churn")
fraud_model = lazy_module("customer360.ml.fraud")
ltv_model = lazy_module("customer360.ml.ltv")
plots = lazy_module("customer360.ml.plots")
seg_model = lazy_module("customer360.ml.segmentation")

GROUP = "ml"
OWNERS = ["team:ml-engineering"]
STAGING_INPUTS = ("stg_customers", "stg_orders", "stg_events", "stg_campaigns", "stg_support_tickets", "stg_transactions")

SEGMENTS_KEY = dg.AssetKey(["ml", "customer_segments"])
RISK_KEY = dg.AssetKey(["ml", "customer_risk_scores"])
CHURN_KEY = dg.AssetKey(["ml", "churn_predictions"])
LTV_KEY = dg.AssetKey(["ml", "ltv_predictions"])


class MLConfig(dg.Config):
    refit: bool | None = Field(
        default=None,
        description=(
            "None (default): refit when the training data's fingerprint differs from the latest saved model's, "
            "else reuse it. true: always refit. false: always reuse the latest saved model (fails if none)."
        ),
    )
    as_of_date: str | None = Field(
        default=None,
        description="Churn/LTV reference day YYYY-MM-DD; default C360_AS_OF_DATE or the current UTC date.",
    )


def _artifacts() -> ArtifactStore:
    return ArtifactStore.from_url(get_settings().artifacts_url)


def _as_of(config: MLConfig) -> date | None:
    raw = config.as_of_date or get_settings().as_of_date
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
        if isinstance(v, bool) or isinstance(v, int):
            out[k] = v
        elif isinstance(v, float):
            out[k] = round(v, 4) if np.isfinite(v) else dg.MetadataValue.text("nan")
    return out


def _importance_md(imp: dict[str, float], top: int = 15) -> str:
    items = list(imp.items())[:top]
    return plots.md_table(pl.DataFrame({"feature": [k for k, _ in items], "importance": [v for _, v in items]}))


# ------------------------------------------------------------------------------------------ segmentation
@dg.asset(
    key=SEGMENTS_KEY,
    group_name=GROUP,
    deps=[dg.AssetKey(["ml", SEGMENTATION_TABLE])],
    owners=OWNERS,
    kinds={"python", "scikitlearn", "polars"},
    tags={"layer": "ml"},
    pool="warehouse",
    description=(
        "k-means customer segments on ml.feat_customer_segmentation with human labels from centroid profiles "
        "(High Value, Loyal, New, At Risk, Dormant, Bargain Hunter, Engaged Browser, Occasional). k in 4..8 by "
        "silhouette with every segment ≥ 2 %. Writes ml.customer_segments."
    ),
    metadata={"dagster/table_name": "ml.customer_segments"},
)
def customer_segments(
    context: dg.AssetExecutionContext, config: MLConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    features = validate_feature_table(
        SEGMENTATION_TABLE, read_feature_table(warehouse, SEGMENTATION_TABLE), SEGMENTATION_FEATURES
    )
    result = run_segments(features, _artifacts(), config.refit)
    rows = warehouse.write_table("ml", "customer_segments", result.pop("scores"))
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, **result})


def _run_segments_impl(features: pl.DataFrame, store: ArtifactStore, refit: bool | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    fp = fingerprint(features)
    loaded = store.reusable("customer_segments", fp, refit)
    if loaded is None:
        model = seg_model.fit_segmentation(features)
        assigned = seg_model.assign_segments(model, features)
        quality = seg_model.segment_quality(features, assigned, model.features)
        version = store.save(
            "customer_segments",
            model,
            {
                "features": model.features,
                "params": {**model.params, "k": model.k},
                "training_window": {"table": f"ml.{SEGMENTATION_TABLE}", "rows": features.height},
                "metrics": {**quality, "k_selection": model.selection},
                "labels": {str(k): v for k, v in model.cluster_labels.items()},
                "data_fingerprint": fp,
            },
        )
        reused = False
    else:
        model, version = loaded.model, loaded.version
        assigned = seg_model.assign_segments(model, features)
        quality = seg_model.segment_quality(features, assigned, model.features)
        reused = True
    out = validate_output("customer_segments", _stamp(assigned, version))
    profile = seg_model.segment_profile(features, assigned, model.features)
    selection = pl.DataFrame(model.selection) if model.selection else pl.DataFrame()
    return {
        "scores": out,
        "model_version": version,
        "reused_model": reused,
        "k": model.k,
        "algorithm": model.params.get("algorithm", ""),
        "silhouette": round(quality["silhouette"], 4),
        "min_segment_share": round(quality["min_segment_share"], 4),
        "segment_sizes": dg.MetadataValue.md(plots.md_table(profile.select("segment_id", "customer_segment", "customers", "share"))),
        "segment_profiles": dg.MetadataValue.md(plots.md_table(profile)),
        "k_selection": dg.MetadataValue.md(plots.md_table(selection) if selection.height else "(reused model)"),
        "segment_profile_plot": dg.MetadataValue.md(
            plots.md_image("Segment profile", plots.segment_profile_plot(profile))
        ),
        "seconds": round(time.perf_counter() - t0, 2),
    }


# ---------------------------------------------------------------------------------------------- fraud
@dg.asset(
    key=RISK_KEY,
    group_name=GROUP,
    deps=[dg.AssetKey(["ml", FRAUD_TABLE])],
    owners=OWNERS,
    kinds={"python", "scikitlearn", "polars"},
    tags={"layer": "ml"},
    pool="warehouse",
    description=(
        "IsolationForest on ml.feat_fraud_behavior → anomaly_score in [0,1], risk_tier (high = top 1 %, medium = "
        "next 4 %, cut points fixed at fit time), top_signals. Writes ml.customer_risk_scores."
    ),
    metadata={"dagster/table_name": "ml.customer_risk_scores"},
)
def customer_risk_scores(
    context: dg.AssetExecutionContext, config: MLConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    features = validate_feature_table(FRAUD_TABLE, read_feature_table(warehouse, FRAUD_TABLE), FRAUD_FEATURES)
    result = run_risk(features, _artifacts(), config.refit)
    rows = warehouse.write_table("ml", "customer_risk_scores", result.pop("scores"))
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, **result})


def _run_risk_impl(features: pl.DataFrame, store: ArtifactStore, refit: bool | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    fp = fingerprint(features)
    loaded = store.reusable("customer_risk_scores", fp, refit)
    if loaded is None:
        model, scored = fraud_model.fit_and_score_fraud(features, n_jobs=ml_threads())
        version = store.save(
            "customer_risk_scores",
            model,
            {
                "features": model.features,
                "params": model.params,
                "training_window": {"table": f"ml.{FRAUD_TABLE}", "rows": features.height},
                "metrics": {"high_cut": model.high_cut, "medium_cut": model.medium_cut},
                "data_fingerprint": fp,
            },
        )
        reused = False
    else:
        model, version, reused = loaded.model, loaded.version, True
        scored = fraud_model.score_fraud(model, features)
    out = validate_output("customer_risk_scores", _stamp(scored, version))
    tiers = scored["risk_tier"].value_counts().sort("risk_tier")
    importance = fraud_model.signal_importance(model, features, scored)
    scores = scored["anomaly_score"].to_numpy()
    return {
        "scores": out,
        "model_version": version,
        "reused_model": reused,
        "high_cut": round(model.high_cut, 4),
        "medium_cut": round(model.medium_cut, 4),
        "high_share": round(float((scored["risk_tier"] == "high").mean()), 4),
        "risk_tiers": dg.MetadataValue.md(plots.md_table(tiers)),
        "signal_importance": dg.MetadataValue.md(plots.md_table(importance)),
        "score_distribution": dg.MetadataValue.md(
            plots.md_image(
                "Anomaly score",
                plots.histogram_plot(scores, "Anomaly score", "score", {"medium": model.medium_cut, "high": model.high_cut}),
            )
        ),
        "seconds": round(time.perf_counter() - t0, 2),
    }


# ------------------------------------------------------------------------------------------ churn + LTV
@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CHURN_KEY,
            group_name=GROUP,
            deps=[dg.AssetKey(["staging", s]) for s in STAGING_INPUTS],
            owners=OWNERS,
            kinds={"python", "scikitlearn", "polars"},
            tags={"layer": "ml"},
            skippable=True,
            description=(
                "Calibrated churn probability (no completed order and no session in the next 90 days) from "
                "point-in-time features; trained on as_of−180d, calibrated/validated on as_of−90d, scored as of "
                "as_of. > 0.7 = high risk. Writes ml.churn_predictions."
            ),
            metadata={"dagster/table_name": "ml.churn_predictions"},
        ),
        dg.AssetSpec(
            LTV_KEY,
            group_name=GROUP,
            deps=[dg.AssetKey(["staging", s]) for s in STAGING_INPUTS],
            owners=OWNERS,
            kinds={"python", "scikitlearn", "polars"},
            tags={"layer": "ml"},
            skippable=True,
            description=(
                "Predicted 12-month spend (USD, ≥ 0): gradient boosting on log1p of the next 90 days' spend from "
                "point-in-time RFM + engagement features, annualised ×365/90. Writes ml.ltv_predictions."
            ),
            metadata={"dagster/table_name": "ml.ltv_predictions"},
        ),
    ],
    can_subset=True,
    pool="warehouse",
)
def churn_and_ltv_predictions(context: dg.AssetExecutionContext, config: MLConfig, warehouse: WarehouseResource):
    frames = load_source_frames(warehouse)
    as_of = effective_as_of(frames, _as_of(config))
    context.log.info(f"churn/LTV reference day (effective as_of): {as_of}")
    horizon = choose_horizon(frames, as_of)
    if horizon != HORIZON_DAYS:
        context.log.warning(f"short history: churn/LTV window is {horizon} days instead of {HORIZON_DAYS}")
    features_at = _feature_memo(frames)
    current = features_at(as_of)
    store = _artifacts()
    selected = context.selected_asset_keys
    if CHURN_KEY in selected:
        result = run_churn(frames, current, as_of, store, config.refit, features_at, horizon)
        rows = warehouse.write_table("ml", "churn_predictions", result.pop("scores"))
        yield dg.MaterializeResult(asset_key=CHURN_KEY, metadata={"dagster/row_count": rows, **result})
    if LTV_KEY in selected:
        result = run_ltv(frames, current, as_of, store, config.refit, features_at, horizon)
        rows = warehouse.write_table("ml", "ltv_predictions", result.pop("scores"))
        yield dg.MaterializeResult(asset_key=LTV_KEY, metadata={"dagster/row_count": rows, **result})


def _feature_memo(frames: SourceFrames):
    """Point-in-time features per cutoff, computed and contract-checked once (churn and LTV share them)."""
    cache: dict[date, pl.DataFrame] = {}
    schema = churn_ltv_features_schema()

    def features_at(cutoff: date) -> pl.DataFrame:
        if cutoff not in cache:
            cache[cutoff] = validate(schema, point_in_time_features(frames, cutoff))
        return cache[cutoff]

    return features_at


def _run_churn_impl(
    frames: SourceFrames,
    current: pl.DataFrame,
    as_of: date,
    store: ArtifactStore,
    refit: bool | None,
    features_at=None,
    horizon: int = HORIZON_DAYS,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    data = churn_model.training_frames(frames, as_of, horizon, features_at=features_at)
    fp = fingerprint(data.train, data.validation)
    loaded = store.reusable("churn_predictions", fp, refit)
    extra: dict[str, Any] = {}
    if loaded is None:
        model, metrics, hold = churn_model.fit_churn(data)
        version = store.save(
            "churn_predictions",
            model,
            {
                "features": model.features,
                "params": model.params,
                "training_window": {
                    "train_cutoff": model.train_cutoff,
                    "validation_cutoff": model.validation_cutoff,
                    "horizon_days": model.horizon_days,
                    "as_of": as_of.isoformat(),
                },
                "metrics": _json_safe(metrics),
                "data_fingerprint": fp,
            },
        )
        reused = False
        if len(np.unique(hold["y"])) == 2:
            extra["roc_pr_curve"] = dg.MetadataValue.md(plots.md_image("ROC / PR (holdout)", plots.roc_pr_plot(hold["y"], hold["p"])))
            extra["calibration_curve"] = dg.MetadataValue.md(
                plots.md_image("Calibration (holdout)", plots.calibration_plot(hold["y"], hold["p"]))
            )
    else:
        model, version, reused, metrics = loaded.model, loaded.version, True, loaded.manifest.get("metrics", {})
    scored = churn_model.score_churn(model, current)
    out = validate_output("churn_predictions", _stamp(scored, version))
    p = scored["churn_probability"].to_numpy()
    return {
        "scores": out,
        "model_version": version,
        "reused_model": reused,
        "as_of": as_of.isoformat(),
        "train_cutoff": model.train_cutoff,
        "validation_cutoff": model.validation_cutoff,
        "horizon_days": model.horizon_days,
        **_float_md(metrics),
        "class_balance": dg.MetadataValue.md(
            plots.md_table(
                pl.DataFrame(
                    {
                        "fold": ["train", "holdout"],
                        "rows": [metrics.get("train_rows", 0), metrics.get("holdout_rows", 0)],
                        "churn_rate": [metrics.get("train_churn_rate", float("nan")), metrics.get("holdout_churn_rate", float("nan"))],
                    }
                )
            )
        ),
        "feature_importance": dg.MetadataValue.md(_importance_md(metrics.get("feature_importance", {}))),
        "scored_high_risk_share": round(float((p > churn_model.HIGH_RISK_THRESHOLD).mean()), 4) if len(p) else 0.0,
        "scored_mean_probability": round(float(p.mean()), 4) if len(p) else 0.0,
        **extra,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _run_ltv_impl(
    frames: SourceFrames,
    current: pl.DataFrame,
    as_of: date,
    store: ArtifactStore,
    refit: bool | None,
    features_at=None,
    horizon: int = HORIZON_DAYS,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    data = ltv_model.training_frames(frames, as_of, horizon, features_at=features_at)
    fp = fingerprint(data.train, data.validation)
    loaded = store.reusable("ltv_predictions", fp, refit)
    extra: dict[str, Any] = {}
    if loaded is None:
        model, metrics, val = ltv_model.fit_ltv(data)
        version = store.save(
            "ltv_predictions",
            model,
            {
                "features": model.features,
                "params": model.params,
                "training_window": {
                    "train_cutoff": model.train_cutoff,
                    "validation_cutoff": model.validation_cutoff,
                    "horizon_days": model.horizon_days,
                    "as_of": as_of.isoformat(),
                },
                "metrics": _json_safe(metrics),
                "data_fingerprint": fp,
            },
        )
        reused = False
        extra["predicted_vs_actual"] = dg.MetadataValue.md(
            plots.md_image(
                "Validation: predicted vs realised 90-day spend",
                plots.scatter_plot(val["actual"], val["predicted"], "90-day spend", "realised", "predicted"),
            )
        )
    else:
        model, version, reused, metrics = loaded.model, loaded.version, True, loaded.manifest.get("metrics", {})
    scored = ltv_model.score_ltv(model, current)
    out = validate_output("ltv_predictions", _stamp(scored, version))
    v = scored["predicted_ltv"]
    return {
        "scores": out,
        "model_version": version,
        "reused_model": reused,
        "as_of": as_of.isoformat(),
        "train_cutoff": model.train_cutoff,
        "validation_cutoff": model.validation_cutoff,
        "horizon_days": model.horizon_days,
        **_float_md(metrics),
        "feature_importance": dg.MetadataValue.md(_importance_md(metrics.get("feature_importance", {}))),
        "predicted_ltv_total": round(float(v.sum()), 2),
        "predicted_ltv_median": round(float(v.median() or 0.0), 2),
        "predicted_ltv_p90": round(float(v.quantile(0.9) or 0.0), 2),
        **extra,
        "seconds": round(time.perf_counter() - t0, 2),
    }


ML_ASSETS = [customer_segments, customer_risk_scores, churn_and_ltv_predictions]


def ml_assets() -> list[dg.AssetsDefinition]:
    """The ML assets for ``customer360/definitions.py`` (they need the ``warehouse`` resource)."""
    return list(ML_ASSETS)


def ml_definitions() -> dg.Definitions:
    """The ML layer as a Definitions object to merge (``dg.Definitions.merge``) in ``definitions.py``."""
    return dg.Definitions(assets=ml_assets())


def run_segments(*args, **kwargs) -> dict[str, Any]:
    with threadpool_limits(limits=ml_threads()):
        return _run_segments_impl(*args, **kwargs)


def run_risk(*args, **kwargs) -> dict[str, Any]:
    with threadpool_limits(limits=ml_threads()):
        return _run_risk_impl(*args, **kwargs)


def run_churn(*args, **kwargs) -> dict[str, Any]:
    with threadpool_limits(limits=ml_threads()):
        return _run_churn_impl(*args, **kwargs)


def run_ltv(*args, **kwargs) -> dict[str, Any]:
    with threadpool_limits(limits=ml_threads()):
        return _run_ltv_impl(*args, **kwargs)
