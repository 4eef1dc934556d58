"""Event-log bookkeeping of a long backfill: the cost of the per-partition materializations on each instance storage.

    .venv/bin/python benchmarks/bench_event_log.py [--sources 7] [--days 365] [--storages memory sqlite ...]

A single-run backfill of ``--days`` daily partitions of ``--sources`` assets shaped like ``raw/<source>`` (daily
partitions, ``BackfillPolicy.single_run()``, the warehouse pool, one materialization per partition with that
partition's own metadata, two asset checks) — but with a body that loads nothing, so what is measured is Dagster's
bookkeeping (after a one-partition warm-up run that creates the schema): the ``ASSET_MATERIALIZATION_PLANNED`` +
``ASSET_MATERIALIZATION`` events of every partition and their index rows, written by the instance's event-log
storage. Each storage runs in a fresh child process:

* ``memory``  — ``DagsterInstance.ephemeral()`` (nothing persisted): the floor, Dagster's own per-event work;
* ``sqlite``  — the default instance of a ``DAGSTER_HOME`` without storage config (what ``customer360 demo`` used):
  ``SqliteStorage``, one SQLite file per run plus an index shard, a new engine + connection per event;
* ``sqlite-consolidated`` — ``ConsolidatedSqliteEventLogStorage``: one SQLite file for every run;
* ``sqlite-pooled`` — ``customer360.event_log.PooledSqliteEventLogStorage`` (what ``customer360 demo`` uses): the
  same file with its connections kept and ``synchronous=NORMAL``;
* ``postgres`` — ``storage: postgres`` (the deployment's ``deploy/dagster.yaml``) on the local PostgreSQL 15
  (``scripts/test_services.sh`` starts it), a throw-away database;
* ``postgres-async-commit`` — the same with ``synchronous_commit=off`` for Dagster's connections (connection
  ``params``): a commit returns before its WAL record is flushed (a crash can lose the last fraction of a second of
  events, never corrupt the database);
* ``postgres-batched`` — PostgreSQL with ``DAGSTER_EVENT_BATCH_SIZE`` set in the run's environment: Dagster hands
  the planned events of a run and the per-partition materializations of a range output to the storage in batches,
  and dagster-postgres writes a batch with one INSERT (SQLite storages have no batch write: they store one by one).

Prints a table and writes JSON to ``benchmarks/results/event_log.json``: wall and CPU seconds of the run, events
stored, and milliseconds per event above the in-memory floor.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
STORAGES = [
    "memory",
    "sqlite",
    "sqlite-consolidated",
    "sqlite-pooled",
    "postgres",
    "postgres-async-commit",
    "postgres-batched",
]
SQLITE_EVENT_LOGS = {  # storage → (module, class) of its event_log_storage
    "sqlite-consolidated": ("dagster._core.storage.event_log", "ConsolidatedSqliteEventLogStorage"),
    "sqlite-pooled": ("customer360.event_log", "PooledSqliteEventLogStorage"),
}
EVENT_BATCH_SIZE = 1000  # DAGSTER_EVENT_BATCH_SIZE of the batched variant
START = date(2024, 1, 1)


def instance_yaml(storage: str, home: Path, pg=None) -> str | None:
    if storage == "sqlite":
        return "telemetry:\n  enabled: false\n"
    if storage in SQLITE_EVENT_LOGS:
        module, cls = SQLITE_EVENT_LOGS[storage]
        return (
            f"event_log_storage:\n  module: {module}\n  class: {cls}\n"
            f"  config:\n    base_dir: {home / 'history'}\ntelemetry:\n  enabled: false\n"
        )
    if storage.startswith("postgres"):
        params = (
            "      params:\n        options: -c synchronous_commit=off\n" if storage == "postgres-async-commit" else ""
        )
        return (
            "storage:\n  postgres:\n    postgres_db:\n"
            f"      hostname: {pg.host}\n      port: {pg.port}\n      db_name: {pg.name}\n"
            f"      username: {pg.user}\n      password: {pg.password}\n{params}telemetry:\n  enabled: false\n"
        )
    return None


def build_assets(sources: int):
    import dagster as dg

    partitions = dg.DailyPartitionsDefinition(start_date=START.isoformat())
    out = []
    for i in range(sources):
        key = dg.AssetKey(["raw", f"source_{i}"])

        @dg.asset(
            key=key,
            partitions_def=partitions,
            backfill_policy=dg.BackfillPolicy.single_run(),
            pool="warehouse",
            check_specs=[
                dg.AssetCheckSpec("no_quarantined_files", asset=key),
                dg.AssetCheckSpec("no_unrecognised_landing_objects", asset=key),
            ],
        )
        def _asset(context: dg.AssetExecutionContext):
            for pkey in context.partition_keys:  # what raw/<source> records per partition (ingestion/assets.py)
                context.add_asset_metadata(
                    {
                        "dagster/row_count": 1000,
                        "dagster/partition_row_count": 1000,
                        "files_loaded": 1,
                        "files": dg.MetadataValue.json([f"load_date={pkey}/part-0.parquet"]),
                        "bytes": 123456,
                        "files_quarantined": 0,
                        "quarantined": dg.MetadataValue.json({}),
                        "preview": dg.MetadataValue.md("| a |\n| --- |\n| 1 |"),
                        "run_partitions": "range",
                    },
                    partition_key=pkey,
                )
            yield dg.MaterializeResult()
            yield dg.AssetCheckResult(check_name="no_quarantined_files", passed=True)
            yield dg.AssetCheckResult(check_name="no_unrecognised_landing_objects", passed=True)

        out.append(_asset)
    return out


def run_one(storage: str, sources: int, days: int) -> dict:
    """In this process: one range run over ``days`` partitions of ``sources`` assets on ``storage``."""
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    assets = build_assets(sources)
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: START.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: (START + timedelta(days=days - 1)).isoformat(),
    }
    instance = dg.DagsterInstance.ephemeral() if storage == "memory" else dg.DagsterInstance.get()
    with instance:
        # warm-up (schema creation, first connections): a one-partition run, not measured
        assert dg.materialize(assets, instance=instance, partition_key=START.isoformat()).success
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        result = dg.materialize(assets, instance=instance, tags=tags)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        assert result.success
        events = len(instance.all_logs(result.run_id))
        materializations = sum(len(result.asset_materializations_for_node(a.op.name)) for a in assets)
    assert materializations == sources * days, materializations  # one per partition, none dropped
    return {
        "storage": storage,
        "sources": sources,
        "days": days,
        "wall_s": round(wall, 2),
        "cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 2),
        "events": events,
        "materializations": materializations,
    }


def measure(storage: str, sources: int, days: int) -> dict:
    """``run_one`` in a fresh child process with its own DAGSTER_HOME (PostgreSQL: a throw-away database)."""
    from contextlib import ExitStack

    with tempfile.TemporaryDirectory(prefix=f"c360-evlog-{storage}-") as tmp, ExitStack() as stack:
        home = Path(tmp)
        pg = None
        if storage.startswith("postgres"):
            from customer360_tests.e2e.stack import postgres_database

            pg = stack.enter_context(postgres_database())
        text = instance_yaml(storage, home, pg)
        if text is not None:
            (home / "dagster.yaml").write_text(text)
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        if storage == "postgres-batched":
            env["DAGSTER_EVENT_BATCH_SIZE"] = str(EVENT_BATCH_SIZE)
        code = (
            f"import json, sys; sys.path.insert(0, {str(REPO / 'benchmarks')!r}); import bench_event_log as b; "
            f"print(json.dumps(b.run_one({storage!r}, {sources}, {days})))"
        )
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{storage}: {out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=7)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--storages", nargs="+", default=STORAGES, choices=STORAGES)
    args = parser.parse_args()
    rows = [measure(s, args.sources, args.days) for s in args.storages]
    floor = next((r for r in rows if r["storage"] == "memory"), None)
    print(f"{args.sources} assets × {args.days} daily partitions, one range run; load average {os.getloadavg()[0]:.1f}")
    print(f"{'storage':22} {'wall s':>8} {'CPU s':>8} {'events':>8} {'ms/event':>9} {'ms/event > memory':>18}")
    for r in rows:
        r["ms_per_event"] = round(1000 * r["wall_s"] / r["events"], 2)
        r["ms_per_event_above_memory"] = (
            round(1000 * (r["wall_s"] - floor["wall_s"]) / r["events"], 2) if floor else None
        )
        print(
            f"{r['storage']:22} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r['events']:8d} {r['ms_per_event']:9.2f} "
            f"{r['ms_per_event_above_memory'] if floor else '':>18}"
        )
    out = REPO / "benchmarks" / "results" / "event_log.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"load_average": os.getloadavg(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
