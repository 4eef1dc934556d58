"""Retrain policy of the ML assets: every run scores every customer with the saved model; a refit needs a reason.

A run refits a model (asset config ``refit``, :class:`customer360.ml.assets.MLConfig`) when

* ``refit: true`` — on demand;
* with ``refit: null`` (the default), when no model is saved yet, the saved one cannot be loaded (another
  scikit-learn), its ``revision`` (the model module's ``REVISION``) or its feature set differs from the code's, it
  has no drift reference, a time-split model was fitted as of a later day than the one scored, it is at least ``C360_ML_RETRAIN_DAYS`` days old (:attr:`Settings.ml_retrain_days`,
  7 = weekly; the next run after the interval refits, no schedule needed), or — measured after scoring with it —
  this run's scores drifted from the scores of its fit: population stability index ≥
  :data:`~customer360.ml.thresholds.MAX_SCORE_PSI`;
* never with ``refit: false`` (fails when nothing is saved; drift and age are still measured and reported).

The drift reference is stored in the model's manifest at fit time (``drift_reference``: the fit run's score
distribution at its deciles). Every decision carries a ``refit_reason`` for the materialization metadata, e.g.
``reused: model 2.0 days old < 7, PSI 0.031 < 0.2`` or ``refit: model 7.3 days old ≥ retrain interval 7 days``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from customer360.ml.artifacts import ArtifactNotFound, ArtifactStore, LoadedModel
from customer360.ml.thresholds import MAX_SCORE_PSI

PSI_BINS = 10  # decile bins of the fit's scores
SHARE_FLOOR = 1e-4  # a bin empty on one side counts as this share (the log ratio stays finite)


def utcnow() -> datetime:
    """The clock model ages are measured with (one place, so a test can move it)."""
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------------------------ drift
def _finite(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v[np.isfinite(v)]


def _shares(v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1)
    return counts / max(len(v), 1)


def drift_reference(values: Any, edges: Sequence[float] | None = None, bins: int = PSI_BINS) -> dict[str, Any]:
    """The distribution a later run's scores are compared with: bin edges (the deciles of ``values`` unless
    ``edges`` is given, e.g. category boundaries) and the share of ``values`` in each bin (JSON-ready)."""
    v = _finite(values)
    if edges is None:
        edges = np.unique(np.quantile(v, np.linspace(0.0, 1.0, bins + 1)[1:-1])) if len(v) else np.array([])
    e = np.asarray(edges, dtype=np.float64)
    return {"edges": e.tolist(), "shares": _shares(v, e).tolist(), "rows": len(v)}


def psi(reference: dict[str, Any], values: Any) -> float:
    """Population stability index Σ (a − e)·ln(a / e) of ``values`` (shares a) against ``reference`` (shares e)
    over the reference's bins; NaN when there is nothing to compare."""
    v = _finite(values)
    if not len(v) or not reference.get("rows"):
        return float("nan")
    expected = np.clip(np.asarray(reference["shares"], dtype=np.float64), SHARE_FLOOR, None)
    actual = np.clip(_shares(v, np.asarray(reference["edges"], dtype=np.float64)), SHARE_FLOOR, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


# --------------------------------------------------------------------------------------------------- decision
@dataclass(frozen=True)
class RetrainDecision:
    """Refit or reuse, and why. ``loaded`` is the saved model to score with (None when refitting for a reason
    known before scoring); ``age_days`` / ``psi`` describe that saved model (None when not measured)."""

    refit: bool
    reason: str
    retrain_days: int
    loaded: LoadedModel | None = None
    age_days: float | None = None
    psi: float | None = None
    config: bool | None = None

    def after_scoring(self, drift: float) -> RetrainDecision:
        """The final decision once the saved model's scores of this run are known: refit on drift (``refit:
        null`` only), else reuse with the figures in the reason."""
        if self.refit:
            return self
        measured = drift if np.isfinite(drift) else None
        age = f"model {self.age_days:.1f} days old"
        shown = f"PSI {measured:.3f}" if measured is not None else "PSI not measured"
        if self.config is False:
            return replace(self, psi=measured, reason=f"reused: refit=false ({age}, {shown})")
        if measured is not None and measured >= MAX_SCORE_PSI:
            return replace(
                self, refit=True, psi=measured, reason=f"refit: drift, PSI {measured:.3f} ≥ {MAX_SCORE_PSI} ({age})"
            )
        return replace(self, psi=measured, reason=f"reused: {age} < {self.retrain_days}, {shown} < {MAX_SCORE_PSI}")

    def metadata(self, *, fitted: bool) -> dict[str, Any]:
        """The policy's figures for the materialization (``fitted``: this run's scores come from a new fit)."""
        return {
            "reused_model": not fitted,
            "refit_reason": self.reason,
            "model_age_days": 0.0 if fitted else round(float(self.age_days or 0.0), 2),
            "retrain_days": self.retrain_days,
            "drift_psi": round(self.psi, 4) if self.psi is not None else None,
            "drift_threshold": MAX_SCORE_PSI,
        }


def _age_days(manifest: dict[str, Any], now: datetime) -> float:
    created = datetime.fromisoformat(str(manifest["created_at"]))
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return max((now - created).total_seconds() / 86400.0, 0.0)


def _feature_change(saved: Sequence[str], code: Sequence[str]) -> str | None:
    if list(saved) == list(code):
        return None
    added, removed = sorted(set(code) - set(saved)), sorted(set(saved) - set(code))
    parts = [f"added {', '.join(added)}" if added else "", f"removed {', '.join(removed)}" if removed else ""]
    return "; ".join(p for p in parts if p) or "same features in another order"


def before_scoring(
    store: ArtifactStore,
    model_name: str,
    refit: bool | None,
    *,
    revision: int,
    features: Sequence[str],
    retrain_days: int,
    as_of: date | None = None,
    now: datetime | None = None,
) -> RetrainDecision:
    """Everything decidable before scoring: config, saved model (present, loadable, same revision and features,
    with a drift reference), age, and — for models with a time split (``as_of``: this run's scoring day) — that
    the model was not fitted as of a later day than the one scored (its labels would be this day's future).
    ``refit: false`` loads the latest model whatever it is (raises :class:`ArtifactNotFound` when none is saved)."""
    base = RetrainDecision(refit=True, reason="", retrain_days=retrain_days, config=refit)
    if refit is True:
        return replace(base, reason="refit: requested (refit=true)")
    if refit is None and store.latest_version(model_name) is None:
        return replace(base, reason="refit: no saved model yet")
    try:
        loaded = store.load(model_name)
    except ArtifactNotFound as exc:
        if refit is False:
            raise
        return replace(base, reason=f"refit: {exc}")
    age = _age_days(loaded.manifest, now or utcnow())
    found = replace(base, refit=False, loaded=loaded, age_days=age)
    if refit is False:
        return replace(found, reason="reused: refit=false")
    manifest = loaded.manifest
    if "revision" not in manifest:
        return replace(
            found,
            refit=True,
            loaded=None,
            reason="refit: saved model predates the retrain policy (no revision, no drift reference)",
        )
    if manifest["revision"] != revision:
        return replace(
            found,
            refit=True,
            loaded=None,
            reason=f"refit: saved model is revision {manifest.get('revision')}, the code's is {revision}",
        )
    change = _feature_change(manifest.get("features", []), features)
    if change:
        return replace(found, refit=True, loaded=None, reason=f"refit: feature set changed ({change})")
    if "drift_reference" not in manifest:
        return replace(
            found,
            refit=True,
            loaded=None,
            reason="refit: saved model has no drift reference (fitted before the retrain policy)",
        )
    fitted_as_of = (manifest.get("training_window") or {}).get("as_of")
    if as_of is not None and fitted_as_of and date.fromisoformat(fitted_as_of) > as_of:
        return replace(
            found,
            refit=True,
            loaded=None,
            reason=f"refit: model fitted as of {fitted_as_of}, after this run's as_of {as_of.isoformat()}",
        )
    if age >= retrain_days:
        return replace(
            found,
            refit=True,
            loaded=None,
            reason=f"refit: model {age:.1f} days old ≥ retrain interval {retrain_days} days",
        )
    return replace(found, reason="reuse pending the drift measure")


def measure_drift(decision: RetrainDecision, values: Any) -> RetrainDecision:
    """:meth:`RetrainDecision.after_scoring` with the PSI of ``values`` against the saved model's reference."""
    if decision.refit or decision.loaded is None:
        return decision
    reference = decision.loaded.manifest.get("drift_reference")
    return decision.after_scoring(psi(reference, values) if reference else float("nan"))
