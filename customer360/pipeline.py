"""The main job, step by step, through the code location's own jobs: ingest every landed day, build, score.

``customer360 demo`` (and the benchmarks) call :func:`run_pipeline`. Every step is a run of one of the code
location's jobs (``customer360.automation.jobs``), created the way the UI's Launchpad creates it — the code
location ``customer360`` of ``workspace.yaml``, its job snapshot, execution plan and origin — and executed in this
process on the real instance. So the runs show in the UI afterwards exactly as if a user had launched them there:
on the Jobs page and the activity timeline of their job, with "Re-execute" available.

1. ``daily_partitions_job``, the raw daily sources over the whole date range — one run (the raw assets have a
   single-run backfill policy: every day in the range loads in that run, each day in its own transaction);
2. ``weekly_partitions_job``, ``raw/products`` over its weekly range — one run;
3. ``downstream_job``, everything unpartitioned downstream of raw (dbt staging → intermediate → features, the ML
   scores, the marts that join them, the snapshot) — one run, in dependency order;
4. ``daily_partitions_job``, the daily-partitioned ``marts/fct_transactions`` over the date range — one run, one
   dbt invocation (with the daily compliance export);
5. ``downstream_job``, the unpartitioned consumers that read a daily-partitioned mart (the executive scorecard) — one
   run, once those marts exist.
"""

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
import yaml
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.execution.api import execute_run
from dagster._core.origin import JobPythonOrigin
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._utils.hosted_user_process import recon_job_from_origin

from customer360.automation.jobs import DAILY_JOB, DOWNSTREAM_JOB, WEEKLY_JOB, partition_cadence
from customer360.catalog import RAW, Cadence
from customer360.settings import REPO_ROOT

WORKSPACE_FILE = REPO_ROOT / "workspace.yaml"
JOB_OF_STEP = {
    "raw_daily": DAILY_JOB,
    "raw_weekly": WEEKLY_JOB,
    "downstream": DOWNSTREAM_JOB,
    "daily_downstream": DAILY_JOB,
    "consumers": DOWNSTREAM_JOB,
}
UNPARTITIONED_STEPS = ("downstream", "consumers")
RAW_STEP_OF = {Cadence.DAILY: "raw_daily", Cadence.WEEKLY: "raw_weekly"}  # the raw assets' partition cadence


def code_location_target() -> tuple[str, str, str]:
    """(location name, module, attribute) of the one code location ``workspace.yaml`` declares."""
    entries = yaml.safe_load(WORKSPACE_FILE.read_text())["load_from"]
    module = entries[0]["python_module"]
    return module["location_name"], module["module_name"], module["attribute"]


@dataclass
class StepResult:
    name: str
    seconds: float
    assets: int
    run_id: str
    job_name: str = ""


@dataclass
class PipelineResult:
    steps: list[StepResult] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


def plan_assets(defs: dg.Definitions) -> dict[str, list[dg.AssetKey]]:
    """Materializable assets by step: raw daily, raw weekly, unpartitioned downstream, daily downstream."""
    graph = defs.resolve_asset_graph()
    plan: dict[str, list[dg.AssetKey]] = {
        "raw_daily": [],
        "raw_weekly": [],
        "downstream": [],
        "daily_downstream": [],
        "consumers": [],
    }
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        cadence = partition_cadence(node.partitions_def)
        if key.path[0] == RAW and cadence is not None:
            plan[RAW_STEP_OF[cadence]].append(key)
        elif node.partitions_def is None and _reads_partitioned_marts(graph, key):
            plan["consumers"].append(key)  # e.g. the scorecard (flagged amount): after the daily-partitioned marts
        elif node.partitions_def is None:
            plan["downstream"].append(key)
        elif cadence == Cadence.DAILY:
            plan["daily_downstream"].append(key)
        else:
            raise ValueError(f"no pipeline step for {key.to_user_string()} ({node.partitions_def})")
    return plan


def _reads_partitioned_marts(graph, key: dg.AssetKey) -> bool:
    """An unpartitioned asset downstream of a partitioned non-raw asset (``fct_transactions``)."""
    return any(
        a.path[0] != RAW and graph.get(a).partitions_def is not None
        for a in graph.get_ancestor_asset_keys(key)
        if graph.has(a)
    )


def _partition_range(defs: dg.Definitions, key: dg.AssetKey, first: date, last: date) -> tuple[str, str]:
    pdef = defs.resolve_asset_graph().get(key).partitions_def
    keys = [k for k in pdef.get_partition_keys() if first.isoformat() <= k <= last.isoformat()]
    if isinstance(pdef, dg.WeeklyPartitionsDefinition):
        # the week holding `first` starts on or before it
        earlier = [k for k in pdef.get_partition_keys() if k <= first.isoformat()]
        keys = ([earlier[-1]] if earlier else []) + [k for k in keys if k not in earlier[-1:]]
    if not keys:
        raise ValueError(
            f"{key.to_user_string()} has no partitions between {first} and {last} (check C360_PARTITIONS_START)"
        )
    return keys[0], keys[-1]


@contextmanager
def _code_location(instance: dg.DagsterInstance) -> Iterator[tuple[object, object]]:
    """The code location of ``workspace.yaml`` (same name, module and attribute as the UI's), loaded in this
    process: the module is imported already, so this costs no second load."""
    name, module, attribute = code_location_target()
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable, module_name=module, attribute=attribute, working_directory=str(REPO_ROOT)
        ),
        location_name=name,
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget([origin])) as workspace:
        request = workspace.create_request_context()
        location = request.get_code_location(name)
        (repository,) = location.get_repositories().values()
        yield location, repository


def own_checks(defs: dg.Definitions, keys: list[dg.AssetKey]) -> set[dg.AssetCheckKey]:
    """The checks the assets ``keys`` evaluate when they are built (dbt tests, contracts, quarantine): the checks of
    the assets definitions that materialize them. Checks with a runner of their own (the hourly ``dbt source
    freshness``, the freshness mirror) are left to it: a load run does not also start a dbt process for them."""
    wanted = set(keys)
    checks: set[dg.AssetCheckKey] = set()
    for assets_def in defs.resolve_asset_graph().assets_defs:
        if wanted & set(assets_def.keys):
            checks |= {c for c in assets_def.check_keys if c.asset_key in wanted}
    return checks


def launch_job_run(
    instance: dg.DagsterInstance,
    location,
    repository,
    job_name: str,
    keys: list[dg.AssetKey],
    tags: dict[str, str],
    run_config: dict,
    checks: set[dg.AssetCheckKey] | None = None,
) -> dg.DagsterRun:
    """Create a run of ``job_name`` limited to ``keys`` (and ``checks``; None: every check of those assets) as the
    UI's Launchpad does (job snapshot, plan, origins), execute it in this process, and return the finished run
    (raises if it failed)."""
    selector = JobSubsetSelector(
        location_name=location.name,
        repository_name=repository.name,
        job_name=job_name,
        op_selection=None,
        asset_selection=keys,
        asset_check_selection=checks,
    )
    remote_job = location.get_job(selector)
    plan = location.get_execution_plan(
        remote_job, run_config, step_keys_to_execute=None, known_state=None, instance=instance
    )
    run = instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config=run_config,
        status=DagsterRunStatus.NOT_STARTED,
        tags={**remote_job.tags, **tags},
        root_run_id=None,
        parent_run_id=None,
        step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        job_snapshot=remote_job.job_snapshot,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        asset_selection=frozenset(keys),
        asset_check_selection=frozenset(checks) if checks is not None else None,
        resolved_op_selection=None,
        op_selection=None,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_graph=repository.asset_graph,
    )
    origin = run.job_code_origin
    assert isinstance(origin, JobPythonOrigin)
    execute_run(recon_job_from_origin(origin), run, instance, raise_on_error=True)
    finished = instance.get_run_by_id(run.run_id)
    if finished is None or finished.status != DagsterRunStatus.SUCCESS:
        raise RuntimeError(f"run {run.run_id} of {job_name} ended {finished.status if finished else 'missing'}")
    return finished


@dataclass(frozen=True)
class Step:
    """One run of the plan: ``job_name`` limited to ``keys``, over a partition range or unpartitioned."""

    name: str
    job_name: str
    keys: list[dg.AssetKey]
    partition_range: tuple[str, str] | None = None


STEP_NAMES = {
    "raw_daily": "ingest (daily sources)",
    "raw_weekly": "ingest (products, weekly)",
    "downstream": "build + score (dbt and ML)",
    "daily_downstream": "build (daily-partitioned marts)",
    "consumers": "publish (consumers of the daily-partitioned marts)",
}


def run_steps(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    steps: list[Step],
    log: Callable[[str], None] = print,
    log_level: str = "WARNING",
) -> PipelineResult:
    """Run ``steps`` in order, each as a run of the code location's job (see :func:`launch_job_run`)."""
    result = PipelineResult()
    if not steps:
        return result
    with _code_location(instance) as (location, repository):
        for step in steps:
            tags = _range_tags(*step.partition_range) if step.partition_range else {}
            span = f" [{step.partition_range[0]} … {step.partition_range[1]}]" if step.partition_range else ""
            log(f"→ {step.name}: {step.job_name}, {len(step.keys)} assets{span}")
            t0 = time.perf_counter()
            run = launch_job_run(
                instance,
                location,
                repository,
                step.job_name,
                step.keys,
                tags,
                _quiet_console(log_level),
                own_checks(defs, step.keys),
            )
            seconds = time.perf_counter() - t0
            result.steps.append(StepResult(step.name, seconds, len(step.keys), run.run_id, step.job_name))
            log(f"  done in {seconds:.1f} s (run {run.run_id[:8]})")
    return result


def run_pipeline(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    first_day: date,
    last_day: date,
    log: Callable[[str], None] = print,
    log_level: str = "WARNING",
) -> PipelineResult:
    """Every step of the plan over ``[first_day, last_day]``: the full build of the demo."""
    steps = [
        Step(
            STEP_NAMES[step],
            JOB_OF_STEP[step],
            keys,
            None if step in UNPARTITIONED_STEPS else _partition_range(defs, keys[0], first_day, last_day),
        )
        for step, keys in plan_assets(defs).items()
        if keys
    ]
    return run_steps(defs, instance, steps, log, log_level)


def _quiet_console(level: str) -> dict:
    """Step progress is printed by :func:`run_pipeline`; the run's event log stays complete in the instance."""
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def _range_tags(start: str, end: str) -> dict[str, str]:
    return {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}
