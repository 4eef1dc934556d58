"""The churn/LTV inputs of one run, read and computed only as far as the run needs them.

A scoring-only run (both models reused, :mod:`customer360.ml.retrain`) reads the scoring frames
(:func:`~customer360.ml.features.load_scoring_frames`) and computes the point-in-time features at the effective
as_of day only. A refit additionally reads the whole history (:func:`~customer360.ml.features.load_source_frames`)
and computes the training cutoffs' features — once, shared by churn and LTV — and the horizon.

Memory (README "Memory"): above :data:`SCORING_BATCH_CUSTOMERS` customers the as-of features are computed in
customer batches — each batch reads only its customers' rows (:func:`~customer360.ml.features.load_scoring_batch`),
with the as_of day and the feeds' first day computed once over everyone
(:func:`~customer360.ml.features.scoring_bounds`) — so the scoring path holds one batch of staging rows at a time,
not every customer's history; the result is the same frame (``customer360_tests/ml/test_scoring_batches.py``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from customer360.ml.contracts import churn_ltv_features_schema, validate
from customer360.ml.features import (
    ID,
    CustomerSample,
    ScoringBounds,
    SourceFrames,
    choose_horizon,
    customer_ranges,
    effective_as_of,
    load_scoring_batch,
    load_scoring_frames,
    load_source_frames,
    point_in_time_features,
    scoring_bounds,
)
from customer360.settings import Settings

# the defaults of C360_ML_SCORING_BATCH_CUSTOMERS / C360_ML_TRAINING_CUSTOMERS (customer360/settings.py)
SCORING_BATCH_CUSTOMERS = Settings.ml_scoring_batch_customers
TRAINING_SAMPLE_CUSTOMERS = Settings.ml_training_customers


class PointInTimeInputs:
    """Staging frames and contract-checked point-in-time features per cutoff, loaded on first use.

    ``warehouse``: read from it (scoring frames first, the training history on the first training request: every
    customer's, or a :class:`~customer360.ml.features.CustomerSample` of ``training_customers`` when there are
    more); ``frames``: full frames already in memory (tests, benchmarks) — then nothing is read or sampled."""

    def __init__(
        self,
        requested_as_of: date | None,
        *,
        warehouse: Any = None,
        frames: SourceFrames | None = None,
        batch_customers: int = SCORING_BATCH_CUSTOMERS,
        training_customers: int = TRAINING_SAMPLE_CUSTOMERS,
    ):
        if (warehouse is None) == (frames is None):
            raise ValueError("PointInTimeInputs needs exactly one of warehouse= or frames=")
        self.requested_as_of = requested_as_of
        self._warehouse = warehouse
        self._given = frames
        self._history: SourceFrames | None = frames
        self._batch_customers = batch_customers
        self._training_customers = training_customers
        self.training_sample: CustomerSample | None = None  # the sample a refit trained on (None: not read yet)
        self._ranges: list | None = None  # customer ranges of the as-of features (warehouse only)
        self._bounds: ScoringBounds | None = None  # their shared as_of and feed start (more than one range)
        self._scoring: SourceFrames | None = None
        self._features: dict[date, pl.DataFrame] = {}
        self._as_of: date | None = None
        self._schema = churn_ltv_features_schema()
        self.cutoffs_computed: list[date] = []  # in order: the evidence of what this run computed

    def _scoring_frames(self) -> SourceFrames:
        if self._given is not None:
            return self._given
        if self._scoring is None:
            self._scoring = load_scoring_frames(self._warehouse, self.requested_as_of)
        return self._scoring

    def _batched(self) -> bool:
        """True when the as-of features are computed in customer batches (warehouse, more customers than a batch)."""
        if self._warehouse is None:
            return False
        if self._ranges is None:
            self._ranges = customer_ranges(self._warehouse, self._batch_customers)
        return len(self._ranges) > 1

    @property
    def batches(self) -> int:
        """How many customer batches the as-of features are computed in (1 from frames)."""
        return len(self._ranges) if self._batched() else 1

    @property
    def as_of(self) -> date:
        """The effective scoring day (:func:`~customer360.ml.features.effective_as_of`)."""
        if self._as_of is None:
            if self._batched():
                self._bounds = scoring_bounds(self._warehouse, self.requested_as_of)
                self._as_of = self._bounds.as_of
            else:
                self._as_of = effective_as_of(self._scoring_frames(), self.requested_as_of)
        return self._as_of

    def _as_of_features(self) -> pl.DataFrame:
        """The features at the as_of day: from the scoring frames, or batch by batch (each checked on its own)."""
        if not self._batched():
            return validate(self._schema, point_in_time_features(self._scoring_frames(), self.as_of))
        as_of, bounds = self.as_of, self._bounds
        parts = [
            validate(
                self._schema,
                point_in_time_features(load_scoring_batch(self._warehouse, bounds, r), as_of, bounds.feed_start),
            )
            for r in self._ranges
        ]
        return pl.concat(parts, how="vertical")

    @property
    def history_loaded(self) -> bool:
        return self._history is not None

    def training_frames(self) -> SourceFrames:
        """The whole history of the training customers (read once, on the first call)."""
        if self._history is None:
            population = self._warehouse.query(f"select count(distinct {ID}) as n from staging.stg_customers")["n"][0]
            self.training_sample = CustomerSample.of_size(self._training_customers, int(population))
            self._history = load_source_frames(self._warehouse, within=self.training_sample)
        return self._history

    def horizon(self) -> int:
        return choose_horizon(self.training_frames(), self.as_of)

    def features_at(self, cutoff: date) -> pl.DataFrame:
        """Features as of ``cutoff``, computed and checked once per run; the as_of day from the scoring frames or
        their customer batches (exactly what the full history gives), any other cutoff from the full history."""
        if cutoff not in self._features:
            if cutoff == self.as_of:
                self._features[cutoff] = self._as_of_features()
            else:
                self._features[cutoff] = validate(self._schema, point_in_time_features(self.training_frames(), cutoff))
            self.cutoffs_computed.append(cutoff)
        return self._features[cutoff]

    def current(self) -> pl.DataFrame:
        """The scoring features: every customer who signed up before the as_of day."""
        return self.features_at(self.as_of)
