"""Point-in-time features and labels: formulas on hand-made rows, and no row after the cutoff is ever read."""

import ast
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from customer360.ml import features as F
from customer360.ml.contracts import churn_ltv_features_schema, validate

CUTOFF = date(2024, 6, 1)


def _frames(extra: dict[str, list[dict]] | None = None) -> dict[str, pl.DataFrame]:
    rows: dict[str, list[dict]] = {
        "customers": [
            {"customer_id": "c1", "signup_date": date(2023, 1, 1)},
            {"customer_id": "c2", "signup_date": date(2024, 1, 10)},
            {"customer_id": "c3", "signup_date": date(2024, 7, 1)},  # signs up after the cutoff
            {"customer_id": "c4", "signup_date": date(2023, 5, 1)},  # never active
        ],
        "orders": [
            {"customer_id": "c1", "order_date": date(2024, 5, 31), "order_status": "completed", "total_amount": 100.0},
            {"customer_id": "c1", "order_date": date(2024, 2, 1), "order_status": "completed", "total_amount": 50.0},
            {"customer_id": "c1", "order_date": date(2024, 5, 1), "order_status": "cancelled", "total_amount": 70.0},
            {"customer_id": "c2", "order_date": date(2024, 1, 20), "order_status": "completed", "total_amount": 30.0},
        ],
        "events": [
            {
                "event_id": "e1",
                "customer_id": "c2",
                "session_id": "s1",
                "event_timestamp": datetime(2024, 5, 20, 10, 0),
            },
            {
                "event_id": "e2",
                "customer_id": "c2",
                "session_id": "s1",
                "event_timestamp": datetime(2024, 5, 20, 10, 30),
            },
            {
                "event_id": "e3",
                "customer_id": None,
                "session_id": "s9",
                "event_timestamp": datetime(2024, 5, 20, 10, 0),
            },
        ],
        "campaigns": [
            {
                "customer_id": "c1",
                "sent_at": datetime(2024, 5, 1),
                "opened_at": datetime(2024, 5, 2),
                "clicked_at": None,
            },
            {"customer_id": "c1", "sent_at": datetime(2024, 5, 30), "opened_at": None, "clicked_at": None},
        ],
        "support_tickets": [
            {
                "customer_id": "c2",
                "created_at": datetime(2024, 5, 1),
                "resolved_at": datetime(2024, 5, 3),
                "priority": "high",
                "satisfaction_score": 2,
            },
        ],
        "transactions": [
            {
                "customer_id": "c1",
                "transaction_date": datetime(2024, 5, 31, 12),
                "amount": 100.0,
                "currency": "EUR",
                "transaction_type": "purchase",
                "status": "success",
            },
            {
                "customer_id": "c1",
                "transaction_date": datetime(2024, 5, 31, 13),
                "amount": 10.0,
                "currency": "USD",
                "transaction_type": "purchase",
                "status": "failed",
            },
        ],
    }
    for name, more in (extra or {}).items():
        rows[name] = rows[name] + more
    schemas = {
        "campaigns": {
            "customer_id": pl.Utf8,
            "sent_at": pl.Datetime,
            "opened_at": pl.Datetime,
            "clicked_at": pl.Datetime,
        },
        "support_tickets": {
            "customer_id": pl.Utf8,
            "created_at": pl.Datetime,
            "resolved_at": pl.Datetime,
            "priority": pl.Utf8,
            "satisfaction_score": pl.Int64,
        },
        "events": {"event_id": pl.Utf8, "customer_id": pl.Utf8, "session_id": pl.Utf8, "event_timestamp": pl.Datetime},
    }
    return {k: pl.DataFrame(v, schema=schemas.get(k)) for k, v in rows.items()}


def _sf(extra=None) -> F.SourceFrames:
    return F.SourceFrames.from_staging_frames(**_frames(extra))


def test_formulas_on_hand_made_rows():
    f = F.point_in_time_features(_sf(), CUTOFF)
    validate(churn_ltv_features_schema(), f)
    assert f[F.ID].to_list() == ["c1", "c2", "c4"]  # c3 signed up after the cutoff
    c1 = f.row(0, named=True)
    assert c1["orders_total"] == 2 and c1["spend_total"] == 150.0 and c1["avg_order_value"] == 75.0
    assert c1["orders_30d"] == 1 and c1["orders_90d"] == 1 and c1["orders_prev_90d"] == 1
    assert c1["cancel_return_ratio"] == pytest.approx(1 / 3)
    assert c1["days_since_last_order"] == 1.0  # last order on the day before the cutoff
    assert c1["campaigns_90d"] == 2 and c1["open_rate_90d"] == 0.5
    assert c1["txn_90d"] == 2 and c1["failed_txn_ratio_90d"] == 0.5
    assert c1["purchase_usd_90d"] == pytest.approx(108.0)  # 100 EUR at the catalog rate
    c2 = f.row(1, named=True)
    assert c2["sessions_30d"] == 1 and c2["avg_session_minutes_90d"] == 30.0 and c2["events_per_session_90d"] == 2
    assert c2["high_priority_tickets_90d"] == 1 and c2["avg_csat_90d"] == 2.0 and c2["open_tickets"] == 0
    c4 = f.row(2, named=True)
    assert c4["days_since_last_order"] == F.NO_ACTIVITY_DAYS and c4["orders_total"] == 0


def test_rows_after_the_cutoff_never_change_features():
    before = F.point_in_time_features(_sf(), CUTOFF)
    future = {
        "orders": [{"customer_id": "c2", "order_date": CUTOFF, "order_status": "completed", "total_amount": 999.0}],
        "events": [
            # a session that starts before the cutoff but ends after it is not finished yet at the cutoff
            {
                "event_id": "e8",
                "customer_id": "c1",
                "session_id": "s7",
                "event_timestamp": datetime(2024, 5, 31, 23, 50),
            },
            {"event_id": "e9", "customer_id": "c1", "session_id": "s7", "event_timestamp": datetime(2024, 6, 1, 0, 10)},
        ],
        # sent before the cutoff, opened/clicked after it: the open is not known yet
        "campaigns": [
            {
                "customer_id": "c2",
                "sent_at": datetime(2024, 5, 31),
                "opened_at": datetime(2024, 6, 2),
                "clicked_at": datetime(2024, 6, 2),
            }
        ],
        # created before, resolved (and rated) after: still open at the cutoff, CSAT unknown
        "support_tickets": [
            {
                "customer_id": "c1",
                "created_at": datetime(2024, 5, 30),
                "resolved_at": datetime(2024, 6, 5),
                "priority": "critical",
                "satisfaction_score": 1,
            }
        ],
        "transactions": [
            {
                "customer_id": "c1",
                "transaction_date": datetime(2024, 6, 1, 0, 0),
                "amount": 5.0,
                "currency": "USD",
                "transaction_type": "purchase",
                "status": "failed",
            }
        ],
        "customers": [{"customer_id": "c5", "signup_date": CUTOFF}],
    }
    after = F.point_in_time_features(_sf(future), CUTOFF)
    c1 = after.filter(pl.col(F.ID) == "c1")
    # the only things the new rows may change: c1's pending campaign/ticket counts as they existed before the cutoff
    assert c1["open_tickets"].item() == 1 and c1["avg_csat_90d"].item() is None
    assert after.filter(pl.col(F.ID) == "c2")["open_rate_90d"].item() == 0.0
    cols = [
        c
        for c in F.CHURN_LTV_FEATURES
        if c
        not in (
            "open_tickets",
            "tickets_90d",
            "high_priority_tickets_90d",
            "campaigns_90d",
            "open_rate_90d",
            "click_rate_90d",
            "days_since_last_ticket",
            "days_since_last_interaction",
        )
    ]
    assert after.select(F.ID, *cols).equals(before.select(F.ID, *cols))


def test_churn_label_and_population():
    sf = _sf(
        {
            "orders": [
                {"customer_id": "c1", "order_date": date(2024, 8, 1), "order_status": "completed", "total_amount": 1.0}
            ]
        }
    )
    labels = F.churn_labels(sf, CUTOFF)
    assert dict(labels.iter_rows()) == {"c1": 0, "c2": 1}  # c3 signed up later, c4 was never active
    # a cancelled order in the window is not activity; an order after the window does not count
    sf2 = _sf(
        {
            "orders": [
                {
                    "customer_id": "c2",
                    "order_date": date(2024, 6, 10),
                    "order_status": "cancelled",
                    "total_amount": 1.0,
                },
                {
                    "customer_id": "c2",
                    "order_date": date(2024, 8, 30),
                    "order_status": "completed",
                    "total_amount": 1.0,
                },
            ]
        }
    )
    assert dict(F.churn_labels(sf2, CUTOFF).iter_rows())["c2"] == 1
    # any interaction in the window keeps a customer: a payment attempt (even failed), an open, a ticket
    kept_by = {
        "transactions": {
            "customer_id": "c2",
            "transaction_date": datetime(2024, 8, 29, 23),
            "amount": 5.0,
            "currency": "USD",
            "transaction_type": "purchase",
            "status": "failed",
        },
        "campaigns": {
            "customer_id": "c2",
            "sent_at": datetime(2024, 5, 30),
            "opened_at": datetime(2024, 6, 3),
            "clicked_at": None,
        },
        "support_tickets": {
            "customer_id": "c2",
            "created_at": datetime(2024, 7, 1),
            "resolved_at": None,
            "priority": "low",
            "satisfaction_score": None,
        },
    }
    for source, row in kept_by.items():
        assert dict(F.churn_labels(_sf({source: [row]}), CUTOFF).iter_rows())["c2"] == 0, source
    # an open received before the cutoff or after the window, a ticket after the window: not in the window
    late = {
        "campaigns": [
            {
                "customer_id": "c2",
                "sent_at": datetime(2024, 5, 1),
                "opened_at": datetime(2024, 5, 31),
                "clicked_at": None,
            }
        ],
        "support_tickets": [
            {
                "customer_id": "c2",
                "created_at": datetime(2024, 8, 30),
                "resolved_at": None,
                "priority": "low",
                "satisfaction_score": None,
            }
        ],
    }
    assert dict(F.churn_labels(_sf(late), CUTOFF).iter_rows())["c2"] == 1
    # a customer whose only interaction before the cutoff is a payment is in the population
    c4_paid = {
        "transactions": [
            {
                "customer_id": "c4",
                "transaction_date": datetime(2024, 4, 1),
                "amount": 5.0,
                "currency": "USD",
                "transaction_type": "purchase",
                "status": "success",
            }
        ]
    }
    assert dict(F.churn_labels(_sf(c4_paid), CUTOFF).iter_rows()).get("c4") == 1
    spend = F.future_spend(sf, CUTOFF)
    assert spend.to_dicts() == [{"customer_id": "c1", "future_spend": 1.0}]


def test_effective_as_of_never_passes_the_data():
    sf = _sf()
    assert F.effective_as_of(sf, date(2030, 1, 1)) == date(2024, 6, 1)  # newest event 2024-05-31
    assert F.effective_as_of(sf, date(2024, 3, 1)) == date(2024, 3, 1)


def test_fingerprint_ignores_row_order_and_sees_values():
    df = pl.DataFrame({"customer_id": ["a", "b"], "x": [0.1, 0.2]})
    assert F.fingerprint(df) == F.fingerprint(df.reverse())
    assert F.fingerprint(df) != F.fingerprint(df.with_columns(pl.col("x") + 0.01))


def test_ml_code_never_touches_the_truth():
    """The planted truth (is_fraudster, churn_date, archetype, the truth folder) is for benchmarks only."""
    ml_dir = Path(F.__file__).parent
    forbidden = ("truth", "is_fraudster", "churn_date", "archetype", "fraud_transactions")
    for path in ml_dir.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not any(w in node.value.lower() for w in forbidden), (path, node.value)
            if isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                assert name not in forbidden, (path, name)


def test_horizon_is_90_days_with_enough_history_and_shrinks_on_short_data():
    sf = _sf()  # first event 2024-01-20
    assert F.choose_horizon(sf, date(2024, 12, 1)) == 90
    assert F.choose_horizon(sf, date(2024, 4, 19)) == 30  # 90 days of history → a third
    with pytest.raises(ValueError, match="history"):
        F.choose_horizon(sf, date(2024, 2, 1))
