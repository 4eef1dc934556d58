"""Churn probability: a gradient-boosted classifier on point-in-time features, trained on a time split.

Time split (``A`` = effective as-of day, see :func:`customer360.ml.features.effective_as_of`):

* **train fold**: features as of ``A - 180d``, label from ``[A - 180d, A - 90d)``;
* **validation fold**: features as of ``A - 90d``, label from ``[A - 90d, A)`` — a later period, split by a hash
  of ``customer_id`` (:func:`customer360.ml.features.calibration_holdout_split`) into a *calibration* half and a
  *holdout* half;
* **fit**: the train fold + the calibration half (the most recent complete label window, whose feature history is
  the closest to the scoring day's: trained on ``A - 180d`` alone the model scored the later period worse), the
  booster calibrated by 3-fold cross-validated isotonic regression on those rows;
* **holdout**: every reported metric (accuracy vs the majority-class baseline, balanced accuracy, ROC-AUC,
  calibration error, precision of the high-risk tier) — customers the fit never saw;
* **scoring**: features as of ``A`` for every customer who signed up before ``A`` → ``churn_probability``.

Label: ``churned = 1`` when the customer has **no interaction** in the 90 days after the cutoff — no completed
order, no session, no payment attempt, no campaign message opened, no support ticket
(:func:`customer360.ml.features.churn_labels`); population = customers who signed up before the cutoff and had an
interaction before it. Orders and sessions alone called a customer who kept paying or reading the newsletter
"churned" (most customers have a session or an order less than once a month): that label agreed with the
generator's planted churn only 83 % of the time at scale 1.0, this one 89 %.
Features only ever see rows before their cutoff (module :mod:`customer360.ml.features`). A probability above the
dbt var ``churn_probability_threshold`` (0.7, the design documents' threshold; read by
:func:`customer360.transform.project_vars.churn_probability_threshold`, the one setting shared with the
``churn_rate`` metric and the retention alerts) is "high risk".

``90d`` stands for the horizon ``H`` of :func:`customer360.ml.features.choose_horizon` (90 days with ≥ 270 days of
history, else a third of the history); the model records the horizon it was trained with.

Each booster stops early: at most 300 rounds at learning rate 0.15, stopping when the loss on a seeded 10 % of its
training rows has not improved for 10 rounds (fewer trees make every prediction — holdout, permutation importance,
scoring — proportionally cheaper).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold

from customer360.ml.features import (
    CHURN_LTV_FEATURES,
    HORIZON_DAYS,
    ID,
    SourceFrames,
    calibration_holdout_split,
    churn_labels,
    to_matrix,
)
from customer360.ml.training import BOOSTER_PARAMS as PARAMS
from customer360.ml.training import MAX_TRAIN_ROWS, SEED, TrainingFrames, feature_importance, importance_sample
from customer360.ml.training import training_frames as cutoff_frames
from customer360.transform.project_vars import churn_probability_threshold

REVISION = 2  # bump when fitting or features change incompatibly: a saved model of another revision refits
CALIBRATION_FOLDS = 3  # cross-validated isotonic calibration on the training rows
CALIBRATION_BINS = 10  # equal-count bins of the holdout probabilities for the calibration error and plot


@dataclass
class ChurnModel:
    features: list[str]
    classifier: Any  # CalibratedClassifierCV (3-fold isotonic) over HistGradientBoostingClassifier
    train_cutoff: str
    validation_cutoff: str
    horizon_days: int
    params: dict[str, Any] = field(default_factory=dict)


ChurnTraining = TrainingFrames  # the label column is ``churned``


def training_frames(
    frames: SourceFrames,
    as_of: date,
    horizon: int = HORIZON_DAYS,
    features_at: Callable[[date], pl.DataFrame] | None = None,
) -> ChurnTraining:
    """Train/validation frames labelled with ``churned`` (customers without a label are dropped)."""
    return cutoff_frames(
        frames,
        as_of,
        horizon,
        lambda features, cut: features.join(churn_labels(frames, cut, horizon), on=ID, how="inner"),
        features_at,
    )


def high_risk(p: np.ndarray) -> np.ndarray:
    """The high-risk tier: ``churn_probability`` above the shared threshold (dbt var ``churn_probability_threshold``)."""
    return np.asarray(p) > churn_probability_threshold()


def calibration_error(y_true: np.ndarray, y_prob: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: the count-weighted mean |observed rate − mean predicted probability| over
    ``bins`` equal-count bins of the predicted probability (0 = perfectly calibrated)."""
    if len(y_true) == 0:
        return float("nan")
    order = np.argsort(y_prob, kind="stable")
    err = 0.0
    for idx in np.array_split(order, min(bins, len(order))):
        err += len(idx) * abs(float(y_true[idx].mean()) - float(y_prob[idx].mean()))
    return err / len(order)


def fit_churn(data: ChurnTraining) -> tuple[ChurnModel, dict[str, Any], dict[str, np.ndarray]]:
    """Fit + calibrate; returns (model, metrics, holdout arrays for plots).

    The training rows are the train fold plus the validation fold's calibration half (the most recent complete
    label window: its feature history is the closest to the scoring day's); the booster is calibrated by 3-fold
    cross-validated isotonic regression on them. The holdout half — other customers — is never seen."""
    feats = list(CHURN_LTV_FEATURES)
    cal, hold = calibration_holdout_split(data.validation)
    pooled = pl.concat([data.train.select(ID, *feats, "churned"), cal.select(ID, *feats, "churned")]).sort(ID)
    train = pooled.sample(n=MAX_TRAIN_ROWS, seed=SEED).sort(ID) if pooled.height > MAX_TRAIN_ROWS else pooled
    y_train = train["churned"].to_numpy()
    if len(np.unique(y_train)) < 2 or np.bincount(y_train).min() < CALIBRATION_FOLDS:
        raise ValueError(f"churn training rows (cutoff {data.train_cutoff}) have a single class: not enough history")
    model = CalibratedClassifierCV(
        HistGradientBoostingClassifier(**PARAMS, random_state=SEED),
        method="isotonic",
        # shuffled: rows are sorted by customer id, i.e. by sign-up day — unshuffled folds would be cohorts
        cv=StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=SEED),
    ).fit(to_matrix(train, feats), y_train)

    x_hold, y_hold = to_matrix(hold, feats), hold["churned"].to_numpy()
    p_hold = model.predict_proba(x_hold)[:, 1]
    metrics: dict[str, Any] = {
        "train_rows": len(y_train),
        "train_fold_rows": int(data.train.height),
        "train_churn_rate": float(y_train.mean()),
        "calibration_rows": int(cal.height),
        "calibration_bins": CALIBRATION_BINS,
        "holdout_rows": len(y_hold),
        "holdout_churn_rate": float(y_hold.mean()) if len(y_hold) else float("nan"),
    }
    if len(np.unique(y_hold)) == 2:
        tier = high_risk(p_hold)
        metrics.update(
            holdout_roc_auc=float(roc_auc_score(y_hold, p_hold)),
            holdout_average_precision=float(average_precision_score(y_hold, p_hold)),
            holdout_accuracy=float(accuracy_score(y_hold, p_hold >= 0.5)),
            holdout_majority_baseline_accuracy=float(max(y_hold.mean(), 1 - y_hold.mean())),
            holdout_balanced_accuracy=float(balanced_accuracy_score(y_hold, p_hold >= 0.5)),
            holdout_brier=float(brier_score_loss(y_hold, p_hold)),
            holdout_calibration_error=calibration_error(y_hold, p_hold),
            holdout_mean_probability=float(p_hold.mean()),
            holdout_uncalibrated_roc_auc=float(roc_auc_score(y_hold, _uncalibrated(model, x_hold))),
            holdout_high_risk_share=float(tier.mean()),
            holdout_high_risk_precision=float(y_hold[tier].mean()) if tier.any() else float("nan"),
        )
    idx = importance_sample(len(y_hold))
    metrics["feature_importance"] = (
        # on one fold's booster: the isotonic step is monotone, so the ranking is the booster's
        feature_importance(model.calibrated_classifiers_[0].estimator, x_hold[idx], y_hold[idx], feats, "roc_auc")
        if len(idx) and len(np.unique(y_hold[idx])) == 2
        else {}
    )
    fitted = ChurnModel(
        features=feats,
        classifier=model,
        train_cutoff=data.train_cutoff.isoformat(),
        validation_cutoff=data.validation_cutoff.isoformat(),
        horizon_days=(data.validation_cutoff - data.train_cutoff).days,
        params={
            **PARAMS,
            "seed": SEED,
            "max_train_rows": MAX_TRAIN_ROWS,
            "training_rows": "train fold + the validation fold's calibration half",
            "calibration": f"isotonic, {CALIBRATION_FOLDS}-fold cross-validated on the training rows",
        },
    )
    return fitted, metrics, {"y": y_hold, "p": p_hold}


def _uncalibrated(model: CalibratedClassifierCV, x: np.ndarray) -> np.ndarray:
    """Mean probability of the cross-validation boosters before their isotonic step."""
    return np.mean([c.estimator.predict_proba(x)[:, 1] for c in model.calibrated_classifiers_], axis=0)


def boosters(model: ChurnModel) -> list[HistGradientBoostingClassifier]:
    """The fitted boosters inside the calibrated classifier (one per calibration fold)."""
    return [c.estimator for c in model.classifier.calibrated_classifiers_]


def score_churn(model: ChurnModel, current: pl.DataFrame) -> pl.DataFrame:
    """customer_id, churn_probability from point-in-time features as of the scoring day."""
    p = model.classifier.predict_proba(to_matrix(current, model.features))[:, 1]
    return pl.DataFrame({ID: current[ID], "churn_probability": pl.Series(np.clip(p, 0.0, 1.0), dtype=pl.Float64)})
