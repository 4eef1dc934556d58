"""ML evaluation against the generator's planted truth, and the ML wall time.

    .venv/bin/python benchmarks/eval_ml.py [--scale 1.0] [--days 365] [--end-date 2025-06-30] [--work DIR]
                                           [--reuse] [--json OUT]

1. generates data (``--truth`` goes to its own folder, read only by this script's evaluation step), ingests it
   and builds the staging views + ML feature tables with dbt;
2. materializes all ML assets in one Dagster run with ``as_of = end − 89 days`` (the last 90 days of data are the
   held-out "future"; refit forced) and times it — this is the "all ML assets together" wall figure;
3. compares: churn (holdout accuracy / ROC-AUC / balanced accuracy and the majority-class baseline, against the
   behavioural label observed in the held-out window — no interaction in it — and against the truth's churn_date
   before the window's end; the precision of the high-risk tier, churn_probability above the dbt var
   churn_probability_threshold, against both), fraud (customer-level average precision and precision@1 % vs
   is_fraudster), segments (silhouette, smallest segment share, adjusted Rand index vs archetype), LTV
   (Spearman vs realised spend in the held-out window);
4. measures KMeans vs MiniBatchKMeans on the same feature table.

Targets (issue 5): churn accuracy ≥ 0.85 and ROC-AUC ≥ 0.85; fraud AP ≥ 0.5 and precision@1 % ≥ 0.6; silhouette
≥ 0.3 and every segment ≥ 2 %; LTV Spearman ≥ 0.6; ML wall ≤ 30 s at scale 1.0. Nothing is tuned on the truth.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ml_pipeline import (
    dbt_features,
    emit_json,
    fast_ingest,
    generate,
    holdout_as_of,
    materialize_ml,
)

TARGETS = {
    "churn_accuracy": 0.85,
    "churn_roc_auc": 0.85,
    "fraud_average_precision": 0.5,
    "fraud_precision_at_1pct": 0.6,
    "segments_silhouette": 0.3,
    "segments_min_share": 0.02,
    "ltv_spearman": 0.6,
}


def _auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def evaluate(duckdb_path: Path, truth_dir: Path, as_of: date) -> dict:
    from scipy.stats import spearmanr
    from sklearn.metrics import accuracy_score, adjusted_rand_score, average_precision_score, balanced_accuracy_score

    from customer360.ml import features as F
    from customer360.ml.churn import high_risk
    from customer360.ml.contracts import SEGMENTATION_FEATURES
    from customer360.ml.segmentation import segment_quality
    from customer360.resources import WarehouseResource
    from customer360.transform.project_vars import churn_probability_threshold

    wh = WarehouseResource(duckdb_path=str(duckdb_path)).build()
    truth = pl.read_parquet(truth_dir / "customers.parquet").select(
        pl.col("customer_id").cast(pl.Utf8), "is_fraudster", pl.col("churn_date").cast(pl.Date), "archetype"
    )
    out: dict = {"as_of": as_of.isoformat()}

    # ---- fraud (customer level)
    risk = wh.read_table("ml", "customer_risk_scores").join(truth, on="customer_id", how="inner")
    y = risk["is_fraudster"].cast(pl.Int8).to_numpy()
    s = risk["anomaly_score"].to_numpy()
    top = max(1, math.ceil(0.01 * len(s)))
    order = np.argsort(-s, kind="stable")
    out["fraud"] = {
        "customers": len(s),
        "fraudster_share": float(y.mean()),
        "average_precision": float(average_precision_score(y, s)),
        "precision_at_1pct": float(y[order[:top]].mean()),
        "recall_at_1pct": float(y[order[:top]].sum() / max(1, y.sum())),
        "roc_auc": _auc(y, s),
        "high_tier_precision": float(y[risk["risk_tier"].to_numpy() == "high"].mean()),
    }

    # ---- segments
    seg = wh.read_table("ml", "customer_segments")
    feats = wh.read_table("ml", "feat_customer_segmentation")
    cols = [c for c in feats.columns if c != "customer_id"]
    q = segment_quality(feats, seg, cols)
    joined = seg.join(truth, on="customer_id", how="inner")
    crosstab = (
        joined.group_by("customer_segment", "archetype")
        .len()
        .pivot(on="archetype", index="customer_segment", values="len")
        .fill_null(0)
        .sort("customer_segment")
    )
    out["segments"] = {
        **q,
        "ari_vs_archetype": float(adjusted_rand_score(joined["archetype"].to_list(), joined["segment_id"].to_list())),
        "sizes": dict(seg.group_by("customer_segment").len().sort("customer_segment").iter_rows()),
        "crosstab": crosstab.to_dicts(),
        "documented_features_present": all(f in cols for f in SEGMENTATION_FEATURES),
    }

    # ---- churn (holdout = the 90 days after as_of, never seen by the model)
    frames = F.load_source_frames(wh)
    churn = wh.read_table("ml", "churn_predictions")
    observed = F.churn_labels(frames, as_of)  # population: signed up and active before as_of
    ev = observed.join(churn, on="customer_id", how="inner").join(truth, on="customer_id", how="left")
    p = ev["churn_probability"].to_numpy()
    y_obs = ev["churned"].to_numpy()
    horizon_end = as_of + timedelta(days=F.HORIZON_DAYS)
    y_truth = ev.select((pl.col("churn_date").is_not_null() & (pl.col("churn_date") < horizon_end)).cast(pl.Int8))[
        :, 0
    ].to_numpy()
    tier = high_risk(p)  # churn_probability > the dbt var churn_probability_threshold
    out["churn"] = {
        "customers": len(p),
        "observed_churn_rate": float(y_obs.mean()),
        "truth_churn_rate": float(y_truth.mean()),
        "accuracy_vs_observed": float(accuracy_score(y_obs, p >= 0.5)),
        "roc_auc_vs_observed": _auc(y_obs, p),
        "accuracy_vs_truth": float(accuracy_score(y_truth, p >= 0.5)),
        "roc_auc_vs_truth": _auc(y_truth, p),
        "majority_baseline_accuracy_vs_observed": float(max(y_obs.mean(), 1 - y_obs.mean())),
        "balanced_accuracy_vs_observed": float(balanced_accuracy_score(y_obs, p >= 0.5)),
        "balanced_accuracy_vs_truth": float(balanced_accuracy_score(y_truth, p >= 0.5)),
        "observed_label_agreement_with_truth": float((y_obs == y_truth).mean()),
        "high_risk_threshold": churn_probability_threshold(),
        "high_risk_share": float(tier.mean()),
        "high_risk_customers": int(tier.sum()),
        # of the customers above the threshold, the share the truth churns within the horizon (or had churned)
        "high_risk_precision_vs_truth": float(y_truth[tier].mean()) if tier.any() else None,
        "high_risk_precision_vs_observed": float(y_obs[tier].mean()) if tier.any() else None,
    }

    # ---- LTV: predicted 12-month value vs realised spend in the held-out 90 days
    ltv = wh.read_table("ml", "ltv_predictions")
    realised = F.future_spend(frames, as_of)
    lv = ltv.join(realised, on="customer_id", how="left").with_columns(pl.col("future_spend").fill_null(0.0))
    pred, act = lv["predicted_ltv"].to_numpy(), lv["future_spend"].to_numpy()
    buyers = act > 0
    out["ltv"] = {
        "customers": len(pred),
        "spearman": float(spearmanr(pred, act).statistic),
        "spearman_buyers_only": float(spearmanr(pred[buyers], act[buyers]).statistic) if buyers.sum() > 2 else None,
        "predicted_90d_total": float(pred.sum() * 90 / 365),
        "realised_90d_total": float(act.sum()),
    }
    return out


def compare_kmeans(duckdb_path: Path) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from customer360.ml import segmentation as S
    from customer360.resources import WarehouseResource

    feats = WarehouseResource(duckdb_path=str(duckdb_path)).build().read_table("ml", "feat_customer_segmentation")
    res, assigned = {}, {}
    for alg in ("kmeans", "minibatch"):
        t0 = time.perf_counter()
        m = S.fit_segmentation(feats, algorithm=alg)
        a = S.assign_segments(m, feats)
        secs = time.perf_counter() - t0
        q = S.segment_quality(feats, a, m.features)
        res[alg] = {"seconds": round(secs, 2), "k": m.k, **q, "inertia": float(m.kmeans.inertia_)}
        assigned[alg] = a.sort("customer_id")["segment_id"].to_list()
    res["ari_between"] = float(adjusted_rand_score(assigned["kmeans"], assigned["minibatch"]))
    return res


def check(results: dict) -> dict[str, bool]:
    e = results["eval"]
    return {
        "churn_accuracy": e["churn"]["accuracy_vs_observed"] >= TARGETS["churn_accuracy"],
        "churn_roc_auc": e["churn"]["roc_auc_vs_observed"] >= TARGETS["churn_roc_auc"],
        "fraud_average_precision": e["fraud"]["average_precision"] >= TARGETS["fraud_average_precision"],
        "fraud_precision_at_1pct": e["fraud"]["precision_at_1pct"] >= TARGETS["fraud_precision_at_1pct"],
        "segments_silhouette": e["segments"]["silhouette"] >= TARGETS["segments_silhouette"],
        "segments_min_share": e["segments"]["min_segment_share"] >= TARGETS["segments_min_share"],
        "ltv_spearman": e["ltv"]["spearman"] >= TARGETS["ltv_spearman"],
        "ml_wall_30s": results["timing"]["ml_wall_seconds"] <= 30.0 if results["scale"] >= 1.0 else True,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--end-date", type=date.fromisoformat, default=date(2025, 6, 30))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--holdout-days", type=int, default=90)
    ap.add_argument("--work", type=Path, default=Path("data/bench_ml"))
    ap.add_argument("--reuse", action="store_true", help="reuse generated data and the warehouse in --work")
    ap.add_argument("--skip-kmeans-compare", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    work = args.work.resolve() / f"scale_{args.scale:g}_days_{args.days}"
    landing, truth, db = work / "landing", work / "truth", work / "warehouse.duckdb"
    timing: dict[str, float] = {}
    if not (args.reuse and db.exists()):
        if work.exists():
            import shutil

            shutil.rmtree(work)
        work.mkdir(parents=True)
        timing["generate_seconds"] = generate(
            landing, truth, scale=args.scale, days=args.days, end_date=args.end_date, seed=args.seed
        )
        timing["ingest_seconds"] = fast_ingest(landing, db)
        timing["dbt_seconds"] = dbt_features(db, as_of=args.end_date, target_path=work / "dbt_target")
    as_of = holdout_as_of(args.end_date, args.holdout_days)
    wall, result, cpu = materialize_ml(db, str(work / "artifacts"), as_of=as_of, refit=True)
    timing["ml_wall_seconds"] = wall
    timing["ml_cpu_seconds"] = cpu
    timing["load_average_1m"] = os.getloadavg()[0]
    per_asset = {}
    for mat in result.get_asset_materialization_events():
        m = mat.materialization
        per_asset[m.asset_key.to_user_string()] = m.metadata["seconds"].value if "seconds" in m.metadata else None
    timing["per_asset_model_seconds"] = per_asset
    wall2, _, cpu2 = materialize_ml(db, str(work / "artifacts"), as_of=as_of, refit=None)
    timing["ml_wall_seconds_reusing_models"] = wall2
    timing["ml_cpu_seconds_reusing_models"] = cpu2

    results = {"scale": args.scale, "days": args.days, "end_date": args.end_date.isoformat(), "timing": timing}
    results["eval"] = evaluate(db, truth, as_of)
    if not args.skip_kmeans_compare:
        results["kmeans_vs_minibatch"] = compare_kmeans(db)
    results["targets_met"] = check(results)
    emit_json(results, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
