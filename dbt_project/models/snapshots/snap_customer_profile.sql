{{
    config(
        materialized='incremental',
        unique_key='dbt_scd_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
-- SCD Type 2 history of each customer's profile, built from the raw change rows (README "Customer profile
-- history"): raw.customers keeps every profile row the CRM delivered (sign-ups and full-row changes, each with the
-- arrival day _load_date), so the history does not depend on how often dbt ran or how the days were loaded.
-- A customer's rows are reduced to one per arrival day (the day's last row by _loaded_at, _source_file); a new
-- version starts on the first day and on every day whose kyc_status or account_status differs from the day before.
-- dbt_valid_from = that arrival day, dbt_valid_to = the next version's dbt_valid_from (null = current).
-- Incremental merge on dbt_scd_id: the history of the customers with a raw row that arrived since the last run is
-- recomputed from all their rows (new versions inserted, the superseded one gets its dbt_valid_to).
with arrived as (
    {%- if is_incremental() %}
    select distinct {{ clean_id('customer_id') }} as customer_id
    from {{ source('raw', 'customers') }}
    where _loaded_at >= {{ loaded_at_watermark() }}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as customer_id where 1 = 0
    {%- endif %}
),

profile_rows as (
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
        cast(_load_date as date)                                        as _load_date,
        cast(_loaded_at as {{ type_ts() }})                             as _loaded_at,
        cast(_source_file as {{ dbt.type_string() }})                   as _source_file
    from {{ source('raw', 'customers') }}
    where {{ clean_id('customer_id') }} is not null
    {%- if is_incremental() %}
      and {{ clean_id('customer_id') }} in (select customer_id from arrived)
    {%- endif %}
),

daily_profile as (
    select
        *,
        row_number() over (
            partition by customer_id, _load_date
            order by _loaded_at desc, _source_file desc
        ) as _day_rank,
        max(_loaded_at) over (partition by customer_id) as _newest_arrival
    from profile_rows
),

compared as (
    select
        *,
        row_number() over (partition by customer_id order by _load_date) as _day_number,
        lag(kyc_status) over (partition by customer_id order by _load_date) as _previous_kyc_status,
        lag(account_status) over (partition by customer_id order by _load_date) as _previous_account_status
    from daily_profile
    where _day_rank = 1
),

versions as (
    select *, cast(_load_date as {{ type_ts() }}) as valid_from
    from compared
    where _day_number = 1
       or kyc_status is distinct from _previous_kyc_status
       or account_status is distinct from _previous_account_status
)

select
    customer_id,
    first_name,
    last_name,
    email,
    phone,
    signup_date,
    state,
    country,
    kyc_status,
    account_status,
    preferred_language,
    _load_date,
    _source_file,
    _newest_arrival                                                     as _loaded_at,
    {{ dbt.hash(dbt.concat(['customer_id', "'|'", 'cast(_load_date as ' ~ dbt.type_string() ~ ')'])) }} as dbt_scd_id,
    valid_from                                                          as dbt_updated_at,
    valid_from                                                          as dbt_valid_from,
    lead(valid_from) over (partition by customer_id order by valid_from) as dbt_valid_to
from versions
