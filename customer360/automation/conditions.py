"""When each asset updates: declarative automation derived from lineage, applied in one place.

- ``raw/<source>``: no condition. Raw partitions load when files land (one sensor per source, ingestion).
- Every other materializable asset gets ``AutomationCondition.on_cron(<cadence>)``: after the cron tick, once all
  its upstream assets have new data since that tick, it is requested once; everything downstream that becomes
  ready in the same evaluation joins the same run (staging → marts → ML in one run, not one run per layer).
  The cadence follows from which raw sources feed the asset (computed from the asset graph, so a new model gets
  the right cadence without editing this file):
    * only ``events`` / ``transactions`` upstream (the near-real-time feeds) → hourly, ``HOURLY_CRON``;
    * only ``products`` upstream (weekly full catalogue) → weekly, ``WEEKLY_CRON`` (Monday 02:00 UTC);
    * anything else (the daily sources, marts, ML) → daily, ``sla.DAILY_REBUILD_CRON`` (02:00 UTC).
  A daily asset ignores its weekly (products-only) dependencies when waiting for "all deps updated", otherwise it
  would wait for Monday every week; it still reads their latest data.
- ``on_cron`` considers only the latest time partition of a partitioned asset (``fct_transactions``): older
  partitions are filled by backfills (see ``jobs.py`` / README).

The automation sensor ``c360_automation`` evaluates these conditions every 30 s; it is RUNNING by default.
"""

import warnings
from collections.abc import Mapping

import dagster as dg

from customer360.sla import DAILY_REBUILD_CRON

HOURLY_CRON = "0 * * * *"
WEEKLY_CRON = "0 2 * * 1"
DAILY_CRON = DAILY_REBUILD_CRON
RAW_GROUP = "raw"
NEAR_REAL_TIME_SOURCES = frozenset({"events", "transactions"})
WEEKLY_SOURCES = frozenset({"products"})
AUTOMATION_SENSOR_NAME = "c360_automation"


def _raw_sources(graph, key: dg.AssetKey) -> frozenset[str]:
    upstream = graph.get_ancestor_asset_keys(key)
    return frozenset(k.path[1] for k in upstream if len(k.path) == 2 and k.path[0] == RAW_GROUP)


def cadence_cron(sources: frozenset[str]) -> str:
    """The rebuild cron of an asset fed by these raw sources."""
    if sources and sources <= NEAR_REAL_TIME_SOURCES:
        return HOURLY_CRON
    if sources and sources <= WEEKLY_SOURCES:
        return WEEKLY_CRON
    return DAILY_CRON


def automation_plan(defs: dg.Definitions) -> dict[dg.AssetKey, str]:
    """Every materializable non-raw asset → its cron (the table the README documents)."""
    graph = defs.resolve_asset_graph()
    plan: dict[dg.AssetKey, str] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if key.path[0] == RAW_GROUP or not node.is_materializable:
            continue
        plan[key] = cadence_cron(_raw_sources(graph, key))
    return plan


def condition_for(cron: str, weekly_keys: frozenset[dg.AssetKey]) -> dg.AutomationCondition:
    condition = dg.AutomationCondition.on_cron(cron)
    if cron == DAILY_CRON and weekly_keys:
        condition = condition.ignore(dg.AssetSelection.assets(*sorted(weekly_keys)))
    return condition


def apply_automation_conditions(defs: dg.Definitions) -> dg.Definitions:
    plan = automation_plan(defs)
    weekly = frozenset(
        {k for k, cron in plan.items() if cron == WEEKLY_CRON}
        | {dg.AssetKey([RAW_GROUP, s]) for s in WEEKLY_SOURCES}
    )
    conditions: Mapping[dg.AssetKey, dg.AutomationCondition] = {
        key: condition_for(cron, weekly) for key, cron in plan.items()
    }

    def _apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        condition = conditions.get(spec.key)
        return spec.replace_attributes(automation_condition=condition) if condition is not None else spec

    with warnings.catch_warnings():  # preview API in 1.13; dagster is pinned and the spec snapshot test guards it
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(func=_apply)


automation_sensor = dg.AutomationConditionSensorDefinition(
    name=AUTOMATION_SENSOR_NAME,
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Evaluates the on_cron conditions of every non-raw asset (see customer360/automation/conditions.py).",
)
