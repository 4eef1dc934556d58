"""The ML assets end to end in Dagster on a small generated warehouse."""

from datetime import timedelta

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from customer360.ml import features as F
from customer360.ml.assets import CHURN_KEY, LTV_KEY, RISK_KEY, SEGMENTS_KEY, TABLES, ml_assets
from customer360.ml.catalog import column_schema
from customer360.ml.checks import CONTRACT_CHECK, QUALITY
from customer360.ml.contracts import OUTPUT_SCHEMAS
from customer360.resources import Warehouse, WarehouseResource


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
    wh = WarehouseResource(duckdb_path=str(warehouse_copy)).build()
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
    # a data scientist's metadata: metrics, class balance, importances, profiles (inline tables), plots
    assert "data:image/png;base64," in md[CHURN_KEY]["roc_pr_curve"].value
    assert "data:image/png;base64," in md[CHURN_KEY]["calibration_curve"].value
    assert "data:image/png;base64," in md[SEGMENTS_KEY]["segment_profile_plot"].value
    assert [c.name for c in md[CHURN_KEY]["class_balance"].schema.columns] == ["fold", "rows", "churn_rate"]
    assert 0.0 <= md[CHURN_KEY]["holdout_roc_auc"].value <= 1.0
    # accuracy next to what always answering the majority class scores, balanced accuracy, the high-risk tier
    for name in (
        "holdout_accuracy",
        "holdout_majority_baseline_accuracy",
        "holdout_balanced_accuracy",
        "holdout_high_risk_share",
    ):
        assert 0.0 <= md[CHURN_KEY][name].value <= 1.0, name
    assert md[CHURN_KEY]["holdout_majority_baseline_accuracy"].value >= 0.5
    assert "holdout_high_risk_precision" in md[CHURN_KEY]  # a number, or "nan" when nobody is above the threshold
    assert md[CHURN_KEY]["feature_importance"].records[0].data["feature"] in F.CHURN_LTV_FEATURES
    assert {r.data["customer_segment"] for r in md[SEGMENTS_KEY]["segment_profiles"].records} == set(
        wh.read_table("ml", "customer_segments")["customer_segment"].to_list()
    )
    assert md[SEGMENTS_KEY]["min_segment_share"].value >= 0.02
    # the tables' column schema (definition and materialization) is the output contract's
    defs_md = {k: a.specs_by_key[k].metadata for a in ml_assets() for k in a.keys}
    for key, table in TABLES.items():
        assert md[key]["dagster/column_schema"].schema == column_schema(table) == defs_md[key]["dagster/column_schema"]
        assert [c.name for c in column_schema(table).columns] == list(OUTPUT_SCHEMAS[table].columns)
    # every check ran with the materialization: the contracts passed, each quality check reported
    evaluations = {(e.asset_key, e.check_name): e for e in first.get_asset_check_evaluations()}
    for key, table in TABLES.items():
        assert evaluations[(key, CONTRACT_CHECK)].passed and evaluations[(key, CONTRACT_CHECK)].blocking
        for q in QUALITY[table]:
            assert (key, q.name) in evaluations and not evaluations[(key, q.name)].blocking
    # the descriptions name the horizon rule; the metadata says which horizon this data gave
    frames = F.load_source_frames(wh)
    as_of = F.effective_as_of(frames, None)
    for key in (CHURN_KEY, LTV_KEY):
        description = next(a.specs_by_key[key].description for a in ml_assets() if key in a.keys)
        assert "horizon_days" in description and "next 90 days" not in description
        assert md[key]["horizon_days"].value == F.choose_horizon(frames, as_of)
        assert f"{md[key]['horizon_days'].value} days" in md[key]["horizon"].value
    segments_1 = wh.read_table("ml", "customer_segments").select(F.ID, "segment_id", "customer_segment").sort(F.ID)
    versions_1 = {k: md[k]["model_version"].value for k in TABLES}

    # same data again: every model is reused (no refit), the outputs are identical
    second = _run(warehouse_copy, tmp_path / "artifacts", monkeypatch)
    md2 = _metadata(second)
    assert all(md2[k]["reused_model"].value for k in TABLES)
    assert {k: md2[k]["model_version"].value for k in TABLES} == versions_1
    # a reused model still shows the evaluation plots of its fit (saved with the model)
    for key, name in ((CHURN_KEY, "roc_pr_curve"), (CHURN_KEY, "calibration_curve"), (LTV_KEY, "predicted_vs_actual")):
        assert md2[key][name].value == md[key][name].value
    segments_2 = wh.read_table("ml", "customer_segments").select(F.ID, "segment_id", "customer_segment").sort(F.ID)
    assert segments_1.equals(segments_2)


def test_contract_violation_fails_the_asset_with_the_reason(warehouse_copy, tmp_path, monkeypatch):
    wh = WarehouseResource(duckdb_path=str(warehouse_copy)).build()
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
    frames = F.load_source_frames(WarehouseResource(duckdb_path=str(ml_warehouse)).build())
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
    wh = WarehouseResource(duckdb_path=str(ml_warehouse)).build()
    loaded = F.load_source_frames(wh)
    events = wh.query("select customer_id, session_id, event_timestamp from staging.stg_events")
    txns = wh.query("select * from staging.stg_transactions")
    key = [F.ID, "session_id"]
    assert loaded.sessions.sort(key).equals(F.sessions_from_events(events).sort(key))
    a = loaded.txn_daily.sort(F.ID, "day")
    b = F.transactions_daily(txns).sort(F.ID, "day")
    assert a.select(F.ID, "day", "n_txn", "n_failed").equals(b.select(F.ID, "day", "n_txn", "n_failed"))
    assert (a["purchase_usd"] - b["purchase_usd"]).abs().max() < 1e-6


def test_output_contract_failure_is_a_failed_blocking_check_that_stops_downstream(
    warehouse_copy, tmp_path, monkeypatch
):
    """A bad score table is not written, its check fails with the failing rows, and the marts do not run."""
    from customer360.ml import assets as A

    wh = WarehouseResource(duckdb_path=str(warehouse_copy)).build()
    monkeypatch.setenv("C360_ARTIFACTS_URL", str(tmp_path / "artifacts"))
    risk = [a for a in ml_assets() if RISK_KEY in a.keys]
    assert dg.materialize(risk, resources={"warehouse": wh}).success
    good = wh.read_table("ml", "customer_risk_scores").sort(F.ID)

    real = A.fraud_model.fit_and_score_fraud

    def broken(features, n_jobs=1):  # a scoring bug: one customer twice, a score above 1
        model, scored = real(features, n_jobs=n_jobs)
        scored = pl.concat([scored, scored.head(1)]).with_columns(
            pl.when(pl.int_range(pl.len()) == 3).then(1.7).otherwise(pl.col("anomaly_score")).alias("anomaly_score")
        )
        return model, scored

    monkeypatch.setattr(A.fraud_model._load(), "fit_and_score_fraud", broken)
    ran = []

    @dg.asset(key=dg.AssetKey(["marts", "reads_risk"]), deps=[RISK_KEY])
    def downstream():
        ran.append(True)

    result = dg.materialize(
        [*risk, downstream],
        resources={"warehouse": wh},
        run_config={"ops": {risk[0].op.name: {"config": {"refit": True}}}},
        raise_on_error=False,
    )
    assert not result.success and ran == []  # the downstream asset never ran
    assert not result.get_asset_materialization_events()  # and the bad scores were not materialized
    contract = next(e for e in result.get_asset_check_evaluations() if e.check_name == CONTRACT_CHECK)
    assert not contract.passed and contract.blocking and contract.severity == dg.AssetCheckSeverity.ERROR
    failures = {(r.data["column"], r.data["check"]) for r in contract.metadata["failures"].records}
    assert ("customer_id", "field_uniqueness") in failures
    assert any(col == "anomaly_score" and check.startswith("in_range") for col, check in failures)
    assert contract.metadata["failing_rows"].value == 3  # both copies of the duplicate + the 1.7
    assert 1.7 in [r.data["anomaly_score"] for r in contract.metadata["failing_rows_sample"].records]
    assert downstream.op.name not in {e.step_key for e in result.all_events if e.is_step_success}
    assert wh.read_table("ml", "customer_risk_scores").sort(F.ID).equals(good)  # the last good table stays


def test_settings_are_fixed_when_the_definitions_are_built(warehouse_copy, tmp_path, monkeypatch):
    """The artifact store (a relative default) and the threads are resolved when the code location loads: a step
    that runs after another library changed the working directory, or with a changed environment, still saves
    the model where the code location said."""
    from customer360.settings import Settings

    home, elsewhere = tmp_path / "repo", tmp_path / "dbt_project"
    home.mkdir(), elsewhere.mkdir()
    monkeypatch.chdir(home)
    monkeypatch.setenv("C360_ARTIFACTS_URL", "data/artifacts")  # the relative default
    monkeypatch.setenv("C360_ML_THREADS", "1")
    settings = Settings.from_env()
    risk = [a for a in ml_assets(settings) if RISK_KEY in a.keys]
    monkeypatch.chdir(elsewhere)  # what dagster-dbt's in-process adapter does mid-run
    monkeypatch.setenv("C360_ML_THREADS", "not-a-number")  # nothing reads the environment inside the run
    monkeypatch.setenv("C360_ARTIFACTS_URL", str(tmp_path / "other"))
    wh = WarehouseResource(duckdb_path=str(warehouse_copy)).build()
    assert dg.materialize(risk, resources={"warehouse": wh}).success
    assert list((home / "data" / "artifacts" / "models" / "customer_risk_scores").glob("*/model.joblib"))
    assert not (elsewhere / "data").exists() and not (tmp_path / "other").exists()


NEW_CUSTOMER = "CUST-NEW-0000001"


def _add_customer(wh: Warehouse) -> None:
    """Changed data since the fit: one more customer (signed up early, so also in the training cutoffs' features),
    in raw (→ the staging views churn/LTV read) and in both feature tables."""
    wh.execute(
        f"insert into raw.customers select * replace ('{NEW_CUSTOMER}' as customer_id) from raw.customers "
        "order by signup_date, customer_id limit 1"
    )
    # staging is an incremental table (not a view of raw): the dbt run that would merge the new row, by hand
    if wh.query(
        "select count(*) as n from information_schema.tables where table_schema = 'staging' "
        "and table_name = 'stg_customers' and table_type = 'BASE TABLE'"
    )["n"][0]:
        wh.execute(
            f"insert into staging.stg_customers select * replace ('{NEW_CUSTOMER}' as customer_id) "
            "from staging.stg_customers order by signup_date, customer_id limit 1"
        )
    for table in ("feat_customer_segmentation", "feat_fraud_behavior"):
        df = wh.read_table("ml", table)
        wh.write_table("ml", table, pl.concat([df, df.head(1).with_columns(pl.lit(NEW_CUSTOMER).alias(F.ID))]))


def _spy_point_in_time(monkeypatch) -> dict[str, list]:
    """Records every point-in-time feature computation (its cutoff) and every read of the full history."""
    from customer360.ml import scoring_inputs

    seen: dict[str, list] = {"cutoffs": [], "history_reads": []}
    real_features, real_history = scoring_inputs.point_in_time_features, scoring_inputs.load_source_frames

    def features(frames, cutoff, feed_start=None):
        seen["cutoffs"].append(cutoff)
        return real_features(frames, cutoff, feed_start)

    def history(warehouse, within=None):
        seen["history_reads"].append(True)
        return real_history(warehouse, within)

    monkeypatch.setattr(scoring_inputs, "point_in_time_features", features)
    monkeypatch.setattr(scoring_inputs, "load_source_frames", history)
    return seen


def test_daily_scoring_reuses_the_model_and_refits_only_for_a_reason(warehouse_copy, tmp_path, monkeypatch):
    from customer360.ml import retrain

    wh = WarehouseResource(duckdb_path=str(warehouse_copy)).build()
    artifacts = tmp_path / "artifacts"
    seen = _spy_point_in_time(monkeypatch)
    first = _metadata(_run(warehouse_copy, artifacts, monkeypatch))
    versions = {k: first[k]["model_version"].value for k in TABLES}
    assert all(first[k]["refit_reason"].value == "refit: no saved model yet" for k in TABLES)
    assert len(set(seen["cutoffs"])) == 3 and seen["history_reads"]  # a fit computes the training cutoffs
    scored_at = wh.read_table("ml", "churn_predictions")["scored_at"].max()

    # the next day: new data, same week → every model is reused and scores every customer, incl. the new one
    _add_customer(wh)
    seen["cutoffs"].clear(), seen["history_reads"].clear()
    second = _metadata(_run(warehouse_copy, artifacts, monkeypatch))
    as_of = F.effective_as_of(F.load_source_frames(wh), None)
    assert seen["cutoffs"] == [as_of] and not seen["history_reads"]  # scoring only: no training cutoff, no history
    customers = set(wh.query("select customer_id from staging.stg_customers")["customer_id"].to_list())
    assert NEW_CUSTOMER in customers
    for key, table in TABLES.items():
        md = second[key]
        assert md["reused_model"].value is True and md["model_version"].value == versions[key]
        reason = md["refit_reason"].value
        assert reason.startswith("reused: model 0.0 days old < 7, PSI ") and reason.endswith(" < 0.2"), reason
        assert 0.0 <= md["drift_psi"].value < md["drift_threshold"].value == 0.2
        assert md["model_age_days"].value < 1 and md["retrain_days"].value == 7
        scores = wh.read_table("ml", table)
        assert NEW_CUSTOMER in scores[F.ID].to_list()
        assert set(scores["model_version"].to_list()) == {versions[key]}
        if table in ("customer_segments", "customer_risk_scores"):
            assert set(scores[F.ID].to_list()) == customers  # every customer, scored again
    assert wh.read_table("ml", "churn_predictions")["scored_at"].min() > scored_at  # fresh scores, not last run's

    # eight days after the fit: every model is older than the retrain interval and refits on this daily run
    later = retrain.utcnow() + timedelta(days=8)
    monkeypatch.setattr(retrain, "utcnow", lambda: later)
    third = _metadata(_run(warehouse_copy, artifacts, monkeypatch))
    for key in TABLES:
        assert third[key]["reused_model"].value is False and third[key]["model_version"].value != versions[key]
        assert third[key]["refit_reason"].value.startswith("refit: model 8.0 days old ≥ retrain interval 7 days")
        assert third[key]["model_age_days"].value == 0.0
    versions = {k: third[k]["model_version"].value for k in TABLES}

    # on demand: refit=true refits a model fitted moments ago
    risk = [a for a in ml_assets() if RISK_KEY in a.keys]
    forced = dg.materialize(
        risk, resources={"warehouse": wh}, run_config={"ops": {risk[0].op.name: {"config": {"refit": True}}}}
    )
    md = _metadata(forced)[RISK_KEY]
    assert md["refit_reason"].value == "refit: requested (refit=true)"
    assert md["model_version"].value != versions[RISK_KEY]


def test_score_drift_above_the_threshold_refits(warehouse_copy, tmp_path, monkeypatch):
    wh = WarehouseResource(duckdb_path=str(warehouse_copy)).build()
    monkeypatch.setenv("C360_ARTIFACTS_URL", str(tmp_path / "artifacts"))
    risk = [a for a in ml_assets() if RISK_KEY in a.keys]
    first = _metadata(dg.materialize(risk, resources={"warehouse": wh}))[RISK_KEY]
    # injected drift: every other customer's behaviour jumps to the extreme of every fraud feature
    df = wh.read_table("ml", "feat_fraud_behavior").sort(F.ID)
    extreme = pl.int_range(pl.len()) % 2 == 0
    wh.write_table(
        "ml",
        "feat_fraud_behavior",
        df.with_columns(pl.when(extreme).then(1.0).otherwise(pl.col(c)).alias(c) for c in F.feature_columns(df)),
    )
    md = _metadata(dg.materialize(risk, resources={"warehouse": wh}))[RISK_KEY]
    assert md["drift_psi"].value >= md["drift_threshold"].value
    psi = md["drift_psi"].value
    assert md["refit_reason"].value.startswith(f"refit: drift, PSI {psi:.3f} ≥ 0.2 (model 0.0 days old")
    assert md["reused_model"].value is False and md["model_version"].value != first["model_version"].value


def test_scoring_frames_give_the_as_of_features_of_the_full_history_from_less_data(ml_warehouse):
    wh = WarehouseResource(duckdb_path=str(ml_warehouse)).build()
    full = F.load_source_frames(wh)
    scoring = F.load_scoring_frames(wh, None)
    as_of = F.effective_as_of(full, None)
    assert F.effective_as_of(scoring, None) == as_of
    # equal up to float summation order (polars' parallel group sums differ in the last bit between calls)
    assert_frame_equal(F.point_in_time_features(scoring, as_of), F.point_in_time_features(full, as_of))
    # what only training needs is not read: older campaigns and transaction days
    assert scoring.campaigns.height < full.campaigns.height and scoring.txn_daily.height < full.txn_daily.height
    assert scoring.txn_daily["day"].min() >= as_of - timedelta(days=F.SCORING_TXN_DAYS)
    # a requested day inside the data moves the window with it, still exactly
    earlier = as_of - timedelta(days=60)
    assert_frame_equal(
        F.point_in_time_features(F.load_scoring_frames(wh, earlier), earlier), F.point_in_time_features(full, earlier)
    )
