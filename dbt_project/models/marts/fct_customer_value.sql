-- Customer 360: one row per customer joining every intermediate model and the ML scores (README "Customer value").
-- RFM scores 1–5 rank customers with at least one completed order (tie-aware quintiles, see rfm_score());
-- customers without completed orders get null scores and the segment 'No Purchases'.
-- ML columns come from source ml.* and are null until the ML assets have scored.
with customers as (
    select customer_id from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('int_customer_orders') }}
),

transactions as (
    select customer_id, total_spend as transaction_spend from {{ ref('int_customer_transactions') }}
),

sessions as (
    select customer_id, total_sessions from {{ ref('int_session_features') }}
),

buyers as (
    select customer_id, days_since_last_order, total_orders, total_order_value
    from orders
    where total_orders > 0
),

rfm as (
    select
        customer_id,
        {{ rfm_score('days_since_last_order', descending=true) }} as recency_score,
        {{ rfm_score('total_orders') }}                           as frequency_score,
        {{ rfm_score('total_order_value') }}                      as monetary_score
    from buyers
),

segments as (
    {{ latest_ml_scores('customer_segments', ['customer_segment']) }}
),

churn as (
    {{ latest_ml_scores('churn_predictions', ['churn_probability']) }}
),

ltv as (
    {{ latest_ml_scores('ltv_predictions', ['predicted_ltv']) }}
),

risk as (
    {{ latest_ml_scores('customer_risk_scores', ['risk_tier', 'anomaly_score']) }}
),

joined as (
    select
        customers.customer_id,
        orders.total_orders,
        orders.total_order_value                                  as total_spend,
        orders.avg_order_value,
        orders.days_since_last_order,
        sessions.total_sessions,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        {{ rfm_segment('rfm.recency_score', 'rfm.frequency_score', 'rfm.monetary_score') }} as rfm_segment,
        cast(ltv.predicted_ltv as {{ type_double() }})           as predicted_ltv,
        cast(churn.churn_probability as {{ type_double() }})     as churn_probability,
        segments.customer_segment,
        risk.risk_tier,
        cast(risk.anomaly_score as {{ type_double() }})          as anomaly_score,
        transactions.transaction_spend
    from customers
    left join orders on customers.customer_id = orders.customer_id
    left join transactions on customers.customer_id = transactions.customer_id
    left join sessions on customers.customer_id = sessions.customer_id
    left join rfm on customers.customer_id = rfm.customer_id
    left join segments on customers.customer_id = segments.customer_id
    left join churn on customers.customer_id = churn.customer_id
    left join ltv on customers.customer_id = ltv.customer_id
    left join risk on customers.customer_id = risk.customer_id
),

ltv_ranked as (
    select
        joined.*,
        case when predicted_ltv is not null
             then percent_rank() over (partition by case when predicted_ltv is null then 0 else 1 end order by predicted_ltv)
        end as ltv_percentile
    from joined
)

select
    customer_id,
    total_orders,
    total_spend,
    avg_order_value,
    days_since_last_order,
    total_sessions,
    recency_score,
    frequency_score,
    monetary_score,
    rfm_segment,
    predicted_ltv,
    churn_probability,
    customer_segment,
    {{ composite_score('recency_score', 'frequency_score', 'monetary_score', 'ltv_percentile', 'churn_probability') }} as composite_score,
    risk_tier,
    anomaly_score,
    transaction_spend,
    {{ as_of_date() }} as as_of_date
from ltv_ranked
