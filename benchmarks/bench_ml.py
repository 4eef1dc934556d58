"""Wall and CPU seconds per ML asset on an existing warehouse (e.g. a copy of a full pipeline's DuckDB file).

    .venv/bin/python benchmarks/bench_ml.py --warehouse /tmp/me/wh.duckdb --as-of 2026-08-24 \
        [--artifacts DIR] [--truth DIR] [--json OUT]

The warehouse needs the raw tables, the staging views and both ML feature tables (``ml.feat_*``); the ML assets
write their ``ml.*`` output tables into it, so pass a **copy**. Each ML op is materialized in its own in-process
Dagster run (refit forced) and timed: wall seconds, CPU seconds of this process (Python, polars, scikit-learn and
DuckDB threads) and the 1-minute load average before and after. Then each op runs again in its own run with the
default ``refit: null`` — the daily-scoring path: the models just saved are reused (``refit_reason`` recorded), so
churn/LTV compute the as-of features only and never read the training history. With ``--truth`` (the generator's truth folder of the same data)
the outputs are scored against the planted truth exactly as ``benchmarks/eval_ml.py`` does, with ``as_of`` as
the start of the held-out window.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _materialize(assets, duckdb_path: Path, config: dict) -> tuple[float, float, dict[str, str]]:
    import dagster as dg

    from customer360.resources import WarehouseResource

    run_config = {"ops": {a.op.name: {"config": config} for a in assets}}
    t0, c0 = time.perf_counter(), time.process_time()
    result = dg.materialize(
        assets,
        resources={"warehouse": WarehouseResource(duckdb_path=str(duckdb_path))},
        run_config=run_config,
        raise_on_error=True,
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    reasons = {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata["refit_reason"].value
        for e in result.get_asset_materialization_events()
    }
    return wall, cpu, reasons


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warehouse", type=Path, required=True, help="DuckDB file (a copy: the ML tables are rewritten)")
    ap.add_argument("--as-of", type=date.fromisoformat, required=True, help="churn/LTV reference day")
    ap.add_argument("--artifacts", type=Path, default=None, help="model store (default: a temporary folder)")
    ap.add_argument("--truth", type=Path, default=None, help="generator truth folder: also evaluate the outputs")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    artifacts = args.artifacts or Path(tempfile.mkdtemp(prefix="c360_bench_ml_"))
    os.environ["C360_ARTIFACTS_URL"] = str(artifacts.resolve())
    # heavy libraries imported before any timing: the first asset would otherwise pay for them
    import dagster as dg
    import sklearn.ensemble  # noqa: F401

    from customer360.ml import assets as ml

    @dg.asset
    def warm_up() -> None:
        """Dagster's first in-process run costs ≈ 4 s CPU: paid here, not by the first ML op timed."""

    dg.materialize([warm_up])
    config = {"refit": True, "as_of_date": args.as_of.isoformat()}
    out: dict = {"warehouse": str(args.warehouse), "as_of": args.as_of.isoformat()}
    for phase, refit in (("refit", True), ("scoring", None)):
        out[phase] = {}
        for a in ml.ml_assets():
            load_before = os.getloadavg()[0]
            wall, cpu, reasons = _materialize([a], args.warehouse, {**config, "refit": refit})
            out[phase][a.op.name] = {
                "wall_seconds": round(wall, 2),
                "cpu_seconds": round(cpu, 2),
                "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "refit_reason": reasons,
            }
            print(phase, a.op.name, out[phase][a.op.name], flush=True)
        out[f"all_{phase}_wall_seconds"] = round(sum(v["wall_seconds"] for v in out[phase].values()), 2)
        out[f"all_{phase}_cpu_seconds"] = round(sum(v["cpu_seconds"] for v in out[phase].values()), 2)
    if args.truth is not None:
        from benchmarks.eval_ml import evaluate

        out["eval"] = evaluate(args.warehouse, args.truth, args.as_of)
    from benchmarks.ml_pipeline import emit_json

    emit_json(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
