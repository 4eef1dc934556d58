"""Contract rules on hand-made rows (the rule boundaries); whole files come from the generator elsewhere."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from customer360.catalog import SOURCES
from customer360.ingestion.chunk import ParsedFile, conform_chunk
from customer360.ingestion.contracts import ContractError, contract_schema, validate_stacked

DAY = date(2024, 3, 10)


def validate(source: str, df: pl.DataFrame, load_date: date) -> pl.DataFrame:
    """One file through the loader's checks (conform_chunk, then validate_stacked): its conformed rows (catalog
    order and types), or ContractError with every violation."""
    chunk, rejected = conform_chunk(source, [ParsedFile("file", load_date, df)])
    violations = rejected.get(0) or validate_stacked(source, chunk.frame, chunk.days).get(0)
    if violations:
        raise ContractError(violations)
    return chunk.file_frame(0)


def orders(**overrides) -> pl.DataFrame:
    row = {
        "order_id": ["O1", "O2"],
        "customer_id": ["C1", "C2"],
        "order_date": [DAY, DAY],
        "order_status": ["completed", "returned"],
        "total_amount": [10.5, 0.0],
        "product_id": ["P1", "P2"],
        "quantity": [1, 3],
        "channel": ["web", "in-store"],
    }
    row.update(overrides)
    return pl.DataFrame(row)


def checks_of(df: pl.DataFrame, source: str = "orders") -> dict[str, str | None]:
    with pytest.raises(ContractError) as exc:
        validate(source, df, DAY)
    return {v.check: v.column for v in exc.value.violations}


def test_schema_is_built_from_the_catalog():
    for name, source in SOURCES.items():
        schema = contract_schema(name)
        assert [c for c in schema.columns if not c.startswith("_c360")] == source.column_names
        assert not schema.columns[source.primary_key].nullable
        assert f"unique:{source.primary_key}" in {c.name for c in schema.checks}


def test_valid_file_is_normalised_to_catalog_types():
    df = orders(
        quantity=pl.Series([1, 3], dtype=pl.Int32),
        order_status=pl.Series(["completed", "returned"], dtype=pl.Categorical),
    )
    out = validate("orders", df.select(list(reversed(df.columns))), DAY)
    assert out.columns == SOURCES["orders"].column_names
    assert out.schema["quantity"] == pl.Int64 and out.schema["order_status"] == pl.String


def test_tz_aware_timestamps_become_naive_utc():
    ts = pl.Series([datetime(2024, 3, 10, 23, 30, tzinfo=UTC)]).dt.convert_time_zone("America/New_York")
    df = pl.DataFrame(
        {
            "ticket_id": ["T1"],
            "customer_id": ["C1"],
            "created_at": ts,
            "resolved_at": pl.Series([None], dtype=pl.Datetime("ns", "UTC")),
            "category": ["fraud"],
            "priority": ["high"],
            "status": ["open"],
            "satisfaction_score": pl.Series([None], dtype=pl.Int64),
        }
    )
    out = validate("support_tickets", df, DAY)
    assert out.schema["created_at"] == pl.Datetime("us") and out["created_at"][0] == datetime(2024, 3, 10, 23, 30)


@pytest.mark.parametrize(
    ("df", "check", "column"),
    [
        (orders().drop("channel"), "columns", "channel"),
        (orders().with_columns(extra=pl.lit(1)), "columns", "extra"),
        (orders(total_amount=["10.5", "0"]), "wrong_type", "total_amount"),
        (orders(order_date=[datetime(2024, 3, 10)] * 2), "wrong_type", "order_date"),
        (orders(order_id=["O1", None]), "not_nullable", "order_id"),
        (orders(order_id=["O1", "O1"]), "unique", "order_id"),
        (orders(order_status=["completed", "shipped"]), "enum", "order_status"),
        (orders(quantity=[1, -2]), "range", "quantity"),
        (orders(total_amount=[-1.0, 2.0]), "range", "total_amount"),
        (orders(order_date=[DAY, date(2024, 3, 12)]), "future_date", "order_date"),
    ],
)
def test_each_defect_is_named(df, check, column):
    assert checks_of(df).get(check) == column


def test_future_boundary_is_end_of_next_day():
    ok = orders(order_date=[date(2024, 3, 11)] * 2)
    validate("orders", ok, DAY)  # the day after arrival is accepted (time zones, late exports)
    base = {
        "event_id": ["E1"],
        "session_id": ["S1"],
        "customer_id": [None],
        "event_type": ["login"],
        "page_url": ["/"],
        "device_type": ["mobile"],
        "browser": ["x"],
    }
    base = {k: v for k, v in base.items() if k in SOURCES["events"].column_names}
    cols = SOURCES["events"].column_names

    def events(ts):
        row = {c: base.get(c, ["x"]) for c in cols}
        row["event_timestamp"] = [ts]
        return pl.DataFrame(row)

    validate("events", events(datetime(2024, 3, 11, 23, 59, 59)), DAY)
    with pytest.raises(ContractError, match="future"):
        validate("events", events(datetime(2024, 3, 12, 0, 0, 0)), DAY)


def test_violation_carries_sample_rows():
    with pytest.raises(ContractError) as exc:
        validate("orders", orders(quantity=[1, -2]), DAY)
    [v] = exc.value.violations
    assert v.failing_rows == 1 and v.sample[0]["order_id"] == "O2" and v.sample[0]["quantity"] == -2
