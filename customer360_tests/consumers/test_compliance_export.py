"""The compliance export against the built warehouse: contents vs ``marts.fct_transactions``, the flagged-amount KPI
vs the semantic layer, atomic re-runs, a backfill range in one run, a bad exports location."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from customer360.consumers.compliance_export import EXPORT_PREFIX, build_compliance_export_asset, day_prefix, read_day
from customer360.ingestion.partitions import daily_partitions
from customer360.resources import WarehouseResource
from customer360.settings import DBT_PROJECT_DIR
from customer360.storage import open_store
from customer360.transform.project import dbt_project
from customer360_tests.consumers.conftest import FIRST_DAY, GEN_END

TRANSACTION_SIGNALS = ("signal_unusual_amount", "signal_night", "signal_failed", "signal_non_usd")
CUSTOMER_SIGNALS = ("signal_ml_high_risk_tier", "signal_customer_night_ratio", "signal_customer_failed_ratio")


def _asset(exports_url: str):
    manifest = json.loads(dbt_project("local").manifest_path.read_text())
    return build_compliance_export_asset(manifest, exports_url, daily_partitions(FIRST_DAY.isoformat()))


def _materialize(asset, db: Path, **kwargs):
    return dg.materialize([asset], resources={"warehouse": WarehouseResource(duckdb_path=str(db))}, **kwargs)


def _sql(db: Path, query: str, params=None):
    with duckdb.connect(str(db)) as con:
        return con.execute(query, params or []).fetchall()


def _busiest_day(db: Path) -> date:
    rows = _sql(
        db,
        "select transaction_day, count(*) from marts.fct_transactions where is_high_risk "
        "group by 1 order by 2 desc, 1 limit 1",
    )
    assert rows, "the built warehouse has no is_high_risk transaction: the fixture cannot test the export"
    return rows[0][0]


def test_export_of_a_day_is_that_days_high_risk_rows(warehouse_file, tmp_path):
    day = _busiest_day(warehouse_file)
    exports = tmp_path / "exports"
    result = _materialize(_asset(str(exports)), warehouse_file, partition_key=day.isoformat())
    assert result.success
    manifest, frame = read_day(open_store(str(exports)), day)
    expected = _sql(
        warehouse_file,
        "select transaction_id, amount, customer_id from marts.fct_transactions "
        "where is_high_risk and transaction_day = ? order by transaction_id",
        [day],
    )
    assert sorted(frame["transaction_id"].to_list()) == [r[0] for r in expected]
    assert manifest["row_count"] == len(expected) == frame.height
    assert manifest["flagged_amount_usd"] == round(sum(r[1] for r in expected), 2)
    # the CSV holds the same rows as the parquet
    csv_rows = list(
        csv.DictReader(io.StringIO(open_store(str(exports)).read(manifest["files"]["csv"]["key"]).decode()))
    )
    assert sorted(r["transaction_id"] for r in csv_rows) == sorted(frame["transaction_id"].to_list())
    # every row carries the customer's risk tier and the signals that made it high risk (the rule: a risky
    # customer AND at least two anomalies of the attempt)
    assert frame["risk_tier"].null_count() == 0
    for row in frame.iter_rows(named=True):
        assert sum(row[s] for s in TRANSACTION_SIGNALS) >= 2, row
        assert any(row[s] for s in CUSTOMER_SIGNALS), row
        assert set(row["signals_fired"].split(",")) == {
            s.removeprefix("signal_") for s in TRANSACTION_SIGNALS + CUSTOMER_SIGNALS if row[s]
        }
    md = result.get_asset_materialization_events()[0].materialization.metadata
    assert md["flagged_amount_usd"].value == manifest["flagged_amount_usd"]
    assert md["flagged_transactions"].value == len(expected)


def _mf_flagged_amount(db: Path, target: Path) -> float:
    env = {**os.environ, "C360_DUCKDB_PATH": str(db), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    out_csv = target / "flagged.csv"
    out = subprocess.run(
        [str(Path(sys.executable).parent / "mf"), "query", "--metrics", "flagged_amount", "--csv", str(out_csv)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    header, value = out_csv.read_text().strip().splitlines()
    assert header == "flagged_amount"
    return float(value)


def test_backfill_range_is_one_run_and_reconciles_with_the_semantic_layer(warehouse_file, tmp_path):
    exports = tmp_path / "exports"
    first = _sql(warehouse_file, "select min(transaction_day) from marts.fct_transactions")[0][0]
    result = _materialize(
        _asset(str(exports)),
        warehouse_file,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: max(first, FIRST_DAY).isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: GEN_END.isoformat(),
        },
    )
    assert result.success
    store = open_store(str(exports))
    days = [max(first, FIRST_DAY) + timedelta(days=i) for i in range((GEN_END - max(first, FIRST_DAY)).days + 1)]
    manifests = [read_day(store, d)[0] for d in days]  # every day of the range is committed, empty days too
    in_range = _sql(
        warehouse_file,
        "select count(*), sum(amount) from marts.fct_transactions where is_high_risk "
        "and transaction_day between ? and ?",
        [days[0], days[-1]],
    )[0]
    assert sum(m["row_count"] for m in manifests) == in_range[0]
    md = result.get_asset_materialization_events()[0].materialization.metadata
    total_all = _sql(warehouse_file, "select sum(amount) from marts.fct_transactions where is_high_risk")[0][0]
    before = _sql(
        warehouse_file,
        "select count(*) from marts.fct_transactions where is_high_risk and transaction_day < ?",
        [days[0]],
    )[0][0]
    assert before == 0, "the range must cover every flagged day for the KPI comparison below"
    # to the cent: the asset's KPI = SQL = MetricFlow's flagged_amount
    assert md["flagged_amount_usd"].value == round(in_range[1], 2) == round(total_all, 2)
    assert md["flagged_amount_usd"].value == round(_mf_flagged_amount(warehouse_file, tmp_path), 2)


def test_rerun_replaces_the_day_atomically(warehouse_file, tmp_path):
    day = _busiest_day(warehouse_file)
    exports = tmp_path / "exports"
    asset = _asset(str(exports))
    assert _materialize(asset, warehouse_file, partition_key=day.isoformat()).success
    store = open_store(str(exports))
    first_manifest, _ = read_day(store, day)
    dropped = _sql(
        warehouse_file,
        "select transaction_id from marts.fct_transactions where is_high_risk "
        "and transaction_day = ? order by transaction_id limit 1",
        [day],
    )[0][0]
    with duckdb.connect(str(warehouse_file)) as con:
        con.execute("update marts.fct_transactions set is_high_risk = false where transaction_id = ?", [dropped])
    assert _materialize(asset, warehouse_file, partition_key=day.isoformat()).success
    manifest, frame = read_day(store, day)
    assert manifest["row_count"] == first_manifest["row_count"] - 1 and dropped not in frame["transaction_id"].to_list()
    # exactly the new files + manifest remain: the previous attempt's files were removed after the commit
    keys = {o.key for o in store.list(day_prefix(day))}
    assert keys == {f["key"] for f in manifest["files"].values()} | {f"{day_prefix(day)}/manifest.json"}
    assert not any(k.startswith(EXPORT_PREFIX) and "tmp" in k for k in keys)


def test_unwritable_location_is_a_clear_error_and_a_retry_completes(warehouse_file, tmp_path):
    day = _busiest_day(warehouse_file)
    blocked = tmp_path / "exports"
    blocked.write_text("a file where the exports folder should be")
    asset = _asset(str(blocked))
    with pytest.raises(dg.Failure, match=r"cannot write the compliance export .* C360_EXPORTS_URL"):
        _materialize(asset, warehouse_file, partition_key=day.isoformat())
    blocked.unlink()  # the location comes back: the same asset, re-run, completes
    assert _materialize(asset, warehouse_file, partition_key=day.isoformat()).success
    assert read_day(open_store(str(blocked)), day)[0]["row_count"] > 0
