"""Resources of the code location, built in one place from the environment settings.

``warehouse`` (DuckDB by default, Snowflake behind the same interface) and ``landing`` (landing zone and
quarantine, local folder or S3). Other resources (``dbt``) are added by their own modules.
"""

from customer360.resources.landing import LandingResource
from customer360.resources.warehouse import RawFile, Warehouse, validate_identifier
from customer360.resources.warehouse_resource import WarehouseResource
from customer360.settings import Settings, get_settings


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    """The resources keyed as the assets expect them: ``warehouse`` and ``landing``."""
    settings = settings or get_settings()
    return {
        "warehouse": WarehouseResource(
            engine=settings.warehouse,
            duckdb_path=settings.duckdb_path,
            duckdb_memory_limit=settings.duckdb_memory_limit,
            duckdb_threads=settings.duckdb_threads,
        ),
        "landing": LandingResource(landing_url=settings.landing_url, quarantine_url=settings.quarantine_url),
    }


__all__ = [
    "LandingResource",
    "RawFile",
    "Warehouse",
    "WarehouseResource",
    "build_resources",
    "validate_identifier",
]
