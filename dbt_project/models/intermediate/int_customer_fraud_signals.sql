{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        post_hook="{{ refresh_as_of_columns() }}",
    )
}}
-- One row per customer: the rule-based fraud signals, defined once for fct_transactions.is_high_risk and
-- ml.feat_fraud_behavior (README "Fraud rules"). Thresholds are dbt vars with documented defaults.
-- Incremental merge on customer_id: only the customers with a transaction, event or profile row that arrived since
-- the last run are recomputed, and, when as_of_date moved, those with facts crossing it or crossing the start of the
-- new-device window (as_of_date − new_device_window_days).
{%- set device_window = var('new_device_window_days') | int %}
with
{%- if is_incremental() %}
touched as (
    {{ touched_customers({'stg_transactions': 'transaction_date'}) }}
    union
    select customer_id from {{ ref('stg_events') }}
    where customer_id is not null
      and (_loaded_at >= {{ loaded_at_watermark() }}
           or {{ crosses_as_of_shift('event_timestamp') }}
           or {{ crosses_as_of_shift('event_timestamp', device_window) }})
),
{%- endif %}

customers as (
    {{ touched_customer_profiles() }}
),

customer_transactions as (
    select * from {{ ref('int_customer_transactions') }}
    {%- if is_incremental() %}
    where customer_id in (select customer_id from touched)
    {%- endif %}
),

transactions as (
    select
        customer_id,
        cast(transaction_date as date) as transaction_day,
        {{ hour_of_day('transaction_date') }} as transaction_hour,
        currency,
        status,
        transaction_type,
        amount_usd,
        _loaded_at
    from {{ ref('stg_transactions') }}
    where {{ on_or_before_as_of('transaction_date') }}
    {%- if is_incremental() %}
      and customer_id in (select customer_id from touched)
    {%- endif %}
),

daily as (
    select
        customer_id,
        transaction_day,
        count(*) as day_transactions,
        sum(case when transaction_type = 'purchase' and status = 'success' then amount_usd else 0 end) as day_spend
    from transactions
    group by customer_id, transaction_day
),

per_day as (
    select
        customer_id,
        count(*)              as active_days,
        sum(day_transactions) as transactions,
        max(day_spend)        as max_single_day_amount
    from daily
    group by customer_id
),

per_transaction as (
    select
        customer_id,
        sum(case when transaction_hour < 5 then 1 else 0 end)    as night_transactions,
        sum(case when currency <> 'USD' then 1 else 0 end)       as cross_border_transactions,
        max(_loaded_at)                                          as _loaded_at
    from transactions
    group by customer_id
),

-- Devices come from the clickstream (transactions carry no device): a fingerprint is device_type + browser.
fingerprints as (
    select
        customer_id,
        {{ dbt.concat(["device_type", "'|'", "coalesce(browser, 'unknown')"]) }} as fingerprint,
        min(cast(event_timestamp as date)) as first_seen,
        max(_loaded_at) as _loaded_at
    from {{ ref('stg_events') }}
    where customer_id is not null
      and {{ on_or_before_as_of('event_timestamp') }}
    {%- if is_incremental() %}
      and customer_id in (select customer_id from touched)
    {%- endif %}
    group by customer_id, {{ dbt.concat(["device_type", "'|'", "coalesce(browser, 'unknown')"]) }}
),

devices as (
    select
        customer_id,
        count(*)        as fingerprints,
        min(first_seen) as first_activity,
        max(_loaded_at) as _loaded_at,
        sum(case
            when first_seen > {{ dbt.dateadd('day', -1 * device_window, as_of_date()) }}
            then 1 else 0 end) as recent_new_fingerprints
    from fingerprints
    group by customer_id
),

device_signals as (
    select
        customer_id,
        -- prior history = activity before the window; without it every device of a brand-new customer is "new"
        case when first_activity <= {{ dbt.dateadd('day', -1 * device_window, as_of_date()) }}
             then recent_new_fingerprints else 0 end as new_fingerprints,
        fingerprints,
        _loaded_at
    from devices
)

select
    customers.customer_id,
    coalesce(
        {{ safe_ratio('per_day.transactions', 'per_day.active_days') }} > {{ var('fraud_velocity_threshold') }},
        false)                                                                       as high_velocity_flag,
    coalesce(
        customer_transactions.max_transaction_amount
            > {{ var('fraud_unusual_amount_multiple') }} * customer_transactions.avg_transaction_amount
        and customer_transactions.avg_transaction_amount > 0,
        false)                                                                       as unusual_amount_flag,
    coalesce(device_signals.new_fingerprints > 0, false)                             as new_device_flag,
    coalesce(per_transaction.cross_border_transactions > 0, false)                   as cross_border_flag,
    {{ safe_ratio('per_transaction.night_transactions', 'customer_transactions.total_transactions') }} as night_txn_ratio,
    {{ safe_ratio('customer_transactions.failed_transactions', 'customer_transactions.total_transactions') }} as failed_txn_ratio,
    {{ safe_ratio('per_day.transactions', 'per_day.active_days') }}                  as avg_daily_txn_count,
    cast(coalesce(per_day.max_single_day_amount, 0) as {{ type_double() }})          as max_single_day_amount,
    {{ safe_ratio('per_transaction.cross_border_transactions', 'customer_transactions.total_transactions') }} as cross_border_ratio,
    {{ safe_ratio('device_signals.new_fingerprints', 'device_signals.fingerprints') }} as new_device_ratio,
    {{ as_of_date() }}                                                               as as_of_date,
    {{ newest_of(['customers._loaded_at', 'per_transaction._loaded_at', 'device_signals._loaded_at']) }} as _loaded_at
from customers
left join customer_transactions on customers.customer_id = customer_transactions.customer_id
left join per_day on customers.customer_id = per_day.customer_id
left join per_transaction on customers.customer_id = per_transaction.customer_id
left join device_signals on customers.customer_id = device_signals.customer_id
