"""The ``warehouse`` (DuckDB | Snowflake) and ``landing`` (landing zone + quarantine) resources."""

import dagster as dg

from customer360.resources import build_resources
from customer360.settings import get_settings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(resources=build_resources(get_settings()))
