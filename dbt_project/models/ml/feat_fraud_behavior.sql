-- ML features for fraud detection (IsolationForest): one row per stg_customers customer, every feature a double in
-- [0, 1], never null. Ratios are used as they are, flags as 0.0/1.0, amounts and counts log-scaled then min-max
-- normalised over all customers (README "ML features").
with customers as (
    select customer_id from {{ ref('stg_customers') }}
),

transactions as (
    select * from {{ ref('int_customer_transactions') }}
),

signals as (
    select * from {{ ref('int_customer_fraud_signals') }}
),

base as (
    select
        customers.customer_id,
        signals.avg_daily_txn_count,
        signals.failed_txn_ratio,
        signals.night_txn_ratio,
        signals.cross_border_ratio,
        transactions.avg_transaction_amount,
        transactions.max_transaction_amount,
        signals.max_single_day_amount,
        case when transactions.avg_transaction_amount > 0
             then transactions.max_transaction_amount / transactions.avg_transaction_amount end as amount_spike,
        transactions.distinct_merchants,
        transactions.payment_methods_used,
        signals.new_device_ratio,
        signals.high_velocity_flag,
        signals.unusual_amount_flag,
        signals.new_device_flag,
        signals.cross_border_flag
    from customers
    left join transactions on customers.customer_id = transactions.customer_id
    left join signals on customers.customer_id = signals.customer_id
)

select
    customer_id,
    {{ minmax_norm('avg_daily_txn_count', log=true) }}                             as velocity_norm,
    cast(coalesce(failed_txn_ratio, 0) as {{ type_double() }})                     as failed_txn_ratio,
    cast(coalesce(night_txn_ratio, 0) as {{ type_double() }})                      as night_txn_ratio,
    cast(coalesce(cross_border_ratio, 0) as {{ type_double() }})                   as cross_border_ratio,
    {{ minmax_norm('avg_transaction_amount', log=true) }}                          as avg_transaction_amount_norm,
    {{ minmax_norm('max_transaction_amount', log=true) }}                          as max_transaction_amount_norm,
    {{ minmax_norm('max_single_day_amount', log=true) }}                           as max_single_day_amount_norm,
    {{ minmax_norm('amount_spike', log=true) }}                                    as amount_spike_norm,
    {{ minmax_norm('distinct_merchants', log=true) }}                              as distinct_merchants_norm,
    {{ minmax_norm('payment_methods_used') }}                                      as payment_methods_used_norm,
    cast(coalesce(new_device_ratio, 0) as {{ type_double() }})                     as new_device_ratio,
    {{ flag_to_double('high_velocity_flag') }}                                     as high_velocity_flag,
    {{ flag_to_double('unusual_amount_flag') }}                                    as unusual_amount_flag,
    {{ flag_to_double('new_device_flag') }}                                        as new_device_flag,
    {{ flag_to_double('cross_border_flag') }}                                      as cross_border_flag
from base
