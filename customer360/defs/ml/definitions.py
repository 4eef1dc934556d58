"""The ML scores: segments, fraud risk, churn and LTV (they need the ``warehouse`` resource)."""

import dagster as dg

from customer360.ml.assets import build_ml_assets
from customer360.settings import get_settings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_ml_assets(get_settings()))
