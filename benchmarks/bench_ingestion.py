"""Ingestion benchmark: rows/s of the raw loader at a given scale, and the code location's load time.

    .venv/bin/python benchmarks/bench_ingestion.py [--scale 0.1] [--days 365] [--workdir DIR]

1. generates the landing zone with the real generator (unless ``DIR/landing`` already exists);
2. loads every source over the whole window into a fresh DuckDB through Dagster (``materialize`` of the seven
   raw assets as single-run partition ranges, like a backfill) and reports rows, seconds and rows/s per source
   (the loader's own wall and CPU time from the run's load-summary log line; CPU = user + system of every
   thread) and for the whole run
   (including Dagster's overhead);
3. loads it again (idempotent re-run: replaces every day, same row count);
4. measures ``import customer360.definitions`` in fresh interpreters (median of 3) — the code location's load
   time — and the slowest imports by ``python -X importtime``.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # benchmarks.code_location

from benchmarks.generator_cli import generator_command  # noqa: E402


def generate(workdir: Path, scale: float, days: int, end: date) -> None:
    cmd = generator_command(workdir / "landing", workdir / "truth", scale=scale, days=days, end=end, seed=7)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    print(f"generated scale {scale}, {days} days in {time.perf_counter() - t0:.1f} s")


def ingest(
    workdir: Path, first: date, last: date, db: Path
) -> tuple[float, float, dict[str, tuple[int, float, float, int]]]:
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from customer360.catalog import SOURCES
    from customer360.ingestion import build_raw_assets
    from customer360.ingestion.assets import parse_run_summary
    from customer360.resources import build_resources
    from customer360.settings import Settings

    settings = Settings(
        str(workdir / "landing"),
        str(workdir / "quarantine"),
        str(db),
        "duckdb",
        first.isoformat(),
        str(workdir / "artifacts"),
        None,
    )
    assets = list(build_raw_assets(settings))
    resources = build_resources(settings)
    per_source: dict[str, tuple[int, float, float, int]] = {}
    t0, cpu0 = time.perf_counter(), time.process_time()
    with dg.DagsterInstance.ephemeral() as instance:
        for cadence in ("daily", "weekly"):
            selected = [a for a in assets if SOURCES[a.key.path[1]].partition_cadence == cadence]
            pdef = selected[0].partitions_def
            keys = [k for k in pdef.get_partition_keys() if k <= last.isoformat()]
            keys = [k for k in keys if k >= (first - timedelta(days=6 if cadence == "weekly" else 0)).isoformat()]
            tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
            result = dg.materialize(
                selected,
                resources=resources,
                instance=instance,
                tags=tags,
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            )
            assert result.success
            for entry in instance.all_logs(result.run_id):  # the run's totals: one log line per asset
                if summary := parse_run_summary(entry.user_message):
                    per_source[summary["source"]] = (
                        summary["rows"],
                        summary["seconds"],
                        summary["cpu_seconds"],
                        summary["files_quarantined"],
                    )
    return time.perf_counter() - t0, time.process_time() - cpu0, per_source


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--end-date", default="2024-12-30")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    end = date.fromisoformat(args.end_date)
    first = end - timedelta(days=args.days - 1)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="c360-bench-"))
    if not (workdir / "landing").exists():
        generate(workdir, args.scale, args.days, end)
    os.environ.setdefault("DAGSTER_HOME", str(workdir / "dagster_home"))
    db = workdir / "bench.duckdb"
    db.unlink(missing_ok=True)
    for label in ("first load", "re-run (idempotent)"):
        wall, cpu, per_source = ingest(workdir, first, end, db)
        total = sum(r for r, _, _, _ in per_source.values())
        loader_s = sum(s for _, s, _, _ in per_source.values())
        loader_cpu = sum(c for _, _, c, _ in per_source.values())
        print(f"\n{label}: scale {args.scale}, {args.days} days, {total:,} rows")
        print(f"{'source':<17}{'rows':>11}{'seconds':>9}{'cpu s':>8}{'rows/s':>11}{'quarantined':>13}")
        for source, (rows, seconds, cpu_s, q) in per_source.items():
            print(
                f"{source:<17}{rows:>11,}{seconds:>9.2f}{cpu_s:>8.2f}{rows / seconds if seconds else 0:>11,.0f}{q:>13}"
            )
        print(f"{'loader total':<17}{total:>11,}{loader_s:>9.2f}{loader_cpu:>8.2f}{total / loader_s:>11,.0f}")
        print(f"{'dagster run':<17}{total:>11,}{wall:>9.2f}{cpu:>8.2f}{total / wall:>11,.0f}")
    print(f"\n(load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    from benchmarks.code_location import measure_definitions_import

    load = measure_definitions_import()
    print(
        f"\nDefinitions load (import customer360.definitions, median of 3): {load['median_wall_s']:.2f} s wall, "
        f"{load['median_cpu_s']:.2f} s CPU"
    )
    print("slowest top-level imports (-X importtime, cumulative):")
    for seconds, module, _ in [i for i in load["imports"] if i[2] == 0][:8]:
        print(f"  {seconds:6.2f} s  {module}")


if __name__ == "__main__":
    main()
