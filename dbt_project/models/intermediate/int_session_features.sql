{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        post_hook="{{ refresh_as_of_columns({'days_since_last_session': 'last_active_date'}) }}",
    )
}}
-- One row per customer: digital engagement as of as_of_date. A session belongs to the customer who logged in
-- during it (its anonymous pre-login events count toward its duration and depth); fully anonymous sessions are excluded.
-- Incremental merge on customer_id: the customers recomputed are every customer seen in a session that got an event
-- since the last run (an anonymous late event changes its owner's session; a later login can change the owner),
-- new profiles, and, when as_of_date moved, the owners of sessions with events crossing it. days_since_last_session
-- of the others is moved with as_of_date from last_active_date (refresh_as_of_columns).
with
{%- if is_incremental() %}
touched_sessions as (
    select session_id from {{ ref('stg_events') }}
    where _loaded_at >= {{ loaded_at_watermark() }} or {{ crosses_as_of_shift('event_timestamp') }}
),

touched as (
    {{ touched_customers() }}
    union
    select customer_id from {{ ref('stg_events') }}
    where customer_id is not null and session_id in (select session_id from touched_sessions)
),
{%- endif %}

customers as (
    {{ touched_customer_profiles() }}
),

events as (
    select * from {{ ref('stg_events') }}
    where {{ on_or_before_as_of('event_timestamp') }}
    {%- if is_incremental() %}
      and session_id in (
          select session_id from {{ ref('stg_events') }} where customer_id in (select customer_id from touched)
      )
    {%- endif %}
),

sessions as (
    select
        session_id,
        max(customer_id)                                            as customer_id,
        min(event_timestamp)                                        as session_start,
        max(event_timestamp)                                        as session_end,
        sum(case when event_type = 'page_view' then 1 else 0 end)   as page_views,
        max(case when device_type = 'mobile' then 1 else 0 end)     as is_mobile,
        max(_loaded_at)                                             as _loaded_at
    from events
    group by session_id
    having max(customer_id) is not null
),

per_customer as (
    select
        customer_id,
        count(*)                                                               as total_sessions,
        avg({{ dbt.datediff('session_start', 'session_end', 'second') }})      as avg_session_duration_sec,
        avg(cast(page_views as {{ type_double() }}))                           as pages_per_session,
        avg(cast(is_mobile as {{ type_double() }}))                            as mobile_session_ratio,
        max(cast(session_start as date))                                       as last_active_date,
        max(_loaded_at)                                                        as _loaded_at
    from sessions
    group by customer_id
)

select
    customers.customer_id,
    cast(coalesce(per_customer.total_sessions, 0) as {{ type_int() }})                  as total_sessions,
    cast(round(per_customer.avg_session_duration_sec, 0) as {{ type_int() }})           as avg_session_duration_sec,
    cast(per_customer.pages_per_session as {{ type_double() }})                          as pages_per_session,
    cast(coalesce(per_customer.mobile_session_ratio, 0) as {{ type_double() }})          as mobile_session_ratio,
    per_customer.last_active_date,
    cast({{ days_before_as_of('per_customer.last_active_date') }} as {{ type_int() }}) as days_since_last_session,
    {{ as_of_date() }}                                                                   as as_of_date,
    {{ newest_of(['customers._loaded_at', 'per_customer._loaded_at']) }}                 as _loaded_at
from customers
left join per_customer on customers.customer_id = per_customer.customer_id
