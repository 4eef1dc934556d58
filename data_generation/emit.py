"""From frames to landing files: late arrivals, exact re-sends, per-file dedup, micro-batch splitting, writing.

Rows carry their arrival day in ``_load``. The emitter buffers rows until their arrival day is flushed, so a
row created in one day-block may land in a later block's file (a ticket resolved next week, a late event, a
re-send). Rows that would arrive after the last generated day are kept as *pending* state (written under the
truth folder) so ``--append-day`` can deliver them on the right day.
"""

import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from customer360.storage import ObjectStore

from .schema import EVENT_TIME, Lookups, parquet_bytes, to_table
from .util import STREAM, ordinal_date, rng_for

Frame = dict[str, np.ndarray]

LATE_SHARE = 0.01  # of a day's rows arrive in the next day's file
RESEND_SHARE = 0.004  # of rows are sent again, identical, 1–3 days later
PARTS = {"transactions": 4, "events": 4}  # micro-batch files per arrival day
SOURCE_NO = {
    s: i
    for i, s in enumerate(("customers", "orders", "transactions", "events", "products", "campaigns", "support_tickets"))
}


def concat(frames: list[Frame]) -> Frame:
    frames = [f for f in frames if f and len(next(iter(f.values())))]
    if not frames:
        return {}
    keys = list(frames[0])
    return {k: np.concatenate([f[k] for f in frames]) for k in keys}


def take(frame: Frame, idx) -> Frame:
    return {k: v[idx] for k, v in frame.items()}


def nrows(frame: Frame) -> int:
    return len(next(iter(frame.values()))) if frame else 0


def file_key(source: str, day: int, part: int) -> str:
    return f"{source}/load_date={ordinal_date(day).isoformat()}/part-{part:03d}.parquet"


@dataclass
class SourceStats:
    rows: int = 0
    bytes: int = 0
    files: int = 0


@dataclass
class Writer:
    """Turns frames into parquet files in the store (two worker threads; file content is independent of
    scheduling, so output stays byte-identical)."""

    store: ObjectStore
    lookups: Lookups
    threads: int = 2
    stats: dict[str, SourceStats] = field(default_factory=lambda: defaultdict(SourceStats))
    written: list[str] = field(default_factory=list)
    cpu_s: float = 0.0  # CPU seconds spent encoding and writing files (in the writer threads)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.threads) if self.threads > 1 else None
        self._futures: list[Future] = []
        self._lock = threading.Lock()
        self.on_file = None  # optional callback(source, rows) for progress

    def _write(self, source: str, key: str, frame: Frame) -> None:
        c0 = time.thread_time()
        data = parquet_bytes(to_table(source, frame, self.lookups), source)
        self.store.write(key, data)
        with self._lock:
            self.cpu_s += time.thread_time() - c0
            st = self.stats[source]
            st.rows += nrows(frame)
            st.bytes += len(data)
            st.files += 1
            self.written.append(key)
        if self.on_file:
            self.on_file(source, nrows(frame))

    def submit(self, source: str, key: str, frame: Frame) -> None:
        if self._pool is None:
            self._write(source, key, frame)
            return
        self._futures.append(self._pool.submit(self._write, source, key, frame))
        if len(self._futures) > 24:
            self._drain(keep=8)

    def _drain(self, keep: int = 0) -> None:
        while len(self._futures) > keep:
            self._futures.pop(0).result()

    def close(self) -> None:
        self._drain()
        if self._pool is not None:
            self._pool.shutdown()


class Emitter:
    def __init__(self, source: str, writer: Writer, seed: int, end_day: int, late: bool = True):
        self.source = source
        self.writer = writer
        self.seed = seed
        self.end_day = end_day
        self.late = late
        self.buffer: list[Frame] = []
        self.batches = 0
        self.sample: Frame = {}  # a few good rows, templates for --bad-files
        self.event_time = EVENT_TIME[source]
        self.flushed = -(2**31)  # last arrival day already written
        self.fraud_written: list[np.ndarray] = []  # keys of planted-fraud rows written (transactions)

    def add(self, frame: Frame, late: bool | None = None) -> None:
        """Queue rows; ``late=False`` for rows whose arrival day is already decided (pending state)."""
        if not nrows(frame):
            return
        # a row can never arrive in a file that is already written: it comes in the next open day instead
        frame["_load"] = np.maximum(frame["_load"], self.flushed + 1).astype(np.int32)
        if self.late and late is not False:
            rng = rng_for(self.seed, STREAM["emit"], SOURCE_NO[self.source], self.batches)
            n = nrows(frame)
            final = frame["_final"]
            # late by one day — but never past the last day, so every row the window promises is in it
            late = final & (rng.random(n) < LATE_SHARE) & (frame["_load"] < self.end_day)
            frame["_load"] = frame["_load"] + late.astype(np.int32)
            resend = np.flatnonzero(final & (rng.random(n) < RESEND_SHARE))
            if len(resend):
                copy = take(frame, resend)
                copy["_load"] = copy["_load"] + 1 + (rng.random(len(resend)) * 3).astype(np.int32)
                self.buffer.append(copy)
        self.batches += 1
        self.buffer.append(frame)

    def flush(self, through_day: int) -> None:
        """Write every file whose arrival day is <= ``through_day`` (and <= the last day)."""
        limit = min(through_day, self.end_day)
        self.flushed = max(self.flushed, limit)
        frame = concat(self.buffer)
        if not frame:
            self.buffer = []
            return
        due = frame["_load"] <= limit
        self.buffer = [take(frame, ~due)] if (~due).any() else []
        if not due.any():
            return
        frame = take(frame, due)
        frame = dedup_per_file(frame, self.event_time)
        if "_fraud" in frame:
            self.fraud_written.append(frame["_pk"][frame["_fraud"]])
        loads = frame["_load"]
        bounds = np.flatnonzero(np.diff(loads)) + 1
        starts = np.concatenate([[0], bounds])
        stops = np.concatenate([bounds, [len(loads)]])
        parts = PARTS.get(self.source, 1)
        for a, b in zip(starts, stops, strict=True):
            day = int(loads[a])
            k = min(parts, b - a)
            edges = np.linspace(a, b, k + 1).astype(np.int64)
            for p in range(k):
                part = take(frame, slice(edges[p], edges[p + 1]))
                if not self.sample and day >= self.end_day - 3:
                    self.sample = take(part, slice(0, 40))
                self.writer.submit(self.source, file_key(self.source, day, p), part)

    def pending(self) -> Frame:
        """Rows due after the last day (kept as state for --append-day)."""
        frame = concat(self.buffer)
        self.buffer = []
        return frame


def dedup_per_file(frame: Frame, event_time: str | None) -> Frame:
    """Sort by arrival day then event time; within one arrival day keep one row per key (the latest version)."""
    load, pk, ver = frame["_load"], frame["_pk"], frame["_ver"]
    order = np.lexsort((ver, pk, load))
    load_s, pk_s = load[order], pk[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (load_s[1:] != load_s[:-1]) | (pk_s[1:] != pk_s[:-1])
    keep = order[last]
    frame = take(frame, keep)
    secondary = frame[event_time] if event_time else frame["_pk"]
    order = np.lexsort((frame["_pk"], secondary, frame["_load"]))
    return take(frame, order)
