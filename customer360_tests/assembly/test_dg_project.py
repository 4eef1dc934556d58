"""The ``dg`` project layout: ``dg check defs`` passes and ``dg list defs`` lists what the code location defines;
the layers in customer360/defs/ read one Settings (the environment's)."""

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

REPO = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).parent / "dg"


def _default_signals() -> None:  # runs in the child before exec: dg starts a code server it must be able to stop
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _dg(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    assert DG.exists(), f"{DG}: dagster-dg-cli (dev dependency group) is not installed"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "C360_LANDING_URL": str(tmp_path / "landing"),
        "C360_QUARANTINE_URL": str(tmp_path / "quarantine"),
        "C360_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    proc = subprocess.run(
        [str(DG), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, preexec_fn=_default_signals
    )
    assert proc.returncode == 0, f"dg {' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_dg_check_defs_passes(tmp_path):
    proc = _dg(tmp_path, "check", "defs")
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_dg_list_defs_lists_the_code_location(tmp_path):
    from customer360.definitions import defs

    listed = json.loads(_dg(tmp_path, "list", "defs", "--json").stdout)
    repo = defs.get_repository_def()
    assert {a["asset_key"] for a in listed["assets"]} == {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {c["key"] for c in listed["asset_checks"]} == {
        f"{k.asset_key.to_user_string()}:{k.name}" for k in repo.asset_graph.asset_check_keys
    }
    assert {s["name"] for s in listed["sensors"]} == {s.name for s in repo.sensor_defs}
    assert {s["name"] for s in listed["schedules"]} == {s.name for s in repo.schedule_defs}
    assert {r["name"] for r in listed["resources"]} == set(repo.get_top_level_resources())


def test_the_layers_read_one_settings(tmp_path, monkeypatch):
    """Each layer's ``defs()`` builds from the settings the code location read once (``settings_for_load``), not
    from its own reading of the environment: the warehouse, the raw partitions and the consumers' partitions all
    follow the settings passed, even when the environment says otherwise."""
    import dataclasses

    from customer360.defs.consumers.definitions import defs as consumers
    from customer360.defs.ingestion.definitions import defs as ingestion
    from customer360.defs.resources.definitions import defs as resources
    from customer360.settings import Settings, settings_for_load

    monkeypatch.setenv("C360_PARTITIONS_START", "2025-02-03")
    monkeypatch.setenv("C360_DUCKDB_PATH", str(tmp_path / "environment.duckdb"))
    passed = dataclasses.replace(
        Settings.from_env(), partitions_start="2025-03-10", duckdb_path=str(tmp_path / "layers.duckdb")
    )
    start = date(2025, 3, 10)

    with settings_for_load(passed):
        warehouse = resources().resources["warehouse"]
        raw_orders = next(a for a in ingestion().assets if a.key == dg.AssetKey(["raw", "orders"]))
        export = next(a for a in consumers().assets if isinstance(a, dg.AssetsDefinition) and a.partitions_def)
    assert Path(warehouse.duckdb_path) == tmp_path / "layers.duckdb"
    for assets_def in (raw_orders, export):
        assert assets_def.partitions_def.start.date() == start, assets_def.key
    # outside a load, the environment as it is now
    assert resources().resources["warehouse"].duckdb_path == str(tmp_path / "environment.duckdb")
