"""The dbt assets of the code location are built from the specs cached beside the manifest
(``customer360.transform.spec_cache``), without dagster-dbt: they must be what dagster-dbt's ``@dbt_assets`` builds
from the same manifest, and a changed manifest must rebuild the cache."""

import dataclasses
import json
import re
import shutil

import dagster as dg
import pytest

from customer360.automation import with_automation
from customer360.ingestion.partitions import daily_partitions
from customer360.settings import DBT_PROJECT_DIR, Settings
from customer360.transform import spec_cache
from customer360.transform.assets import build_dbt_assets
from customer360.transform.project import DbtProjectPaths, dbt_project

DBT_OBJECTS = set(spec_cache.DBT_OBJECT_METADATA_KEYS)


def _reference_assets(project: DbtProjectPaths, settings: Settings) -> list[dg.AssetsDefinition]:
    """The two multi-assets as dagster-dbt's ``@dbt_assets`` defines them (how the project defined them before)."""
    from dagster_dbt import dbt_assets

    from customer360.transform import translator

    dbt_project_ = project.dbt_project()
    unpartitioned, partitioned = spec_cache.SELECTIONS

    @dbt_assets(
        manifest=project.manifest_path,
        project=dbt_project_,
        dagster_dbt_translator=translator.C360DagsterDbtTranslator(),
        select=unpartitioned.select,
        exclude=unpartitioned.exclude,
        name=unpartitioned.name,
        pool="warehouse",
    )
    def c360_dbt_assets(context: dg.AssetExecutionContext): ...

    @dbt_assets(
        manifest=project.manifest_path,
        project=dbt_project_,
        dagster_dbt_translator=translator.PartitionedModelTranslator(),
        select=partitioned.select,
        name=partitioned.name,
        pool="warehouse",
        partitions_def=daily_partitions(settings.partitions_start),
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def c360_fct_transactions_assets(context: dg.AssetExecutionContext): ...

    return [c360_dbt_assets, c360_fct_transactions_assets]


def _spec_view(spec: dg.AssetSpec) -> dict:
    return {
        "deps": sorted((d.asset_key.to_user_string(), repr(d.partition_mapping)) for d in spec.deps),
        "description": spec.description,
        "metadata": {k: v for k, v in spec.metadata.items() if k not in DBT_OBJECTS},
        "metadata_keys": set(spec.metadata),
        "group": spec.group_name,
        "code_version": spec.code_version,
        "owners": list(spec.owners),
        "tags": dict(spec.tags),
        "kinds": set(spec.kinds),
        "skippable": spec.skippable,
        "automation_condition": spec.automation_condition,
        "partitions_def": spec.partitions_def,
    }


def _check_view(spec: dg.AssetCheckSpec) -> tuple:
    return (
        spec.description,
        spec.blocking,
        sorted(d.asset_key.to_user_string() for d in spec.additional_deps),
        dict(spec.metadata or {}),
    )


def _automation(assets: list[dg.AssetsDefinition]) -> dict:
    """Automation conditions and freshness policies the code location gives the dbt assets (+ raw, their roots)."""
    raw = [dg.AssetSpec(["raw", t]) for t in ("customers", "orders", "transactions", "events", "campaigns")]
    defs = dg.Definitions(assets=[*raw, *assets], resources={"dbt": dg.ResourceDefinition.none_resource()})
    graph = with_automation(defs).resolve_asset_graph()
    keys = {k for a in assets for k in a.keys}
    return {
        k.to_user_string(): (_repr(graph.get(k).automation_condition), _repr(graph.get(k).freshness_policy))
        for k in keys
    }


def _repr(value) -> str:
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))  # a custom condition prints its address


@pytest.fixture(scope="module")
def settings():
    return dataclasses.replace(Settings.from_env(), partitions_start="2024-01-01")


def test_cached_dbt_assets_equal_what_dbt_assets_builds(settings):
    project = dbt_project("local")
    cached, reference = build_dbt_assets(project, settings), _reference_assets(project, settings)
    for mine, theirs in zip(cached, reference, strict=True):
        assert mine.node_def.name == theirs.node_def.name
        assert set(mine.keys) == set(theirs.keys) and mine.keys
        assert set(mine.check_keys) == set(theirs.check_keys) and mine.check_keys
        assert {k: _spec_view(s) for k, s in mine.specs_by_key.items()} == {
            k: _spec_view(s) for k, s in theirs.specs_by_key.items()
        }
        assert {s.key: _check_view(s) for s in mine.check_specs} == {s.key: _check_view(s) for s in theirs.check_specs}
        assert mine.partitions_def == theirs.partitions_def
        assert mine.backfill_policy == theirs.backfill_policy
        assert mine.op.pool == theirs.op.pool == "warehouse"
        assert mine.can_subset and theirs.can_subset
        assert {k: v for k, v in mine.op.tags.items() if k.startswith("dagster_dbt/")} == {
            k: v for k, v in theirs.op.tags.items() if k.startswith("dagster_dbt/")
        }
    assert cached[1].partitions_def is not None  # fct_transactions is partitioned
    assert _automation(cached) == _automation(reference)


def test_dagster_dbt_reads_the_manifest_translator_and_project_back_from_the_cached_assets(settings):
    """What ``DbtCliResource.cli(context=...)`` does in the step: the stand-ins give dagster-dbt's own objects."""
    from dagster_dbt import DagsterDbtTranslator
    from dagster_dbt.asset_utils import (
        DAGSTER_DBT_MANIFEST_METADATA_KEY,
        DAGSTER_DBT_PROJECT_METADATA_KEY,
        DAGSTER_DBT_TRANSLATOR_METADATA_KEY,
        get_manifest_and_translator_from_dbt_assets,
    )

    assert spec_cache.DBT_OBJECT_METADATA_KEYS == (
        DAGSTER_DBT_MANIFEST_METADATA_KEY,
        DAGSTER_DBT_TRANSLATOR_METADATA_KEY,
        DAGSTER_DBT_PROJECT_METADATA_KEY,
    )
    project = dbt_project("local")
    unpartitioned, partitioned = build_dbt_assets(project, settings)
    manifest, translator, dbt_project_ = get_manifest_and_translator_from_dbt_assets([partitioned])
    assert manifest == json.loads(project.manifest_path.read_text())
    resolved = translator.resolve()
    assert isinstance(resolved, DagsterDbtTranslator) and type(resolved).__name__ == "PartitionedModelTranslator"
    assert translator.settings.enable_asset_checks
    assert dbt_project_.project_dir == project.project_dir
    node = manifest["nodes"]["model.customer360.fct_transactions"]
    assert translator.get_asset_key(node) == dg.AssetKey(["marts", "fct_transactions"])
    _, translator, _ = get_manifest_and_translator_from_dbt_assets([unpartitioned])
    assert type(translator.resolve()).__name__ == "C360DagsterDbtTranslator"


def test_a_changed_manifest_rebuilds_the_cache(tmp_path, monkeypatch):
    target = tmp_path / "target"
    target.mkdir()
    shutil.copy(dbt_project("local").manifest_path, target / "manifest.json")
    project = DbtProjectPaths(
        project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target="local", target_path=target
    )
    key = dg.AssetKey(["marts", "fct_orders"])

    def description(specs) -> str:
        [spec] = [s for s in specs["c360_dbt_assets"].specs if s.key == key]
        return spec.description

    first = spec_cache.load(project)  # no cache yet: built and written
    cached = json.loads(spec_cache.cache_file(project).read_text())
    assert cached["key"] == spec_cache.cache_key(project)

    built = []
    real_build = spec_cache.build
    monkeypatch.setattr(spec_cache, "build", lambda p: built.append(p) or real_build(p))
    assert description(spec_cache.load(project)) == description(first)
    assert built == [], "a current cache was built again"

    manifest = json.loads((target / "manifest.json").read_text())
    manifest["nodes"]["model.customer360.fct_orders"]["description"] = "Changed after the cache was written."
    (target / "manifest.json").write_text(json.dumps(manifest))
    assert description(spec_cache.load(project)).startswith("Changed after the cache was written.")
    assert len(built) == 1
    rewritten = json.loads(spec_cache.cache_file(project).read_text())
    assert rewritten["key"] == spec_cache.cache_key(project) != cached["key"]


def test_a_new_parse_of_the_same_project_keeps_the_cache(tmp_path):
    """``dg dev`` re-parses dbt on every load: the parse's ids and times must not make the cache stale."""
    target = tmp_path / "target"
    target.mkdir()
    project = DbtProjectPaths(
        project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target="local", target_path=target
    )
    text = dbt_project("local").manifest_path.read_text()
    (target / "manifest.json").write_text(text)
    key = spec_cache.cache_key(project)
    reparsed = re.sub(r'"generated_at": "[^"]*"', '"generated_at": "2030-01-01T00:00:00.000000Z"', text)
    reparsed = re.sub(r'"invocation_id": "[^"]*"', '"invocation_id": "00000000-0000-0000-0000-000000000000"', reparsed)
    reparsed = re.sub(r'"created_at": [0-9.]+', '"created_at": 1900000000.5', reparsed)
    assert reparsed != text
    (target / "manifest.json").write_text(reparsed)
    assert spec_cache.cache_key(project) == key
    (target / "manifest.json").write_text(reparsed.replace('"materialized": "table"', '"materialized": "view"', 1))
    assert spec_cache.cache_key(project) != key


def test_a_cache_that_cannot_be_written_still_gives_the_specs(tmp_path, monkeypatch):
    """A read-only target folder (an image's) costs a rebuild per load, never a failed load."""
    target = tmp_path / "target"
    target.mkdir()
    shutil.copy(dbt_project("local").manifest_path, target / "manifest.json")
    project = DbtProjectPaths(
        project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target="local", target_path=target
    )

    def read_only(*args):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(spec_cache.os, "replace", read_only)
    specs = spec_cache.load(project)
    assert specs["c360_dbt_assets"].specs
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json"]  # nor a temporary file left


def test_a_stand_in_is_built_only_when_used():
    """Type checks and copies at load must not build the dagster-dbt object; once built, it passes as one."""
    import copy

    from customer360.transform.on_demand import OnDemand, resolve_all

    class Target:
        settings = "real"

    built = []
    stand_in = OnDemand(lambda: built.append(1) or Target(), "Target")
    assert not isinstance(stand_in, Target) and isinstance(stand_in, OnDemand)
    copy.copy(stand_in), repr(stand_in), hasattr(stand_in, "__fspath__")
    assert built == []
    resolve_all({"dagster_dbt/dagster_dbt_translator": stand_in, "other": "text"})
    assert built == [1] and isinstance(stand_in, Target) and stand_in.settings == "real"
    resolve_all({"again": stand_in})
    assert built == [1]
