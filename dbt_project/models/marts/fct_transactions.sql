{{
    config(
        materialized='incremental',
        unique_key='transaction_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per payment attempt, amount in USD, with the is_high_risk flag (README "Fraud rules").
-- Incremental merge on transaction_id. A Dagster partition run — one day, or a range (a backfill, `customer360
-- update`) — passes min_date/max_date (the partition window) and merges, each row recomputed with today's signals:
--   - the transactions dated in the window, from lookback_days before min_date (a backfill re-flags old days);
--   - the transactions whose version arrived (_load_date) on the window's days: partitions are by arrival day,
--     the window above by event date, so a late or re-sent row of an older date belongs to the day it arrived;
--   - when incremental, every version that arrived since the newest one already merged (_loaded_at watermark,
--     minus loaded_at_lookback_hours), whatever its dates: no arrival is ever left behind by a window.
-- Without vars (a run of the checks alone, dbt on the command line) an incremental run merges the watermark part only.
-- is_high_risk is evaluated when a transaction's version is merged (the customer's signals at that time): older
-- rows keep their flag until re-merged (a backfill of their days) or a --full-refresh.
{%- set min_date = date_var('min_date') -%}
{%- set max_date = date_var('max_date') -%}
{%- set lookback = var('lookback_days') | int %}

with transactions as (
    select * from {{ ref('stg_transactions') }}
    {%- if min_date is not none or max_date is not none %}
    {#- a window open at one end (only min_date or only max_date given) is unbounded there #}
    {%- set dated = [] -%}
    {%- set arrived = [] -%}
    {%- if min_date is not none -%}
        {%- do dated.append("transaction_date >= " ~ dbt.dateadd('day', -1 * lookback, min_date)) -%}
        {%- do arrived.append("_load_date >= " ~ min_date) -%}
    {%- endif -%}
    {%- if max_date is not none -%}
        {%- do dated.append("transaction_date < " ~ max_date) -%}
        {%- do arrived.append("_load_date < " ~ max_date) -%}
    {%- endif %}
    where (
        ({{ dated | join(' and ') }})
        or ({{ arrived | join(' and ') }})
        {%- if is_incremental() %}
        or _loaded_at >= {{ loaded_at_watermark() }}
        {%- endif %}
    )
    {%- elif is_incremental() %}
    where _loaded_at >= {{ loaded_at_watermark() }}
    {%- endif %}
),

signals as (
    select * from {{ ref('int_customer_fraud_signals') }}
),

customer_amounts as (
    select customer_id, avg_transaction_amount from {{ ref('int_customer_transactions') }}
),

risk_scores as (
    {{ latest_ml_scores('customer_risk_scores', ['risk_tier', 'anomaly_score']) }}
),

flagged as (
    select
        transactions.*,
        -- the customer looks risky: the ML tier says high, or the customer's own history has a high share of
        -- night-time or failed attempts (int_customer_fraud_signals)
        (
            coalesce(risk_scores.risk_tier = 'high', false)
            or coalesce(signals.night_txn_ratio >= {{ var('fraud_customer_ratio_threshold') }}, false)
            or coalesce(signals.failed_txn_ratio >= {{ var('fraud_customer_ratio_threshold') }}, false)
        ) as customer_is_risky,
        -- the attempt itself is anomalous on at least fraud_min_transaction_anomalies (2) of four counts
        (
            case when coalesce(
                transactions.amount_usd > {{ var('fraud_unusual_amount_multiple') }} * customer_amounts.avg_transaction_amount,
                false) then 1 else 0 end
            + case when {{ hour_of_day('transactions.transaction_date') }} < 5 then 1 else 0 end
            + case when transactions.status = 'failed' then 1 else 0 end
            + case when transactions.currency <> 'USD' then 1 else 0 end
        ) >= {{ var('fraud_min_transaction_anomalies') }} as transaction_is_anomalous
    from transactions
    left join signals on transactions.customer_id = signals.customer_id
    left join customer_amounts on transactions.customer_id = customer_amounts.customer_id
    left join risk_scores on transactions.customer_id = risk_scores.customer_id
)

select
    transaction_id,
    customer_id,
    order_id,
    transaction_date,
    amount_usd                                                     as amount,
    amount                                                         as amount_local,
    currency,
    payment_method,
    transaction_type,
    status,
    merchant_id,
    coalesce(customer_is_risky and transaction_is_anomalous, false) as is_high_risk,
    cast(transaction_date as date)                                 as transaction_day,
    _loaded_at
from flagged
