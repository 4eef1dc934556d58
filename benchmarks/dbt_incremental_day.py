"""Wall time of a full `dbt build` vs the `dbt build` after one appended day, for one or more dbt project folders
side by side on the same generated data (e.g. the current project and an export of an older one).

    .venv/bin/python benchmarks/dbt_incremental_day.py --scale 0.1 --days 90 \
        --project after=dbt_project --project before=/tmp/c360-before/dbt_project

Each project gets its own DuckDB file: the history (day by day, stamped with its arrival time) → `dbt seed` →
`dbt build` (timed: full) → the appended day (`--append-day`) → `dbt build` (timed: one day). dbt runs as a
subprocess (`.venv/bin/dbt`), each with a parse of its own beforehand so parsing is not in the figures.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from customer360_tests.transform.rawdata import load_raw

DBT = Path(sys.executable).parent / "dbt"


def _arrival(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time()) + timedelta(hours=6)


def _dbt(project: Path, db: Path, target: Path, as_of: date, *args: str) -> float:
    env = {**os.environ, "C360_DUCKDB_PATH": str(db), "DBT_PROFILES_DIR": str(project), "C360_DBT_THREADS": "2"}
    cmd = [
        str(DBT),
        *args,
        "--project-dir",
        str(project),
        "--target-path",
        str(target),
        "--log-path",
        str(target),
        "--vars",
        json.dumps({"as_of_date": as_of.isoformat()}),
        "--quiet",
    ]
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed in {project}:\n{out.stdout[-3000:]}{out.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--end-date", type=date.fromisoformat, default=date(2024, 12, 30))
    p.add_argument("--project", action="append", required=True, help="label=path of a dbt project folder")
    args = p.parse_args()
    from data_generation.append import append_day
    from data_generation.generator import GenerateConfig, generate

    work = Path(tempfile.mkdtemp(prefix="c360_bench_incr_"))
    landing = work / "landing"
    generate(GenerateConfig(landing=str(landing), scale=args.scale, days=args.days, end_date=args.end_date, seed=42))
    append_day(str(landing))
    first, new_day = args.end_date - timedelta(days=args.days - 1), args.end_date + timedelta(days=1)
    results = {}
    for spec in args.project:
        label, path = spec.split("=", 1)
        project, folder = Path(path).resolve(), work / label
        folder.mkdir()
        db, target = folder / "warehouse.duckdb", folder / "target"
        for i in range(args.days):
            day = first + timedelta(days=i)
            load_raw(landing, db, only_days=(day, day), loaded_at=_arrival(day), append=i > 0)
        _dbt(project, db, target, args.end_date, "parse")
        _dbt(project, db, target, args.end_date, "seed")
        full = _dbt(project, db, target, args.end_date, "build")
        load_raw(landing, db, only_days=(new_day, new_day), loaded_at=_arrival(new_day), append=True)
        day = _dbt(project, db, target, new_day, "build")
        results[label] = {
            "full_build_s": round(full, 1),
            "appended_day_build_s": round(day, 1),
            "ratio": round(day / full, 2),
        }
        print(label, results[label], flush=True)
    print(json.dumps({"scale": args.scale, "days": args.days, "results": results}, indent=2))


if __name__ == "__main__":
    main()
