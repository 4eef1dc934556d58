{{
    config(
        materialized='incremental',
        unique_key='campaign_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- One row per campaign send. revenue_attributed: every completed order is credited to the customer's most recent
-- converted send whose send day is at most attribution_window_days (7) before the order day (last touch, so an
-- order is never counted twice); sends that did not convert attribute nothing.
-- Incremental merge on campaign_id: every send of the customers with a send version (opens, clicks, conversions
-- arrive days after the send) or an order version (fct_orders._loaded_at) that arrived since the last run is
-- recomputed — a newer converted send can take over an order from an older send of the same customer.
with
{%- if is_incremental() %}
touched as (
    select customer_id from {{ ref('stg_campaigns') }} where _loaded_at >= {{ loaded_at_watermark() }}
    union
    select customer_id from {{ ref('fct_orders') }} where _loaded_at >= {{ loaded_at_watermark() }}
),
{%- endif %}

sends as (
    select * from {{ ref('stg_campaigns') }}
    {%- if is_incremental() %}
    where customer_id in (select customer_id from touched)
    {%- endif %}
),

converted_sends as (
    select campaign_id, customer_id, sent_at, cast(sent_at as date) as sent_day
    from sends
    where converted
),

orders as (
    select order_id, customer_id, order_date, total_amount, _loaded_at
    from {{ ref('fct_orders') }}
    where order_status = 'completed'
    {%- if is_incremental() %}
      and customer_id in (select customer_id from touched)
    {%- endif %}
),

touches as (
    select
        orders.order_id,
        orders.total_amount,
        orders._loaded_at,
        converted_sends.campaign_id,
        row_number() over (
            partition by orders.order_id
            order by converted_sends.sent_at desc, converted_sends.campaign_id desc
        ) as touch_rank
    from orders
    inner join converted_sends
        on orders.customer_id = converted_sends.customer_id
       and orders.order_date >= converted_sends.sent_day
       and orders.order_date <= {{ dbt.dateadd('day', var('attribution_window_days'), 'converted_sends.sent_day') }}
),

attributed as (
    select campaign_id, sum(total_amount) as revenue_attributed, max(_loaded_at) as _loaded_at
    from touches
    where touch_rank = 1
    group by campaign_id
)

select
    sends.campaign_id,
    sends.customer_id,
    sends.campaign_name,
    sends.channel,
    sends.sent_at,
    sends.opened_at is not null                                                   as opened,
    sends.clicked_at is not null                                                  as clicked,
    sends.converted,
    cast(coalesce(attributed.revenue_attributed, 0) as {{ type_double() }})       as revenue_attributed,
    {{ newest_of(['sends._loaded_at', 'attributed._loaded_at']) }}                as _loaded_at
from sends
left join attributed on sends.campaign_id = attributed.campaign_id
