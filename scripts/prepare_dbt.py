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
# Same target as the code location will run (C360_WAREHOUSE=snowflake → target snowflake).
target = "snowflake" if env.get("C360_WAREHOUSE", "duckdb").strip().lower() == "snowflake" else "local"
env.setdefault("C360_DUCKDB_PATH", str(root / "data" / "warehouse.duckdb"))
Path(env["C360_DUCKDB_PATH"]).parent.mkdir(parents=True, exist_ok=True)
dbt = Path(sys.executable).parent / "dbt"
# The manifest names DuckDB relations "warehouse".<schema>.<name> whatever C360_DUCKDB_PATH is called (the profile
# attaches the file under that catalog name): one manifest serves every warehouse file.
subprocess.run(
    [str(dbt), "parse", "--quiet", "--project-dir", str(project), "--target", target], check=True, env=env, cwd=project
)
print(f"dbt manifest ready: {project / 'target' / 'manifest.json'}")
