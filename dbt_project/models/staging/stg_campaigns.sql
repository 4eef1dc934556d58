{{
    config(
        materialized='incremental',
        unique_key='campaign_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per campaign send per customer (latest version of each campaign_id: opens/clicks may arrive later).
with latest as (
    {{ dedup_latest_incremental(source('raw', 'campaigns'), 'campaign_id') }}
)

select
    {{ clean_id('campaign_id') }}                     as campaign_id,
    {{ clean_id('customer_id') }}                     as customer_id,
    {{ clean_text('campaign_name') }}                 as campaign_name,
    {{ clean_enum('channel') }}                       as channel,
    cast(sent_at as {{ type_ts() }})                  as sent_at,
    cast(opened_at as {{ type_ts() }})                as opened_at,
    cast(clicked_at as {{ type_ts() }})               as clicked_at,
    coalesce(cast(converted as {{ type_bool() }}), false) as converted,
    cast(_loaded_at as {{ type_ts() }})               as _loaded_at,
    cast(_load_date as date)                          as _load_date,
    cast(_source_file as {{ dbt.type_string() }})     as _source_file
from latest
