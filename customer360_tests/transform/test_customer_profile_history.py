"""snap_customer_profile (SCD2 from the raw change rows): a bulk load of every day holds every kyc_status /
account_status change of the feed with the right validity bounds, and a day-by-day load with a build per day gives
the same history."""

from datetime import date, datetime, timedelta
from itertools import groupby

from customer360_tests.transform.conftest import FIRST_DAY, GEN_DAYS, GEN_END, _new_env
from customer360_tests.transform.rawdata import load_raw

HISTORY_COLUMNS = (
    "customer_id, kyc_status, account_status, first_name, email, signup_date, _load_date, dbt_scd_id,"
    " dbt_updated_at, dbt_valid_from, dbt_valid_to"
)


def _expected_versions(env) -> list[tuple]:
    """The feed's history computed here, row by row: per customer the raw rows in delivery order, the last one of
    each arrival day, a version whenever (kyc_status, account_status) differs from the previous day's."""
    rows = env.sql(
        "select trim(customer_id), _load_date, lower(trim(kyc_status)), lower(trim(account_status))"
        " from raw.customers where nullif(trim(customer_id), '') is not null"
        " order by 1, _load_date, _loaded_at, _source_file"
    )
    expected = []
    for customer, customer_rows in groupby(rows, key=lambda r: r[0]):
        day_state = {}
        for _, day, kyc, account in customer_rows:
            day_state[day] = (kyc, account)  # the day's last row wins
        versions = []
        for day in sorted(day_state):
            if not versions or versions[-1][1] != day_state[day]:
                versions.append((day, day_state[day]))
        for i, (day, (kyc, account)) in enumerate(versions):
            valid_to = versions[i + 1][0] if i + 1 < len(versions) else None
            expected.append(
                (
                    customer,
                    kyc,
                    account,
                    datetime.combine(day, datetime.min.time()),
                    None if valid_to is None else datetime.combine(valid_to, datetime.min.time()),
                )
            )
    return sorted(expected, key=lambda r: (r[0], r[3]))


def _history(env) -> list[tuple]:
    return env.sql(
        "select customer_id, kyc_status, account_status, dbt_valid_from, dbt_valid_to"
        " from snapshots.snap_customer_profile order by customer_id, dbt_valid_from"
    )


def test_bulk_load_history_holds_every_change_and_equals_day_by_day(generated, tmp_path):
    # bulk: every day in one load (one _loaded_at for all rows), one build
    bulk = _new_env(generated, tmp_path / "bulk")
    bulk.load(FIRST_DAY, GEN_END)
    bulk.dbt("run", "--select", "stg_customers", "snap_customer_profile")
    bulk.dbt("test", "--select", "snap_customer_profile")
    history = _history(bulk)
    expected = _expected_versions(bulk)
    assert history == expected
    changes = len(expected) - len({r[0] for r in expected})
    assert changes > 20, "the generator should deliver KYC/account changes within the window"
    # the current version is the profile stg_customers holds
    assert (
        bulk.sql(
            "select count(*) from snapshots.snap_customer_profile h join staging.stg_customers s using (customer_id)"
            " where h.dbt_valid_to is null and (h.kyc_status <> s.kyc_status or h.account_status <> s.account_status)"
        )[0][0]
        == 0
    )
    assert (
        bulk.sql("select count(*) from snapshots.snap_customer_profile where dbt_valid_to is null")[0][0]
        == bulk.sql("select count(*) from staging.stg_customers")[0][0]
    )

    # day by day: each arrival day loaded when it lands, an (incremental) build after each
    daily = _new_env(generated, tmp_path / "daily")
    for i in range(GEN_DAYS):
        day = FIRST_DAY + timedelta(days=i)
        arrival = datetime.combine(day + timedelta(days=1), datetime.min.time()) + timedelta(hours=6)
        load_raw(daily.landing, daily.db_path, only_days=(day, day), loaded_at=arrival, append=i > 0)
        daily.dbt("run", "--select", "snap_customer_profile")
        if i == 0:
            first_day_versions = len(_history(daily))
        if i == GEN_DAYS - 1:
            assert "merge into" in (daily.target_path / "dbt.log").read_text().lower()  # it appended, not rebuilt
    assert len(_history(daily)) > first_day_versions  # the daily builds appended the days' changes
    # same versions, same bounds and ids (only _loaded_at, the arrival watermark, differs between the two loads)
    bulk_rows = bulk.sql(
        f"select {HISTORY_COLUMNS} from snapshots.snap_customer_profile order by customer_id, dbt_valid_from"
    )
    daily_rows = daily.sql(
        f"select {HISTORY_COLUMNS} from snapshots.snap_customer_profile order by customer_id, dbt_valid_from"
    )
    assert daily_rows == bulk_rows


def test_a_profile_change_arriving_later_closes_the_current_version(built_copy):
    env = built_copy
    customer, kyc, last_day = env.sql(
        "select customer_id, kyc_status, (select max(_load_date) from raw.customers) from staging.stg_customers"
        " order by customer_id limit 1"
    )[0]
    new_kyc = "expired" if kyc != "expired" else "verified"
    next_day: date = last_day + timedelta(days=1)
    env.sql(
        "insert into raw.customers select * replace (? as kyc_status, cast(? as date) as _load_date,"
        " _loaded_at + interval 1 day as _loaded_at) from raw.customers where customer_id = ?"
        " order by _load_date desc, _loaded_at desc limit 1",
        [new_kyc, next_day, customer],
    )
    before = env.sql("select count(*) from snapshots.snap_customer_profile")[0][0]
    env.dbt("build", "--select", "stg_customers", "snap_customer_profile")
    rows = env.sql(
        "select kyc_status, dbt_valid_to from snapshots.snap_customer_profile where customer_id = ?"
        " order by dbt_valid_from",
        [customer],
    )
    midnight = datetime.combine(next_day, datetime.min.time())
    assert rows[-2:] == [(kyc, midnight), (new_kyc, None)]
    assert env.sql("select count(*) from snapshots.snap_customer_profile")[0][0] == before + 1
