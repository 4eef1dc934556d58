"""Row counts and column schemas of what a dbt run built, read from the DuckDB warehouse in one connection.

dagster-dbt's ``fetch_row_counts()`` / ``fetch_column_metadata()`` load dbt's adapter in the Dagster process
(≈ 1.5 s per dbt invocation: the project, the profile and every macro) and then query each model on its own
connection from a thread pool. On DuckDB, where the fetch waits for the dbt process to exit anyway (one writer),
the same metadata comes from one read-only attachment of the warehouse file: ``count(*)`` per table (views are not
counted, as in dagster-dbt: counting would run the view) and ``information_schema.columns`` for every relation, in
two queries. The metadata keys are dagster-dbt's (``dagster/row_count``, ``dagster/column_schema``,
``dagster/storage_kind``).
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg

CATALOG = "warehouse"  # the profile attaches the DuckDB file under this name (dbt_project/profiles.yml)


def _node_of(event: Any, nodes: dict[str, dict]) -> dict | None:
    if not isinstance(event, (dg.Output, dg.AssetMaterialization)):
        return None
    unique_id = event.metadata.get("unique_id")
    text = getattr(unique_id, "text", unique_id)
    return nodes.get(text) if isinstance(text, str) else None


def _relation(node: dict) -> tuple[str, str]:
    return node["schema"], node.get("alias") or node["name"]


def with_warehouse_metadata(events: Sequence[Any], manifest: dict, duckdb_path: str) -> list[Any]:
    """``events`` with row count (tables only) and column schema added to each model's Output/materialization."""
    nodes = manifest.get("nodes", {})
    built = {i: node for i, event in enumerate(events) if (node := _node_of(event, nodes)) is not None}
    if not built:
        return list(events)
    relations = {_relation(node) for node in built.values()}
    tables = sorted({_relation(node) for node in built.values() if node["config"]["materialized"] != "view"})
    import duckdb  # a dbt step's import, not the code location's (test_code_location.py)

    with duckdb.connect(":memory:") as con:
        quoted = str(duckdb_path).replace("'", "''")  # a path with a quote stays one SQL string literal
        con.execute(f"attach '{quoted}' as {CATALOG} (read_only)")
        columns: dict[tuple[str, str], list[dg.TableColumn]] = {}
        for schema, name, column, data_type in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns"
            " where table_catalog = ? order by table_schema, table_name, ordinal_position",
            [CATALOG],
        ).fetchall():
            if (schema, name) in relations:
                columns.setdefault((schema, name), []).append(dg.TableColumn(name=column, type=data_type))
        present = [t for t in tables if t in columns]  # a model that failed to build has no table to count
        counts: dict[tuple[str, str], int] = {}
        if present:
            union = " union all ".join(
                f'select {i} as i, count(*) from {CATALOG}."{schema}"."{name}"'
                for i, (schema, name) in enumerate(present)
            )
            counts = {present[i]: n for i, n in con.execute(union).fetchall()}
    out = list(events)
    for i, node in built.items():
        relation = _relation(node)
        extra: dict[str, Any] = {"dagster/storage_kind": "duckdb"}
        if relation in columns:
            extra["dagster/column_schema"] = dg.TableSchema(columns=columns[relation])
        if relation in counts:
            extra["dagster/row_count"] = counts[relation]
        out[i] = out[i].with_metadata({**out[i].metadata, **extra})
    return out
