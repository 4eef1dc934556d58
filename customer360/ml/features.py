"""Feature I/O and point-in-time features for the ML assets.

Two kinds of inputs:

* the dbt feature tables ``ml.feat_customer_segmentation`` / ``ml.feat_fraud_behavior`` (one row per customer,
  every column except ``customer_id`` is a feature) — read as they are;
* the staging views ``staging.stg_*`` — churn and LTV build their own **point-in-time** features from them,
  because a model trained on "today's" features with a label from the past would leak the future.

Point-in-time convention (README "Design decisions"): a *cutoff* is an instant at 00:00 UTC of a date ``C``.
Features as of ``C`` use only rows whose event time is **strictly before** ``C`` (so the whole day ``C - 1`` and
nothing of ``C``); a label or target window of ``H`` days is ``[C, C + H)``. Values that are only known later are
treated by their own time stamp: a campaign open counts only if ``opened_at < C``, a CSAT score only if the ticket
was resolved before ``C``, a session only once it ended before ``C``. Current-state columns that move over time
(``account_status``, ``kyc_status``, ticket ``status``) are never used: the staging view holds today's value.

The pure functions take polars frames with the staging column names (the catalog's) and never look at anything
but the rows they are given; the loaders below read only the needed columns (sessions and daily transaction
totals are aggregated in SQL — exact at day granularity, which is all a midnight cutoff needs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from customer360.catalog import FX_RATES_TO_USD, ML

ID = "customer_id"
HORIZON_DAYS = 90  # churn label window and LTV target window
SEGMENTATION_TABLE = "feat_customer_segmentation"
FRAUD_TABLE = "feat_fraud_behavior"


# --------------------------------------------------------------------------------------------------- frames
@dataclass(frozen=True)
class SourceFrames:
    """The staging rows point-in-time features are computed from (already narrowed to the needed columns).

    ``sessions``: customer_id, session_id, session_start, session_end, n_events (one row per session).
    ``txn_daily``: customer_id, day, n_txn, n_failed, purchase_usd (one row per customer and UTC day).
    """

    customers: pl.DataFrame  # customer_id, signup_date
    orders: pl.DataFrame  # customer_id, order_date, order_status, total_amount
    sessions: pl.DataFrame
    campaigns: pl.DataFrame  # customer_id, sent_at, opened_at, clicked_at
    tickets: pl.DataFrame  # customer_id, created_at, resolved_at, priority, satisfaction_score
    txn_daily: pl.DataFrame

    def max_event_date(self) -> date | None:
        """Newest event day seen in orders, sessions or transactions (None when there is no activity)."""
        days = []
        if self.orders.height:
            days.append(self.orders["order_date"].max())
        if self.sessions.height:
            days.append(self.sessions["session_end"].max().date())
        if self.txn_daily.height:
            days.append(self.txn_daily["day"].max())
        return max(days) if days else None

    @classmethod
    def from_staging_frames(cls, **frames: pl.DataFrame) -> SourceFrames:
        """Build from row-level staging-shaped frames (tests, generator output): sessions and daily
        transactions are aggregated here exactly as the SQL loader does."""
        return cls(
            customers=frames["customers"].select(ID, pl.col("signup_date").cast(pl.Date)),
            orders=frames["orders"].select(
                ID, pl.col("order_date").cast(pl.Date), "order_status", pl.col("total_amount").cast(pl.Float64)
            ),
            sessions=sessions_from_events(frames["events"]),
            campaigns=_naive_utc(
                frames["campaigns"].select(ID, "sent_at", "opened_at", "clicked_at"),
                ["sent_at", "opened_at", "clicked_at"],
            ),
            tickets=_naive_utc(
                frames["support_tickets"].select(
                    ID, "created_at", "resolved_at", "priority", pl.col("satisfaction_score").cast(pl.Float64)
                ),
                ["created_at", "resolved_at"],
            ),
            txn_daily=transactions_daily(frames["transactions"]),
        )


def _naive_utc(df: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    out = []
    for c in cols:
        dt = df.schema[c]
        expr = pl.col(c)
        if isinstance(dt, pl.Datetime) and dt.time_zone is not None:
            expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        out.append(expr.cast(pl.Datetime("us")).alias(c))
    return df.with_columns(out) if out else df


# A session (dbt ``int_session_features`` is the home of the rule; this is its Python statement, kept equal to it by
# customer360_tests/ml/test_session_definition.py): the events sharing a session_id, owned by the customer who
# logged in during it; its anonymous pre-login events count toward its start, end and event count; a session with
# no known customer at all is excluded. One SQL text, run by the warehouse and, over polars frames, by DuckDB.
SESSIONS_SQL = """
select max(customer_id) as customer_id, session_id, min(event_timestamp) as session_start,
       max(event_timestamp) as session_end, count(*) as n_events
from {events} group by session_id having max(customer_id) is not null
"""


def sessions_from_events(events: pl.DataFrame) -> pl.DataFrame:
    """One row per session (:data:`SESSIONS_SQL`): owner, first/last event time and event count."""
    ev = _naive_utc(events.select(ID, "session_id", "event_timestamp"), ["event_timestamp"])
    import duckdb  # a step's import: the code location loads without DuckDB

    with duckdb.connect() as con:
        con.register("events", ev)
        return _sessions_frame(con.sql(SESSIONS_SQL.format(events="events")).pl())


def _sessions_frame(df: pl.DataFrame) -> pl.DataFrame:
    return _naive_utc(df, ["session_start", "session_end"]).with_columns(pl.col("n_events").cast(pl.Int64))


def usd_amount(txns: pl.DataFrame) -> pl.Expr:
    """Transaction amount in USD: staging's converted column when present, else the catalog's fixed FX rates."""
    if "amount_usd" in txns.columns:
        return pl.col("amount_usd").cast(pl.Float64)
    rate = pl.col("currency").replace_strict(FX_RATES_TO_USD, default=None, return_dtype=pl.Float64)
    return pl.col("amount").cast(pl.Float64) * rate


def transactions_daily(txns: pl.DataFrame) -> pl.DataFrame:
    """Per customer and UTC day: attempts, failed attempts and successful purchase volume in USD."""
    t = _naive_utc(txns, ["transaction_date"]).with_columns(usd_amount(txns).alias("_usd"))
    return t.group_by(ID, pl.col("transaction_date").dt.date().alias("day")).agg(
        pl.len().cast(pl.Int64).alias("n_txn"),
        (pl.col("status") == "failed").sum().cast(pl.Int64).alias("n_failed"),
        pl.when((pl.col("transaction_type") == "purchase") & (pl.col("status") == "success"))
        .then(pl.col("_usd"))
        .otherwise(0.0)
        .sum()
        .alias("purchase_usd"),
    )


# ---------------------------------------------------------------------------------------- reference dates
def effective_as_of(frames: SourceFrames, as_of: date | None) -> date:
    """The scoring reference day: ``as_of`` (setting or today UTC), but never past the data: the day after
    the newest event, so the last complete label window ``[as_of - 90d, as_of)`` really holds data."""
    return as_of_for_newest(frames.max_event_date(), as_of)


def as_of_for_newest(newest: date | None, as_of: date | None) -> date:
    """:func:`effective_as_of` given the newest event day of orders, sessions and transactions."""
    requested = as_of or datetime.now(UTC).date()
    if newest is None:
        return requested
    return min(requested, newest + timedelta(days=1))


MIN_HISTORY_DAYS = 21  # the shortest history churn/LTV train on: a 7-day label window after 14 days of features


def choose_horizon(frames: SourceFrames, as_of: date, horizon: int = HORIZON_DAYS) -> int:
    """Label/target window in days for the time split: 90 when the data holds ≥ 270 days before ``as_of``
    (train cutoff ``as_of − 2H`` keeps ``H`` days of history), else a third of the history (≥ 7 days) so a short
    demo dataset still trains — the manifest and metadata record the horizon actually used."""
    first = [frames.orders["order_date"].min()] if frames.orders.height else []
    if frames.sessions.height:
        first.append(frames.sessions["session_start"].min().date())
    first = [d for d in first if d is not None]
    if not first:
        raise ValueError("no orders or sessions in staging: nothing to train churn/LTV on")
    history = (as_of - min(first)).days
    if history >= 3 * horizon:
        return horizon
    if history < MIN_HISTORY_DAYS:
        raise ValueError(f"only {history} days of history before {as_of}: churn/LTV need at least {MIN_HISTORY_DAYS}")
    return max(7, history // 3)


def calibration_holdout_split(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Deterministic split of a validation fold by customer id: (calibration half, holdout half).

    The calibration half fits the post-hoc corrections (churn's isotonic calibration, LTV's smearing factor);
    every reported validation metric is measured on the holdout half only, which no fitted quantity has seen.
    The half is the parity of a BLAKE2 digest of the whole id: stable across processes and library versions,
    and independent of how ids are built (a generated id's last digit is a per-signup-day counter, mostly 0)."""
    holdout = [hashlib.blake2b(str(c).encode(), digest_size=1).digest()[0] & 1 == 1 for c in df[ID].to_list()]
    mask = pl.Series("holdout", holdout, dtype=pl.Boolean)
    return df.filter(~mask), df.filter(mask)


def _start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


# -------------------------------------------------------------------------------- point-in-time features
CHURN_LTV_FEATURES = (
    "tenure_days",
    "orders_total",
    "spend_total",
    "avg_order_value",
    "orders_30d",
    "orders_90d",
    "orders_prev_90d",
    "spend_90d",
    "cancel_return_ratio",
    "days_since_last_order",
    "sessions_30d",
    "sessions_90d",
    "sessions_prev_90d",
    "session_trend",
    "avg_session_minutes_90d",
    "events_per_session_90d",
    "days_since_last_session",
    "campaigns_90d",
    "open_rate_90d",
    "click_rate_90d",
    "open_rate_prev_90d",
    "tickets_90d",
    "high_priority_tickets_90d",
    "open_tickets",
    "avg_csat_90d",
    "txn_90d",
    "failed_txn_ratio_90d",
    "purchase_usd_90d",
    # long-run rates over the observed history (since sign-up or since the feeds start, whichever is later)
    "observed_days",
    "sessions_total",
    "sessions_14d",
    "order_rate_30d",
    "session_rate_30d",
    "spend_rate_30d",
    "days_since_last_activity",
    "overdue_ratio",
    "recent_vs_longrun_sessions",
    "low_csat_tickets_90d",
    # recency of every kind of interaction the churn label counts (see ``churn_labels``)
    "days_since_last_payment",
    "days_since_last_open",
    "days_since_last_ticket",
    "days_since_last_interaction",
)
NO_ACTIVITY_DAYS = 9999.0  # days_since_* for a customer who never had that activity before the cutoff


def point_in_time_features(frames: SourceFrames, cutoff: date, feed_start: date | None = None) -> pl.DataFrame:
    """Churn/LTV features as of 00:00 UTC of ``cutoff`` for every customer who signed up before it.

    Only rows with event time ``< cutoff`` are read (see the module docstring). One row per customer; numeric
    columns are Float64 with nulls only in ``avg_csat_90d`` (no rated ticket) — the models handle missing values.
    ``feed_start``: the feeds' first day before the cutoff over ALL customers (:func:`feed_start_before`), given when
    ``frames`` hold a batch of customers only (:mod:`customer360.ml.scoring_batches`); else taken from ``frames``.
    """
    c = _start(cutoff)
    d30, d90, d180 = c - timedelta(days=30), c - timedelta(days=90), c - timedelta(days=180)
    cust = (
        frames.customers.filter(pl.col("signup_date") < cutoff)
        .unique(ID, keep="last")
        .select(ID, (pl.lit(cutoff) - pl.col("signup_date")).dt.total_days().cast(pl.Float64).alias("tenure_days"))
    )

    o = frames.orders.filter(pl.col("order_date") < cutoff).with_columns(_day_start("order_date"))
    done = pl.col("order_status") == "completed"
    orders = o.group_by(ID).agg(
        done.sum().alias("orders_total"),
        pl.col("total_amount").filter(done).sum().alias("spend_total"),
        (done & (pl.col("_t") >= d30)).sum().alias("orders_30d"),
        (done & (pl.col("_t") >= d90)).sum().alias("orders_90d"),
        (done & (pl.col("_t") >= d180) & (pl.col("_t") < d90)).sum().alias("orders_prev_90d"),
        pl.col("total_amount").filter(done & (pl.col("_t") >= d90)).sum().alias("spend_90d"),
        pl.col("order_status").is_in(["cancelled", "returned"]).mean().alias("cancel_return_ratio"),
        pl.col("_t").filter(done).max().alias("_last_order"),
    )

    s = frames.sessions.filter(pl.col("session_end") < c)
    recent = pl.col("session_start") >= d90
    d14 = c - timedelta(days=14)
    sessions = s.group_by(ID).agg(
        pl.len().alias("sessions_total"),
        (pl.col("session_start") >= d14).sum().alias("sessions_14d"),
        (pl.col("session_start") >= d30).sum().alias("sessions_30d"),
        recent.sum().alias("sessions_90d"),
        ((pl.col("session_start") >= d180) & ~recent).sum().alias("sessions_prev_90d"),
        ((pl.col("session_end") - pl.col("session_start")).dt.total_seconds() / 60.0)
        .filter(recent)
        .mean()
        .alias("avg_session_minutes_90d"),
        pl.col("n_events").filter(recent).mean().alias("events_per_session_90d"),
        pl.col("session_end").max().alias("_last_session"),
    )

    cp = frames.campaigns.filter(pl.col("sent_at") < c)
    opened = pl.col("opened_at").is_not_null() & (pl.col("opened_at") < c)
    clicked = pl.col("clicked_at").is_not_null() & (pl.col("clicked_at") < c)
    in90, prev90 = pl.col("sent_at") >= d90, (pl.col("sent_at") >= d180) & (pl.col("sent_at") < d90)
    campaigns = cp.group_by(ID).agg(
        in90.sum().alias("campaigns_90d"),
        (opened & in90).sum().alias("_opens_90d"),
        (clicked & in90).sum().alias("_clicks_90d"),
        prev90.sum().alias("_sends_prev"),
        (opened & prev90).sum().alias("_opens_prev"),
        # opens of the campaigns sent in the last 180 days (what the scoring frames hold)
        pl.col("opened_at").filter(opened & (pl.col("sent_at") >= d180)).max().alias("_last_open"),
    )

    tk = frames.tickets.filter(pl.col("created_at") < c)
    t90 = pl.col("created_at") >= d90
    resolved = pl.col("resolved_at").is_not_null() & (pl.col("resolved_at") < c)
    tickets = tk.group_by(ID).agg(
        t90.sum().alias("tickets_90d"),
        (t90 & pl.col("priority").is_in(["high", "critical"])).sum().alias("high_priority_tickets_90d"),
        (~resolved).sum().alias("open_tickets"),
        pl.col("satisfaction_score").filter(t90 & resolved).mean().alias("avg_csat_90d"),
        (t90 & resolved & (pl.col("satisfaction_score") <= 2)).sum().alias("low_csat_tickets_90d"),
        pl.col("created_at").max().alias("_last_ticket"),
    )

    tx = frames.txn_daily.filter((pl.col("day") < cutoff) & (pl.col("day") >= d90.date()))
    txns = tx.group_by(ID).agg(
        pl.col("n_txn").sum().alias("txn_90d"),
        pl.col("n_failed").sum().alias("_failed_90d"),
        pl.col("purchase_usd").sum().alias("purchase_usd_90d"),
        pl.col("day").filter(pl.col("n_txn") > 0).max().alias("_last_payment_day"),
    )

    txns = txns.with_columns(_day_start("_last_payment_day").alias("_last_payment")).drop("_last_payment_day")
    out = (
        cust.join(orders, on=ID, how="left")
        .join(sessions, on=ID, how="left")
        .join(campaigns, on=ID, how="left")
        .join(tickets, on=ID, how="left")
        .join(txns, on=ID, how="left")
    )
    days_since = lambda col: (  # noqa: E731
        pl.when(pl.col(col).is_null())
        .then(NO_ACTIVITY_DAYS)
        .otherwise((pl.lit(c) - pl.col(col)).dt.total_seconds() / 86400.0)
    )
    out = out.with_columns(
        days_since("_last_order").alias("days_since_last_order"),
        days_since("_last_session").alias("days_since_last_session"),
        # payments: in the last 90 days only, opens: of campaigns sent in the last 180 (the scoring frames' windows)
        days_since("_last_payment").alias("days_since_last_payment"),
        days_since("_last_open").alias("days_since_last_open"),
        days_since("_last_ticket").alias("days_since_last_ticket"),
        _ratio("_opens_90d", "campaigns_90d").alias("open_rate_90d"),
        _ratio("_clicks_90d", "campaigns_90d").alias("click_rate_90d"),
        _ratio("_opens_prev", "_sends_prev").alias("open_rate_prev_90d"),
        _ratio("_failed_90d", "txn_90d").alias("failed_txn_ratio_90d"),
    )
    # the feeds' first day before the cutoff: history before it is unknown, so rates divide by observed days
    feed_start = feed_start or feed_start_before(frames, cutoff)
    feed_days = float(max((cutoff - feed_start).days, 1))
    out = out.with_columns(
        pl.min_horizontal(pl.col("tenure_days"), pl.lit(feed_days)).clip(lower_bound=1.0).alias("observed_days"),
        pl.min_horizontal("days_since_last_order", "days_since_last_session").alias("days_since_last_activity"),
        pl.min_horizontal(
            "days_since_last_order",
            "days_since_last_session",
            "days_since_last_payment",
            "days_since_last_open",
            "days_since_last_ticket",
        ).alias("days_since_last_interaction"),
    )
    per30 = lambda col: pl.col(col).fill_null(0).cast(pl.Float64) * 30.0 / pl.col("observed_days")  # noqa: E731
    out = out.with_columns(
        per30("orders_total").alias("order_rate_30d"),
        per30("sessions_total").alias("session_rate_30d"),
        per30("spend_total").alias("spend_rate_30d"),
    )
    out = out.with_columns(
        # expected number of orders + sessions missed since the last one, at the customer's own long-run rate
        (
            pl.min_horizontal(pl.col("days_since_last_activity"), pl.col("observed_days"))
            * (pl.col("order_rate_30d") + pl.col("session_rate_30d"))
            / 30.0
        ).alias("overdue_ratio"),
        ((pl.col("sessions_30d").fill_null(0) + 1.0) / (pl.col("session_rate_30d") + 1.0)).alias(
            "recent_vs_longrun_sessions"
        ),
    )
    out = out.with_columns(
        _ratio("spend_total", "orders_total").alias("avg_order_value"),
        ((pl.col("sessions_90d").fill_null(0) + 1.0) / (pl.col("sessions_prev_90d").fill_null(0) + 1.0)).alias(
            "session_trend"
        ),
    )
    fill_zero = [f for f in CHURN_LTV_FEATURES if f != "avg_csat_90d"]
    return (
        out.select(ID, *CHURN_LTV_FEATURES)
        .with_columns(pl.col(f).cast(pl.Float64).fill_null(0.0) for f in fill_zero)
        .with_columns(pl.col("avg_csat_90d").cast(pl.Float64))
        .sort(ID)
    )


def feed_start_before(frames: SourceFrames, cutoff: date) -> date:
    """The first day of the order and session feeds before ``cutoff`` (``cutoff`` itself when both are empty)."""
    first_days = [frames.orders.filter(pl.col("order_date") < cutoff)["order_date"].min()]
    if frames.sessions.height:
        first_sess = frames.sessions.filter(pl.col("session_end") < _start(cutoff))["session_start"].min()
        first_days.append(first_sess.date() if first_sess is not None else None)
    known = [d for d in first_days if d is not None]
    return min(known) if known else cutoff


def _day_start(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Datetime("us")).alias("_t")


def _ratio(num: str, den: str) -> pl.Expr:
    n, d = pl.col(num).fill_null(0).cast(pl.Float64), pl.col(den).fill_null(0).cast(pl.Float64)
    return pl.when(d > 0).then(n / d).otherwise(0.0)


# -------------------------------------------------------------------------------------- labels / targets
def interactions(frames: SourceFrames, start: datetime | None, end: datetime) -> pl.DataFrame:
    """Customers with at least one **interaction** in ``[start, end)`` (``start`` None: since the beginning).

    An interaction is anything the customer does that the feeds record: a completed order, a session, a payment
    attempt (any status), a campaign message opened, a support ticket created. A customer who still pays, reads
    the newsletter or asks for help has not churned, even without an order or a session."""

    def between(col: str) -> pl.Expr:
        return (pl.col(col) < end) if start is None else ((pl.col(col) >= start) & (pl.col(col) < end))

    o = frames.orders.with_columns(_day_start("order_date")).filter(
        between("_t") & (pl.col("order_status") == "completed")
    )
    s = frames.sessions.filter(
        (pl.col("session_end") < end)
        if start is None
        else ((pl.col("session_end") >= start) & (pl.col("session_start") < end))
    )
    t = frames.txn_daily.with_columns(_day_start("day")).filter(between("_t") & (pl.col("n_txn") > 0))
    c = frames.campaigns.filter(pl.col("opened_at").is_not_null()).filter(between("opened_at"))
    k = frames.tickets.filter(between("created_at"))
    return pl.concat([df.select(ID) for df in (o, s, t, c, k)]).unique()


def active_before(frames: SourceFrames, cutoff: date) -> pl.DataFrame:
    """Customers with at least one interaction (:func:`interactions`) before ``cutoff``."""
    return interactions(frames, None, _start(cutoff))


def churn_labels(frames: SourceFrames, cutoff: date, horizon_days: int = HORIZON_DAYS) -> pl.DataFrame:
    """``churned`` = 1 when the customer has **no interaction** (no completed order, no session, no payment
    attempt, no message opened, no ticket: :func:`interactions`) in ``[cutoff, cutoff + H)``.

    Population: customers who signed up before the cutoff and had an interaction before it; a customer who never
    did anything cannot churn.
    """
    c, end = _start(cutoff), _start(cutoff + timedelta(days=horizon_days))
    pop = (
        frames.customers.filter(pl.col("signup_date") < cutoff)
        .select(ID)
        .unique()
        .join(active_before(frames, cutoff), on=ID, how="semi")
    )
    active = interactions(frames, c, end).with_columns(pl.lit(0).alias("churned"))
    return pop.join(active, on=ID, how="left").with_columns(pl.col("churned").fill_null(1).cast(pl.Int8)).sort(ID)


def future_spend(frames: SourceFrames, start: date, days: int = HORIZON_DAYS) -> pl.DataFrame:
    """Completed-order spend (USD) per customer with ``order_date`` in ``[start, start + days)``; customers
    with no order there are absent (treat as 0)."""
    end = start + timedelta(days=days)
    return (
        frames.orders.filter(
            (pl.col("order_date") >= start) & (pl.col("order_date") < end) & (pl.col("order_status") == "completed")
        )
        .group_by(ID)
        .agg(pl.col("total_amount").sum().alias("future_spend"))
    )


# ------------------------------------------------------------------------------------------ fingerprints
def fingerprint(*frames: pl.DataFrame) -> str:
    """A content hash of frames (columns, dtypes, values; row order independent) — recorded with each fit (the
    manifest's ``data_fingerprint`` and the version name say which data made a model).

    Floats are rounded to 6 decimals first: the warehouse may sum in a different order on each run, and a
    last-bit difference must not count as new data."""
    h = hashlib.sha256()
    for df in frames:
        df = df.with_columns(pl.col(pl.Float32, pl.Float64).round(6))
        h.update(repr(list(df.schema.items())).encode())
        h.update(str(df.height).encode())
        if df.height:
            rows = np.sort(df.hash_rows(seed=11).to_numpy())
            h.update(rows.tobytes())
    return h.hexdigest()


def feature_columns(df: pl.DataFrame) -> list[str]:
    """Every column except ``customer_id`` is a feature (adding one upstream is not a breaking change)."""
    return [c for c in df.columns if c != ID]


def to_matrix(df: pl.DataFrame, columns: list[str] | tuple[str, ...]) -> np.ndarray:
    return df.select(pl.col(c).cast(pl.Float64) for c in columns).to_numpy()


# -------------------------------------------------------------------------------------- warehouse loaders
def read_feature_table(warehouse: Any, table: str) -> pl.DataFrame:
    """A dbt feature table from schema ``ml``, sorted by customer_id (fits never depend on row order)."""
    return warehouse.read_table(ML, table).sort(ID)


_TXN_DAILY_SQL = """
select customer_id, cast(transaction_date as date) as day, count(*) as n_txn,
       sum(case when status = 'failed' then 1 else 0 end) as n_failed,
       sum(case when transaction_type = 'purchase' and status = 'success' then amount_usd else 0 end) as purchase_usd
from staging.stg_transactions{where} group by customer_id, cast(transaction_date as date)
"""


def load_source_frames(warehouse: Any, within: CustomerSubset | None = None) -> SourceFrames:
    """Read the staging views (only the columns the features use), the whole history: what a refit needs
    (features at the training cutoffs, labels, the horizon) — of every customer, or of the customers ``within``
    (the training sample, :class:`CustomerSample`). Sessions and per-day transaction totals are aggregated in SQL
    — sessions by :data:`SESSIONS_SQL` itself, daily totals as :func:`transactions_daily`."""
    return _read_source_frames(warehouse.query, within or EVERYONE)


# campaigns and transaction days older than these windows before a cutoff never change its features (the
# campaign rates look 180 days back, the transaction totals 90); one more day covers a session time zone
SCORING_CAMPAIGN_DAYS = 180 + 1
SCORING_TXN_DAYS = 90 + 1


def load_scoring_frames(warehouse: Any, as_of: date | None) -> SourceFrames:
    """What the features as of the effective scoring day need, and not the history only training needs.

    Customers, orders, sessions and tickets are read whole (lifetime totals, first feed day, open tickets);
    campaigns and daily transaction totals only from :data:`SCORING_CAMPAIGN_DAYS` / :data:`SCORING_TXN_DAYS`
    before the earliest day the effective as_of can be (computed from orders and sessions, which the newest
    transaction day can only move later). ``point_in_time_features(frames, effective_as_of(frames, as_of))`` is
    then exactly what the full frames give; with no orders and no sessions at all it reads everything."""
    q = warehouse.query
    partial = _read_source_frames(q, EVERYONE, history_only=True)
    if partial.max_event_date() is None:
        return load_source_frames(warehouse)
    lower = effective_as_of(partial, as_of)
    windowed = _read_source_frames(q, EVERYONE, since=lower, windowed_only=True)
    return dataclasses.replace(partial, campaigns=windowed.campaigns, txn_daily=windowed.txn_daily)


# ------------------------------------------------------------------ the as-of features in customer batches
class CustomerSubset:
    """Some of the customers, as a SQL condition on a ``customer_id`` column (every staging table has one)."""

    @property
    def everyone(self) -> bool:
        raise NotImplementedError

    def condition(self, column: str = ID) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class CustomerRange(CustomerSubset):
    """The customers whose ``customer_id`` is in ``[low, high)`` (``None``: unbounded on that side)."""

    low: str | None = None
    high: str | None = None

    @property
    def everyone(self) -> bool:
        return self.low is None and self.high is None

    def condition(self, column: str = ID) -> str:
        """A SQL condition on ``column`` (the bounds are quoted as SQL string literals)."""
        parts = [f"{column} >= {_sql_string(self.low)}"] if self.low is not None else []
        if self.high is not None:
            parts.append(f"{column} < {_sql_string(self.high)}")
        return " and ".join(parts) or "true"


EVERYONE = CustomerRange()


@dataclass(frozen=True)
class CustomerSample(CustomerSubset):
    """A deterministic pseudo-random ``per_mille``/1000 of the customers: ``abs(hash(customer_id)) % 1000``, the
    same SQL on DuckDB and Snowflake (each engine's own hash: the same customers on every run of one engine)."""

    per_mille: int

    def __post_init__(self):
        if not 1 <= self.per_mille <= 1000:
            raise ValueError(f"a customer sample is 1..1000 per mille, not {self.per_mille}")

    @property
    def everyone(self) -> bool:
        return self.per_mille == 1000

    def condition(self, column: str = ID) -> str:
        return "true" if self.everyone else f"abs(hash({column})) % 1000 < {self.per_mille}"

    def description(self) -> str:
        if self.everyone:
            return "every customer"
        return f"{self.per_mille / 10:g} % of the customers, pseudo-random ({self.condition()})"

    @classmethod
    def of_size(cls, customers: int, population: int) -> CustomerSample:
        """The smallest sample holding about ``customers`` of ``population`` (everyone when it is smaller)."""
        return cls(max(1, min(1000, math.ceil(1000 * customers / max(population, 1)))))


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def customer_ranges(warehouse: Any, batch_customers: int) -> list[CustomerRange]:
    """``stg_customers`` cut into ranges of ``batch_customers`` ids (one unbounded range when it holds fewer)."""
    if batch_customers < 1:
        raise ValueError(f"batch_customers must be positive, not {batch_customers}")
    ids = warehouse.query(f"select distinct {ID} from staging.stg_customers order by {ID}")[ID]
    if ids.len() <= batch_customers:
        return [CustomerRange()]
    bounds = ids.gather(range(batch_customers, ids.len(), batch_customers)).to_list()
    return [CustomerRange(low, high) for low, high in zip([None, *bounds], [*bounds, None], strict=True)]


@dataclass(frozen=True)
class ScoringBounds:
    """What every customer batch of the as-of features shares: the effective as_of day (:func:`effective_as_of`
    over all customers) and the feeds' first day before it (:func:`feed_start_before` over all customers)."""

    as_of: date
    feed_start: date


def scoring_bounds(warehouse: Any, as_of: date | None) -> ScoringBounds:
    """:class:`ScoringBounds` from three small aggregates (days, not rows), equal to what the full frames give."""
    q = warehouse.query
    order_days = q("select cast(order_date as date) as day from staging.stg_orders group by 1")
    sessions = SESSIONS_SQL.format(events="staging.stg_events")
    session_days = _naive_utc(
        q(f"select cast(session_end as date) as day, min(session_start) as first_start from ({sessions}) s group by 1"),
        ["first_start"],
    )
    txn_last = q("select max(cast(transaction_date as date)) as day from staging.stg_transactions")
    days = [*order_days["day"].to_list(), *session_days["day"].to_list(), *txn_last["day"].to_list()]
    known = [d for d in days if d is not None]
    effective = as_of_for_newest(max(known) if known else None, as_of)
    firsts = [d for d in order_days["day"].to_list() if d is not None and d < effective]
    firsts += [s.date() for d, s in session_days.select("day", "first_start").iter_rows() if d < effective]
    return ScoringBounds(effective, min(firsts) if firsts else effective)


def load_scoring_batch(warehouse: Any, bounds: ScoringBounds, within: CustomerRange) -> SourceFrames:
    """The rows of the customers ``within`` that their features as of ``bounds.as_of`` need (the windows of
    :func:`load_scoring_frames`); sessions are those the customers own, with their anonymous events."""
    return _read_source_frames(warehouse.query, within, since=bounds.as_of)


def _campaigns(q: Any, where: str = "") -> pl.DataFrame:
    df = q(f"select customer_id, sent_at, opened_at, clicked_at from staging.stg_campaigns{where}")
    return _naive_utc(df, ["sent_at", "opened_at", "clicked_at"])


def _txn_daily(q: Any, where: str = "") -> pl.DataFrame:
    df = q(_TXN_DAILY_SQL.format(where=where))
    return df.select(
        ID,
        pl.col("day").cast(pl.Date),
        pl.col("n_txn").cast(pl.Int64),
        pl.col("n_failed").cast(pl.Int64),
        pl.col("purchase_usd").cast(pl.Float64).fill_null(0.0).round(6),
    )


def _read_source_frames(
    q: Any,
    within: CustomerSubset,
    *,
    since: date | None = None,
    history_only: bool = False,
    windowed_only: bool = False,
) -> SourceFrames:
    """The six frames of the customers ``within``. ``since``: campaigns and transaction days only from
    :data:`SCORING_CAMPAIGN_DAYS` / :data:`SCORING_TXN_DAYS` before it (what features as of ``since`` or later
    need). ``history_only``: campaigns and transactions left empty; ``windowed_only``: only those two read."""
    cond, empty = within.condition(), pl.DataFrame()
    campaigns_where, txn_where = f" where {cond}", f" where {cond}"
    if since is not None:
        campaigns_since = since - timedelta(days=SCORING_CAMPAIGN_DAYS)
        txn_since = since - timedelta(days=SCORING_TXN_DAYS)
        campaigns_where += f" and sent_at >= cast('{campaigns_since.isoformat()} 00:00:00' as timestamp)"
        txn_where += f" and cast(transaction_date as date) >= cast('{txn_since.isoformat()}' as date)"
    windowed = SourceFrames(
        customers=empty,
        orders=empty,
        sessions=empty,
        campaigns=empty if history_only else _campaigns(q, campaigns_where),
        tickets=empty,
        txn_daily=empty if history_only else _txn_daily(q, txn_where),
    )
    if windowed_only:
        return windowed
    events = "staging.stg_events"
    if not within.everyone:  # every event of the sessions a customer of the subset logged in to
        events = (
            "(select customer_id, session_id, event_timestamp from staging.stg_events"
            f" where session_id in (select session_id from staging.stg_events where {cond})) ev"
        )
    customers = q(f"select customer_id, signup_date from staging.stg_customers where {cond}")
    orders = q(f"select customer_id, order_date, order_status, total_amount from staging.stg_orders where {cond}")
    sessions = q(f"select * from ({SESSIONS_SQL.format(events=events)}) s where {cond}")
    tickets = q(
        "select customer_id, created_at, resolved_at, priority, satisfaction_score from staging.stg_support_tickets"
        f" where {cond}"
    )
    return dataclasses.replace(
        windowed,
        customers=customers.select(ID, pl.col("signup_date").cast(pl.Date)),
        orders=orders.select(
            ID, pl.col("order_date").cast(pl.Date), "order_status", pl.col("total_amount").cast(pl.Float64)
        ),
        sessions=_sessions_frame(sessions),
        tickets=_naive_utc(tickets, ["created_at", "resolved_at"]).with_columns(
            pl.col("satisfaction_score").cast(pl.Float64)
        ),
    )
