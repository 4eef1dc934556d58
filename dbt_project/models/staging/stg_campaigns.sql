-- One row per campaign send per customer (latest version of each campaign_id: opens/clicks may arrive later).
with latest as (
    {{ dedup_latest(source('raw', 'campaigns'), 'campaign_id') }}
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
    cast(_loaded_at as {{ type_ts() }})               as _loaded_at
from latest
