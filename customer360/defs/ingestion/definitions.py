"""Raw ingestion: the raw assets (with their quarantine checks) and the arrival sensors."""

import dagster as dg

from customer360.ingestion import build_arrival_sensors, build_raw_assets
from customer360.settings import get_settings


@dg.definitions
def defs() -> dg.Definitions:
    settings = get_settings()
    return dg.Definitions(assets=build_raw_assets(settings), sensors=build_arrival_sensors(settings))
