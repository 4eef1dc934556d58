"""Freshness policies derived from THE SLA table (``customer360.sla``), applied in one place.

- ``raw/<source>``: ``FreshnessPolicy.time_window(fail_window=error_after, warn_window=warn_after)`` of that
  source's row in ``SLAS``.
- every other asset (staging → intermediate → marts → ML, snapshots): rebuilt daily at 02:00 UTC, so
  ``DOWNSTREAM_WARN_AFTER`` / ``DOWNSTREAM_ERROR_AFTER`` (one daily cycle plus build slack / two cycles).

The freshness daemon (on by default in Dagster 1.13) evaluates these policies against the last materialization;
``customer360.automation.alerts`` turns its state changes into alerts.

Test-only override: ``C360_TEST_SLA_OVERRIDES="<source>:<warn_seconds>:<error_seconds>[,...]"`` shortens the
Dagster policy of a raw asset so an end-to-end test can watch a source go stale in minutes. It never changes the SLA
table nor the dbt source freshness, and a warning is logged whenever it is set. Never set it in production.
"""

import logging
import os
import warnings
from collections.abc import Mapping
from datetime import timedelta

import dagster as dg

from customer360.sla import DOWNSTREAM_ERROR_AFTER, DOWNSTREAM_WARN_AFTER, SLAS, SourceSla

log = logging.getLogger(__name__)

SLA_OVERRIDE_ENV = "C360_TEST_SLA_OVERRIDES"
RAW_GROUP = "raw"
# Dagster refuses time windows under one minute.
_MIN_WINDOW = timedelta(minutes=1)


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
        overrides[source] = SourceSla(source, base.cadence + " (test override)", warn, error, base.design_error_stated)
    return overrides


def effective_slas(environ: Mapping[str, str] | None = None) -> dict[str, SourceSla]:
    """The SLA table with the test-only override applied (identical to ``SLAS`` when the env var is unset)."""
    text = (os.environ if environ is None else environ).get(SLA_OVERRIDE_ENV, "").strip()
    if not text:
        return dict(SLAS)
    overrides = parse_sla_overrides(text)
    log.warning("%s is set: test-only shortened SLAs for %s", SLA_OVERRIDE_ENV, sorted(overrides))
    return {**SLAS, **overrides}


def policy_for_sla(sla: SourceSla) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.time_window(fail_window=sla.error_after, warn_window=sla.warn_after)


def raw_freshness_policies(environ: Mapping[str, str] | None = None) -> dict[dg.AssetKey, dg.FreshnessPolicy]:
    """``raw/<source>`` → its policy, one per row of the SLA table."""
    return {dg.AssetKey([RAW_GROUP, source]): policy_for_sla(sla) for source, sla in effective_slas(environ).items()}


def downstream_freshness_policy() -> dg.FreshnessPolicy:
    """Policy of every asset rebuilt by the daily 02:00 UTC cycle (staging → marts → ML, snapshots)."""
    return dg.FreshnessPolicy.time_window(fail_window=DOWNSTREAM_ERROR_AFTER, warn_window=DOWNSTREAM_WARN_AFTER)


def freshness_policy_for(key: dg.AssetKey, environ: Mapping[str, str] | None = None) -> dg.FreshnessPolicy:
    raw = raw_freshness_policies(environ)
    if key in raw:
        return raw[key]
    if key.path[0] == RAW_GROUP:
        raise ValueError(f"{key.to_user_string()} has no row in the SLA table (customer360/sla.py)")
    return downstream_freshness_policy()


def apply_freshness_policies(defs: dg.Definitions, environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """Return ``defs`` with the SLA-derived policy on every asset (replacing any policy set elsewhere)."""
    raw = raw_freshness_policies(environ)
    downstream = downstream_freshness_policy()

    def _apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key in raw:
            return spec.replace_attributes(freshness_policy=raw[spec.key])
        if spec.key.path[0] == RAW_GROUP:
            raise ValueError(f"{spec.key.to_user_string()} has no row in the SLA table (customer360/sla.py)")
        return spec.replace_attributes(freshness_policy=downstream)

    with warnings.catch_warnings():  # preview API in 1.13; dagster is pinned and the spec snapshot test guards it
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(func=_apply)
