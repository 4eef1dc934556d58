"""The dbt project handle: paths, target, and the prepared manifest (never parsed on import).

``scripts/prepare_dbt.py`` (``make setup``, the Docker image build) runs ``dbt parse`` once and writes
``dbt_project/target/manifest.json``. Under ``dagster dev`` the code location re-parses on load so model edits show
up while developing; every other process only reads the manifest and fails with a clear message when it is missing.

Every dbt process runs :data:`DBT_EXECUTABLE`, this environment's own ``dbt`` (beside the running Python), never a
``dbt`` looked up on ``PATH``: ``.venv/bin/dagster dev`` started from a shell without the venv activated has no
``dbt`` on ``PATH`` (dagster-dbt's own ``prepare_if_dev()`` runs it by bare name and fails the code location).
"""

import shutil
import sys
from functools import lru_cache
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from customer360.settings import DBT_PROJECT_DIR, Settings

DBT_TARGETS = {"duckdb": "local", "snowflake": "snowflake"}


def _dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    if beside_python.exists():
        return str(beside_python)
    on_path = shutil.which("dbt")
    if on_path is None:
        raise RuntimeError(f"no dbt executable beside {sys.executable} nor on PATH: install the project (make setup)")
    return on_path


DBT_EXECUTABLE = _dbt_executable()


class DbtManifestMissingError(RuntimeError):
    """The dbt manifest was not prepared (run ``python scripts/prepare_dbt.py``)."""


def dbt_target(settings: Settings) -> str:
    """dbt profile target of the configured warehouse engine (``local`` = DuckDB, ``snowflake``)."""
    return DBT_TARGETS[settings.warehouse]


@lru_cache(maxsize=4)
def dbt_project(target: str = "local", project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir, target=target)
    if project.preparer.using_dagster_dev():  # what prepare_if_dev() does, with this environment's dbt
        DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
            ["parse", "--quiet"], target_path=project.target_path
        ).wait()
    if not project.manifest_path.exists():
        raise DbtManifestMissingError(
            f"dbt manifest not found at {project.manifest_path}. Prepare it once with "
            "`.venv/bin/python scripts/prepare_dbt.py` (make setup does this)."
        )
    return project
