"""Under ``dagster dev`` the code location re-parses dbt on load: it must find this environment's dbt without an
activated venv (``.venv/bin/dagster dev`` from a plain shell has no ``dbt`` on PATH)."""

import os
import subprocess
import sys

from customer360.settings import REPO_ROOT


def test_code_location_loads_under_dagster_dev_without_the_venv_on_path(tmp_path):
    venv_bin = os.path.dirname(sys.executable)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env = {
        **os.environ,
        "PATH": path or "/usr/bin:/bin",
        "DAGSTER_IS_DEV_CLI": "1",
        "C360_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    env.pop("VIRTUAL_ENV", None)
    probe = "import shutil; from customer360.definitions import defs; print(shutil.which('dbt'), len(defs.resolve_all_asset_keys()))"
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    which, count = proc.stdout.split()[-2:]
    assert which == "None"  # the probe really had no dbt on PATH
    assert int(count) > 30
