"""Fixtures of the dbt/Dagster transform tests: one small generated dataset per session, a private DuckDB file and a
private dbt target folder per test (the shared ``dbt_project/target`` manifest is never overwritten)."""

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from customer360.settings import DBT_PROJECT_DIR
from customer360_tests.transform.rawdata import load_raw

GEN_END = date(2024, 3, 14)
GEN_DAYS = 10
AS_OF = GEN_END.isoformat()
FIRST_DAY = GEN_END - timedelta(days=GEN_DAYS - 1)


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    """Landing zone + truth of a small real-generator dataset (scale 0.004, 10 days)."""
    from data_generation.generator import GenerateConfig, generate

    root = tmp_path_factory.mktemp("c360_transform_gen")
    generate(GenerateConfig(landing=str(root / "landing"), scale=0.004, days=GEN_DAYS, end_date=GEN_END, seed=7))
    return root


def _close_duckdb() -> None:
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if env is not None:
        with contextlib.suppress(Exception):
            env.close()


@dataclass
class DbtEnv:
    """dbt invocations against a private DuckDB file, in-process (dbtRunner) to avoid an interpreter start each."""

    db_path: Path
    target_path: Path
    landing: Path
    log: list[list[str]] = field(default_factory=list)
    project_dir: Path = DBT_PROJECT_DIR  # a test may build a modified copy of the project

    def env(self) -> dict[str, str]:
        return {
            "C360_DUCKDB_PATH": str(self.db_path),
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "C360_DBT_THREADS": "2",
        }

    def dbt(self, *args: str, vars: dict | None = None, check: bool = True):
        from dbt.cli.main import dbtRunner

        cli = [
            *args,
            "--project-dir",
            str(self.project_dir),
            "--target-path",
            str(self.target_path),
            "--log-path",
            str(self.target_path),
            "--quiet",
        ]
        cli += ["--vars", json.dumps({"as_of_date": AS_OF, **(vars or {})})]
        saved = {k: os.environ.get(k) for k in self.env()}
        os.environ.update(self.env())
        try:
            result = dbtRunner().invoke(cli)
        finally:
            _close_duckdb()  # dbt-duckdb keeps the file open (and locked) after an in-process invocation
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        self.log.append(cli)
        if check:
            failures = []
            if result.result is not None and hasattr(result.result, "results"):
                failures = [
                    f"{r.node.unique_id}: {r.status} {r.message}"
                    for r in result.result.results
                    if str(r.status)
                    not in {"success", "pass", "PASS", "SUCCESS", "RunStatus.Success", "TestStatus.Pass"}
                ]
            assert result.success, f"dbt {' '.join(args)} failed: {result.exception or failures}"
        return result

    def sql(self, query: str, params=None):
        with duckdb.connect(str(self.db_path)) as con:
            return con.execute(query, params or []).fetchall()

    def load(self, first: date, last: date, append: bool = False) -> dict[str, int]:
        return load_raw(self.landing, self.db_path, only_days=(first, last), append=append)


def _new_env(generated: Path, folder: Path) -> DbtEnv:
    target = folder / "dbt_target"
    target.mkdir(parents=True)
    pp = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
    if pp.exists():  # reuse the prepared parse where profile/vars allow it
        shutil.copy(pp, target / pp.name)
    return DbtEnv(db_path=folder / "warehouse.duckdb", target_path=target, landing=generated / "landing")


@pytest.fixture
def dbt_env(generated, tmp_path) -> DbtEnv:
    return _new_env(generated, tmp_path)


@dataclass
class BuiltWarehouse:
    env: DbtEnv
    build_result: object


@pytest.fixture(scope="session")
def built(generated, tmp_path_factory) -> BuiltWarehouse:
    """Every generated day loaded, `dbt seed` + `dbt build` (all models, snapshot, data and unit tests) run once."""
    env = _new_env(generated, tmp_path_factory.mktemp("c360_built"))
    env.load(FIRST_DAY, GEN_END)
    env.dbt("seed")
    return BuiltWarehouse(env=env, build_result=env.dbt("build"))


@pytest.fixture
def built_copy(built, tmp_path) -> DbtEnv:
    """A private copy of the built warehouse for tests that change it."""
    env = _new_env(built.env.landing.parent, tmp_path)
    shutil.copy(built.env.db_path, env.db_path)
    return env


@pytest.fixture(scope="session")
def test_project(tmp_path_factory):
    """A DbtProject whose manifest is parsed here (against a file named warehouse.duckdb; the profile's fixed catalog
    name makes any other name equivalent), independent of whatever the shared dbt_project/target holds."""
    from dagster_dbt import DbtProject

    folder = tmp_path_factory.mktemp("c360_manifest")
    env = DbtEnv(db_path=folder / "warehouse.duckdb", target_path=folder / "target", landing=folder)
    env.dbt("parse")
    return DbtProject(
        project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target="local", target_path=env.target_path
    )
