"""Raw ingestion: landing files → ``raw.<source>``, with contracts, quarantine and arrival sensors."""

import dagster as dg

from customer360.ingestion.assets import build_raw_assets, raw_asset_key
from customer360.ingestion.sensors import build_arrival_sensors
from customer360.settings import Settings


def ingestion_definitions(settings: Settings) -> dg.Definitions:
    """The raw assets (with their quarantine checks) and the arrival sensors."""
    return dg.Definitions(assets=build_raw_assets(settings), sensors=build_arrival_sensors(settings))


__all__ = ["build_arrival_sensors", "build_raw_assets", "ingestion_definitions", "raw_asset_key"]
