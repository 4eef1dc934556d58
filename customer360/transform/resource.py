"""The ``dbt`` resource of the code location: :class:`C360DbtResource`, a plain Dagster resource (no dagster-dbt
import at load) that builds dagster-dbt's ``DbtCliResource`` — :class:`customer360.transform.dbt_cli.C360DbtCliResource`
— inside the step that runs dbt.

What the step's dbt invocation does (:mod:`customer360.transform.dbt_cli`): no ``dbt --version`` subprocess, no
in-process dbt adapter unless metadata is fetched off DuckDB, the partial-parse state kept per warehouse
(:mod:`customer360.transform.parse_cache`), ``DBT_INDIRECT_SELECTION=buildable`` unless set, and the warehouse file
passed as an absolute ``C360_DUCKDB_PATH``.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from customer360.settings import DEFAULT_DUCKDB_MEMORY_LIMIT, Settings
from customer360.transform.on_demand import resolve_all
from customer360.transform.project import DBT_EXECUTABLE, DBT_TARGETS, dbt_project


@contextmanager
def env_overrides(overrides: dict[str, str]) -> Iterator[None]:
    """dbt reads its configuration from the environment: set for one invocation, then restored."""
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class C360DbtResource(dg.ConfigurableResource):
    """Runs dbt for customer360: ``cli`` is dagster-dbt's ``DbtCliResource.cli`` (same arguments, same
    invocation), on a ``DbtCliResource`` built when first called (see module docstring)."""

    project_dir: str = Field(description="The dbt project folder.")
    profiles_dir: str | None = Field(default=None, description="Folder of profiles.yml (default: project_dir).")
    target: str | None = Field(default=None, description="dbt profile target (local = DuckDB, snowflake).")
    dbt_executable: str = Field(default=DBT_EXECUTABLE, description="The dbt executable of this environment.")
    duckdb_path: str | None = Field(default=None, description="The DuckDB warehouse file (None off DuckDB).")
    duckdb_memory_limit: str = Field(
        default=DEFAULT_DUCKDB_MEMORY_LIMIT, description="DuckDB's memory ceiling, as the warehouse engine's."
    )
    duckdb_threads: int | None = Field(default=None, description="DuckDB threads (None: every core).")
    fetch_metadata: bool = Field(default=False, description="Attach row counts and column schemas to materializations.")

    def dbt_cli(self) -> Any:
        """dagster-dbt's resource for this configuration (imports dagster-dbt)."""
        from customer360.transform.dbt_cli import C360DbtCliResource

        return C360DbtCliResource(
            project_dir=self.project_dir,
            profiles_dir=self.profiles_dir or self.project_dir,
            target=self.target,
            dbt_executable=self.dbt_executable,
            duckdb_path=self.duckdb_path,
            duckdb_memory_limit=self.duckdb_memory_limit,
            duckdb_threads=self.duckdb_threads,
            fetch_metadata=self.fetch_metadata,
        )

    def cli(self, args: list[str], **kwargs: Any) -> Any:
        """``DbtCliResource.cli(args, **kwargs)``: a ``DbtCliInvocation``. With a ``context`` of a dbt multi-asset,
        the translator and project that dagster-dbt reads from its metadata are built first
        (:mod:`customer360.transform.on_demand`: dagster-dbt checks their types)."""
        context = kwargs.get("context")
        if context is not None and getattr(context, "has_assets_def", False):
            for metadata in context.assets_def.metadata_by_key.values():
                resolve_all(metadata)
        return self.dbt_cli().cli(args, **kwargs)

    def keep_parse_state(self, invocation: Any) -> bool:
        """After a dbt invocation: keep the partial-parse state it wrote for the next invocation (same profile)."""
        return self.dbt_cli().keep_parse_state(invocation)

    def resolved_duckdb_path(self) -> str:
        if self.duckdb_path is None:
            raise ValueError("the dbt resource has no duckdb_path (the warehouse is not DuckDB)")
        return str(Path(self.duckdb_path).expanduser().resolve())


def build_dbt_resource(settings: Settings) -> C360DbtResource:
    target = DBT_TARGETS[settings.warehouse]
    project = dbt_project(target)
    return C360DbtResource(
        project_dir=str(project.project_dir),
        profiles_dir=str(project.profiles_dir),
        target=target,
        dbt_executable=DBT_EXECUTABLE,
        duckdb_path=settings.duckdb_path if settings.warehouse == "duckdb" else None,
        duckdb_memory_limit=settings.duckdb_memory_limit,
        duckdb_threads=settings.duckdb_threads,
        fetch_metadata=settings.dbt_fetch_metadata,
    )
