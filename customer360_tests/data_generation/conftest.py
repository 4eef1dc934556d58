import json

import duckdb
import pytest

from customer360.catalog import SOURCE_NAMES


def good_files(landing, truth) -> dict[str, list[str]]:
    """Landing files per source, without the defective ones listed in bad_files.json."""
    bad = {b["key"] for b in json.loads((truth / "bad_files.json").read_text())}
    out = {}
    for s in SOURCE_NAMES:
        files = sorted(
            p for p in (landing / s).glob("load_date=*/*.parquet") if p.relative_to(landing).as_posix() not in bad
        )
        out[s] = [str(p) for p in files]
    return out


def connect(landing, truth) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with one table per source loaded from the good files, plus _load_date and _f (the file)."""
    con = duckdb.connect()
    for s, files in good_files(landing, truth).items():
        listing = ", ".join(f"'{f}'" for f in files)
        con.execute(
            f"create table {s} as select *, regexp_extract(filename, 'load_date=([0-9-]+)', 1)::date as _load_date, "
            f"filename as _f from read_parquet([{listing}], filename=true, hive_partitioning=false)"
        )
    con.execute(f"create table truth_customers as select * from read_parquet('{truth}/customers.parquet')")
    con.execute(f"create table truth_fraud as select * from read_parquet('{truth}/fraud_transactions.parquet')")
    return con


@pytest.fixture(scope="session")
def landing_db(small_landing):
    con = connect(small_landing.landing, small_landing.truth)
    yield con
    con.close()
