"""Test helper: the tables an incremental build must reproduce exactly, and their EXCEPT ALL difference against a
full refresh (floats rounded) — one definition for the DuckDB and the Snowflake-emulator guards."""

# schema.table of every model an incremental build must equal a full refresh of (staging, intermediate, marts, ML
# features); columns left out of the comparison, with the reason
COMPARED = [
    "staging.stg_customers",
    "staging.stg_orders",
    "staging.stg_transactions",
    "staging.stg_events",
    "staging.stg_campaigns",
    "staging.stg_support_tickets",
    "staging.stg_products",
    "intermediate.int_customer_orders",
    "intermediate.int_customer_transactions",
    "intermediate.int_customer_fraud_signals",
    "intermediate.int_session_features",
    "intermediate.int_product_affinity",
    "marts.dim_customers",
    "marts.fct_orders",
    "marts.fct_campaigns",
    "marts.fct_transactions",
    "marts.fct_customer_value",
    "ml.feat_customer_segmentation",
    "ml.feat_fraud_behavior",
    "snapshots.snap_customer_profile",
]
EXCLUDED_COLUMNS = {
    "marts.dim_customers": {"dbt_updated_at"},  # the build time
    # evaluated when the transaction's version is merged, with the customer's signals of that run (README)
    "marts.fct_transactions": {"is_high_risk"},
}
FLOAT_TYPES = {"double", "float", "real", "decimal", "number", "numeric", "float8", "float4"}
ROUND_DIGITS = 6


def comparable_select(table: str, columns: list[tuple[str, str]], prefix: str = "") -> str:
    """``select`` of ``table`` (optionally ``prefix.table``) with floats rounded and excluded columns dropped."""
    skip = EXCLUDED_COLUMNS.get(table, set())
    exprs = []
    for name, dtype in columns:
        if name.lower() in skip:
            continue
        base = dtype.lower().split("(")[0].strip()
        # two steps: summation-order noise (~1e-11) is rounded away at 8 digits first, so a value on a 6-digit
        # half-way point (an average like 23.4172125) rounds the same way in both builds
        exprs.append(
            f"round(round({name}, {ROUND_DIGITS + 2}), {ROUND_DIGITS}) as {name}" if base in FLOAT_TYPES else name
        )
    return f"select {', '.join(exprs)} from {prefix}{table}"


def difference_sql(table: str, columns: list[tuple[str, str]], left: str, right: str) -> str:
    """Rows of ``left.table`` missing from ``right.table`` and the reverse (EXCEPT ALL both ways), counted."""
    a, b = comparable_select(table, columns, left), comparable_select(table, columns, right)
    return f"select count(*) from (({a} except all {b}) union all ({b} except all {a})) as d"
