"""Raw ingestion assets ``raw/<source>``: landing files of an arrival day → the day's rows in ``raw.<source>``.

One asset per catalog source, group ``raw``, partitioned by arrival day (products: by Monday week). A run
may cover a range of partitions (``BackfillPolicy.single_run()``): the asset loads every day of its time
window (days replaced atomically, see :mod:`~customer360.ingestion.loader`), so a 365-day backfill is one
run, not 365.

A range run still records ONE materialization per partition, each with that partition's own rows
(``dagster/row_count`` and ``dagster/partition_row_count``), files (count and a short list), bytes, files
quarantined and a preview (``context.add_asset_metadata(..., partition_key=...)``: Dagster merges it into that
partition's event only). The run's totals (rows, files, bytes, quarantined, loader wall/CPU seconds) are ONE
line of the run's log, :func:`run_summary_message` (machine-readable with :func:`parse_run_summary`). The
content fingerprint of every loaded partition goes to the load ledger (:mod:`~customer360.ingestion.ledger`).
The asset check ``no_quarantined_files`` fails while any file of the source sits in quarantine, naming the
files and their partitions.
The WARN check ``no_unrecognised_landing_objects`` names every landing object that matches no
source/day layout and so is not loaded (see :class:`~customer360.resources.landing.UnrecognisedObject`).
"""

import json
import warnings
from datetime import date
from typing import TYPE_CHECKING, Any

import dagster as dg

from customer360.catalog import LOADER_COLUMNS, RAW, SOURCES, Cadence
from customer360.ingestion.ledger import record_loads
from customer360.ingestion.partitions import days_of_partition, days_of_window, partitions_for
from customer360.ingestion.quarantine import open_records
from customer360.physical_types import DBT_TYPES
from customer360.resources.landing import LandingResource
from customer360.resources.warehouse import Warehouse
from customer360.settings import Settings, get_settings

if TYPE_CHECKING:  # the loader imports polars, pandera and numpy: paid by the load step, not the code location
    from customer360.ingestion.loader import DayLoad, LoadReport

OWNERS = ["team:data-platform"]
QUARANTINE_CHECK = "no_quarantined_files"
UNRECOGNISED_CHECK = "no_unrecognised_landing_objects"
RAW_ASSET_CHECKS = (QUARANTINE_CHECK, UNRECOGNISED_CHECK)  # evaluated by every load of a raw asset
MAX_LISTED_FILES = 20  # files listed in a partition's metadata (a day has a handful)
RUN_SUMMARY_PREFIX = "load summary "  # the run-log line with a range run's totals, see run_summary_message


def raw_asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey([RAW, source])


def column_schema(source: str) -> dg.TableSchema:
    spec = SOURCES[source]
    cols = [
        dg.TableColumn(
            c.name,
            DBT_TYPES[c.type],
            description=c.description,
            constraints=dg.TableColumnConstraints(
                nullable=c.nullable,
                unique=c.name == spec.primary_key or c.name in spec.unique,
                other=[f"one of {list(c.enum)}"] if c.enum else [],
            ),
        )
        for c in spec.columns
    ]
    cols += [dg.TableColumn(c.name, DBT_TYPES[c.type], description=c.description) for c in LOADER_COLUMNS]
    return dg.TableSchema(columns=cols)


def _preview_markdown(load: "DayLoad") -> str:
    df = load.preview
    if df is None or df.height == 0:
        return "_no rows loaded_"
    header = "| " + " | ".join(df.columns) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    rows = ["| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in r) + " |" for r in df.rows()]
    return "\n".join([header, sep, *rows])


def _sample_keys(keys: list[str]) -> list[str]:
    if len(keys) <= MAX_LISTED_FILES:
        return keys
    half = MAX_LISTED_FILES // 2
    return [*keys[:half], f"… {len(keys) - MAX_LISTED_FILES} more …", *keys[-half:]]


def _window_days(context: dg.AssetExecutionContext, source: str) -> list[date]:
    window = context.partition_time_window
    return days_of_window(window.start.date(), window.end.date())


def _span(keys: list[str]) -> str:
    return f"{keys[0]} .. {keys[-1]}" if len(keys) > 1 else keys[0]


def partition_metadata(load: "DayLoad", run_partitions: str) -> dict[str, Any]:
    """The materialization metadata of one partition: what its own day(s) loaded."""
    return {
        "dagster/row_count": load.rows,
        "dagster/partition_row_count": load.rows,
        "files_loaded": len(load.files),
        "files": dg.MetadataValue.json(_sample_keys(load.files)),
        "bytes": load.bytes,
        "files_quarantined": len(load.quarantined),
        "quarantined": dg.MetadataValue.json({r.key: r.reason for r in load.quarantined}),
        "preview": dg.MetadataValue.md(_preview_markdown(load)),
        "run_partitions": run_partitions,
    }


def partition_loads(source: str, report: "LoadReport", partition_keys: list[str]) -> dict[str, "DayLoad"]:
    """Each partition's load: the loads of its arrival days combined (a weekly partition has seven)."""
    from customer360.ingestion.loader import DayLoad

    return {key: DayLoad.combine(report.by_day[d] for d in days_of_partition(source, key)) for key in partition_keys}


def run_summary(report: "LoadReport", partition_keys: list[str]) -> dict[str, Any]:
    """A range run's totals over all its partitions."""
    return {
        "source": report.source,
        "partitions": _span(partition_keys),
        "partition_count": len(partition_keys),
        "rows": report.rows,
        "files": len(report.files_loaded),
        "bytes": report.bytes,
        "files_quarantined": len(report.quarantined),
        "seconds": round(report.seconds, 3),
        "cpu_seconds": round(report.cpu_seconds, 3),
        "rows_per_second": round(report.rows / report.seconds, 1) if report.seconds else 0.0,
    }


def run_summary_message(summary: dict[str, Any]) -> str:
    return RUN_SUMMARY_PREFIX + json.dumps(summary, separators=(", ", ": "))


def parse_run_summary(message: str) -> dict[str, Any] | None:
    """The totals of a :func:`run_summary_message` log line; ``None`` for any other line."""
    return json.loads(message[len(RUN_SUMMARY_PREFIX) :]) if message.startswith(RUN_SUMMARY_PREFIX) else None


def build_raw_asset(source: str, settings: Settings | None = None) -> dg.AssetsDefinition:
    settings = settings or get_settings()
    spec = SOURCES[source]
    key = raw_asset_key(source)
    kinds = {"parquet", settings.warehouse}
    if settings.landing_url.startswith("s3://"):
        kinds.add("s3")
    fk_text = ", ".join(f"{c.name} → {c.references}" for c in spec.foreign_keys) or "none"
    description = (
        f"{spec.description}\n\nGrain: {spec.grain}\n\nLanding: `{source}/load_date=YYYY-MM-DD/*.parquet`, "
        f"partitioned by arrival day{' (weekly, Monday)' if spec.partition_cadence == Cadence.WEEKLY else ''}. "
        f"Primary key `{spec.primary_key}`; foreign keys: {fk_text}. Bad files go to quarantine "
        f"(see the `{QUARANTINE_CHECK}` check)."
    )

    with warnings.catch_warnings():  # backfill_policy is marked beta; its single-run behaviour is what we need
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _define(source, key, description, kinds, settings)


def _define(source: str, key: dg.AssetKey, description: str, kinds: set[str], settings: Settings):
    spec = SOURCES[source]

    @dg.asset(
        key=key,
        group_name=RAW,
        description=description,
        owners=OWNERS,
        kinds=kinds,
        partitions_def=partitions_for(source, settings.partitions_start),
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[
            dg.AssetCheckSpec(
                QUARANTINE_CHECK,
                asset=key,
                description=f"Fails while any {source} landing file is in quarantine; names the files and days.",
            ),
            dg.AssetCheckSpec(
                UNRECOGNISED_CHECK,
                asset=key,
                description=f"Warns while landing objects under {source}/ (or outside every source folder) match no "
                "<source>/load_date=YYYY-MM-DD/<file>.parquet layout and are therefore not loaded; names them.",
            ),
        ],
        metadata={
            "dagster/column_schema": column_schema(source),
            "dagster/table_name": f"raw.{source}",
            "primary_key": spec.primary_key,
            "cadence": spec.cadence.value,
        },
        tags={"layer": RAW, "source": source},
        pool="warehouse",
    )
    def _raw_asset(context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse], landing: LandingResource):
        from customer360.ingestion.loader import load_days

        report = load_days(source, _window_days(context, source), warehouse, landing, logger=context.log)
        keys = context.partition_keys
        loads = partition_loads(source, report, keys)
        record_loads(landing, source, {key: load.content_fingerprint(landing) for key, load in loads.items()})
        span = _span(keys)
        for key, load in loads.items():
            context.add_asset_metadata(partition_metadata(load, span), partition_key=key)
        context.log.info(run_summary_message(run_summary(report, keys)))
        # metadata here is common to every partition's materialization; the per-partition part is added above
        yield dg.MaterializeResult(metadata={"dagster/column_schema": column_schema(source)})
        yield _quarantine_check(source, landing, report)
        yield _unrecognised_check(source, landing)

    return _raw_asset


def _check_result(
    name: str, severity: dg.AssetCheckSeverity, problems: list[str], passed: str, failed: str, metadata: dict[str, Any]
) -> dg.AssetCheckResult:
    """A check that passes without ``problems``; else its description is ``failed: problem; problem; …``."""
    return dg.AssetCheckResult(
        check_name=name,
        passed=not problems,
        severity=severity,
        description=passed if not problems else f"{failed}: " + "; ".join(problems),
        metadata=metadata,
    )


def _quarantine_check(source: str, landing: LandingResource, report: "LoadReport") -> dg.AssetCheckResult:
    open_now = open_records(landing, source)
    by_day: dict[str, list[str]] = {}
    for r in open_now:
        by_day.setdefault(r.load_date.isoformat(), []).append(r.file_name)
    return _check_result(
        QUARANTINE_CHECK,
        dg.AssetCheckSeverity.ERROR,
        [f"{d}: {', '.join(files)}" for d, files in sorted(by_day.items())],
        passed="no file of this source is in quarantine",
        failed=f"{len(open_now)} {source} file(s) in quarantine",
        metadata={
            "quarantined_files": dg.MetadataValue.json({r.key: r.reason for r in open_now}),
            "quarantined_by_partition": dg.MetadataValue.json(by_day),
            "quarantined_in_this_run": dg.MetadataValue.json(sorted({r.key for r in report.quarantined})),
            "quarantine_url": landing.quarantine_url,
        },
    )


def _unrecognised_check(source: str, landing: LandingResource) -> dg.AssetCheckResult:
    objects = landing.unrecognised_objects(source)
    listed = {o.key: o.reason for o in objects[:MAX_LISTED_FILES]}
    problems = [f"{k}: {r}" for k, r in listed.items()]
    if len(objects) > len(listed):
        problems[-1] += f" (+ {len(objects) - len(listed)} more)"
    return _check_result(
        UNRECOGNISED_CHECK,
        dg.AssetCheckSeverity.WARN,
        problems,
        passed="every landing object matches the source/day layout",
        failed=f"{len(objects)} landing object(s) not loaded (match no layout)",
        metadata={
            "unrecognised_objects": dg.MetadataValue.json(listed),
            "unrecognised_count": len(objects),
            "landing_url": landing.landing_url,
        },
    )


def build_raw_assets(settings: Settings | None = None) -> list[dg.AssetsDefinition]:
    return [build_raw_asset(s, settings) for s in SOURCES]
