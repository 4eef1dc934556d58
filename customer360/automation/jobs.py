"""Jobs for manual runs and partition backfills, built from the asset graph (so new assets join the right job).

- ``daily_partitions_job``: every daily-partitioned asset (raw daily sources + ``marts/fct_transactions``).
  Backfill from the CLI: ``dagster job backfill -j daily_partitions_job --from 2024-01-01 --to 2024-01-30``
  (one run per partition), or from the UI as an asset backfill (asset graph → select → Materialize → range): the
  raw assets and ``fct_transactions`` have ``BackfillPolicy.single_run()``, so an asset backfill runs the whole
  range as one run (one dbt invocation).
- ``weekly_partitions_job``: every weekly-partitioned asset (``raw/products``, Monday weeks).
- ``downstream_job``: every unpartitioned asset downstream of raw (staging → marts → ML, snapshots): "rebuild now".

Retries: ops in these jobs retry transient errors (``TRANSIENT_RETRY_POLICY``: 2 retries, 10 s exponential backoff).
Run-level retries (worker crash, lost code server) are instance configuration (``run_retries`` in dagster.yaml).
"""

import dagster as dg

from customer360.catalog import RAW, Cadence

DAILY_JOB = "daily_partitions_job"
WEEKLY_JOB = "weekly_partitions_job"
DOWNSTREAM_JOB = "downstream_job"

TRANSIENT_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)


def partition_cadence(partitions_def) -> Cadence | None:
    """The catalogue's partition cadence (``Cadence.partitions``: daily / weekly) of these partitions, None for
    unpartitioned assets or other partitions. The partitions themselves are built from the catalogue
    (``ingestion.partitions``), so this reads their kind back rather than parsing their cron."""
    if isinstance(partitions_def, dg.WeeklyPartitionsDefinition):
        return Cadence.WEEKLY
    if isinstance(partitions_def, dg.DailyPartitionsDefinition):
        return Cadence.DAILY
    return None


def build_jobs(defs: dg.Definitions) -> list:
    graph = defs.resolve_asset_graph()
    by_kind: dict[str, list[dg.AssetKey]] = {Cadence.DAILY: [], Cadence.WEEKLY: [], "downstream": []}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        cadence = partition_cadence(node.partitions_def)
        if cadence:
            by_kind[cadence].append(key)
        elif node.partitions_def is None and key.path[0] != RAW:
            by_kind["downstream"].append(key)
    specs = [
        (
            DAILY_JOB,
            Cadence.DAILY,
            "Every daily-partitioned asset (raw daily sources, fct_transactions): backfill target.",
        ),
        (WEEKLY_JOB, Cadence.WEEKLY, "Every weekly-partitioned asset (raw/products, Monday weeks)."),
        (DOWNSTREAM_JOB, "downstream", "Rebuild every unpartitioned asset downstream of raw (staging → marts → ML)."),
    ]
    return [
        dg.define_asset_job(
            name,
            selection=dg.AssetSelection.assets(*by_kind[kind]),
            description=description,
            op_retry_policy=TRANSIENT_RETRY_POLICY,
        )
        for name, kind, description in specs
        if by_kind[kind]
    ]
