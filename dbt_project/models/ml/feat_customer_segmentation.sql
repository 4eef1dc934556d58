-- ML features for customer segmentation (KMeans): one row per stg_customers customer, every feature a double in
-- [0, 1], never null (README "ML features"). Min-max normalisation over all customers; heavy-tailed counts and
-- money are log-scaled first (ln(1 + x)) so a few whales do not squash everyone else to 0.
with customers as (
    select customer_id from {{ ref('stg_customers') }}
),

dim as (
    select customer_id, customer_tenure_days from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('int_customer_orders') }}
),

sessions as (
    select * from {{ ref('int_session_features') }}
),

affinity as (
    select customer_id, category_diversity_score from {{ ref('int_product_affinity') }}
),

campaigns as (
    select
        customer_id,
        sum(case when channel = 'email' then 1 else 0 end)                              as email_sends,
        sum(case when channel = 'email' and opened_at is not null then 1 else 0 end)    as email_opens,
        count(*)                                                                        as sends,
        sum(case when clicked_at is not null then 1 else 0 end)                         as clicks
    from {{ ref('stg_campaigns') }}
    where {{ on_or_before_as_of('sent_at') }}
    group by customer_id
),

tickets as (
    select customer_id, count(*) as tickets
    from {{ ref('stg_support_tickets') }}
    where {{ on_or_before_as_of('created_at') }}
    group by customer_id
),

base as (
    select
        customers.customer_id,
        orders.days_since_last_order,
        orders.total_orders,
        orders.total_order_value,
        orders.avg_order_value,
        -- sessions and tickets per 30 days of tenure (at least one day)
        30.0 * sessions.total_sessions / greatest(dim.customer_tenure_days, 1)          as sessions_per_30d,
        sessions.avg_session_duration_sec,
        affinity.category_diversity_score,
        {{ safe_ratio('campaigns.email_opens', 'campaigns.email_sends') }}              as email_open_rate,
        {{ safe_ratio('campaigns.clicks', 'campaigns.sends') }}                         as click_rate,
        30.0 * coalesce(tickets.tickets, 0) / greatest(dim.customer_tenure_days, 1)     as tickets_per_30d,
        dim.customer_tenure_days
    from customers
    left join dim on customers.customer_id = dim.customer_id
    left join orders on customers.customer_id = orders.customer_id
    left join sessions on customers.customer_id = sessions.customer_id
    left join affinity on customers.customer_id = affinity.customer_id
    left join campaigns on customers.customer_id = campaigns.customer_id
    left join tickets on customers.customer_id = tickets.customer_id
)

select
    customer_id,
    -- 1 = most recent order; customers without completed orders = 0
    cast(case when days_since_last_order is null then 0
              else 1 - {{ minmax_norm('days_since_last_order') }} end as {{ type_double() }}) as recency_norm,
    {{ minmax_norm('total_orders', log=true) }}                 as frequency_norm,
    {{ minmax_norm('total_order_value', log=true) }}            as monetary_norm,
    {{ minmax_norm('avg_order_value', log=true) }}              as avg_order_value_norm,
    {{ minmax_norm('sessions_per_30d', log=true) }}             as session_frequency_norm,
    {{ minmax_norm('avg_session_duration_sec', log=true) }}     as avg_session_dur_norm,
    cast(coalesce(category_diversity_score, 0) as {{ type_double() }}) as category_diversity_norm,
    cast(email_open_rate as {{ type_double() }})                as email_open_rate_norm,
    cast(click_rate as {{ type_double() }})                     as click_rate_norm,
    {{ minmax_norm('tickets_per_30d', log=true) }}              as support_ticket_rate_norm,
    {{ minmax_norm('customer_tenure_days') }}                   as tenure_norm
from base
