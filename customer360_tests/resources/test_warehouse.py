"""DuckDB engine of the warehouse, as the ``warehouse`` resource builds it; the resource vends the engine."""

import ast
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

import customer360.resources as resources_package
from customer360.resources import Warehouse, WarehouseResource, validate_identifier
from customer360.resources.duckdb_warehouse import DuckDBWarehouse
from customer360.resources.warehouse import WAREHOUSE_SCHEMAS, InvalidIdentifierError, RawFile

RESOURCES = resources_package.__path__[0]


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return WarehouseResource(engine="duckdb", duckdb_path=str(tmp_path / "wh" / "w.duckdb")).build()


def test_every_asset_of_a_run_receives_the_one_engine_the_resource_built(tmp_path):
    seen = []

    @dg.asset
    def first(warehouse: dg.ResourceParam[Warehouse]) -> None:
        seen.append(warehouse)

    @dg.asset(deps=[first])
    def second(warehouse: dg.ResourceParam[Warehouse]) -> None:
        seen.append(warehouse)
        warehouse.write_table("ml", "t", pl.DataFrame({"a": [1]}))

    resource = WarehouseResource(duckdb_path=str(tmp_path / "w.duckdb"))
    assert dg.materialize([first, second], resources={"warehouse": resource}).success
    assert len(seen) == 2 and seen[0] is seen[1] and isinstance(seen[0], DuckDBWarehouse)
    assert resource.build().read_table("ml", "t").item() == 1


def _imports(module: str) -> set[str]:
    tree = ast.parse(Path(RESOURCES, f"{module}.py").read_text())
    return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }


def test_the_interface_is_dagster_free_and_the_engines_import_only_it():
    assert not {m for m in _imports("warehouse") if m.split(".")[0] == "dagster" or "resources" in m}
    # + DuckDB's limits, which the dbt resource shares (a module without duckdb)
    own = {"duckdb_warehouse": {"customer360.resources.duckdb_limits"}, "snowflake_warehouse": set()}
    for engine, extra in own.items():
        assert {m for m in _imports(engine) if m.startswith("customer360.resources")} == {
            "customer360.resources.warehouse",
            *extra,
        }, engine


def test_schemas_created_on_first_use(wh):
    names = set(wh.query("select schema_name from information_schema.schemata").get_column("schema_name"))
    assert set(WAREHOUSE_SCHEMAS) <= names


def test_write_read_roundtrip_and_replace(wh):
    df = pl.DataFrame({"customer_id": ["a", "b"], "score": [0.1, 0.9], "day": [date(2024, 1, 1)] * 2})
    assert wh.write_table("ml", "t", df) == 2
    assert wh.table_exists("ml", "t") and not wh.table_exists("ml", "missing")
    assert wh.read_table("ml", "t").sort("customer_id").equals(df)
    df2 = df.head(1).with_columns(pl.lit(0.5).alias("score"))
    wh.write_table("ml", "t", df2)  # create-or-replace, not append
    assert wh.read_table("ml", "t").equals(df2)
    out = wh.query("select customer_id from ml.t where score = ?", [0.5])
    assert out.get_column("customer_id").to_list() == ["a"]


def test_replace_partition_only_touches_its_partitions(wh):
    base = pl.DataFrame({"k": [1, 2, 3], "d": [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]})
    wh.replace_partition("staging", "p", base, "d", [])
    new = pl.DataFrame({"k": [20, 21], "d": [date(2024, 1, 2)] * 2})
    assert wh.replace_partition("staging", "p", new, "d", [date(2024, 1, 2)]) == 2
    got = wh.query("select k from staging.p order by k").get_column("k").to_list()
    assert got == [1, 3, 20, 21]


@pytest.mark.parametrize("bad", ["Raw", "raw;drop", "1x", "a-b", "x" * 64, "", "raw.orders"])
def test_identifiers_are_validated(wh, bad):
    with pytest.raises(InvalidIdentifierError):
        validate_identifier(bad)
    with pytest.raises(InvalidIdentifierError):
        wh.read_table("raw", bad)


def test_values_travel_as_parameters(wh):
    wh.write_table("raw", "v", pl.DataFrame({"s": ["x'; drop table raw.v; --"]}))
    out = wh.query("select count(*) as n from raw.v where s = ?", ["x'; drop table raw.v; --"])
    assert out.item(0, 0) == 1


COLUMNS = [("id", "string"), ("n", "int")]


def _raw(key: str, day: date, ids: list[str]) -> RawFile:
    return RawFile(key, day, pl.DataFrame({"id": ids, "n": list(range(len(ids)))}))


def test_load_raw_files_adds_loader_columns_and_is_idempotent(wh):
    d = date(2024, 1, 5)
    at = datetime(2024, 1, 5, 3, 0, tzinfo=UTC)
    files = [
        _raw("orders/load_date=2024-01-05/a.parquet", d, ["x", "y"]),
        _raw("orders/load_date=2024-01-05/b.parquet", d, ["z"]),
    ]
    assert wh.load_raw_files("orders_t", COLUMNS, [d], files, at) == 3
    assert wh.load_raw_files("orders_t", COLUMNS, [d], files, at) == 3  # re-run: replaced, not appended
    got = wh.query("select id, _load_date, _source_file, _loaded_at from raw.orders_t order by id")
    assert got.height == 3
    assert set(got.get_column("_load_date")) == {d}
    assert got.get_column("_source_file").to_list()[2].endswith("b.parquet")
    assert got.get_column("_loaded_at")[0] == datetime(2024, 1, 5, 3, 0)  # naive UTC


def test_load_raw_files_retains_rows_of_quarantined_keys(wh):
    d = date(2024, 1, 5)
    at = datetime.now(UTC)
    a, b = "t/load_date=2024-01-05/a.parquet", "t/load_date=2024-01-05/b.parquet"
    wh.load_raw_files("ret", COLUMNS, [d], [_raw(a, d, ["1"]), _raw(b, d, ["2"])], at)
    # b re-delivered broken: its last good rows stay, a is replaced
    wh.load_raw_files("ret", COLUMNS, [d], [_raw(a, d, ["1", "3"])], at, retain_files=[b])
    assert wh.query("select id from raw.ret order by id").get_column("id").to_list() == ["1", "2", "3"]


def test_failure_mid_replace_leaves_old_partition_intact(wh):
    d = date(2024, 1, 6)
    at = datetime.now(UTC)
    good = _raw("t/load_date=2024-01-06/a.parquet", d, ["old1", "old2"])
    wh.load_raw_files("atomic", COLUMNS, [d], [good], at)
    first = _raw("t/load_date=2024-01-06/a.parquet", d, ["new1"])
    # the second file cannot be inserted (its column does not fit the table): fails after the DELETE ran
    broken = RawFile("t/load_date=2024-01-06/b.parquet", d, pl.DataFrame({"id": ["new2"], "n": ["not-an-int"]}))
    with pytest.raises((duckdb.Error, pl.exceptions.PolarsError)):  # the cast fails in polars or in the engine
        wh.load_raw_files("atomic", COLUMNS, [d], [first, broken], at)
    assert sorted(wh.query("select id from raw.atomic").get_column("id").to_list()) == ["old1", "old2"]


def test_reader_never_sees_half_a_partition(wh):
    d = date(2024, 1, 7)
    keys = [f"t/load_date=2024-01-07/f{i}.parquet" for i in range(4)]
    files = [_raw(k, d, [f"{k}-{j}" for j in range(500)]) for k in keys]
    wh.load_raw_files("iso", COLUMNS, [d], files, datetime.now(UTC))
    seen: set[int] = set()
    stop = threading.Event()

    def read():
        while not stop.is_set():
            seen.add(wh.query("select count(*) from raw.iso").item(0, 0))

    t = threading.Thread(target=read)
    t.start()
    try:
        for _ in range(15):
            wh.load_raw_files("iso", COLUMNS, [d], files, datetime.now(UTC))
    finally:
        stop.set()
        t.join()
    assert seen == {2000}


def test_unknown_engine_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown warehouse engine"):
        WarehouseResource(engine="oracle", duckdb_path=str(tmp_path / "x.duckdb")).build()
