-- One row per product SKU: the latest weekly catalogue version of each product_id.
-- _category_since: arrival (_loaded_at) of the newest version whose category differs from the version before it
-- (or of the first version): the weekly catalogue re-sends every product, and this tells the incremental
-- int_product_affinity which products really changed category since its last run.
with latest as (
    {{ dedup_latest(source('raw', 'products'), 'product_id') }}
),

versions as (
    select
        product_id,
        _loaded_at,
        {{ clean_text('category', lower=true) }} as category,
        lag({{ clean_text('category', lower=true) }}) over (
            partition by product_id order by _load_date, _loaded_at, _source_file
        ) as previous_category,
        row_number() over (partition by product_id order by _load_date, _loaded_at, _source_file) as version
    from {{ source('raw', 'products') }}
    where product_id is not null
),

category_since as (
    select product_id, max(_loaded_at) as _category_since
    from versions
    where version = 1 or previous_category is distinct from category
    group by product_id
)

select
    {{ clean_id('latest.product_id') }}               as product_id,
    {{ clean_text('product_name') }}                  as product_name,
    {{ clean_text('category', lower=true) }}          as category,
    {{ clean_text('subcategory', lower=true) }}       as subcategory,
    cast(unit_price as {{ type_double() }})           as unit_price,
    cast(is_active as {{ type_bool() }})              as is_active,
    cast(latest._loaded_at as {{ type_ts() }})        as _loaded_at,
    cast(category_since._category_since as {{ type_ts() }}) as _category_since
from latest
left join category_since on latest.product_id = category_since.product_id
