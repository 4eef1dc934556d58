"""One source of truth: dbt sources freshness = customer360/sla.py, fx seed = catalog rates, enums = catalog."""

import csv
from datetime import timedelta

import pytest
import yaml

from customer360.catalog import FX_RATES_TO_USD, SOURCES
from customer360.settings import DBT_PROJECT_DIR
from customer360.sla import SLAS
from customer360.transform import sources_yml


def test_sources_yml_matches_sla_table():
    assert sources_yml.drift() == []
    assert sources_yml.freshness_in_file() == {name: (s.warn_after, s.error_after) for name, s in SLAS.items()}


def test_drift_is_detected(tmp_path, monkeypatch):
    path = tmp_path / "_sources.yml"
    path.write_text(
        sources_yml.render().replace("count: 3\n          period: hour", "count: 4\n          period: hour", 1)
    )
    problems = sources_yml.drift(path)
    assert any("raw.transactions" in p for p in problems)


@pytest.mark.parametrize(
    "delta,expected",
    [
        (timedelta(hours=24), {"count": 24, "period": "hour"}),
        (timedelta(days=8), {"count": 8, "period": "day"}),
        (timedelta(minutes=90), {"count": 90, "period": "minute"}),
    ],
)
def test_freshness_period(delta, expected):
    assert sources_yml.freshness_period(delta) == expected
    assert sources_yml.period_to_timedelta(expected) == delta


def test_every_raw_table_has_loaded_at_field():
    doc = yaml.safe_load(sources_yml.SOURCES_YML.read_text())
    [raw] = [s for s in doc["sources"] if s["name"] == "raw"]
    assert {t["name"] for t in raw["tables"]} == set(SOURCES)
    assert all(t["config"]["loaded_at_field"] == "_loaded_at" for t in raw["tables"])


def test_fx_seed_equals_catalog_rates():
    with open(DBT_PROJECT_DIR / "seeds" / "fx_rates.csv") as f:
        seed = {row["currency"]: float(row["rate_to_usd"]) for row in csv.DictReader(f)}
    assert seed == FX_RATES_TO_USD


def test_staging_enum_tests_equal_catalog_enums():
    doc = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "_staging.yml").read_text())
    for model in doc["models"]:
        source = SOURCES[model["name"].removeprefix("stg_")]
        for column in model["columns"]:
            tests = [t for t in column.get("data_tests", []) if isinstance(t, dict) and "accepted_values" in t]
            catalog_enum = source.column(column["name"]).enum if column["name"] in source.column_names else None
            if catalog_enum:
                assert tests and tests[0]["accepted_values"]["arguments"]["values"] == list(catalog_enum), column[
                    "name"
                ]
            else:
                assert not tests


def test_sources_yml_types_are_the_warehouse_tables_types(tmp_path):
    """The data_type of every column in the generated _sources.yml is the type the loader's table really has
    (both from customer360.physical_types: ``int`` is BIGINT, not the models' integer)."""
    import duckdb

    from customer360.catalog import RAW
    from customer360.ingestion.loader import raw_columns
    from customer360.resources.duckdb_warehouse import DuckDBWarehouse

    path = tmp_path / "types.duckdb"
    warehouse = DuckDBWarehouse(str(path))
    for source in SOURCES:
        warehouse.ensure_table(RAW, source, raw_columns(source))
    del warehouse
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = ?", [RAW]
        ).fetchall()
    in_warehouse = {(t, c): d.lower() for t, c, d in rows}
    doc = yaml.safe_load(sources_yml.SOURCES_YML.read_text())
    (raw,) = [s for s in doc["sources"] if s["name"] == RAW]
    in_yml = {(t["name"], c["name"]): c["data_type"] for t in raw["tables"] for c in t["columns"]}
    assert in_yml == in_warehouse
    assert in_yml[("orders", "quantity")] == "bigint"
