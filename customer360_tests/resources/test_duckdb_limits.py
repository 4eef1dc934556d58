"""DuckDB's memory ceiling, threads and spill folder: read once from the environment, applied the same to the warehouse
engine's connections and to dbt's DuckDB instance (README "Memory")."""

import json

import pytest
import yaml

from customer360.resources import build_resources
from customer360.settings import DBT_PROJECT_DIR, DEFAULT_DUCKDB_MEMORY_LIMIT, Settings
from customer360.transform.project import dbt_project
from customer360.transform.resource import build_dbt_resource

SETTINGS_SQL = (
    "select current_setting('memory_limit') as memory_limit, current_setting('threads') as threads, "
    "current_setting('temp_directory') as temp_directory"
)


@pytest.fixture
def limited_env(monkeypatch, tmp_path):
    monkeypatch.setenv("C360_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("C360_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("C360_DUCKDB_THREADS", "1")
    monkeypatch.setenv("C360_WAREHOUSE", "duckdb")
    return Settings.from_env()


def test_the_engine_connects_with_the_configured_limits(limited_env):
    engine = build_resources(limited_env)["warehouse"].build()
    row = engine.query(SETTINGS_SQL).row(0, named=True)
    assert row["memory_limit"] == "953.6 MiB"  # DuckDB prints 1GB (10^9 bytes) in binary units
    assert row["threads"] == 1
    assert row["temp_directory"] == f"{limited_env.duckdb_path}.tmp"


def test_dbt_runs_with_the_same_limits(limited_env):
    dbt = build_dbt_resource(limited_env)
    invocation = dbt.cli(
        ["show", "--inline", SETTINGS_SQL, "--output", "json"], manifest=dbt_project("local").manifest_path
    )
    previews = [
        json.loads(e.raw_event["data"]["preview"])
        for e in invocation.stream_raw_events()
        if e.raw_event["info"]["name"] == "ShowNode"
    ]
    assert previews == [
        [{"memory_limit": "953.6 MiB", "threads": 1, "temp_directory": f"{limited_env.duckdb_path}.tmp"}]
    ]


@pytest.mark.parametrize("value", ["lots", "4", "-1GB", "4 GBs"])
def test_a_memory_limit_that_is_not_a_size_is_refused_with_its_name(monkeypatch, value):
    monkeypatch.setenv("C360_DUCKDB_MEMORY_LIMIT", value)
    with pytest.raises(ValueError, match="C360_DUCKDB_MEMORY_LIMIT must be a size"):
        Settings.from_env()


def test_a_hand_run_dbt_falls_back_to_the_same_default_ceiling():
    """``dbt`` run outside customer360 (no C360_DUCKDB_MEMORY_LIMIT) uses the profile's fallback: the same default."""
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    memory = profile["customer360"]["outputs"]["local"]["config_options"]["memory_limit"]
    assert memory == "{{ env_var('C360_DUCKDB_MEMORY_LIMIT', '" + DEFAULT_DUCKDB_MEMORY_LIMIT + "') }}"


SPILLING_PROJECT = {
    "dbt_project.yml": 'name: spill_check\nversion: "1.0"\nprofile: customer360\nmodel-paths: ["models"]\n',
    # sorts more than the ceiling holds: DuckDB spills to the temp directory
    "models/big_sort.sql": "{{ config(materialized='table') }}\n"
    "select i, md5(i::varchar) as h from range(3000000) t(i) order by h",
    # the next models open new cursors after the spill
    "models/after_spill.sql": "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('big_sort') }}",
    "models/next.sql": "{{ config(materialized='table') }}\nselect max(n) as n from {{ ref('after_spill') }}",
}


def test_dbt_keeps_running_after_a_model_spilled(tmp_path):
    """The limits are given when dbt's database opens, not SET per cursor: DuckDB refuses to set temp_directory
    again once a query spilled there ("Cannot switch temporary directory"), which failed every model after it."""
    import os
    import subprocess

    from customer360.resources.duckdb_limits import DuckDBLimits
    from customer360.transform.project import DBT_EXECUTABLE

    for name, text in SPILLING_PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    db = str(tmp_path / "wh.duckdb")
    env = {
        **os.environ,
        "C360_DUCKDB_PATH": db,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        **DuckDBLimits(memory_limit="40MB", threads=1).dbt_env(db),
    }
    out = subprocess.run(
        [DBT_EXECUTABLE, "build", "--project-dir", str(tmp_path), "--threads", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-2000:]
    assert "PASS=3" in out.stdout
