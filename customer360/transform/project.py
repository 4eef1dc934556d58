"""The dbt project handle: paths, target, and the prepared manifest (never parsed on import, no dagster-dbt import).

``scripts/prepare_dbt.py`` (``make setup``, the Docker image build) runs ``dbt parse`` once and writes
``dbt_project/target/manifest.json`` (and the dbt assets' specs beside it: :mod:`customer360.transform.spec_cache`).
Under ``dagster dev`` / ``dg dev`` the code location re-parses on load so model edits show up while developing; every
other process only reads the manifest and fails with a clear message when it is missing.

:class:`DbtProjectPaths` carries what the code location needs of the project (the same attributes as dagster-dbt's
``DbtProject``, which a dbt step builds from it with :meth:`DbtProjectPaths.dbt_project`): importing dagster-dbt
costs ≈ 1.3 s (it imports dbt-core), which every process that loads the code location would pay.

Every dbt process runs :data:`DBT_EXECUTABLE`, this environment's own ``dbt`` (beside the running Python), never a
``dbt`` looked up on ``PATH``: ``.venv/bin/dagster dev`` started from a shell without the venv activated has no
``dbt`` on ``PATH``.
"""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from customer360.settings import DBT_PROJECT_DIR, Settings

DBT_TARGETS = {"duckdb": "local", "snowflake": "snowflake"}
DEV_CLI_ENV = "DAGSTER_IS_DEV_CLI"  # set by `dagster dev` / `dg dev` (dagster-dbt's using_dagster_dev())


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


@dataclass(frozen=True)
class DbtProjectPaths:
    """Where the dbt project, its profiles and its prepared manifest are; ``target`` is the dbt profile target.
    ``target_path`` is relative to ``project_dir`` unless absolute (as in dagster-dbt's ``DbtProject``)."""

    project_dir: Path
    profiles_dir: Path
    target: str | None = None
    target_path: Path = Path("target")

    @property
    def manifest_path(self) -> Path:
        return self.project_dir.joinpath(self.target_path, "manifest.json")

    def dbt_project(self) -> Any:
        """dagster-dbt's ``DbtProject`` for these paths (imports dagster-dbt: for a dbt step, not the load)."""
        from dagster_dbt import DbtProject

        return DbtProject(
            project_dir=self.project_dir,
            profiles_dir=self.profiles_dir,
            target=self.target,
            target_path=self.target_path,
        )

    @classmethod
    def of(cls, project: Any) -> "DbtProjectPaths":
        """The paths of ``project``: a :class:`DbtProjectPaths` or anything with the same attributes (a ``DbtProject``)."""
        if isinstance(project, cls):
            return project
        return cls(
            project_dir=Path(project.project_dir),
            profiles_dir=Path(project.profiles_dir),
            target=project.target,
            target_path=Path(project.target_path),
        )


def dbt_target(settings: Settings) -> str:
    """dbt profile target of the configured warehouse engine (``local`` = DuckDB, ``snowflake``)."""
    return DBT_TARGETS[settings.warehouse]


def using_dagster_dev() -> bool:
    return bool(os.getenv(DEV_CLI_ENV))


def parse(project: DbtProjectPaths) -> None:
    """``dbt parse`` of the project into its target folder (what dagster-dbt's ``prepare_if_dev()`` runs)."""
    subprocess.run(
        [
            DBT_EXECUTABLE,
            "parse",
            "--quiet",
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.profiles_dir),
            *(["--target", project.target] if project.target else []),
        ],
        check=True,
        cwd=project.project_dir,
        env={**os.environ, "DBT_TARGET_PATH": str(project.project_dir.joinpath(project.target_path))},
    )


@lru_cache(maxsize=4)
def dbt_project(target: str = "local", project_dir: Path = DBT_PROJECT_DIR) -> DbtProjectPaths:
    project = DbtProjectPaths(project_dir=Path(project_dir), profiles_dir=Path(project_dir), target=target)
    if using_dagster_dev():
        parse(project)
    if not project.manifest_path.exists():
        raise DbtManifestMissingError(
            f"dbt manifest not found at {project.manifest_path}. Prepare it once with "
            "`.venv/bin/python scripts/prepare_dbt.py` (make setup does this)."
        )
    return project


def read_manifest(project: DbtProjectPaths) -> dict[str, Any]:
    """The parsed ``manifest.json`` of ``project``, parsed once per process while the file is unchanged (the
    consumers layer reads it twice per load; ≈ 0.1–0.3 s a parse). Shared: read it, never change it."""
    stat = project.manifest_path.stat()
    return _parsed_manifest(project.manifest_path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2)
def _parsed_manifest(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    return json.loads(path.read_text())
