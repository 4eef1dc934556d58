# ---------------------------------------------------------------- generated landing zones (the real generator)
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from customer360_tests.resources.conftest import moto_endpoint, s3_bucket  # noqa: F401 - the S3 fixtures, shared

GEN_END = date(2024, 1, 10)
GEN_DAYS = 4
PARTITIONS_START = "2024-01-01"


def generate_landing(root: Path, bad_files: int = 0, seed: int = 3, landing_url: str | None = None) -> dict:
    from data_generation.generator import GenerateConfig, generate

    generate(
        GenerateConfig(
            landing=landing_url or str(root / "landing"),
            truth=str(root / "truth"),
            scale=0.005,
            days=GEN_DAYS,
            end_date=GEN_END,
            seed=seed,
            bad_files=bad_files,
            overwrite=False,
            progress=False,
        )
    )
    bad = root / "truth" / "bad_files.json"
    return {"bad_files": json.loads(bad.read_text()) if bad.exists() else []}


@pytest.fixture(scope="session")
def generated_with_bad_files(tmp_path_factory) -> Path:
    """A 4-day landing zone at scale 0.005 with one bad file of each defect kind (read-only: copy it)."""
    root = tmp_path_factory.mktemp("generated")
    generate_landing(root, bad_files=8)
    return root


@pytest.fixture
def workspace(generated_with_bad_files, tmp_path) -> Path:
    """A private copy of the generated landing zone + truth, with room for quarantine and warehouse."""
    shutil.copytree(generated_with_bad_files / "landing", tmp_path / "landing")
    shutil.copytree(generated_with_bad_files / "truth", tmp_path / "truth")
    return tmp_path
