{{
    config(
        materialized='incremental',
        unique_key='transaction_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per payment attempt, amount in USD, with the is_high_risk flag (README "Fraud rules").
-- Incremental merge on transaction_id. A Dagster partition run passes min_date/max_date (the partition window);
-- rows from lookback_days before min_date are re-read so late-arriving transactions and their flags are merged.
-- Without vars an incremental run merges the transactions whose version arrived since the newest one already merged
-- (_loaded_at watermark, minus loaded_at_lookback_hours): late rows and re-sends by arrival, not by event date.
-- is_high_risk is evaluated when a transaction's version is merged (the customer's signals at that time): older
-- rows keep their flag until re-merged or a --full-refresh.
{%- set min_date = date_var('min_date') -%}
{%- set max_date = date_var('max_date') -%}
{%- set lookback = var('lookback_days') | int %}

with transactions as (
    select * from {{ ref('stg_transactions') }}
    where 1 = 1
    {%- if min_date is not none %}
      and transaction_date >= {{ dbt.dateadd('day', -1 * lookback, min_date) }}
    {%- elif is_incremental() %}
      and _loaded_at >= {{ loaded_at_watermark() }}
    {%- endif %}
    {%- if max_date is not none %}
      and transaction_date < {{ max_date }}
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
            case when coalesce(transactions.amount_usd > {{ var('fraud_unusual_amount_multiple') }} * customer_amounts.avg_transaction_amount, false) then 1 else 0 end
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
