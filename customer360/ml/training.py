"""The point-in-time training frames shared by the supervised models (churn, LTV): two cutoffs, one horizon apart.

Train on features at ``as_of - 2·horizon`` labelled by the following horizon, validate on features at
``as_of - horizon`` labelled up to ``as_of``: no label ever looks past the scoring day.

Both models fit the same gradient-boosted trees (:data:`BOOSTER_PARAMS`: at most 300 rounds at learning rate 0.15,
stopping early when the loss on a seeded 10 % of the training rows has not improved for 10 rounds) on at most
:data:`MAX_TRAIN_ROWS` seeded training rows, and rank their features by permutation importance on a seeded sample of
at most :data:`IMPORTANCE_ROWS` holdout rows (:func:`feature_importance`, metadata only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sklearn.inspection import permutation_importance

from customer360.ml.features import SourceFrames, point_in_time_features

SEED = 42
MAX_TRAIN_ROWS = 60_000  # seeded sample of the training rows: fit time is linear in rows, quality flat above this
IMPORTANCE_ROWS = 2_000  # seeded sample of the holdout rows for permutation importance (metadata only)
BOOSTER_PARAMS = {
    "max_iter": 300,
    "learning_rate": 0.15,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
}


@dataclass
class TrainingFrames:
    """Training frames (already point-in-time) — what the fingerprint is computed on."""

    train: pl.DataFrame  # customer_id, features..., the label column
    validation: pl.DataFrame
    train_cutoff: date
    validation_cutoff: date


def training_frames(
    frames: SourceFrames,
    as_of: date,
    horizon: int,
    label: Callable[[pl.DataFrame, date], pl.DataFrame],
    features_at: Callable[[date], pl.DataFrame] | None = None,
) -> TrainingFrames:
    """Train/validation frames: ``label(features, cutoff)`` adds the label; ``features_at`` lets churn and LTV share
    one feature computation per cutoff."""
    train_cut, val_cut = as_of - timedelta(days=2 * horizon), as_of - timedelta(days=horizon)
    features_at = features_at or (lambda cut: point_in_time_features(frames, cut))
    return TrainingFrames(
        label(features_at(train_cut), train_cut), label(features_at(val_cut), val_cut), train_cut, val_cut
    )


def importance_sample(rows: int) -> np.ndarray:
    """Seeded positions of at most :data:`IMPORTANCE_ROWS` of ``rows`` rows, for permutation importance."""
    return np.random.default_rng(SEED).choice(rows, size=min(IMPORTANCE_ROWS, rows), replace=False)


def feature_importance(
    estimator: Any, x: np.ndarray, y: np.ndarray, features: list[str], scoring: str
) -> dict[str, float]:
    """Permutation importance of each feature (mean of 2 seeded repeats), the most important first."""
    pi = permutation_importance(estimator, x, y, scoring=scoring, n_repeats=2, random_state=SEED, n_jobs=1)
    importances = {f: float(v) for f, v in zip(features, pi.importances_mean, strict=True)}
    return dict(sorted(importances.items(), key=lambda kv: -kv[1]))
