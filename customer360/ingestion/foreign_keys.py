"""The foreign-key rule of the raw contracts.

A non-null foreign key (``orders.customer_id → customers``, ``orders.product_id → products``,
``transactions.order_id → orders``, …) must name an id that is known. An id is *known by day X* when it is

* in the warehouse table ``raw.<referenced source>`` with an arrival day ≤ X, or
* in a landing file of the referenced source that arrived on a day ≤ X — loaded or not.

The landing half makes the result independent of load order: the orders of day D do not fail because the
customers of day D have not been loaded yet (assets of a day run in any order, and a backfill may load orders
before customers). A landing file only vouches for ids when it is readable and has the id column; its other
defects are its own asset's business. Referenced files already in the warehouse are not read again.

Feeds arrive late: a row of day D may come in the file of day D+1 (:data:`FK_LATE_DAYS`), so an order of
day D may reference a customer or an order that lands the next day. For a file that arrived on day D:

* ids are looked up as known by ``D + FK_LATE_DAYS``;
* **settled** — the referenced source has already delivered files for a day after ``D + FK_LATE_DAYS - 1``
  (its lateness window for D has passed): every unknown id is a violation;
* **pending** — it has not (typically the newest day, loaded near-real-time before the referenced feed's next
  file): unknown ids may still arrive, so up to :data:`FK_PENDING_MAX_SHARE` of the file's rows
  (at least :data:`FK_PENDING_MIN_ROWS` rows) are accepted as late references; more is a violation — a file
  whose references are mostly unknown is wrong whatever the timing.

Rows whose foreign key is null are the nullable columns' business (``transactions.order_id``, anonymous
``events.customer_id``), not an FK violation. Accepted late references are not lost or hidden: staging's
relationship tests and the marts see them like any other row.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from customer360.catalog import LOAD_DATE, RAW, SOURCE_FILE, SOURCES, Column
from customer360.ingestion.contracts import ARRIVAL_DAY, FILE_ID, SAMPLE_ROWS, Violation, _jsonable, batch
from customer360.resources.landing import LandingResource
from customer360.resources.warehouse import Warehouse

FK_LATE_DAYS = 1  # the generator's and the design's "late by one day" arrivals
FK_PENDING_MAX_SHARE = 0.05
FK_PENDING_MIN_ROWS = 3


@dataclass
class ReferenceIndex:
    """Known ids of one referenced column with the first day each became known."""

    source: str
    column: str
    known: pl.DataFrame  # columns: id (String), first_day (Date)
    latest_day: date | None  # newest arrival day of the referenced source (warehouse or landing)
    files_read: int = 0

    def settled(self, day: date) -> bool:
        """Has the referenced feed delivered past the lateness window of ``day``?"""
        return self.latest_day is not None and self.latest_day >= day + timedelta(days=FK_LATE_DAYS)


@dataclass
class ReferenceIndexes:
    """Lazily built indexes for one load (one run), up to its last day."""

    warehouse: Warehouse
    landing: LandingResource
    up_to: date
    _cache: dict[tuple[str, str], ReferenceIndex] = field(default_factory=dict)

    def get(self, ref_source: str, ref_column: str) -> ReferenceIndex:
        k = (ref_source, ref_column)
        if k not in self._cache:
            self._cache[k] = build_reference_index(
                self.warehouse, self.landing, ref_source, ref_column, self.up_to + timedelta(days=FK_LATE_DAYS)
            )
        return self._cache[k]


def build_reference_index(
    warehouse: Warehouse, landing: LandingResource, ref_source: str, ref_column: str, up_to: date
) -> ReferenceIndex:
    parts: list[pl.DataFrame] = []
    loaded_files: set[str] = set()
    latest: list[date] = []
    if warehouse.table_exists(RAW, ref_source):
        col = SOURCES[ref_source].column(ref_column).name  # validated against the catalog
        parts.append(
            warehouse.query(
                f"select cast({col} as varchar) as id, min({LOAD_DATE}) as first_day from raw.{ref_source} "
                f"where {col} is not null and {LOAD_DATE} <= ? group by 1",
                [up_to],
            )
        )
        loaded = warehouse.query(f"select {SOURCE_FILE} as f, max({LOAD_DATE}) as d from raw.{ref_source} group by 1")
        loaded_files = set(loaded.get_column("f").to_list()) if loaded.height else set()
        latest += [d for d in loaded.get_column("d").to_list() if d is not None] if loaded.height else []
    files_read = 0
    for parsed, _info in landing.list_source(ref_source):
        latest.append(parsed.load_date)
        if parsed.load_date > up_to or parsed.key in loaded_files:
            continue
        try:
            ids = pl.read_parquet(io.BytesIO(landing.read(parsed.key)), columns=[ref_column])
        except Exception:  # unreadable or without the column: vouches for nothing (its own asset reports it)
            continue
        files_read += 1
        parts.append(
            ids.select(
                pl.col(ref_column).cast(pl.String, strict=False).alias("id"),
                pl.lit(parsed.load_date, dtype=pl.Date).alias("first_day"),
            ).drop_nulls("id")
        )
    if parts:
        known = (
            pl.concat([p.select(pl.col("id").cast(pl.String), pl.col("first_day").cast(pl.Date)) for p in parts])
            .group_by("id")
            .agg(pl.col("first_day").min())
        )
    else:
        known = pl.DataFrame(schema={"id": pl.String, "first_day": pl.Date})
    return ReferenceIndex(ref_source, ref_column, known, max(latest) if latest else None, files_read)


def check_foreign_keys(
    source: str, frames: list[tuple[date, pl.DataFrame]], indexes: ReferenceIndexes
) -> dict[int, list[Violation]]:
    """Violations of the FK rule per frame (``(arrival day, conformed frame)``); one join per FK column."""
    if not frames or not SOURCES[source].foreign_keys:
        return {}
    days = [day for day, _ in frames]
    return check_foreign_keys_stacked(source, batch(frames), days, [df.height for _, df in frames], indexes)


def check_foreign_keys_stacked(
    source: str, data: pl.DataFrame, days: Sequence[date], heights: Sequence[int], indexes: ReferenceIndexes
) -> dict[int, list[Violation]]:
    """Violations of the FK rule per file of a stacked batch (conformed rows + ``FILE_ID`` + ``ARRIVAL_DAY``;
    file ``i`` arrived on ``days[i]`` with ``heights[i]`` rows); one join per FK column for the whole batch."""
    out: dict[int, list[Violation]] = {}
    fks: list[Column] = SOURCES[source].foreign_keys
    if data.height == 0 or not fks:
        return out
    late = pl.duration(days=FK_LATE_DAYS)
    for c in fks:
        ref_source, ref_column = (c.references or "").split(".", 1)
        index = indexes.get(ref_source, ref_column)
        rows = (
            data.with_row_index("_row")
            .select("_row", FILE_ID, ARRIVAL_DAY, pl.col(c.name))
            .drop_nulls(c.name)
            .join(index.known, left_on=c.name, right_on="id", how="left")
            .filter(pl.col("first_day").is_null() | (pl.col("first_day") > pl.col(ARRIVAL_DAY) + late))
        )
        if rows.height == 0:
            continue
        for (file_id,), group in rows.group_by([FILE_ID], maintain_order=True):
            day = days[int(file_id)]
            settled = index.settled(day)
            allowed = max(FK_PENDING_MIN_ROWS, int(FK_PENDING_MAX_SHARE * heights[int(file_id)]))
            if not settled and group.height <= allowed:
                continue  # pending: references that may still arrive late (see the module docstring)
            unknown = group.get_column(c.name).unique(maintain_order=True)
            state = (
                f"{ref_source} has delivered files up to {index.latest_day}"
                if settled
                else f"{group.height} rows exceed the {allowed} late references tolerated while "
                f"{ref_source} has not delivered past {day}"
            )
            sample_rows = group.get_column("_row").head(SAMPLE_ROWS).to_list()
            out.setdefault(int(file_id), []).append(
                Violation(
                    "foreign_key",
                    f"column {c.name!r} has {group.height} row(s) referencing {unknown.len()} unknown "
                    f"{ref_source}.{ref_column} value(s) (not in raw.{ref_source} nor in {ref_source} landing "
                    f"files up to {day + timedelta(days=FK_LATE_DAYS)}; {state}), e.g. {unknown.head(3).to_list()}",
                    column=c.name,
                    failing_rows=group.height,
                    sample=_jsonable(data[sample_rows].drop(FILE_ID, ARRIVAL_DAY)),
                )
            )
    return out
