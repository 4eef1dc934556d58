"""Pipeline benchmark: full build through Dagster, the same work done directly, incremental cost, code-location
load and sensor latency. Prints a table and writes JSON (``<workdir>/results.json`` and ``benchmarks/results/``).

    .venv/bin/python benchmarks/bench_pipeline.py [--scale 1.0] [--days 365] [--workdir DIR] [--phases ...]

Phases (each in a fresh child process, so peak RSS and CPU are its own; RSS is sampled over the whole process
tree every 0.2 s, so the dbt subprocesses count; CPU = user + system of the process and its waited children):

* ``generate``  — ``data_generation.generate`` into ``<workdir>/landing`` (skipped when the landing zone exists);
* ``dagster``   — ``customer360.pipeline.run_pipeline(defs, instance, first, last)`` exactly as ``customer360
  demo`` runs it, on ``<workdir>/dagster/warehouse.duckdb`` and a temp ``DAGSTER_HOME`` (after ``dbt parse`` for
  that warehouse path, as ``make setup`` does): ingest (daily) → ingest (products) → dbt + ML → fct_transactions;
* ``direct``    — the same work without Dagster on ``<workdir>/direct/warehouse.duckdb``: ``load_days`` per
  source, ``dbt build`` CLI of everything upstream of the ML outputs, the ML scoring functions called plainly,
  ``dbt build`` CLI of what reads the ML outputs + ``fct_transactions`` for the whole window;
* ``incremental`` — on the ``dagster`` phase's warehouse and instance: one arrival-sensor tick (cursor
  bootstrap), ``data_generation.append_day``, a timed sensor tick (file lands → run requested), then
  ``customer360 update``'s ``run_update``: the new day's raw partitions (what the load ledger has not seen), the
  incremental downstream build, the new ``fct_transactions`` partition;
* ``import``    — ``import customer360.definitions`` in fresh interpreters (median of 3) and the slowest imports.

The machine is shared: the 1-minute load average is recorded at the start and end of every phase.
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PHASES = ("generate", "dagster", "direct", "incremental", "import")
DB_NAME = "warehouse.duckdb"  # the manifest names DuckDB relations by this file stem (see prepare)


# ---------------------------------------------------------------------------------------------------- measurement
class Monitor:
    """Wall, CPU and peak RSS (process tree) per named step of this process."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self._proc = psutil.Process()
        self._psutil = psutil
        self._interval = interval
        self._lock = threading.Lock()
        self._peak = 0
        self._step_peak = 0
        self.steps: list[dict] = []
        self._current: tuple[str, float, float, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree_rss(self) -> int:
        total = 0
        try:
            procs = [self._proc, *self._proc.children(recursive=True)]
        except self._psutil.Error:
            procs = [self._proc]
        for p in procs:
            with contextlib.suppress(self._psutil.Error):
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self._tree_rss()
            with self._lock:
                self._peak = max(self._peak, rss)
                self._step_peak = max(self._step_peak, rss)
            self._stop.wait(self._interval)

    @staticmethod
    def cpu() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def step(self, name: str | None) -> None:
        """Close the running step (if any) and start ``name`` (None: just close)."""
        now, cpu = time.perf_counter(), self.cpu()
        rss = self._tree_rss()
        with self._lock:
            self._step_peak = max(self._step_peak, rss)
            if self._current is not None:
                label, t0, c0, l0 = self._current
                self.steps.append(
                    {
                        "step": label,
                        "wall_s": round(now - t0, 2),
                        "cpu_s": round(cpu - c0, 2),
                        "peak_rss_mb": round(self._step_peak / 2**20),
                        "load_start": l0,
                        "load_end": round(os.getloadavg()[0], 2),
                    }
                )
            self._current = (name, now, cpu, round(os.getloadavg()[0], 2)) if name else None
            self._step_peak = rss

    def close(self) -> dict:
        self.step(None)
        self._stop.set()
        self._thread.join()
        return {"steps": self.steps, "peak_rss_mb": round(self._peak / 2**20)}


# ---------------------------------------------------------------------------------------------------- helpers
def _env_for(workdir: Path, name: str) -> dict[str, str]:
    """customer360 settings of one phase: its own warehouse, quarantine, artifacts and Dagster instance."""
    base = workdir / name
    return {
        "C360_LANDING_URL": str(workdir / "landing"),
        "C360_QUARANTINE_URL": str(base / "quarantine"),
        "C360_DUCKDB_PATH": str(base / DB_NAME),
        "C360_WAREHOUSE": "duckdb",
        "C360_ARTIFACTS_URL": str(base / "artifacts"),
        "DAGSTER_HOME": str(base / "dagster_home"),
    }


def _landed_days(landing: Path, source: str) -> list[date]:
    return sorted(
        date.fromisoformat(p.name.split("=", 1)[1]) for p in (landing / source).glob("load_date=*") if p.is_dir()
    )


def _dbt() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def _prepare_dbt(target_path: Path | None = None) -> float:
    """``dbt parse`` for this phase's C360_DUCKDB_PATH and the dbt assets' specs (what ``make setup`` does); returns
    seconds (not counted)."""
    from customer360.settings import DBT_PROJECT_DIR

    t0 = time.perf_counter()
    args = [
        _dbt(),
        "parse",
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        "local",
    ]
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    subprocess.run(
        args, check=True, cwd=DBT_PROJECT_DIR, env={**os.environ, "C360_DBT_TARGET": "local"}, stdout=subprocess.DEVNULL
    )
    # the dbt assets' specs beside the new manifest (else the next code-location load rebuilds them)
    specs = [sys.executable, "-m", "customer360.transform.spec_cache", "--target", "local"]
    if target_path is not None:
        specs += ["--target-path", str(target_path)]
    subprocess.run(specs, check=True, cwd=DBT_PROJECT_DIR, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _window(meta: dict) -> tuple[date, date]:
    return date.fromisoformat(meta["first"]), date.fromisoformat(meta["last"])


# ---------------------------------------------------------------------------------------------------- phases
def phase_generate(workdir: Path, meta: dict, mon: Monitor) -> dict:
    from data_generation import GenerateConfig, generate

    _first, last = _window(meta)
    mon.step("generate")
    summary = generate(
        GenerateConfig(
            landing=str(workdir / "landing"),
            truth=str(workdir / "truth"),
            scale=meta["scale"],
            days=meta["days"],
            end_date=last,
            seed=7,
            overwrite=True,
        )
    )
    mon.step(None)
    rows = sum(s.rows for s in summary.sources.values()) if hasattr(summary, "sources") else None
    return {"rows": rows, "summary": summary.table()}


def _run_pipeline_steps(mon: Monitor, defs, instance, first: date, last: date, log_level: str = "ERROR") -> None:
    from customer360.pipeline import run_pipeline

    def log(msg: str) -> None:
        if msg.startswith("→ "):
            mon.step(msg[2:].split(":")[0])
        print("   " + msg, flush=True)

    run_pipeline(defs, instance, first, last, log=log, log_level=log_level)
    mon.step(None)


def phase_dagster(workdir: Path, meta: dict, mon: Monitor) -> dict:
    first, last = _window(meta)
    parse_s = _prepare_dbt()
    mon.step("load definitions")
    import dagster as dg

    from customer360.definitions import defs

    with dg.DagsterInstance.get() as instance:
        mon.step(None)
        _run_pipeline_steps(mon, defs, instance, first, last)
    return {"dbt_parse_setup_s": round(parse_s, 2)}


def phase_direct(workdir: Path, meta: dict, mon: Monitor) -> dict:
    first, last = _window(meta)
    target = workdir / "direct" / "dbt_target"
    parse_s = _prepare_dbt(target)
    from customer360.settings import DBT_PROJECT_DIR

    mon.step("imports (loader, warehouse, ML)")
    from customer360.catalog import SOURCES
    from customer360.ingestion.loader import load_days
    from customer360.resources import LandingResource, WarehouseResource
    from customer360.settings import get_settings

    settings = get_settings()
    warehouse = WarehouseResource(duckdb_path=settings.duckdb_path).build()
    landing_res = LandingResource(landing_url=settings.landing_url, quarantine_url=settings.quarantine_url)
    landing = Path(settings.landing_url)
    rows = {}
    for cadence in ("daily", "weekly"):
        mon.step(f"ingest ({cadence}) — load_days")
        for source, spec in SOURCES.items():
            if spec.partition_cadence == cadence:
                rows[source] = load_days(source, _landed_days(landing, source), warehouse, landing_res).rows

    def dbt(args: list[str]) -> None:
        cmd = [
            _dbt(),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            "local",
            "--target-path",
            str(target),
        ]
        proc = subprocess.run(
            cmd, cwd=DBT_PROJECT_DIR, capture_output=True, text=True, env={**os.environ, "C360_DBT_TARGET": "local"}
        )
        if proc.returncode != 0:
            raise RuntimeError(f"dbt failed: {' '.join(args)}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")

    downstream_of_ml = "fct_customer_value+ fct_transactions+"
    mon.step("dbt build (upstream of ML) — CLI")
    dbt(["build", "--exclude", downstream_of_ml])

    mon.step("ML scoring — plain functions")
    _ml_direct(warehouse, settings)

    mon.step("dbt build (marts reading ML + fct_transactions window) — CLI")
    window = {"min_date": first.isoformat(), "max_date": (last + timedelta(days=1)).isoformat()}
    dbt(["build", "--select", downstream_of_ml, "--vars", json.dumps(window, sort_keys=True)])
    mon.step(None)
    return {"dbt_parse_setup_s": round(parse_s, 2), "raw_rows": rows}


def _ml_direct(warehouse, settings) -> None:
    """What the three ML assets do, without Dagster: read features, fit + score, write ``ml.*``."""
    from customer360.ml import assets as ml
    from customer360.ml.artifacts import ArtifactStore
    from customer360.ml.contracts import FRAUD_FEATURES, SEGMENTATION_FEATURES, validate_feature_table
    from customer360.ml.features import FRAUD_TABLE, SEGMENTATION_TABLE, read_feature_table
    from customer360.ml.scoring_inputs import PointInTimeInputs

    store = ArtifactStore.from_url(settings.artifacts_url)
    as_of = date.fromisoformat(settings.as_of_date) if settings.as_of_date else None
    days = settings.ml_retrain_days
    seg = validate_feature_table(
        SEGMENTATION_TABLE, read_feature_table(warehouse, SEGMENTATION_TABLE), SEGMENTATION_FEATURES
    )
    warehouse.write_table("ml", "customer_segments", ml.run_segments(seg, store, None, retrain_days=days)["scores"])
    fraud = validate_feature_table(FRAUD_TABLE, read_feature_table(warehouse, FRAUD_TABLE), FRAUD_FEATURES)
    warehouse.write_table("ml", "customer_risk_scores", ml.run_risk(fraud, store, None, retrain_days=days)["scores"])
    inputs = PointInTimeInputs(as_of, warehouse=warehouse)
    churn = ml.run_churn(inputs, store, None, retrain_days=days)
    warehouse.write_table("ml", "churn_predictions", churn["scores"])
    ltv = ml.run_ltv(inputs, store, None, retrain_days=days)
    warehouse.write_table("ml", "ltv_predictions", ltv["scores"])


def phase_incremental(workdir: Path, meta: dict, mon: Monitor) -> dict:
    import dagster as dg

    from customer360.definitions import defs
    from customer360.ingestion.sensors import MINIMUM_INTERVAL_SECONDS, build_arrival_sensor
    from customer360.resources import LandingResource
    from customer360.settings import get_settings
    from data_generation import append_day

    settings = get_settings()
    landing = LandingResource(landing_url=settings.landing_url, quarantine_url=settings.quarantine_url)
    sensor = build_arrival_sensor("transactions", settings)
    out: dict = {"sensor_minimum_interval_s": MINIMUM_INTERVAL_SECONDS}
    with dg.DagsterInstance.get() as instance:

        def tick(cursor):
            ctx = dg.build_sensor_context(cursor=cursor, instance=instance, resources={"landing": landing})
            t0 = time.perf_counter()
            result = sensor(ctx)
            return time.perf_counter() - t0, list(result.run_requests or []), result.cursor

        boot_s, boot_reqs, cursor = tick(None)
        out["sensor_bootstrap_tick_s"] = round(boot_s, 2)
        out["sensor_bootstrap_requests"] = len(boot_reqs)
        mon.step("append_day (generator, not counted)")
        append_day(str(workdir / "landing"), str(workdir / "truth"))
        mon.step(None)
        new_day = max(_landed_days(workdir / "landing", "transactions"))
        landed_at = time.perf_counter()
        tick_s, reqs, cursor = tick(cursor)
        out["sensor_tick_after_landing_s"] = round(tick_s, 2)
        out["sensor_requests_after_landing"] = sorted(r.partition_key for r in reqs)
        out["file_lands_to_run_requested_s"] = round(time.perf_counter() - landed_at, 2)
        out["new_day"] = new_day.isoformat()
        out["update"] = _run_update_steps(mon, defs, instance, landing, settings)
    return out


def _run_update_steps(mon: Monitor, defs, instance, landing, settings) -> list[str]:
    """``customer360 update``'s own code: what the ledger has not seen, then what depends on it."""
    from customer360.update import run_update

    def log(msg: str) -> None:
        if msg.startswith("→ "):
            mon.step(msg[2:].split(":")[0])
        print("   " + msg, flush=True)

    report = run_update(
        defs,
        instance,
        landing,
        settings.partitions_start,
        defs.resources["warehouse"].build(),
        log=log,
        log_level="ERROR",
    )
    mon.step(None)
    for line in report.lines():
        print("   " + line, flush=True)
    return report.lines()


def phase_import(workdir: Path, meta: dict, mon: Monitor) -> dict:
    from benchmarks.code_location import measure_definitions_import

    out = measure_definitions_import()
    imports = out.pop("imports")
    out["slowest_imports"] = [{"module": n, "cumulative_s": round(s, 2)} for s, n, d in imports if d <= 2][:12]
    return out


def run_phase(name: str, workdir: Path) -> None:
    meta = json.loads((workdir / "meta.json").read_text())
    mon = Monitor()
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), Monitor.cpu()
    extra = globals()[f"phase_{name}"](workdir, meta, mon)
    out = {
        "phase": name,
        "wall_s": round(time.perf_counter() - t0, 2),
        "cpu_s": round(Monitor.cpu() - c0, 2),
        "load_start": round(load0, 2),
        "load_end": round(os.getloadavg()[0], 2),
        **mon.close(),
        **(extra or {}),
    }
    (workdir / f"phase_{name}.json").write_text(json.dumps(out, indent=2, default=str))


# ---------------------------------------------------------------------------------------------------- driver
def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ["dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "polars", "scikit-learn"]
    return {n: version(n) for n in names}


def _machine() -> dict:
    import psutil

    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
    }


def _sum(steps: list[dict], names: list[str] | None = None) -> dict:
    chosen = [s for s in steps if names is None or s["step"] in names]
    return {
        "wall_s": round(sum(s["wall_s"] for s in chosen), 2),
        "cpu_s": round(sum(s["cpu_s"] for s in chosen), 2),
        "peak_rss_mb": max((s["peak_rss_mb"] for s in chosen), default=0),
    }


def report(workdir: Path, meta: dict) -> dict:
    phases = {}
    for name in PHASES:
        p = workdir / f"phase_{name}.json"
        if p.exists():
            phases[name] = json.loads(p.read_text())
    summary: dict = {}
    print(f"\nscale {meta['scale']}, {meta['days']} days ({meta['first']} … {meta['last']}), workdir {workdir}")
    print(f"{'phase / step':<66}{'wall s':>8}{'CPU s':>8}{'peak RSS MB':>13}{'load':>12}")
    for name, ph in phases.items():
        print(
            f"{name:<66}{ph['wall_s']:>8.1f}{ph['cpu_s']:>8.1f}{ph.get('peak_rss_mb', 0):>13}"
            f"{ph['load_start']:>6.1f}→{ph['load_end']:<5.1f}"
        )
        for s in ph.get("steps", []):
            print(
                f"  {s['step'][:62]:<64}{s['wall_s']:>8.1f}{s['cpu_s']:>8.1f}{s['peak_rss_mb']:>13}"
                f"{s['load_start']:>6.1f}→{s['load_end']:<5.1f}"
            )
    if "dagster" in phases:
        steps = phases["dagster"]["steps"]
        pipeline = _sum([s for s in steps if s["step"] != "load definitions"])
        summary["full_pipeline"] = {
            **pipeline,
            "with_definitions_load": _sum(steps)["wall_s"],
            "target_wall_s": 120,
            "target_peak_rss_mb": 4096,
            "met": pipeline["wall_s"] <= 120 and phases["dagster"]["peak_rss_mb"] <= 4096,
        }
        summary["full_pipeline"]["peak_rss_mb"] = phases["dagster"]["peak_rss_mb"]
    if "dagster" in phases and "direct" in phases:
        d = summary["full_pipeline"]
        direct = _sum([s for s in phases["direct"]["steps"] if not s["step"].startswith("imports")])
        summary["orchestration_overhead"] = {
            "dagster_wall_s": d["wall_s"],
            "direct_wall_s": direct["wall_s"],
            "ratio_wall": round(d["wall_s"] / direct["wall_s"], 3),
            "dagster_cpu_s": d["cpu_s"],
            "direct_cpu_s": direct["cpu_s"],
            "ratio_cpu": round(d["cpu_s"] / direct["cpu_s"], 3),
            "target_ratio": 1.25,
            "met": d["wall_s"] / direct["wall_s"] <= 1.25,
        }
    if "incremental" in phases and "dagster" in phases:
        inc = _sum([s for s in phases["incremental"]["steps"] if not s["step"].startswith("append_day")])
        full = summary["full_pipeline"]
        summary["incremental"] = {
            **inc,
            "ratio_wall": round(inc["wall_s"] / full["wall_s"], 3),
            "ratio_cpu": round(inc["cpu_s"] / full["cpu_s"], 3),
            "target_ratio": 0.10,
            "met": inc["wall_s"] / full["wall_s"] <= 0.10,
        }
        ph = phases["incremental"]
        summary["sensor"] = {k: ph[k] for k in ph if k.startswith(("sensor", "file_lands"))}
    if "import" in phases:
        ph = phases["import"]
        summary["code_location_load"] = {
            "median_wall_s": ph["median_wall_s"],
            "median_cpu_s": ph["median_cpu_s"],
            "target_s": 3,
            "met": ph["median_wall_s"] <= 3,
            "slowest_imports": ph["slowest_imports"],
        }
    print()
    for k, v in summary.items():
        shown = {a: b for a, b in v.items() if a != "slowest_imports"}
        print(f"{k:<24}{json.dumps(shown)}")
    return {"meta": meta, "summary": summary, "phases": phases}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--end-date", default=None, help="last day of data (default: yesterday, UTC, like the demo)")
    ap.add_argument("--workdir", default=None, help="default: a new temp folder")
    ap.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES)
    ap.add_argument("--phase", default=None, help=argparse.SUPPRESS)  # child process entry point
    args = ap.parse_args()
    if args.phase:
        run_phase(args.phase, Path(args.workdir))
        return
    import tempfile

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="c360-pipeline-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    meta_path = workdir / "meta.json"
    if meta_path.exists() and (workdir / "landing").exists():
        meta = json.loads(meta_path.read_text())
    else:
        last = date.fromisoformat(args.end_date) if args.end_date else datetime.now(UTC).date() - timedelta(days=1)
        meta = {
            "scale": args.scale,
            "days": args.days,
            "first": (last - timedelta(days=args.days - 1)).isoformat(),
            "last": last.isoformat(),
        }
    meta.update(
        {"machine": _machine(), "versions": _versions(), "started_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    )
    meta_path.write_text(json.dumps(meta, indent=2))
    for name in args.phases:
        if name == "generate" and (workdir / "landing").exists():
            print("landing zone exists: generation skipped")
            continue
        if name in ("dagster", "direct"):
            shutil.rmtree(workdir / name, ignore_errors=True)
        env = {**os.environ, **_env_for(workdir, "dagster" if name == "incremental" else name)}
        home = Path(env["DAGSTER_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():  # the demo's instance, as `customer360 demo` writes it
            from customer360.cli import demo_instance_yaml

            (home / "dagster.yaml").write_text(demo_instance_yaml(home))
        Path(env["C360_DUCKDB_PATH"]).parent.mkdir(parents=True, exist_ok=True)
        print(f"[{name}] load {os.getloadavg()[0]:.1f}", flush=True)
        subprocess.run(
            [sys.executable, __file__, "--phase", name, "--workdir", str(workdir)], check=True, env=env, cwd=REPO
        )
    result = report(workdir, meta)
    (workdir / "results.json").write_text(json.dumps(result, indent=2, default=str))
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"pipeline_s{meta['scale']}_d{meta['days']}_{stamp}.json").write_text(
        json.dumps(result, indent=2, default=str)
    )
    print(f"\nJSON: {workdir / 'results.json'}")


if __name__ == "__main__":
    main()
