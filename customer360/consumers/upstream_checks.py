"""A failing check upstream, shown on the consumer's node: the ``upstream_checks`` check of every exposure asset.

Every consumer (``consumers/<exposure>``: the Sigma and Power BI dashboards, the compliance export, the retention
alerts, the scorecard) has one asset check, ``upstream_checks``, whose result is the latest results of the checks
that stop the pipeline (blocking ones and ERROR-severity ones: the dbt error tests, the rule of the check alerts,
:func:`customer360.automation.alerts.check_is_alerting`) on the marts the exposure reads (its ``depends_on``):

- it fails (severity WARN) when one of them failed at its latest execution, naming the failing checks in its
  description and metadata; it passes when all of them passed. The failure itself stays where it happened (ERROR on
  the mart, paged by ``c360_asset_check_alerts``); on the consumer it is a WARN, so it does not page a second time.
- ``c360_consumer_upstream_checks`` (sensor, every 30 s) evaluates it after the marts are built: when a mart's check
  has a result newer than the consumer's check and the verdict (or the list of failing checks) changed, it reports a
  runless ``AssetCheckEvaluation``. State-based like the freshness mirror: a restart or a missed tick re-syncs it,
  nothing is reported while they agree, no run is launched.
- "Execute" in the UI (or any run that selects the check) evaluates it the same way at that moment.

The freshness SLA checks are not part of it (a stale mart pages through ``c360_freshness_alerts``, and the mart's own
``freshness_sla`` check is on its node).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from customer360.automation.alerts import check_is_alerting
from customer360.automation.freshness_checks import is_freshness_check
from customer360.automation.runless_checks import runless_check_sensor
from customer360.consumers.exposures import Exposure

UPSTREAM_CHECK_NAME = "upstream_checks"
UPSTREAM_CHECKS_OP = "c360_consumer_upstream_checks"
UPSTREAM_CHECK_SENSOR = "c360_consumer_upstream_checks"
UPSTREAM_CHECK_SENSOR_INTERVAL_SECONDS = 30
_DONE = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


def is_upstream_check(check_key: dg.AssetCheckKey) -> bool:
    return check_key.name == UPSTREAM_CHECK_NAME


@dataclass(frozen=True)
class Verdict:
    """What the consumer's check says: the failing upstream checks (sorted) out of ``evaluated`` with a result."""

    failing: tuple[str, ...]
    evaluated: int
    pending: int  # upstream checks without a completed result yet
    newest: float  # timestamp of the newest upstream result (0 when none)

    @property
    def passed(self) -> bool:
        return not self.failing

    def description(self) -> str:
        if self.failing:
            return (
                f"{len(self.failing)} of {self.evaluated} upstream check(s) failing at their latest execution: "
                f"{', '.join(self.failing)}."
            )
        return f"All {self.evaluated} upstream check(s) passed at their latest execution."

    def metadata(self) -> dict:
        return {
            "failing_upstream_checks": dg.MetadataValue.json(list(self.failing)),
            "upstream_checks_evaluated": self.evaluated,
            "upstream_checks_without_result": self.pending,
        }


def upstream_check_keys(asset_graph, deps: Iterable[dg.AssetKey]) -> list[dg.AssetCheckKey]:
    """The checks on ``deps`` that the consumer's check follows (every check but the freshness and consumer ones)."""
    deps = set(deps)
    return sorted(
        (
            k
            for k in asset_graph.asset_check_keys
            if k.asset_key in deps and not is_freshness_check(k) and not is_upstream_check(k)
        ),
        key=lambda k: k.to_user_string(),
    )


def _time(execution) -> float:
    return execution.event.timestamp if execution.event else execution.create_timestamp


def _evaluation(execution):
    return execution.event.dagster_event.event_specific_data if execution.event else None


def verdict(latest: Mapping[dg.AssetCheckKey, object], keys: Sequence[dg.AssetCheckKey]) -> Verdict:
    """The verdict from the latest executions of ``keys`` (``get_latest_asset_check_execution_by_key``)."""
    failing, evaluated, pending, newest = [], 0, 0, 0.0
    for key in keys:
        execution = latest.get(key)
        if execution is None or execution.status not in _DONE:
            pending += 1
            continue
        evaluated += 1
        newest = max(newest, _time(execution))
        evaluation = _evaluation(execution)
        if (
            execution.status == AssetCheckExecutionRecordStatus.FAILED
            and evaluation is not None
            and not evaluation.passed
            and check_is_alerting(evaluation)
        ):
            failing.append(key.to_user_string())
    return Verdict(tuple(sorted(failing)), evaluated, pending, newest)


def _deps_by_check(exposures: Sequence[Exposure]) -> dict[dg.AssetCheckKey, tuple[dg.AssetKey, ...]]:
    return {dg.AssetCheckKey(e.key, UPSTREAM_CHECK_NAME): e.deps for e in exposures if e.deps}


def build_upstream_checks(exposures: Sequence[Exposure], asset_graph) -> list[dg.AssetChecksDefinition]:
    """One ``upstream_checks`` check per exposure with marts upstream (one multi-check op for all of them).
    ``asset_graph``: the code location's assets and checks, which the followed checks are taken from."""
    deps = _deps_by_check(exposures)
    if not deps:
        return []
    followed = {key: upstream_check_keys(asset_graph, marts) for key, marts in deps.items()}
    specs = [
        dg.AssetCheckSpec(
            UPSTREAM_CHECK_NAME,
            asset=key.asset_key,
            additional_deps=list(deps[key]),
            blocking=False,
            description=(
                "Fails (WARN) while a blocking or ERROR-severity check of a mart this consumer reads "
                f"({', '.join(d.to_user_string() for d in deps[key])}) fails at its latest execution. "
                f"Evaluated by the sensor {UPSTREAM_CHECK_SENSOR} after the marts are built."
            ),
            metadata={"upstream_checks_followed": len(followed[key])},
        )
        for key in sorted(deps, key=lambda k: k.to_user_string())
    ]

    @dg.multi_asset_check(
        specs=specs,
        can_subset=True,
        name=UPSTREAM_CHECKS_OP,
        description="Each consumer's view of the latest results of the checks on the marts it reads.",
    )
    def consumer_upstream_checks(context: dg.AssetCheckExecutionContext) -> Iterable[dg.AssetCheckResult]:
        for check_key in sorted(context.selected_asset_check_keys, key=lambda k: k.to_user_string()):
            keys = followed[check_key]
            found = verdict(context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys), keys)
            yield dg.AssetCheckResult(
                asset_key=check_key.asset_key,
                check_name=check_key.name,
                passed=found.passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=found.description(),
                metadata=found.metadata(),
            )

    return [consumer_upstream_checks]


def with_upstream_checks(defs: dg.Definitions, exposures: Sequence[Exposure]) -> dg.Definitions:
    """``defs`` + the ``upstream_checks`` check of every exposure and the sensor that keeps them current."""
    checks = build_upstream_checks(exposures, defs.resolve_asset_graph())
    return dg.Definitions.merge(defs, dg.Definitions(asset_checks=checks, sensors=[upstream_check_sensor]))


def sync_upstream_checks(instance: dg.DagsterInstance, asset_graph) -> list[dg.AssetCheckEvaluation]:
    """Report each consumer's verdict where an upstream result is newer than its check's latest result and the
    verdict differs from it (or it has none yet). Returns what was reported."""
    own_keys = sorted(
        (k for k in asset_graph.asset_check_keys if is_upstream_check(k)), key=lambda k: k.to_user_string()
    )
    followed = {
        k: upstream_check_keys(asset_graph, [d.asset_key for d in asset_graph.get_check_spec(k).additional_deps])
        for k in own_keys
    }
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        sorted({*own_keys, *(k for keys in followed.values() for k in keys)}, key=lambda k: k.to_user_string())
    )
    in_progress = _in_progress(instance, latest.values())
    reported = []
    for own in own_keys:
        keys = followed[own]
        if any(k in in_progress for k in keys):
            continue  # a mart's checks are running right now: wait for all of them
        found = verdict(latest, keys)
        if found.evaluated == 0:
            continue  # nothing upstream has a result yet
        execution = latest.get(own)
        if execution is not None:
            if execution.status not in _DONE or _time(execution) >= found.newest:
                continue  # being evaluated, or evaluated after the newest upstream result
            previous = _evaluation(execution)
            if (
                previous is not None
                and previous.passed == found.passed
                and tuple(_failing_of(previous)) == found.failing
            ):
                continue
        evaluation = dg.AssetCheckEvaluation(
            asset_key=own.asset_key,
            check_name=own.name,
            passed=found.passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=found.description(),
            metadata=found.metadata(),
        )
        instance.report_runless_asset_event(evaluation)
        reported.append(evaluation)
    return reported


def _in_progress(instance: dg.DagsterInstance, executions) -> set[dg.AssetCheckKey]:
    """Checks planned by a run that has not finished. A planned check of a finished run (the run failed or was
    canceled before evaluating it) has no result and blocks nothing."""
    planned = [e for e in executions if e is not None and e.status not in _DONE]
    runs = {run_id: instance.get_run_by_id(run_id) for run_id in {e.run_id for e in planned}}
    return {e.key for e in planned if runs[e.run_id] is not None and not runs[e.run_id].is_finished}


def _failing_of(evaluation) -> list[str]:
    entry = (evaluation.metadata or {}).get("failing_upstream_checks")
    return list(entry.value) if entry is not None else []


upstream_check_sensor = runless_check_sensor(
    UPSTREAM_CHECK_SENSOR,
    "Reports on each consumer's upstream_checks check the latest results of the checks on the marts it reads.",
    UPSTREAM_CHECK_SENSOR_INTERVAL_SECONDS,
    sync_upstream_checks,
    lambda reported: (
        f"{len(reported)} consumer check result(s) reported ({sum(not e.passed for e in reported)} failing)"
    ),
)
