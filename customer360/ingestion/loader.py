"""Loading landing files into ``raw.<source>``: every arrival day replaced atomically.

For each arrival day of the requested window the loader reads and parses every landing file of that day.
Consecutive days are grouped into chunks of up to ``CHUNK_ROWS`` rows / ``CHUNK_DAYS`` days; a chunk's files
are conformed, validated and checked for foreign keys as ONE stacked frame that keeps each row's file
(:mod:`~customer360.ingestion.chunk`, :mod:`~customer360.ingestion.contracts`,
:mod:`~customer360.ingestion.foreign_keys`) — a fixed number of vectorised operations per chunk, not a handful
per file. The files that fail are quarantined with their own reasons (:mod:`~customer360.ingestion.quarantine`)
and the chunk's days are replaced in the warehouse with the files that pass — delete + insert in one
transaction (DuckDB: one insert of one Arrow batch), so a reader sees the old day or the new day, never half of it. Chunks keep
a year-long backfill to a few connections and bounded memory. Rows that a quarantined key loaded
earlier are kept (a broken re-delivery never deletes the last good load of that file); rows of files no
longer in the landing zone go. Re-running a day gives the same rows.

This module knows nothing of Dagster: the asset (and the benchmark) call :func:`load_days`.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import polars as pl

from customer360.catalog import LOADER_COLUMNS, SOURCES
from customer360.ingestion.chunk import ParsedFile, conform_chunk
from customer360.ingestion.contracts import ContractError, Violation, catalog_columns, validate_stacked
from customer360.ingestion.foreign_keys import ReferenceIndexes, check_foreign_keys_stacked
from customer360.ingestion.ledger import record_loads
from customer360.ingestion.partitions import partition_key_for_day
from customer360.ingestion.quarantine import QuarantineRecord, open_records, quarantine_file, resolve
from customer360.resources.landing import LandedKey, LandingResource, content_digest
from customer360.resources.warehouse import RawFile, WarehouseResource
from customer360.settings import get_settings
from customer360.storage import ObjectInfo

log = logging.getLogger(__name__)

# Days are written in chunks: each chunk replaces its days in ONE transaction (a reader sees every day of the
# chunk old or new, never half a day) and bounds the memory of a long backfill.
CHUNK_ROWS = 500_000
CHUNK_DAYS = 92


def raw_columns(source: str) -> list[tuple[str, str]]:
    """Columns of ``raw.<source>``: the catalog's, then the loader's."""
    return catalog_columns(source) + [(c.name, c.type) for c in LOADER_COLUMNS]


@dataclass
class DayLoad:
    """What the load of one arrival day (or of several, :meth:`combine`) put in ``raw.<source>``."""

    rows: int = 0
    bytes: int = 0  # landing bytes of the files loaded
    files: list[str] = field(default_factory=list)  # landing keys of the files loaded
    quarantined: list[QuarantineRecord] = field(default_factory=list)  # files of the day rejected by this load
    preview: pl.DataFrame | None = None  # first rows of the day's last loaded file

    @classmethod
    def combine(cls, loads: Iterable["DayLoad"]) -> "DayLoad":
        """The loads of consecutive days as one (a weekly partition's days); preview of the last day with rows."""
        out = cls()
        for load in loads:
            out.rows += load.rows
            out.bytes += load.bytes
            out.files += load.files
            out.quarantined += load.quarantined
            out.preview = load.preview if load.preview is not None else out.preview
        return out


@dataclass
class LoadReport:
    """The load of ``days``: each day's own :class:`DayLoad` in ``by_day`` (every requested day, files or not)
    and the totals over them."""

    source: str
    days: list[date]
    by_day: dict[date, DayLoad] = field(default_factory=dict)
    resolved: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)  # partition key -> content fingerprint
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # process CPU (user + system, every thread) spent in the load

    def __post_init__(self) -> None:
        for day in self.days:
            self.by_day.setdefault(day, DayLoad())

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.by_day.values())

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.by_day.values())

    @property
    def files_loaded(self) -> list[str]:
        return [k for d in self.by_day.values() for k in d.files]

    @property
    def quarantined(self) -> list[QuarantineRecord]:
        return [r for d in self.by_day.values() for r in d.quarantined]


def parse_landing_file(data: bytes) -> pl.DataFrame:
    """Parse one landing file (not yet conformed); raise :class:`ContractError` (``readable``)."""
    try:
        return pl.read_parquet(data)  # from bytes: cheaper than through a BytesIO
    except Exception as exc:  # polars raises several types for corrupt/truncated parquet
        raise ContractError(
            [Violation("readable", f"file is not readable parquet ({type(exc).__name__}: {exc})")]
        ) from None


@dataclass
class _Pending:
    """A parsed file waiting for the batch conform and checks of its chunk."""

    parsed: LandedKey
    info: ObjectInfo
    data: bytes
    frame: pl.DataFrame


def load_days(
    source: str,
    days: list[date],
    warehouse: WarehouseResource,
    landing: LandingResource,
    loaded_at: datetime | None = None,
    logger: logging.Logger | None = None,
    partitions_start: str | None = None,
) -> LoadReport:
    """Load the arrival ``days`` of ``source`` (each day atomically replaced) and report what happened.

    ``partitions_start``: first day of the partitions the days map to (the assets pass their settings'; default:
    ``C360_PARTITIONS_START`` from the environment)."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    logger = logger or log
    started, started_cpu = time.perf_counter(), time.process_time()
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
    partition_digests: dict[str, dict[str, str]] = defaultdict(dict)

    def reject(key: str, data: bytes | None, violations: list[Violation], bad: list[str]) -> None:
        record = quarantine_file(landing, key, data, violations)
        report.by_day[record.load_date].quarantined.append(record)
        bad.append(key)
        logger.warning("quarantined %s: %s", key, record.reason)

    def flush(chunk_days: list[date], pending: list[_Pending], bad: list[str]) -> None:
        """Conform and check the chunk's files as ONE batch, quarantine failures, replace the chunk's days in
        ONE transaction."""
        chunk, unconformed = conform_chunk(source, [ParsedFile(p.parsed.key, p.parsed.load_date, p.frame) for p in pending])
        for i, violations in unconformed.items():
            reject(pending[i].parsed.key, pending[i].data, violations, bad)
        good: list[RawFile] = []
        if chunk is not None:
            failures = validate_stacked(source, chunk.frame, chunk.days)
            for i, violations in check_foreign_keys_stacked(source, chunk.frame, chunk.days, chunk.heights, indexes).items():
                failures.setdefault(i, []).extend(violations)
            data_of = {p.parsed.key: p.data for p in pending}
            for i, key in enumerate(chunk.keys):
                if i in failures:
                    reject(key, data_of[key], failures[i], bad)
                else:
                    good.append(RawFile(key, chunk.days[i], chunk.file_frame(i)))
        try:
            warehouse.load_raw_files(source, columns, chunk_days, good, loaded_at, retain_files=bad)
        except Exception as exc:
            # An engine that loads from the files itself (Snowflake COPY) may reject files that passed our
            # contract; it commits the others and raises an error carrying ``rejected`` {key: reason}.
            rejected = getattr(exc, "rejected", None)
            if not isinstance(rejected, dict):
                raise
            data_of = {p.parsed.key: p.data for p in pending}
            for key, reason in rejected.items():
                reject(key, data_of.get(key), [Violation("warehouse_load", f"the warehouse rejected the file: {reason}")], bad)
            good = [f for f in good if f.key not in rejected]
        good_keys = {f.key for f in good}
        size_of = {p.parsed.key: p.info.size for p in pending}
        last_of_day: dict[date, RawFile] = {}
        for f in sorted(good, key=lambda f: (f.load_date, f.key)):  # a chunk groups its files by schema
            day_load = report.by_day[f.load_date]
            day_load.rows += f.frame.height
            day_load.bytes += size_of[f.key]
            day_load.files.append(f.key)
            last_of_day[f.load_date] = f
        for day, f in last_of_day.items():
            report.by_day[day].preview = f.frame.head(5)
        chunk_rows = sum(f.frame.height for f in good)
        # one line per chunk, not per day: in Dagster every log line is an event-log entry
        span = f"{chunk_days[0]}" if len(chunk_days) == 1 else f"{chunk_days[0]}..{chunk_days[-1]}"
        logger.info("raw.%s %s: %d rows from %d file(s), %d quarantined", source, span, chunk_rows, len(good), len(bad))
        # close quarantine records of these days whose key no longer fails (fixed re-delivery, or removed)
        for key, record in open_by_key.items():
            if record.load_date in chunk_days and key not in bad:
                resolve(landing, key, "loaded after re-delivery" if key in good_keys else "file removed")
                report.resolved.append(key)

    chunk_days: list[date] = []
    pending: list[_Pending] = []
    bad: list[str] = []
    rows = 0
    start = partitions_start or get_settings().partitions_start  # read once: it parses the environment
    partition_of = {day: partition_key_for_day(source, day, start) for day in days}
    for day in days:
        pkey = partition_of[day]
        for parsed, info in sorted(by_day.get(day, []), key=lambda p: p[0].key):
            data = landing.read(parsed.key)
            if pkey is not None:
                partition_files[pkey].append(info)
                if not landing.is_s3:
                    partition_digests[pkey][parsed.key] = content_digest(data)
            try:
                frame = parse_landing_file(data)
            except ContractError as exc:
                reject(parsed.key, data, exc.violations, bad)
                continue
            pending.append(_Pending(parsed, info, data, frame))
            rows += frame.height
        chunk_days.append(day)
        if rows >= CHUNK_ROWS or len(chunk_days) >= CHUNK_DAYS:
            flush(chunk_days, pending, bad)
            chunk_days, pending, bad, rows = [], [], [], 0
    if chunk_days:
        flush(chunk_days, pending, bad)

    for pkey in partition_of.values():  # partitions without files still get a fingerprint (of nothing)
        if pkey is not None:
            partition_files.setdefault(pkey, [])
    for pkey, infos in partition_files.items():
        report.fingerprints[pkey] = landing.content_fingerprint(infos, partition_digests.get(pkey))
    record_loads(landing, source, report.fingerprints)
    report.seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - started_cpu
    return report
