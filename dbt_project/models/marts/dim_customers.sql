-- Customer dimension: one cleaned row per customer for every fact join, enriched with the top product category.
with customers as (
    select * from {{ ref('stg_customers') }}
),

affinity as (
    select customer_id, top_category from {{ ref('int_product_affinity') }}
)

select
    customers.customer_id,
    {{ dbt.concat(["coalesce(customers.first_name, '')", "' '", "coalesce(customers.last_name, '')"]) }} as full_name,
    customers.email,
    customers.phone,
    customers.signup_date,
    customers.state,
    customers.country,
    customers.kyc_status,
    customers.account_status,
    customers.preferred_language,
    cast(greatest(0, {{ days_before_as_of('customers.signup_date') }}) as {{ type_int() }}) as customer_tenure_days,
    customers.account_status = 'active'                                  as is_active,
    affinity.top_category,
    cast({{ dbt.current_timestamp() }} as {{ type_ts() }})              as dbt_updated_at
from customers
left join affinity on customers.customer_id = affinity.customer_id
