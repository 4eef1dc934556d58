"""Schema, keys, enums and value rules of the generated landing files (small real dataset)."""

import pyarrow.parquet as pq
import pytest

from customer360.catalog import FX_RATES_TO_USD, SOURCES
from data_generation.schema import arrow_schema

from .conftest import good_files

EXPECTED_TYPES = {
    "string": "string",
    "float": "double",
    "int": "int64",
    "bool": "bool",
    "date": "date32[day]",
    "timestamp": "timestamp[us, tz=UTC]",
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_every_file_has_exactly_the_catalog_columns_and_types(small_landing, source):
    files = good_files(small_landing.landing, small_landing.truth)[source]
    assert files, f"no files for {source}"
    expected = [(c.name, EXPECTED_TYPES[c.type]) for c in SOURCES[source].columns]
    for f in files:
        schema = pq.read_schema(f)
        assert [(fld.name, str(fld.type)) for fld in schema] == expected, f
        assert "_loaded_at" not in schema.names
    assert [f.name for f in arrow_schema(source)] == SOURCES[source].column_names


def test_layout_is_source_load_date_part(small_landing):
    for source, files in good_files(small_landing.landing, small_landing.truth).items():
        for f in files:
            rel = f.split(str(small_landing.landing) + "/", 1)[1]
            src, folder, name = rel.split("/")
            assert src == source and folder.startswith("load_date=") and name.startswith("part-0")
    # micro-batches: several files per day for transactions and events, one for the daily exports
    files = good_files(small_landing.landing, small_landing.truth)
    assert len(files["transactions"]) > small_landing.days and len(files["events"]) > small_landing.days
    assert len(files["orders"]) == small_landing.days


def test_products_are_weekly_full_catalogues_from_the_first_day(small_landing, landing_db):
    days = [r[0] for r in landing_db.execute("select distinct _load_date from products order by 1").fetchall()]
    assert days[0] == small_landing.start
    assert all(d.weekday() == 0 for d in days[1:])
    sizes = landing_db.execute(
        "select _load_date, count(*), count(distinct product_id) from products group by 1 order by 1"
    ).fetchall()
    assert all(n == d for _, n, d in sizes)
    assert [n for _, n, _ in sizes] == sorted(n for _, n, _ in sizes)  # full exports, never shrinking


def test_foreign_keys_resolve(landing_db):
    q = lambda sql: landing_db.execute(sql).fetchone()[0]  # noqa: E731
    for source in ("orders", "transactions", "campaigns", "support_tickets"):
        assert (
            q(
                f"select count(*) from {source} where customer_id is null or customer_id not in (select customer_id from customers)"
            )
            == 0
        ), source
    assert (
        q(
            "select count(*) from events where customer_id is not null and customer_id not in (select customer_id from customers)"
        )
        == 0
    )
    assert q("select count(*) from events where customer_id is null") > 0  # anonymous sessions exist
    assert q("select count(*) from orders where product_id not in (select product_id from products)") == 0
    assert (
        q(
            "select count(*) from transactions where order_id is not null and order_id not in (select order_id from orders)"
        )
        == 0
    )
    assert q("select count(*) from transactions where order_id is null") > q("select count(*) from transactions") / 2


def test_enum_columns_use_exactly_the_design_value_sets(landing_db):
    for source, spec in SOURCES.items():
        for col in spec.columns:
            if col.enum:
                seen = {r[0] for r in landing_db.execute(f"select distinct {col.name} from {source}").fetchall()}
                assert seen == set(col.enum), (source, col.name, seen ^ set(col.enum))
    currencies = {r[0] for r in landing_db.execute("select distinct currency from transactions").fetchall()}
    assert currencies == set(FX_RATES_TO_USD)


def test_no_duplicate_keys_within_a_file_and_no_timestamps_after_the_file_day(landing_db):
    for source, spec in SOURCES.items():
        pk = spec.primary_key
        dup = landing_db.execute(
            f"select count(*) from (select _f, {pk} from {source} group by all having count(*) > 1)"
        ).fetchone()[0]
        assert dup == 0, source
        assert landing_db.execute(f"select count(*) from {source} where {pk} is null").fetchone()[0] == 0
        ts_cols = [c.name for c in spec.columns if c.type in ("timestamp", "date") and c.name != "signup_date"]
        for c in ts_cols:
            late = landing_db.execute(f"select count(*) from {source} where {c}::date > _load_date").fetchone()[0]
            assert late == 0, (source, c)


def test_late_rows_and_exact_resends_exist_for_staging_to_dedup(landing_db):
    rows, distinct, late = landing_db.execute(
        "select count(*), count(distinct transaction_id), avg((transaction_date::date < _load_date)::int) from transactions"
    ).fetchone()
    assert rows > distinct  # exact re-sends
    assert 0.003 < late < 0.05  # ~1 % arrive in the next day's file
    same = landing_db.execute(
        "select count(*) from (select transaction_id from transactions group by 1 having count(*) > 1 "
        "and count(distinct (amount, status, transaction_date, merchant_id)) = 1)"
    ).fetchone()[0]
    assert same == rows - distinct  # re-sends are identical rows


def test_status_histories_give_staging_and_snapshots_work(landing_db):
    q = lambda sql: landing_db.execute(sql).fetchone()[0]  # noqa: E731
    # a customer's kyc/account status changes over time (SCD2 history)
    assert (
        q(
            "select count(*) from (select customer_id from customers group by 1 having count(distinct (kyc_status, account_status)) > 1)"
        )
        > 50
    )
    # orders change status (pending -> completed, completed -> returned) in later files
    assert (
        q("select count(*) from (select order_id from orders group by 1 having count(distinct order_status) > 1)") > 50
    )
    # tickets arrive open and again when resolved
    assert (
        q("select count(*) from (select ticket_id from support_tickets group by 1 having count(distinct status) > 1)")
        > 5
    )


def test_amounts_money_and_margins_are_realistic(landing_db):
    q = lambda sql: landing_db.execute(sql).fetchone()  # noqa: E731
    (neg_ok,) = q("select bool_and(amount < 0) from transactions where transaction_type in ('refund', 'reversal')")
    (pos_ok,) = q("select bool_and(amount > 0) from transactions where transaction_type in ('purchase', 'fee')")
    assert neg_ok and pos_ok
    (share_usd,) = q("select avg((currency = 'USD')::int) from transactions")
    assert 0.7 < share_usd < 0.97  # non-USD is a minority
    (failed,) = q("select avg((status = 'failed')::int) from transactions")
    assert 0.02 < failed < 0.15
    # total_amount = quantity * unit_price * (1 + markup), markup 5..45 %: gross margin mostly positive
    (pos_margin,) = q(
        "with p as (select product_id, arg_max(unit_price, _load_date) unit_price from products group by 1) "
        "select avg((o.total_amount > p.unit_price * o.quantity)::int) from orders o join p using (product_id)"
    )
    assert pos_margin > 0.9
    # amounts are skewed (lognormal), not uniform
    mean, median = q(
        "select avg(amount), median(amount) from transactions where transaction_type = 'purchase' and currency = 'USD'"
    )
    assert mean > 1.3 * median


def test_weekday_and_time_of_day_shape(landing_db):
    by_dow = dict(
        landing_db.execute(
            "select dayofweek(order_date), count(*) / count(distinct order_date) from orders group by 1"
        ).fetchall()
    )
    assert by_dow[6] > by_dow[1]  # Saturdays busier than Mondays
    night = landing_db.execute("select avg((hour(transaction_date) < 5)::int) from transactions").fetchone()[0]
    assert night < 0.1


def test_sessions_and_campaigns_are_plausible(landing_db):
    depth, dur = landing_db.execute(
        "select avg(n), avg(d) from (select session_id, count(*) n, epoch(max(event_timestamp) - min(event_timestamp)) d from events group by 1)"
    ).fetchone()
    assert 3 < depth < 12 and 60 < dur < 1200
    latest = (
        "(select * from campaigns qualify row_number() over (partition by campaign_id order by _load_date desc) = 1)"
    )
    opened, clicked, converted, click_wo_open = landing_db.execute(
        f"select avg((opened_at is not null)::int), avg((clicked_at is not null)::int), avg(converted::int), "
        f"sum((clicked_at is not null and opened_at is null)::int) from {latest}"
    ).fetchone()
    assert 0.1 < opened < 0.5 and 0.01 < clicked < opened and 0 < converted < 0.5 and click_wo_open == 0


def test_conversions_are_tied_to_a_completed_order_within_7_days(landing_db):
    latest_c = (
        "(select * from campaigns qualify row_number() over (partition by campaign_id order by _load_date desc) = 1)"
    )
    latest_o = "(select * from orders qualify row_number() over (partition by order_id order by _load_date desc) = 1)"
    # a completed order counts even if it is returned later; settled statuses only (sends >= 10 days before the end)
    settled = "c.sent_at::date <= (select max(order_date) - 10 from orders)"
    bad = landing_db.execute(
        f"select count(*) from {latest_c} c where c.converted and {settled} and not exists (select 1 from {latest_o} o "
        f"where o.customer_id = c.customer_id and o.order_status in ('completed', 'returned') "
        f"and o.order_date between c.sent_at::date and c.sent_at::date + 7)"
    ).fetchone()[0]
    assert bad == 0
    missed = landing_db.execute(
        f"select count(*) from {latest_c} c where not c.converted and {settled} "
        f"and exists (select 1 from {latest_o} o where o.customer_id = c.customer_id and o.order_status in ('completed', 'returned') "
        f"and o.order_date between c.sent_at::date and c.sent_at::date + 7)"
    ).fetchone()[0]
    assert missed == 0


def test_tickets_have_priorities_resolution_and_csat(landing_db):
    latest = "(select * from support_tickets qualify row_number() over (partition by ticket_id order by _load_date desc) = 1)"
    res = dict(
        landing_db.execute(
            f"select priority, median(epoch(resolved_at - created_at) / 3600) from {latest} group by 1"
        ).fetchall()
    )
    assert res["critical"] < res["high"] < res["medium"] < res["low"]
    csat_range, unresolved_csat = landing_db.execute(
        f"select bool_and(satisfaction_score between 1 and 5), count(*) filter (where resolved_at is null and satisfaction_score is not null) from {latest}"
    ).fetchone()
    assert csat_range and unresolved_csat == 0
