"""DuckDB's resource limits, one statement for every process that opens the warehouse file.

The warehouse engine (:class:`~customer360.resources.duckdb_warehouse.DuckDBWarehouse`) opens its connections with
:meth:`DuckDBLimits.connect_config`; the dbt subprocess gets the same values through :meth:`DuckDBLimits.dbt_env`,
which ``dbt_project/profiles.yml`` applies as DuckDB ``settings``. Beyond ``memory_limit`` DuckDB's joins, aggregates,
sorts and window functions spill to ``temp_directory`` (``<warehouse file>.tmp``, DuckDB's own default for a file
database, set explicitly because dbt's primary database is an in-memory one). What DuckDB hands to Python (Arrow,
polars) is outside the limit: the steps that read large results read them in batches (README "Memory").

No duckdb import here: the code location builds the resources without loading DuckDB.
"""

import os
from dataclasses import dataclass, field

from customer360.settings import DEFAULT_DUCKDB_MEMORY_LIMIT


@dataclass(frozen=True)
class DuckDBLimits:
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)  # DuckDB's own default: every core

    @classmethod
    def of(cls, memory_limit: str, threads: int | None) -> "DuckDBLimits":
        """The limits a resource is configured with (``threads`` None: every core)."""
        return cls(memory_limit, threads) if threads else cls(memory_limit)

    @staticmethod
    def temp_directory(path: str) -> str | None:
        """Where DuckDB spills: next to the warehouse file (None for an in-memory database: DuckDB's default)."""
        return None if path == ":memory:" else f"{path}.tmp"

    def connect_config(self, path: str) -> dict[str, str]:
        """``duckdb.connect(path, config=...)`` for the warehouse file at ``path``."""
        config = {"memory_limit": self.memory_limit, "threads": str(self.threads)}
        temp = self.temp_directory(path)
        if temp is not None:
            config["temp_directory"] = temp
        return config

    def dbt_env(self, path: str) -> dict[str, str]:
        """The variables ``dbt_project/profiles.yml`` reads for the same limits on dbt's DuckDB instance."""
        return {
            "C360_DUCKDB_MEMORY_LIMIT": self.memory_limit,
            "C360_DUCKDB_THREADS": str(self.threads),
            "C360_DUCKDB_TEMP_DIRECTORY": self.temp_directory(path),
        }
