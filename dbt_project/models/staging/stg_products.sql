-- One row per product SKU: the latest weekly catalogue version of each product_id.
with latest as (
    {{ dedup_latest(source('raw', 'products'), 'product_id') }}
)

select
    {{ clean_id('product_id') }}                      as product_id,
    {{ clean_text('product_name') }}                  as product_name,
    {{ clean_text('category', lower=true) }}          as category,
    {{ clean_text('subcategory', lower=true) }}       as subcategory,
    cast(unit_price as {{ type_double() }})           as unit_price,
    cast(is_active as {{ type_bool() }})              as is_active,
    cast(_loaded_at as {{ type_ts() }})               as _loaded_at
from latest
