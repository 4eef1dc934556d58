"""The FK rule: known ids by arrival day + one day of lateness; strict once the referenced feed moved on,
tolerant of a few late references while it has not (hand-made ids: the rule's boundaries)."""

import io
from datetime import date

import polars as pl
import pytest

from customer360.ingestion.foreign_keys import FK_PENDING_MIN_ROWS, ReferenceIndexes, check_foreign_keys
from customer360.resources import LandingResource, WarehouseResource

D1, D2, D3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)


@pytest.fixture
def env(tmp_path):
    landing = LandingResource(landing_url=str(tmp_path / "l"), quarantine_url=str(tmp_path / "q"))
    wh = WarehouseResource(duckdb_path=str(tmp_path / "w.duckdb")).build()

    def customers(day: date, ids: list[str]) -> None:
        buf = io.BytesIO()
        pl.DataFrame({"customer_id": ids}).write_parquet(buf)
        landing.store.write(f"customers/load_date={day}/part-000.parquet", buf.getvalue())

    return landing, wh, customers


def tickets(ids: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"ticket_id": [f"T{i}" for i in range(len(ids))], "customer_id": ids},
        schema_overrides={"customer_id": pl.String},
    )


def check(landing, wh, day, df):
    return check_foreign_keys("support_tickets", [(day, df)], ReferenceIndexes(wh, landing, up_to=day)).get(0, [])


def test_same_day_and_next_day_references_are_known(env):
    landing, wh, customers = env
    customers(D1, ["C1"])
    customers(D2, ["C2"])  # C2's profile arrived a day late
    customers(D3, ["C3"])
    assert check(landing, wh, D1, tickets(["C1", "C2", None])) == []  # nulls are not FK violations
    [v] = check(landing, wh, D1, tickets(["C1", "C3"]))  # C3 is two days later: unknown, and customers moved on
    assert v.check == "foreign_key" and v.column == "customer_id" and "C3" in v.message and v.failing_rows == 1


def test_unknown_reference_is_strict_once_the_referenced_feed_moved_on(env):
    landing, wh, customers = env
    customers(D1, ["C1"])
    customers(D2, ["C2"])
    [v] = check(landing, wh, D1, tickets(["C1", "C404"]))
    assert "C404" in v.message and "delivered files up to 2024-01-02" in v.message


def test_few_late_references_are_tolerated_while_pending(env):
    landing, wh, customers = env
    customers(D1, ["C1"])  # customers has not delivered past D1 yet
    few = tickets(["C1"] * 30 + ["C-late"] * FK_PENDING_MIN_ROWS)
    assert check(landing, wh, D1, few) == []
    many = tickets(["C1"] * 10 + [f"C-x{i}" for i in range(10)])
    [v] = check(landing, wh, D1, many)
    assert v.failing_rows == 10 and "tolerated" in v.message


def test_ids_in_the_warehouse_count_and_unreadable_landing_files_vouch_for_nothing(env):
    landing, wh, customers = env
    wh.execute("create table raw.customers (customer_id varchar, _load_date date, _source_file varchar)")
    wh.execute(
        "insert into raw.customers values ('C-old', ?, 'customers/load_date=2023-12-01/p.parquet')", [date(2023, 12, 1)]
    )
    landing.store.write(f"customers/load_date={D1}/broken.parquet", b"not parquet")
    customers(D2, ["C2"])
    assert check(landing, wh, D1, tickets(["C-old", "C2"])) == []
    assert len(check(landing, wh, D1, tickets(["C-old", "C-nowhere"]))) == 1
