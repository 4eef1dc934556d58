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

from customer360.catalog import SOURCES
from customer360.settings import DBT_PROJECT_DIR, REPO_ROOT

FEATURE_SELECTION = "+feat_customer_segmentation +feat_fraud_behavior"


def generate(landing: Path, truth: Path, *, scale: float, days: int, end_date: date, seed: int = 7) -> float:
    """Run the generator CLI; returns seconds."""
    t0 = time.perf_counter()
    cmd = [
        sys.executable, "-m", "data_generation", "--scale", str(scale), "--days", str(days),
        "--end-date", end_date.isoformat(), "--landing", str(landing), "--truth", str(truth), "--seed", str(seed),
    ]
    subprocess.run(cmd, check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def ingest(landing: Path, duckdb_path: Path, quarantine: Path) -> float:
    """Load every landed day of every source into ``raw.*``; returns seconds."""
    from customer360.ingestion.loader import load_days
    from customer360.resources import LandingResource, WarehouseResource

    t0 = time.perf_counter()
    warehouse = WarehouseResource(duckdb_path=str(duckdb_path))
    landing_res = LandingResource(landing_url=str(landing), quarantine_url=str(quarantine))
    for source in SOURCES:
        days = sorted(
            {date.fromisoformat(p.name.split("=", 1)[1]) for p in (landing / source).glob("load_date=*") if p.is_dir()}
        )
        load_days(source, days, warehouse, landing_res)
    return time.perf_counter() - t0


def dbt_features(duckdb_path: Path, as_of: date | None = None, target_path: Path | None = None) -> float:
    """``dbt seed`` + ``dbt run`` of the staging views and both ML feature tables (and what they need)."""
    env = {**os.environ, "C360_DUCKDB_PATH": str(duckdb_path), "C360_DBT_TARGET": "local"}
    if target_path is not None:
        env["DBT_TARGET_PATH"] = str(target_path)
    dbt = str(Path(sys.executable).with_name("dbt"))
    vars_ = json.dumps({"as_of_date": as_of.isoformat()} if as_of else {})
    common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--vars", vars_]
    t0 = time.perf_counter()
    for args in (["seed"], ["run", "--select", FEATURE_SELECTION]):
        proc = subprocess.run([dbt, *args, *common], env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"dbt {args[0]} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def materialize_ml(duckdb_path: Path, artifacts_url: str, *, as_of: date | None = None, refit: bool | None = True):
    """Materialize all ML assets in one in-process Dagster run; returns (seconds, result)."""
    import dagster as dg

    from customer360.ml.assets import ml_assets
    from customer360.resources import WarehouseResource

    os.environ["C360_ARTIFACTS_URL"] = artifacts_url
    cfg = {"refit": refit, "as_of_date": as_of.isoformat() if as_of else None}
    run_config = {"ops": {a.op.name: {"config": cfg} for a in ml_assets()}}
    t0 = time.perf_counter()
    result = dg.materialize(
        ml_assets(),
        resources={"warehouse": WarehouseResource(duckdb_path=str(duckdb_path))},
        run_config=run_config,
        raise_on_error=True,
    )
    return time.perf_counter() - t0, result


def holdout_as_of(end_date: date, holdout_days: int = 90) -> date:
    """The scoring day that leaves the last ``holdout_days`` of data as the unseen future ``[as_of, end]``."""
    return end_date + timedelta(days=1) - timedelta(days=holdout_days)
