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


def test_every_configuration_variable_is_read_here(monkeypatch):
    """The variables other modules used to read themselves: parsed once into Settings, defaults kept."""
    from customer360.settings import DEFAULT_SNOWFLAKE_FILE_FORMAT, DEFAULT_SNOWFLAKE_STAGE

    for name in (
        "C360_PARTITIONS_START",
        "DAGSTER_HOME",
        "C360_DBT_FETCH_METADATA",
        "C360_ALERT_WEBHOOK_URL",
        "C360_TEST_SLA_OVERRIDES",
        "C360_SNOWFLAKE_STAGE",
        "C360_SNOWFLAKE_FILE_FORMAT",
    ):
        monkeypatch.delenv(name, raising=False)
    s = Settings.from_env()
    assert (s.partitions_start_set, s.dagster_home, s.dbt_fetch_metadata, s.alert_webhook_set, s.sla_overrides) == (
        False,
        None,
        True,
        False,
        "",
    )
    assert (s.snowflake_stage, s.snowflake_file_format) == (DEFAULT_SNOWFLAKE_STAGE, DEFAULT_SNOWFLAKE_FILE_FORMAT)
    monkeypatch.setenv("C360_PARTITIONS_START", "2024-02-01")
    monkeypatch.setenv("DAGSTER_HOME", "/tmp/dh")
    monkeypatch.setenv("C360_DBT_FETCH_METADATA", " Off ")
    monkeypatch.setenv("C360_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/x")
    monkeypatch.setenv("C360_TEST_SLA_OVERRIDES", "orders:60:120")
    monkeypatch.setenv("C360_SNOWFLAKE_STAGE", "RAW.OTHER_STAGE")
    s = Settings.from_env()
    assert (s.partitions_start_set, s.partitions_start, s.dagster_home, s.dbt_fetch_metadata) == (
        True,
        "2024-02-01",
        "/tmp/dh",
        False,
    )
    assert (s.alert_webhook_set, s.sla_overrides, s.snowflake_stage) == (True, "orders:60:120", "RAW.OTHER_STAGE")
    assert "http" not in repr(s)  # the webhook URL is a secret: only whether it is set
