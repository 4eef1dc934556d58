"""How dbt nodes become Dagster assets: keys ``[schema, name]``, groups by layer, owners, kinds, lineage from raw.

- models, seeds, snapshots → ``<schema>/<name>`` (``staging/stg_orders``, ``marts/fct_customer_value``,
  ``snapshots/snap_customer_profile``), group = schema (= layer);
- dbt sources ``raw.<table>`` → ``raw/<table>`` (the ingestion assets) and ``ml.<table>`` → ``ml/<table>`` (the
  Python ML assets), so the asset graph shows raw → staging → … → ML → marts;
- owners from ``meta.owner`` (``team:<owner>``), kinds ``dbt`` + engine + materialization, descriptions from the yml.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

LAYERS = ("staging", "intermediate", "marts", "ml", "snapshots")
DEFAULT_OWNER = "team:analytics-engineering"


class C360DagsterDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([str(dbt_resource_props["schema"]).lower(), dbt_resource_props["name"]])

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

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        adapter = manifest.get("metadata", {}).get("adapter_type") or "dbt"
        kind = props["resource_type"] if props["resource_type"] in {"seed", "snapshot", "source"} else (
            props.get("config", {}).get("materialized") or "model"
        )
        return spec.replace_attributes(kinds={"dbt", adapter, kind})
