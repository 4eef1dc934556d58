"""The consumers of the Customer 360 as assets: one per dbt exposure (dbt_project/models/exposures/_exposures.yml).

dagster-dbt 0.29 makes no assets of exposures (``build_dbt_specs`` keeps models, seeds and snapshots only), so they
are read here from the prepared manifest:

- key ``consumers/<exposure name>``, group ``consumers``;
- ``deps`` = the dbt nodes in the exposure's ``depends_on``, keyed as the project's translator keys them
  (``marts/fct_orders`` …), so a mart's page lists who reads it and the lineage ends at the dashboards;
- kinds = the tool (``meta.tool``: ``sigma``, ``powerbi``, …) and the exposure type; owner ``team:<owner name>``;
  description, label, maturity and url from the yml.

Exposures with ``meta.dagster.built_by: customer360`` (the compliance export, the retention alerts, the executive
scorecard) are not external: their Python assets (this package) take key, deps, owner and description from the
same exposure (:func:`built_exposure`), so the yml stays the one list of consumers.
"""

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from customer360.settings import DBT_PROJECT_DIR
from customer360.transform.keys import dbt_asset_key

CONSUMER_GROUP = "consumers"
BUILT_BY_CUSTOMER360 = "customer360"


@dataclass(frozen=True)
class Exposure:
    name: str
    unique_id: str
    type: str
    tool: str
    label: str
    description: str
    owner: str  # "team:<name>" (or the owner's email)
    maturity: str | None
    url: str | None
    deps: tuple[dg.AssetKey, ...]
    built_by: str | None  # "customer360" when a Python asset of this package implements it
    source_file: str = ""  # the yml that declares it, relative to the dbt project

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey([CONSUMER_GROUP, self.name])

    @property
    def kinds(self) -> set[str]:
        return {self.tool, self.type}

    @property
    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dbt_exposure": self.unique_id, "exposure_type": self.type, "tool": self.tool}
        if self.maturity:
            out["maturity"] = self.maturity
        if self.url:
            out["url"] = dg.MetadataValue.url(self.url)
        if self.source_file:  # "View code": the exposure's declaration (linked to the repository like the others)
            with warnings.catch_warnings():  # beta in 1.13 (pinned); customer360/code_references.py reads them back
                warnings.simplefilter("ignore", dg.BetaWarning)
                out["dagster/code_references"] = dg.CodeReferencesMetadataValue(
                    code_references=[dg.LocalFileCodeReference(file_path=str(DBT_PROJECT_DIR / self.source_file))]
                )
        return out


def _meta(props: Mapping[str, Any]) -> dict[str, Any]:
    return {**(props.get("config", {}).get("meta") or {}), **(props.get("meta") or {})}


def exposures(manifest: Mapping[str, Any]) -> list[Exposure]:
    """Every exposure of the manifest, sorted by name."""
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    out = []
    for unique_id, props in sorted(manifest.get("exposures", {}).items()):
        meta = _meta(props)
        owner = props.get("owner") or {}
        owner_name = owner.get("name") or owner.get("email")
        if not owner_name:
            raise ValueError(f"exposure {props['name']} has no owner (name or email) in {props['original_file_path']}")
        missing = [uid for uid in props.get("depends_on", {}).get("nodes", []) if uid not in nodes]
        if missing:
            raise ValueError(f"exposure {props['name']} depends on unknown dbt nodes {missing}")
        deps = tuple(dbt_asset_key(nodes[uid]) for uid in sorted(props.get("depends_on", {}).get("nodes", [])))
        out.append(
            Exposure(
                name=props["name"],
                unique_id=unique_id,
                type=props["type"],
                tool=str(meta.get("tool") or props["type"]),
                label=props.get("label") or props["name"],
                description=" ".join((props.get("description") or "").split()),
                owner=f"team:{owner_name}" if owner.get("name") else owner_name,
                maturity=props.get("maturity"),
                url=props.get("url"),
                deps=deps,
                built_by=(meta.get("dagster") or {}).get("built_by"),
                source_file=props.get("original_file_path") or "",
            )
        )
    return out


def exposure_specs(manifest: Mapping[str, Any]) -> list[dg.AssetSpec]:
    """External assets for the consumers outside customer360 (BI dashboards, reports)."""
    return [
        dg.AssetSpec(
            key=exposure.key,
            deps=list(exposure.deps),
            description=f"{exposure.label}. {exposure.description}",
            group_name=CONSUMER_GROUP,
            owners=[exposure.owner],
            kinds=exposure.kinds,
            metadata=exposure.metadata,
            tags={"consumer": exposure.tool},
        )
        for exposure in exposures(manifest)
        if exposure.built_by != BUILT_BY_CUSTOMER360
    ]


def built_exposure(manifest: Mapping[str, Any], name: str) -> Exposure:
    """The exposure a Python asset of this package implements (fails loudly if the yml lost it)."""
    for exposure in exposures(manifest):
        if exposure.name == name:
            if exposure.built_by != BUILT_BY_CUSTOMER360:
                raise ValueError(f"exposure {name} is not marked meta.dagster.built_by: {BUILT_BY_CUSTOMER360}")
            return exposure
    raise ValueError(f"no dbt exposure named {name} in the manifest (dbt_project/models/exposures/_exposures.yml)")


def asset_kwargs(exposure: Exposure, extra_deps: Sequence[dg.AssetKey] = ()) -> dict[str, Any]:
    """``@dg.asset`` keyword arguments of a built consumer: key, deps, group, owner, kinds, description."""
    return dict(
        key=exposure.key,
        deps=[*exposure.deps, *[k for k in extra_deps if k not in exposure.deps]],
        group_name=CONSUMER_GROUP,
        owners=[exposure.owner],
        kinds=exposure.kinds | {"python"},
        description=f"{exposure.label}. {exposure.description}",
        metadata=exposure.metadata,
        tags={"consumer": exposure.tool},
    )
