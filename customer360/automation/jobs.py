"""Jobs for manual runs and partition backfills, with retries and the one-writer rule.

- ``daily_partitions_job``: the daily-partitioned assets (raw daily sources + ``marts/fct_transactions``).
  Backfill from the CLI: ``dagster job backfill -j daily_partitions_job --from 2024-01-01 --to 2024-01-30``
  or from the UI (asset graph → select → Materialize → partition range). ``fct_transactions`` has
  ``BackfillPolicy.single_run()``: an asset backfill runs its range as one dbt invocation.
- ``weekly_partitions_job``: ``raw/products`` (weekly partitions, Mondays).
- ``downstream_job``: every unpartitioned non-raw asset (staging → marts → ML, snapshots): "rebuild now".

Retries: ops in these jobs retry transient errors (``TRANSIENT_RETRY_POLICY``: 2 retries, 10 s exponential backoff).
Run-level retries for runs that die outside an op (worker crash, lost code server) are instance configuration
(``run_retries`` in dagster.yaml, ``retry_on_asset_or_op_failure: false`` so data errors are not retried blindly).
"""

import dagster as dg

RAW = "raw"
FCT_TRANSACTIONS = dg.AssetKey(["marts", "fct_transactions"])
PRODUCTS = dg.AssetKey([RAW, "products"])

TRANSIENT_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)

DAILY_PARTITIONED = (dg.AssetSelection.groups(RAW) - dg.AssetSelection.assets(PRODUCTS)) | dg.AssetSelection.assets(
    FCT_TRANSACTIONS
)
WEEKLY_PARTITIONED = dg.AssetSelection.assets(PRODUCTS)
DOWNSTREAM = dg.AssetSelection.all() - dg.AssetSelection.groups(RAW) - dg.AssetSelection.assets(FCT_TRANSACTIONS)

daily_partitions_job = dg.define_asset_job(
    "daily_partitions_job",
    selection=DAILY_PARTITIONED,
    description="Daily-partitioned raw sources and fct_transactions; target of partition backfills.",
    op_retry_policy=TRANSIENT_RETRY_POLICY,
)
weekly_partitions_job = dg.define_asset_job(
    "weekly_partitions_job",
    selection=WEEKLY_PARTITIONED,
    description="raw/products, weekly partitions (Mondays).",
    op_retry_policy=TRANSIENT_RETRY_POLICY,
)
downstream_job = dg.define_asset_job(
    "downstream_job",
    selection=DOWNSTREAM,
    description="Rebuild every unpartitioned asset downstream of raw (staging → marts → ML, snapshots) now.",
    op_retry_policy=TRANSIENT_RETRY_POLICY,
)

JOBS = [daily_partitions_job, weekly_partitions_job, downstream_job]
