"""How dbt nodes become Dagster assets: keys ``[schema, name]``, groups by layer, owners, kinds, lineage from raw.

- models, seeds, snapshots → ``<schema>/<name>`` (``staging/stg_orders``, ``marts/fct_customer_value``,
  ``snapshots/snap_customer_profile``), group = schema (= layer);
- dbt sources ``raw.<table>`` → ``raw/<table>`` (the ingestion assets) and ``ml.<table>`` → ``ml/<table>`` (the
  Python ML assets), so the asset graph shows raw → staging → … → ML → marts;
- a time-partitioned model (``PartitionedModelTranslator``: ``fct_transactions``) also depends directly on the
  raw sources it reads through views (``raw/transactions`` via the ``stg_transactions`` view), partition to
  partition. The staging view is unpartitioned, so without that edge Dagster cannot relate
  ``fct_transactions[day]`` to ``raw/transactions[day]``: an asset backfill of raw + ``fct_transactions`` launched
  with a partition range (the UI's "Materialize" dialog) silently drops ``fct_transactions`` — the range is mapped
  from the raw roots through partitioned assets only — and a job run of both would not order the dbt step after
  the load;
- owners from ``meta.owner`` (``team:<owner>``), kinds ``dbt`` + engine + materialization, descriptions from the yml;
- column schema (``dagster/column_schema``): dagster-dbt's names, ``data_type`` and descriptions, plus the column's
  ``meta.is_kpi`` (the design documents' "Is KPI", set on every mart column) as the column tag ``is_kpi``
  (``true`` / ``false``) — dagster-dbt itself carries only the column's dbt ``tags``; a model with an enforced
  contract also gets ``dbt/contract_enforced: true``.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from customer360.catalog import LAYERS as WAREHOUSE_LAYERS
from customer360.catalog import RAW, STAGING
from customer360.transform.keys import dbt_asset_key

LAYERS = tuple(layer for layer in WAREHOUSE_LAYERS if layer != RAW)  # the layers dbt builds
DEFAULT_OWNER = "team:analytics-engineering"
COLUMN_SCHEMA_KEY = "dagster/column_schema"


class C360DagsterDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dbt_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return dbt_resource_props["source_name"]
        schema = str(dbt_resource_props["schema"]).lower()
        return schema if schema in LAYERS else None

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        meta = {**(dbt_resource_props.get("config", {}).get("meta") or {}), **(dbt_resource_props.get("meta") or {})}
        owner = meta.get("owner")
        return [f"team:{owner}"] if owner else [DEFAULT_OWNER]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        if dbt_resource_props["resource_type"] != "source":
            tags["layer"] = str(dbt_resource_props["schema"]).lower()
        return tags

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(dbt_resource_props))
        schema = metadata.get(COLUMN_SCHEMA_KEY)
        schema = schema.value if isinstance(schema, dg.TableSchemaMetadataValue) else schema
        if isinstance(schema, dg.TableSchema):
            columns = dbt_resource_props.get("columns", {})
            metadata[COLUMN_SCHEMA_KEY] = dg.TableSchema(
                columns=[_with_kpi_tag(column, columns.get(column.name, {})) for column in schema.columns],
                constraints=schema.constraints,
            )
        if (dbt_resource_props.get("config", {}).get("contract") or {}).get("enforced"):
            metadata["dbt/contract_enforced"] = True
        return metadata

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        adapter = manifest.get("metadata", {}).get("adapter_type") or "dbt"
        kind = (
            props["resource_type"]
            if props["resource_type"] in {"seed", "snapshot", "source"}
            else (props.get("config", {}).get("materialized") or "model")
        )
        return spec.replace_attributes(kinds={"dbt", adapter, kind})


def column_is_kpi(column_props: Mapping[str, Any]) -> bool | None:
    """The column's ``is_kpi`` flag (``config.meta``, or the older top-level ``meta``); None when it has none."""
    meta = {**(column_props.get("meta") or {}), **((column_props.get("config") or {}).get("meta") or {})}
    return None if "is_kpi" not in meta else bool(meta["is_kpi"])


def _with_kpi_tag(column: dg.TableColumn, column_props: Mapping[str, Any]) -> dg.TableColumn:
    is_kpi = column_is_kpi(column_props)
    if is_kpi is None:
        return column
    return dg.TableColumn(
        name=column.name,
        type=column.type,
        description=column.description,
        constraints=column.constraints,
        tags={**column.tags, "is_kpi": "true" if is_kpi else "false"},
    )


def raw_sources_through_views(manifest: Mapping[str, Any], unique_id: str) -> list[str]:
    """Tables of the dbt source ``raw`` that ``unique_id`` reads directly or through views/ephemeral models or the
    incremental staging tables (a deduplicated copy of their raw table, merged by arrival: a raw partition's rows
    reach the reader through them in the same window)."""
    nodes, sources = manifest.get("nodes", {}), manifest.get("sources", {})
    found: set[str] = set()
    stack, seen = list(manifest.get("parent_map", {}).get(unique_id, [])), set()
    while stack:
        parent = stack.pop()
        if parent in seen:
            continue
        seen.add(parent)
        if parent in sources and sources[parent]["source_name"] == RAW:
            found.add(sources[parent]["name"])
        elif parent in nodes and _passes_raw_through(nodes[parent]):
            stack.extend(manifest.get("parent_map", {}).get(parent, []))
    return sorted(found)


def _passes_raw_through(node: Mapping[str, Any]) -> bool:
    config = node.get("config", {})
    materialized = config.get("materialized")
    return materialized in {"view", "ephemeral"} or (materialized == "incremental" and config.get("schema") == STAGING)


class PartitionedModelTranslator(C360DagsterDbtTranslator):
    """For the time-partitioned dbt assets: adds the same-window dependency on the raw sources read via views."""

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if self.get_resource_props(manifest, unique_id)["resource_type"] != "model":
            return spec
        existing = {dep.asset_key for dep in spec.deps}
        extra = [
            dg.AssetDep(dg.AssetKey([RAW, table]), partition_mapping=dg.TimeWindowPartitionMapping())
            for table in raw_sources_through_views(manifest, unique_id)
            if dg.AssetKey([RAW, table]) not in existing
        ]
        return spec.replace_attributes(deps=[*spec.deps, *extra]) if extra else spec
