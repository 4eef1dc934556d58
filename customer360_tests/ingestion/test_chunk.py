"""A chunk of files conformed and checked as one batch still judges (and counts) every file on its own."""

from datetime import date

import polars as pl

from customer360.ingestion.chunk import ParsedFile, conform_chunk
from customer360.ingestion.contracts import ARRIVAL_DAY, FILE_ID, validate_stacked
from customer360_tests.ingestion.test_contracts import orders, validate

D1, D2 = date(2024, 3, 10), date(2024, 3, 11)


def test_mixed_physical_schemas_conform_together_and_keep_their_files():
    a = orders()
    b = orders(order_id=["O3", "O4"], quantity=pl.Series([2, 5], dtype=pl.Int32))  # narrower ints: another schema
    c = orders(order_id=["O5", "O6"])
    chunk, rejected = conform_chunk("orders", [ParsedFile("a", D1, a), ParsedFile("b", D2, b), ParsedFile("c", D2, c)])
    assert rejected == {} and chunk is not None
    assert chunk.frame.schema["quantity"] == pl.Int64
    assert sorted(chunk.keys) == ["a", "b", "c"]
    for i, key in enumerate(chunk.keys):
        mine = chunk.frame.filter(pl.col(FILE_ID) == i)
        assert mine.get_column(ARRIVAL_DAY).unique().to_list() == [{"a": D1, "b": D2, "c": D2}[key]]
        expected = validate("orders", {"a": a, "b": b, "c": c}[key], D1)
        assert chunk.file_frame(i).equals(expected)
        assert mine.drop(FILE_ID, ARRIVAL_DAY).equals(expected)


def test_a_file_that_does_not_conform_is_left_out_with_its_own_numbers():
    good = orders()
    bad = orders(order_id=["O7", "O8", "O9"][:2], total_amount=["10.5", "x"])  # strings in a float column
    chunk, rejected = conform_chunk("orders", [ParsedFile("good", D1, good), ParsedFile("bad", D1, bad)])
    assert chunk is not None and chunk.keys == ["good"]
    [v] = rejected[1]
    assert v.check == "wrong_type" and v.column == "total_amount" and v.failing_rows == bad.height


def test_row_checks_on_the_stacked_chunk_name_only_the_broken_file():
    files = [ParsedFile(f"f{i}", D1, orders(order_id=[f"O{i}a", f"O{i}b"])) for i in range(4)]
    files[2] = ParsedFile("f2", D1, orders(order_id=["X", "X"]))  # duplicate key within one file
    files.append(ParsedFile("f4", D1, orders(order_id=["O0a", "O0b"])))  # same ids as f0: fine across files
    chunk, rejected = conform_chunk("orders", files)
    assert chunk is not None and not rejected
    failures = validate_stacked("orders", chunk.frame, chunk.days)
    assert [chunk.keys[i] for i in failures] == ["f2"]
    [v] = failures[chunk.keys.index("f2")]
    assert v.check == "unique" and v.failing_rows == 2 and {r["order_id"] for r in v.sample} == {"X"}
