-- One row per customer (every stg_customers customer): order behaviour as of as_of_date.
-- Only completed orders count toward totals, value and recency; cancelled orders are counted separately.
with customers as (
    select customer_id from {{ ref('stg_customers') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
    where {{ on_or_before_as_of('order_date') }}
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
        sum(case when order_status = 'completed' then total_amount else 0 end) as total_order_value
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
    cast({{ days_before_as_of('per_customer.last_order_date') }} as {{ type_int() }}) as days_since_last_order
from customers
left join per_customer on customers.customer_id = per_customer.customer_id
left join affinity on customers.customer_id = affinity.customer_id
