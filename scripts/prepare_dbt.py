"""Prepare the dbt manifest once at set-up time, so the code location never parses dbt on import.

Runs ``dbt parse`` in dbt_project/ (target ``local``) writing ``dbt_project/target/manifest.json``.
"""

import os
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
project = root / "dbt_project"
if not (project / "dbt_project.yml").exists():
    sys.exit(f"{project}/dbt_project.yml is missing")
env = {**os.environ, "DBT_PROFILES_DIR": str(project)}
env.setdefault("C360_DUCKDB_PATH", str(root / "data" / "warehouse.duckdb"))
Path(env["C360_DUCKDB_PATH"]).parent.mkdir(parents=True, exist_ok=True)
dbt = Path(sys.executable).parent / "dbt"
subprocess.run([str(dbt), "parse", "--quiet", "--project-dir", str(project)], check=True, env=env, cwd=project)
print(f"dbt manifest ready: {project / 'target' / 'manifest.json'}")
