"""The demo instance's event log (customer360/event_log.py): the stock one-file SQLite event log's file and schema,
with connections that are kept, and the demo's ``dagster.yaml`` that selects it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import sqlalchemy as db
import yaml

from customer360.cli import DEMO_INSTANCE_MARKER, _dagster_home, demo_instance_yaml
from customer360.event_log import POOL_SIZE, PooledSqliteEventLogStorage
from customer360.settings import get_settings

REPO = Path(__file__).resolve().parents[2]


def _instance(home: Path) -> dg.DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(demo_instance_yaml(home))
    return dg.DagsterInstance.from_config(str(home))


def test_the_demo_instance_records_every_event_on_few_connections(tmp_path):
    with _instance(tmp_path / "home") as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        opened = []

        def count(*_):
            opened.append(1)

        db.event.listen(db.pool.Pool, "connect", count)  # every SQLAlchemy pool of the process: its engine or any
        try:
            for i in range(60):
                instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=f"a{i % 3}", metadata={"i": i}))
        finally:
            db.event.remove(db.pool.Pool, "connect", count)
        records = instance.fetch_materializations(dg.AssetKey("a1"), limit=100).records
        assert sorted(r.asset_materialization.metadata["i"].value for r in records) == list(range(1, 60, 3))
        assert len(opened) <= POOL_SIZE  # the stock storage opens (and checkpoints on closing) one or more per write


def test_its_file_is_the_stock_storages_read_by_another_process(tmp_path):
    home = tmp_path / "home"
    with _instance(home) as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="written_here", metadata={"n": 7}))
    # a second process on the same file with Dagster's own ConsolidatedSqliteEventLogStorage (a webserver of an
    # older demo home, or the storage before this one) reads what the pooled storage wrote, and writes to it
    stock = home / "stock"
    stock.mkdir()
    config = yaml.safe_load(demo_instance_yaml(home))
    config["event_log_storage"].update(
        module="dagster._core.storage.event_log", **{"class": "ConsolidatedSqliteEventLogStorage"}
    )
    (stock / "dagster.yaml").write_text(yaml.safe_dump(config))
    probe = (
        f"import dagster as dg; i = dg.DagsterInstance.from_config({str(stock)!r}); "
        "[r] = i.fetch_materializations(dg.AssetKey('written_here'), limit=5).records; "
        "i.report_runless_asset_event(dg.AssetMaterialization(asset_key='written_there')); "
        "print(type(i.event_log_storage).__name__, r.asset_materialization.metadata['n'].value)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["ConsolidatedSqliteEventLogStorage", "7"]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.fetch_materializations(dg.AssetKey("written_there"), limit=5).records) == 1


def test_the_demo_rewrites_its_own_older_instance_file_and_keeps_a_users(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "demo_home"))
    home = tmp_path / "demo_home"
    home.mkdir()
    older = f"{DEMO_INSTANCE_MARKER}; see deploy/dagster.yaml\nevent_log_storage:\n  class: Old\n"
    (home / "dagster.yaml").write_text(older)
    assert _dagster_home(get_settings()) == home.resolve()
    assert (home / "dagster.yaml").read_text() == demo_instance_yaml(home.resolve())
    assert os.environ["DAGSTER_HOME"] == str(home.resolve())

    users = "# my own instance\ntelemetry:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(users)
    _dagster_home(get_settings())
    assert (home / "dagster.yaml").read_text() == users


def test_a_watcher_sees_the_events_another_process_writes_while_it_keeps_its_connection(tmp_path):
    # the webserver streams a running run's events this way; the writer (a run worker) keeps its connection open
    home = tmp_path / "home"
    writer = (
        "import sys, time, dagster as dg; from dagster._core.events.log import EventLogEntry; "
        f"i = dg.DagsterInstance.from_config({str(home)!r}); "
        "i.event_log_storage.store_event(EventLogEntry(error_info=None, level='INFO', user_message='hello', "
        "run_id='run-1', timestamp=time.time())); print('written', flush=True); time.sleep(30)"
    )
    with _instance(home) as instance:
        seen = []
        instance.event_log_storage.watch("run-1", None, lambda entry, _cursor: seen.append(entry.user_message))
        proc = subprocess.Popen([sys.executable, "-c", writer], cwd=REPO, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "written"
            deadline = time.monotonic() + 10
            while not seen and time.monotonic() < deadline:
                time.sleep(0.1)
            assert seen == ["hello"]
            assert proc.poll() is None  # seen while the writer still holds its connection (no checkpoint on close)
        finally:
            proc.kill()
            proc.wait()
