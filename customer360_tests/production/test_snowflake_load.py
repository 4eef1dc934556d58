"""Raw loads on the Snowflake engine under the emulator (fakesnow.patch()): COPY INTO from the landing stage,
idempotent partition replace, and load errors turned into quarantine + a failing asset check — through the
same Dagster assets and loader as on DuckDB, only C360_WAREHOUSE differs."""

import dataclasses
import shutil
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import fakesnow
import polars as pl
import pytest

from customer360.ingestion.assets import QUARANTINE_CHECK, build_raw_asset
from customer360.ingestion.loader import load_days, raw_columns
from customer360.resources import RawFile, WarehouseResource
from customer360.resources.landing import LandingResource
from customer360.resources.snowflake_warehouse import RawFilesRejectedError, SnowflakeWarehouse
from customer360.settings import Settings
from customer360_tests.production.conftest import GEN_DAYS, GEN_END, bad_file_keys
from customer360_tests.production.helpers import snowflake_env
from customer360_tests.production.snowflake_setup import SOURCE_ORDER, prepare_account

DAYS = [date.fromisoformat(GEN_END) - timedelta(days=i) for i in range(GEN_DAYS)][::-1]


@pytest.fixture
def landing(generated_landing, tmp_path):
    root = tmp_path / "landing"
    shutil.copytree(generated_landing, root)
    shutil.copytree(generated_landing.parent / "truth", tmp_path / "truth")
    return root


@pytest.fixture
def emulator(monkeypatch, landing):
    for key, value in snowflake_env(None).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("C360_WAREHOUSE", "snowflake")
    with fakesnow.patch():
        warehouse = WarehouseResource(engine="snowflake")
        impl = warehouse.build()
        assert isinstance(impl, SnowflakeWarehouse)
        prepare_account(impl, landing)
        yield warehouse, impl


def _landing_rows(landing, source, skip=frozenset()) -> tuple[int, set[str]]:
    files = [f for f in sorted((landing / source).rglob("*.parquet")) if str(f.relative_to(landing)) not in skip]
    return sum(pl.read_parquet(f).height for f in files), {str(f.relative_to(landing)) for f in files}


def test_copy_into_raw_is_complete_and_idempotent(emulator, landing, tmp_path):
    """Every good file is loaded once; every planted defective file is quarantined, as on DuckDB."""
    _warehouse, impl = emulator
    res = LandingResource(landing_url=str(landing), quarantine_url=str(tmp_path / "quarantine"))
    bad = bad_file_keys(landing)
    assert len(bad) >= 8
    for source in SOURCE_ORDER:
        report = load_days(source, DAYS, impl, res)
        planted = {k for k in bad if k.startswith(f"{source}/")}
        assert {q.key for q in report.quarantined} == planted, source
        for q in report.quarantined:
            assert (tmp_path / "quarantine" / (q.key + ".error.json")).exists() and q.reason
        rows, keys = _landing_rows(landing, source, skip=planted)
        assert report.rows == rows > 0, source
        raw = impl.read_table("raw", source)
        assert raw.columns == [c for c, _ in raw_columns(source)]  # catalog order + loader columns
        assert raw.height == rows and set(raw["_source_file"].unique()) == keys
        # _load_date is the file's load_date= folder
        folders = raw.select(pl.col("_source_file").str.extract(r"load_date=([0-9-]+)/").str.to_date(), "_load_date")
        assert folders.filter(pl.col("_source_file") != pl.col("_load_date")).height == 0
    before = impl.read_table("raw", "transactions").drop("_loaded_at").sort("transaction_id", "_source_file")
    # re-running the days gives the same rows, no duplicates
    report = load_days("transactions", DAYS, impl, res, loaded_at=datetime.now(UTC) + timedelta(hours=1))
    after = impl.read_table("raw", "transactions")
    assert report.rows == after.height == before.height
    assert after["_loaded_at"].n_unique() == 1
    assert after.drop("_loaded_at").sort("transaction_id", "_source_file").equals(before)


def test_bad_file_is_quarantined_and_the_asset_check_fails(emulator, landing, tmp_path):
    warehouse, impl = emulator
    quarantine = tmp_path / "quarantine"
    res = LandingResource(landing_url=str(landing), quarantine_url=str(quarantine))
    day = DAYS[-1]
    load_days("customers", DAYS, impl, res)
    bad = bad_file_keys(landing)
    good_rows, _ = _landing_rows(landing, "orders", skip=bad)
    folder = landing / "orders" / f"load_date={day.isoformat()}"
    victim = next(f for f in sorted(folder.glob("*.parquet")) if str(f.relative_to(landing)) not in bad)
    victim_rows = pl.read_parquet(victim).height
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])  # truncated delivery
    settings = dataclasses.replace(Settings.from_env(), partitions_start=DAYS[0].isoformat())  # not the env's
    asset = build_raw_asset("orders", settings)
    result = dg.materialize(
        [asset],
        partition_key=day.isoformat(),
        resources={"warehouse": warehouse, "landing": res},
        raise_on_error=False,
    )
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks[QUARANTINE_CHECK].passed is False
    key = str(victim.relative_to(landing))
    named = str({k: getattr(v, "value", v) for k, v in checks[QUARANTINE_CHECK].metadata.items()})
    assert key in named  # the check names the quarantined file
    assert (quarantine / (key + ".error.json")).exists() and (quarantine / key).exists()
    day_rows = impl.query("select count(*) as n from raw.orders where _load_date = ?", [day]).item()
    expected_day = sum(
        pl.read_parquet(f).height
        for f in folder.glob("*.parquet")
        if f != victim and str(f.relative_to(landing)) not in bad
    )
    assert day_rows == expected_day  # the other files of the day loaded
    assert good_rows > expected_day >= 0 and victim_rows > 0


def test_a_file_snowflake_rejects_is_quarantined_the_rest_commits(emulator, landing, tmp_path, monkeypatch):
    """The contract passed but COPY fails (the file changed after validation): the warehouse reports it, the
    loader quarantines it with Snowflake's reason, the other files of the day commit."""
    _warehouse, impl = emulator
    res = LandingResource(landing_url=str(landing), quarantine_url=str(tmp_path / "quarantine"))
    load_days("customers", DAYS, impl, res)
    day = DAYS[-1]
    files = [
        f
        for f in sorted((landing / "products").rglob("*.parquet"))
        if str(f.relative_to(landing)) not in bad_file_keys(landing)
    ]
    assert files
    good = files[0]
    frame = pl.read_parquet(good)
    bad_key = str(good.relative_to(landing)).replace(".parquet", "_x.parquet")
    (landing / bad_key).write_bytes(b"PAR1 not really parquet")
    columns = [(c, t) for c, t in raw_columns("products")[: frame.width]]
    good_file = RawFile(str(good.relative_to(landing)), day, frame)
    bad_file = RawFile(bad_key, day, frame)
    with pytest.raises(RawFilesRejectedError) as info:
        impl.load_raw_files("products", columns, [day], [good_file, bad_file], datetime.now(UTC))
    assert set(info.value.rejected) == {bad_key} and info.value.inserted == frame.height
    raw = impl.read_table("raw", "products")
    assert set(raw["_source_file"]) == {good_file.key} and raw.height == frame.height
    # through the loader: the rejection becomes a quarantine record with Snowflake's reason
    original_read = LandingResource.read

    def read(self, key):  # the contract sees a valid file, the stage serves the broken one
        return original_read(self, good_file.key if key == bad_key else key)

    monkeypatch.setattr(LandingResource, "read", read)
    report = load_days("products", [date.fromisoformat(bad_key.split("load_date=")[1][:10])], impl, res)
    rejected = [q for q in report.quarantined if q.key == bad_key]
    assert rejected and "warehouse" in rejected[0].reason
    assert bad_key not in set(impl.read_table("raw", "products")["_source_file"])


def test_warehouse_interface_matches_duckdb(emulator, tmp_path):
    """write_table / replace_partition / read_table / query / table_exists give the same results on both engines."""
    from customer360.resources.duckdb_warehouse import DuckDBWarehouse
    from customer360.resources.warehouse import InvalidIdentifierError

    _, snow = emulator
    duck = DuckDBWarehouse(str(tmp_path / "parity.duckdb"))
    scored = datetime(2024, 3, 8, 2, 0, tzinfo=UTC)
    first = pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "churn_probability": [0.1, 0.5, 0.9],
            "segment_id": [1, 2, 2],
            "model_version": ["v1"] * 3,
            "scored_at": [scored] * 3,
        }
    )
    second = first.with_columns(pl.lit("v2").alias("model_version")).head(2)
    results = {}
    for name, wh in (("duckdb", duck), ("snowflake", snow)):
        assert not wh.table_exists("ml", "churn_probe")
        assert wh.write_table("ml", "churn_probe", first) == 3
        assert wh.write_table("ml", "churn_probe", second) == 2  # create-or-replace
        assert wh.table_exists("ml", "churn_probe")
        wh.replace_partition("ml", "churn_probe", first.filter(pl.col("segment_id") == 2), "segment_id", [2])
        table = wh.read_table("ml", "churn_probe").sort("customer_id")
        agg = wh.query(
            "select segment_id, count(*) as n from ml.churn_probe where churn_probability >= ? group by segment_id "
            "order by segment_id",
            [0.1],
        )
        results[name] = (
            table.with_columns(pl.col("segment_id").cast(pl.Int64)),
            agg.with_columns(pl.all().cast(pl.Int64)),
        )
        for bad in ("churn_probe; drop table ml.x", "ML", "1abc"):
            with pytest.raises(InvalidIdentifierError):
                wh.read_table("ml", bad)
    duck_table, duck_agg = results["duckdb"]
    snow_table, snow_agg = results["snowflake"]
    assert snow_table.columns == duck_table.columns
    assert snow_table.with_columns(pl.col("scored_at").cast(pl.Datetime("us"))).equals(
        duck_table.with_columns(pl.col("scored_at").dt.replace_time_zone(None).cast(pl.Datetime("us")))
    )
    assert snow_agg.equals(duck_agg)
    assert snow_table["model_version"].to_list() == ["v2", "v1", "v1"]  # c2 came back with its segment
