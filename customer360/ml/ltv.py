"""Predicted LTV: expected 12-month spend in USD from a regression on point-in-time RFM + engagement features.

Method (README "Design decisions"):

* target = realised spend (completed orders, USD) in the 90 days after a cutoff;
* **train**: features as of ``A - 180d``, target from ``[A - 180d, A - 90d)``; **validation**: features as of
  ``A - 90d``, target from ``[A - 90d, A)``, split by customer id into a *calibration* half and a *holdout* half
  (:func:`customer360.ml.features.calibration_holdout_split`);
* model: ``HistGradientBoostingRegressor`` on ``log1p(target)`` with early stopping (at most 300 rounds at learning
  rate 0.15; a seeded 10 % of the training sample decides when to stop); back-transformed with ``expm1`` and multiplied by
  a smearing factor (mean realised / mean predicted spend on the calibration half, Duan's estimator) so the level
  is an expectation rather than a geometric mean;
* reported metrics (holdout half only, which neither the regressor nor the smearing factor has seen): Spearman,
  MAE and RMSE, RMSE against the naive baseline :func:`naive_baseline` (squared error, because ``predicted_ltv``
  is an expectation: MAE rewards predicting the median, which for mostly-zero spend is near 0), and the bias of
  the total (mean predicted / mean
  realised − 1, which can fail: the smearing factor was fitted on other customers);
* ``predicted_ltv`` = 90-day prediction from features as of ``A`` × 365/90 (assumes the next 12 months behave like
  the next 90 days: no seasonality adjustment), clipped at 0. With less than 270 days of data the window shrinks
  to a third of the history (:func:`customer360.ml.features.choose_horizon`) and the annualisation follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import spearmanr
from sklearn.ensemble import HistGradientBoostingRegressor

from customer360.ml.features import (
    CHURN_LTV_FEATURES,
    HORIZON_DAYS,
    ID,
    SourceFrames,
    calibration_holdout_split,
    future_spend,
    to_matrix,
)
from customer360.ml.training import BOOSTER_PARAMS as PARAMS
from customer360.ml.training import MAX_TRAIN_ROWS, SEED, TrainingFrames, feature_importance, importance_sample
from customer360.ml.training import training_frames as cutoff_frames

REVISION = 1  # bump when fitting or features change incompatibly: a saved model of another revision refits


@dataclass
class LtvModel:
    features: list[str]
    regressor: HistGradientBoostingRegressor
    smearing: float
    train_cutoff: str
    validation_cutoff: str
    horizon_days: int
    params: dict[str, Any] = field(default_factory=dict)

    def predict_horizon(self, x: np.ndarray) -> np.ndarray:
        """Expected spend over ``horizon_days`` (USD, ≥ 0)."""
        return np.clip(np.expm1(self.regressor.predict(x)) * self.smearing, 0.0, None)


LtvTraining = TrainingFrames  # the label column is ``future_spend``


def training_frames(
    frames: SourceFrames,
    as_of: date,
    horizon: int = HORIZON_DAYS,
    features_at: Callable[[date], pl.DataFrame] | None = None,
) -> LtvTraining:
    """Train/validation frames labelled with ``future_spend`` (0 for customers without completed orders)."""
    return cutoff_frames(
        frames,
        as_of,
        horizon,
        lambda features, cut: features.join(future_spend(frames, cut, horizon), on=ID, how="left").with_columns(
            pl.col("future_spend").fill_null(0.0)
        ),
        features_at,
    )


def fit_ltv(data: LtvTraining) -> tuple[LtvModel, dict[str, Any], dict[str, np.ndarray]]:
    feats = list(CHURN_LTV_FEATURES)
    if data.train.height < 10:
        raise ValueError(f"LTV training fold (cutoff {data.train_cutoff}) has {data.train.height} customers")
    train = data.train.sort(ID)
    if train.height > MAX_TRAIN_ROWS:
        train = train.sample(n=MAX_TRAIN_ROWS, seed=SEED)
    y = np.clip(train["future_spend"].to_numpy(), 0.0, None)
    reg = HistGradientBoostingRegressor(**PARAMS, random_state=SEED)
    reg.fit(to_matrix(train, feats), np.log1p(y))
    cal, hold = calibration_holdout_split(data.validation)
    if cal.height == 0 or hold.height == 0:
        raise ValueError(f"LTV validation fold (cutoff {data.validation_cutoff}) is too small to split")
    # smearing (Duan): mean realised / mean back-transformed prediction on the calibration half only
    y_cal = np.clip(cal["future_spend"].to_numpy(), 0.0, None)
    raw_cal = np.clip(np.expm1(reg.predict(to_matrix(cal, feats))), 0.0, None)
    smearing = float(y_cal.mean() / raw_cal.mean()) if raw_cal.mean() > 0 else 1.0
    horizon = (data.validation_cutoff - data.train_cutoff).days
    model = LtvModel(
        features=feats,
        regressor=reg,
        smearing=smearing,
        train_cutoff=data.train_cutoff.isoformat(),
        validation_cutoff=data.validation_cutoff.isoformat(),
        horizon_days=horizon,
        params={
            **PARAMS,
            "seed": SEED,
            "max_train_rows": MAX_TRAIN_ROWS,
            "target": f"log1p({horizon}-day completed-order spend USD)",
            "annualise": 365.0 / horizon,
            "smearing": "mean realised / mean predicted spend on the validation fold's calibration half",
        },
    )
    # every reported metric: the holdout half, which neither the regressor nor the smearing factor has seen
    x_val, y_val = to_matrix(hold, feats), np.clip(hold["future_spend"].to_numpy(), 0.0, None)
    pred = model.predict_horizon(x_val)
    naive = naive_baseline(hold, horizon)
    rho = spearmanr(pred, y_val).statistic if len(y_val) > 2 else float("nan")
    mae, naive_mae = float(np.abs(pred - y_val).mean()), float(np.abs(naive - y_val).mean())
    rmse, naive_rmse = _rmse(pred, y_val), _rmse(naive, y_val)
    metrics = {
        "train_rows": len(y),
        "train_share_spending": float((y > 0).mean()),
        "calibration_rows": len(y_cal),
        "holdout_rows": len(y_val),
        "holdout_spearman": float(rho),
        "holdout_mae": mae,
        "holdout_naive_mae": naive_mae,
        "holdout_rmse": rmse,
        "holdout_naive_rmse": naive_rmse,
        "holdout_rmse_vs_naive": rmse / naive_rmse if naive_rmse > 0 else float("nan"),
        "holdout_mean_actual": float(y_val.mean()),
        "holdout_mean_predicted": float(pred.mean()),
        "holdout_bias": float(pred.mean() / y_val.mean() - 1.0) if y_val.mean() > 0 else float("nan"),
        "smearing_factor": smearing,
    }
    idx = importance_sample(len(y_val))
    metrics["feature_importance"] = (
        feature_importance(reg, x_val[idx], np.log1p(y_val[idx]), feats, "r2") if len(idx) > 10 else {}
    )
    return model, metrics, {"actual": y_val, "predicted": pred}


def _rmse(pred: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - actual) ** 2))) if len(actual) else float("nan")


def naive_baseline(df: pl.DataFrame, horizon: int) -> np.ndarray:
    """The baseline a model must beat: every customer keeps spending at their observed long-run rate
    (``spend_rate_30d`` × horizon / 30)."""
    return np.clip(df["spend_rate_30d"].to_numpy(), 0.0, None) * horizon / 30.0


def score_ltv(model: LtvModel, current: pl.DataFrame) -> pl.DataFrame:
    """customer_id, predicted_ltv (12-month USD) from point-in-time features as of the scoring day."""
    ltv = model.predict_horizon(to_matrix(current, model.features)) * (365.0 / model.horizon_days)
    return pl.DataFrame({ID: current[ID], "predicted_ltv": pl.Series(ltv, dtype=pl.Float64)})
