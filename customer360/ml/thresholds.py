"""Quality thresholds of the ML scores, each with the reason for its value.

The models use some of them (the k-means k rule, the fraud tier quantiles); the quality asset checks
(:mod:`customer360.ml.checks`) compare every materialization against all of them and WARN when one is missed.
Dependency-free, so the code location can describe the checks without importing scikit-learn. Each reason is the
docstring under its constant; :func:`reason` returns it (the check descriptions quote it).
"""

import ast
import functools
import inspect
import itertools
import sys

# --- segments ---------------------------------------------------------------------------------------------------
MIN_SEGMENT_SHARE = 0.02
"""Smallest segment as a share of customers. k is only chosen among clusterings where every segment reaches it
(a segment below 2 % is too small to target a campaign at and is usually k-means splitting off a few outliers);
a reused model can still produce one on new data, which the check reports."""

# --- fraud risk -------------------------------------------------------------------------------------------------
HIGH_TIER_QUANTILE = 0.99
"""The high tier starts at this quantile of the training anomaly scores (top 1 %)."""
MEDIUM_TIER_QUANTILE = 0.95
"""The medium tier starts at this quantile (the next 4 %)."""
HIGH_TIER_SHARE_BAND = (0.005, 0.02)
"""Acceptable share of customers in the high tier when scored: half to twice the 1 % the cut was fitted for.
Outside it the scored population has moved away from the fitted model (or fraud surged) and the review queue the
high tier feeds is mis-sized: investigate, or refit."""

# --- churn ------------------------------------------------------------------------------------------------------
MIN_CHURN_HOLDOUT_AUC = 0.70
"""Holdout ROC-AUC floor. The model measures ≈ 0.86 on the benchmark data (BENCHMARKS.md); below 0.70 the ranking
behind the retention alerts is weak enough that a broken feature or label is the likelier cause than noise."""
MAX_CHURN_CALIBRATION_ERROR = 0.05
"""Largest holdout expected calibration error (10 equal-count bins). ``churn_probability > 0.7`` is read as a
probability; miscalibrated by more than 5 points on average, the high-risk list no longer means what it says."""
CALIBRATION_NOISE_Z = 2.0
"""On top of the threshold the calibration check allows what sampling noise gives a perfectly calibrated model:
with σ = sqrt(0.25·bins/n) the largest standard error of one bin's observed rate, the mean |error| over the bins is
about sqrt(2/π)·σ, plus this many standard errors of that mean (sqrt((1 − 2/π)/bins)·σ). On a small holdout noise
alone exceeds 5 points; at 10,000+ holdout customers the allowance is under 2 points."""

# --- LTV --------------------------------------------------------------------------------------------------------
MAX_LTV_RMSE_VS_NAIVE = 1.0
"""Holdout RMSE of the model over the RMSE of the naive baseline (everyone keeps spending at their long-run rate).
A model that does not beat it adds nothing over a spreadsheet. Squared error because predicted_ltv is an
expected value (MAE would reward predicting the median, ≈ 0 for mostly-zero spend)."""
MAX_LTV_HOLDOUT_BIAS = 0.20
"""Largest |mean predicted / mean realised − 1| of the holdout spend. The executive scorecard sums
``predicted_ltv``: a level error above 20 % misstates the revenue outlook beyond a planning tolerance."""

# --- retrain policy (all models) ---------------------------------------------------------------------------------
MAX_SCORE_PSI = 0.2
"""Population stability index of this run's scores against the scores of the saved model's fit (10 bins at the
fit's deciles) above which the model is refitted now instead of at its scheduled age. The credit-scoring rule of
thumb reads < 0.1 as stable, 0.1–0.25 as a moderate shift and > 0.25 as a major one; 0.2 refits inside the moderate
band, before a shift is major, while sampling noise alone (≈ 9 × (1/n_fit + 1/n_now), 0.01 at 1,600 customers) and
the day-to-day change of a daily rebuild stay well below it."""


@functools.cache
def _reasons() -> dict[str, str]:
    body = ast.parse(inspect.getsource(sys.modules[__name__])).body
    out = {}
    for node, nxt in itertools.pairwise(body):
        if isinstance(node, ast.Assign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = " ".join(str(nxt.value.value).split())
    return out


def reason(name: str) -> str:
    """The documented reason of threshold ``name``."""
    return _reasons()[name]
