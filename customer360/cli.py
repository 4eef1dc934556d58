"""``customer360`` console script.

``customer360 demo [--scale S] [--days N] [--no-ui]`` is the main job: generate a dataset into the landing
zone (``C360_LANDING_URL``, default ``data/landing``; planted truth in ``truth/`` beside it), ingest it into the
warehouse (``C360_DUCKDB_PATH``, default ``data/warehouse.duckdb``), build the dbt models, score the ML models
through the code location's own jobs, print what is where, then open the Dagster UI (unless ``--no-ui``) on the
same instance, so the runs just made are visible there. The daily partitions start on the first day of the data
(recorded in the ingestion state, see ``customer360/partitions_start.py``) unless ``C360_PARTITIONS_START`` is set.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from customer360.settings import REPO_ROOT, get_settings


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="customer360", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="generate → ingest → build → score on the configured warehouse, then the UI")
    demo.add_argument("--scale", type=float, default=0.01, help="data volume as a share of the design's (default 0.01)")
    demo.add_argument("--days", type=int, default=90, help="days of history to generate (default 90)")
    demo.add_argument("--end-date", type=_parse_date, default=None, help="last day of data (default: yesterday, UTC)")
    demo.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    demo.add_argument("--no-ui", action="store_true", help="stay headless: do not start the Dagster UI at the end")
    demo.add_argument("--port", type=int, default=3000, help="Dagster UI port (default 3000)")
    demo.add_argument(
        "--skip-generate",
        action="store_true",
        help="use the files already in the landing zone: load only what is not loaded yet (as update)",
    )
    sub.add_parser(
        "update",
        help="load what has landed and is not loaded yet, then bring every downstream asset up to date (headless)",
        description="Catch up with the landing zone through the code location's jobs: the partitions whose files "
        "the load ledger has not seen (the arrival sensors' comparison), then staging → marts → ML when anything "
        "changed, then the daily-partitioned marts of the new days.",
    )
    return parser


DEMO_INSTANCE_MARKER = "# written by `customer360 demo`"  # the first line of a dagster.yaml this command owns


def demo_instance_yaml(home: Path) -> str:
    """The demo's instance (SQLite under ``home``).

    * Event log: ONE SQLite file for every run (``ConsolidatedSqliteEventLogStorage``'s file and schema) instead of
      a file per run plus an index shard, through :class:`customer360.event_log.PooledSqliteEventLogStorage`, which
      keeps its connections instead of opening one per event: an event costs ≈ 4 ms to record instead of ≈ 25 ms
      (BENCHMARKS.md, "Bookkeeping that costs little"); every one is still recorded.
    * Runs wait in the queue and are dequeued by their ``dagster/priority`` tag (``customer360/run_priorities.py``: a
      user's runs before arrival loads before rebuilds).
    * The embedded DuckDB file takes one writer process: one warehouse step at a time across all runs, and one more
      run may start (load its code) while another holds the slot.
    """
    return (
        f"{DEMO_INSTANCE_MARKER}; delete this line to keep your own edits. See deploy/dagster.yaml for the "
        "production instance\n"
        "event_log_storage:\n  module: customer360.event_log\n  class: PooledSqliteEventLogStorage\n"
        f"  config:\n    base_dir: {json.dumps(str(home / 'history'))}\n"
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: QueuedRunCoordinator\n"
        "concurrency:\n  pools:\n    default_limit: 1\n    granularity: op\n    op_granularity_run_buffer: 1\n"
        "telemetry:\n  enabled: false\n"
    )


def _dagster_home(settings) -> Path:
    """The demo's Dagster instance: ``$DAGSTER_HOME`` if set, else ``data/dagster_home`` (kept between runs)."""
    home = Path(settings.dagster_home or REPO_ROOT / "data" / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    current = demo_instance_yaml(home)
    text = config.read_text() if config.exists() else None
    if text is None or (text.startswith(DEMO_INSTANCE_MARKER) and text != current):
        config.write_text(current)  # a home of an older version gets today's instance; a file the user owns is kept
    os.environ["DAGSTER_HOME"] = str(home)  # for Dagster itself (DagsterInstance.get() and the UI it starts)
    return home


def _landed_window(settings) -> tuple[date, date] | None:
    """First and last arrival day found in the landing zone (any source), or None when it holds no data file."""
    from customer360.catalog import SOURCES
    from customer360.resources.landing import LandingResource

    landing = LandingResource(landing_url=settings.landing_url, quarantine_url=settings.quarantine_url)
    days = [parsed.load_date for source in SOURCES for parsed, _ in landing.list_source(source)]
    return (min(days), max(days)) if days else None


def _demo_window(args: argparse.Namespace, settings) -> tuple[date, date]:
    """The days the demo loads: generated (``--days`` ending ``--end-date``), or what has landed (``--skip-generate``).
    Raises ``ValueError`` with a one-line reason when the window cannot be built or scored."""
    from customer360.ml.features import MIN_HISTORY_DAYS

    if args.skip_generate:
        window = _landed_window(settings)
        if window is None:
            raise ValueError(f"--skip-generate: no landing files under {settings.landing_url}")
        first, end = window
    else:
        if args.days < MIN_HISTORY_DAYS:
            raise ValueError(
                f"--days {args.days}: the churn and LTV models need at least {MIN_HISTORY_DAYS} days of history"
            )
        if args.scale <= 0:
            raise ValueError(f"--scale {args.scale}: must be > 0")
        end = args.end_date or (date.today() - timedelta(days=1))
        first = end - timedelta(days=args.days - 1)
    if settings.partitions_start_set and first.isoformat() < settings.partitions_start:
        raise ValueError(
            f"the data starts on {first}, before C360_PARTITIONS_START={settings.partitions_start}: "
            "set C360_PARTITIONS_START earlier (or unset it) or generate fewer --days"
        )
    return first, end


def cmd_demo(args: argparse.Namespace) -> int:
    from customer360.partitions_start import record_start
    from data_generation import GenerateConfig, generate

    settings = get_settings()
    if settings.landing_url.startswith("s3://") is False:
        Path(settings.landing_url).mkdir(parents=True, exist_ok=True)
    try:
        first, end = _demo_window(args, settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    if not args.skip_generate:
        print(f"[1/3] generating scale={args.scale} days={args.days} ending {end} into {settings.landing_url}")
        config = GenerateConfig(
            landing=settings.landing_url,
            scale=args.scale,
            days=args.days,
            end_date=end,
            seed=args.seed,
            overwrite=True,
            progress=sys.stderr.isatty(),
        )
        summary = generate(config)
        print(summary.table())
        print(f"planted truth: {config.resolved_truth()} (never read by the pipeline)")

    if not settings.partitions_start_set:
        # the partitions start where the data starts, for this run and every later load of the code location
        record_start(settings.quarantine_url, first, "customer360 demo")
    home = _dagster_home(settings)
    print(
        f"[2/3] ingest → build → score through Dagster (instance {home}, warehouse {settings.warehouse}"
        f"{': ' + settings.duckdb_path if settings.warehouse == 'duckdb' else ''})"
    )
    import dagster as dg

    from customer360.definitions import defs
    from customer360.pipeline import run_pipeline

    if args.skip_generate:  # an existing warehouse: only what the landing zone holds beyond it
        _update(defs, settings)
    else:
        with dg.DagsterInstance.get() as instance:
            result = run_pipeline(defs, instance, first, end)
        print(
            f"pipeline: {result.seconds:.1f} s in {len(result.steps)} runs of "
            f"{', '.join(dict.fromkeys(s.job_name for s in result.steps))}; total {time.perf_counter() - t0:.1f} s"
        )

    _print_outcome()
    if args.no_ui:
        print(
            f"[3/3] headless (--no-ui). Open the UI later with: DAGSTER_HOME={home} .venv/bin/dg dev -w workspace.yaml"
        )
        return 0
    print(f"[3/3] Dagster UI on http://127.0.0.1:{args.port} (Ctrl-C to stop)")
    return _run_ui(args.port)


def _update(defs, settings) -> None:
    import dagster as dg

    from customer360.update import run_update

    landing = defs.resources["landing"]
    with dg.DagsterInstance.get() as instance:
        report = run_update(defs, instance, landing, settings.partitions_start, defs.resources["warehouse"].build())
    for line in report.lines():
        print(line)


def cmd_update(args: argparse.Namespace) -> int:
    settings = get_settings()
    home = _dagster_home(settings)
    print(f"update: landing {settings.landing_url}, instance {home}, warehouse {settings.warehouse}")
    from customer360.definitions import defs

    _update(defs, settings)
    return 0


def _print_outcome() -> None:
    from customer360.definitions import defs

    warehouse = defs.resources["warehouse"].build()
    try:
        counts = warehouse.query(
            "select 'marts.fct_customer_value' as table_name, count(*) as row_count from marts.fct_customer_value"
        )
        print(counts)
        scored = warehouse.query(
            "select customer_segment, count(*) as customers, avg(churn_probability) as avg_churn_probability, "
            "avg(predicted_ltv) as avg_predicted_ltv from marts.fct_customer_value "
            "group by customer_segment order by customers desc"
        )
        print(scored)
    except Exception as exc:  # the summary is informative only; the runs above already succeeded
        print(f"(could not summarise marts.fct_customer_value: {exc})")


def _ui_command() -> list[str]:
    """``dg dev`` (what ``dagster dev`` says supersedes it) on workspace.yaml; ``dagster dev`` where the dev tools
    (dagster-dg-cli) are not installed."""
    bin_dir = Path(sys.executable).parent
    dg = bin_dir / "dg"
    return [str(dg), "dev"] if dg.exists() else [str(bin_dir / "dagster"), "dev"]


def _run_ui(port: int) -> int:
    proc = subprocess.Popen(
        [*_ui_command(), "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
    )
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return cmd_demo(args)
    if args.command == "update":
        return cmd_update(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
