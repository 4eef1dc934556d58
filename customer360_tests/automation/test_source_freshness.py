"""``dbt source freshness`` as the ``dbt_source_freshness`` checks on raw/*: a real run against a loaded DuckDB file,
and how dbt's statuses become check results."""

import dagster as dg

from customer360.automation.source_freshness import (
    DBT_SOURCE_FRESHNESS_CHECK,
    build_source_freshness_check,
    check_keys,
    check_result,
    results_by_source,
)
from customer360.sla import SLAS
from customer360.transform.project import DBT_EXECUTABLE, dbt_project
from customer360.transform.resource import C360DbtResource
from customer360_tests.transform.conftest import FIRST_DAY, GEN_END, dbt_env, generated  # noqa: F401 (fixtures)


def test_statuses_map_to_results():
    ok = check_result("orders", {"status": "pass", "max_loaded_at_time_ago_in_s": 3600})
    assert ok.passed and ok.metadata["age_hours"].value == 1.0
    warn = check_result("events", {"status": "warn"})
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    for status in ("error", "runtime error"):
        failed = check_result("transactions", {"status": status})
        assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    missing = check_result("products", None)
    assert not missing.passed and "no result for raw.products" in missing.description
    found = results_by_source(
        {
            "results": [
                {"unique_id": "source.customer360.raw.orders", "status": "pass"},
                {"unique_id": "model.customer360.stg_orders"},
            ]
        }
    )
    assert set(found) == {"orders"}


def test_check_description_names_the_sla_row():
    check = build_source_freshness_check(["events"])
    [spec] = check.check_specs
    assert spec.name == DBT_SOURCE_FRESHNESS_CHECK and spec.asset_key == dg.AssetKey(["raw", "events"])
    assert "warn after 3h, error after 6h" in spec.description and "customer360/sla.py" in spec.description
    assert not spec.blocking


def test_real_dbt_source_freshness_reports_pass_warn_error(dbt_env):  # noqa: F811
    env = dbt_env
    env.load(FIRST_DAY, GEN_END)
    # newest arrivals: customers 1 h ago (pass), events 4 h ago (warn after 3 h), transactions 4 h ago (error after 3 h)
    for source, hours in {"customers": 1, "events": 4, "transactions": 4}.items():
        env.sql(f"update raw.{source} set _loaded_at = now()::timestamp - interval {hours} hour")
    sources = ["customers", "events", "transactions"]
    resource = C360DbtResource(
        project_dir=str(dbt_project("local").project_dir),
        target="local",
        dbt_executable=DBT_EXECUTABLE,
        duckdb_path=str(env.db_path),
    )
    job = dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*check_keys(sources)))
    defs = dg.Definitions(
        assets=[dg.AssetSpec(["raw", s]) for s in SLAS],
        asset_checks=[build_source_freshness_check(sources)],
        jobs=[job],
        resources={"dbt": resource},
    )
    result = defs.resolve_job_def("freshness").execute_in_process()
    assert result.success
    by_source = {e.asset_key.path[1]: e for e in result.get_asset_check_evaluations()}
    assert set(by_source) == set(sources)
    assert by_source["customers"].passed
    assert not by_source["events"].passed and by_source["events"].severity == dg.AssetCheckSeverity.WARN
    assert not by_source["transactions"].passed
    assert by_source["transactions"].severity == dg.AssetCheckSeverity.ERROR
    assert by_source["events"].metadata["dbt_status"].value == "warn"
