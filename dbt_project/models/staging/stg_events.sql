{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per clickstream event (latest version of each event_id). customer_id is null for anonymous sessions.
with latest as (
    {{ dedup_latest_incremental(source('raw', 'events'), 'event_id') }}
)

select
    {{ clean_id('event_id') }}                        as event_id,
    {{ clean_id('customer_id') }}                     as customer_id,
    {{ clean_id('session_id') }}                      as session_id,
    {{ clean_enum('event_type', sep='_') }}           as event_type,
    {{ clean_text('page_url') }}                      as page_url,
    cast(event_timestamp as {{ type_ts() }})          as event_timestamp,
    {{ clean_enum('device_type') }}                   as device_type,
    {{ clean_text('browser', lower=true) }}           as browser,
    cast(_loaded_at as {{ type_ts() }})               as _loaded_at,
    cast(_load_date as date)                          as _load_date,
    cast(_source_file as {{ dbt.type_string() }})     as _source_file
from latest
