"""The main job, step by step, through Dagster: ingest every landed day, build, score.

``customer360 demo`` (and the benchmarks) call :func:`run_pipeline`. Every step is an ordinary Dagster run
against the code location's own ``defs`` and a real instance, so what it does shows in the UI afterwards
exactly as if a user had launched it there:

1. ``raw`` daily sources over the whole date range — one run (the raw assets have a single-run backfill
   policy: every day in the range loads in that run, each day in its own transaction);
2. ``raw/products`` over its weekly range — one run;
3. everything unpartitioned downstream of raw (dbt staging → intermediate → features, the ML scores, the
   marts that join them, the snapshot) — one run, in dependency order;
4. the daily-partitioned ``marts/fct_transactions`` over the date range — one run, one dbt invocation.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from customer360.automation.jobs import partition_cadence


@dataclass
class StepResult:
    name: str
    seconds: float
    assets: int
    run_id: str


@dataclass
class PipelineResult:
    steps: list[StepResult] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


def _plan(defs: dg.Definitions) -> dict[str, list[dg.AssetKey]]:
    """Materializable assets by step: raw daily, raw weekly, unpartitioned downstream, daily downstream."""
    graph = defs.resolve_asset_graph()
    plan: dict[str, list[dg.AssetKey]] = {"raw_daily": [], "raw_weekly": [], "downstream": [], "daily_downstream": []}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        cadence = partition_cadence(node.partitions_def)
        is_raw = key.path[0] == "raw"
        if is_raw and cadence == "daily":
            plan["raw_daily"].append(key)
        elif is_raw and cadence == "weekly":
            plan["raw_weekly"].append(key)
        elif node.partitions_def is None:
            plan["downstream"].append(key)
        elif cadence == "daily":
            plan["daily_downstream"].append(key)
        else:
            raise ValueError(f"no pipeline step for {key.to_user_string()} ({node.partitions_def})")
    return plan


def _partition_range(defs: dg.Definitions, key: dg.AssetKey, first: date, last: date) -> tuple[str, str]:
    pdef = defs.resolve_asset_graph().get(key).partitions_def
    keys = [k for k in pdef.get_partition_keys() if first.isoformat() <= k <= last.isoformat()]
    if isinstance(pdef, dg.WeeklyPartitionsDefinition):
        # the week holding `first` starts on or before it
        earlier = [k for k in pdef.get_partition_keys() if k <= first.isoformat()]
        keys = ([earlier[-1]] if earlier else []) + [k for k in keys if k not in earlier[-1:]]
    if not keys:
        raise ValueError(f"{key.to_user_string()} has no partitions between {first} and {last} "
                         f"(check C360_PARTITIONS_START)")
    return keys[0], keys[-1]


def run_pipeline(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    first_day: date,
    last_day: date,
    log: Callable[[str], None] = print,
    log_level: str = "WARNING",
) -> PipelineResult:
    plan = _plan(defs)
    result = PipelineResult()
    steps: list[tuple[str, list[dg.AssetKey], dict[str, str]]] = []
    if plan["raw_daily"]:
        start, end = _partition_range(defs, plan["raw_daily"][0], first_day, last_day)
        steps.append(("ingest (daily sources)", plan["raw_daily"], _range_tags(start, end)))
    if plan["raw_weekly"]:
        start, end = _partition_range(defs, plan["raw_weekly"][0], first_day, last_day)
        steps.append(("ingest (products, weekly)", plan["raw_weekly"], _range_tags(start, end)))
    if plan["downstream"]:
        steps.append(("build + score (dbt and ML)", plan["downstream"], {}))
    if plan["daily_downstream"]:
        start, end = _partition_range(defs, plan["daily_downstream"][0], first_day, last_day)
        steps.append(("build (daily-partitioned marts)", plan["daily_downstream"], _range_tags(start, end)))

    for name, keys, tags in steps:
        job_name = "__pipeline_" + "".join(c if c.isalnum() else "_" for c in name)
        job = dg.define_asset_job(job_name, selection=dg.AssetSelection.assets(*keys))
        resolved = dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def(job_name)
        span = f" [{tags[ASSET_PARTITION_RANGE_START_TAG]} … {tags[ASSET_PARTITION_RANGE_END_TAG]}]" if tags else ""
        log(f"→ {name}: {len(keys)} assets{span}")
        t0 = time.perf_counter()
        run = resolved.execute_in_process(
            instance=instance, tags=tags, raise_on_error=True, run_config=_quiet_console(log_level)
        )
        seconds = time.perf_counter() - t0
        result.steps.append(StepResult(name, seconds, len(keys), run.run_id))
        log(f"  done in {seconds:.1f} s (run {run.run_id[:8]})")
    return result


def _quiet_console(level: str) -> dict:
    """Step progress is printed by :func:`run_pipeline`; the run's event log stays complete in the instance."""
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def _range_tags(start: str, end: str) -> dict[str, str]:
    return {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}
