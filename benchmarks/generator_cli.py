"""The generator's command line, as the benchmarks run it (``python -m data_generation``)."""

import sys
from datetime import date
from pathlib import Path


def generator_command(
    landing: Path, truth: Path, *, scale: float, days: int, end: date, seed: int, extra: tuple[str, ...] = ()
) -> list[str]:
    """``python -m data_generation`` into ``landing`` (truth tables in ``truth``), plus ``extra`` flags."""
    return [
        sys.executable,
        "-m",
        "data_generation",
        *("--scale", str(scale), "--days", str(days), "--end-date", end.isoformat()),
        *("--landing", str(landing), "--truth", str(truth), "--seed", str(seed)),
        *extra,
    ]
