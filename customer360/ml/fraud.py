"""Customer fraud risk: IsolationForest on ``ml.feat_fraud_behavior``.

* ``anomaly_score`` = the isolation-forest anomaly score ``s(x) = 2^(-E[h(x)] / c(n))`` (``-score_samples``),
  which is already in (0, 1] — higher = easier to isolate = more anomalous. It is an absolute score, so it is
  comparable across runs; ~0.5 and below is ordinary, values towards 1 are clear outliers.
* ``risk_tier``: cut points fixed at fit time from the training distribution: **high** = score at or above the
  99th percentile (the top 1 % of customers), **medium** = at or above the 95th percentile (the next 4 %),
  **low** otherwise. Stored in the model, so a reused model keeps its cut points.
* ``top_signals``: the (up to) three features with the largest *positive* standardised deviation for that customer
  (``(x - mean) / std`` of the training data, only deviations > 1 std), comma-separated, most deviating first;
  every fraud feature is "higher = riskier" except ``payment_methods_used_norm`` (the design: more methods =
  lower risk), whose deviation is negated. Empty string when nothing stands out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import IsolationForest

from customer360.ml.features import ID, feature_columns, to_matrix
from customer360.ml.thresholds import HIGH_TIER_QUANTILE, MEDIUM_TIER_QUANTILE

SEED = 42
REVISION = 1  # bump when fitting or features change incompatibly: a saved model of another revision refits
N_ESTIMATORS = 100
HIGH_QUANTILE = HIGH_TIER_QUANTILE
MEDIUM_QUANTILE = MEDIUM_TIER_QUANTILE
TOP_SIGNALS = 3
SIGNAL_MIN_Z = 1.0
LOWER_IS_RISKIER = frozenset({"payment_methods_used_norm"})


@dataclass
class FraudModel:
    features: list[str]
    forest: IsolationForest
    mean: np.ndarray
    std: np.ndarray
    high_cut: float
    medium_cut: float
    params: dict[str, Any] = field(default_factory=dict)


def fit_fraud(features: pl.DataFrame, *, n_jobs: int = 1) -> FraudModel:
    return fit_and_score_fraud(features, n_jobs=n_jobs)[0]


def fit_and_score_fraud(features: pl.DataFrame, *, n_jobs: int = 1) -> tuple[FraudModel, pl.DataFrame]:
    """Fit on ``features`` and score the same rows: the training scores that fix the cut points are the scores
    (the forest is evaluated once, not again by :func:`score_fraud`)."""
    df = features.sort(ID)
    cols = feature_columns(df)
    x = to_matrix(df, cols)
    forest = IsolationForest(n_estimators=N_ESTIMATORS, max_samples="auto", random_state=SEED, n_jobs=n_jobs).fit(x)
    scores = -forest.score_samples(x)
    model = FraudModel(
        features=cols,
        forest=forest,
        mean=x.mean(axis=0),
        std=x.std(axis=0),
        high_cut=float(np.quantile(scores, HIGH_QUANTILE)),
        medium_cut=float(np.quantile(scores, MEDIUM_QUANTILE)),
        params={
            "n_estimators": N_ESTIMATORS,
            "max_samples": "auto (256)",
            "seed": SEED,
            "high_quantile": HIGH_QUANTILE,
            "medium_quantile": MEDIUM_QUANTILE,
        },
    )
    return model, _scored(model, df, x, scores)


def top_signals(model: FraudModel, x: np.ndarray) -> list[str]:
    z = (x - model.mean) / np.where(model.std > 1e-12, model.std, 1.0)
    sign = np.array([-1.0 if f in LOWER_IS_RISKIER else 1.0 for f in model.features])
    z = z * sign
    order = np.argsort(-z, axis=1, kind="stable")[:, :TOP_SIGNALS]
    names = pl.Series(model.features, dtype=pl.Utf8)
    # column j = the j-th most deviating feature's name, null when it does not stand out (vectorised over rows)
    picked = [
        names.gather(order[:, j]).zip_with(
            pl.Series(np.take_along_axis(z, order[:, j : j + 1], 1)[:, 0] > SIGNAL_MIN_Z),
            pl.Series([None], dtype=pl.Utf8),
        )
        for j in range(order.shape[1])
    ]
    if not picked:
        return [""] * len(x)
    frame = pl.DataFrame({f"s{j}": p for j, p in enumerate(picked)})
    return frame.select(pl.concat_str(pl.all(), separator=",", ignore_nulls=True))[:, 0].to_list()


def score_fraud(model: FraudModel, features: pl.DataFrame) -> pl.DataFrame:
    """customer_id, anomaly_score, risk_tier, top_signals for every row of ``features``."""
    missing = [c for c in model.features if c not in features.columns]
    if missing:
        raise ValueError(f"feature table lacks the model's features {missing}: refit")
    df = features.sort(ID)
    x = to_matrix(df, model.features)
    return _scored(model, df, x, -model.forest.score_samples(x))


def _scored(model: FraudModel, df: pl.DataFrame, x: np.ndarray, raw_scores: np.ndarray) -> pl.DataFrame:
    scores = np.clip(raw_scores, 0.0, 1.0)
    tier = np.where(scores >= model.high_cut, "high", np.where(scores >= model.medium_cut, "medium", "low"))
    return pl.DataFrame(
        {
            ID: df[ID],
            "anomaly_score": pl.Series(scores, dtype=pl.Float64),
            "risk_tier": pl.Series(tier, dtype=pl.Utf8),
            "top_signals": pl.Series(top_signals(model, x), dtype=pl.Utf8),
        }
    )


def signal_importance(model: FraudModel, features: pl.DataFrame, scored: pl.DataFrame) -> pl.DataFrame:
    """How far the high-tier customers sit from everyone on each feature (mean z-score) — a readable stand-in
    for feature importance, which an isolation forest does not define."""
    df = features.sort(ID).join(scored.select(ID, "risk_tier"), on=ID)
    x = to_matrix(df, model.features)
    z = (x - model.mean) / np.where(model.std > 1e-12, model.std, 1.0)
    high = df["risk_tier"].to_numpy() == "high"
    mean_high = z[high].mean(axis=0) if high.any() else np.zeros(len(model.features))
    return pl.DataFrame({"feature": model.features, "mean_z_high_tier": mean_high}).sort(
        "mean_z_high_tier", descending=True
    )
