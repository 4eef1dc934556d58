"""Shared fixtures for the whole test suite (each area adds its own; keep them small and clearly named)."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest


@dataclass(frozen=True)
class SmallLanding:
    """A landing zone written by the real generator, and its planted truth (read-only: copy before mutating)."""

    landing: Path
    truth: Path
    start: date
    end: date
    seed: int
    scale: float
    days: int
    bad_files: int
    summary: object  # data_generation.Summary


SMALL_LANDING_ARGS = dict(scale=0.005, days=180, end_date=date(2024, 6, 30), seed=7, bad_files=8)


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory) -> SmallLanding:
    """180 days at scale 0.005 (~1.4k customers, ~25k transactions) ending 2024-06-30, seed 7, with one bad file
    of each of the eight defect kinds (listed in ``truth/bad_files.json``). Generated once per session (~2 s)."""
    from data_generation import GenerateConfig, generate

    root = tmp_path_factory.mktemp("small_landing")
    cfg = GenerateConfig(landing=str(root / "landing"), truth=str(root / "truth"), progress=False, **SMALL_LANDING_ARGS)
    summary = generate(cfg)
    end = cfg.end_date
    return SmallLanding(
        landing=root / "landing", truth=root / "truth", start=date.fromordinal(end.toordinal() - cfg.days + 1), end=end,
        seed=cfg.seed, scale=cfg.scale, days=cfg.days, bad_files=cfg.bad_files, summary=summary,
    )
