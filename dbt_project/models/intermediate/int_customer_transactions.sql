{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        post_hook="{{ refresh_as_of_columns() }}",
    )
}}
-- One row per customer: payment behaviour as of as_of_date (amounts in USD).
-- Spend = successful purchases; avg/max amount = purchase attempts of any status (what a fraud rule sees).
-- Incremental merge on customer_id: only the customers with a transaction or profile row that arrived since the
-- last run (or a transaction crossing a moved as_of_date) are re-aggregated, over their whole history.
with
{%- if is_incremental() %}
touched as (
    {{ touched_customers({'stg_transactions': 'transaction_date'}) }}
),
{%- endif %}

customers as (
    {{ touched_customer_profiles() }}
),

transactions as (
    select * from {{ ref('stg_transactions') }}
    where {{ on_or_before_as_of('transaction_date') }}
    {%- if is_incremental() %}
      and customer_id in (select customer_id from touched)
    {%- endif %}
),

per_customer as (
    select
        customer_id,
        count(*)                                                                          as total_transactions,
        sum(case when transaction_type = 'purchase' and status = 'success' then amount_usd else 0 end) as total_spend,
        avg(case when transaction_type = 'purchase' then amount_usd end)                  as avg_transaction_amount,
        max(case when transaction_type = 'purchase' then amount_usd end)                  as max_transaction_amount,
        count(distinct merchant_id)                                                       as distinct_merchants,
        count(distinct payment_method)                                                    as payment_methods_used,
        sum(case when status = 'failed' then 1 else 0 end)                                as failed_transactions,
        max(case when status = 'success' then transaction_date end)                       as last_transaction_date,
        max(_loaded_at)                                                                   as _loaded_at
    from transactions
    group by customer_id
)

select
    customers.customer_id,
    cast(coalesce(per_customer.total_transactions, 0) as {{ type_int() }})   as total_transactions,
    cast(coalesce(per_customer.total_spend, 0) as {{ type_double() }})       as total_spend,
    cast(per_customer.avg_transaction_amount as {{ type_double() }})         as avg_transaction_amount,
    cast(per_customer.max_transaction_amount as {{ type_double() }})         as max_transaction_amount,
    cast(coalesce(per_customer.distinct_merchants, 0) as {{ type_int() }})   as distinct_merchants,
    cast(coalesce(per_customer.payment_methods_used, 0) as {{ type_int() }}) as payment_methods_used,
    cast(coalesce(per_customer.failed_transactions, 0) as {{ type_int() }})  as failed_transactions,
    per_customer.last_transaction_date,
    {{ as_of_date() }}                                                       as as_of_date,
    {{ newest_of(['customers._loaded_at', 'per_customer._loaded_at']) }}     as _loaded_at
from customers
left join per_customer on customers.customer_id = per_customer.customer_id
