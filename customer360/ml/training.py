"""The point-in-time training frames shared by the supervised models (churn, LTV): two cutoffs, one horizon apart.

Train on features at ``as_of - 2·horizon`` labelled by the following horizon, validate on features at
``as_of - horizon`` labelled up to ``as_of``: no label ever looks past the scoring day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from customer360.ml.features import SourceFrames, point_in_time_features


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
