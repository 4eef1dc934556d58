"""Loading landing files into ``raw.<source>``, one arrival day per transaction.

For each arrival day of the requested window the loader reads every landing file of that day, validates it
(:mod:`~customer360.ingestion.contracts` + :mod:`~customer360.ingestion.foreign_keys`), quarantines the
files that fail (:mod:`~customer360.ingestion.quarantine`) and replaces the day in the warehouse with the
files that pass — delete + insert in one transaction, so a reader sees the old day or the new day, never
half of it. Rows that a quarantined key loaded earlier are kept (a broken re-delivery never deletes the last
good load of that file); rows of files no longer in the landing zone go. Re-running a day gives the same rows.

This module knows nothing of Dagster: the asset (and the benchmark) call :func:`load_days`.
"""

import io
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import polars as pl

from customer360.catalog import LOADER_COLUMNS, SOURCES
from customer360.ingestion.contracts import ContractError, Violation, catalog_columns, validate
from customer360.ingestion.foreign_keys import ReferenceIndexes, check_foreign_keys
from customer360.ingestion.partitions import partition_key_for_day
from customer360.ingestion.quarantine import QuarantineRecord, open_records, quarantine_file, resolve
from customer360.resources.landing import LandedKey, LandingResource
from customer360.resources.warehouse import RawFile, WarehouseResource
from customer360.storage import ObjectInfo

log = logging.getLogger(__name__)


def raw_columns(source: str) -> list[tuple[str, str]]:
    """Columns of ``raw.<source>``: the catalog's, then the loader's."""
    return catalog_columns(source) + [(c.name, c.type) for c in LOADER_COLUMNS]


@dataclass
class LoadReport:
    source: str
    days: list[date]
    rows: int = 0
    bytes: int = 0
    files_loaded: list[str] = field(default_factory=list)
    quarantined: list[QuarantineRecord] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)  # partition key -> content fingerprint
    rows_by_day: dict[str, int] = field(default_factory=dict)
    preview: pl.DataFrame | None = None
    seconds: float = 0.0


def read_landing_file(source: str, parsed: LandedKey, data: bytes) -> pl.DataFrame:
    """Parse and validate one landing file; raise :class:`ContractError` with the reasons."""
    try:
        df = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several types for corrupt/truncated parquet
        raise ContractError(
            [Violation("readable", f"file is not readable parquet ({type(exc).__name__}: {exc})")]
        ) from None
    return validate(source, df, parsed.load_date)


def load_days(
    source: str,
    days: list[date],
    warehouse: WarehouseResource,
    landing: LandingResource,
    loaded_at: datetime | None = None,
    logger: logging.Logger | None = None,
) -> LoadReport:
    """Load the arrival ``days`` of ``source`` (each day atomically replaced) and report what happened."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    logger = logger or log
    started = time.perf_counter()
    loaded_at = loaded_at or datetime.now(UTC)
    days = sorted(set(days))
    report = LoadReport(source, days)
    columns = catalog_columns(source)
    warehouse.ensure_table("raw", source, raw_columns(source))
    if not days:
        return report

    wanted = set(days)
    by_day: dict[date, list[tuple[LandedKey, ObjectInfo]]] = defaultdict(list)
    for parsed, info in landing.list_source(source):
        if parsed.load_date in wanted:
            by_day[parsed.load_date].append((parsed, info))
    open_by_key = {r.key: r for r in open_records(landing, source, wanted)}
    indexes = ReferenceIndexes(warehouse, landing, up_to=days[-1])
    partition_files: dict[str, list[ObjectInfo]] = defaultdict(list)
    partition_contents: dict[str, dict[str, bytes]] = defaultdict(dict)

    for day in days:
        good: list[RawFile] = []
        bad: list[str] = []
        for parsed, info in sorted(by_day.get(day, []), key=lambda p: p[0].key):
            data: bytes | None = None
            try:
                data = landing.read(parsed.key)
                frame = read_landing_file(source, parsed, data)
                violations = check_foreign_keys(source, frame, day, indexes)
                if violations:
                    raise ContractError(violations)
            except ContractError as exc:
                record = quarantine_file(landing, parsed.key, data, exc.violations)
                report.quarantined.append(record)
                bad.append(parsed.key)
                logger.warning("quarantined %s: %s", parsed.key, record.reason)
            else:
                good.append(RawFile(parsed.key, day, frame))
                report.bytes += info.size
            pkey = partition_key_for_day(source, day)
            if pkey is not None:
                partition_files[pkey].append(info)
                if data is not None and not landing.is_s3:
                    partition_contents[pkey][parsed.key] = data
        try:
            inserted = warehouse.load_raw_files(source, columns, [day], good, loaded_at, retain_files=bad)
        except Exception as exc:
            # An engine that loads from the files itself (Snowflake COPY) may reject files that passed our
            # contract; it commits the others and raises an error carrying ``rejected`` {key: reason}.
            rejected = getattr(exc, "rejected", None)
            if not isinstance(rejected, dict):
                raise
            inserted = int(getattr(exc, "inserted", 0) or 0)
            for key, reason in rejected.items():
                data = partition_contents.get(partition_key_for_day(source, day) or "", {}).get(key)
                record = quarantine_file(landing, key, data if data is not None else landing.read(key),
                                         [Violation("warehouse_load", f"the warehouse rejected the file: {reason}")])
                report.quarantined.append(record)
                bad.append(key)
                logger.warning("quarantined %s: %s", key, record.reason)
            good = [f for f in good if f.key not in rejected]
        report.rows += inserted
        report.rows_by_day[day.isoformat()] = inserted
        report.files_loaded += [f.key for f in good]
        if good:
            report.preview = good[-1].frame.head(5)
        # close quarantine records of this day whose key no longer fails (fixed re-delivery or removed)
        for key, record in open_by_key.items():
            if record.load_date == day and key not in bad:
                resolve(landing, key, "loaded after re-delivery" if key in {f.key for f in good} else "file removed")
                report.resolved.append(key)
        logger.info("raw.%s %s: %d rows from %d file(s), %d quarantined", source, day, inserted, len(good), len(bad))

    for day in days:  # partitions without files still get a fingerprint (of nothing)
        pkey = partition_key_for_day(source, day)
        if pkey is not None:
            partition_files.setdefault(pkey, [])
    for pkey, infos in partition_files.items():
        report.fingerprints[pkey] = landing.content_fingerprint(infos, partition_contents.get(pkey))
    report.seconds = time.perf_counter() - started
    return report
