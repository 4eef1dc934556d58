"""The executive KPI scorecard, through the MetricFlow semantic layer (dbt_project/models/semantic/).

Every number comes from MetricFlow against the dbt project (the prepared ``target/semantic_manifest.json``, the
profile's target and warehouse of the running environment), never from SQL of its own, so the scorecard says what
the semantic layer says; its three queries run in one MetricFlow process (:mod:`customer360.consumers.semantic_layer`):

- the KPIs (:data:`SCORECARD_KPIS`): the columns the design marks for the executive scorecard (total spend, average
  order value, predicted LTV) and the other "Is KPI" measures an executive reads — revenue, active customers, churn
  rate, flagged amount, campaign conversion, CSAT;
- the trend by month (``metric_time__month``) of the flow KPIs, and the Customer 360 KPIs by KMeans segment
  (``customer__customer_segment``).

Output: ``scorecard/executive_kpi_scorecard.html`` (charts embedded) + the PNG charts under ``C360_EXPORTS_URL``,
beside the compliance exports, and the same table and charts in the asset's metadata (markdown + images). A metric
the semantic layer cannot resolve fails the asset with MetricFlow's own message (nothing else fails).
"""

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import polars as pl

from customer360.consumers.semantic_layer import MetricQuery, SemanticLayerError, query_all
from customer360.settings import DBT_PROJECT_DIR, Settings
from customer360.transform.project_vars import churn_probability_threshold

EXPOSURE_NAME = "executive_kpi_scorecard"
SCORECARD_PREFIX = "scorecard"


@dataclass(frozen=True)
class Kpi:
    metric: str  # semantic-layer metric name
    label: str
    unit: str  # "usd" | "count" | "ratio" | "score"


SCORECARD_KPIS: tuple[Kpi, ...] = (
    Kpi("total_spend", "Total spend", "usd"),
    Kpi("aov", "Average order value", "usd"),
    Kpi("predicted_ltv", "Predicted LTV (12 months)", "usd"),
    Kpi("revenue", "Revenue (completed orders)", "usd"),
    Kpi("active_customers", "Active customers", "count"),
    Kpi("churn_rate", "Churn rate (high risk share)", "ratio"),
    Kpi("flagged_amount", "Flagged amount (high-risk transactions)", "usd"),
    Kpi("campaign_conversion_rate", "Campaign conversion rate", "ratio"),
    Kpi("csat", "CSAT (1–5)", "score"),
)
MONTHLY_METRICS = ("revenue", "aov", "flagged_amount", "campaign_conversion_rate", "csat")
SEGMENT_METRICS = ("total_spend", "predicted_ltv", "churn_rate")
MONTH = "metric_time__month"
SEGMENT = "customer__customer_segment"


def mf_env(settings: Settings) -> dict[str, str]:
    from customer360.transform.project import dbt_target

    return {
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "C360_DUCKDB_PATH": settings.duckdb_path,
        "C360_DBT_TARGET": dbt_target(settings),
    }


@dataclass
class Scorecard:
    kpis: dict[str, float | None]
    monthly: pl.DataFrame
    by_segment: pl.DataFrame
    labels: dict[str, Kpi]


def _numeric(frame: pl.DataFrame, dimension: str) -> pl.DataFrame:
    return frame.with_columns([pl.col(c).cast(pl.Float64, strict=False) for c in frame.columns if c != dimension])


def compute(env: dict[str, str], kpis: Sequence[Kpi] = SCORECARD_KPIS) -> Scorecard:
    """The three queries (totals, by month, by segment) in one MetricFlow process."""
    names = [k.metric for k in kpis]
    totals, monthly, by_segment = query_all(
        [
            MetricQuery(tuple(names)),
            MetricQuery(tuple(m for m in MONTHLY_METRICS if m in names), (MONTH,)),
            MetricQuery(tuple(m for m in SEGMENT_METRICS if m in names), (SEGMENT,)),
        ],
        env,
    )
    values = {name: (None if totals[name][0] is None else float(totals[name][0])) for name in names}
    monthly = _numeric(monthly, MONTH).sort(MONTH)
    by_segment = _numeric(by_segment, SEGMENT)
    by_segment = by_segment.sort(SEGMENT, nulls_last=True)
    return Scorecard(values, monthly, by_segment, {k.metric: k for k in kpis})


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value:.1%}"
    return f"{value:.2f}"


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


def monthly_chart(card: Scorecard) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [c for c in card.monthly.columns if c != MONTH]
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 1.9 * max(1, len(metrics))), sharex=True, squeeze=False)
    months = [str(m)[:7] for m in card.monthly[MONTH].to_list()]
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        ax.plot(months, card.monthly[metric].to_list(), marker="o")
        ax.set_ylabel(metric, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].tick_params(axis="x", rotation=45)
    fig.suptitle("Trend by month")
    return _png(fig)


def segment_chart(card: Scorecard) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [c for c in card.by_segment.columns if c != SEGMENT]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * max(1, len(metrics)), 3.2), squeeze=False)
    segments = [s or "unscored" for s in card.by_segment[SEGMENT].to_list()]
    for ax, metric in zip(axes[0], metrics, strict=True):
        ax.barh(segments, [v or 0 for v in card.by_segment[metric].to_list()])
        ax.set_title(metric, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("By customer segment")
    return _png(fig)


def kpi_markdown(card: Scorecard) -> str:
    rows = "\n".join(
        f"| {card.labels[m].label} | `{m}` | {format_value(v, card.labels[m].unit)} |" for m, v in card.kpis.items()
    )
    return "| KPI | metric | value |\n|---|---|---:|\n" + rows


def render_html(card: Scorecard, charts: dict[str, bytes], generated_at: datetime) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(card.labels[m].label)}</td><td><code>{m}</code></td>"
        f"<td style='text-align:right'>{format_value(v, card.labels[m].unit)}</td></tr>"
        for m, v in card.kpis.items()
    )
    images = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{base64.b64encode(png).decode()}'/>"
        for title, png in charts.items()
    )

    def table(frame: pl.DataFrame) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
            for row in frame.iter_rows()
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Executive KPI scorecard</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>"
        f"<h1>Executive KPI scorecard</h1><p>Generated {generated_at.isoformat()} from the MetricFlow semantic layer "
        f"(churn rate: churn_probability &gt; {churn_probability_threshold()}).</p>"
        f"<table><tr><th>KPI</th><th>metric</th><th>value</th></tr>{rows}</table>{images}"
        f"<h2>By month</h2>{table(card.monthly)}<h2>By segment</h2>{table(card.by_segment)}</body></html>"
    )


def publish(card: Scorecard, exports_url: str, now: datetime | None = None) -> tuple[dict[str, str], dict[str, bytes]]:
    """Write the HTML report and its charts to the exports store (HTML last); return their locations + charts."""
    from customer360.consumers.compliance_export import ExportLocationError, open_exports

    charts = {"Trend by month": monthly_chart(card), "By customer segment": segment_chart(card)}
    store = open_exports(exports_url)
    files = {
        f"{SCORECARD_PREFIX}/trend_by_month.png": charts["Trend by month"],
        f"{SCORECARD_PREFIX}/by_segment.png": charts["By customer segment"],
        f"{SCORECARD_PREFIX}/executive_kpi_scorecard.html": render_html(
            card, charts, now or datetime.now(UTC)
        ).encode(),
    }
    try:
        for key, data in files.items():
            store.write(key, data)
    except Exception as exc:
        raise ExportLocationError(
            f"cannot write the scorecard to {store.url}: {type(exc).__name__}: {exc}. "
            "Check C360_EXPORTS_URL and re-run."
        ) from exc
    return {key.rsplit("/", 1)[1]: store.describe(key) for key in files}, charts


def scorecard_metadata(card: Scorecard, locations: dict[str, str], charts: dict[str, bytes]) -> dict[str, Any]:
    images = "\n\n".join(
        f"**{title}**\n\n![{title}](data:image/png;base64,{base64.b64encode(png).decode()})"
        for title, png in charts.items()
    )
    out: dict[str, Any] = {
        "scorecard": dg.MetadataValue.md(kpi_markdown(card)),
        "charts": dg.MetadataValue.md(images),
        "report": dg.MetadataValue.path(locations["executive_kpi_scorecard.html"]),
    }
    for metric, value in card.kpis.items():
        out[metric] = dg.MetadataValue.float(value) if value is not None else dg.MetadataValue.text("null")
    return out


def build_scorecard_asset(
    manifest: dict[str, Any], settings: Settings, kpis: Sequence[Kpi] = SCORECARD_KPIS
) -> dg.AssetsDefinition:
    from customer360.consumers.compliance_export import ExportLocationError
    from customer360.consumers.exposures import asset_kwargs, built_exposure

    kwargs = asset_kwargs(built_exposure(manifest, EXPOSURE_NAME))
    env = mf_env(settings)

    @dg.asset(**kwargs, pool="warehouse")
    def executive_kpi_scorecard(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        try:
            card = compute(env, kpis)
            locations, charts = publish(card, settings.exports_url)
        except (SemanticLayerError, ExportLocationError) as exc:
            raise dg.Failure(description=str(exc)) from exc
        context.log.info(f"scorecard written to {locations['executive_kpi_scorecard.html']}")
        return dg.MaterializeResult(metadata=scorecard_metadata(card, locations, charts))

    return executive_kpi_scorecard
