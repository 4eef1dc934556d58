"""The dbt project as two multi-assets, defined with plain ``dagster`` from the specs that dagster-dbt's ``@dbt_assets``
derives from the manifest (:mod:`customer360.transform.spec_cache`, kept beside the manifest): the code location never
imports dagster-dbt, a dbt step does (no ``from __future__ import annotations`` here: Dagster inspects the annotations
of the step functions for their resources and config).

- ``c360_dbt_assets``: every model, seed and snapshot except ``fct_transactions`` (unpartitioned; ``dbt build``
  of the selected subset, so the dbt tests run as asset checks right after their model).
- ``c360_fct_transactions_assets``: ``fct_transactions``, daily-partitioned with the raw partitions' definition;
  a run of one partition or of a range passes ``min_date``, ``max_date`` = its time window (:func:`partition_window`);
  the model merges the rows dated in it (+ ``lookback_days``), those that arrived on its days and every arrival since
  its last merge, so a backfill of old days recomputes them. A backfill of any range is ONE dbt run
  (``BackfillPolicy.single_run()``).

Run values reach dbt in ``C360_DBT_RUN_VARS``, not ``--vars`` (:func:`run_build`: partial parsing survives).
Both take the run config ``DbtRunConfig``: ``full_tests: true`` passes the dbt var ``full_tests`` so every data test
reads the whole history instead of the newest arrivals (README "Incremental design"; the weekly full test suite,
``customer360/automation/schedules.py``). A run that selects only the checks of ``fct_transactions`` (no partition)
runs its tests without a window. Both pass ``as_of_date`` when ``C360_AS_OF_DATE`` is set, and attach row counts + column schemas to each
materialization when the ``dbt`` resource has ``fetch_metadata`` on (``C360_DBT_FETCH_METADATA``).

Each step calls ``DbtCliResource.cli(..., context=context)`` as a ``@dbt_assets`` step would: the specs carry
stand-ins for the manifest, translator and project that dagster-dbt reads from the assets definition
(:mod:`customer360.transform.on_demand`), so it computes the dbt selection of the step's subset from the op tags
``dagster_dbt/select`` / ``dagster_dbt/exclude`` and maps dbt's events to outputs and check results as before.
"""

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache, partial
from importlib import import_module
from typing import Any

import dagster as dg
from pydantic import Field

from customer360.ingestion.partitions import daily_partitions
from customer360.settings import Settings
from customer360.transform import spec_cache
from customer360.transform.on_demand import ManifestOnDemand, OnDemand
from customer360.transform.project import DbtProjectPaths
from customer360.transform.resource import C360DbtResource, env_overrides
from customer360.transform.spec_cache import DbtAssetSpecs
from customer360.transform.warehouse_metadata import with_warehouse_metadata

UNPARTITIONED_ASSETS, PARTITIONED_ASSETS = (selection.name for selection in spec_cache.SELECTIONS)


class DbtRunConfig(dg.Config):
    full_tests: bool = Field(
        default=False,
        description="true: every data test reads the whole history (dbt var full_tests), not only the newest arrivals.",
    )


def dbt_vars(settings: Settings, time_window: dg.TimeWindow | None = None, full_tests: bool = False) -> dict[str, str]:
    """The run values of a dbt run (:func:`run_build`): ``as_of_date`` when configured, the partition window for partitioned runs,
    ``full_tests`` when the run asks for the full test suite."""
    out: dict[str, str] = {}
    if settings.as_of_date:
        out["as_of_date"] = settings.as_of_date
    if full_tests:
        out["full_tests"] = "true"
    if time_window is not None:
        out["min_date"] = time_window.start.strftime("%Y-%m-%d")
        out["max_date"] = time_window.end.strftime("%Y-%m-%d")
    return out


RUN_VARS_ENV = "C360_DBT_RUN_VARS"  # read by macros/run_vars.sql


def run_build(dbt: C360DbtResource, variables: Mapping[str, str], context: dg.AssetExecutionContext):
    """``dbt build`` of the step's selection with the run's values in ``C360_DBT_RUN_VARS``, not ``--vars``:
    dbt re-parses the whole project when ``--vars`` differ from the parse it has saved, and the values change every
    day (as_of_date) and every partition (min_date / max_date). ``macros/run_vars.sql`` reads the variable only while
    executing, so no value ever invalidates partial parsing.

    The yml unit tests (fixed inputs: they test the SQL, not the day's data) run with the full test suite
    (``full_tests``: on demand, the weekly schedule) and in ``make test``, not in every daily or partition run."""
    args = ["build"] if variables.get("full_tests") else ["build", "--exclude-resource-type", "unit_test"]
    with env_overrides({RUN_VARS_ENV: json.dumps(dict(variables), sort_keys=True)}):
        return dbt.cli(args, context=context)


def _settled(events) -> tuple[list[Any], BaseException | None]:
    """All events of a dbt process, once it has exited (+ the error it ended with, re-raised after the events
    before it are yielded, as dagster-dbt does). On DuckDB the metadata can only be read after dbt exits (one
    writer holds the file), so nothing is lost by collecting first."""
    collected, error = [], None
    try:
        for event in events:
            collected.append(event)
    except Exception as exc:
        error = exc
    return collected, error


def _stream(invocation, dbt: C360DbtResource) -> Iterator[Any]:
    events = invocation.stream()
    error: BaseException | None = None
    if getattr(dbt, "fetch_metadata", False):
        if getattr(dbt, "duckdb_path", None):
            # after the process exited: one read-only pass over the warehouse file, no dbt adapter in this process
            # (the profile attaches the file as catalog `warehouse`, so the manifest's relations are valid for any
            # C360_DUCKDB_PATH)
            events, error = _settled(events)
            events = with_warehouse_metadata(events, invocation.manifest, dbt.resolved_duckdb_path())
        else:
            # Column schemas without sqlglot column lineage: the lineage parse costs seconds per model and fails
            # on some of the project's SQL (window functions over CTEs).
            events = events.fetch_row_counts().fetch_column_metadata(with_column_lineage=False)
    try:
        yield from events
        if error is not None:
            raise error
    finally:
        _release_adapter(invocation)
        if hasattr(dbt, "keep_parse_state"):
            dbt.keep_parse_state(invocation)


def _release_adapter(invocation) -> None:
    """Close the in-process adapter connection that metadata fetching opened. dbt-duckdb keeps its database
    instance at class level (``_ENV``): left open, it holds the warehouse file and a later step of the same run
    (the ML assets through the warehouse resource) fails with "different configuration than existing connections"."""
    adapter = getattr(invocation, "adapter", None)
    if adapter is None:
        return
    adapter.cleanup_connections()
    manager = type(adapter.connections)
    env = getattr(manager, "_ENV", None)
    if env is not None:
        manager._ENV = None
        env.close()


def partition_window(context: dg.AssetExecutionContext) -> dg.TimeWindow | None:
    """The time window of a partitioned run — one partition (a sensor, the automation, the Launchpad) or a range
    (a backfill, ``customer360 update``: ``BackfillPolicy.single_run()``) — or None for a run without a partition
    (the checks of ``fct_transactions`` alone)."""
    if context.has_partition_key or context.has_partition_key_range:
        return context.partition_time_window
    return None


def _translator(name: str) -> Any:
    return getattr(import_module("customer360.transform.translator"), name)()


def _with_dbt_objects(specs: DbtAssetSpecs, project: DbtProjectPaths, translator: str) -> list[dg.AssetSpec]:
    """The specs with the manifest, translator and project that dagster-dbt reads back in the step, as stand-ins
    built on first use (one of each per multi-asset, as ``@dbt_assets`` shares its objects)."""
    objects = {
        spec_cache.MANIFEST_METADATA_KEY: ManifestOnDemand(project.manifest_path),
        spec_cache.TRANSLATOR_METADATA_KEY: OnDemand(partial(_translator, translator), translator),
        spec_cache.PROJECT_METADATA_KEY: OnDemand(project.dbt_project, f"DbtProject {project.project_dir}"),
    }
    return [spec.merge_attributes(metadata=objects) for spec in specs.specs]


def _dbt_multi_asset(specs: DbtAssetSpecs, project: DbtProjectPaths, **kwargs: Any):
    """``dg.multi_asset`` with what ``@dbt_assets`` passes it: the specs and checks, subsettable, the dbt selection
    in the op tags; ``kwargs``: partitions, backfill policy."""
    [selection] = [s for s in spec_cache.SELECTIONS if s.name == specs.name]
    return dg.multi_asset(
        name=specs.name,
        specs=_with_dbt_objects(specs, project, selection.translator),
        check_specs=specs.check_specs,
        can_subset=True,
        op_tags=specs.op_tags,
        pool="warehouse",  # one writer per DuckDB file (see customer360/automation/__init__.py)
        allow_arbitrary_check_specs=True,
        **kwargs,
    )


@lru_cache(maxsize=4)
def build_dbt_assets(project: Any, settings: Settings) -> list[dg.AssetsDefinition]:
    """The two dbt multi-assets of ``project`` (a :class:`DbtProjectPaths` or a dagster-dbt ``DbtProject``)."""
    paths = DbtProjectPaths.of(project)
    cached = spec_cache.load(paths)

    @_dbt_multi_asset(cached[UNPARTITIONED_ASSETS], paths)
    def c360_dbt_assets(context: dg.AssetExecutionContext, dbt: C360DbtResource, config: DbtRunConfig):
        invocation = run_build(dbt, dbt_vars(settings, full_tests=config.full_tests), context)
        yield from _stream(invocation, dbt)

    @_dbt_multi_asset(
        cached[PARTITIONED_ASSETS],
        paths,
        partitions_def=daily_partitions(settings.partitions_start),
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def c360_fct_transactions_assets(context: dg.AssetExecutionContext, dbt: C360DbtResource, config: DbtRunConfig):
        window = partition_window(context)
        variables = dbt_vars(settings, window, full_tests=config.full_tests)
        invocation = run_build(dbt, variables, context)
        yield from _stream(invocation, dbt)

    return [c360_dbt_assets, c360_fct_transactions_assets]
