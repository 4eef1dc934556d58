"""The foreign-key rule of the raw contracts.

A non-null foreign key (``orders.customer_id → customers``, ``orders.product_id → products``,
``transactions.order_id → orders``, …) must name an id that is *known by the end of the file's arrival
day* (plus :data:`FK_LOOKAHEAD_DAYS`). An id is known when it is

* in the warehouse table ``raw.<referenced source>`` (any arrival day up to that day), or
* in a landing file of the referenced source that arrived on that day or earlier — whether or not that file
  has been loaded yet.

The landing half makes the result independent of load order: the orders of day D do not fail just because
the customers of day D have not been loaded yet (assets of the same day run in any order, or in parallel,
and a backfill may load orders before customers). A landing file only vouches for ids when it is readable
and has the id column; its other defects are its own asset's business. Referenced files already loaded
into the warehouse are not read again (the warehouse has their ids), so a load reads the id column of the
not-yet-loaded referenced files only.

Rows whose foreign key is null are the nullable columns' business (``transactions.order_id``, anonymous
``events.customer_id``), not an FK violation.
"""

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from customer360.catalog import LOAD_DATE, SOURCE_FILE, SOURCES, Column
from customer360.ingestion.contracts import SAMPLE_ROWS, Violation, _jsonable
from customer360.resources.landing import LandingResource
from customer360.resources.warehouse import WarehouseResource

FK_LOOKAHEAD_DAYS = 0


@dataclass
class ReferenceIndex:
    """Known ids of one referenced column with the first day each became known."""

    source: str
    column: str
    known: pl.DataFrame  # columns: id (String), first_day (Date)
    files_read: int = 0

    def unknown(self, ids: pl.Series, day: date) -> pl.Series:
        """The distinct non-null values of ``ids`` not known by ``day`` (+ lookahead)."""
        cutoff = day + timedelta(days=FK_LOOKAHEAD_DAYS)
        known = self.known.filter(pl.col("first_day") <= cutoff).get_column("id")
        wanted = ids.drop_nulls().unique()
        return wanted.filter(~wanted.is_in(known.implode()))


@dataclass
class ReferenceIndexes:
    """Lazily built indexes for one load (one run), up to its last day."""

    warehouse: WarehouseResource
    landing: LandingResource
    up_to: date
    _cache: dict[tuple[str, str], ReferenceIndex] = field(default_factory=dict)

    def get(self, ref_source: str, ref_column: str) -> ReferenceIndex:
        k = (ref_source, ref_column)
        if k not in self._cache:
            self._cache[k] = build_reference_index(
                self.warehouse, self.landing, ref_source, ref_column, self.up_to + timedelta(days=FK_LOOKAHEAD_DAYS)
            )
        return self._cache[k]


def build_reference_index(
    warehouse: WarehouseResource, landing: LandingResource, ref_source: str, ref_column: str, up_to: date
) -> ReferenceIndex:
    parts: list[pl.DataFrame] = []
    loaded_files: set[str] = set()
    if warehouse.table_exists("raw", ref_source):
        col = SOURCES[ref_source].column(ref_column).name  # validated against the catalog
        parts.append(
            warehouse.query(
                f"select cast({col} as varchar) as id, min({LOAD_DATE}) as first_day from raw.{ref_source} "
                f"where {col} is not null and {LOAD_DATE} <= ? group by 1",
                [up_to],
            )
        )
        loaded = warehouse.query(f"select distinct {SOURCE_FILE} as f from raw.{ref_source}")
        loaded_files = set(loaded.get_column("f").to_list()) if loaded.height else set()
    files_read = 0
    for parsed, _info in landing.list_source(ref_source):
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
    return ReferenceIndex(ref_source, ref_column, known, files_read)


def check_foreign_keys(source: str, df: pl.DataFrame, day: date, indexes: ReferenceIndexes) -> list[Violation]:
    """Violations of the FK rule in one validated file that arrived on ``day``."""
    out: list[Violation] = []
    fks: list[Column] = SOURCES[source].foreign_keys
    by_ref: dict[tuple[str, str], list[Column]] = defaultdict(list)
    for c in fks:
        ref_source, ref_column = (c.references or "").split(".", 1)
        by_ref[(ref_source, ref_column)].append(c)
    for (ref_source, ref_column), cols in by_ref.items():
        index = indexes.get(ref_source, ref_column)
        for c in cols:
            unknown = index.unknown(df.get_column(c.name), day)
            if unknown.len() == 0:
                continue
            bad_rows = df.filter(pl.col(c.name).is_in(unknown.implode()))
            out.append(
                Violation(
                    "foreign_key",
                    f"column {c.name!r} has {bad_rows.height} row(s) referencing {unknown.len()} unknown "
                    f"{ref_source}.{ref_column} value(s) (not in raw.{ref_source} nor in {ref_source} landing "
                    f"files up to {day}), e.g. {unknown.head(3).to_list()}",
                    column=c.name,
                    failing_rows=bad_rows.height,
                    sample=_jsonable(bad_rows.head(SAMPLE_ROWS)),
                )
            )
    return out
