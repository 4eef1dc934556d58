{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per order (all statuses), priced against the catalogue: gross_margin = total_amount − unit_price × quantity
-- (unit_price = the catalogue's current list price in USD; null when the product is unknown).
-- Incremental merge on order_id: the orders whose version arrived since the last run (new orders, late rows,
-- status changes) and the orders of products whose catalogue version arrived since then AND prices them differently
-- from what the table holds (category or unit_price changed, or the product was unknown). The weekly catalogue
-- re-sends every product: an unchanged product re-prices nothing.
with
{%- if is_incremental() %}
repriced_products as (
    select arrived.product_id
    from {{ ref('stg_products') }} as arrived
    where arrived._loaded_at >= {{ loaded_at_watermark() }}
      and exists (
          select 1 from {{ this }} as stored
          where stored.product_id = arrived.product_id
            and (stored.product_category is distinct from arrived.category
                 or stored.unit_price is distinct from arrived.unit_price)
      )
),
{%- endif %}

orders as (
    select * from {{ ref('stg_orders') }}
    {%- if is_incremental() %}
    where _loaded_at >= {{ loaded_at_watermark() }}
       or product_id in (select product_id from repriced_products)
    {%- endif %}
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
    cast(orders.total_amount - products.unit_price * orders.quantity as {{ type_double() }}) as gross_margin,
    orders._loaded_at
from orders
left join products on orders.product_id = products.product_id
