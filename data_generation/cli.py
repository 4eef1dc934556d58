"""``python -m data_generation`` — see ``--help``."""

import argparse
import json
import os
import sys
from datetime import date

from .generator import GenerateConfig, default_end_date, generate


def _date(s: str) -> date:
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {s!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m data_generation",
        description="Generate the seven customer360 source feeds into a landing zone, with a planted truth.",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="volume multiplier; 1.0 = the design volumes (270k customers, 5M transactions, …)",
    )
    p.add_argument("--days", type=int, default=365, help="length of the window in days (default 365)")
    p.add_argument(
        "--end-date", type=_date, default=None, help="last day of the window, YYYY-MM-DD (default: yesterday, UTC)"
    )
    p.add_argument(
        "--landing",
        default=None,
        help="landing zone: local path or s3://bucket/prefix (default $C360_LANDING_URL or data/landing)",
    )
    p.add_argument(
        "--truth", default=None, help="folder for the planted truth (default: truth/ beside the landing zone)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed (default 42; --append-day uses the landing zone's); same arguments = byte-identical files",
    )
    p.add_argument(
        "--append-day", action="store_true", help="add the day after the newest load_date in the landing zone"
    )
    p.add_argument(
        "--bad-files",
        type=int,
        default=0,
        metavar="N",
        help="also write N defective files (listed in <truth>/bad_files.json)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset in the landing zone")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    landing = args.landing or os.environ.get("C360_LANDING_URL", "").strip() or "data/landing"
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        if args.append_day:
            from .append import append_day

            summary = append_day(landing, truth=args.truth, bad_files=args.bad_files, seed=args.seed, progress=progress)
        else:
            cfg = GenerateConfig(
                landing=landing,
                truth=args.truth,
                scale=args.scale,
                days=args.days,
                end_date=args.end_date or default_end_date(),
                seed=42 if args.seed is None else args.seed,
                bad_files=args.bad_files,
                overwrite=args.overwrite,
                progress=progress,
            )
            summary = generate(cfg)
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary.to_dict(), indent=2) if args.json else summary.table())
    return 0
