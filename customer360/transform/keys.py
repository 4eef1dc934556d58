"""The asset key of a dbt node, without dagster-dbt: shared by the translator (:mod:`customer360.transform.translator`)
and by what reads the manifest at load (the consumers' exposures), so both key a node the same way.

- models, seeds, snapshots → ``<schema>/<name>`` (``staging/stg_orders``, ``marts/fct_customer_value``);
- dbt sources → ``<source name>/<table>`` (``raw/orders``: the ingestion assets; ``ml/customer_segments``).
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg


def dbt_asset_key(dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
    """The asset key of a manifest node or source (see module docstring)."""
    if dbt_resource_props["resource_type"] == "source":
        return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
    return dg.AssetKey([str(dbt_resource_props["schema"]).lower(), dbt_resource_props["name"]])
