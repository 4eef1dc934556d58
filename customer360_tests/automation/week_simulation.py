"""Weeks of the platform on a simulated clock: arrivals, the automation, the freshness daemon.

Against a real (ephemeral) Dagster instance, with the clock of ``dagster._time`` moved event by event:

- arrivals: each feed's files land on the design's cadence (``normal_arrivals``) and are loaded at once into
  the raw partition of their arrival day (products: the Monday week), as the arrival sensors do;
- the automation, evaluated 30 s after every hourly cron tick and 30 s after every build (the sensor runs every
  30 s; between those moments nothing changes that its conditions read). Two interchangeable engines:
    * ``"conditions"``: ``dg.evaluate_automation_conditions`` with the code location's conditions, the sensor's
      target and cursor — Dagster itself, ~0.5 s per evaluation on this machine;
    * ``"model"``: ``CadenceModel``, the same ``rebuild_on(cron)`` semantics restated over the run log
      (microseconds), for weeks-long runs. ``test_freshness_week`` checks that both request the same asset
      partitions at every evaluation of a real day, so the model cannot drift from the conditions unnoticed;
  every requested asset partition is materialized ``BUILD_TIME`` later;
- the freshness daemon: ``FreshnessDaemon._evaluate_assets`` (dagster/_daemon/freshness.py: the evaluator of each
  policy type, the state records, the ``FRESHNESS_STATE_CHANGE`` events the alert sensor reads) every hour and,
  optionally, just before every build completes, when each asset is at its oldest;
- right after each daemon evaluation, the ``c360_freshness_checks`` mirror (the ``freshness_sla`` check results,
  ``check_results``) and any ``after_freshness`` hooks (e.g. the alert sensors, ``SensorTicker``).

No runs are launched (materializations are reported), so ``NoRawLoadPending`` is always true here; the queue for
the one warehouse writer is covered by the build time and by the tests of conditions.py.
"""

import asyncio
import bisect
import datetime as dt
import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState  # no public export in 1.13
from dagster._core.loader import LoadingContextForTest
from dagster._daemon.freshness import FreshnessDaemon
from dagster._utils.schedules import cron_string_iterator

from customer360.automation.freshness_checks import is_freshness_check, mirror_freshness_states, state_of_evaluation

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
BUILD_TIME = dt.timedelta(minutes=10)  # request → materialization (the whole 02:00 rebuild takes ~4 min)
SENSOR_INTERVAL = dt.timedelta(seconds=30)
DAILY_FEEDS = ("customers", "orders", "campaigns", "support_tickets")

AssetPartition = tuple[dg.AssetKey, str | None]


def normal_arrivals(start: dt.datetime, end: dt.datetime) -> Iterator[tuple[dt.datetime, str]]:
    """(time, source) of every file of a normal week in [start, end): the daily feeds at 01:30 (before the
    02:00 UTC deadline), an events batch at :15 every hour, a transactions micro-batch every 15 minutes,
    the products catalogue on Mondays at 01:30."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        moments = [(hour + dt.timedelta(minutes=m), "transactions") for m in (5, 20, 35, 50)]
        moments.append((hour + dt.timedelta(minutes=15), "events"))
        if hour.hour == 1:
            moments += [(hour + dt.timedelta(minutes=30), s) for s in DAILY_FEEDS]
            if hour.weekday() == 0:
                moments.append((hour + dt.timedelta(minutes=30), "products"))
        yield from sorted(m for m in moments if start <= m[0] < end)
        hour += HOUR


def raw_partition(source: str, at: dt.datetime) -> str:
    """The partition an arrival at ``at`` loads: its arrival day; products: the Monday of its week."""
    day = at.date()
    if source == "products":
        day -= dt.timedelta(days=day.weekday())
    return day.isoformat()


@dataclass(frozen=True)
class StateChange:
    key: dg.AssetKey
    at: dt.datetime
    previous: FreshnessState
    new: FreshnessState
    record: dg.EventLogRecord


@dataclass
class RunLog:
    """What happened so far: materializations (raw loads included), requests, automation evaluations."""

    builds: dict[dg.AssetKey, list[tuple[dt.datetime, str | None]]] = field(default_factory=lambda: defaultdict(list))
    requests: dict[dg.AssetKey, list[tuple[dt.datetime, str | None]]] = field(default_factory=lambda: defaultdict(list))
    evaluations: list[dt.datetime] = field(default_factory=list)

    @staticmethod
    def last(entries, key: dg.AssetKey, partition: str | None, any_partition: bool) -> dt.datetime | None:
        """The latest entry of this asset (partition); entries are appended in time order."""
        for t, p in reversed(entries.get(key, ())):
            if any_partition or p == partition:
                return t
        return None


class CadenceModel:
    """``rebuild_on(cron)`` (customer360/automation/conditions.py) restated over a ``RunLog``.

    An asset partition is requested at evaluation ``e`` when a cron tick of its condition passed since it was last
    handled (or it was never built), some parent updated since then or is requested at ``e`` (a parent with a
    different partitioning cannot join the run), and every parent has data. "Handled" as in Dagster's
    ``since_last_handled``: the evaluation after a request (``newly_requested``) or after a build
    (``newly_updated``); a trigger seen at that evaluation is lost. Assets built only when missing (seeds) are
    built once. Runs are not modelled (nothing is ever in progress; no raw load pending).
    """

    def __init__(self, graph):
        self.graph = graph
        self.crons: dict[dg.AssetKey, str | None] = {}
        for key in graph.toposorted_asset_keys:
            condition = graph.get(key).automation_condition
            if condition is None:
                continue
            label = condition.get_label() or ""
            is_rebuild = label.startswith("rebuild_on(")
            self.crons[key] = label.removeprefix("rebuild_on(").removesuffix(")") if is_rebuild else None

    @staticmethod
    def _tick_between(cron: str, after: dt.datetime, until: dt.datetime) -> bool:
        tick = next(cron_string_iterator(after.timestamp(), cron, "UTC"))
        return after < tick <= until

    def _last_handled(self, log: RunLog, e: dt.datetime, key, partition, any_partition) -> dt.datetime | None:
        """The latest evaluation <= e that reset the ``since_last_handled`` of this asset partition."""
        handled = None
        latest = (
            log.last(log.requests, key, partition, any_partition),
            log.last(log.builds, key, partition, any_partition),
        )
        for t in (t for t in latest if t is not None):
            i = bisect.bisect_right(log.evaluations, t)  # the first evaluation after the event
            reset = log.evaluations[i] if i < len(log.evaluations) else e
            if handled is None or reset > handled:
                handled = reset
        return handled

    def requests(self, log: RunLog, e: dt.datetime) -> list[AssetPartition]:
        """What the conditions request at evaluation ``e`` (``log`` holds everything before ``e``)."""
        requested: dict[dg.AssetKey, str | None] = {}
        first_evaluation = not log.evaluations
        for key, cron in self.crons.items():
            node = self.graph.get(key)
            partition = e.date().isoformat() if node.partitions_def is not None else None
            missing = log.last(log.builds, key, partition, any_partition=False) is None
            if cron is None:  # build_root_when_missing: once
                if missing and log.last(log.requests, key, partition, any_partition=False) is None:
                    requested[key] = partition
                continue
            if first_evaluation:
                continue  # initial_evaluation: everything counts as handled
            handled = self._last_handled(log, e, key, partition, any_partition=partition is None)
            if handled == e:
                continue  # handled at this very evaluation: its triggers are lost
            since = handled or dt.datetime.min.replace(tzinfo=UTC)
            due = missing or (handled is not None and self._tick_between(cron, since, e))
            new_data, has_data = False, True
            for parent in node.parent_keys:
                parent_partitioned = self.graph.get(parent).partitions_def is not None
                joins_run = parent in requested and parent_partitioned == (partition is not None)
                narrow = partition is not None and parent_partitioned  # same-day partition mapping
                updated = log.last(log.builds, parent, partition, any_partition=not narrow)
                new_data = new_data or joins_run or (updated is not None and updated > since)
                has_data = has_data and (updated is not None or joins_run)
            if due and new_data and has_data:
                requested[key] = partition
        return sorted(requested.items(), key=lambda kp: kp[0].to_user_string())


class _Clock:
    """The clock of ``dagster._time`` (event timestamps, the freshness evaluators, partition windows)."""

    def __init__(self, now: dt.datetime):
        self.now = now

    @contextmanager
    def patched(self):
        with (
            mock.patch("dagster._time._mockable_get_current_datetime", new=lambda: self.now),
            mock.patch("dagster._time._mockable_get_current_timestamp", new=lambda: self.now.timestamp()),
        ):
            yield self


class _DaemonContext(LoadingContextForTest):
    """What ``FreshnessDaemon`` reads from a workspace request context: the instance and the asset graph."""

    def __init__(self, instance: dg.DagsterInstance, asset_graph):
        super().__init__(instance)
        self.asset_graph = asset_graph


@dataclass
class WeekSimulation:
    defs: dg.Definitions
    instance: dg.DagsterInstance
    clock: _Clock
    stalled: Mapping[str, dt.datetime] = field(default_factory=dict)  # source → no more files from then on
    resumed: Mapping[str, dt.datetime] = field(default_factory=dict)  # stalled source → files again from then on
    after_freshness: list = field(default_factory=list)  # callables run after every daemon evaluation
    log: RunLog = field(default_factory=RunLog)
    # evaluation time → (what the conditions requested, what the model requested) while the conditions ran
    compared: list[tuple[dt.datetime, list[AssetPartition], list[AssetPartition]]] = field(default_factory=list)

    def __post_init__(self):
        self.graph = self.defs.resolve_asset_graph()
        self.model = CadenceModel(self.graph)
        self.daemon = FreshnessDaemon()
        self.cursor = None
        self.freshness_checks = sorted(
            (k for k in self.graph.asset_check_keys if is_freshness_check(k)), key=lambda k: k.to_user_string()
        )
        self.check_results: list[tuple[dt.datetime, dg.AssetKey, FreshnessState]] = []  # what the mirror reported

    # -- the actors -------------------------------------------------------------------------------------------

    def _build(self, asset_partitions: list[AssetPartition]) -> None:
        for key, partition in asset_partitions:
            self.instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
            self.log.builds[key].append((self.clock.now, partition))

    def _evaluate_automation(self, engine: str) -> list[AssetPartition]:
        now = self.clock.now
        modelled = self.model.requests(self.log, now)
        if engine == "conditions":
            result = dg.evaluate_automation_conditions(
                defs=self.defs,
                instance=self.instance,
                cursor=self.cursor,
                evaluation_time=now,
                asset_selection=dg.AssetSelection.all(),  # the automation sensor's target
            )
            self.cursor = result.cursor
            keys = sorted((r.key for r in result.results if r.true_subset.size), key=lambda k: k.to_user_string())
            requested = [(k, p) for k in keys for p in sorted(result.get_requested_partitions(k), key=str)]
            self.compared.append((now, requested, modelled))
        else:
            requested = modelled
        self.log.evaluations.append(now)
        for key, partition in requested:
            self.log.requests[key].append((now, partition))
        return requested

    def _evaluate_freshness(self) -> None:
        daemon_context = _DaemonContext(self.instance, self.graph)
        process_context = mock.Mock(create_request_context=lambda: daemon_context)
        asyncio.run(self.daemon._evaluate_assets(workspace_process_context=process_context))
        for evaluation in mirror_freshness_states(self.instance, self.freshness_checks):
            self.check_results.append((self.clock.now, evaluation.asset_key, state_of_evaluation(evaluation)))
        for hook in self.after_freshness:
            hook(self)

    # -- the timeline -------------------------------------------------------------------------------------------

    def run(
        self,
        deploy: dt.datetime,
        until: dt.datetime,
        conditions_until: dt.datetime | None = None,
        freshness_before_builds: bool = True,
    ) -> None:
        """Deploy at ``deploy`` (the automation's first evaluation, then the backlog of every feed lands), then
        the normal arrivals (minus the stalled feeds) until ``until``. The automation is Dagster's conditions
        until ``conditions_until`` (default: throughout), the cadence model after."""
        conditions_until = until if conditions_until is None else conditions_until
        order = itertools.count()
        queue: list[tuple[dt.datetime, int, str, object]] = []

        def at(when, action, payload=None):
            heapq.heappush(queue, (when, next(order), action, payload))

        raw_sources = sorted({k.path[1] for k in self.graph.get_all_asset_keys() if k.path[0] == "raw"})
        at(deploy, "automation")
        for source in raw_sources:
            at(deploy + dt.timedelta(minutes=5), "load", source)  # the files already waiting in the landing zone
        for when, source in normal_arrivals(deploy + dt.timedelta(minutes=10), until):
            stalled = source in self.stalled and when >= self.stalled[source]
            if not stalled or (source in self.resumed and when >= self.resumed[source]):
                at(when, "load", source)
        tick = deploy.replace(minute=0, second=0, microsecond=0) + HOUR
        while tick < until:
            at(tick, "freshness")
            at(tick + SENSOR_INTERVAL, "automation")
            tick += HOUR

        while queue:
            when, _, action, payload = heapq.heappop(queue)
            if when >= until:
                break
            self.clock.now = when
            if action == "load":
                self._build([(dg.AssetKey(["raw", payload]), raw_partition(payload, when))])
            elif action == "automation":
                requested = self._evaluate_automation("conditions" if when < conditions_until else "model")
                if requested:
                    done = when + BUILD_TIME
                    if freshness_before_builds:
                        at(done - dt.timedelta(seconds=1), "freshness")  # each asset at its oldest
                    at(done, "build", requested)
            elif action == "build":
                self._build(payload)
                at(when + SENSOR_INTERVAL, "automation")
            elif action == "freshness":
                self._evaluate_freshness()
        self.clock.now = until
        self._evaluate_freshness()

    # -- what the alert sensor would read -----------------------------------------------------------------------

    def state_changes(self) -> list[StateChange]:
        records = self.instance.event_log_storage.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.FRESHNESS_STATE_CHANGE), ascending=True
        )
        out = []
        for record in records:
            change = record.event_log_entry.dagster_event.asset_freshness_state_change_data
            at = dt.datetime.fromtimestamp(change.state_change_timestamp, UTC)
            out.append(StateChange(change.key, at, change.previous_state, change.new_state, record))
        return out

    def builds_of(self, name: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        return [t for t, _ in self.log.builds.get(dg.AssetKey(name.split("/")), ()) if start <= t < end]

    def last_build(self, key: dg.AssetKey, before: dt.datetime) -> dt.datetime:
        return max(t for t, _ in self.log.builds[key] if t < before)


@contextmanager
def simulation(
    defs: dg.Definitions,
    start: dt.datetime,
    stalled: Mapping[str, dt.datetime] | None = None,
    resumed: Mapping[str, dt.datetime] | None = None,
):
    clock = _Clock(start)
    with clock.patched(), dg.DagsterInstance.ephemeral() as instance:
        yield WeekSimulation(
            defs=defs, instance=instance, clock=clock, stalled=dict(stalled or {}), resumed=dict(resumed or {})
        )


class SensorTicker:
    """Ticks sensors of the code location as the daemon would (cursor persisted between ticks)."""

    def __init__(self, defs: dg.Definitions, sensors, resources: Mapping[str, object]):
        self.defs, self.sensors, self.resources = defs, list(sensors), dict(resources)
        self.cursors: dict[str, str | None] = {s.name: None for s in self.sensors}

    def __call__(self, sim: "WeekSimulation") -> None:
        for sensor in self.sensors:
            context = dg.build_sensor_context(
                instance=sim.instance,
                cursor=self.cursors[sensor.name],
                resources=self.resources,
                definitions=self.defs,
            )
            sensor(context)
            self.cursors[sensor.name] = context.cursor


def by_hour(changes: list[StateChange]) -> dict[str, list[tuple[str, str]]]:
    """Readable form of state changes for assertion messages: asset → [(weekday hh:mm, state)]."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for c in changes:
        out[c.key.to_user_string()].append((c.at.strftime("%a %d %H:%M"), c.new.value))
    return dict(out)
