"""Test helper: load a generator landing zone into ``raw.<source>`` tables of a DuckDB file, the way the ingestion
assets lay them out (catalog columns in order + ``_load_date``, ``_source_file``, ``_loaded_at``).

A plain ``read_parquet`` load keeps the dbt tests independent of the ingestion code's speed; the Dagster lineage
test uses the real asset graph.
"""

from datetime import date, datetime
from pathlib import Path

import duckdb

from customer360.catalog import SOURCES
from customer360.physical_types import DUCKDB_TYPES as SQL_TYPES


def load_raw(
    landing: Path,
    db_path: Path,
    *,
    only_days: tuple[date, date] | None = None,
    loaded_at: datetime | None = None,
    append: bool = False,
) -> dict[str, int]:
    """(Re)create or append ``raw.<source>`` from ``landing/<source>/load_date=*/…parquet``.

    ``only_days`` = inclusive (first, last) arrival days to load; ``append`` inserts instead of replacing.
    Returns rows loaded per source.
    """
    loaded_at = loaded_at or datetime.utcnow().replace(microsecond=0)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(db_path))
    try:
        con.execute("create schema if not exists raw")
        for name, src in SOURCES.items():
            files = sorted((landing / name).glob("load_date=*/*.parquet"))
            if only_days:
                files = [
                    f
                    for f in files
                    if only_days[0] <= date.fromisoformat(f.parent.name.split("=", 1)[1]) <= only_days[1]
                ]
            cols = ", ".join(f"cast({c.name} as {SQL_TYPES[c.type]}) as {c.name}" for c in src.columns)
            typed = ", ".join(f"cast(null as {SQL_TYPES[c.type]}) as {c.name}" for c in src.columns)
            if not append:
                con.execute(f"drop table if exists raw.{name}")
                con.execute(
                    f"create table raw.{name} as select {typed}, cast(null as date) as _load_date, "
                    f"cast(null as varchar) as _source_file, cast(null as timestamp) as _loaded_at limit 0"
                )
            if not files:
                counts[name] = 0
                continue
            file_list = "[" + ", ".join(f"'{f.as_posix()}'" for f in files) + "]"
            before = con.execute(f"select count(*) from raw.{name}").fetchone()[0]
            con.execute(
                f"""insert into raw.{name}
                select {cols}, cast(load_date as date) as _load_date,
                       regexp_extract(filename, '{name}/load_date=.*$') as _source_file,
                       cast(? as timestamp) as _loaded_at
                from read_parquet({file_list}, hive_partitioning = true, filename = true, union_by_name = true)""",
                [loaded_at],
            )
            counts[name] = con.execute(f"select count(*) from raw.{name}").fetchone()[0] - before
    finally:
        con.close()
    return counts
