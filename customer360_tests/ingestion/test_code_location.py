"""The code location loads in a real dagster-webserver on loopback; its GraphQL API lists the raw assets and
the arrival sensors. The server runs in its own process group with default signal handlers, and is stopped."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from customer360.catalog import SOURCE_NAMES
from customer360.ingestion.sensors import sensor_name

REPO = Path(__file__).resolve().parents[2]
QUERY = """
{
  workspaceOrError { ... on Workspace { locationEntries { name
      locationOrLoadError { __typename ... on PythonError { message } } } } }
  assetNodes { assetKey { path } groupName }
  repositoriesOrError { ... on RepositoryConnection { nodes { name sensors { name minIntervalSeconds } } } }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _default_signals() -> None:  # runs in the child before exec
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.slow
def test_webserver_lists_raw_assets_and_sensors(tmp_path):
    port = _free_port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "C360_LANDING_URL": str(tmp_path / "landing"),
        "C360_QUARANTINE_URL": str(tmp_path / "quarantine"),
        "C360_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    log = (tmp_path / "webserver.log").open("wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_default_signals,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        data = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            try:
                resp = requests.post(f"{base}/graphql", json={"query": QUERY}, timeout=10)
                if resp.ok:
                    data = resp.json()["data"]
                    entries = data["workspaceOrError"]["locationEntries"]
                    if entries and entries[0]["locationOrLoadError"]:
                        break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        assert data is not None, "webserver did not answer"
        [entry] = data["workspaceOrError"]["locationEntries"]
        assert entry["name"] == "customer360"
        assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
        raw = {"/".join(n["assetKey"]["path"]) for n in data["assetNodes"] if n["groupName"] == "raw"}
        assert raw >= {f"raw/{s}" for s in SOURCE_NAMES}
        sensors = {
            s["name"]: s["minIntervalSeconds"] for r in data["repositoriesOrError"]["nodes"] for s in r["sensors"]
        }
        for source in SOURCE_NAMES:
            assert sensors[sensor_name(source)] == 30
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    assert proc.returncode is not None


# Imported only by the step that needs them, never by the code location every run process loads first.
# dagster-dbt imports dbt-core (≈ 1.3 s): the dbt assets are built from customer360.transform.spec_cache instead.
STEP_ONLY_MODULES = [
    "customer360.ingestion.loader",
    "customer360.ingestion.contracts",
    "duckdb",
    "sklearn",
    "dagster_dbt",
    "dbt",
    "customer360.transform.dbt_cli",
    "customer360.transform.translator",
    # the freshness sensors' evaluators: they import Dagster's event-log storage (≈ 400 modules)
    "dagster._core.definitions.freshness_evaluator",
]


def test_loading_the_code_location_does_not_import_what_only_a_step_needs():
    probe = f"import sys, customer360.definitions; print(sorted(m for m in {STEP_ONLY_MODULES!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_loaded_code_location_is_frozen_for_the_garbage_collector():
    # a load that leaves its objects in the collected generations re-walks them on every full pass (≈ 1 s of the load)
    probe = (
        "import duckdb, gc; duckdb.connect().execute('select 1').fetchall(); import customer360.definitions as d; "
        "print(gc.get_freeze_count(), sum(gc.get_count()), len(d.defs.resolve_all_asset_keys()))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    frozen, tracked, assets = map(int, out.stdout.split())
    assert assets > 40
    assert frozen > 100_000 and tracked < frozen // 10, out.stdout
    # thawed at exit: the last collection frees what was frozen (else DuckDB's bindings print every object as leaked)
    assert "leaked" not in out.stderr, out.stderr[:500]
