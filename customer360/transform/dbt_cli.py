"""dagster-dbt's ``DbtCliResource`` for customer360, with two start-up costs removed and the warehouse path pinned. Imported by
a dbt step only (through :class:`customer360.transform.resource.C360DbtResource`), never by the code location.

Measured on this machine (STACK_NOTES): each dbt step in Dagster paid ≈ 3 s for a ``dbt --version`` subprocess
(dagster-dbt asks the executable whether it is dbt Core or Fusion) and ≈ 1.7 s for an in-process adapter load that
only ``fetch_row_counts()`` / ``fetch_column_metadata()`` need. Here the version comes from the installed dbt-core
package (the executable is this environment's own ``dbt``) and the adapter is loaded only when
``fetch_metadata`` is on and the warehouse is not DuckDB (on DuckDB the metadata is read from the file directly:
:mod:`customer360.transform.warehouse_metadata`). Both override private dagster-dbt members: dagster-dbt is pinned in pyproject.toml and
``customer360_tests/transform/test_dagster_dbt.py`` fails if the hooks stop being called.

The DuckDB file path is passed to the dbt subprocess as an absolute ``C360_DUCKDB_PATH`` (dbt runs with the project
folder as its working directory, so a relative path would point elsewhere than the warehouse resource's), with
DuckDB's memory ceiling, threads and spill folder (:class:`customer360.resources.duckdb_limits.DuckDBLimits`). The
profile attaches that file under the fixed catalog name ``warehouse``.

Partial parsing survives across runs: each invocation starts from the newest parse state dbt wrote for the same
profile (same target and warehouse file) and keeps the one it writes (:mod:`customer360.transform.parse_cache`,
:meth:`C360DbtCliResource.keep_parse_state`).
"""

import os
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from customer360.resources.duckdb_limits import DuckDBLimits
from customer360.settings import DEFAULT_DUCKDB_MEMORY_LIMIT
from customer360.transform import parse_cache
from customer360.transform.resource import env_overrides


class C360DbtCliResource(DbtCliResource):
    """``DbtCliResource`` for customer360 (see module docstring)."""

    duckdb_path: str | None = None
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT  # DuckDB's limits, as the warehouse engine's
    duckdb_threads: int | None = None  # None: every core
    fetch_metadata: bool = False

    @cached_property
    def _cli_version(self) -> version.Version:  # dagster-dbt 0.29: runs `dbt --version` otherwise
        from dbt.version import __version__ as installed

        return version.parse(installed)

    def _initialize_dbt_core_adapter(self, args):  # dagster-dbt 0.29: always loads the adapter otherwise
        if not self.fetch_metadata or self.duckdb_path:  # DuckDB: customer360.transform.warehouse_metadata
            return None
        return super()._initialize_dbt_core_adapter(args)

    def cli(self, args, **kwargs):
        # A subset run (Dagster splits the dbt assets around the ML assets) must not pull in tests on models built
        # later: dbt's default "eager" selection runs e.g. dim_customers ↔ fct_customer_value relationship tests
        # before fct_customer_value exists, which fails a fresh build. "buildable" runs a test once all its parents
        # are selected or upstream of the selection. An explicit DBT_INDIRECT_SELECTION wins.
        # dbt's own variable: only its presence is looked at, so that an explicit choice reaches dbt unchanged
        overrides = {} if os.environ.get("DBT_INDIRECT_SELECTION") else {"DBT_INDIRECT_SELECTION": "buildable"}
        if self.duckdb_path:
            overrides["C360_DUCKDB_PATH"] = self.resolved_duckdb_path()
            overrides.update(self._duckdb_limits().dbt_env(overrides["C360_DUCKDB_PATH"]))
        if kwargs.get("target_path") is None:  # dagster-dbt's own unique folder, seeded with this profile's state
            kwargs["target_path"] = self._get_unique_target_path(context=kwargs.get("context"))
            parse_cache.seed(self._absolute(kwargs["target_path"]), self._parse_state_file())
        with env_overrides(overrides):
            return super().cli(args, **kwargs)

    def keep_parse_state(self, invocation) -> bool:
        """After a dbt invocation: keep the partial-parse state it wrote for the next invocation (same profile)."""
        return parse_cache.keep(self._absolute(invocation.target_path), self._parse_state_file())

    def _duckdb_limits(self) -> DuckDBLimits:
        return DuckDBLimits.of(self.duckdb_memory_limit, self.duckdb_threads)

    def resolved_duckdb_path(self) -> str:
        return str(Path(self.duckdb_path).expanduser().resolve())

    def _absolute(self, target_path) -> Path:
        return target_path if Path(target_path).is_absolute() else Path(self.project_dir) / target_path

    def _parse_state_file(self) -> Path:
        from dagster_dbt.core.dbt_cli_invocation import (
            _get_dbt_target_path,  # dagster-dbt 0.29: $DBT_TARGET_PATH or target
        )

        key = parse_cache.cache_key(self.target, self.resolved_duckdb_path() if self.duckdb_path else None)
        return parse_cache.cache_file(self._absolute(_get_dbt_target_path()), key)
