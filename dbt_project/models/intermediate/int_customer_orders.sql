{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        post_hook="{{ refresh_as_of_columns({'days_since_last_order': 'last_order_date'}) }}",
    )
}}
-- One row per customer (every stg_customers customer): order behaviour as of as_of_date.
-- Only completed orders count toward totals, value and recency; cancelled orders are counted separately.
-- Incremental merge on customer_id: only the customers with an order or profile row that arrived since the last run
-- (a status change, completed → returned, arrives as a new version of the order), those whose top_category in
-- int_product_affinity changed, and, when as_of_date moved, those with orders crossing it are re-aggregated;
-- days_since_last_order of the others is moved with as_of_date from last_order_date (refresh_as_of_columns).
with
{%- if is_incremental() %}
touched as (
    {{ touched_customers({'stg_orders': 'order_date'}) }}
    union
    select affinity.customer_id
    from {{ ref('int_product_affinity') }} as affinity
    inner join {{ this }} as stored on affinity.customer_id = stored.customer_id
    where affinity.top_category is distinct from stored.top_category
),
{%- endif %}

customers as (
    {{ touched_customer_profiles() }}
),

orders as (
    select * from {{ ref('stg_orders') }}
    where {{ on_or_before_as_of('order_date') }}
    {%- if is_incremental() %}
      and customer_id in (select customer_id from touched)
    {%- endif %}
),

affinity as (
    select customer_id, top_category from {{ ref('int_product_affinity') }}
),

per_customer as (
    select
        customer_id,
        sum(case when order_status = 'completed' then 1 else 0 end)            as completed_orders,
        sum(case when order_status = 'cancelled' then 1 else 0 end)            as cancelled_orders,
        min(case when order_status = 'completed' then order_date end)          as first_order_date,
        max(case when order_status = 'completed' then order_date end)          as last_order_date,
        sum(case when order_status = 'completed' then total_amount else 0 end) as total_order_value,
        max(_loaded_at)                                                         as _loaded_at
    from orders
    group by customer_id
)

select
    customers.customer_id,
    cast(coalesce(per_customer.completed_orders, 0) as {{ type_int() }})      as total_orders,
    cast(coalesce(per_customer.completed_orders, 0) as {{ type_int() }})      as completed_orders,
    cast(coalesce(per_customer.cancelled_orders, 0) as {{ type_int() }})      as cancelled_orders,
    per_customer.first_order_date,
    per_customer.last_order_date,
    cast(case
        when coalesce(per_customer.completed_orders, 0) > 0
            then per_customer.total_order_value / per_customer.completed_orders
    end as {{ type_double() }})                                               as avg_order_value,
    cast(coalesce(per_customer.total_order_value, 0) as {{ type_double() }})  as total_order_value,
    affinity.top_category,
    cast({{ days_before_as_of('per_customer.last_order_date') }} as {{ type_int() }}) as days_since_last_order,
    {{ as_of_date() }}                                                        as as_of_date,
    {{ newest_of(['customers._loaded_at', 'per_customer._loaded_at']) }}      as _loaded_at
from customers
left join per_customer on customers.customer_id = per_customer.customer_id
left join affinity on customers.customer_id = affinity.customer_id
