"""Settings read from the environment: defaults, validation, and local paths pinned to absolute ones."""

import os
from pathlib import Path

import pytest

from customer360.settings import Settings


def test_relative_local_paths_become_absolute_and_urls_stay(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("C360_LANDING_URL", "C360_QUARANTINE_URL", "C360_DUCKDB_PATH", "C360_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("C360_LANDING_URL", "s3://bucket/landing")
    settings = Settings.from_env()
    assert settings.landing_url == "s3://bucket/landing"
    assert settings.duckdb_path == str(tmp_path / "data" / "warehouse.duckdb")
    assert settings.quarantine_url == str(tmp_path / "data" / "quarantine")
    # a later change of working directory (dagster-dbt's adapter load does one) must not move the warehouse
    os.chdir(Path(tmp_path).parent)
    assert Path(settings.duckdb_path).is_absolute()


def test_unknown_warehouse_is_refused(monkeypatch):
    monkeypatch.setenv("C360_WAREHOUSE", "bigquery")
    with pytest.raises(ValueError, match="C360_WAREHOUSE"):
        Settings.from_env()


def test_the_suite_does_not_read_the_repositorys_data_folder():
    """A `make demo` before `make test` records its partitions start in data/quarantine; the suite must not see it."""
    from customer360.settings import REPO_ROOT

    quarantine = Path(Settings.from_env().quarantine_url).resolve()
    assert not quarantine.is_relative_to((REPO_ROOT / "data").resolve()), quarantine
