"""Build a warehouse for the ML benchmarks: generate → ingest (raw) → dbt (staging + ML feature tables).

Used by ``benchmarks/eval_ml.py`` / ``benchmarks/bench_ml.py`` and by the ML tests' fixture (small scale). The
ML assets themselves are then materialized through Dagster by the caller. Everything runs on a DuckDB file of
its own; nothing here reads the truth folder (the callers do, for evaluation only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.generator_cli import generator_command
from customer360.catalog import SOURCES
from customer360.settings import DBT_PROJECT_DIR, REPO_ROOT

FEATURE_SELECTION = "+feat_customer_segmentation +feat_fraud_behavior"
FAST_INGEST_DAYS_PER_CHUNK = 31  # landed days per frame in fast_ingest (bounds its memory at scale 10)


def generate(landing: Path, truth: Path, *, scale: float, days: int, end_date: date, seed: int = 7) -> float:
    """Run the generator CLI; returns seconds."""
    t0 = time.perf_counter()
    cmd = generator_command(landing, truth, scale=scale, days=days, end=end_date, seed=seed, extra=("--no-progress",))
    subprocess.run(cmd, check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def ingest(landing: Path, duckdb_path: Path, quarantine: Path) -> float:
    """Load every landed day of every source into ``raw.*``; returns seconds."""
    from customer360.ingestion.loader import load_days
    from customer360.resources import LandingResource, WarehouseResource

    t0 = time.perf_counter()
    warehouse = WarehouseResource(duckdb_path=str(duckdb_path)).build()
    landing_res = LandingResource(landing_url=str(landing), quarantine_url=str(quarantine))
    for source in SOURCES:
        days = sorted(
            {date.fromisoformat(p.name.split("=", 1)[1]) for p in (landing / source).glob("load_date=*") if p.is_dir()}
        )
        load_days(source, days, warehouse, landing_res)
    return time.perf_counter() - t0


def fast_ingest(landing: Path, duckdb_path: Path) -> float:
    """Benchmark/test shortcut for a *local, clean* landing zone: every landed file of a source goes into
    ``raw.<source>`` in one ``write_table`` call (catalog columns + loader columns), without the per-file
    contracts and quarantine of the ingestion assets (those are tested and benchmarked by the ingestion layer).
    The result is the raw layer the ingestion assets produce for clean files; dbt staging dedups it the same way.
    """
    from datetime import UTC, datetime

    import polars as pl

    from customer360.resources import WarehouseResource

    t0 = time.perf_counter()
    warehouse = WarehouseResource(duckdb_path=str(duckdb_path)).build()
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    for source, spec in SOURCES.items():
        # a chunk of landed days at a time (same rows, same order): one frame of a whole source at scale 10
        # (80 M event rows) plus its Arrow copy outgrew 24 GB of RAM
        day_dirs = sorted(p for p in (landing / source).glob("load_date=*") if p.is_dir())
        for i in range(0, len(day_dirs), FAST_INGEST_DAYS_PER_CHUNK):
            chunk = day_dirs[i : i + FAST_INGEST_DAYS_PER_CHUNK]
            files = sorted(str(f) for d in chunk for f in d.glob("*.parquet"))
            if not files:
                continue
            raw = (
                pl.scan_parquet(files, include_file_paths="_path", hive_partitioning=False)
                .select(*spec.column_names, "_path")
                .with_columns(
                    pl.col("_path").str.extract(r"load_date=(\d{4}-\d{2}-\d{2})").str.to_date().alias("_load_date"),
                    pl.col("_path").str.replace(r"^.*?(" + source + r"/load_date=)", "$1").alias("_source_file"),
                    pl.lit(loaded_at).cast(pl.Datetime("us")).alias("_loaded_at"),
                )
                .drop("_path")
                .collect()
            )
            ts = [c for c, t in raw.schema.items() if isinstance(t, pl.Datetime) and t.time_zone is not None]
            raw = raw.with_columns(pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None) for c in ts)
            if i == 0:
                warehouse.write_table("raw", source, raw)
            else:  # days not loaded yet: nothing is deleted, the chunk is appended
                days = raw["_load_date"].unique().sort().to_list()
                warehouse.replace_partition("raw", source, raw, "_load_date", days)
            del raw
    return time.perf_counter() - t0


def dbt_features(duckdb_path: Path, as_of: date | None = None, target_path: Path | None = None) -> float:
    """One ``dbt build`` (models + the fx seed, no tests) of the staging views, both ML feature tables and what
    they need; returns seconds. One invocation: dbt's start-up and parse dominate at small scale."""
    env = {**os.environ, "C360_DUCKDB_PATH": str(duckdb_path), "C360_DBT_TARGET": "local"}
    if target_path is not None:
        env["DBT_TARGET_PATH"] = str(target_path)
    dbt = str(Path(sys.executable).with_name("dbt"))
    args = [
        "build",
        "--select",
        FEATURE_SELECTION,
        "--exclude",
        "resource_type:test resource_type:unit_test",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]
    if as_of:
        args += ["--vars", json.dumps({"as_of_date": as_of.isoformat()})]
    t0 = time.perf_counter()
    proc = subprocess.run([dbt, *args], env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def materialize_ml(duckdb_path: Path, artifacts_url: str, *, as_of: date | None = None, refit: bool | None = True):
    """Materialize all ML assets in one in-process Dagster run; returns (wall seconds, result, CPU seconds).

    CPU seconds (this process: Python, polars, scikit-learn and DuckDB threads) are a load-independent companion
    to the wall figure on a shared machine."""
    import dagster as dg

    from customer360.ml.assets import ml_assets
    from customer360.resources import WarehouseResource

    os.environ["C360_ARTIFACTS_URL"] = artifacts_url
    cfg = {"refit": refit, "as_of_date": as_of.isoformat() if as_of else None}
    run_config = {"ops": {a.op.name: {"config": cfg} for a in ml_assets()}}
    t0, c0 = time.perf_counter(), time.process_time()
    result = dg.materialize(
        ml_assets(),
        resources={"warehouse": WarehouseResource(duckdb_path=str(duckdb_path))},
        run_config=run_config,
        raise_on_error=True,
    )
    return time.perf_counter() - t0, result, time.process_time() - c0


def holdout_as_of(end_date: date, holdout_days: int = 90) -> date:
    """The scoring day that leaves the last ``holdout_days`` of data as the unseen future ``[as_of, end]``."""
    return end_date + timedelta(days=1) - timedelta(days=holdout_days)


def emit_json(results: dict, path: Path | None) -> None:
    """Print the results as JSON and, when ``path`` is given, write them there too."""
    text = json.dumps(results, indent=2, default=str)
    print(text)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
