"""Prepare the dbt manifest once at set-up time, so the code location never parses dbt on import.

Runs ``dbt parse`` in dbt_project/ (target ``local``, or ``snowflake`` with ``C360_WAREHOUSE=snowflake``) writing
``dbt_project/target/manifest.json``, then the dbt assets' specs beside it (``target/c360_dbt_specs.json``,
:mod:`customer360.transform.spec_cache`): the code location builds the dbt assets from them without importing
dagster-dbt.
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
# in a new interpreter: this script's environment (C360_DUCKDB_PATH) must not leak into the project's settings
subprocess.run([sys.executable, "-m", "customer360.transform.spec_cache", "--target", target], check=True, cwd=root)
