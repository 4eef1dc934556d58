"""The marts as a contract: every intermediate and mart column typed as the design documents type it, the marts'
contracts enforced (a type change fails the build naming the column, and leaves the table as it was), the documents'
"Is KPI" flags as column meta and Dagster column tags, descriptions persisted as warehouse comments."""

import json
import re
import shutil
from pathlib import Path

import pytest

from customer360.physical_types import DBT_TYPES
from customer360.settings import DBT_PROJECT_DIR
from customer360.transform.translator import C360DagsterDbtTranslator, column_is_kpi

DESIGN = Path("/work/shared/seeds/001_5580cac241cca775.txt")
# the design documents' type words → the logical types of customer360.physical_types (whose dbt names are the
# names of macros/types.sql: double, integer, boolean, timestamp; DuckDB and Snowflake both accept them). The
# models' int is type_int() = integer (int32), not the raw tables' bigint.
DESIGN_TYPES = {
    "varchar": "string",
    "float": "float",
    "int": "int32",
    "boolean": "bool",
    "date": "date",
    "timestamp": "timestamp",
}
MARTS = ("dim_customers", "fct_orders", "fct_transactions", "fct_campaigns", "fct_customer_value")
INTERMEDIATES = (
    "int_customer_orders",
    "int_customer_transactions",
    "int_customer_fraud_signals",
    "int_session_features",
    "int_product_affinity",
)


def _manifest(test_project) -> dict:
    return json.loads(Path(test_project.manifest_path).read_text())


def _design_columns(model: str, names) -> dict[str, tuple[str, bool | None]]:
    """{column: (design type, is KPI or None)} of ``model``'s column table in the design document (one line per
    column: name, PK/FK, type, [Yes/No], definition — run together in the capture)."""
    if not DESIGN.exists():
        pytest.skip(f"design documents not available at {DESIGN}")
    lines = DESIGN.read_text().splitlines()
    heading = re.compile(r"^(stg|int|dim|fct)_\w+ [A-Z]")  # "fct_orders Order-level fact table …"
    start = next(i for i, line in enumerate(lines) if heading.match(line) and line.startswith(model + " "))
    out: dict[str, tuple[str, bool | None]] = {}
    types = "|".join(DESIGN_TYPES)
    for line in lines[start + 1 :]:
        if heading.match(line):  # the next model's
            break
        for name in names:
            m = re.match(rf"^{re.escape(name)}(?:PK|FK)?({types})(Yes|No)?", line)
            if m:
                out[name] = (m.group(1), None if m.group(2) is None else m.group(2) == "Yes")
    return out


@pytest.mark.parametrize("model", MARTS + INTERMEDIATES)
def test_every_column_has_the_design_type(test_project, model):
    node = _manifest(test_project)["nodes"][f"model.customer360.{model}"]
    untyped = [name for name, col in node["columns"].items() if not col.get("data_type")]
    assert untyped == [], f"{model}: columns without data_type: {untyped}"
    design = _design_columns(model, node["columns"])
    assert len(design) >= 6, design  # the document's table was found
    wrong = {
        name: (node["columns"][name]["data_type"], design_type)
        for name, (design_type, _) in design.items()
        if node["columns"][name]["data_type"] != DBT_TYPES[DESIGN_TYPES[design_type]]
    }
    assert wrong == {}, f"{model}: data_type differs from the design's type: {wrong}"


@pytest.mark.parametrize("model", MARTS)
def test_marts_enforce_contracts_and_flag_kpis_as_the_documents_do(test_project, model):
    node = _manifest(test_project)["nodes"][f"model.customer360.{model}"]
    assert node["config"]["contract"]["enforced"] is True
    if node["config"]["materialized"] == "incremental":  # dbt accepts contracts on incrementals only with these
        assert node["config"]["on_schema_change"] in {"append_new_columns", "fail"}
    flags = {name: column_is_kpi(col) for name, col in node["columns"].items()}
    assert None not in flags.values(), (
        f"{model}: columns without meta.is_kpi: {[n for n, f in flags.items() if f is None]}"
    )
    design = {name: kpi for name, (_, kpi) in _design_columns(model, node["columns"]).items()}
    assert {n: flags[n] for n in design} == design
    assert any(design.values())
    # in Dagster: the column schema carries the type and an is_kpi tag per column
    schema = C360DagsterDbtTranslator().get_metadata(node)["dagster/column_schema"]
    assert {c.name: (c.type, c.tags.get("is_kpi")) for c in schema.columns} == {
        name: (col["data_type"], "true" if flags[name] else "false") for name, col in node["columns"].items()
    }


def test_dagster_shows_a_type_for_every_column_of_every_dbt_asset(test_project):
    from customer360.settings import Settings
    from customer360.transform.assets import build_dbt_assets

    untyped = {}
    for assets_def in build_dbt_assets(test_project, Settings.from_env()):
        for key, spec_meta in assets_def.metadata_by_key.items():
            schema = spec_meta.get("dagster/column_schema")
            for column in schema.columns if schema else []:
                if column.type in (None, "", "?"):
                    untyped.setdefault(key.to_user_string(), []).append(column.name)
    assert untyped == {}


def _copy_project(dest: Path) -> Path:
    shutil.copytree(DBT_PROJECT_DIR, dest, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return dest


def test_a_contract_break_fails_the_build_naming_the_column(built_copy, tmp_path):
    """The promise changed (total_orders declared a varchar) but the SQL still returns an integer: the build of
    fct_customer_value fails before the table is replaced, and says which column broke it."""
    before = built_copy.sql("select count(*), sum(total_orders) from marts.fct_customer_value")[0]
    project = _copy_project(tmp_path / "project")
    marts_yml = project / "models" / "marts" / "_marts.yml"
    text = marts_yml.read_text()
    block = text.index("  - name: fct_customer_value")
    column = text.index("      - name: total_orders\n        data_type: integer", block)
    marts_yml.write_text(text[:column] + text[column:].replace("data_type: integer", "data_type: varchar", 1))
    built_copy.project_dir = project

    result = built_copy.dbt("build", "--select", "fct_customer_value", check=False)
    assert not result.success
    failed = [r for r in result.result.results if r.node.name == "fct_customer_value" and str(r.status) == "error"]
    assert failed, [(r.node.name, str(r.status)) for r in result.result.results]
    message = failed[0].message
    assert "contract" in message.lower() and "total_orders" in message and "data type mismatch" in message, message
    assert "customer_id" not in message  # only the broken column is reported
    # nothing lost: the table the dashboards read is untouched
    assert built_copy.sql("select count(*), sum(total_orders) from marts.fct_customer_value")[0] == before
    assert (
        built_copy.sql(
            "select data_type from information_schema.columns where table_schema = 'marts'"
            " and table_name = 'fct_customer_value' and column_name = 'total_orders'"
        )[0][0]
        == "INTEGER"
    )


def test_descriptions_are_persisted_as_warehouse_comments(built):
    env = built.env
    table_comment = env.sql(
        "select comment from duckdb_tables() where schema_name = 'marts' and table_name = 'fct_customer_value'"
    )[0][0]
    assert table_comment and table_comment.startswith("Customer 360")
    comments = dict(
        env.sql(
            "select column_name, comment from duckdb_columns() where schema_name = 'marts' and table_name = 'fct_orders'"
        )
    )
    assert comments["total_amount"].startswith("Gross order value in USD")
    assert all(comments.values()), [c for c, v in comments.items() if not v]
    intermediate = dict(
        env.sql(
            "select column_name, comment from duckdb_columns()"
            " where schema_name = 'intermediate' and table_name = 'int_customer_orders'"
        )
    )
    assert intermediate["total_orders"].startswith("Count of completed orders")
