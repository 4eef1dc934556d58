"""The source registry of the design documents, as data.

Every source feed, its columns (same names, order and meaning as the ``stg_<source>`` column lists in
``shared/seeds``), primary and foreign keys, enum value sets and value ranges. The generator writes files with
exactly these columns, the ingestion contracts validate against them, the dbt sources describe them. Nothing
here imports Dagster, so the generator and the tests can use it cheaply.

Readings of the design documents that this table fixes (see README "Design decisions"):

* ``transactions.amount`` is in the *local* currency of ``currency`` (stg_transactions says so); the marts
  report USD (fct_transactions says so): staging converts with the fixed rates in :data:`FX_RATES_TO_USD`.
* ``customers.state`` is a US state code and is null for customers outside the US.
* ``_loaded_at`` is never written by the generator: the loader sets it. The loader also adds ``_load_date``
  (the arrival day = partition) and ``_source_file``.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

LogicalType = Literal["string", "date", "timestamp", "float", "int", "bool"]

# The layers, in build order: each is a Dagster asset-key prefix and group, a warehouse schema and (raw, ml) a dbt
# source name.
RAW, STAGING, INTERMEDIATE, MARTS, ML, SNAPSHOTS = "raw", "staging", "intermediate", "marts", "ml", "snapshots"
LAYERS: tuple[str, ...] = (RAW, STAGING, INTERMEDIATE, MARTS, ML, SNAPSHOTS)


class Cadence(StrEnum):
    """How often a source delivers (design documents, "Freshness SLA"); everything else about timing follows.

    ``partitions``: the raw partitions (and landing folders) of the feed: weekly for a weekly feed, else daily.
    ``rebuilds``: the cadence on which the assets fed only by this source are rebuilt (a ``sla.REBUILD_SLAS`` key).
    ``words``: the design's promise, as the SLA table and the dbt sources describe it.
    """

    NEAR_REAL_TIME = "near_real_time"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def partitions(self) -> "Cadence":
        return Cadence.WEEKLY if self is Cadence.WEEKLY else Cadence.DAILY

    @property
    def rebuilds(self) -> "Cadence":
        return Cadence.HOURLY if self is Cadence.NEAR_REAL_TIME else self

    @property
    def words(self) -> str:
        return _CADENCE_WORDS[self]


_CADENCE_WORDS = {
    Cadence.NEAR_REAL_TIME: "near-realtime (micro-batches)",
    Cadence.HOURLY: "hourly batch",
    Cadence.DAILY: "daily at 02:00 UTC",
    Cadence.WEEKLY: "weekly",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    description: str
    nullable: bool = False
    enum: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    references: str | None = None  # "<source>.<column>" for a foreign key


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    grain: str
    primary_key: str
    columns: tuple[Column, ...]
    cadence: Cadence = Cadence.DAILY
    design_rows: int = 0  # volume at --scale 1.0 (the design documents' figures)
    event_time: str | None = None  # column that places a row in time (None: snapshot-style feed)
    unique: tuple[str, ...] = field(default_factory=tuple)  # other unique columns

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def partition_cadence(self) -> Cadence:
        """``daily`` or ``weekly``: how ``raw/<source>`` is partitioned (see :class:`Cadence`)."""
        return self.cadence.partitions

    @property
    def foreign_keys(self) -> list[Column]:
        return [c for c in self.columns if c.references]


# Loader-added columns (present in raw.<source>, never in landing files).
LOADED_AT = "_loaded_at"
LOAD_DATE = "_load_date"
SOURCE_FILE = "_source_file"
LOADER_COLUMNS: tuple[Column, ...] = (
    Column(LOAD_DATE, "date", "Arrival day of the file (its load_date= folder); the raw partition key."),
    Column(SOURCE_FILE, "string", "Landing-zone key of the file the row came from."),
    Column(LOADED_AT, "timestamp", "UTC time the loader wrote the row. Used in source freshness checks."),
)

# Fixed conversion rates used by staging to turn local-currency amounts into USD.
FX_RATES_TO_USD: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "CAD": 0.74,
    "MXN": 0.058,
    "JPY": 0.0067,
    "BRL": 0.20,
    "INR": 0.012,
}

KYC_STATUSES = ("pending", "verified", "failed", "expired")
ACCOUNT_STATUSES = ("active", "suspended", "closed", "dormant")
ORDER_STATUSES = ("completed", "cancelled", "pending", "returned")
ORDER_CHANNELS = ("web", "mobile", "in-store", "partner")
PAYMENT_METHODS = ("card", "ach", "wallet", "wire")
TRANSACTION_TYPES = ("purchase", "refund", "reversal", "fee")
TRANSACTION_STATUSES = ("success", "failed", "pending", "reversed")
EVENT_TYPES = ("page_view", "click", "form_submit", "login", "logout")
DEVICE_TYPES = ("mobile", "desktop", "tablet")
CAMPAIGN_CHANNELS = ("email", "sms", "push", "in-app")
TICKET_CATEGORIES = ("billing", "fraud", "technical", "account", "general")
TICKET_PRIORITIES = ("low", "medium", "high", "critical")
TICKET_STATUSES = ("open", "in-progress", "resolved", "closed")

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="customers",
            description="Core customer identity and account profile (CRM / core banking export).",
            grain="One row per customer. customer_id is unique and non-null.",
            primary_key="customer_id",
            design_rows=270_000,
            event_time=None,
            unique=("email",),
            columns=(
                Column("customer_id", "string", "Unique customer identifier. Natural key used across all models."),
                Column(
                    "first_name", "string", "Lowercased and trimmed in staging. Combined with last_name → full_name."
                ),
                Column("last_name", "string", "Lowercased and trimmed in staging."),
                Column("email", "string", "Primary email. Unique. Used for campaign matching."),
                Column("phone", "string", "Nullable. Not always captured at signup.", nullable=True),
                Column("signup_date", "date", "Account creation date. Drives customer_tenure_days in dim_customers."),
                Column(
                    "state", "string", "US state code (null outside the US). Geographic segmentation.", nullable=True
                ),
                Column("country", "string", "ISO 2-letter country code. Used in cross-border fraud signal."),
                Column(
                    "kyc_status",
                    "string",
                    "pending / verified / failed / expired. Gates transaction eligibility.",
                    enum=KYC_STATUSES,
                ),
                Column(
                    "account_status",
                    "string",
                    "active / suspended / closed / dormant. Filters the active population.",
                    enum=ACCOUNT_STATUSES,
                ),
                Column("preferred_language", "string", "Defaults to en. Used in campaign personalization logic."),
            ),
        ),
        Source(
            name="orders",
            description="Customer purchase events and order lifecycle (OMS export).",
            grain="One row per order. Multiple orders per customer.",
            primary_key="order_id",
            design_rows=1_200_000,
            event_time="order_date",
            columns=(
                Column("order_id", "string", "Unique order identifier from OMS."),
                Column(
                    "customer_id", "string", "References stg_customers.customer_id.", references="customers.customer_id"
                ),
                Column("order_date", "date", "Date order was placed. Recency calculation and cohort analysis."),
                Column(
                    "order_status",
                    "string",
                    "completed / cancelled / pending / returned. Only completed count toward RFM.",
                    enum=ORDER_STATUSES,
                ),
                Column("total_amount", "float", "Gross order value in USD before refunds.", min=0.0),
                Column(
                    "product_id",
                    "string",
                    "FK to stg_products. Used in int_product_affinity.",
                    references="products.product_id",
                ),
                Column("quantity", "int", "Number of units ordered. Used in avg_qty_per_order feature.", min=1),
                Column(
                    "channel",
                    "string",
                    "web / mobile / in-store / partner. Channel mix reporting.",
                    enum=ORDER_CHANNELS,
                ),
            ),
        ),
        Source(
            name="transactions",
            description="Payment-level records powering fraud detection (core payments ledger, micro-batches).",
            grain="One row per payment attempt including failed and reversed transactions.",
            primary_key="transaction_id",
            cadence=Cadence.NEAR_REAL_TIME,
            design_rows=5_000_000,
            event_time="transaction_date",
            columns=(
                Column("transaction_id", "string", "Unique payment attempt identifier."),
                Column(
                    "customer_id", "string", "References stg_customers.customer_id.", references="customers.customer_id"
                ),
                Column(
                    "order_id",
                    "string",
                    "References stg_orders.order_id. Nullable: standalone payments.",
                    nullable=True,
                    references="orders.order_id",
                ),
                Column(
                    "transaction_date", "timestamp", "UTC timestamp of payment attempt. Velocity and time-of-day risk."
                ),
                Column("amount", "float", "Transaction value in local currency. Negative values = refunds."),
                Column(
                    "currency",
                    "string",
                    "ISO currency code. Non-USD values used in cross-border flag.",
                    enum=tuple(FX_RATES_TO_USD),
                ),
                Column(
                    "payment_method",
                    "string",
                    "card / ach / wallet / wire. Payment method diversity feature.",
                    enum=PAYMENT_METHODS,
                ),
                Column(
                    "transaction_type",
                    "string",
                    "purchase / refund / reversal / fee. Filter on purchase for spend.",
                    enum=TRANSACTION_TYPES,
                ),
                Column(
                    "status",
                    "string",
                    "success / failed / pending / reversed. Failed ratio is a key fraud signal.",
                    enum=TRANSACTION_STATUSES,
                ),
                Column("merchant_id", "string", "Merchant identifier. distinct_merchants count."),
            ),
        ),
        Source(
            name="events",
            description="Web and app clickstream for behavioral features (analytics platform, hourly batches).",
            grain="One row per event action. Many events per session, many sessions per customer.",
            primary_key="event_id",
            cadence=Cadence.HOURLY,
            design_rows=8_000_000,
            event_time="event_timestamp",
            columns=(
                Column("event_id", "string", "Unique event identifier generated by tracking platform."),
                Column(
                    "customer_id",
                    "string",
                    "References stg_customers. Null for anonymous / pre-login sessions.",
                    nullable=True,
                    references="customers.customer_id",
                ),
                Column("session_id", "string", "Groups events into a single browsing session."),
                Column("event_type", "string", "page_view / click / form_submit / login / logout.", enum=EVENT_TYPES),
                Column("page_url", "string", "URL where the event occurred."),
                Column("event_timestamp", "timestamp", "UTC timestamp. Session duration and time-of-day analysis."),
                Column(
                    "device_type",
                    "string",
                    "mobile / desktop / tablet. mobile_session_ratio and new_device_flag.",
                    enum=DEVICE_TYPES,
                ),
                Column("browser", "string", "Browser identifier. Secondary device-fingerprint signal for fraud."),
            ),
        ),
        Source(
            name="products",
            description="Product catalog for affinity and category analysis (weekly full export).",
            grain="One row per product SKU. Joined to stg_orders on product_id.",
            primary_key="product_id",
            cadence=Cadence.WEEKLY,
            design_rows=5_000,
            event_time=None,
            columns=(
                Column("product_id", "string", "Unique product SKU. Joins to stg_orders.product_id."),
                Column("product_name", "string", "Display name of the product."),
                Column("category", "string", "Top-level product category. Primary grouping for affinity analysis."),
                Column("subcategory", "string", "Secondary classification. Granular affinity scoring."),
                Column(
                    "unit_price", "float", "Listed price in USD. Used to calculate gross_margin in fct_orders.", min=0.0
                ),
                Column("is_active", "bool", "False = discontinued."),
            ),
        ),
        Source(
            name="campaigns",
            description="Marketing outreach engagement and conversion signals (marketing automation export).",
            grain="One row per campaign send per customer.",
            primary_key="campaign_id",
            design_rows=500_000,
            event_time="sent_at",
            columns=(
                Column("campaign_id", "string", "Unique send identifier: campaign + customer + send date."),
                Column(
                    "customer_id", "string", "References stg_customers.customer_id.", references="customers.customer_id"
                ),
                Column("campaign_name", "string", "Name of the campaign as defined in the marketing platform."),
                Column("channel", "string", "email / sms / push / in-app.", enum=CAMPAIGN_CHANNELS),
                Column("sent_at", "timestamp", "UTC timestamp of message delivery."),
                Column(
                    "opened_at", "timestamp", "Nullable. Timestamp of open event. Null = not opened.", nullable=True
                ),
                Column(
                    "clicked_at", "timestamp", "Nullable. Timestamp of click event. Null = not clicked.", nullable=True
                ),
                Column("converted", "bool", "True if customer made a purchase within 7 days of receiving campaign."),
            ),
        ),
        Source(
            name="support_tickets",
            description="Customer service interactions and satisfaction scores (helpdesk export).",
            grain="One row per support ticket. Multiple tickets possible per customer.",
            primary_key="ticket_id",
            design_rows=50_000,
            event_time="created_at",
            columns=(
                Column("ticket_id", "string", "Unique support ticket identifier from helpdesk platform."),
                Column(
                    "customer_id", "string", "References stg_customers.customer_id.", references="customers.customer_id"
                ),
                Column("created_at", "timestamp", "When the ticket was opened by the customer."),
                Column("resolved_at", "timestamp", "Nullable. When closed. Null = still open.", nullable=True),
                Column(
                    "category", "string", "billing / fraud / technical / account / general.", enum=TICKET_CATEGORIES
                ),
                Column(
                    "priority",
                    "string",
                    "low / medium / high / critical. High + critical are churn signals.",
                    enum=TICKET_PRIORITIES,
                ),
                Column("status", "string", "open / in-progress / resolved / closed.", enum=TICKET_STATUSES),
                Column(
                    "satisfaction_score",
                    "int",
                    "CSAT score 1–5. Nullable: not always submitted.",
                    nullable=True,
                    min=1,
                    max=5,
                ),
            ),
        ),
    )
}

SOURCE_NAMES: tuple[str, ...] = tuple(SOURCES)
