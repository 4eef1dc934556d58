"""The dbt side of the ML output tables (ml source yml, on-run-start column list) is generated from the contracts."""

import yaml

from customer360.ml import outputs_yml
from customer360.ml.contracts import OUTPUT_SCHEMAS


def test_generated_files_match_the_contracts():
    assert outputs_yml.drift() == []


def test_drift_is_detected(tmp_path):
    path = tmp_path / "_ml_sources.yml"
    path.write_text(outputs_yml.render_yml().replace("predicted_ltv", "predicted_clv"))
    assert outputs_yml.drift({path: outputs_yml.render_yml}) != []
    assert outputs_yml.drift({tmp_path / "missing.sql": outputs_yml.render_macro}) != []


def test_yml_columns_and_types_are_the_contracts():
    doc = yaml.safe_load(outputs_yml.ML_SOURCES_YML.read_text())
    tables = {t["name"]: t for t in doc["sources"][0]["tables"]}
    assert set(tables) == set(OUTPUT_SCHEMAS)
    for name, schema in OUTPUT_SCHEMAS.items():
        assert [c["name"] for c in tables[name]["columns"]] == list(schema.columns)
    types = {c["name"]: c["data_type"] for c in tables["customer_segments"]["columns"]}
    assert types == {
        "customer_id": "varchar",
        "segment_id": "integer",
        "customer_segment": "varchar",
        "model_version": "varchar",
        "scored_at": "timestamp",
    }
    assert "('segment_id', type_int())" in outputs_yml.ML_COLUMNS_MACRO.read_text()
