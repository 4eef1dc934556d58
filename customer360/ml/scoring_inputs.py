"""The churn/LTV inputs of one run, read and computed only as far as the run needs them.

A scoring-only run (both models reused, :mod:`customer360.ml.retrain`) reads the scoring frames
(:func:`~customer360.ml.features.load_scoring_frames`) and computes the point-in-time features at the effective
as_of day only. A refit additionally reads the whole history (:func:`~customer360.ml.features.load_source_frames`)
and computes the training cutoffs' features — once, shared by churn and LTV — and the horizon.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from customer360.ml.contracts import churn_ltv_features_schema, validate
from customer360.ml.features import (
    SourceFrames,
    choose_horizon,
    effective_as_of,
    load_scoring_frames,
    load_source_frames,
    point_in_time_features,
)


class PointInTimeInputs:
    """Staging frames and contract-checked point-in-time features per cutoff, loaded on first use.

    ``warehouse``: read from it (scoring frames first, the full history on the first training request);
    ``frames``: full frames already in memory (tests, benchmarks) — then nothing is read."""

    def __init__(self, requested_as_of: date | None, *, warehouse: Any = None, frames: SourceFrames | None = None):
        if (warehouse is None) == (frames is None):
            raise ValueError("PointInTimeInputs needs exactly one of warehouse= or frames=")
        self.requested_as_of = requested_as_of
        self._warehouse = warehouse
        self._full = frames
        self._scoring: SourceFrames | None = None
        self._features: dict[date, pl.DataFrame] = {}
        self._as_of: date | None = None
        self._schema = churn_ltv_features_schema()
        self.cutoffs_computed: list[date] = []  # in order: the evidence of what this run computed

    def _scoring_frames(self) -> SourceFrames:
        if self._full is not None:
            return self._full
        if self._scoring is None:
            self._scoring = load_scoring_frames(self._warehouse, self.requested_as_of)
        return self._scoring

    @property
    def as_of(self) -> date:
        """The effective scoring day (:func:`~customer360.ml.features.effective_as_of`)."""
        if self._as_of is None:
            self._as_of = effective_as_of(self._scoring_frames(), self.requested_as_of)
        return self._as_of

    @property
    def history_loaded(self) -> bool:
        return self._full is not None

    def training_frames(self) -> SourceFrames:
        """The whole history (read once, on the first call)."""
        if self._full is None:
            self._full = load_source_frames(self._warehouse)
        return self._full

    def horizon(self) -> int:
        return choose_horizon(self.training_frames(), self.as_of)

    def features_at(self, cutoff: date) -> pl.DataFrame:
        """Features as of ``cutoff``, computed and checked once per run; the as_of day from the scoring frames
        (exactly what the full history gives), any other cutoff from the full history."""
        if cutoff not in self._features:
            frames = self._scoring_frames() if cutoff == self.as_of else self.training_frames()
            self._features[cutoff] = validate(self._schema, point_in_time_features(frames, cutoff))
            self.cutoffs_computed.append(cutoff)
        return self._features[cutoff]

    def current(self) -> pl.DataFrame:
        """The scoring features: every customer who signed up before the as_of day."""
        return self.features_at(self.as_of)
