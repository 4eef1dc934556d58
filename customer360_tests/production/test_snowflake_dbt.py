"""The dbt project on target `snowflake`, against the fakesnow server on loopback: raw data loaded by the
Snowflake engine (COPY from the landing stage) → `dbt build` (seed, views, tables, tests, incremental, snapshot),
then new days + a KYC change → the incremental MERGE and the profile history's merge; the merged table equals a full
refresh. Every dbt call runs with --fail-fast under a timeout (the emulator can hang after an error)."""

import os
import shutil
import subprocess
from datetime import date, timedelta

import pytest

from customer360.ingestion.loader import load_days
from customer360.resources import WarehouseResource
from customer360.resources.landing import LandingResource
from customer360_tests.production.conftest import GEN_DAYS, GEN_END, bad_file_keys
from customer360_tests.production.helpers import BIN, DBT_PROJECT, fakesnow_server, snowflake_env
from customer360_tests.production.snowflake_setup import SOURCE_ORDER, prepare_account

DAYS = [date.fromisoformat(GEN_END) - timedelta(days=i) for i in range(GEN_DAYS)][::-1]
FIRST, LATER = DAYS[:-2], DAYS[-2:]
DBT_TIMEOUT = 240


def _dbt(env: dict, tmp, *args: str) -> str:
    cmd = [
        "timeout",
        "-k",
        "10",
        str(DBT_TIMEOUT),
        str(BIN / "dbt"),
        *args,
        "--fail-fast",
        "--vars",
        f"{{as_of_date: '{GEN_END}'}}",
    ]
    out = subprocess.run(cmd, cwd=DBT_PROJECT, env=env, capture_output=True, text=True, timeout=DBT_TIMEOUT + 30)
    if out.returncode != 0:
        log = tmp / "logs" / "dbt.log"
        detail = log.read_text()[-6000:] if log.exists() else ""
        pytest.fail(f"dbt {' '.join(args)} failed ({out.returncode}):\n{out.stdout[-4000:]}\n{detail}")
    return out.stdout


def test_dbt_build_on_snowflake_emulator(generated_landing, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    shutil.copytree(generated_landing, landing)
    shutil.copytree(generated_landing.parent / "truth", tmp_path / "truth")
    with fakesnow_server(tmp_path / "fakesnow.log") as port:
        env_sf = snowflake_env(port)
        for key, value in env_sf.items():
            monkeypatch.setenv(key, value)
        wh = WarehouseResource(engine="snowflake").build()
        prepare_account(wh, landing)
        res = LandingResource(landing_url=str(landing), quarantine_url=str(tmp_path / "quarantine"))
        bad = bad_file_keys(landing)
        # everything but the last two arrival days of transactions (they come later, for the incremental run)
        for source in SOURCE_ORDER:
            days = FIRST if source == "transactions" else DAYS
            quarantined = {q.key for q in load_days(source, days, wh, res).quarantined}
            assert quarantined <= bad, quarantined - bad  # only the generator's planted defects

        env = {
            **os.environ,
            **env_sf,
            "C360_DBT_TARGET": "snowflake",
            "DBT_PROFILES_DIR": str(DBT_PROJECT),
            "DBT_TARGET_PATH": str(tmp_path / "target"),
            "DBT_LOG_PATH": str(tmp_path / "logs"),
            "C360_DBT_THREADS": "4",
        }
        out = _dbt(env, tmp_path, "build")
        assert "Completed successfully" in out and " ERROR=0 " in out
        for rel in (
            "staging.stg_customers",
            "intermediate.int_customer_fraud_signals",
            "marts.fct_customer_value",
            "ml.feat_customer_segmentation",
            "ml.feat_fraud_behavior",
            "snapshots.snap_customer_profile",
        ):
            assert wh.query(f"select count(*) from {rel}").item() > 0, rel
        n_txn_first = wh.query("select count(*) from marts.fct_transactions").item()
        n_customers = wh.query("select count(*) from staging.stg_customers").item()
        # the profile history (every KYC/account change of raw.customers), one or more versions per customer
        n_versions = wh.query("select count(*) from snapshots.snap_customer_profile").item()
        assert (
            n_txn_first > 0
            and n_versions
            >= n_customers
            == wh.query("select count(distinct customer_id) from snapshots.snap_customer_profile").item()
        )
        # persist_docs: the marts' descriptions reach the warehouse catalog
        comment = wh.query(
            "select comment from information_schema.tables where table_schema = 'MARTS'"
            " and table_name = 'FCT_CUSTOMER_VALUE'"
        ).item()
        assert comment and comment.startswith("Customer 360"), comment

        # two more arrival days of transactions, and one customer's KYC status changes (a re-sent profile row)
        assert {q.key for q in load_days("transactions", LATER, wh, res).quarantined} <= bad
        changed = wh.query(
            "select customer_id, kyc_status from staging.stg_customers order by customer_id limit 1"
        ).row(0)
        new_status = "expired" if changed[1] != "expired" else "verified"
        wh.execute(
            "insert into raw.customers select customer_id, first_name, last_name, email, phone, signup_date, state, "
            "country, ?, account_status, preferred_language, dateadd(day, 1, _load_date), 'manual/kyc_change.parquet', "
            "dateadd(hour, 1, _loaded_at) from raw.customers where customer_id = ? "
            "order by _load_date desc, _loaded_at desc limit 1",
            [new_status, changed[0]],
        )
        # the incremental staging tables merge the new rows first (the snapshot reads stg_customers)
        _dbt(
            env,
            tmp_path,
            "build",
            "--select",
            "stg_customers",
            "stg_transactions",
            "fct_transactions",
            "snap_customer_profile",
        )
        log = (tmp_path / "logs" / "dbt.log").read_text()
        assert "merge into" in log.lower()  # the incremental run merged, it did not rebuild
        versions = wh.query(
            "select kyc_status from snapshots.snap_customer_profile where customer_id = ? order by dbt_valid_from",
            [changed[0]],
        )
        assert list(versions["kyc_status"])[-2:] == [changed[1], new_status]  # SCD2: the change opened a version
        assert wh.query("select count(*) from snapshots.snap_customer_profile").item() == n_versions + 1

        cols = (
            "transaction_id, customer_id, order_id, transaction_date, amount, amount_local, currency, "
            "payment_method, transaction_type, status, merchant_id, transaction_day"
        )
        incremental = wh.query(f"select {cols} from marts.fct_transactions order by transaction_id")
        assert incremental.height > n_txn_first
        assert incremental["transaction_id"].n_unique() == incremental.height  # merged, no duplicates
        _dbt(env, tmp_path, "run", "--select", "fct_transactions", "--full-refresh")
        full = wh.query(f"select {cols} from marts.fct_transactions order by transaction_id")
        assert incremental.equals(full), "incremental merge differs from a full refresh"
