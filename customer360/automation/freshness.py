"""Freshness policies derived from THE SLA table (``customer360.sla``), applied in one place.

- ``raw/<source>``: ``FreshnessPolicy.time_window(fail_window=error_after, warn_window=warn_after)`` of that
  source's row in ``SLAS``.
- every other asset (staging → intermediate → marts → ML, snapshots): the windows of the row of ``REBUILD_SLAS``
  for the cadence the automation rebuilds it on (``conditions.asset_cadence``, from lineage): hourly, daily or
  weekly. An asset rebuilt only on deploy (a seed, the time spine) gets no policy: nothing can make it late.

The freshness daemon (on by default in Dagster 1.13) evaluates these policies against the last materialization;
``customer360.automation.alerts`` turns its state changes into alerts.

Test-only override: ``C360_TEST_SLA_OVERRIDES="<source>:<warn_seconds>:<error_seconds>[,...]"`` shortens the
Dagster policy of a raw asset so an end-to-end test can watch a source go stale in minutes. It never changes the SLA
table nor the dbt source freshness, and a warning is logged whenever it is set. Never set it in production.
"""

import dataclasses
import logging
import warnings
from datetime import timedelta

import dagster as dg

from customer360.automation.conditions import asset_cadence
from customer360.catalog import RAW
from customer360.settings import get_settings
from customer360.sla import SLAS, RebuildSla, SourceSla

log = logging.getLogger(__name__)

SLA_OVERRIDE_ENV = "C360_TEST_SLA_OVERRIDES"
# Dagster refuses time windows under one minute.
_MIN_WINDOW = timedelta(minutes=1)

SlaRow = SourceSla | RebuildSla  # a row of SLAS (raw assets) or of REBUILD_SLAS (everything downstream)


def parse_sla_overrides(text: str) -> dict[str, SourceSla]:
    """Parse ``source:warn_seconds:error_seconds`` items (comma separated) into SLA rows."""
    overrides: dict[str, SourceSla] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        fields = item.split(":")
        if len(fields) != 3:
            raise ValueError(f"{SLA_OVERRIDE_ENV}: expected <source>:<warn_seconds>:<error_seconds>, got {item!r}")
        source, warn_text, error_text = (f.strip() for f in fields)
        if source not in SLAS:
            raise ValueError(f"{SLA_OVERRIDE_ENV}: unknown source {source!r}; known: {sorted(SLAS)}")
        try:
            warn, error = timedelta(seconds=int(warn_text)), timedelta(seconds=int(error_text))
        except ValueError as exc:
            raise ValueError(f"{SLA_OVERRIDE_ENV}: seconds must be integers in {item!r}") from exc
        if warn < _MIN_WINDOW:
            raise ValueError(f"{SLA_OVERRIDE_ENV}: {source} warn window must be >= 60 s (Dagster limit)")
        base = SLAS[source]
        overrides[source] = dataclasses.replace(base, note=" (test override)", warn_after=warn, error_after=error)
    return overrides


def effective_slas(sla_overrides: str | None = None) -> dict[str, SourceSla]:
    """The SLA table with the test-only override (``Settings.sla_overrides`` unless given) applied: identical to
    ``SLAS`` when the env var is unset."""
    text = (get_settings().sla_overrides if sla_overrides is None else sla_overrides).strip()
    if not text:
        return dict(SLAS)
    overrides = parse_sla_overrides(text)
    log.warning("%s is set: test-only shortened SLAs for %s", SLA_OVERRIDE_ENV, sorted(overrides))
    return {**SLAS, **overrides}


def policy_for_sla(sla: SourceSla) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.time_window(fail_window=sla.error_after, warn_window=sla.warn_after)


def raw_freshness_policies(sla_overrides: str | None = None) -> dict[dg.AssetKey, dg.FreshnessPolicy]:
    """``raw/<source>`` → its policy, one per row of the SLA table."""
    return {dg.AssetKey([RAW, source]): policy_for_sla(sla) for source, sla in effective_slas(sla_overrides).items()}


def rebuild_freshness_policy(row: RebuildSla) -> dg.FreshnessPolicy | None:
    """Policy of the assets rebuilt on this cadence; None for the cadence without windows (on deploy)."""
    if row.error_after is None:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=row.error_after, warn_window=row.warn_after)


def sla_rows(defs: dg.Definitions, sla_overrides: str | None = None) -> dict[dg.AssetKey, SlaRow]:
    """Every asset of ``defs`` → the row of the SLA table its windows come from: raw from its source row
    (``SLAS``), the others from their rebuild cadence (``REBUILD_SLAS``). External assets (the dashboards of
    ``consumers/``) are built elsewhere: no row, so no policy and no freshness check."""
    graph = defs.resolve_asset_graph()
    slas = effective_slas(sla_overrides)
    rows: dict[dg.AssetKey, SlaRow] = {}
    for key in graph.get_all_asset_keys():
        if not graph.get(key).is_materializable:
            continue
        if key.path[0] == RAW:
            if len(key.path) != 2 or key.path[1] not in slas:
                raise ValueError(f"{key.to_user_string()} has no row in the SLA table (customer360/sla.py)")
            rows[key] = slas[key.path[1]]
        else:
            rows[key] = asset_cadence(graph, key)
    return rows


def policy_for_row(row: SlaRow) -> dg.FreshnessPolicy | None:
    return policy_for_sla(row) if isinstance(row, SourceSla) else rebuild_freshness_policy(row)


def freshness_policies(
    defs: dg.Definitions, sla_overrides: str | None = None
) -> dict[dg.AssetKey, dg.FreshnessPolicy | None]:
    """Every asset of ``defs`` → its policy, from its row of the SLA table (:func:`sla_rows`)."""
    return {key: policy_for_row(row) for key, row in sla_rows(defs, sla_overrides).items()}


def apply_freshness_policies(defs: dg.Definitions, sla_overrides: str | None = None) -> dg.Definitions:
    """Return ``defs`` with the SLA-derived policy on every asset (replacing any policy set elsewhere)."""
    policies = freshness_policies(defs, sla_overrides)

    def _apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(freshness_policy=policies.get(spec.key))

    with warnings.catch_warnings():  # preview API in 1.13; dagster is pinned and the spec snapshot test guards it
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(func=_apply)
