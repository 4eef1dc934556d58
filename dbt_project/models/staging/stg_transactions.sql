{{
    config(
        materialized='incremental',
        unique_key='transaction_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per payment attempt (latest version of each transaction_id). amount stays in the local currency as
-- delivered; amount_usd converts it with the fixed rates of the fx_rates seed (= catalog.FX_RATES_TO_USD).
with latest as (
    {{ dedup_latest_incremental(source('raw', 'transactions'), 'transaction_id') }}
),

cleaned as (
    select
        {{ clean_id('transaction_id') }}               as transaction_id,
        {{ clean_id('customer_id') }}                  as customer_id,
        {{ clean_id('order_id') }}                     as order_id,
        cast(transaction_date as {{ type_ts() }})      as transaction_date,
        cast(amount as {{ type_double() }})            as amount,
        {{ clean_code('currency') }}                   as currency,
        {{ clean_enum('payment_method') }}             as payment_method,
        {{ clean_enum('transaction_type') }}           as transaction_type,
        {{ clean_enum('status') }}                     as status,
        {{ clean_id('merchant_id') }}                  as merchant_id,
        cast(_loaded_at as {{ type_ts() }})            as _loaded_at,
        cast(_load_date as date)                       as _load_date,
        cast(_source_file as {{ dbt.type_string() }})  as _source_file
    from latest
),

fx as (
    select currency, rate_to_usd from {{ ref('fx_rates') }}
)

select
    cleaned.transaction_id,
    cleaned.customer_id,
    cleaned.order_id,
    cleaned.transaction_date,
    cleaned.amount,
    cleaned.currency,
    cast(cleaned.amount * fx.rate_to_usd as {{ type_double() }}) as amount_usd,
    cleaned.payment_method,
    cleaned.transaction_type,
    cleaned.status,
    cleaned.merchant_id,
    cleaned._loaded_at,
    cleaned._load_date,
    cleaned._source_file
from cleaned
left join fx
    on cleaned.currency = fx.currency
