"""dbt on real generated data: the full build with every test, incremental == full refresh, mf (SCD2 history:
test_customer_profile_history.py)."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from customer360.settings import DBT_PROJECT_DIR
from customer360_tests.transform.conftest import FIRST_DAY, GEN_END

FCT_COLUMNS = (
    "transaction_id, customer_id, order_id, transaction_date, amount, amount_local, currency, payment_method, "
    "transaction_type, status, merchant_id, transaction_day"
)


def test_full_build_passes_every_test_and_dedups(built):
    dbt_env, result = built.env, built.build_result
    kinds = {r.node.resource_type for r in result.result.results}
    assert {"model", "test", "unit_test"} <= {str(k).split(".")[-1].lower() for k in kinds}

    # the generator re-sends rows and delivers late versions: raw holds duplicates, staging one row per key
    raw, distinct, staged = dbt_env.sql(
        "select (select count(*) from raw.transactions), (select count(distinct transaction_id) from raw.transactions),"
        " (select count(*) from staging.stg_transactions)"
    )[0]
    assert raw > distinct == staged
    # one row per customer in every customer-level model, ML score columns null before ML ran
    customers = dbt_env.sql("select count(*) from staging.stg_customers")[0][0]
    for table in (
        "intermediate.int_customer_orders",
        "ml.feat_customer_segmentation",
        "ml.feat_fraud_behavior",
        "marts.fct_customer_value",
    ):
        assert dbt_env.sql(f"select count(*) from {table}")[0][0] == customers, table
    assert dbt_env.sql("select count(*) from marts.fct_customer_value where churn_probability is not null")[0][0] == 0
    # USD conversion follows the seed
    assert (
        dbt_env.sql(
            "select count(*) from staging.stg_transactions t join staging.fx_rates f using (currency)"
            " where abs(t.amount_usd - t.amount * f.rate_to_usd) > 1e-9"
        )[0][0]
        == 0
    )


def test_incremental_partitions_equal_full_refresh(dbt_env):
    """Build up to day N-3, then append three days, each run as its partition window (as Dagster does) with the
    lookback picking up late rows; the result equals a full refresh."""
    last_initial = GEN_END - timedelta(days=3)
    dbt_env.load(FIRST_DAY, last_initial)
    dbt_env.dbt("seed")
    dbt_env.dbt("run", "--select", "+fct_transactions")
    for i in range(1, 4):
        day = last_initial + timedelta(days=i)
        dbt_env.load(day, day, append=True)
        window = {"min_date": day.isoformat(), "max_date": (day + timedelta(days=1)).isoformat()}
        # stg_transactions (incremental: merges what arrived) runs with each window; the customer signals are
        # refreshed by the last run only (cheaper; the flags of the last window are then computed from the same
        # customer signals as the full refresh below)
        dbt_env.dbt(
            "run",
            "--select",
            *(["+fct_transactions"] if i == 3 else ["stg_transactions", "fct_transactions"]),
            vars=window,
        )
    dbt_env.sql(
        f"create table main.incremental_result as select {FCT_COLUMNS}, is_high_risk from marts.fct_transactions"
    )
    late = dbt_env.sql("select count(*) from raw.transactions where cast(transaction_date as date) < _load_date")[0][0]
    assert late > 0, "the generator should deliver some late transactions (lookback path untested otherwise)"

    dbt_env.dbt("run", "--select", "fct_transactions", "--full-refresh")
    diff = dbt_env.sql(
        f"select count(*) from ((select {FCT_COLUMNS} from main.incremental_result except all"
        f" select {FCT_COLUMNS} from marts.fct_transactions) union all (select {FCT_COLUMNS} from marts.fct_transactions"
        f" except all select {FCT_COLUMNS} from main.incremental_result))"
    )[0][0]
    assert diff == 0
    assert (
        dbt_env.sql("select count(*) from main.incremental_result")[0][0]
        == dbt_env.sql("select count(*) from marts.fct_transactions")[0][0]
        == dbt_env.sql("select count(*) from staging.stg_transactions")[0][0]
    )
    # is_high_risk is re-evaluated inside each run's window (+ lookback): equal there
    window_start = (GEN_END - timedelta(days=2)).isoformat()
    flag_diff = dbt_env.sql(
        "select count(*) from main.incremental_result i join marts.fct_transactions f using (transaction_id)"
        " where i.transaction_date >= cast(? as date) and i.is_high_risk <> f.is_high_risk",
        [window_start],
    )[0][0]
    assert flag_diff == 0


def test_mf_query_answers_a_kpi(built):
    # mf reads dbt_project/target/semantic_manifest.json, written by `dbt parse` at setup (scripts/prepare_dbt.py)
    dbt_env = built.env
    env = {**os.environ, **dbt_env.env()}
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "mf"),
            "query",
            "--metrics",
            "revenue",
            "--group-by",
            "metric_time__day",
            "--csv",
            str(dbt_env.target_path / "revenue.csv"),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = (dbt_env.target_path / "revenue.csv").read_text().strip().splitlines()
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
    assert header == ["metric_time__day", "revenue"]
    mf_total = sum(float(r[1]) for r in rows if r[1])
    sql_total = dbt_env.sql("select sum(total_amount) from marts.fct_orders where order_status = 'completed'")[0][0]
    assert abs(mf_total - sql_total) < 1e-6 * max(1.0, sql_total)


def test_partition_run_merges_an_old_transaction_that_arrived_on_its_day(dbt_env):
    """Partitions are by arrival day, the window filters the event date: a re-sent transaction dated well before the
    lookback (status changed weeks later) that arrived on the partition's day is merged by that day's run."""
    day = GEN_END
    dbt_env.load(FIRST_DAY, day - timedelta(days=1))
    dbt_env.dbt("seed")
    dbt_env.dbt("run", "--select", "+fct_transactions")
    (transaction_id,) = dbt_env.sql(
        "select transaction_id from marts.fct_transactions where status = 'success' and transaction_date < ?"
        " order by transaction_date, transaction_id limit 1",
        [FIRST_DAY + timedelta(days=2)],
    )[0]
    # the re-sent version lands with the partition's day, an hour after everything merged so far
    dbt_env.sql(
        "insert into raw.transactions select * replace ('reversed' as status, cast(? as date) as _load_date,"
        " 'transactions/resend.parquet' as _source_file, (select max(_loaded_at) from raw.transactions)"
        " + interval 1 hour as _loaded_at) from raw.transactions where transaction_id = ? limit 1",
        [day, transaction_id],
    )
    window = {"min_date": day.isoformat(), "max_date": (day + timedelta(days=1)).isoformat()}
    dbt_env.dbt("run", "--select", "stg_transactions", "fct_transactions", vars=window)
    assert dbt_env.sql("select status from staging.stg_transactions where transaction_id = ?", [transaction_id]) == [
        ("reversed",)
    ]
    assert dbt_env.sql("select status from marts.fct_transactions where transaction_id = ?", [transaction_id]) == [
        ("reversed",)
    ]
