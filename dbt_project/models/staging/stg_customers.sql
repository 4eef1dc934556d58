{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per customer: the latest version of each customer_id from raw.customers (daily files carry sign-ups
-- and profile changes; re-sends and late rows are collapsed), names/emails lowercased and trimmed, enums standardised.
with latest as (
    {{ dedup_latest_incremental(source('raw', 'customers'), 'customer_id') }}
)

select
    {{ clean_id('customer_id') }}                                   as customer_id,
    {{ clean_text('first_name', lower=true) }}                      as first_name,
    {{ clean_text('last_name', lower=true) }}                       as last_name,
    {{ clean_text('email', lower=true) }}                           as email,
    {{ clean_text('phone') }}                                       as phone,
    cast(signup_date as date)                                       as signup_date,
    {{ clean_code('state') }}                                       as state,
    {{ clean_code('country') }}                                     as country,
    {{ clean_enum('kyc_status') }}                                  as kyc_status,
    {{ clean_enum('account_status') }}                              as account_status,
    coalesce({{ clean_text('preferred_language', lower=true) }}, 'en') as preferred_language,
    cast(_loaded_at as {{ type_ts() }})                             as _loaded_at,
    cast(_load_date as date)                                        as _load_date,
    cast(_source_file as {{ dbt.type_string() }})                   as _source_file
from latest
