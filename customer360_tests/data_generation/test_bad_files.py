"""Every file listed in bad_files.json is really defective in the stated way, and nothing else is."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer360.catalog import SOURCES
from data_generation.bad_files import DEFECTS

from .conftest import good_files


@pytest.fixture(scope="module")
def bad(small_landing):
    return json.loads((small_landing.truth / "bad_files.json").read_text())


def test_one_bad_file_per_defect_kind_with_a_clear_record(small_landing, bad):
    assert len(bad) == small_landing.bad_files == len(DEFECTS)
    assert {b["defect"] for b in bad} == set(DEFECTS)
    for b in bad:
        assert set(b) >= {"key", "source", "defect", "detail", "load_date"} and b["detail"]
        assert b["key"].startswith(f"{b['source']}/load_date={b['load_date']}/part-9")
        assert (small_landing.landing / b["key"]).is_file()
    assert len({b["key"] for b in bad}) == len(bad)


def test_each_bad_file_has_its_defect(small_landing, bad, landing_db):
    known_customers = {r[0] for r in landing_db.execute("select distinct customer_id from customers").fetchall()}
    for b in bad:
        data = (small_landing.landing / b["key"]).read_bytes()
        spec = SOURCES[b["source"]]
        if b["defect"] == "corrupt_parquet":
            with pytest.raises(pa.ArrowException):
                pq.read_table(io.BytesIO(data))
            continue
        t = pq.read_table(io.BytesIO(data))
        expected = spec.column_names
        if b["defect"] == "missing_column":
            missing = set(expected) - set(t.column_names)
            assert len(missing) == 1 and not spec.column(missing.pop()).nullable
            continue
        assert t.column_names == expected, b
        if b["defect"] == "wrong_type":
            wrong = [
                f.name
                for f in t.schema
                if f.name in expected and pa.types.is_string(f.type) and spec.column(f.name).type != "string"
            ]
            assert len(wrong) == 1, b
        elif b["defect"] == "null_primary_key":
            assert t.column(spec.primary_key).null_count > 0
        elif b["defect"] == "duplicate_primary_key":
            ids = t.column(spec.primary_key).to_pylist()
            assert len(set(ids)) < len(ids)
        elif b["defect"] == "unknown_foreign_key":
            ids = set(t.column("customer_id").to_pylist())
            assert ids - known_customers
        elif b["defect"] == "negative_quantity":
            assert min(t.column("quantity").to_pylist()) < 0
        elif b["defect"] == "future_date":
            col = spec.event_time
            values = t.column(col).to_pylist()
            day = b["load_date"]
            assert max((v.date() if hasattr(v, "date") else v).isoformat() for v in values) > day
        else:
            raise AssertionError(f"unknown defect {b['defect']}")


def test_bad_files_never_share_a_key_with_good_rows(small_landing, bad, landing_db):
    """Rejecting a bad file loses no good row, and a partly accepted one can never overwrite a good row."""
    for b in bad:
        if b["defect"] in ("corrupt_parquet",):
            continue
        t = pq.read_table(small_landing.landing / b["key"])
        pk = SOURCES[b["source"]].primary_key
        if pk not in t.column_names:
            continue
        ids = [i for i in t.column(pk).to_pylist() if i is not None]
        placeholders = ", ".join("?" for _ in ids)
        clash = landing_db.execute(
            f"select count(*) from {b['source']} where {pk} in ({placeholders})", ids
        ).fetchone()[0]
        assert clash == 0, b


def test_good_files_are_untouched_by_bad_files(small_landing, bad):
    good = good_files(small_landing.landing, small_landing.truth)
    for files in good.values():
        for f in files:
            assert "/part-0" in f
    # the good files read cleanly
    for files in good.values():
        for f in files[:5]:
            pq.read_table(f)
