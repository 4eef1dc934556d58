"""Freshness as an asset check: the freshness daemon's state where the OSS UI shows checks (catalog, lineage).

Dagster 1.13 OSS shows the state of a ``FreshnessPolicy`` only on the asset page; the asset catalog and the lineage
nodes show asset checks. So every asset with a policy (``customer360.automation.freshness``) also gets the check
``freshness_sla``, whose result is the daemon's state of that policy:

- PASS → passed; WARN (older than the warn window) → failed, severity WARN; FAIL (older than the fail window) →
  failed, severity ERROR. The check's description states both windows and the row of customer360/sla.py they
  come from. It is never blocking.
- ``c360_freshness_checks`` (sensor, every 30 s) mirrors the daemon: when the daemon recorded a state after the
  check's latest result and the two differ, it reports a runless ``AssetCheckEvaluation``. State-based, so a
  restart, a first tick or a missed tick re-syncs it; nothing is reported while they agree.
- When a run executes the check (it rides along when its asset is materialized, or "Execute" in the UI), it
  evaluates the policy with the daemon's own evaluator at that moment, so a fresh materialization passes at once;
  the sensor then reports only the daemon's next change.

These checks do not page: ``c360_freshness_alerts`` already alerts once per freshness transition, so the check
alert sensor ignores ``freshness_sla`` (``is_freshness_check``).
"""

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState  # no public export in 1.13
from dagster._core.loader import LoadingContext
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from customer360.automation.freshness import SlaRow, policy_for_row, sla_rows
from customer360.automation.runless_checks import runless_check_sensor
from customer360.sla import SourceSla

FRESHNESS_CHECK_NAME = "freshness_sla"
FRESHNESS_CHECKS_OP = "c360_freshness_sla_checks"
FRESHNESS_CHECK_SENSOR = "c360_freshness_checks"
FRESHNESS_CHECK_SENSOR_INTERVAL_SECONDS = 30
_MIRRORED = (FreshnessState.PASS, FreshnessState.WARN, FreshnessState.FAIL)
_DONE = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


def is_freshness_check(check_key: dg.AssetCheckKey) -> bool:
    return check_key.name == FRESHNESS_CHECK_NAME


def _words(window: timedelta) -> str:
    days, rest = divmod(int(window.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")) if n]
    return " ".join(parts) or "0 s"


def row_reference(row: SlaRow) -> str:
    """Where the windows come from, e.g. ``customer360/sla.py SLAS["orders"] (daily at 02:00 UTC)``."""
    if isinstance(row, SourceSla):
        return f'customer360/sla.py SLAS["{row.source}"] ({row.cadence})'
    return f'customer360/sla.py REBUILD_SLAS["{row.cadence}"] ({row.rebuild})'


def check_description(row: SlaRow) -> str:
    return (
        f"Freshness SLA, mirrors the freshness daemon: WARN (severity WARN) when the last materialization is older "
        f"than {_words(row.warn_after)}, FAIL (severity ERROR) when older than {_words(row.error_after)}. "
        f"Windows from {row_reference(row)}. Never blocks; alerts come from c360_freshness_alerts."
    )


def check_result_fields(state: FreshnessState) -> tuple[bool, dg.AssetCheckSeverity]:
    """(passed, severity) of the check for a daemon state."""
    if state == FreshnessState.PASS:
        return True, dg.AssetCheckSeverity.WARN
    if state == FreshnessState.WARN:
        return False, dg.AssetCheckSeverity.WARN
    if state == FreshnessState.FAIL:
        return False, dg.AssetCheckSeverity.ERROR
    raise ValueError(f"no check result for freshness state {state}")


def state_of_evaluation(evaluation) -> FreshnessState:
    """The daemon state a check evaluation stands for (inverse of :func:`check_result_fields`)."""
    if evaluation.passed:
        return FreshnessState.PASS
    return FreshnessState.FAIL if evaluation.severity == dg.AssetCheckSeverity.ERROR else FreshnessState.WARN


def _metadata(state: FreshnessState, since: datetime | None) -> dict:
    metadata = {"freshness_state": state.value}
    if since is not None:
        metadata["freshness_state_since"] = dg.MetadataValue.timestamp(since)
    return metadata


def _text(state: FreshnessState, source: str) -> str:
    return f"Freshness {state.value} ({source})."


# ---- the check definition -----------------------------------------------------------------------------------------


class _InstanceLoadingContext(LoadingContext):
    """What the daemon's policy evaluators read: the instance and batch loaders."""

    def __init__(self, instance: dg.DagsterInstance):
        self._instance, self._loaders = instance, {}

    @property
    def instance(self) -> dg.DagsterInstance:
        return self._instance

    @property
    def loaders(self) -> dict:
        return self._loaders


@dataclass(frozen=True)
class _PolicyNode:
    """The two attributes of an asset node that the daemon's evaluators read."""

    key: dg.AssetKey
    freshness_policy_or_from_metadata: dg.FreshnessPolicy


def evaluate_now(
    instance: dg.DagsterInstance, policies: Mapping[dg.AssetKey, dg.FreshnessPolicy]
) -> dict[dg.AssetKey, FreshnessState]:
    """The states the freshness daemon would record for these assets now (its own evaluators, one batch)."""
    # a sensor's import, not the code location's: the evaluators pull in Dagster's event-log storage (≈ 400 modules)
    from dagster._core.definitions.freshness_evaluator import FRESHNESS_EVALUATORS_BY_POLICY_TYPE

    context = _InstanceLoadingContext(instance)
    keys = sorted(policies)

    async def _all():
        return await asyncio.gather(
            *(
                FRESHNESS_EVALUATORS_BY_POLICY_TYPE[type(policies[k])]().evaluate_freshness(
                    context=context, node=_PolicyNode(k, policies[k])
                )
                for k in keys
            )
        )

    return dict(zip(keys, asyncio.run(_all()), strict=True))


def build_freshness_checks(defs: dg.Definitions, sla_overrides: str | None = None) -> list:
    """One ``freshness_sla`` check per asset of ``defs`` that has a freshness policy (one multi-check op)."""
    specs, policies = [], {}
    for key, row in sorted(sla_rows(defs, sla_overrides).items()):
        policy = policy_for_row(row)
        if policy is None:
            continue
        policies[key] = policy
        specs.append(
            dg.AssetCheckSpec(
                FRESHNESS_CHECK_NAME,
                asset=key,
                description=check_description(row),
                blocking=False,
                metadata={
                    "sla_row": row_reference(row),
                    "warn_after": _words(row.warn_after),
                    "fail_after": _words(row.error_after),
                },
            )
        )
    if not specs:
        return []

    @dg.multi_asset_check(
        specs=specs,
        can_subset=True,
        name=FRESHNESS_CHECKS_OP,
        description="Freshness SLA of each asset, evaluated with the freshness daemon's own evaluator.",
    )
    def freshness_sla_checks(context: dg.AssetCheckExecutionContext) -> Iterable[dg.AssetCheckResult]:
        selected = sorted(context.selected_asset_check_keys, key=lambda k: k.to_user_string())
        states = evaluate_now(context.instance, {k.asset_key: policies[k.asset_key] for k in selected})
        for check_key in selected:
            state = states[check_key.asset_key]
            if state not in _MIRRORED:  # UNKNOWN: never materialized (cannot follow its own materialization)
                yield dg.AssetCheckResult(
                    asset_key=check_key.asset_key,
                    check_name=check_key.name,
                    passed=False,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=f"Freshness {state.value}: not materialized yet.",
                    metadata={"freshness_state": state.value},
                )
                continue
            passed, severity = check_result_fields(state)
            yield dg.AssetCheckResult(
                asset_key=check_key.asset_key,
                check_name=check_key.name,
                passed=passed,
                severity=severity,
                description=_text(state, "evaluated at run time"),
                metadata=_metadata(state, None),
            )

    return [freshness_sla_checks]


# ---- the mirror -----------------------------------------------------------------------------------------------------


def _execution_time(execution) -> float:
    return execution.event.timestamp if execution.event else execution.create_timestamp


def mirror_freshness_states(
    instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey]
) -> list[dg.AssetCheckEvaluation]:
    """Report the daemon's state as the check's result wherever the daemon changed it after the check's latest
    result and the two differ. Returns what was reported."""
    check_keys = [k for k in check_keys if is_freshness_check(k)]
    records = instance.get_freshness_state_records([k.asset_key for k in check_keys])
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    reported = []
    for check_key in sorted(check_keys, key=lambda k: k.to_user_string()):
        record = records.get(check_key.asset_key)
        if record is None or record.freshness_state not in _MIRRORED:
            continue
        state, since = record.freshness_state, record.updated_at
        execution = latest.get(check_key)
        if execution is not None:
            if execution.status not in _DONE:
                continue  # a run is evaluating it right now
            evaluation = execution.event.dagster_event.event_specific_data if execution.event else None
            if _execution_time(execution) >= since.timestamp():
                continue  # evaluated after the daemon's last change: already current
            if evaluation is not None and state_of_evaluation(evaluation) == state:
                continue
        passed, severity = check_result_fields(state)
        evaluation = dg.AssetCheckEvaluation(
            asset_key=check_key.asset_key,
            check_name=check_key.name,
            passed=passed,
            severity=severity,
            description=_text(state, "freshness daemon"),
            metadata=_metadata(state, since),
        )
        instance.report_runless_asset_event(evaluation)
        reported.append(evaluation)
    return reported


freshness_check_sensor = runless_check_sensor(
    FRESHNESS_CHECK_SENSOR,
    "Reports the freshness daemon's state changes as results of the freshness_sla checks (no alerts).",
    FRESHNESS_CHECK_SENSOR_INTERVAL_SECONDS,
    lambda instance, graph: mirror_freshness_states(
        instance, [k for k in graph.asset_check_keys if is_freshness_check(k)]
    ),
    lambda reported: f"{len(reported)} freshness check result(s) reported",
)
