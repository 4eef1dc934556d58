{{
    config(
        materialized='incremental',
        unique_key='ticket_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per support ticket (latest version of each ticket_id: status and CSAT change after creation).
with latest as (
    {{ dedup_latest_incremental(source('raw', 'support_tickets'), 'ticket_id') }}
)

select
    {{ clean_id('ticket_id') }}                       as ticket_id,
    {{ clean_id('customer_id') }}                     as customer_id,
    cast(created_at as {{ type_ts() }})               as created_at,
    cast(resolved_at as {{ type_ts() }})              as resolved_at,
    {{ clean_enum('category') }}                      as category,
    {{ clean_enum('priority') }}                      as priority,
    {{ clean_enum('status') }}                        as status,
    cast(satisfaction_score as {{ type_int() }})      as satisfaction_score,
    cast(_loaded_at as {{ type_ts() }})               as _loaded_at,
    cast(_load_date as date)                          as _load_date,
    cast(_source_file as {{ dbt.type_string() }})     as _source_file
from latest
