"""Fixtures of the consumer tests: the transform tests' small built warehouse (generator → raw → ``dbt build``)."""

import shutil
from pathlib import Path

import pytest

from customer360_tests.transform.conftest import AS_OF, FIRST_DAY, GEN_END, built, generated  # noqa: F401


@pytest.fixture
def warehouse_file(built, tmp_path) -> Path:  # noqa: F811
    """A private copy of the built warehouse (named warehouse.duckdb like the manifest's relations)."""
    folder = tmp_path / "wh"
    folder.mkdir()
    path = folder / "warehouse.duckdb"
    shutil.copy(built.env.db_path, path)
    return path


__all__ = ["AS_OF", "FIRST_DAY", "GEN_END"]
