"""One definition of a session: the point-in-time features' sessions (customer360.ml.features.SESSIONS_SQL) and the
dbt model int_session_features agree on the generated warehouse, pre-login sessions included."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl

from customer360.ml import features as F
from customer360.resources import WarehouseResource
from customer360.settings import DBT_PROJECT_DIR
from customer360_tests.ml.conftest import END_DATE


def _with_pre_login_sessions(db: Path) -> None:
    """The generator's pre-login visits end in a login event that stays anonymous; here the login of every third
    one names a customer, so those sessions hold anonymous pre-login events and one known customer."""
    with duckdb.connect(str(db)) as con:
        con.execute(
            """
            with known as (
                select customer_id, row_number() over (order by customer_id) - 1 as n from staging.stg_customers
            )
            update staging.stg_events e set customer_id = known.customer_id from known
            where e.event_type = 'login' and e.customer_id is null and hash(e.session_id) % 3 = 0
              and known.n = hash(e.session_id) % 500
            """
        )


def _dbt_run_session_features(db: Path, target: Path) -> None:
    env = {**os.environ, "C360_DUCKDB_PATH": str(db), "C360_DBT_TARGET": "local", "DBT_TARGET_PATH": str(target)}
    args = [
        str(Path(sys.executable).with_name("dbt")),
        "run",
        "--select",
        "int_session_features",
        "--full-refresh",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--vars",
        json.dumps({"as_of_date": END_DATE.isoformat()}),
    ]
    proc = subprocess.run(args, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_python_sessions_agree_with_int_session_features(warehouse_copy, tmp_path):
    _with_pre_login_sessions(warehouse_copy)
    _dbt_run_session_features(warehouse_copy, tmp_path / "dbt_target")
    wh = WarehouseResource(duckdb_path=str(warehouse_copy)).build()
    sessions = F.load_source_frames(wh).sessions
    assert sessions["session_end"].max().date() <= END_DATE  # dbt (as of END_DATE) sees every event too

    mixed = wh.query(
        "select session_id from staging.stg_events group by session_id "
        "having count(customer_id) > 0 and count(customer_id) < count(*)"
    )
    assert mixed.height > 10
    assert sessions.filter(pl.col("session_id").is_in(mixed["session_id"].implode())).height == mixed.height

    secs = (pl.col("session_end").dt.truncate("1s") - pl.col("session_start").dt.truncate("1s")).dt.total_seconds()
    python = sessions.group_by(F.ID).agg(
        pl.len().cast(pl.Int64).alias("total_sessions"),
        secs.mean().alias("avg_duration"),
        pl.col("session_start").max().dt.date().alias("last_active_date"),
    )
    dbt = wh.query(
        "select customer_id, total_sessions, avg_session_duration_sec, last_active_date "
        "from intermediate.int_session_features where total_sessions > 0"
    ).with_columns(pl.col("total_sessions").cast(pl.Int64), pl.col("last_active_date").cast(pl.Date))
    both = python.join(dbt, on=F.ID, how="full", coalesce=True)
    assert both.height == python.height == dbt.height > 100
    assert both["total_sessions"].equals(both["total_sessions_right"], check_names=False)
    assert both["last_active_date"].equals(both["last_active_date_right"], check_names=False)
    assert (both["avg_duration"] - both["avg_session_duration_sec"].cast(pl.Float64)).abs().max() <= 0.5
