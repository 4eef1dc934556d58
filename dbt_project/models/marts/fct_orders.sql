-- One row per order (all statuses), priced against the catalogue: gross_margin = total_amount − unit_price × quantity
-- (unit_price = the catalogue's current list price in USD; null when the product is unknown).
with orders as (
    select * from {{ ref('stg_orders') }}
),

products as (
    select product_id, category, unit_price from {{ ref('stg_products') }}
)

select
    orders.order_id,
    orders.customer_id,
    orders.product_id,
    orders.order_date,
    orders.order_status,
    orders.total_amount,
    orders.quantity,
    orders.channel,
    products.category                                                      as product_category,
    products.unit_price,
    cast(orders.total_amount - products.unit_price * orders.quantity as {{ type_double() }}) as gross_margin
from orders
left join products on orders.product_id = products.product_id
