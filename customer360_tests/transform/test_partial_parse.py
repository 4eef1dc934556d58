"""A daily dbt run keeps partial parsing: the run values (as_of_date, partition window) are not --vars, and each
invocation starts from the parse state the previous one wrote for the same warehouse (README "Incremental design")."""

import dataclasses
import glob
import json
from datetime import timedelta
from pathlib import Path

import dagster as dg

from customer360.settings import Settings
from customer360.transform import parse_cache
from customer360.transform.assets import build_dbt_assets
from customer360.transform.project import DBT_EXECUTABLE
from customer360.transform.resource import C360DbtResource
from customer360_tests.transform.conftest import FIRST_DAY, GEN_END


def _dbt_log(target: Path, run_id: str) -> tuple[Path, list[dict]]:
    [folder] = glob.glob(str(target / f"c360_dbt_assets-{run_id[:7]}-*"))
    return Path(folder), [
        json.loads(line) for line in (Path(folder) / "dbt.log").read_text().splitlines() if line.startswith("{")
    ]


def test_a_new_day_is_not_reparsed(built_copy, test_project, tmp_path, monkeypatch):
    target = tmp_path / "target"  # the prepared state and the kept ones live here, not in the shared project
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    resource = C360DbtResource(
        project_dir=str(test_project.project_dir),
        target="local",
        dbt_executable=DBT_EXECUTABLE,
        duckdb_path=str(built_copy.db_path),
        fetch_metadata=False,
    )
    selection = dg.AssetSelection.assets(dg.AssetKey(["intermediate", "int_product_affinity"]))
    parses = []
    for day in (GEN_END, GEN_END + timedelta(days=1)):  # two daily runs: as_of_date moves
        settings = dataclasses.replace(
            Settings.from_env(),
            duckdb_path=str(built_copy.db_path),
            as_of_date=day.isoformat(),
            partitions_start=FIRST_DAY.isoformat(),
            warehouse="duckdb",
        )
        assets = build_dbt_assets(test_project, settings)
        result = dg.materialize([assets[0]], resources={"dbt": resource}, selection=selection)
        assert result.success
        folder, log = _dbt_log(target, result.run_id)
        parses.append([e["info"]["msg"] for e in log if e["info"]["name"] == "UnableToPartialParse"])
        compiled = next(folder.glob("compiled/**/int_product_affinity.sql")).read_text()
        assert f"cast('{day.isoformat()}' as date)" in compiled  # the run value reached the SQL
        kinds = {r["unique_id"].split(".")[0] for r in json.loads((folder / "run_results.json").read_text())["results"]}
        assert "model" in kinds and "test" in kinds
        assert "unit_test" not in kinds, "a daily run re-ran the yml unit tests (fixed inputs)"
    assert parses[0], "the first run has no state for this warehouse yet: a full parse"
    assert parses[1] == [], f"the next day re-parsed the project: {parses[1]}"
    # the full test suite (weekly schedule, on demand): every row tested and the unit tests, still no re-parse
    result = dg.materialize(
        [assets[0]],
        resources={"dbt": resource},
        selection=selection,
        run_config={"ops": {"c360_dbt_assets": {"config": {"full_tests": True}}}},
    )
    assert result.success
    folder, log = _dbt_log(target, result.run_id)
    assert [e for e in log if e["info"]["name"] == "UnableToPartialParse"] == []
    kinds = {r["unique_id"].split(".")[0] for r in json.loads((folder / "run_results.json").read_text())["results"]}
    assert "unit_test" in kinds
    key = parse_cache.cache_key("local", str(Path(built_copy.db_path).resolve()))
    assert parse_cache.cache_file(target, key).exists()


def test_kept_states_are_bounded(tmp_path):
    written = tmp_path / "run"
    written.mkdir()
    (written / parse_cache.PARTIAL_PARSE_FILE).write_bytes(b"state")
    for n in range(parse_cache.KEEP_PROFILES + 3):
        assert parse_cache.keep(written, parse_cache.cache_file(tmp_path, f"k{n}"))
    assert len(list((tmp_path / "partial_parse").glob("*.msgpack"))) == parse_cache.KEEP_PROFILES
    # an untouched copy (same mtime and size as the kept state) is not written again
    latest = parse_cache.cache_file(tmp_path, f"k{parse_cache.KEEP_PROFILES + 2}")
    assert parse_cache.seed(written, latest)
    assert not parse_cache.keep(written, latest)
