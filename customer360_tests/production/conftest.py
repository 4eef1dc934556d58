import uuid

import pytest

from customer360_tests.production.helpers import postgres_admin


@pytest.fixture(scope="session")
def postgres_database():
    """A fresh PostgreSQL role + database for a Dagster instance; dropped at the end."""
    name = f"c360_test_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    postgres_admin(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
    postgres_admin(f"CREATE DATABASE {name} OWNER {name}")
    try:
        yield {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": "5432",
            "DAGSTER_PG_DB": name,
            "DAGSTER_PG_USERNAME": name,
            "DAGSTER_PG_PASSWORD": password,
        }
    finally:
        postgres_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        postgres_admin(f"DROP ROLE IF EXISTS {name}")


# Small dataset from the real generator, shared by the Snowflake tests (read-only: tests copy what they change).
GEN_END = "2024-03-08"
GEN_DAYS = 6
BAD_FILES = 8  # one of every defect kind the generator writes


@pytest.fixture(scope="session")
def generated_landing(tmp_path_factory):
    from datetime import date

    from data_generation.generator import GenerateConfig, generate

    root = tmp_path_factory.mktemp("c360_gen")
    generate(
        GenerateConfig(
            landing=str(root / "landing"),
            scale=0.003,
            days=GEN_DAYS,
            end_date=date.fromisoformat(GEN_END),
            seed=11,
            bad_files=BAD_FILES,
        )
    )
    return root / "landing"


def bad_file_keys(landing) -> set[str]:
    """Keys of the defective files the generator planted (truth/bad_files.json beside the landing zone)."""
    import json
    from pathlib import Path

    return {b["key"] for b in json.loads((Path(landing).parent / "truth" / "bad_files.json").read_text())}
