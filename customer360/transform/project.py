"""The dbt project handle: paths, target, and the prepared manifest (never parsed on import).

``scripts/prepare_dbt.py`` (``make setup``, the Docker image build) runs ``dbt parse`` once and writes
``dbt_project/target/manifest.json``. ``dagster dev`` re-parses through ``prepare_if_dev()`` so model edits show up
while developing; every other process only reads the manifest and fails with a clear message when it is missing.
"""

from functools import lru_cache
from pathlib import Path

from dagster_dbt import DbtProject

from customer360.settings import DBT_PROJECT_DIR, Settings

DBT_TARGETS = {"duckdb": "local", "snowflake": "snowflake"}


class DbtManifestMissingError(RuntimeError):
    """The dbt manifest was not prepared (run ``python scripts/prepare_dbt.py``)."""


def dbt_target(settings: Settings) -> str:
    """dbt profile target of the configured warehouse engine (``local`` = DuckDB, ``snowflake``)."""
    return DBT_TARGETS[settings.warehouse]


@lru_cache(maxsize=4)
def dbt_project(target: str = "local", project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir, target=target)
    project.prepare_if_dev()
    if not project.manifest_path.exists():
        raise DbtManifestMissingError(
            f"dbt manifest not found at {project.manifest_path}. Prepare it once with "
            "`.venv/bin/python scripts/prepare_dbt.py` (make setup does this)."
        )
    return project
