"""When each asset updates: declarative automation derived from lineage, applied in one place.

- ``raw/<source>``: no condition. Raw partitions load when files land (one sensor per source, ingestion).
- Every other materializable asset gets ``rebuild_on(<cadence cron>)``:

      in the latest time window (partitioned assets: today's partition only)
      AND (a cadence tick passed since it was last requested OR it was never built: new asset / new partition)
      AND some upstream asset has new data since it was last requested (or is requested in the same tick)
      AND every upstream asset has data (a partitioned one: some partition; same-partition for identity
          mappings) or is requested in the same tick, none is in progress, and the asset itself is not in progress
      AND no raw load requested by an arrival sensor is queued or running (``NoRawLoadPending``)

  So: at most one build per cadence interval, only when there is something new, and a fresh deployment (or a new
  day's partition) is built as soon as its data arrives instead of waiting for the next tick. Everything
  downstream that becomes ready in the same evaluation joins the same run (staging → marts → ML in one run).
  The last clause lets a burst of arrivals settle first: while the files of several feeds land and their loads
  queue for the one warehouse writer, nothing is requested; the first evaluation after the last load requests
  every asset that is due in ONE run, instead of a chain of small runs as each feed and each layer becomes ready
  (measured in the end-to-end test: one downstream run instead of a dozen).
  Why not plain ``on_cron``: it requires *all* upstreams to update after each tick (a daily asset fed by the
  weekly products feed would wait for Monday) and does nothing on a fresh deployment until the next tick.
- Assets without upstream assets (dbt seeds such as ``fx_rates``, the metricflow time spine) get
  ``build_root_when_missing()``: they change only with a code deploy.
- The cadence follows from the raw sources that feed the asset (computed from the asset graph, so a new model gets
  the right cadence without editing this file; ``asset_cadence`` is the one classifier, and the freshness
  policies of ``customer360.automation.freshness`` use it too). Which source rebuilds what follows from the
  catalogue's cadence of each feed (``catalog.Cadence.rebuilds``), the crons are the ``REBUILD_SLAS`` rows
  (``customer360/sla.py``):
    * only ``events`` / ``transactions`` upstream (near-real-time feeds), or a time-partitioned asset fed by one
      of them (``fct_transactions``: today's partition follows the micro-batches) → hourly, ``HOURLY_CRON``;
    * only ``products`` upstream (weekly full catalogue) → weekly, ``WEEKLY_CRON`` (Monday 02:00 UTC);
    * no raw source upstream (dbt seeds, the time spine) → on deploy (roots are built when missing);
    * anything else (the daily sources, marts, ML) → daily, ``DAILY_CRON`` (02:00 UTC).
- Older partitions of partitioned assets (``fct_transactions``) are filled by backfills (``jobs.py``, README).
- Assets whose one trigger is a schedule get no condition (``schedules.SCHEDULED_ONLY``: the executive scorecard,
  delivered daily at a fixed hour by ``daily_consumer_delivery``).

The automation sensor ``c360_automation`` evaluates these conditions every 30 s; it is RUNNING by default. It runs
on the code server (``use_user_code_server``): ``NoRawLoadPending`` is a condition in Python (one run-storage
query per tick), which the daemon cannot evaluate on its own.
"""

import warnings
from collections.abc import Mapping
from functools import lru_cache

import dagster as dg

from customer360.catalog import RAW, SOURCES
from customer360.ingestion.sensors import ARRIVAL_TRIGGER, TRIGGER_TAG
from customer360.run_priorities import PRIORITY_TAG, REBUILD_RUN_PRIORITY
from customer360.sla import DAILY, HOURLY, ON_DEPLOY, REBUILD_SLAS, WEEKLY, RebuildSla

HOURLY_CRON = REBUILD_SLAS[HOURLY].rebuild_cron
WEEKLY_CRON = REBUILD_SLAS[WEEKLY].rebuild_cron
DAILY_CRON = REBUILD_SLAS[DAILY].rebuild_cron
AUTOMATION_SENSOR_NAME = "c360_automation"


def _raw_sources(graph, key: dg.AssetKey) -> frozenset[str]:
    upstream = graph.get_ancestor_asset_keys(key)
    return frozenset(k.path[1] for k in upstream if len(k.path) == 2 and k.path[0] == RAW)


def cadence_of(sources: frozenset[str], partitioned: bool = False) -> str:
    """The rebuild cadence (a key of ``sla.REBUILD_SLAS``) of an asset fed by these raw sources."""
    if not sources:
        return ON_DEPLOY
    rebuilds = {SOURCES[s].cadence.rebuilds for s in sources}  # the catalogue's cadence of each feed
    if rebuilds == {HOURLY}:
        return HOURLY
    if partitioned and HOURLY in rebuilds:  # today's partition follows the micro-batches
        return HOURLY
    if rebuilds == {WEEKLY}:
        return WEEKLY
    return DAILY


def asset_cadence(graph, key: dg.AssetKey) -> RebuildSla:
    """THE classifier: the rebuild cadence of a non-raw asset, from its lineage (raw sources upstream)."""
    node = graph.get(key)
    return REBUILD_SLAS[cadence_of(_raw_sources(graph, key), partitioned=node.partitions_def is not None)]


def automation_plan(defs: dg.Definitions) -> dict[dg.AssetKey, RebuildSla]:
    """Every materializable non-raw asset → its cadence row (the table the README documents)."""
    graph = defs.resolve_asset_graph()
    return {
        key: asset_cadence(graph, key)
        for key in graph.get_all_asset_keys()
        if key.path[0] != RAW and graph.get(key).is_materializable
    }


PENDING_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@lru_cache(maxsize=1)
def _pending_loads(instance: dg.DagsterInstance, evaluation_time) -> int:
    """Arrival loads queued or running, counted once per sensor tick (every asset's condition asks)."""
    return instance.get_runs_count(dg.RunsFilter(statuses=PENDING_RUN_STATUSES, tags={TRIGGER_TAG: ARRIVAL_TRIGGER}))


class NoRawLoadPending(dg.AutomationCondition):
    """True for every candidate while no run requested by an arrival sensor (tag ``customer360/trigger=arrival``)
    is queued, starting or running; false for all of them otherwise."""

    @property
    def name(self) -> str:
        return "no_raw_load_pending"

    @property
    def description(self) -> str:
        return "no raw load (arrival sensor run) is queued or running"

    def evaluate(self, context) -> dg.AutomationResult:
        pending = _pending_loads(context.asset_graph_view.instance, context.evaluation_time)
        true_subset = context.candidate_subset if pending == 0 else context.get_empty_subset()
        return dg.AutomationResult(context=context, true_subset=true_subset)


def rebuild_on(cron: str) -> dg.AutomationCondition:
    """New upstream data → one build per cadence interval (see the module docstring).

    "Every upstream has data" is ``all_deps_match(~missing | will_be_requested)``: for a partitioned upstream of an
    unpartitioned asset it holds when some partition is materialized (days before the data started stay missing
    forever, so ``any_deps_missing`` would block such an asset for good); for identity-mapped partitions it is the
    same partition upstream.
    """
    ac = dg.AutomationCondition
    due = (ac.cron_tick_passed(cron).since_last_handled() | ac.missing()).with_label(
        f"cadence tick ({cron}) since last requested, or never built"
    )
    new_data = ac.any_deps_updated().since_last_handled().with_label("new upstream data since last requested")
    deps_have_data = ac.all_deps_match(~ac.missing() | ac.will_be_requested()).with_label(
        "every upstream has data (or is requested now)"
    )
    return (
        ac.in_latest_time_window()
        & due
        & new_data
        & deps_have_data
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
        & NoRawLoadPending()
    ).with_label(f"rebuild_on({cron})")


def build_root_when_missing() -> dg.AutomationCondition:
    """Assets without upstream assets (dbt seeds such as ``fx_rates``, the time spine): built when missing.

    They change only with a code deploy (rebuild them then, or with ``downstream_job``). A failed build is not
    retried on every evaluation.
    """
    ac = dg.AutomationCondition
    return (
        ac.in_latest_time_window() & ac.missing() & ~ac.execution_failed() & ~ac.in_progress() & NoRawLoadPending()
    ).with_label("build_root_when_missing")


def apply_automation_conditions(defs: dg.Definitions, exclude: frozenset[dg.AssetKey] = frozenset()) -> dg.Definitions:
    """Every asset of the plan gets its condition, except ``exclude`` (assets whose one trigger is a schedule)."""
    graph = defs.resolve_asset_graph()
    conditions: Mapping[dg.AssetKey, dg.AutomationCondition] = {
        key: rebuild_on(row.rebuild_cron) if graph.get(key).parent_keys else build_root_when_missing()
        for key, row in automation_plan(defs).items()
        if key not in exclude
    }

    def _apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        condition = conditions.get(spec.key)
        return spec.replace_attributes(automation_condition=condition) if condition is not None else spec

    with warnings.catch_warnings():  # preview API in 1.13; dagster is pinned and the spec snapshot test guards it
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(func=_apply)


# use_user_code_server is a beta parameter in 1.13 (dagster is pinned; test_conditions_and_jobs covers the sensor)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    automation_sensor = dg.AutomationConditionSensorDefinition(
        name=AUTOMATION_SENSOR_NAME,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        use_user_code_server=True,  # NoRawLoadPending is Python: evaluated where the code is
        # rebuilds queue behind a user's runs and the arrival loads (customer360/run_priorities.py)
        run_tags={PRIORITY_TAG: str(REBUILD_RUN_PRIORITY)},
        description="Evaluates the on_cron conditions of every non-raw asset (see customer360/automation/conditions.py).",
    )
