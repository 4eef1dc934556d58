"""The as-of features of churn/LTV computed in customer batches (bounded memory) are the features of the whole
population: same as_of day, same rows, same values (README "Memory")."""

from datetime import timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from customer360.ml import features as F
from customer360.ml.scoring_inputs import PointInTimeInputs
from customer360.resources import WarehouseResource

BATCH = 400  # ~1,600 customers in the session warehouse: five batches


@pytest.fixture(scope="module")
def wh(ml_warehouse):
    return WarehouseResource(duckdb_path=str(ml_warehouse)).build()


@pytest.fixture(scope="module")
def full(wh):
    return F.load_source_frames(wh)


def test_ranges_cover_every_customer_once(wh):
    ranges = F.customer_ranges(wh, BATCH)
    assert len(ranges) == 5 and ranges[0].low is None and ranges[-1].high is None
    seen = [
        wh.query(f"select customer_id from staging.stg_customers where {r.condition()}")["customer_id"] for r in ranges
    ]
    assert all(0 < s.len() <= BATCH for s in seen)
    everyone = wh.query("select customer_id from staging.stg_customers")["customer_id"]
    assert sorted(pl.concat(seen).to_list()) == sorted(everyone.to_list())
    assert F.customer_ranges(wh, everyone.len()) == [F.CustomerRange()]


def test_a_bound_with_a_quote_stays_one_sql_string():
    assert F.CustomerRange("a'b", None).condition() == "customer_id >= 'a''b'"


def test_batches_read_sessions_with_their_anonymous_events(warehouse_copy):
    """A session's anonymous pre-login events count toward its owner's session (start, events) in every batch."""
    wh = WarehouseResource(duckdb_path=str(warehouse_copy)).build()
    # every session gets an anonymous event five minutes before its first one
    wh.execute(
        "insert into staging.stg_events by name select * replace (null as customer_id, "
        "event_timestamp - interval 5 minute as event_timestamp, event_id || '-anon' as event_id) "
        "from staging.stg_events qualify row_number() over (partition by session_id order by event_timestamp) = 1"
    )
    full = F.load_source_frames(wh).sessions
    assert full.height > 0
    bounds = F.scoring_bounds(wh, None)
    parts = [F.load_scoring_batch(wh, bounds, r).sessions for r in F.customer_ranges(wh, BATCH)]
    assert_frame_equal(pl.concat(parts).sort("session_id"), full.sort("session_id"))
    assert bounds.feed_start == F.feed_start_before(F.load_source_frames(wh), bounds.as_of)


@pytest.mark.parametrize("days_before_newest", [None, 60])
def test_batched_as_of_features_equal_the_whole_population(wh, full, days_before_newest):
    requested = None if days_before_newest is None else F.effective_as_of(full, None) - timedelta(days_before_newest)
    batched = PointInTimeInputs(requested, warehouse=wh, batch_customers=BATCH)
    whole = PointInTimeInputs(requested, frames=full)
    assert batched.batches == 5
    assert batched.as_of == whole.as_of == F.effective_as_of(full, requested)
    bounds = F.scoring_bounds(wh, requested)
    assert bounds.feed_start == F.feed_start_before(full, bounds.as_of)
    # equal up to float summation order (polars' parallel group sums differ in the last bit between calls)
    assert_frame_equal(batched.current(), whole.current())
    assert batched.cutoffs_computed == [batched.as_of] and not batched.history_loaded


def test_one_batch_reads_the_scoring_frames_as_before(wh, full):
    inputs = PointInTimeInputs(None, warehouse=wh)
    assert inputs.batches == 1
    assert_frame_equal(inputs.current(), PointInTimeInputs(None, frames=full).current())


def test_a_customer_sample_is_the_whole_history_of_its_customers(wh, full):
    sample = F.CustomerSample(300)
    frames = F.load_source_frames(wh, within=sample)
    ids = set(wh.query(f"select customer_id from staging.stg_customers where {sample.condition()}")["customer_id"])
    assert 0.2 < len(ids) / full.customers.height < 0.4
    for name in ("customers", "orders", "sessions", "campaigns", "tickets", "txn_daily"):
        got, whole = getattr(frames, name), getattr(full, name)
        expected = whole.filter(pl.col(F.ID).is_in(list(ids)))
        assert got.height == expected.height > 0, name
        assert_frame_equal(got.sort(got.columns), expected.sort(got.columns), check_exact=False)


def test_sample_size_follows_the_population():
    assert F.CustomerSample.of_size(500_000, 270_000).everyone
    assert F.CustomerSample.of_size(500_000, 2_700_000).per_mille == 186
    assert F.CustomerSample(186).description().startswith("18.6 % of the customers")
    with pytest.raises(ValueError, match=r"1\.\.1000 per mille"):
        F.CustomerSample(0)


def test_a_refit_on_a_sample_scores_every_customer_and_records_the_sample(warehouse_copy, tmp_path, monkeypatch):
    import dagster as dg

    from customer360.ml.assets import CHURN_KEY, LTV_KEY, ml_assets

    monkeypatch.setenv("C360_ARTIFACTS_URL", str(tmp_path / "artifacts"))
    monkeypatch.delenv("C360_AS_OF_DATE", raising=False)
    monkeypatch.setenv("C360_ML_TRAINING_CUSTOMERS", "800")  # of ~1,600: about half
    monkeypatch.setenv("C360_ML_SCORING_BATCH_CUSTOMERS", str(BATCH))
    churn_ltv = [a for a in ml_assets() if CHURN_KEY in a.keys]
    result = dg.materialize(
        churn_ltv,
        resources={"warehouse": WarehouseResource(duckdb_path=str(warehouse_copy)).build()},
        run_config={"ops": {churn_ltv[0].op.name: {"config": {"refit": True}}}},
    )
    md = {e.materialization.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    wh = WarehouseResource(duckdb_path=str(warehouse_copy)).build()
    signed_up = wh.query(
        f"select count(*) as n from staging.stg_customers where signup_date < '{md[CHURN_KEY]['as_of'].value}'"
    )
    population = wh.query("select count(*) as n from staging.stg_customers")["n"][0]
    expected = F.CustomerSample.of_size(800, population)
    assert 400 < expected.per_mille < 600
    for key, table in ((CHURN_KEY, "churn_predictions"), (LTV_KEY, "ltv_predictions")):
        assert md[key]["training_sample"].value == expected.description()
        assert wh.read_table("ml", table).height == signed_up["n"][0]  # everyone scored
