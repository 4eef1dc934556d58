"""Emulator set-up shared by the Snowflake tests: the objects deploy/snowflake creates that the loader needs.

Against a real account these come from deploy/snowflake/02, 04 and 05 (roles, integration and masking are not
emulated). The only difference from production is the stage URL: ``file://<landing>/`` instead of
``s3://bucket/prefix/`` — configuration, not code.
"""

from pathlib import Path

from customer360.resources.snowflake_warehouse import DEFAULT_FILE_FORMAT, DEFAULT_STAGE, SnowflakeWarehouse
from customer360_tests.production.helpers import REPO

SOURCE_ORDER = ("customers", "products", "orders", "transactions", "events", "campaigns", "support_tickets")


def prepare_account(wh: SnowflakeWarehouse, landing: Path) -> None:
    wh.ensure_schemas()
    wh.execute(f"CREATE FILE FORMAT IF NOT EXISTS {DEFAULT_FILE_FORMAT} TYPE = PARQUET")
    wh.execute(
        f"CREATE STAGE IF NOT EXISTS {DEFAULT_STAGE} URL = 'file://{landing.resolve()}/' "
        f"FILE_FORMAT = {DEFAULT_FILE_FORMAT}"
    )
    # the generated raw-table DDL of the setup (step 05) runs as is (minus the role/namespace lines)
    ddl = (REPO / "deploy" / "snowflake" / "05_raw_tables.sql").read_text()
    body = "\n".join(line for line in ddl.splitlines() if not line.strip().startswith("--"))
    for statement in body.split(";"):
        sql = statement.strip()
        if sql and not sql.upper().startswith("USE "):
            wh.execute(sql)
