"""The retrain policy on its own: PSI, and every reason to refit or to reuse a saved model."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from customer360.ml import retrain
from customer360.ml.artifacts import ArtifactNotFound, ArtifactStore
from customer360.ml.thresholds import MAX_SCORE_PSI

FIT_AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
FEATURES = ["x", "y"]


def _store(tmp_path, **manifest) -> ArtifactStore:
    store = ArtifactStore.from_url(str(tmp_path / "artifacts"))
    model = LogisticRegression().fit([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], [0, 0, 1, 1])
    reference = retrain.drift_reference(np.random.default_rng(1).uniform(size=2_000))
    manifest = {
        "revision": 1,
        "features": FEATURES,
        "drift_reference": reference,
        "training_window": {"as_of": "2026-03-01"},
        **manifest,
    }
    store.save("m", model, manifest, now=FIT_AT)
    return store


def _decide(store, refit=None, *, days_later=2.0, revision=1, features=FEATURES, as_of=None):
    return retrain.before_scoring(
        store,
        "m",
        refit,
        revision=revision,
        features=features,
        retrain_days=7,
        as_of=as_of,
        now=FIT_AT + timedelta(days=days_later),
    )


def test_psi_is_near_zero_for_the_same_population_and_large_for_a_shifted_one():
    rng = np.random.default_rng(7)
    ref = retrain.drift_reference(rng.beta(2, 5, 5_000))
    assert len(ref["edges"]) == 9 and abs(sum(ref["shares"]) - 1) < 1e-9
    assert retrain.psi(ref, rng.beta(2, 5, 5_000)) < 0.02
    assert retrain.psi(ref, rng.beta(5, 2, 5_000)) > 1.0
    # categories (segment ids): one bin each, a moved share is measured
    cats = retrain.drift_reference([1] * 50 + [2] * 50, edges=[1.5])
    assert cats["shares"] == [0.5, 0.5]
    assert retrain.psi(cats, [1] * 50 + [2] * 50) == 0.0
    assert retrain.psi(cats, [1] * 90 + [2] * 10) == pytest.approx(0.4 * np.log(0.9 / 0.5) + 0.4 * np.log(0.5 / 0.1))
    assert np.isnan(retrain.psi(cats, []))


def test_a_young_model_without_drift_is_reused_with_the_reason(tmp_path):
    store = _store(tmp_path)
    pending = _decide(store)
    assert not pending.refit and pending.loaded.version == store.latest_version("m")
    assert pending.age_days == pytest.approx(2.0)
    assert not _decide(store, as_of=date(2026, 3, 1)).refit  # scoring the day it was fitted as of, or later
    final = pending.after_scoring(0.031)
    assert not final.refit and final.reason == f"reused: model 2.0 days old < 7, PSI 0.031 < {MAX_SCORE_PSI}"
    md = final.metadata(fitted=False)
    assert md == {
        "reused_model": True,
        "refit_reason": final.reason,
        "model_age_days": 2.0,
        "retrain_days": 7,
        "drift_psi": 0.031,
        "drift_threshold": MAX_SCORE_PSI,
    }


def test_drift_at_the_threshold_refits(tmp_path):
    final = _decide(_store(tmp_path)).after_scoring(MAX_SCORE_PSI)
    assert final.refit and final.reason.startswith(f"refit: drift, PSI {MAX_SCORE_PSI:.3f} ≥ {MAX_SCORE_PSI}")
    assert final.metadata(fitted=True)["model_age_days"] == 0.0 and final.psi == MAX_SCORE_PSI


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"days_later": 7.25}, "refit: model 7.2 days old ≥ retrain interval 7 days"),
        ({"refit": True}, "refit: requested (refit=true)"),
        ({"revision": 2}, "refit: saved model is revision 1, the code's is 2"),
        ({"features": ["x", "z"]}, "refit: feature set changed (added z; removed y)"),
        ({"as_of": date(2026, 2, 20)}, "refit: model fitted as of 2026-03-01, after this run's as_of 2026-02-20"),
    ],
)
def test_reasons_to_refit_before_scoring(tmp_path, kwargs, reason):
    decision = _decide(_store(tmp_path), **kwargs)
    assert decision.refit and decision.loaded is None and decision.reason == reason


def test_no_model_or_no_drift_reference_refits_and_refit_false_never_does(tmp_path):
    empty = ArtifactStore.from_url(str(tmp_path / "empty"))
    assert _decide(empty).reason == "refit: no saved model yet"
    with pytest.raises(ArtifactNotFound):
        _decide(empty, refit=False)
    legacy = ArtifactStore.from_url(str(tmp_path / "legacy"))
    legacy.save("m", LogisticRegression().fit([[0.0], [1.0]], [0, 1]), {"features": FEATURES})
    assert _decide(legacy).reason == "refit: saved model predates the retrain policy (no revision, no drift reference)"
    legacy.save("m", LogisticRegression().fit([[0.0], [1.0]], [0, 1]), {"features": FEATURES, "revision": 1})
    assert _decide(legacy).reason == "refit: saved model has no drift reference (fitted before the retrain policy)"
    # refit=false: an old, drifted model is still reused, and the reason says what was measured
    never = _decide(_store(tmp_path / "n"), refit=False, days_later=30, revision=9).after_scoring(0.9)
    assert not never.refit and never.reason == "reused: refit=false (model 30.0 days old, PSI 0.900)"


def test_the_retrain_interval_is_one_setting(monkeypatch):
    from customer360.settings import Settings

    monkeypatch.delenv("C360_ML_RETRAIN_DAYS", raising=False)
    assert Settings.from_env().ml_retrain_days == 7
    monkeypatch.setenv("C360_ML_RETRAIN_DAYS", "30")
    assert Settings.from_env().ml_retrain_days == 30
    monkeypatch.setenv("C360_ML_RETRAIN_DAYS", "0")
    with pytest.raises(ValueError, match="C360_ML_RETRAIN_DAYS must be a positive integer"):
        Settings.from_env()
