"""``customer360 update``: catch up with what has landed, doing only the work the new data needs.

1. **Pending partitions** — for each source, the partitions whose landed files differ from what the load ledger
   recorded (new days, changed or re-delivered days): the arrival sensors' own comparison
   (:func:`customer360.ingestion.sensors.evaluate_arrivals` without a cursor, every partition checked against the
   ledger), so the command and the daemon agree on what is new.
2. **Load runs** — pending days grouped into as few runs as the partitions allow: consecutive partitions with the same
   pending sources form one range run of ``daily_partitions_job`` (``weekly_partitions_job`` for products).
3. **Downstream** — ``downstream_job`` once, when a raw asset was loaded now or since the downstream assets were last
   built (a previous update that stopped half way), else skipped with the reason.
4. **Daily-partitioned marts** — ``fct_transactions`` over the range of transaction days loaded now.

Every step is a run of the code location's jobs (:mod:`customer360.pipeline`), visible in the UI as the daemon's
would be. :class:`UpdateReport` says what was done: partitions and rows loaded per source, rows per model, what was
skipped and why, seconds.
"""

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.events import DagsterEventType

from customer360.catalog import RAW, SOURCES, Cadence
from customer360.ingestion.assets import raw_asset_key
from customer360.ingestion.sensors import evaluate_arrivals
from customer360.pipeline import JOB_OF_STEP, STEP_NAMES, PipelineResult, Step, plan_assets, run_steps
from customer360.resources.landing import LandingResource

logger = logging.getLogger(__name__)


@dataclass
class UpdateReport:
    pending: dict[str, list[str]] = field(default_factory=dict)  # source -> partition keys loaded by this update
    rows_loaded: dict[str, int] = field(default_factory=dict)  # source -> rows of those partitions
    model_rows: dict[str, int] = field(default_factory=dict)  # downstream asset -> rows after the build
    skipped: list[str] = field(default_factory=list)  # steps not run, with the reason
    runs: PipelineResult = field(default_factory=PipelineResult)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = []
        if self.pending:
            for source, keys in sorted(self.pending.items()):
                span = keys[0] if len(keys) == 1 else f"{keys[0]} … {keys[-1]}"
                out.append(
                    f"loaded raw/{source}: {len(keys)} partition(s) [{span}], {self.rows_loaded.get(source, 0):,} rows"
                )
        else:
            out.append("loaded nothing: every landed partition is in the load ledger with the same content")
        for key, rows in sorted(self.model_rows.items()):
            out.append(f"built {key}: {rows:,} rows")
        out += [f"skipped {reason}" for reason in self.skipped]
        out.append(f"{len(self.runs.steps)} run(s) in {self.seconds:.1f} s")
        return out


def pending_partitions(landing: LandingResource, partitions_start: str, warehouse=None) -> dict[str, list[str]]:
    """source → partition keys whose landed content is not what the ledger says was loaded (sorted).

    With ``warehouse``: a source whose ``raw`` table does not exist (a new warehouse file beside an old ledger) has
    every landed partition pending — the ledger describes another warehouse."""
    pending = {}
    for source in SOURCES:
        requests, cursor = evaluate_arrivals(source, landing, None, partitions_start, log=logger, max_requests=None)
        keys = {r.partition_key for r in requests if r.partition_key}
        if warehouse is not None and not warehouse.table_exists(RAW, source):
            keys |= set(json.loads(cursor)["partitions"])
        if keys:
            pending[source] = sorted(keys)
    return pending


def load_steps(defs: dg.Definitions, pending: dict[str, list[str]]) -> list[Step]:
    """Range runs for the pending partitions: per partitions definition, consecutive keys with the same pending
    sources make one run."""
    graph = defs.resolve_asset_graph()
    plan = plan_assets(defs)
    steps = []
    for step in ("raw_daily", "raw_weekly"):
        keys_in_step = [k for k in plan[step] if k.path[-1] in pending]
        if not keys_in_step:
            continue
        all_keys = graph.get(keys_in_step[0]).partitions_def.get_partition_keys()
        position = {k: i for i, k in enumerate(all_keys)}
        sources_of: dict[str, set[str]] = defaultdict(set)
        for key in keys_in_step:
            for partition in pending[key.path[-1]]:
                sources_of[partition].add(key.path[-1])
        run: list[str] = []
        for partition in sorted(sources_of, key=position.__getitem__):
            if run and (position[partition] != position[run[-1]] + 1 or sources_of[partition] != sources_of[run[0]]):
                steps.append(_load_step(step, sources_of[run[0]], run))
                run = []
            run.append(partition)
        if run:
            steps.append(_load_step(step, sources_of[run[0]], run))
    return steps


def _load_step(step: str, sources: set[str], partitions: list[str]) -> Step:
    return Step(
        STEP_NAMES[step],
        JOB_OF_STEP[step],
        [raw_asset_key(s) for s in sorted(sources)],
        (partitions[0], partitions[-1]),
    )


def _latest_timestamp(instance: dg.DagsterInstance, key: dg.AssetKey) -> float | None:
    event = instance.get_latest_materialization_event(key)
    return event.timestamp if event is not None else None


def downstream_reason(instance: dg.DagsterInstance, defs: dg.Definitions, loaded_now: bool) -> str | None:
    """Why the unpartitioned downstream assets must be built, or None when they are up to date."""
    plan = plan_assets(defs)
    if loaded_now:
        return "new raw partitions"
    built = [_latest_timestamp(instance, k) for k in plan["downstream"]]
    if any(t is None for t in built):
        return "never built"
    raw = [t for t in (_latest_timestamp(instance, k) for k in plan["raw_daily"] + plan["raw_weekly"]) if t]
    if raw and max(raw) > min(built):
        return "raw data loaded since the last build"
    return None


def run_update(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    landing: LandingResource,
    partitions_start: str,
    warehouse=None,
    log: Callable[[str], None] = print,
    log_level: str = "WARNING",
) -> UpdateReport:
    started = time.perf_counter()
    report = UpdateReport(pending=pending_partitions(landing, partitions_start, warehouse))
    steps = load_steps(defs, report.pending)
    loads = len(steps)
    plan = plan_assets(defs)
    reason = downstream_reason(instance, defs, loaded_now=bool(steps))
    if reason is not None and plan["downstream"]:
        log(f"downstream: {reason}")
        steps.append(Step(STEP_NAMES["downstream"], JOB_OF_STEP["downstream"], plan["downstream"]))
    else:
        report.skipped.append("staging → marts → ML: nothing new since the last build")
    daily_days = sorted(
        {p for s, keys in report.pending.items() if SOURCES[s].partition_cadence != Cadence.WEEKLY for p in keys}
    )
    if plan["daily_downstream"] and daily_days:
        steps.append(
            Step(
                STEP_NAMES["daily_downstream"],
                JOB_OF_STEP["daily_downstream"],
                plan["daily_downstream"],
                (daily_days[0], daily_days[-1]),
            )
        )
    elif plan["daily_downstream"]:
        report.skipped.append("daily-partitioned marts: no new day")
    if plan["consumers"] and len(steps) > loads:  # something was built: the consumers of the partitioned marts follow
        steps.append(Step(STEP_NAMES["consumers"], JOB_OF_STEP["consumers"], plan["consumers"]))
    report.runs = run_steps(defs, instance, steps, log, log_level)
    _collect_rows(instance, report)
    report.seconds = time.perf_counter() - started
    return report


def _collect_rows(instance: dg.DagsterInstance, report: UpdateReport) -> None:
    for step in report.runs.steps:
        for record in instance.all_logs(step.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            materialization = record.asset_materialization
            if materialization is None:
                continue
            key = materialization.asset_key
            rows = materialization.metadata.get("dagster/row_count")
            value = getattr(rows, "value", None)
            if not isinstance(value, int):
                continue
            if key.path[0] == RAW:
                report.rows_loaded[key.path[-1]] = report.rows_loaded.get(key.path[-1], 0) + value
            elif materialization.partition is None:
                report.model_rows[key.to_user_string()] = value
