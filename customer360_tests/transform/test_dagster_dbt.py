"""The dbt project inside Dagster: asset graph (keys, lineage from raw, groups, checks, partitions) and real
materializations against a private DuckDB file."""

import dataclasses
import json
import shutil
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest

from customer360.catalog import SOURCES
from customer360.settings import Settings
from customer360.transform.assets import build_dbt_assets, dbt_vars
from customer360.transform.project import DBT_EXECUTABLE, dbt_project
from customer360.transform.resource import C360DbtResource
from customer360_tests.transform.conftest import AS_OF, FIRST_DAY, GEN_END


def _settings(db_path) -> Settings:
    return dataclasses.replace(
        Settings.from_env(),
        duckdb_path=str(db_path),
        as_of_date=AS_OF,
        partitions_start=FIRST_DAY.isoformat(),
        warehouse="duckdb",
    )


def _resource(db_path, project=None, fetch_metadata=True) -> C360DbtResource:
    return C360DbtResource(
        project_dir=str((project or dbt_project("local")).project_dir),
        target="local",
        dbt_executable=DBT_EXECUTABLE,
        duckdb_path=str(db_path),
        fetch_metadata=fetch_metadata,
    )


@pytest.fixture(scope="module")
def graph_assets(tmp_path_factory):
    return build_dbt_assets(dbt_project("local"), _settings(tmp_path_factory.mktemp("g") / "w.duckdb"))


def test_asset_graph_keys_lineage_groups(graph_assets):
    graph = dg.Definitions(assets=graph_assets, resources={"dbt": _resource("unused.duckdb")}).resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for source in SOURCES:
        stg = dg.AssetKey(["staging", f"stg_{source}"])
        assert dg.AssetKey(["raw", source]) in graph.get(stg).parent_keys, f"raw/{source} → {stg}"
        assert graph.get(stg).group_name == "staging"
    expected = {
        "intermediate/int_customer_orders",
        "intermediate/int_customer_transactions",
        "intermediate/int_customer_fraud_signals",
        "intermediate/int_session_features",
        "intermediate/int_product_affinity",
        "marts/dim_customers",
        "marts/fct_orders",
        "marts/fct_transactions",
        "marts/fct_campaigns",
        "marts/fct_customer_value",
        "ml/feat_customer_segmentation",
        "ml/feat_fraud_behavior",
        "snapshots/snap_customer_profile",
    }
    assert expected <= keys
    # the ML cycle is broken through the ML output tables: features → (Python ML) → fct_customer_value
    value = graph.get(dg.AssetKey(["marts", "fct_customer_value"]))
    assert {
        dg.AssetKey(["ml", t])
        for t in ("customer_segments", "churn_predictions", "ltv_predictions", "customer_risk_scores")
    } <= set(value.parent_keys)
    assert (
        dg.AssetKey(["ml", "customer_risk_scores"]) in graph.get(dg.AssetKey(["marts", "fct_transactions"])).parent_keys
    )
    for key in expected:
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.group_name == key.split("/")[0]
        assert node.owners == ["team:analytics-engineering"]
        assert "dbt" in node.kinds and node.description
    # dbt tests are asset checks
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("staging/stg_customers", "unique_stg_customers_customer_id") in checks
    # fct_transactions: daily partitions from the raw definition, one run per backfill range
    fct = graph.get(dg.AssetKey(["marts", "fct_transactions"]))
    assert isinstance(fct.partitions_def, dg.DailyPartitionsDefinition)
    assert fct.backfill_policy == dg.BackfillPolicy.single_run()
    # its raw partitions reach it through the incremental stg_transactions: the same-window dependency stays
    assert dg.AssetKey(["raw", "transactions"]) in fct.parent_keys
    assert graph.get(dg.AssetKey(["marts", "fct_orders"])).partitions_def is None


def test_vars_from_partition_window():
    window = dg.TimeWindow(start=datetime(2024, 3, 1, tzinfo=UTC), end=datetime(2024, 3, 4, tzinfo=UTC))
    settings = dataclasses.replace(Settings.from_env(), as_of_date="2024-03-04")
    assert dbt_vars(settings, window) == {
        "as_of_date": "2024-03-04",
        "min_date": "2024-03-01",
        "max_date": "2024-03-04",
    }
    assert dbt_vars(dataclasses.replace(settings, as_of_date=None)) == {}


def test_materialize_from_dagster(built_copy, test_project, monkeypatch):
    """Unpartitioned models + checks, then one fct_transactions partition with its window vars; metadata attached;
    the resource never spawns `dbt --version` nor loads dbt's adapter in the Dagster process."""
    import dagster_dbt.core.resource as dbt_resource_module

    def no_version_probe(*args, **kwargs):
        raise AssertionError(f"unexpected subprocess {args}")

    monkeypatch.setattr(dbt_resource_module, "check_output", no_version_probe)

    def no_adapter_load(*args, **kwargs):  # on DuckDB the metadata is read from the file (warehouse_metadata)
        raise AssertionError("dbt's adapter was loaded in the Dagster process")

    monkeypatch.setattr(dbt_resource_module.DbtCliResource, "_initialize_dbt_core_adapter", no_adapter_load)
    env = built_copy
    settings = _settings(env.db_path)
    unpartitioned, partitioned = build_dbt_assets(test_project, settings)
    resource = _resource(env.db_path, test_project)

    selection = ["intermediate/int_product_affinity", "intermediate/int_customer_orders"]
    result = dg.materialize(
        [unpartitioned],
        resources={"dbt": resource},
        selection=dg.AssetSelection.assets(*[dg.AssetKey.from_user_string(k) for k in selection]),
    )
    assert result.success
    materialized = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    assert set(materialized) == set(selection)
    # row counts for tables (dagster-dbt never counts views: that would run the view), column schemas for all
    table_meta = materialized["intermediate/int_customer_orders"].materialization.metadata
    customers = env.sql("select count(*) from staging.stg_customers")[0][0]
    assert table_meta["dagster/row_count"].value == customers
    schema = materialized["intermediate/int_product_affinity"].materialization.metadata["dagster/column_schema"]
    assert {"customer_id", "top_category", "category_diversity_score"} <= {c.name for c in schema.value.columns}
    types = {c.name: c.type for c in schema.value.columns}
    assert types["customer_id"] == "VARCHAR" and types["category_diversity_score"] == "DOUBLE"  # the warehouse's
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)

    # one partition of fct_transactions: delete the last days, the partition run (window + lookback) restores them
    day = GEN_END
    lookback_start = day - timedelta(days=2)
    expected = env.sql("select count(*) from marts.fct_transactions where transaction_day >= ?", [lookback_start])[0][0]
    env.sql("delete from marts.fct_transactions where transaction_day >= ?", [lookback_start])
    result = dg.materialize([partitioned], resources={"dbt": resource}, partition_key=day.isoformat())
    assert result.success
    assert (
        env.sql("select count(*) from marts.fct_transactions where transaction_day >= ?", [lookback_start])[0][0]
        == expected
    )
    [event] = result.get_asset_materialization_events()
    assert event.partition == day.isoformat()


def test_metadata_does_not_depend_on_the_duckdb_file_name(built, test_project, tmp_path):
    """The manifest was parsed against `warehouse.duckdb`; the run uses `prod.duckdb`: the profile pins the catalog
    name, so row counts and column schemas are still fetched (they used to be skipped with a warning)."""
    prod = tmp_path / "prod.duckdb"
    shutil.copy(built.env.db_path, prod)
    manifest = json.loads(test_project.manifest_path.read_text())
    assert {n["database"] for n in manifest["nodes"].values()} == {"warehouse"}  # not the file stem
    unpartitioned, _ = build_dbt_assets(test_project, _settings(prod))
    key = dg.AssetKey.from_user_string("intermediate/int_customer_orders")
    result = dg.materialize(
        [unpartitioned], resources={"dbt": _resource(prod, test_project)}, selection=dg.AssetSelection.assets(key)
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    meta = event.materialization.metadata
    with duckdb.connect(str(prod)) as con:
        expected = con.execute("select count(*) from intermediate.int_customer_orders").fetchone()[0]
    assert expected > 0 and meta["dagster/row_count"].value == expected
    assert {"customer_id"} <= {c.name for c in meta["dagster/column_schema"].value.columns}
