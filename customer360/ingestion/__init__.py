"""Raw ingestion: landing files → ``raw.<source>``, with contracts, quarantine and arrival sensors.

The layer's entry point is ``customer360/defs/ingestion/definitions.py``.
"""

from customer360.ingestion.assets import build_raw_assets, raw_asset_key
from customer360.ingestion.sensors import build_arrival_sensors

__all__ = ["build_arrival_sensors", "build_raw_assets", "raw_asset_key"]
