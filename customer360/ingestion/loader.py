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

The load is three small steps per chunk — :func:`plan_days` (the landing files of each day),
:func:`check_chunk` (conform, validate, foreign keys) and :func:`write_chunk` (the warehouse transaction) — and
returns one :class:`DayLoad` per arrival day. It knows nothing of partitions or Dagster: the asset maps days to
partition keys (metadata, load ledger); the benchmarks call :func:`load_days` directly.
"""

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import polars as pl

from customer360.catalog import RAW, SOURCES
from customer360.ingestion.chunk import ParsedFile, conform_chunk
from customer360.ingestion.contracts import ContractError, Violation, catalog_columns, validate_stacked
from customer360.ingestion.foreign_keys import ReferenceIndexes, check_foreign_keys_stacked
from customer360.ingestion.quarantine import QuarantineRecord, open_records, quarantine_file, resolve
from customer360.resources.landing import LandedKey, LandingResource, content_digest
from customer360.resources.warehouse import RawFile, Warehouse, raw_table_columns
from customer360.storage import ObjectInfo

log = logging.getLogger(__name__)

# Days are written in chunks: each chunk replaces its days in ONE transaction (a reader sees every day of the
# chunk old or new, never half a day) and bounds the memory of a long backfill.
CHUNK_ROWS = 500_000
CHUNK_DAYS = 92


def raw_columns(source: str) -> list[tuple[str, str]]:
    """Columns of ``raw.<source>``: the catalog's, then the loader's."""
    return raw_table_columns(catalog_columns(source))


@dataclass
class DayLoad:
    """What the load of one arrival day (or of several, :meth:`combine`) put in ``raw.<source>``."""

    rows: int = 0
    bytes: int = 0  # landing bytes of the files loaded
    files: list[str] = field(default_factory=list)  # landing keys of the files loaded
    quarantined: list[QuarantineRecord] = field(default_factory=list)  # files of the day rejected by this load
    resolved: list[str] = field(default_factory=list)  # keys whose open quarantine record this load closed
    preview: pl.DataFrame | None = None  # first rows of the day's last loaded file
    listed: list[ObjectInfo] = field(default_factory=list)  # every landing file of the day, loaded or not
    digests: dict[str, str] = field(default_factory=dict)  # key -> content digest of the bytes read (local only)

    @classmethod
    def combine(cls, loads: Iterable["DayLoad"]) -> "DayLoad":
        """The loads of consecutive days as one (a weekly partition's days); preview of the last day with rows."""
        out = cls()
        for load in loads:
            out.rows += load.rows
            out.bytes += load.bytes
            out.files += load.files
            out.quarantined += load.quarantined
            out.resolved += load.resolved
            out.preview = load.preview if load.preview is not None else out.preview
            out.listed += load.listed
            out.digests |= load.digests
        return out

    def content_fingerprint(self, landing: LandingResource) -> str:
        """The fingerprint of the landed content of these days (what the load ledger records)."""
        return landing.content_fingerprint(self.listed, self.digests)


@dataclass
class LoadReport:
    """The load of ``days``: each day's own :class:`DayLoad` in ``by_day`` (every requested day, files or not)
    and the totals over them."""

    source: str
    days: list[date]
    by_day: dict[date, DayLoad] = field(default_factory=dict)
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

    @property
    def resolved(self) -> list[str]:
        return [k for d in self.by_day.values() for k in d.resolved]


def parse_landing_file(data: bytes) -> pl.DataFrame:
    """Parse one landing file (not yet conformed); raise :class:`ContractError` (``readable``)."""
    try:
        return pl.read_parquet(data)  # from bytes: cheaper than through a BytesIO
    except Exception as exc:  # polars raises several types for corrupt/truncated parquet
        raise ContractError(
            [Violation("readable", f"file is not readable parquet ({type(exc).__name__}: {exc})")]
        ) from None


@dataclass
class LandedFile:
    """One landing file of a day, read: its bytes and, when it parses, its (not yet conformed) frame."""

    parsed: LandedKey
    info: ObjectInfo
    data: bytes
    frame: pl.DataFrame | None
    unreadable: list[Violation] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.parsed.key


@dataclass
class ReadDay:
    """An arrival day's landing files, read and parsed."""

    day: date
    files: list[LandedFile]

    @property
    def rows(self) -> int:
        return sum(f.frame.height for f in self.files if f.frame is not None)


@dataclass
class Rejection:
    """A file of the chunk that does not load, and why."""

    key: str
    data: bytes | None
    violations: list[Violation]


# ------------------------------------------------------------------------------------------------ plan
def plan_days(
    source: str, days: list[date], landing: LandingResource
) -> dict[date, list[tuple[LandedKey, ObjectInfo]]]:
    """Every requested day (sorted) with its landing files (sorted by key): one listing of the source."""
    by_day: dict[date, list[tuple[LandedKey, ObjectInfo]]] = {day: [] for day in days}
    for parsed, info in landing.list_source(source):
        if parsed.load_date in by_day:
            by_day[parsed.load_date].append((parsed, info))
    return {day: sorted(by_day[day], key=lambda p: p[0].key) for day in days}


def read_day(day: date, listed: list[tuple[LandedKey, ObjectInfo]], landing: LandingResource) -> ReadDay:
    """Read and parse the day's files; a file that does not parse keeps its ``readable`` violation."""
    files = []
    for parsed, info in listed:
        data = landing.read(parsed.key)
        try:
            files.append(LandedFile(parsed, info, data, parse_landing_file(data)))
        except ContractError as exc:
            files.append(LandedFile(parsed, info, data, None, exc.violations))
    return ReadDay(day, files)


def chunks(read_days: Iterable[ReadDay]) -> Iterator[list[ReadDay]]:
    """Consecutive days grouped up to ``CHUNK_ROWS`` rows / ``CHUNK_DAYS`` days (a day is never split)."""
    chunk: list[ReadDay] = []
    rows = 0
    for day in read_days:
        chunk.append(day)
        rows += day.rows
        if rows >= CHUNK_ROWS or len(chunk) >= CHUNK_DAYS:
            yield chunk
            chunk, rows = [], 0
    if chunk:
        yield chunk


# ------------------------------------------------------------------------------------------------ check
def check_chunk(
    source: str, files: list[LandedFile], indexes: ReferenceIndexes
) -> tuple[list[RawFile], list[Rejection]]:
    """Conform and check the chunk's parsed files as ONE batch: the files that pass (catalog columns and
    types) and the ones that do not, each with its own violations (unreadable ones first)."""
    rejected = [Rejection(f.key, f.data, f.unreadable) for f in files if f.frame is None]
    readable = [f for f in files if f.frame is not None]
    chunk, unconformed = conform_chunk(source, [ParsedFile(f.key, f.parsed.load_date, f.frame) for f in readable])
    rejected += [Rejection(readable[i].key, readable[i].data, v) for i, v in unconformed.items()]
    good: list[RawFile] = []
    if chunk is not None:
        failures = validate_stacked(source, chunk.frame, chunk.days)
        for i, violations in check_foreign_keys_stacked(
            source, chunk.frame, chunk.days, chunk.heights, indexes
        ).items():
            failures.setdefault(i, []).extend(violations)
        data_of = {f.key: f.data for f in readable}
        for i, key in enumerate(chunk.keys):
            if i in failures:
                rejected.append(Rejection(key, data_of[key], failures[i]))
            else:
                good.append(RawFile(key, chunk.days[i], chunk.file_frame(i)))
    return good, rejected


# ------------------------------------------------------------------------------------------------ write
def write_chunk(
    warehouse: Warehouse,
    source: str,
    days: list[date],
    good: list[RawFile],
    loaded_at: datetime,
    retain: list[str],
) -> tuple[list[RawFile], dict[str, str]]:
    """Replace ``days`` of ``raw.<source>`` with ``good`` in ONE transaction (rows of ``retain`` stay): the
    files committed, and {key: reason} of those the warehouse rejected.

    An engine that loads from the files itself (Snowflake COPY) may reject files that passed our contract; it
    commits the others and raises an error carrying ``rejected`` {key: reason}."""
    try:
        warehouse.load_raw_files(source, catalog_columns(source), days, good, loaded_at, retain_files=retain)
    except Exception as exc:
        rejected = getattr(exc, "rejected", None)
        if not isinstance(rejected, dict):
            raise
        return [f for f in good if f.key not in rejected], rejected
    return good, {}


# ------------------------------------------------------------------------------------------------ the load
def quarantine(landing: LandingResource, rejections: list[Rejection], logger: logging.Logger) -> list[QuarantineRecord]:
    records = []
    for r in rejections:
        record = quarantine_file(landing, r.key, r.data, r.violations)
        logger.warning("quarantined %s: %s", r.key, record.reason)
        records.append(record)
    return records


def day_loads(
    chunk: list[ReadDay],
    loaded: list[RawFile],
    quarantined: list[QuarantineRecord],
    resolved: list[QuarantineRecord],
    digest: bool,
) -> dict[date, DayLoad]:
    """Each day of the chunk: what it loaded, quarantined and resolved, and its listing (for fingerprints)."""
    loads = {
        d.day: DayLoad(
            listed=[f.info for f in d.files],
            digests={f.key: content_digest(f.data) for f in d.files} if digest else {},
        )
        for d in chunk
    }
    size_of = {f.key: f.info.size for d in chunk for f in d.files}
    for f in sorted(loaded, key=lambda f: (f.load_date, f.key)):  # a chunk groups its files by schema
        load = loads[f.load_date]
        load.rows += f.frame.height
        load.bytes += size_of[f.key]
        load.files.append(f.key)
        load.preview = preview_of(f.frame)
    for record in quarantined:
        loads[record.load_date].quarantined.append(record)
    for record in resolved:
        loads[record.load_date].resolved.append(record.key)
    return loads


PREVIEW_ROWS = 5


def preview_of(frame: pl.DataFrame) -> pl.DataFrame:
    """The first rows of a loaded file, COPIED: ``head()`` is a zero-copy slice that keeps the whole chunk's buffers
    alive, so a long range run kept every loaded row in memory through its days' previews (1.8 GB for a year of
    events at scale 1.0, 4.9 GB at scale 3; BENCHMARKS.md "Ten times the design's volume")."""
    return pl.DataFrame(frame.head(PREVIEW_ROWS).to_dict(as_series=False), schema=frame.schema)


def load_chunk(
    source: str,
    chunk: list[ReadDay],
    warehouse: Warehouse,
    landing: LandingResource,
    indexes: ReferenceIndexes,
    open_now: list[QuarantineRecord],
    loaded_at: datetime,
    logger: logging.Logger,
) -> dict[date, DayLoad]:
    """Check the chunk, quarantine what fails, write the rest in ONE transaction, close the quarantine records
    the load fixed (``open_now``: the source's open records); each day's :class:`DayLoad`."""
    days = [d.day for d in chunk]
    files = [f for d in chunk for f in d.files]
    good, rejected = check_chunk(source, files, indexes)
    quarantined = quarantine(landing, rejected, logger)
    loaded, refused = write_chunk(warehouse, source, days, good, loaded_at, [r.key for r in rejected])
    data_of = {f.key: f.data for f in files}
    quarantined += quarantine(
        landing,
        [
            Rejection(
                key, data_of.get(key), [Violation("warehouse_load", f"the warehouse rejected the file: {reason}")]
            )
            for key, reason in refused.items()
        ],
        logger,
    )
    bad = {r.key for r in quarantined}
    # close quarantine records of these days whose key no longer fails (fixed re-delivery, or removed)
    loaded_keys = {f.key for f in loaded}
    resolved = [r for r in open_now if r.load_date in days and r.key not in bad]
    for record in resolved:
        resolve(landing, record.key, "loaded after re-delivery" if record.key in loaded_keys else "file removed")
    # one line per chunk, not per day: in Dagster every log line is an event-log entry
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]}..{days[-1]}"
    logger.info(
        "raw.%s %s: %d rows from %d file(s), %d quarantined",
        source,
        span,
        sum(f.frame.height for f in loaded),
        len(loaded),
        len(bad),
    )
    return day_loads(chunk, loaded, quarantined, resolved, digest=not landing.is_s3)


def load_days(
    source: str,
    days: list[date],
    warehouse: Warehouse,
    landing: LandingResource,
    loaded_at: datetime | None = None,
    logger: logging.Logger | None = None,
) -> LoadReport:
    """Load the arrival ``days`` of ``source`` (each day atomically replaced) and report each day's load."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    started, started_cpu = time.perf_counter(), time.process_time()
    loaded_at = loaded_at or datetime.now(UTC)
    days = sorted(set(days))
    report = LoadReport(source, days)
    warehouse.ensure_table(RAW, source, raw_columns(source))
    if days:
        planned = plan_days(source, days, landing)
        open_now = open_records(landing, source, set(days))
        indexes = ReferenceIndexes(warehouse, landing, up_to=days[-1])
        for chunk in chunks(read_day(day, planned[day], landing) for day in days):
            report.by_day.update(
                load_chunk(source, chunk, warehouse, landing, indexes, open_now, loaded_at, logger or log)
            )
    report.seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - started_cpu
    return report
