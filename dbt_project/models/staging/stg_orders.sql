{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per order (latest version of each order_id: status updates arrive as new rows).
with latest as (
    {{ dedup_latest_incremental(source('raw', 'orders'), 'order_id') }}
)

select
    {{ clean_id('order_id') }}                        as order_id,
    {{ clean_id('customer_id') }}                     as customer_id,
    cast(order_date as date)                          as order_date,
    {{ clean_enum('order_status') }}                  as order_status,
    cast(total_amount as {{ type_double() }})         as total_amount,
    {{ clean_id('product_id') }}                      as product_id,
    cast(quantity as {{ type_int() }})                as quantity,
    {{ clean_enum('channel') }}                       as channel,
    cast(_loaded_at as {{ type_ts() }})               as _loaded_at,
    cast(_load_date as date)                          as _load_date,
    cast(_source_file as {{ dbt.type_string() }})     as _source_file
from latest
