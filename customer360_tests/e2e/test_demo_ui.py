"""What a user sees after ``make demo``: the README's command, started as a user starts it (``make demo`` from a
shell WITHOUT the venv on PATH), then the UI it opens, checked through GraphQL and in headless Chromium.

- the code location is LOADED with every asset of ``customer360.definitions``;
- the demo's runs are runs of the code location's own jobs (Jobs page, activity timeline, re-execution);
- the raw partitions start where the data starts: every day of the demo is materialized, only today (whose files
  have not landed) is missing;
- each raw partition records its own day's rows and files;
- every asset carries code references;
- screenshots of the catalog, a raw asset's partitions, a mart and an ML asset are kept in test-artifacts/e2e/.
"""

import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from customer360.settings import REPO_ROOT
from customer360_tests.e2e import stack as st
from customer360_tests.e2e.test_dagster_stack import SKIP_WELCOME_DIALOG

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

DAYS = 35  # the demo's shortest sensible window (churn/LTV need 21 days) keeps the test short
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"
LOCATION, REPOSITORY = "customer360", "__repository__"
DAILY_SOURCES = ["customers", "orders", "transactions", "events", "campaigns", "support_tickets"]

WORKSPACE_Q = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message }
    ... on RepositoryLocation { repositories { name jobs { name } } } } } } } }"""
ASSETS_Q = """{ assetNodes { assetKey { path } groupName
  metadataEntries { __typename label } } }"""
RUNS_Q = """{ runsOrError { __typename ... on Runs { results { runId status pipelineName
  repositoryOrigin { repositoryLocationName repositoryName } hasReExecutePermission } } } }"""
JOB_RUNS_Q = """query($name: String!) { pipelineOrError(params: {repositoryLocationName: "customer360",
  repositoryName: "__repository__", pipelineName: $name}) { __typename ... on Pipeline { runs { runId } } } }"""
PARTITIONS_Q = """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) { __typename
  ... on AssetNode { partitionKeys partitionStats { numMaterialized numPartitions numFailed } } } }"""
PARTITION_EVENTS_Q = """query($path: [String!]!, $partition: String!) { assetOrError(assetKey: {path: $path}) {
  ... on Asset { assetMaterializations(partitions: [$partition]) { partition
    metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }"""


def _venvless_path() -> str:
    venv_bin = os.path.dirname(sys.executable)
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo_ui")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = st.free_port()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("C360_", "DAGSTER_", "AWS_", "DBT_"))}
    keep.pop("VIRTUAL_ENV", None)
    env = {
        **keep,
        "PATH": _venvless_path(),  # as a user's shell: the venv is not activated
        "C360_LANDING_URL": str(work / "landing"),
        "C360_QUARANTINE_URL": str(work / "quarantine"),
        "C360_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "C360_ARTIFACTS_URL": str(work / "artifacts"),
        "DAGSTER_HOME": str(work / "dagster_home"),
        "PYTHONUNBUFFERED": "1",
    }
    stack = st.DagsterStack(base_url=f"http://127.0.0.1:{port}", env=env)
    started = time.monotonic()
    demo_proc = st.start_process(
        "make-demo", ["make", "demo", f"DAYS={DAYS}", f"DEMO_ARGS=--port {port}"], env, ARTIFACTS
    )
    stack.processes.append(demo_proc)
    try:
        st.wait_for(lambda: (stack.alive(), stack.server_info())[1], 1200, 2, "make demo to open the UI")
        st.wait_for(lambda: _location_loaded(stack), 300, 2, "the code location to load")
        yield stack, work, time.monotonic() - started
    finally:
        stopped = stack.stop()
        assert all(code is not None for code in stopped.values()), stopped


def _location_loaded(stack) -> bool:
    entries = stack.graphql(WORKSPACE_Q)["workspaceOrError"]["locationEntries"]
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


def test_code_location_loads_with_every_asset(demo):
    stack, _, _ = demo
    (entry,) = stack.graphql(WORKSPACE_Q)["workspaceOrError"]["locationEntries"]
    assert entry["name"] == LOCATION
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry["locationOrLoadError"]
    from customer360.definitions import defs

    expected = {tuple(k.path) for k in defs.resolve_all_asset_keys()}
    shown = {tuple(n["assetKey"]["path"]) for n in stack.graphql(ASSETS_Q)["assetNodes"]}
    assert shown == expected


def test_demo_runs_are_runs_of_the_code_locations_jobs(demo):
    stack, _, _ = demo
    (entry,) = stack.graphql(WORKSPACE_Q)["workspaceOrError"]["locationEntries"]
    jobs = {j["name"] for r in entry["locationOrLoadError"]["repositories"] for j in r["jobs"]}
    runs = stack.graphql(RUNS_Q)["runsOrError"]["results"]
    demo_runs = [r for r in runs if not r["pipelineName"].startswith("__")]  # sensors' runs may follow the demo's
    assert len(demo_runs) >= 4, runs
    for run in demo_runs:
        assert run["pipelineName"] in jobs, run
        assert run["repositoryOrigin"] == {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}, run
        assert run["status"] == "SUCCESS" and run["hasReExecutePermission"], run
    for job in ("daily_partitions_job", "weekly_partitions_job", "downstream_job"):
        listed = stack.graphql(JOB_RUNS_Q, {"name": job})["pipelineOrError"]["runs"]
        assert listed, f"the Jobs page of {job} shows no run"


def test_raw_partitions_start_where_the_data_starts(demo):
    stack, _, _ = demo
    yesterday = date.today() - timedelta(days=1)
    first = yesterday - timedelta(days=DAYS - 1)
    for source in DAILY_SOURCES:
        node = stack.graphql(PARTITIONS_Q, {"path": ["raw", source]})["assetNodeOrError"]
        keys = node["partitionKeys"]
        assert keys[0] == first.isoformat(), (source, keys[:3])
        stats = node["partitionStats"]
        # every demo day is loaded; only today's partition (no files yet) may be missing
        assert stats == {"numMaterialized": DAYS, "numPartitions": DAYS + 1, "numFailed": 0}, (source, stats)
    products = stack.graphql(PARTITIONS_Q, {"path": ["raw", "products"]})["assetNodeOrError"]["partitionStats"]
    assert products["numFailed"] == 0 and products["numMaterialized"] >= DAYS // 7, products


def _day_files(landing: Path, source: str, day: str) -> list[Path]:
    return sorted((landing / source / f"load_date={day}").glob("*.parquet"))


def test_each_raw_partition_records_its_own_rows_and_files(demo):
    stack, work, _ = demo
    yesterday = date.today() - timedelta(days=1)
    for source in ("orders", "transactions"):
        seen = set()
        for day in (yesterday - timedelta(days=DAYS - 1), yesterday - timedelta(days=3), yesterday):
            files = _day_files(work / "landing", source, day.isoformat())
            rows = sum(pl.read_parquet(f).height for f in files)
            asset = stack.graphql(PARTITION_EVENTS_Q, {"path": ["raw", source], "partition": day.isoformat()})
            (materialization,) = asset["assetOrError"]["assetMaterializations"]
            values = {e["label"]: e.get("intValue") for e in materialization["metadataEntries"]}
            assert values["dagster/row_count"] == rows, (source, day, values)
            assert values["files_loaded"] == len(files), (source, day, values)
            seen.add(rows)
        assert len(seen) > 1, f"{source}: days of different sizes expected"


def test_every_asset_has_code_references(demo):
    stack, _, _ = demo
    nodes = stack.graphql(ASSETS_Q)["assetNodes"]
    without = [
        n["assetKey"]["path"]
        for n in nodes
        if n["groupName"] and not any(e["__typename"] == "CodeReferencesMetadataEntry" for e in n["metadataEntries"])
    ]
    assert not without


PAGES = [
    # (file, path, texts the page must show once rendered)
    (
        "demo-catalog.png",
        "/assets",
        ["executive_kpi_scorecard", "fct_customer_value", "churn_predictions", "raw / orders"],
    ),
    ("demo-raw-orders-partitions.png", "/assets/raw/orders?view=partitions", [f"Materialized ({DAYS})"]),
    ("demo-mart-fct-customer-value.png", "/assets/marts/fct_customer_value", ["customer_id", "composite_score"]),
    ("demo-ml-churn-predictions.png", "/assets/ml/churn_predictions", ["churn_probability"]),
]


def test_pages_render_in_a_browser(demo, tmp_path):
    stack, _, _ = demo
    # the catalog renders only the rows inside the viewport: a tall window shows every group at once
    browser = st.Browser(tmp_path / "chromium-profile", width=1920, height=3600)  # a new profile: no stale port file
    try:
        for name, path, texts in PAGES:
            browser.navigate(stack.base_url + path)
            missing: list[str] = []

            def rendered(texts=texts, missing=missing):
                browser.evaluate(SKIP_WELCOME_DIALOG)
                text = browser.evaluate("document.body ? document.body.innerText : ''") or ""
                missing[:] = [t for t in texts if t not in text]
                return not missing and "Join the Dagster community" not in text

            try:
                st.wait_for(rendered, 90, 1, f"{path} to show {texts}")
            finally:
                shot = browser.screenshot(ARTIFACTS / name)
            assert shot.stat().st_size > 10_000, (path, missing)
    finally:
        browser.close()
