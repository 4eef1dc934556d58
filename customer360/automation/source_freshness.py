"""``dbt source freshness`` as asset checks on the raw assets: the check ``dbt_source_freshness`` on every
``raw/<source>``, beside Dagster's own freshness policy (and its ``freshness_sla`` check) on the same asset.

Both come from THE SLA table (``customer360/sla.py``): the policies directly, dbt's thresholds through the
``_sources.yml`` freshness blocks that ``customer360.transform.sources_yml`` renders from it. They measure two
things: the policy the time since the raw asset was last *materialized*, dbt the newest ``_loaded_at`` *in the
table* — a load that ran but wrote nothing new passes the first and, in time, warns on the second.

One op runs ``dbt source freshness`` once for all sources (the hourly schedule ``hourly_dbt_source_freshness``,
``customer360/automation/schedules.py``) and reports one result per source from dbt's ``sources.json``: ``pass``
passes; ``warn`` fails with severity WARN; ``error`` / ``runtime error`` (or a source dbt did not report) fail with
severity ERROR. Never blocking (a check, not a gate). In the pool ``warehouse``: it reads the DuckDB file.
"""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import dagster as dg

from customer360.catalog import RAW
from customer360.sla import SLAS, SourceSla
from customer360.transform.resource import C360DbtResource
from customer360.transform.sources_yml import human

DBT_SOURCE_FRESHNESS_CHECK = "dbt_source_freshness"
DBT_SOURCE_FRESHNESS_OP = "c360_dbt_source_freshness"
DBT_RESOURCE_KEY = "dbt"


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey([RAW, source])


def check_keys(sources: Iterable[str]) -> list[dg.AssetCheckKey]:
    return [dg.AssetCheckKey(raw_key(s), DBT_SOURCE_FRESHNESS_CHECK) for s in sources]


def _description(row: SourceSla) -> str:
    return (
        f"`dbt source freshness` on raw.{row.source} (newest `_loaded_at` in the table): warn after "
        f"{human(row.warn_after)}, error after {human(row.error_after)} — the row `{row.source}` of "
        "customer360/sla.py, as rendered into dbt_project/models/staging/_sources.yml. Run hourly by the schedule "
        "hourly_dbt_source_freshness."
    )


def check_result(source: str, result: Mapping[str, Any] | None) -> dg.AssetCheckResult:
    """One source's entry of dbt's ``sources.json`` (``None``: dbt reported nothing for it) as a check result."""
    key = raw_key(source)
    if result is None:
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=DBT_SOURCE_FRESHNESS_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"dbt source freshness reported no result for raw.{source}",
        )
    status = str(result.get("status"))
    metadata: dict[str, Any] = {"dbt_status": status}
    if result.get("max_loaded_at"):
        metadata["max_loaded_at"] = str(result["max_loaded_at"])
    if result.get("max_loaded_at_time_ago_in_s") is not None:
        metadata["age_hours"] = dg.MetadataValue.float(round(float(result["max_loaded_at_time_ago_in_s"]) / 3600, 2))
    if result.get("snapshotted_at"):
        metadata["snapshotted_at"] = str(result["snapshotted_at"])
    if result.get("error") or result.get("message"):
        metadata["dbt_message"] = str(result.get("error") or result.get("message"))
    row = SLAS[source]
    metadata["sla"] = f"warn after {human(row.warn_after)}, error after {human(row.error_after)}"
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=DBT_SOURCE_FRESHNESS_CHECK,
        passed=status == "pass",
        severity=dg.AssetCheckSeverity.WARN if status in ("pass", "warn") else dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


def results_by_source(sources_json: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``sources.json`` results keyed by raw table name (``source.<project>.raw.<table>``)."""
    out: dict[str, Mapping[str, Any]] = {}
    for result in sources_json.get("results", []):
        parts = str(result.get("unique_id", "")).split(".")
        if len(parts) == 4 and parts[0] == "source" and parts[2] == RAW:
            out[parts[3]] = result
    return out


def build_source_freshness_check(sources: Iterable[str]) -> dg.AssetChecksDefinition:
    """The ``dbt_source_freshness`` check of each raw source in ``sources`` (rows of the SLA table)."""
    names = sorted(sources)
    specs = [
        dg.AssetCheckSpec(
            DBT_SOURCE_FRESHNESS_CHECK, asset=raw_key(s), description=_description(SLAS[s]), blocking=False
        )
        for s in names
    ]

    @dg.multi_asset_check(
        specs=specs,
        name=DBT_SOURCE_FRESHNESS_OP,
        can_subset=True,
        pool="warehouse",
        description="dbt source freshness over the raw sources (thresholds: customer360/sla.py).",
    )
    def c360_dbt_source_freshness(
        context: dg.AssetCheckExecutionContext, dbt: C360DbtResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = {k.asset_key.path[-1] for k in context.selected_asset_check_keys}
        wanted = [s for s in names if s in selected]
        # one --select value, space-separated (dagster-dbt moves loose arguments after its own)
        args = ["source", "freshness", "--select", " ".join(f"source:{RAW}.{s}" for s in wanted)]
        invocation = dbt.cli(args, raise_on_error=False).wait()
        try:
            sources_json = invocation.get_artifact("sources.json")
        except FileNotFoundError as exc:  # dbt failed before checking anything (profile, connection, ...)
            raise dg.Failure(
                description=f"dbt source freshness wrote no sources.json (exit {invocation.process.returncode})"
            ) from exc
        found = results_by_source(sources_json)
        for source in wanted:
            yield check_result(source, found.get(source))

    return c360_dbt_source_freshness


def source_freshness_checks(defs: dg.Definitions) -> list[dg.AssetChecksDefinition]:
    """The check for the SLA rows whose raw asset is in ``defs``; none when ``defs`` has no dbt resource."""
    if DBT_RESOURCE_KEY not in (defs.resources or {}):
        return []
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    sources = [s for s in SLAS if raw_key(s) in keys]
    return [build_source_freshness_check(sources)] if sources else []
