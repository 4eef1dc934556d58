"""deploy/snowflake: the ordered account set-up is complete, consistent with the code, and least-privilege;
the emulator-only dbt overrides are inert on a real account."""

import os
import re
import subprocess

from customer360.catalog import SOURCES
from customer360.resources.warehouse import WAREHOUSE_SCHEMAS
from customer360_tests.production.helpers import BIN, DBT_PROJECT, REPO

SETUP = REPO / "deploy" / "snowflake"


def _sql(name: str) -> str:
    return (SETUP / name).read_text()


def _statements(text: str) -> list[str]:
    body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))
    return [" ".join(s.split()) for s in body.split(";") if s.strip()]


def test_generated_files_are_current():
    import importlib.util

    spec = importlib.util.spec_from_file_location("c360_snowflake_generate", SETUP / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, render in module.GENERATED.items():
        assert _sql(name) == render(), f"{name} is stale: run .venv/bin/python deploy/snowflake/generate.py"


def test_setup_is_ordered_and_templated_consistently():
    files = sorted(p.name for p in SETUP.glob("[0-9][0-9]_*.sql"))
    assert [f[:2] for f in files] == [f"{i:02d}" for i in range(len(files))] and len(files) == 8
    script = (SETUP / "setup.sh").read_text()
    passed = set(re.findall(r'-D "(\w+)=', script))
    for name in files:
        text = _sql(name)
        assert re.search(r"^USE ROLE \w+;", text, flags=re.M), f"{name} does not say which role runs it"
        used = set(re.findall(r"<%\s*(\w+)\s*%>", text))
        assert used <= passed, f"{name}: placeholders {used - passed} are not passed by setup.sh"


def test_database_schemas_stage_and_raw_tables_match_the_code():
    text = _sql("02_database_and_schemas.sql")
    created = set(re.findall(r"CREATE SCHEMA IF NOT EXISTS CUSTOMER360\.(\w+)", text))
    assert {s.upper() for s in WAREHOUSE_SCHEMAS} <= created
    stage = _sql("04_file_format_and_stage.sql")
    assert "CREATE STAGE IF NOT EXISTS CUSTOMER360.RAW.C360_LANDING" in stage
    assert "URL = '<% landing_url %>'" in stage and "STORAGE_INTEGRATION = C360_LANDING_S3" in stage
    assert "CREATE FILE FORMAT IF NOT EXISTS CUSTOMER360.RAW.C360_PARQUET" in stage and "TYPE = PARQUET" in stage
    assert "C360_LANDING_S3" in _sql("03_storage_integration.sql")
    raw = _sql("05_raw_tables.sql")
    for source in SOURCES.values():
        match = re.search(rf"CREATE TABLE IF NOT EXISTS RAW\.{source.name.upper()} \((.*?)\);", raw, flags=re.S)
        assert match, source.name
        cols = [line.split()[0].lower() for line in match.group(1).strip().splitlines()]
        assert cols == [*source.column_names, "_load_date", "_source_file", "_loaded_at"]


def test_snowpipe_for_near_real_time_sources():
    pipes = _sql("06_snowpipe.sql")
    for name in ("transactions", "events"):
        block = pipes.split(f"C360_{name.upper()}_PIPE", 1)[1].split(";", 1)[0]
        assert "AUTO_INGEST = TRUE" in block and f"COPY INTO CUSTOMER360.RAW.{name.upper()}" in block
        assert f"@CUSTOMER360.RAW.C360_LANDING/{name}/" in block
        for column in SOURCES[name].column_names:
            assert f"$1:{column}::" in block, column
        assert "METADATA$FILENAME" in block and "load_date=" in block


def test_roles_are_least_privilege():
    grants = [s for f in sorted(SETUP.glob("0*.sql")) for s in _statements(f.read_text()) if s.startswith("GRANT")]
    assert grants

    def granted_to(role: str) -> list[str]:
        return [g for g in grants if g.endswith(f"TO ROLE {role}")]

    reporter = granted_to("C360_REPORTER")
    assert reporter and all(
        re.search(r"CUSTOMER360\.(MARTS|ML)\b|WAREHOUSE C360_REPORT_WH|DATABASE CUSTOMER360$", g.split(" TO ROLE")[0])
        for g in reporter
    ), reporter
    assert not any(re.search(r"INSERT|DELETE|UPDATE|CREATE|OWNERSHIP|TRUNCATE", g) for g in reporter)
    loader = granted_to("C360_LOADER")
    assert all(re.search(r"\.RAW\b|C360_LOAD_WH|DATABASE CUSTOMER360$", g.split(" TO ROLE")[0]) for g in loader), loader
    transformer = granted_to("C360_TRANSFORMER")
    writes_raw = [g for g in transformer if ".RAW" in g and re.search(r"INSERT|DELETE|CREATE", g)]
    assert not writes_raw, writes_raw
    assert "GRANT ROLE C360_LOADER TO ROLE C360_PIPELINE" in grants
    assert "GRANT ROLE C360_TRANSFORMER TO ROLE C360_PIPELINE" in grants
    assert not any("ACCOUNTADMIN" in g for g in grants)


def test_pii_is_masked_for_the_reporter():
    text = _sql("07_masking_policies.sql")
    policies = dict(re.findall(r"CREATE MASKING POLICY IF NOT EXISTS (\w+) AS .*?->(.*?)COMMENT", text, flags=re.S))
    assert set(policies) == {"PII_EMAIL", "PII_PHONE", "PII_NAME"}
    for name, body in policies.items():
        # allow-list: only the pipeline roles see clear values; the reporter is never named as allowed
        assert "IS_ROLE_IN_SESSION('C360_TRANSFORMER')" in body and "C360_REPORTER" not in body, name
    columns = set(re.findall(r"'([A-Z_]+)'", text.split("c.column_name IN", 1)[1].split(")", 1)[0]))
    assert {"EMAIL", "PHONE", "FIRST_NAME", "LAST_NAME"} <= columns
    pii = {
        c.name.upper() for c in SOURCES["customers"].columns if c.name in {"email", "phone", "first_name", "last_name"}
    }
    assert pii <= columns
    assert "SET MASKING POLICY" in text and "CREATE TASK IF NOT EXISTS" in text


def test_emulator_overrides_are_inert_on_a_real_account(tmp_path):
    folder = DBT_PROJECT / "macros" / "fakesnow"
    text = "\n".join(p.read_text() for p in sorted(folder.glob("*.sql")))
    assert "FAKESNOW EMULATOR ONLY" in text
    for macro in re.findall(r"\{% macro (snowflake\w*)\(", text):
        body = text.split(f"{{% macro {macro}(", 1)[1].split("{% endmacro %}", 1)[0]
        assert "c360_is_fakesnow()" in body and f"dbt.{macro}(" in body, f"{macro} is not guarded/delegating"
    env = {
        **os.environ,
        "SNOWFLAKE_ACCOUNT": "myorg-production",
        "SNOWFLAKE_USER": "nobody",
        "SNOWFLAKE_PASSWORD": "unused",
        "SNOWFLAKE_DATABASE": "CUSTOMER360",
        "C360_DBT_TARGET": "snowflake",
        "DBT_PROFILES_DIR": str(DBT_PROJECT),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    out = subprocess.run(
        ["timeout", "-k", "5", "180", str(BIN / "dbt"), "run-operation", "c360_emulator_overrides_report"],
        cwd=DBT_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert out.returncode == 0, out.stdout[-3000:]
    line = next(s for s in out.stdout.splitlines() if s.startswith("C360_OVERRIDES"))
    # on a real account dbt-snowflake's own behaviour: temporary relations, explicit DML transactions
    assert line.split()[1:] == [
        "fakesnow=False",
        "temporary_table=True",
        "temporary_view=True",
        "explicit_transaction=True",
    ], line
