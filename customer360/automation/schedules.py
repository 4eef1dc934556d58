"""Schedules: the work that is due at a time, whatever the data did (UI → Automation → Schedules). Declarative
automation (``conditions``) stays the way assets follow their data. All crons are UTC.

| schedule | when | runs | default |
|---|---|---|---|
| ``weekly_model_refit`` | Sundays 03:00 | ``ml_refit_job``: the four ML assets with ``refit: true`` | RUNNING |
| ``weekly_dbt_full_tests`` | Sundays 04:00 | ``dbt_full_tests_job``: every dbt test (no model) with ``full_tests: true`` | RUNNING |
| ``hourly_dbt_source_freshness`` | every hour at :30 | ``dbt_source_freshness_job``: ``dbt source freshness`` → checks | RUNNING |
| ``daily_consumer_delivery`` | daily 06:00 | ``consumer_delivery_job``: yesterday's compliance export + the scorecard | RUNNING |
| ``daily_partitions_job_schedule`` | daily 02:30 | ``daily_partitions_job``: yesterday's and today's partitions | STOPPED |
| ``weekly_partitions_job_schedule`` | Mondays 02:30 | ``weekly_partitions_job``: this week's partition | STOPPED |

- The refit is the explicit weekly retrain (whatever the models' own reuse policy decides on other runs); the full
  test suite reads the whole history once a week, where the daily builds test only the newest arrivals (README
  "Incremental design"). Both run after the Sunday 02:00 rebuild, one after the other (one warehouse writer).
- Source freshness at :30, between the hourly rebuild ticks (:00), so it does not queue behind them.
- The delivery runs at a fixed hour after the 02:00 rebuild: it skips, naming them, while an asset the consumers
  read has not been materialized since today's rebuild tick (``sla.DAILY_REBUILD_CRON``). The scorecard has no
  automation condition (the schedule is its one trigger, ``SCHEDULED_ONLY``); the compliance export keeps its
  automation for *today's* partition, the schedule exports the closed day.
- The partition-job schedules are for deployments that run with automation off. They are STOPPED by default and
  skip, naming them, while any sensor that requests their assets is running (the automation sensor
  ``c360_automation``, the raw arrival sensors), so an asset is never requested by both.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster._core.definitions.run_request import InstigatorType  # no public API reads a sensor's state
from dagster._core.scheduler.instigation import InstigatorStatus

from customer360.automation.jobs import DAILY_JOB, TRANSIENT_RETRY_POLICY, WEEKLY_JOB
from customer360.automation.source_freshness import check_keys as freshness_check_keys
from customer360.consumers.compliance_export import EXPOSURE_NAME as COMPLIANCE_EXPORT
from customer360.consumers.scorecard import EXPOSURE_NAME as SCORECARD
from customer360.ml.assets import CHURN_KEY, LTV_KEY, RISK_KEY, SEGMENTS_KEY
from customer360.run_priorities import PRIORITY_TAG, REBUILD_RUN_PRIORITY
from customer360.sla import DAILY_REBUILD_CRON, SLAS

ML_ASSETS = (SEGMENTS_KEY, RISK_KEY, CHURN_KEY, LTV_KEY)
COMPLIANCE_EXPORT_KEY = dg.AssetKey(["consumers", COMPLIANCE_EXPORT])
SCORECARD_KEY = dg.AssetKey(["consumers", SCORECARD])
DELIVERED_ASSETS = (COMPLIANCE_EXPORT_KEY, SCORECARD_KEY)
# Assets whose only trigger is a schedule (no automation condition): the unpartitioned delivered consumers.
SCHEDULED_ONLY = frozenset({SCORECARD_KEY})

REFIT_JOB, REFIT_SCHEDULE, REFIT_CRON = "ml_refit_job", "weekly_model_refit", "0 3 * * 0"
FULL_TESTS_JOB, FULL_TESTS_SCHEDULE, FULL_TESTS_CRON = "dbt_full_tests_job", "weekly_dbt_full_tests", "0 4 * * 0"
FRESHNESS_JOB, FRESHNESS_SCHEDULE, FRESHNESS_CRON = (
    "dbt_source_freshness_job",
    "hourly_dbt_source_freshness",
    "30 * * * *",
)
DELIVERY_JOB, DELIVERY_SCHEDULE, DELIVERY_CRON = "consumer_delivery_job", "daily_consumer_delivery", "0 6 * * *"
PARTITION_SCHEDULES = {  # job → (schedule, cron, how many of the newest partitions a tick requests)
    DAILY_JOB: ("daily_partitions_job_schedule", "30 2 * * *", 2),  # yesterday (closed) and today (daily files)
    WEEKLY_JOB: ("weekly_partitions_job_schedule", "30 2 * * 1", 1),  # this week (products land on Monday)
}
TZ = "UTC"


def daily_tick_before(cron: str, at: datetime) -> datetime:
    """The latest tick at or before ``at`` of a daily cron ``"M H * * *"`` (UTC)."""
    fields = cron.split()
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"] or not (fields[0].isdigit() and fields[1].isdigit()):
        raise ValueError(f"not a daily cron 'M H * * *': {cron!r}")
    at = at.astimezone(UTC)
    tick = at.replace(hour=int(fields[1]), minute=int(fields[0]), second=0, microsecond=0)
    return tick if tick <= at else tick - timedelta(days=1)


def sensor_is_running(instance: dg.DagsterInstance, name: str, default: dg.DefaultSensorStatus) -> bool:
    """The sensor's state as the UI shows it: a stored toggle (RUNNING / STOPPED) wins over the default in code."""
    stored = {s.status for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR) if s.name == name}
    if InstigatorStatus.RUNNING in stored:
        return True
    if InstigatorStatus.STOPPED in stored:
        return False
    return default == dg.DefaultSensorStatus.RUNNING


def _tick_time(context: dg.ScheduleEvaluationContext) -> datetime:
    return (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)


def _tags(schedule: str) -> dict[str, str]:
    """Scheduled runs rank below a user's runs and the arrival loads (``customer360.run_priorities``)."""
    return {"customer360/trigger": schedule, PRIORITY_TAG: str(REBUILD_RUN_PRIORITY)}


def _run_key(schedule: str, at: datetime, suffix: str = "") -> str:
    return f"{schedule}:{at.isoformat()}{':' + suffix if suffix else ''}"


def _ops_config(op_names: Iterable[str], config: Mapping[str, object]) -> dict:
    return {"ops": {name: {"config": dict(config)} for name in sorted(set(op_names))}}


@dataclass(frozen=True)
class Built:
    jobs: list
    schedules: list[dg.ScheduleDefinition]


def _executable(graph, keys: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """The ``keys`` this code location can materialize (not external specs, not missing)."""
    present = graph.get_all_asset_keys()
    return [
        k for k in keys if k in present and graph.get(k).is_materializable and graph.get(k).assets_def.is_executable
    ]


def _job_every_tick(
    job_name: str,
    selection: dg.AssetSelection,
    schedule: str,
    cron: str,
    *,
    job_description: str,
    description: str,
    run_config: Mapping[str, object] | None = None,
    op_retry_policy: dg.RetryPolicy | None = None,
) -> Built:
    """The job of ``selection`` and its schedule (running by default), whose every tick requests one run of it,
    keyed on the tick."""
    job = dg.define_asset_job(
        job_name, selection=selection, op_retry_policy=op_retry_policy, description=job_description
    )

    @dg.schedule(
        name=schedule,
        cron_schedule=cron,
        job=job,
        execution_timezone=TZ,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _every_tick(context: dg.ScheduleEvaluationContext):
        return dg.RunRequest(
            run_key=_run_key(schedule, _tick_time(context)), run_config=run_config, tags=_tags(schedule)
        )

    return Built([job], [_every_tick])


def _refit(graph) -> Built:
    keys = _executable(graph, ML_ASSETS)
    if not keys:
        return Built([], [])
    return _job_every_tick(
        REFIT_JOB,
        dg.AssetSelection.assets(*keys),
        REFIT_SCHEDULE,
        REFIT_CRON,
        op_retry_policy=TRANSIENT_RETRY_POLICY,
        run_config=_ops_config((graph.get(k).assets_def.node_def.name for k in keys), {"refit": True}),
        job_description="The ML assets, refitted (run config refit: true).",
        description="Weekly model refit (Sundays 03:00 UTC): segments, fraud risk, churn and LTV refitted on "
        "the current features, whatever the reuse policy would decide (refit: true).",
    )


def _is_dbt(assets_def: dg.AssetsDefinition) -> bool:
    return any("dbt" in spec.kinds for spec in assets_def.specs)


def _full_tests(graph) -> Built:
    dbt_defs = {ad for ad in graph.assets_defs if ad.is_executable and ad.check_keys and _is_dbt(ad)}
    checks = sorted({k for ad in dbt_defs for k in ad.check_keys}, key=lambda k: k.to_user_string())
    if not checks:
        return Built([], [])
    return _job_every_tick(
        FULL_TESTS_JOB,
        dg.AssetSelection.checks(*checks),
        FULL_TESTS_SCHEDULE,
        FULL_TESTS_CRON,
        run_config=_ops_config((ad.node_def.name for ad in dbt_defs), {"full_tests": True}),
        job_description="Every dbt test over the whole history (dbt var full_tests); builds no model.",
        description="Weekly full dbt test suite (Sundays 04:00 UTC): every data test over every row, where "
        "the daily builds test only the newest arrivals (full_tests: true).",
    )


def _source_freshness(graph) -> Built:
    keys = [k for k in freshness_check_keys(SLAS) if k in graph.asset_check_keys]
    if not keys:
        return Built([], [])
    return _job_every_tick(
        FRESHNESS_JOB,
        dg.AssetSelection.checks(*keys),
        FRESHNESS_SCHEDULE,
        FRESHNESS_CRON,
        job_description="`dbt source freshness` → the dbt_source_freshness check of each raw asset.",
        description="Hourly (HH:30 UTC) dbt source freshness of the raw sources, thresholds from "
        "customer360/sla.py; results are the dbt_source_freshness checks on raw/*.",
    )


def delivery_inputs(graph) -> list[dg.AssetKey]:
    """What the delivered consumers read that Dagster builds (their materializable parents)."""
    parents = {p for k in DELIVERED_ASSETS if k in graph.get_all_asset_keys() for p in graph.get(k).parent_keys}
    return sorted((p for p in parents if graph.get(p).is_materializable), key=lambda k: k.to_user_string())


def not_rebuilt_since(instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey], since: datetime) -> list[str]:
    """The keys (with their last materialization) without a materialization at or after ``since``."""
    late = []
    for key in keys:
        event = instance.get_latest_materialization_event(key)
        if event is None:
            late.append(f"{key.to_user_string()} (never materialized)")
        elif event.timestamp < since.timestamp():
            late.append(
                f"{key.to_user_string()} (last {datetime.fromtimestamp(event.timestamp, UTC):%Y-%m-%d %H:%M} UTC)"
            )
    return late


def _delivery(graph) -> Built:
    keys = _executable(graph, DELIVERED_ASSETS)
    if not keys:
        return Built([], [])
    inputs = delivery_inputs(graph)
    partitions_def = graph.get(COMPLIANCE_EXPORT_KEY).partitions_def if COMPLIANCE_EXPORT_KEY in keys else None
    # the job's partitions are inferred from the selected export (define_asset_job's partitions_def is deprecated)
    job = dg.define_asset_job(
        DELIVERY_JOB,
        selection=dg.AssetSelection.assets(*keys),
        op_retry_policy=TRANSIENT_RETRY_POLICY,
        description="The consumers delivered daily: the compliance export of the closed day "
        "and the executive KPI scorecard.",
    )

    @dg.schedule(
        name=DELIVERY_SCHEDULE,
        cron_schedule=DELIVERY_CRON,
        job=job,
        execution_timezone=TZ,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily delivery at 06:00 UTC, after the 02:00 UTC rebuild: yesterday's compliance "
        "export and the executive scorecard. Skips (naming them) while an input of theirs has "
        "not been rebuilt since today's 02:00 tick.",
    )
    def daily_consumer_delivery(context: dg.ScheduleEvaluationContext):
        at = _tick_time(context)
        rebuild = daily_tick_before(DAILY_REBUILD_CRON, at)
        late = not_rebuilt_since(context.instance, inputs, rebuild)
        if late:
            return dg.SkipReason(
                f"the {rebuild:%Y-%m-%d %H:%M} UTC rebuild has not finished: not materialized since then: "
                + ", ".join(late)
            )
        day = (at - timedelta(days=1)).strftime("%Y-%m-%d")
        if partitions_def is not None and day not in partitions_def.get_partition_keys(current_time=at):
            return dg.SkipReason(f"no partition {day} of {COMPLIANCE_EXPORT_KEY.to_user_string()} (before its start)")
        return dg.RunRequest(
            run_key=_run_key(DELIVERY_SCHEDULE, at),
            partition_key=day if partitions_def else None,
            tags=_tags(DELIVERY_SCHEDULE),
        )

    return Built([job], [daily_consumer_delivery])


def sensor_targets(sensor: dg.SensorDefinition, graph) -> set[dg.AssetKey]:
    """The assets a sensor can request: its asset selection, or the selection of the asset job it targets
    (``target=[key]`` makes an anonymous asset job, as the arrival sensors do)."""
    keys: set[dg.AssetKey] = set()
    if sensor.asset_selection is not None:
        keys |= sensor.asset_selection.resolve(graph)
    for target in sensor.targets:
        selection = getattr(target.resolvable_to_job, "selection", None)  # an (unresolved) asset job
        if isinstance(selection, dg.AssetSelection):
            keys |= selection.resolve(graph)
    return keys


def requesting_sensors(defs: dg.Definitions, keys: Iterable[dg.AssetKey]) -> list[dg.SensorDefinition]:
    """The sensors of ``defs`` that can request any of ``keys`` (the automation sensor, the arrival sensors)."""
    graph = defs.resolve_asset_graph()
    wanted = set(keys)
    return sorted((s for s in defs.sensors or [] if sensor_targets(s, graph) & wanted), key=lambda s: s.name)


def _partition_schedule(
    job, schedule_name: str, cron: str, newest: int, keys, partitions_def, sensors: Sequence[dg.SensorDefinition]
) -> dg.ScheduleDefinition:
    cadence = "daily" if newest == 2 else "weekly"
    sensor_names = ", ".join(s.name for s in sensors) or "none"

    @dg.schedule(
        name=schedule_name,
        cron_schedule=cron,
        job=job,
        execution_timezone=TZ,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"For deployments with automation off ({cadence}, {cron} UTC): runs {job.name} for the "
        f"{'previous and current' if newest == 2 else 'current'} partition. Off by default; skips "
        f"while a sensor that requests these assets is running ({sensor_names}).",
    )
    def _partition_job_schedule(context: dg.ScheduleEvaluationContext):
        running = [s.name for s in sensors if sensor_is_running(context.instance, s.name, s.default_status)]
        if running:
            return dg.SkipReason(
                f"automation is on for these assets: sensor(s) {', '.join(running)} running; this schedule is for "
                "deployments with them off (stop them in UI → Automation → Sensors)."
            )
        at = _tick_time(context)
        partition_keys = list(partitions_def.get_partition_keys(current_time=at))[-newest:]
        if not partition_keys:
            return dg.SkipReason(f"no partition of {job.name} exists yet at {at:%Y-%m-%d %H:%M} UTC")
        return [
            dg.RunRequest(run_key=_run_key(schedule_name, at, key), partition_key=key, tags=_tags(schedule_name))
            for key in partition_keys
        ]

    return _partition_job_schedule


def _partition_job_schedules(defs: dg.Definitions, jobs: Sequence) -> list[dg.ScheduleDefinition]:
    graph = defs.resolve_asset_graph()
    schedules = []
    for job in jobs:
        if job.name not in PARTITION_SCHEDULES:
            continue
        name, cron, newest = PARTITION_SCHEDULES[job.name]
        keys = job.selection.resolve(graph)
        partitions_def = graph.get(sorted(keys)[0]).partitions_def
        schedules.append(
            _partition_schedule(job, name, cron, newest, keys, partitions_def, requesting_sensors(defs, keys))
        )
    return schedules


def build_schedules(defs: dg.Definitions, partition_jobs: Sequence) -> Built:
    """Jobs + schedules for ``defs`` (which already has its sensors); ``partition_jobs``: those of ``jobs.py``."""
    graph = defs.resolve_asset_graph()
    parts: list[Callable] = [_refit, _full_tests, _source_freshness, _delivery]
    built = [part(graph) for part in parts]
    return Built(
        jobs=[j for b in built for j in b.jobs],
        schedules=[*[s for b in built for s in b.schedules], *_partition_job_schedules(defs, partition_jobs)],
    )
