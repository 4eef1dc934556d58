"""Shared fixtures for the whole test suite (each area adds its own; keep them small and clearly named)."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest


def pytest_configure(config):
    """The suite never reads a developer's own data folder: settings resolve ``C360_QUARANTINE_URL`` (and with it the
    recorded partitions start, ``_ingestion_state/partitions.json``) to ``data/quarantine`` when it is unset, so
    after a ``make demo`` every test that loads the code location would start its partitions on the demo's first
    day. Unset, it points at an empty folder of this session; tests that need one set their own."""
    import os
    import tempfile

    if not os.environ.get("C360_QUARANTINE_URL"):
        os.environ["C360_QUARANTINE_URL"] = tempfile.mkdtemp(prefix="c360_test_quarantine_")


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
        landing=root / "landing",
        truth=root / "truth",
        start=date.fromordinal(end.toordinal() - cfg.days + 1),
        end=end,
        seed=cfg.seed,
        scale=cfg.scale,
        days=cfg.days,
        bad_files=cfg.bad_files,
        summary=summary,
    )
