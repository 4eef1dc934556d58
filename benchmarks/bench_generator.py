"""Generator benchmark: all seven sources at ``--scale 1.0`` over 365 days — wall time, CPU time, rows/s, peak
RSS — and the speed-up over a Faker-per-row baseline measured on a sample.

    .venv/bin/python benchmarks/bench_generator.py [--scale 1.0] [--days 365] [--workdir DIR] [--faker-rows 20000]

Target (issue 2): scale 1.0, 365 days in <= 30 s wall and <= 2 GB peak RSS on a 2-core machine. The generator
runs in a child process (``python -m data_generation``) so its peak RSS is measured alone (``wait4`` rusage).
The load average is printed too: on a shared box, wall time depends on what else runs; CPU time does not.
Prints a table and a JSON document (also written to ``benchmarks/results/generator.json``).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # benchmarks.generator_cli

from benchmarks.generator_cli import generator_command  # noqa: E402

TARGET_WALL_S = 30.0
TARGET_RSS_MB = 2048.0


def run_generator(workdir: Path, scale: float, days: int, end: date, seed: int) -> dict:
    cmd = generator_command(
        workdir / "landing",
        workdir / "truth",
        scale=scale,
        days=days,
        end=end,
        seed=seed,
        extra=("--overwrite", "--no-progress", "--json"),
    )
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"generator failed ({status})")
    summary = json.loads(out)
    rows = summary["total_rows"]
    return {
        "scale": scale,
        "days": days,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
        "rows": rows,
        "bytes": summary["total_bytes"],
        "files": sum(s["files"] for s in summary["sources"].values()),
        "rows_per_s": round(rows / wall),
        "rows_per_cpu_s": round(rows / max(usage.ru_utime + usage.ru_stime, 1e-9)),
        "load_average_before": round(load_before, 2),
        "per_source": {
            k: {"rows": v["rows"], "entities": v["entities"], "files": v["files"], "mb": round(v["bytes"] / 1e6, 1)}
            for k, v in summary["sources"].items()
        },
    }


def faker_baseline(n: int, seed: int = 1) -> dict:
    """The obvious way: one Python dict per transaction row from Faker, then a DataFrame and a parquet file."""
    import io

    import polars as pl
    from faker import Faker

    fake = Faker()
    Faker.seed(seed)
    t0 = time.perf_counter()
    rows = []
    for _ in range(n):
        rows.append(
            {
                "transaction_id": fake.uuid4(),
                "customer_id": f"C{fake.random_int(1, 270_000):08d}",
                "order_id": fake.uuid4() if fake.boolean(30) else None,
                "transaction_date": fake.date_time_between(start_date="-365d", end_date="now"),
                "amount": float(fake.pydecimal(left_digits=4, right_digits=2, positive=True)),
                "currency": fake.currency_code(),
                "payment_method": fake.random_element(("card", "ach", "wallet", "wire")),
                "transaction_type": fake.random_element(("purchase", "refund", "reversal", "fee")),
                "status": fake.random_element(("success", "failed", "pending", "reversed")),
                "merchant_id": f"M{fake.random_int(1, 50_000):07d}",
            }
        )
    buf = io.BytesIO()
    pl.DataFrame(rows).write_parquet(buf)
    wall = time.perf_counter() - t0
    return {"rows": n, "wall_s": round(wall, 3), "rows_per_s": round(n / wall)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--end-date", type=date.fromisoformat, default=date(2025, 12, 31))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--workdir", type=Path, default=None, help="where to write the data (default: a temporary folder, removed)"
    )
    ap.add_argument("--faker-rows", type=int, default=20_000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_generator_") as tmp:
        workdir = args.workdir or Path(tmp)
        gen = run_generator(workdir, args.scale, args.days, args.end_date, args.seed)
    base = faker_baseline(args.faker_rows)
    result = {
        "generator": gen,
        "faker_baseline": base,
        "speedup_vs_faker": round(gen["rows_per_s"] / base["rows_per_s"], 1),
        "target": {"wall_s": TARGET_WALL_S, "peak_rss_mb": TARGET_RSS_MB},
        "meets_target": gen["wall_s"] <= TARGET_WALL_S and gen["peak_rss_mb"] <= TARGET_RSS_MB,
        "cpus": os.cpu_count(),
    }

    print(f"{'source':<16}{'rows':>12}{'entities':>12}{'files':>8}{'MB':>9}")
    for name, s in gen["per_source"].items():
        print(f"{name:<16}{s['rows']:>12,}{s['entities']:>12,}{s['files']:>8,}{s['mb']:>9.1f}")
    print()
    print(f"{'metric':<34}{'value':>16}")
    lines = [
        ("scale / days", f"{gen['scale']} / {gen['days']}"),
        ("rows written", f"{gen['rows']:,}"),
        ("files / MB", f"{gen['files']:,} / {gen['bytes'] / 1e6:,.0f}"),
        ("wall time (s)", f"{gen['wall_s']:.1f}  (target <= {TARGET_WALL_S:.0f})"),
        ("CPU time user+sys (s)", f"{gen['cpu_s']:.1f}"),
        ("peak RSS (MB)", f"{gen['peak_rss_mb']:,.0f}  (target <= {TARGET_RSS_MB:.0f})"),
        ("rows/s (wall)", f"{gen['rows_per_s']:,}"),
        ("rows/s (CPU)", f"{gen['rows_per_cpu_s']:,}"),
        ("Faker per-row baseline rows/s", f"{base['rows_per_s']:,}  ({base['rows']:,}-row sample)"),
        ("speed-up vs Faker", f"{result['speedup_vs_faker']:,}x"),
        ("load average before the run", f"{gen['load_average_before']}  ({result['cpus']} CPUs)"),
        ("meets target", str(result["meets_target"])),
    ]
    for k, v in lines:
        print(f"{k:<34}{v:>16}")
    print()
    print(json.dumps(result, indent=2))
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "generator.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
