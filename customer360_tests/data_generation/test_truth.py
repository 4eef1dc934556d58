"""The planted truth is consistent with the landing data, and its signals are visible but noisy."""

import pyarrow.parquet as pq


def test_truth_is_only_under_truth_and_lists_every_customer(small_landing, landing_db):
    assert not list(small_landing.landing.rglob("*truth*")) and not list(small_landing.landing.rglob("fraud*"))
    t = pq.read_table(small_landing.truth / "customers.parquet")
    assert t.column_names == ["customer_id", "is_fraudster", "churn_date", "archetype"]
    assert [str(f.type) for f in t.schema] == ["string", "bool", "date32[day]", "string"]
    n_truth, n_land, missing = landing_db.execute(
        "select (select count(*) from truth_customers), (select count(distinct customer_id) from customers), "
        "(select count(*) from truth_customers where customer_id not in (select customer_id from customers))"
    ).fetchone()
    assert n_truth == n_land and missing == 0
    arche = {r[0] for r in landing_db.execute("select distinct archetype from truth_customers").fetchall()}
    assert {"high_value", "loyal", "bargain", "dormant", "new"} <= arche


def test_fraudsters_and_their_transactions(landing_db):
    q = lambda sql: landing_db.execute(sql).fetchone()  # noqa: E731
    (share,) = q("select avg(is_fraudster::int) from truth_customers")
    assert 0.008 < share < 0.03
    n_fraud, in_landing, by_fraudsters = q(
        "select count(*), count(*) filter (where transaction_id in (select transaction_id from transactions)), "
        "count(*) filter (where transaction_id in (select t.transaction_id from transactions t join truth_customers c "
        "using (customer_id) where c.is_fraudster)) from truth_fraud"
    )
    assert n_fraud > 50 and in_landing == n_fraud and by_fraudsters == n_fraud
    # the fraud signals are there: night hours, failures, foreign currency, many merchants …
    sig = landing_db.execute(
        "select t.transaction_id in (select transaction_id from truth_fraud) f, avg((hour(transaction_date) < 5)::int), "
        "avg((status = 'failed')::int), avg((currency <> 'USD')::int) from transactions t group by 1 order by 1"
    ).fetchall()
    (_, n0, f0, c0), (_, n1, f1, c1) = sig
    assert n1 > 3 * n0 and f1 > 3 * f0 and c1 > 1.5 * c0
    merchants = dict(
        landing_db.execute(
            "select c.is_fraudster, avg(m) from (select customer_id, count(distinct merchant_id) m from transactions group by 1) "
            "join truth_customers c using (customer_id) group by 1"
        ).fetchall()
    )
    assert merchants[True] > 1.5 * merchants[False]
    # … but not on one column: legit customers also pay at night and fail payments
    (legit_night,) = q(
        "select count(*) from transactions where hour(transaction_date) < 5 and transaction_id not in (select transaction_id from truth_fraud)"
    )
    assert legit_night > 0.3 * n_fraud
    # bursts come with a login from a device/browser combination the customer does not normally use
    (new_combo,) = q(
        "with usual as (select customer_id, mode(device_type || '/' || browser) combo from events where customer_id is not null group by 1) "
        "select avg((e.device_type || '/' || e.browser <> u.combo)::int) from events e join usual u using (customer_id) "
        "join truth_customers c using (customer_id) where c.is_fraudster and e.event_type = 'login'"
    )
    assert new_combo > 0.2


def test_churners_go_quiet_after_their_churn_date_with_precursors(small_landing, landing_db):
    q = lambda sql: landing_db.execute(sql).fetchone()  # noqa: E731
    (n_churn,) = q(f"select count(*) from truth_customers where churn_date <= date '{small_landing.end}'")
    assert n_churn > 30
    for source, col in (
        ("orders", "order_date"),
        ("transactions", "transaction_date"),
        ("events", "event_timestamp"),
        ("support_tickets", "created_at"),
    ):
        (after,) = q(
            f"select count(*) from {source} s join truth_customers c using (customer_id) where c.churn_date is not null and s.{col}::date >= c.churn_date"
        )
        assert after == 0, source
    (opened_after,) = q(
        "select count(*) from campaigns s join truth_customers c using (customer_id) where c.churn_date is not null and s.opened_at::date >= c.churn_date"
    )
    assert opened_after == 0
    # precursor: sessions per churner fall in the 30 days before churn vs. 60–90 days before
    early, late = q(
        "select count(*) filter (where e.event_timestamp::date between c.churn_date - 90 and c.churn_date - 61), "
        "count(*) filter (where e.event_timestamp::date between c.churn_date - 30 and c.churn_date - 1) "
        "from events e join truth_customers c using (customer_id) where c.churn_date is not null"
    )
    assert late < 0.8 * early
    # precursor: churners' tickets in the 60 days before churn are more often high/critical than others'
    hi_churn, hi_other = q(
        "select avg((priority in ('high', 'critical'))::int) filter (where c.churn_date is not null and t.created_at::date >= c.churn_date - 60), "
        "avg((priority in ('high', 'critical'))::int) filter (where c.churn_date is null) "
        "from support_tickets t join truth_customers c using (customer_id)"
    )
    assert hi_churn > hi_other


def test_archetypes_shape_spend_and_engagement(landing_db):
    rows = landing_db.execute(
        "with spend as (select customer_id, count(distinct order_id) n from orders group by 1) "
        "select archetype, avg(coalesce(n, 0)) from truth_customers left join spend using (customer_id) group by 1"
    ).fetchall()
    avg = dict(rows)
    assert avg["high_value"] > avg["loyal"] > avg["dormant"] and avg["bargain"] > avg["dormant"]
    price = dict(
        landing_db.execute(
            "select archetype, median(total_amount / quantity) from orders join truth_customers using (customer_id) group by 1"
        ).fetchall()
    )
    assert price["high_value"] > 1.5 * price["bargain"]
