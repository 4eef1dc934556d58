"""The ML assets end to end in Dagster on a small generated warehouse."""

from datetime import timedelta

import dagster as dg
import polars as pl
import pytest

from customer360.ml import features as F
from customer360.ml.assets import CHURN_KEY, LTV_KEY, RISK_KEY, SEGMENTS_KEY, ml_assets
from customer360.ml.contracts import OUTPUT_SCHEMAS
from customer360.resources import WarehouseResource

TABLES = {SEGMENTS_KEY: "customer_segments", RISK_KEY: "customer_risk_scores", CHURN_KEY: "churn_predictions",
          LTV_KEY: "ltv_predictions"}


def _run(db, artifacts, monkeypatch, refit=None, raise_on_error=True):
    monkeypatch.setenv("C360_ARTIFACTS_URL", str(artifacts))
    monkeypatch.delenv("C360_AS_OF_DATE", raising=False)
    cfg = {"ops": {a.op.name: {"config": {"refit": refit}} for a in ml_assets()}}
    return dg.materialize(
        ml_assets(),
        resources={"warehouse": WarehouseResource(duckdb_path=str(db))},
        run_config=cfg,
        raise_on_error=raise_on_error,
    )


def _metadata(result) -> dict[dg.AssetKey, dict]:
    return {e.materialization.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}


def test_assets_end_to_end_then_reuse(warehouse_copy, tmp_path, monkeypatch):
    wh = WarehouseResource(duckdb_path=str(warehouse_copy))
    customers = set(wh.query("select customer_id from staging.stg_customers")["customer_id"].to_list())

    first = _run(warehouse_copy, tmp_path / "artifacts", monkeypatch)
    assert first.success
    md = _metadata(first)
    assert set(md) == set(TABLES)
    for key, table in TABLES.items():
        df = wh.read_table("ml", table)
        assert df[F.ID].n_unique() == df.height and set(df[F.ID].to_list()) <= customers
        OUTPUT_SCHEMAS[table].validate(df.with_columns(pl.col("scored_at").cast(pl.Datetime("us"))))
        assert md[key]["reused_model"].value is False
        assert md[key]["dagster/row_count"].value == df.height
    # every stg customer is segmented and risk-scored (the feature tables hold one row per customer)
    assert wh.read_table("ml", "customer_segments").height == len(customers)
    assert wh.read_table("ml", "customer_risk_scores").height == len(customers)
    # a data scientist's metadata: metrics, class balance, importances, profiles, plots
    assert "data:image/png;base64," in md[CHURN_KEY]["roc_pr_curve"].value
    assert "data:image/png;base64," in md[CHURN_KEY]["calibration_curve"].value
    assert "data:image/png;base64," in md[SEGMENTS_KEY]["segment_profile_plot"].value
    assert "churn_rate" in md[CHURN_KEY]["class_balance"].value
    assert 0.0 <= md[CHURN_KEY]["holdout_roc_auc"].value <= 1.0
    assert "| feature |" in md[CHURN_KEY]["feature_importance"].value
    assert "customer_segment" in md[SEGMENTS_KEY]["segment_profiles"].value
    assert md[SEGMENTS_KEY]["min_segment_share"].value >= 0.02
    segments_1 = wh.read_table("ml", "customer_segments").select(F.ID, "segment_id", "customer_segment").sort(F.ID)
    versions_1 = {k: md[k]["model_version"].value for k in TABLES}

    # same data again: every model is reused (no refit), the outputs are identical
    second = _run(warehouse_copy, tmp_path / "artifacts", monkeypatch)
    md2 = _metadata(second)
    assert all(md2[k]["reused_model"].value for k in TABLES)
    assert {k: md2[k]["model_version"].value for k in TABLES} == versions_1
    segments_2 = wh.read_table("ml", "customer_segments").select(F.ID, "segment_id", "customer_segment").sort(F.ID)
    assert segments_1.equals(segments_2)



def test_contract_violation_fails_the_asset_with_the_reason(warehouse_copy, tmp_path, monkeypatch):
    wh = WarehouseResource(duckdb_path=str(warehouse_copy))
    bad = wh.read_table("ml", "feat_fraud_behavior")
    bad = pl.concat([bad, bad.head(1)]).with_columns(pl.lit(1.7).alias("night_txn_ratio"))
    wh.write_table("ml", "feat_fraud_behavior", bad)
    monkeypatch.setenv("C360_ARTIFACTS_URL", str(tmp_path / "artifacts"))
    risk = [a for a in ml_assets() if RISK_KEY in a.keys]
    with pytest.raises(Exception, match="night_txn_ratio") as exc:
        dg.materialize(risk, resources={"warehouse": wh})
    assert "customer_id" in str(exc.value)  # the duplicate is named too
    assert not wh.table_exists("ml", "customer_risk_scores") or wh.read_table("ml", "customer_risk_scores").height == 0


def test_point_in_time_on_generated_data(ml_warehouse):
    """Features as of a cutoff computed from all rows == computed from only the rows before the cutoff."""
    frames = F.load_source_frames(WarehouseResource(duckdb_path=str(ml_warehouse)))
    cutoff = F.effective_as_of(frames, None) - timedelta(days=120)
    c = F._start(cutoff)
    past = F.SourceFrames(
        customers=frames.customers,
        orders=frames.orders.filter(pl.col("order_date") < cutoff),
        sessions=frames.sessions.filter(pl.col("session_end") < c),
        campaigns=frames.campaigns.filter(pl.col("sent_at") < c).with_columns(
            pl.when(pl.col("opened_at") < c).then(pl.col("opened_at")).alias("opened_at"),
            pl.when(pl.col("clicked_at") < c).then(pl.col("clicked_at")).alias("clicked_at"),
        ),
        tickets=frames.tickets.filter(pl.col("created_at") < c).with_columns(
            pl.when(pl.col("resolved_at") < c).then(pl.col("resolved_at")).alias("resolved_at"),
        ),
        txn_daily=frames.txn_daily.filter(pl.col("day") < cutoff),
    )
    full = F.point_in_time_features(frames, cutoff)
    assert full.height > 100
    assert full.equals(F.point_in_time_features(past, cutoff))


def test_sql_loader_matches_the_polars_aggregation(ml_warehouse):
    wh = WarehouseResource(duckdb_path=str(ml_warehouse))
    loaded = F.load_source_frames(wh)
    events = wh.query("select customer_id, session_id, event_timestamp from staging.stg_events")
    txns = wh.query("select * from staging.stg_transactions")
    key = [F.ID, "session_id"]
    assert loaded.sessions.sort(key).equals(F.sessions_from_events(events).sort(key))
    a = loaded.txn_daily.sort(F.ID, "day")
    b = F.transactions_daily(txns).sort(F.ID, "day")
    assert a.select(F.ID, "day", "n_txn", "n_failed").equals(b.select(F.ID, "day", "n_txn", "n_failed"))
    assert (a["purchase_usd"] - b["purchase_usd"]).abs().max() < 1e-6
