"""Retention alerts: "churn_probability > 0.7 = high risk, drives retention alerts" (fct_customer_value).

The asset ``consumers/retention_alerts`` runs after each rebuild of ``marts.fct_customer_value`` (the daily build's
automation condition) and compares every scored customer's ``churn_probability`` with the threshold — the dbt var
``churn_probability_threshold`` (customer360/transform/project_vars.py), the same setting the ``churn_rate`` metric uses:

- a customer above the threshold who was not above it at the previous evaluation has *crossed*: one alert
  (``kind: retention``) with ``dedup_key = retention:<customer_id>:<as_of_date of the crossing>``. A customer who
  stays above is not alerted again; one who falls back below and crosses again later gets a new alert (new key);
- the **first** evaluation (no state yet: a new deployment, a first demo) has no previous scores to cross from: the
  customers already above the threshold become the *baseline* — recorded in the state (``baseline = true``), counted
  and listed by LTV in that day's digest, not alerted one by one (at scale 1.0 that is ≈ 23,000 customers: a flood
  of webhook posts that says nothing a digest does not). From then on every crossing is an alert, including a new
  customer's first score above the threshold;
- one digest per ``as_of_date`` (``retention_digest:<as_of_date>``): customers at risk, new crossings, recovered,
  churn rate, the top customers by predicted LTV at risk and the total LTV at risk.

State lives in the warehouse (``marts.retention_alert_state``: the customers currently above the threshold, the key of
their crossing and whether its alert was delivered; ``marts.retention_alert_digests``: the delivered digests). New
crossings are written as undelivered *before* anything is sent, and marked delivered one by one as the notifier
accepts them, so a daemon restart re-sends nothing and a webhook outage loses nothing: the asset fails with the
delivery error (after saving what was sent) and the next materialization — a retry or the next daily build — sends
the rest (at-least-once; a receiver drops the rare duplicate by ``dedup_key``).

Why an asset and not a sensor: the input is a warehouse table rebuilt by a run, and the evaluation must follow that
rebuild, not a timer; an asset in the ``warehouse`` pool runs right after ``fct_customer_value`` in the same run
without contending for the one DuckDB writer (a sensor would open the file while runs write it), its failure is a
visible failed asset with the webhook's error, and a retry is "Materialize" — the state above gives the same cursor
discipline as the alert sensors in ``customer360/automation/alerts.py``.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import polars as pl

from customer360.automation.notifier import Alert, AlertDeliveryError, AlertNotifier
from customer360.catalog import MARTS
from customer360.resources.warehouse import Warehouse
from customer360.transform.project_vars import churn_probability_threshold

EXPOSURE_NAME = "retention_alerts"
STATE_SCHEMA = MARTS
STATE_TABLE = "retention_alert_state"
DIGEST_TABLE = "retention_alert_digests"
TOP_N = 10

STATE_COLUMNS = {
    "customer_id": pl.Utf8,
    "dedup_key": pl.Utf8,
    "crossed_on": pl.Date,
    "churn_probability": pl.Float64,
    "predicted_ltv": pl.Float64,
    "customer_segment": pl.Utf8,
    "delivered_at": pl.Datetime("us"),
    "baseline": pl.Boolean,
}
DIGEST_COLUMNS = {"digest_date": pl.Date, "dedup_key": pl.Utf8, "delivered_at": pl.Datetime("us")}

_CURRENT = """
select customer_id, churn_probability, predicted_ltv, customer_segment, as_of_date
from marts.fct_customer_value
where churn_probability is not null
"""


class RetentionAlertDeliveryError(RuntimeError):
    """The notifier did not accept every alert; the undelivered ones stay pending for the next materialization."""


@dataclass
class Evaluation:
    as_of_date: date | None
    threshold: float
    scored: int
    at_risk: pl.DataFrame  # the new state: customers above the threshold
    new_crossings: int
    recovered: int
    baseline: int = 0  # first evaluation: customers already above the threshold, recorded without an alert each
    sent: int = 0
    digest_sent: bool = False


def _empty(columns: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=columns)


def _read(warehouse: Warehouse, table: str, columns: dict[str, Any]) -> pl.DataFrame:
    if not warehouse.table_exists(STATE_SCHEMA, table):
        return _empty(columns)
    frame = warehouse.read_table(STATE_SCHEMA, table)
    if "baseline" in columns and "baseline" not in frame.columns:  # a state written before the baseline existed
        frame = frame.with_columns(pl.lit(False).alias("baseline"))
    return frame.select([pl.col(c).cast(t) for c, t in columns.items()])


def crossing_key(customer_id: str, crossed_on: date) -> str:
    return f"retention:{customer_id}:{crossed_on.isoformat()}"


def next_state(
    current: pl.DataFrame, previous: pl.DataFrame, threshold: float, baseline: bool = False
) -> tuple[pl.DataFrame, int, int]:
    """(customers above the threshold with their crossing, new crossings, recovered) — pure, no I/O.
    ``baseline``: the first evaluation — the customers above the threshold are recorded as the baseline, each with
    ``delivered_at`` = ``None`` and ``baseline`` = true, and count as 0 new crossings."""
    above = current.filter(pl.col("churn_probability") > threshold)
    kept = previous.join(
        above.select("customer_id", "churn_probability", "predicted_ltv", "customer_segment"),
        on="customer_id",
        how="inner",
        suffix="_now",
    )
    kept = kept.with_columns(
        pl.col("churn_probability_now").alias("churn_probability"),
        pl.col("predicted_ltv_now").alias("predicted_ltv"),
        pl.col("customer_segment_now").alias("customer_segment"),
    ).select(list(STATE_COLUMNS))
    new = above.join(previous.select("customer_id"), on="customer_id", how="anti")
    new = (
        new.with_columns(
            pl.col("as_of_date").cast(pl.Date).alias("crossed_on"),
            pl.lit(None, dtype=pl.Datetime("us")).alias("delivered_at"),
            pl.lit(baseline).alias("baseline"),
        )
        .with_columns(
            pl.struct("customer_id", "crossed_on")
            .map_elements(lambda r: crossing_key(r["customer_id"], r["crossed_on"]), return_dtype=pl.Utf8)
            .alias("dedup_key")
        )
        .select([pl.col(c).cast(t) for c, t in STATE_COLUMNS.items()])
    )
    recovered = previous.join(above.select("customer_id"), on="customer_id", how="anti").height
    state = pl.concat([kept.select([pl.col(c).cast(t) for c, t in STATE_COLUMNS.items()]), new])
    return state.sort("customer_id"), 0 if baseline else new.height, recovered


def crossing_alert(row: dict[str, Any], threshold: float, asset_key: str) -> Alert:
    ltv = row["predicted_ltv"]
    ltv_text = f"predicted 12-month LTV {ltv:,.2f} USD" if ltv is not None else "no LTV prediction"
    return Alert(
        dedup_key=row["dedup_key"],
        kind="retention",
        severity="warning",
        title=f"Churn risk: customer {row['customer_id']}",
        text=(
            f"Customer `{row['customer_id']}` crossed the high churn risk threshold: churn_probability "
            f"{row['churn_probability']:.3f} > {threshold} as of {row['crossed_on']} ({ltv_text}, segment "
            f"{row['customer_segment'] or 'unknown'})."
        ),
        occurred_at=datetime.combine(row["crossed_on"], datetime.min.time(), UTC).timestamp(),
        asset_key=asset_key,
        details={
            "customer_id": row["customer_id"],
            "churn_probability": row["churn_probability"],
            "threshold": threshold,
            "predicted_ltv": ltv,
            "customer_segment": row["customer_segment"],
            "crossed_on": row["crossed_on"].isoformat(),
        },
    )


def digest_alert(evaluation: Evaluation, asset_key: str) -> Alert:
    at_risk = evaluation.at_risk
    top = at_risk.sort("predicted_ltv", descending=True, nulls_last=True).head(TOP_N)
    ltv_at_risk = round(float(at_risk["predicted_ltv"].fill_null(0).sum()), 2) if at_risk.height else 0.0
    churn_rate = at_risk.height / evaluation.scored if evaluation.scored else 0.0
    lines = [
        f"- `{r['customer_id']}` LTV {r['predicted_ltv'] or 0:,.2f} USD, churn {r['churn_probability']:.2f}"
        for r in top.iter_rows(named=True)
    ]
    return Alert(
        dedup_key=f"retention_digest:{evaluation.as_of_date.isoformat()}",
        kind="retention_digest",
        severity="warning",
        title=f"Retention digest {evaluation.as_of_date}: {at_risk.height} customers at high churn risk",
        text=(
            f"{at_risk.height} of {evaluation.scored} scored customers above churn_probability "
            f"{evaluation.threshold} (churn rate {churn_rate:.1%}); "
            + (
                f"first evaluation: all {evaluation.baseline} recorded as the baseline (no alert each; a "
                f"customer crossing from now on is alerted), "
                if evaluation.baseline
                else ""
            )
            + f"{evaluation.new_crossings} new, "
            f"{evaluation.recovered} recovered; predicted LTV at risk {ltv_at_risk:,.2f} USD.\n"
            f"Top {len(lines)} by predicted LTV:\n" + "\n".join(lines)
        ),
        occurred_at=datetime.combine(evaluation.as_of_date, datetime.min.time(), UTC).timestamp(),
        asset_key=asset_key,
        details={
            "as_of_date": evaluation.as_of_date.isoformat(),
            "threshold": evaluation.threshold,
            "scored_customers": evaluation.scored,
            "high_risk_customers": at_risk.height,
            "new_crossings": evaluation.new_crossings,
            "recovered": evaluation.recovered,
            "baseline_customers": evaluation.baseline,
            "churn_rate": round(churn_rate, 6),
            "predicted_ltv_at_risk_usd": ltv_at_risk,
            "top_customers": [
                {k: r[k] for k in ("customer_id", "churn_probability", "predicted_ltv", "customer_segment")}
                for r in top.iter_rows(named=True)
            ],
        },
    )


def evaluate_and_notify(
    warehouse: Warehouse,
    notifier: AlertNotifier,
    asset_key: str,
    threshold: float | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """One evaluation: update the state, send every undelivered crossing alert and today's digest."""
    threshold = churn_probability_threshold() if threshold is None else threshold
    current = warehouse.query(_CURRENT)
    if current.height == 0:  # the churn model has not scored anyone yet: nothing to compare, state untouched
        return Evaluation(None, threshold, 0, _empty(STATE_COLUMNS), 0, 0)
    as_of = max(current["as_of_date"].cast(pl.Date).to_list())
    first = not warehouse.table_exists(STATE_SCHEMA, STATE_TABLE)
    state, new, recovered = next_state(current, _read(warehouse, STATE_TABLE, STATE_COLUMNS), threshold, baseline=first)
    evaluation = Evaluation(
        as_of, threshold, current.height, state, new, recovered, baseline=state.height if first else 0
    )
    warehouse.write_table(STATE_SCHEMA, STATE_TABLE, state)  # pending crossings are saved before any send
    delivered = state["delivered_at"].to_list()
    failure: Exception | None = None
    try:
        for index, row in enumerate(state.iter_rows(named=True)):
            if row["delivered_at"] is not None or row["baseline"]:
                continue
            notifier.send(crossing_alert(row, threshold, asset_key))
            delivered[index] = (now or datetime.now(UTC)).replace(tzinfo=None)
            evaluation.sent += 1
    except AlertDeliveryError as exc:
        failure = exc
    state = state.with_columns(pl.Series("delivered_at", delivered, dtype=pl.Datetime("us")))
    evaluation.at_risk = state
    warehouse.write_table(STATE_SCHEMA, STATE_TABLE, state)
    if failure is None:
        digests = _read(warehouse, DIGEST_TABLE, DIGEST_COLUMNS)
        if as_of not in digests["digest_date"].to_list():
            alert = digest_alert(evaluation, asset_key)
            try:
                notifier.send(alert)
            except AlertDeliveryError as exc:
                failure = exc
            else:
                row = pl.DataFrame(
                    {
                        "digest_date": [as_of],
                        "dedup_key": [alert.dedup_key],
                        "delivered_at": [(now or datetime.now(UTC)).replace(tzinfo=None)],
                    },
                    schema=DIGEST_COLUMNS,
                )
                warehouse.write_table(STATE_SCHEMA, DIGEST_TABLE, pl.concat([digests, row]))
                evaluation.digest_sent = True
    if failure is not None:
        pending = state.filter(pl.col("delivered_at").is_null() & ~pl.col("baseline")).height
        raise RetentionAlertDeliveryError(
            f"retention alerts: the notifier failed ({failure}); {evaluation.sent} alert(s) sent in this run, "
            f"{pending} crossing alert(s){'' if pending else ' and the digest'} pending in "
            f"{STATE_SCHEMA}.{STATE_TABLE} — they are sent by the next materialization (retry the asset)."
        ) from failure
    return evaluation


def evaluation_metadata(evaluation: Evaluation) -> dict[str, Any]:
    at_risk = evaluation.at_risk
    top = at_risk.sort("predicted_ltv", descending=True, nulls_last=True).head(TOP_N)
    table = "| customer | churn probability | predicted LTV (USD) | segment |\n|---|---:|---:|---|\n" + "\n".join(
        f"| {r['customer_id']} | {r['churn_probability']:.3f} | {r['predicted_ltv'] or 0:,.2f} | "
        f"{r['customer_segment'] or '—'} |"
        for r in top.iter_rows(named=True)
    )
    return {
        "as_of_date": dg.MetadataValue.text(str(evaluation.as_of_date or "no churn scores yet")),
        "threshold": dg.MetadataValue.float(evaluation.threshold),
        "scored_customers": dg.MetadataValue.int(evaluation.scored),
        "high_risk_customers": dg.MetadataValue.int(at_risk.height),
        "new_crossings": dg.MetadataValue.int(evaluation.new_crossings),
        "recovered": dg.MetadataValue.int(evaluation.recovered),
        "baseline_customers": dg.MetadataValue.int(evaluation.baseline),
        "alerts_sent": dg.MetadataValue.int(evaluation.sent),
        "digest_sent": dg.MetadataValue.bool(evaluation.digest_sent),
        "top_at_risk_by_ltv": dg.MetadataValue.md(table),
    }


def build_retention_alerts_asset(manifest: dict[str, Any]) -> dg.AssetsDefinition:
    from customer360.consumers.exposures import asset_kwargs, built_exposure

    kwargs = asset_kwargs(built_exposure(manifest, EXPOSURE_NAME))

    @dg.asset(**kwargs, pool="warehouse")
    def retention_alerts(
        context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse], alert_notifier: AlertNotifier
    ) -> dg.MaterializeResult:
        try:
            evaluation = evaluate_and_notify(warehouse, alert_notifier, context.asset_key.to_user_string())
        except RetentionAlertDeliveryError as exc:
            raise dg.Failure(description=str(exc)) from exc
        context.log.info(f"retention alerts: {evaluation.sent} sent, {evaluation.at_risk.height} customers at risk")
        return dg.MaterializeResult(metadata=evaluation_metadata(evaluation))

    return retention_alerts
