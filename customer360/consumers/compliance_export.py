"""The compliance team's high-risk transaction exports: each day's ``is_high_risk`` rows of ``marts.fct_transactions``.

Per transaction day D (the daily partitions of the raw assets and ``fct_transactions``), under ``C360_EXPORTS_URL``:

    compliance/high_risk_transactions/transaction_day=D/high_risk_transactions-<sha12>.parquet
    compliance/high_risk_transactions/transaction_day=D/high_risk_transactions-<sha12>.csv
    compliance/high_risk_transactions/transaction_day=D/manifest.json     ← written last: the day's commit point

Each row carries the customer's latest ML risk tier (``ml.customer_risk_scores``: tier, anomaly score, top signals,
model version) and the signals of the ``is_high_risk`` rule (README "Design decisions") that fired, as booleans and
as ``signals_fired``. The data files are named by their content hash, so a re-run never overwrites a file a reader
may be reading; the manifest (row count, total flagged amount in USD, model version, file names + sha256) is written
last and then the day's older files are deleted: a reader that opens the manifest always finds a complete,
consistent day. A backfill of a range is one run (``BackfillPolicy.single_run()``) writing every day of the range
(an empty day gets a manifest with 0 rows, so "no flagged transactions" is distinguishable from "not exported").
"""

import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import polars as pl

from customer360.resources.warehouse import Warehouse
from customer360.storage import ObjectStore, open_store
from customer360.transform.project_vars import project_var

EXPORT_PREFIX = "compliance/high_risk_transactions"
FILE_STEM = "high_risk_transactions"
MANIFEST_NAME = "manifest.json"

# (column, the is_high_risk rule's reading) — README "Design decisions" / marts/fct_transactions.sql
SIGNALS: tuple[tuple[str, str], ...] = (
    ("signal_ml_high_risk_tier", "customer's ML risk_tier is high"),
    ("signal_customer_night_ratio", "customer's night-time share >= fraud_customer_ratio_threshold"),
    ("signal_customer_failed_ratio", "customer's failed-attempt share >= fraud_customer_ratio_threshold"),
    ("signal_unusual_amount", "amount > fraud_unusual_amount_multiple x the customer's average"),
    ("signal_night", "attempt between 00:00 and 05:00 UTC"),
    ("signal_failed", "attempt failed"),
    ("signal_non_usd", "attempt in a non-USD currency"),
)

_QUERY = """
with risk as (
    select customer_id, risk_tier, anomaly_score, top_signals, model_version
    from (
        select s.*, row_number() over (partition by s.customer_id order by s.scored_at desc, s.model_version desc) as rk
        from ml.customer_risk_scores as s
        where s.customer_id is not null
    ) as ranked
    where rk = 1
)
select
    t.transaction_id,
    t.customer_id,
    t.order_id,
    t.transaction_date,
    t.transaction_day,
    t.amount                                                          as amount_usd,
    t.amount_local,
    t.currency,
    t.payment_method,
    t.transaction_type,
    t.status,
    t.merchant_id,
    coalesce(risk.risk_tier, 'unscored')                              as risk_tier,
    risk.anomaly_score,
    risk.top_signals                                                  as risk_top_signals,
    risk.model_version                                                as risk_model_version,
    coalesce(risk.risk_tier = 'high', false)                          as signal_ml_high_risk_tier,
    coalesce(sig.night_txn_ratio >= ?, false)                         as signal_customer_night_ratio,
    coalesce(sig.failed_txn_ratio >= ?, false)                        as signal_customer_failed_ratio,
    coalesce(t.amount > ? * ct.avg_transaction_amount, false)         as signal_unusual_amount,
    coalesce(extract(hour from t.transaction_date) < 5, false)        as signal_night,
    coalesce(t.status = 'failed', false)                              as signal_failed,
    coalesce(t.currency <> 'USD', false)                              as signal_non_usd
from marts.fct_transactions as t
left join intermediate.int_customer_fraud_signals as sig on t.customer_id = sig.customer_id
left join intermediate.int_customer_transactions as ct on t.customer_id = ct.customer_id
left join risk on t.customer_id = risk.customer_id
where t.is_high_risk
  and t.transaction_day >= ?
  and t.transaction_day < ?
order by t.transaction_day, t.transaction_date, t.transaction_id
"""


class ExportLocationError(RuntimeError):
    """The exports location is missing, unreachable or not writable."""


@dataclass(frozen=True)
class DayExport:
    day: date
    row_count: int
    flagged_amount_usd: float  # rounded to the cent
    model_version: str | None
    manifest_key: str
    files: dict[str, str]  # format → key


def high_risk_transactions(warehouse: Warehouse, first: date, end: date) -> pl.DataFrame:
    """The ``is_high_risk`` rows with ``first <= transaction_day < end``, their risk tier and the signals fired."""
    ratio = float(project_var("fraud_customer_ratio_threshold"))
    multiple = float(project_var("fraud_unusual_amount_multiple"))
    frame = warehouse.query(_QUERY, [ratio, ratio, multiple, first, end])
    names = [name for name, _ in SIGNALS]
    fired = (
        [
            ",".join(n.removeprefix("signal_") for n, on in zip(names, flags, strict=True) if on)
            for flags in frame.select(names).iter_rows()
        ]
        if frame.height
        else []
    )
    return frame.with_columns(pl.Series("signals_fired", fired, dtype=pl.Utf8))


def latest_risk_model_version(warehouse: Warehouse) -> str | None:
    rows = warehouse.query(
        "select model_version from ml.customer_risk_scores where model_version is not null "
        "order by scored_at desc, model_version desc limit 1"
    )
    return rows["model_version"][0] if rows.height else None


def flagged_amount(frame: pl.DataFrame) -> float:
    """The KPI: total USD amount of the flagged attempts, to the cent (the semantic layer's ``flagged_amount``)."""
    return round(float(frame["amount_usd"].sum() or 0.0), 2) if frame.height else 0.0


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    # polars' writer: ISO timestamps, booleans as true/false, nulls empty
    buffer = io.BytesIO()
    frame.write_csv(buffer, quote_style="necessary")
    return buffer.getvalue()


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


def day_prefix(day: date) -> str:
    return f"{EXPORT_PREFIX}/transaction_day={day.isoformat()}"


def write_day(
    store: ObjectStore,
    day: date,
    frame: pl.DataFrame,
    model_version: str | None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> DayExport:
    """Write one day atomically: content-named data files, then the manifest, then drop the day's older files."""
    prefix = day_prefix(day)
    payloads = {"parquet": _parquet_bytes(frame), "csv": _csv_bytes(frame)}
    files, digests = {}, {}
    for fmt, data in payloads.items():
        digest = hashlib.sha256(data).hexdigest()
        key = f"{prefix}/{FILE_STEM}-{digest[:12]}.{fmt}"
        files[fmt], digests[fmt] = key, digest
    versions = sorted({v for v in frame["risk_model_version"].to_list() if v}) if frame.height else []
    amount = flagged_amount(frame)
    manifest = {
        "transaction_day": day.isoformat(),
        "row_count": frame.height,
        "flagged_amount_usd": amount,
        "model_version": versions[-1] if versions else model_version,
        "model_versions_in_rows": versions,
        "columns": frame.columns,
        "signals": dict(SIGNALS),
        "files": {fmt: {"key": key, "sha256": digests[fmt], "bytes": len(payloads[fmt])} for fmt, key in files.items()},
        "source": "marts.fct_transactions where is_high_risk",
        "run_id": run_id,
        "exported_at": (now or datetime.now(UTC)).isoformat(),
    }
    try:
        for fmt, key in files.items():
            store.write(key, payloads[fmt])
        manifest_key = f"{prefix}/{MANIFEST_NAME}"
        store.write(manifest_key, json.dumps(manifest, indent=2, sort_keys=True).encode())
        keep = {*files.values(), manifest_key}
        for info in store.list(prefix):
            if info.key not in keep:
                store.delete(info.key)
    except Exception as exc:  # an unreachable bucket, a path that cannot be created, no permission
        raise ExportLocationError(
            f"cannot write the compliance export of {day} to {store.url}: {type(exc).__name__}: {exc}. "
            "Check C360_EXPORTS_URL (local folder or s3://bucket/prefix) and its permissions; re-run the partition."
        ) from exc
    return DayExport(day, frame.height, amount, manifest["model_version"], manifest_key, files)


def read_day(store: ObjectStore, day: date) -> tuple[dict[str, Any], pl.DataFrame]:
    """The committed export of ``day``: its manifest and its parquet rows (what a compliance reader does)."""
    manifest = json.loads(store.read(f"{day_prefix(day)}/{MANIFEST_NAME}"))
    frame = pl.read_parquet(io.BytesIO(store.read(manifest["files"]["parquet"]["key"])))
    return manifest, frame


@dataclass(frozen=True)
class WindowExport:
    days: list[DayExport]
    flagged_amount_usd: float  # the window's KPI, rounded once (not a sum of rounded days)
    row_count: int


def export_window(
    warehouse: Warehouse, store: ObjectStore, first: date, end: date, run_id: str | None = None
) -> WindowExport:
    """Export every day of ``[first, end)``; the warehouse is read once for the whole window."""
    frame = high_risk_transactions(warehouse, first, end)
    model_version = latest_risk_model_version(warehouse)
    days = [first + timedelta(days=i) for i in range((end - first).days)]
    exports = [
        write_day(store, day, frame.filter(pl.col("transaction_day") == day), model_version, run_id=run_id)
        for day in days
    ]
    return WindowExport(exports, flagged_amount(frame), frame.height)


def open_exports(url: str) -> ObjectStore:
    try:
        return open_store(url)
    except Exception as exc:
        raise ExportLocationError(f"C360_EXPORTS_URL {url!r} is not a usable exports location: {exc}") from exc


def summary_metadata(window: WindowExport, store: ObjectStore) -> dict[str, Any]:
    exports = window.days
    table = "| day | rows | flagged USD | model version |\n|---|---:|---:|---|\n" + "\n".join(
        f"| {e.day} | {e.row_count} | {e.flagged_amount_usd:,.2f} | {e.model_version or '—'} |" for e in exports[-31:]
    )
    return {
        "flagged_amount_usd": dg.MetadataValue.float(window.flagged_amount_usd),
        "flagged_transactions": dg.MetadataValue.int(window.row_count),
        "days_exported": dg.MetadataValue.int(len(exports)),
        "model_version": dg.MetadataValue.text(
            next((e.model_version for e in exports if e.model_version), None) or "—"
        ),
        "location": dg.MetadataValue.path(store.describe(EXPORT_PREFIX)),
        "manifests": dg.MetadataValue.json([e.manifest_key for e in exports]),
        "days": dg.MetadataValue.md(table),
    }


EXPOSURE_NAME = "compliance_high_risk_transaction_exports"


def build_compliance_export_asset(manifest: dict[str, Any], exports_url: str, partitions_def) -> dg.AssetsDefinition:
    from customer360.consumers.exposures import asset_kwargs, built_exposure

    kwargs = asset_kwargs(built_exposure(manifest, EXPOSURE_NAME))

    with warnings.catch_warnings():  # backfill_policy is marked beta; its single-run behaviour is what we need
        warnings.simplefilter("ignore", dg.BetaWarning)
        decorator = dg.asset(
            **kwargs, partitions_def=partitions_def, backfill_policy=dg.BackfillPolicy.single_run(), pool="warehouse"
        )

    @decorator
    def compliance_high_risk_transaction_exports(
        context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        first, end = window.start.date(), window.end.date()
        try:
            store = open_exports(exports_url)
            result = export_window(warehouse, store, first, end, run_id=context.run.run_id)
        except ExportLocationError as exc:
            raise dg.Failure(description=str(exc)) from exc
        context.log.info(
            f"exported {result.row_count} high-risk transactions ({result.flagged_amount_usd:,.2f} USD) "
            f"for {first}..{end - timedelta(days=1)} to {store.describe(EXPORT_PREFIX)}"
        )
        return dg.MaterializeResult(metadata=summary_metadata(result, store))

    return compliance_high_risk_transaction_exports
