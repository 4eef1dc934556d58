"""The ``warehouse`` resource: selects the engine (``C360_WAREHOUSE``) and builds it once per run.

A :class:`dagster.ConfigurableResource` whose ``create_resource`` vends the engine: what assets receive is the
engine itself, a :class:`~customer360.resources.warehouse.Warehouse` (annotate ``dg.ResourceParam[Warehouse]``).
The engine modules — and duckdb or the Snowflake connector with them — are imported when a run builds the engine, never
when the code location loads. Outside Dagster (CLI, benchmarks, tests) :meth:`WarehouseResource.build` gives
the same engine.
"""

import dagster as dg
from pydantic import Field

from customer360.resources.warehouse import ENGINES, Warehouse
from customer360.settings import DEFAULT_DUCKDB_MEMORY_LIMIT


class WarehouseResource(dg.ConfigurableResource):
    """The ``warehouse`` resource. ``engine`` selects the implementation (``C360_WAREHOUSE``)."""

    engine: str = Field(default="duckdb", description="duckdb | snowflake (env C360_WAREHOUSE).")
    duckdb_path: str = Field(
        default="data/warehouse.duckdb", description="DuckDB database file (env C360_DUCKDB_PATH)."
    )
    duckdb_memory_limit: str = Field(
        default=DEFAULT_DUCKDB_MEMORY_LIMIT,
        description="DuckDB memory ceiling; beyond it DuckDB spills to <file>.tmp (env C360_DUCKDB_MEMORY_LIMIT).",
    )
    duckdb_threads: int | None = Field(
        default=None, description="DuckDB threads; unset = every core (env C360_DUCKDB_THREADS)."
    )
    lock_timeout_seconds: float = Field(
        default=120.0,
        description="DuckDB: how long to wait for another process's write lock on the file before failing.",
    )

    def build(self) -> Warehouse:
        """THE switch point between engines: adding one means a :class:`Warehouse` class and a branch here."""
        engine = self.engine.strip().lower()
        if engine == "duckdb":
            from customer360.resources.duckdb_limits import DuckDBLimits
            from customer360.resources.duckdb_warehouse import DuckDBWarehouse

            limits = DuckDBLimits.of(self.duckdb_memory_limit, self.duckdb_threads)
            return DuckDBWarehouse(self.duckdb_path, lock_timeout_seconds=self.lock_timeout_seconds, limits=limits)
        if engine == "snowflake":
            from customer360.resources.snowflake_warehouse import SnowflakeWarehouse

            return SnowflakeWarehouse.from_env()
        raise ValueError(f"unknown warehouse engine {self.engine!r}: expected one of {ENGINES}")

    def create_resource(self, context: dg.InitResourceContext) -> Warehouse:
        return self.build()
