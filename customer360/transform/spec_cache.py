"""The specs of the two dbt multi-assets, computed by dagster-dbt once and kept in a JSON beside the manifest, so the
code location defines the dbt assets with plain ``dagster`` (importing dagster-dbt costs ≈ 1.3 s of the load: it
imports dbt-core, networkx, protobuf and sqlglot).

- :func:`build` runs dagster-dbt's own ``@dbt_assets`` over the manifest with the project's translators
  (:mod:`customer360.transform.translator`) for each of :data:`SELECTIONS` and records what it derived: the asset
  specs (keys, deps with their partition mappings, descriptions, metadata, tags, kinds, owners, groups, code
  versions), the asset check specs (the dbt tests) and the op tags that carry the dbt selection. The dagster-dbt
  objects in the metadata (manifest, translator, project) are not recorded: :mod:`customer360.transform.assets`
  attaches stand-ins that build them inside the step (:mod:`customer360.transform.on_demand`).
- :func:`load` reads ``<target>/c360_dbt_specs.json`` when its key matches (:func:`cache_key`: the manifest's
  bytes, the dagster and dagster-dbt versions, the source of the translator, of ``keys.py``, ``catalog.py`` and of
  this module, the selections, the project folder); otherwise it builds the specs again — this imports dagster-dbt — and rewrites the file.
  ``scripts/prepare_dbt.py`` builds it after ``dbt parse`` (``python -m customer360.transform.spec_cache
  [--target <dbt target>] [--target-path <folder>]``). A later ``dbt parse`` of the same project (``dagster dev``
  re-parses on load) keeps it: the key leaves out what every parse rewrites (:data:`_VOLATILE`); a change to the
  project makes it stale, and the next load pays the rebuild.
"""

import argparse
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._serdes import deserialize_value, serialize_value

from customer360.transform.project import DbtProjectPaths

logger = logging.getLogger(__name__)

CACHE_FILE = "c360_dbt_specs.json"
FORMAT = 1  # bump when the layout of the file changes
PARTITIONED_MODEL = "fct_transactions"
# dagster-dbt 0.29's metadata keys for its objects (dagster_dbt.asset_utils): not recorded, attached at load
MANIFEST_METADATA_KEY = "dagster_dbt/manifest"
TRANSLATOR_METADATA_KEY = "dagster_dbt/dagster_dbt_translator"
PROJECT_METADATA_KEY = "dagster_dbt/project"
DBT_OBJECT_METADATA_KEYS = (MANIFEST_METADATA_KEY, TRANSLATOR_METADATA_KEY, PROJECT_METADATA_KEY)
_KEYED_SOURCES = ("translator.py", "keys.py", "spec_cache.py", "../catalog.py")  # what the specs are derived with


@dataclass(frozen=True)
class DbtSelection:
    """One dbt multi-asset: its op name, the dbt ``select`` / ``exclude`` and the translator class (by name, in
    :mod:`customer360.transform.translator`)."""

    name: str
    select: str
    exclude: str | None
    translator: str


SELECTIONS = (
    # "+": also the partitioned model's tests — `--select fqn:*` names every test directly, so excluding only the
    # model would still run its tests (e.g. relationships to dim_customers) here, before it is built
    DbtSelection("c360_dbt_assets", "fqn:*", f"{PARTITIONED_MODEL}+", "C360DagsterDbtTranslator"),
    # + a same-day dependency on raw/transactions (read through the stg_transactions view): see translator.py
    DbtSelection("c360_fct_transactions_assets", PARTITIONED_MODEL, None, "PartitionedModelTranslator"),
)


@dataclass(frozen=True)
class DbtAssetSpecs:
    """What ``@dbt_assets`` derives from the manifest for one selection."""

    name: str
    op_tags: dict[str, str]
    specs: list[dg.AssetSpec]
    check_specs: list[dg.AssetCheckSpec]


def cache_file(project: DbtProjectPaths) -> Path:
    return project.manifest_path.with_name(CACHE_FILE)


def cache_key(project: DbtProjectPaths) -> str:
    digest = hashlib.sha256()
    for part in (
        f"format {FORMAT}",
        f"dagster {version('dagster')}",
        f"dagster-dbt {version('dagster-dbt')}",
        repr(SELECTIONS),
        str(project.project_dir.resolve()),  # the code references are absolute paths of the models' files
    ):
        digest.update(part.encode() + b"\x00")
    here = Path(__file__).parent
    for source in _KEYED_SOURCES:
        digest.update((here / source).read_bytes() + b"\x00")
    digest.update(_VOLATILE.sub(b"", project.manifest_path.read_bytes()))
    return digest.hexdigest()


# what every `dbt parse` rewrites without a change to the project (its run's id and times, the nodes' parse times):
# left out of the key, so `dg dev` / `dagster dev`, which re-parse on load, keep the cache
_VOLATILE = re.compile(rb'"(?:generated_at|invocation_id|invocation_started_at)": "[^"]*"|"created_at": [0-9.eE+-]+')


def load(project: Any) -> dict[str, DbtAssetSpecs]:
    """The specs of every selection, from the cache file when it is current, else built and written again."""
    paths = DbtProjectPaths.of(project)
    key = cache_key(paths)
    file = cache_file(paths)
    content = _read(file)
    if content is None or content.get("key") != key:
        logger.info("dbt asset specs at %s are missing or stale: building them with dagster-dbt", file)
        content = write(paths, key)
    return {name: _specs_from_json(name, entry) for name, entry in content["assets"].items()}


def write(project: Any, key: str | None = None) -> dict[str, Any]:
    """Build the specs (imports dagster-dbt) and write them to the cache file; returns the file's content. A
    folder that cannot be written is logged, not raised: the next load builds them again."""
    paths = DbtProjectPaths.of(project)
    content = {"key": key or cache_key(paths), "assets": build(paths)}
    file = cache_file(paths)
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:  # atomic: a concurrent load reads the old file or the new one, never half of one
        temporary.write_text(json.dumps(content, sort_keys=True))
        os.replace(temporary, file)
    except OSError as exc:
        logger.warning("dbt asset specs not cached at %s: %s", file, exc)
        temporary.unlink(missing_ok=True)
    return content


def build(project: DbtProjectPaths) -> dict[str, Any]:
    """Every selection's specs as dagster-dbt's ``@dbt_assets`` builds them, as JSON (imports dagster-dbt)."""
    from dagster_dbt import dbt_assets

    from customer360.transform import translator

    dbt_project = project.dbt_project()
    # the parsed manifest, not its path: dagster-dbt caches a manifest read by path for the life of the process
    manifest = json.loads(project.manifest_path.read_text())
    out = {}
    for selection in SELECTIONS:

        @dbt_assets(
            manifest=manifest,
            project=dbt_project,
            dagster_dbt_translator=getattr(translator, selection.translator)(),
            select=selection.select,
            exclude=selection.exclude,
            name=selection.name,
        )
        def specs_only(context: dg.AssetExecutionContext):  # never executed: only its specs are read
            raise NotImplementedError

        out[selection.name] = {
            "op_tags": {k: v for k, v in specs_only.op.tags.items() if k.startswith("dagster_dbt/")},
            "specs": [_spec_to_json(spec) for spec in specs_only.specs],
            "check_specs": [_check_spec_to_json(spec) for spec in specs_only.check_specs],
        }
    return out


def _read(file: Path) -> dict[str, Any] | None:
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError):
        return None


def _serialized(value: Any) -> str | None:
    return None if value is None else serialize_value(value)


def _deserialized(text: str | None) -> Any:
    return None if text is None else deserialize_value(text)


def _not_cached(owner: str, **attributes: Any) -> None:
    set_ = [name for name, value in attributes.items() if value]
    if set_:
        raise ValueError(
            f"{owner}: {', '.join(set_)} set by the dbt translator; customer360.transform.spec_cache does not record "
            "it — set it in customer360/transform/assets.py or record it here"
        )


def _dep_to_json(dep: dg.AssetDep) -> dict[str, Any]:
    return {
        "key": list(dep.asset_key.path),
        "partition_mapping": _serialized(dep.partition_mapping),
        "metadata": _serialized(dict(dep.metadata)) if dep.metadata else None,
    }


def _dep_from_json(entry: dict[str, Any]) -> dg.AssetDep:
    return dg.AssetDep(
        dg.AssetKey(entry["key"]),
        partition_mapping=_deserialized(entry["partition_mapping"]),
        metadata=_deserialized(entry["metadata"]),
    )


def _spec_to_json(spec: dg.AssetSpec) -> dict[str, Any]:
    owner = spec.key.to_user_string()
    _not_cached(
        owner,
        partitions_def=spec.partitions_def,
        freshness_policy=spec.freshness_policy,
        legacy_freshness_policy=spec.legacy_freshness_policy,
        is_virtual=spec.is_virtual,
    )
    metadata = {k: v for k, v in spec.metadata.items() if k not in DBT_OBJECT_METADATA_KEYS}
    return {
        "key": list(spec.key.path),
        "deps": [_dep_to_json(dep) for dep in spec.deps],
        "description": spec.description,
        "metadata": serialize_value(metadata),
        "group_name": spec.group_name,
        "skippable": spec.skippable,
        "code_version": spec.code_version,
        "automation_condition": _serialized(spec.automation_condition),
        "owners": list(spec.owners),
        "tags": dict(spec.tags),  # the kinds are tags (dagster/kind/<kind>)
    }


def _spec_from_json(entry: dict[str, Any]) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=dg.AssetKey(entry["key"]),
        deps=[_dep_from_json(dep) for dep in entry["deps"]],
        description=entry["description"],
        metadata=deserialize_value(entry["metadata"]),
        group_name=entry["group_name"],
        skippable=entry["skippable"],
        code_version=entry["code_version"],
        automation_condition=_deserialized(entry["automation_condition"]),
        owners=entry["owners"],
        tags=entry["tags"],
    )


def _check_spec_to_json(spec: dg.AssetCheckSpec) -> dict[str, Any]:
    _not_cached(spec.key.to_user_string(), partitions_def=spec.partitions_def)
    return {
        "name": spec.name,
        "asset": list(spec.asset_key.path),
        "description": spec.description,
        "additional_deps": [_dep_to_json(dep) for dep in spec.additional_deps],
        "blocking": spec.blocking,
        "metadata": serialize_value(dict(spec.metadata or {})),
        "automation_condition": _serialized(spec.automation_condition),
    }


def _check_spec_from_json(entry: dict[str, Any]) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        entry["name"],
        asset=dg.AssetKey(entry["asset"]),
        description=entry["description"],
        additional_deps=[_dep_from_json(dep) for dep in entry["additional_deps"]],
        blocking=entry["blocking"],
        metadata=deserialize_value(entry["metadata"]),
        automation_condition=_deserialized(entry["automation_condition"]),
    )


def _specs_from_json(name: str, entry: dict[str, Any]) -> DbtAssetSpecs:
    return DbtAssetSpecs(
        name=name,
        op_tags=dict(entry["op_tags"]),
        specs=[_spec_from_json(spec) for spec in entry["specs"]],
        check_specs=[_check_spec_from_json(spec) for spec in entry["check_specs"]],
    )


def main(argv: list[str] | None = None) -> None:
    from customer360.settings import DBT_PROJECT_DIR

    parser = argparse.ArgumentParser(description="Write the dbt assets' specs beside the prepared manifest.")
    parser.add_argument("--target", default="local", help="dbt profile target (local, snowflake)")
    parser.add_argument("--target-path", default="target", help="the manifest's folder (relative to dbt_project/)")
    args = parser.parse_args(argv)
    project = DbtProjectPaths(DBT_PROJECT_DIR, DBT_PROJECT_DIR, args.target, Path(args.target_path))
    write(project)
    print(f"dbt asset specs ready: {cache_file(project)}")


if __name__ == "__main__":
    main()
