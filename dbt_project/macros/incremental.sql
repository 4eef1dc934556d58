{#- Incremental design (README "Incremental design"): every incremental model keeps `_loaded_at` = the newest arrival
    (raw `_loaded_at`) among the rows it was computed from. An incremental run reprocesses what arrived since the
    newest `_loaded_at` the model already holds, minus `loaded_at_lookback_hours` (loads that commit out of order).
    Change detection is by arrival, never by event date: late rows, re-sends and status changes of old facts arrive
    with a new `_loaded_at`. -#}

{#- The arrival watermark of `relation` (default: this model) as a scalar SQL subquery: rows that arrived at or
    after it are new to the model. An empty model has seen nothing (1900-01-01). -#}
{% macro loaded_at_watermark(relation=none) -%}
    {%- set relation = relation if relation is not none else this -%}
    {%- set lookback = loaded_at_lookback_hours() -%}
    (select coalesce(
        {%- if lookback > 0 %}
        {{ dbt.dateadd('hour', -1 * lookback, 'max(_loaded_at)') }},
        {%- else %}
        {#- nothing re-read: the first row after the newest one merged (a millisecond later; loads are seconds apart) #}
        {{ dbt.dateadd('millisecond', 1, 'max(_loaded_at)') }},
        {%- endif %}
        cast('1900-01-01 00:00:00' as {{ type_ts() }}))
     from {{ relation }})
{%- endmacro %}

{#- Hours of arrivals re-read before the newest one merged, for loads that commit out of the order of their
    `_loaded_at` stamps. DuckDB (default 0): one writer — every load and every dbt run holds the `warehouse` pool's
    single slot, so a load stamped earlier has committed before the next dbt run starts, and nothing is re-read.
    Snowflake (default 3): the pool may allow parallel loads, so a load stamped before the newest merged row may
    commit after the run that merged it. The var `loaded_at_lookback_hours` overrides both. -#}
{% macro loaded_at_lookback_hours() -%}
    {%- set configured = var('loaded_at_lookback_hours', none) -%}
    {%- if configured is none -%}
        {{ return(0 if target.type == 'duckdb' else 3) }}
    {%- endif -%}
    {{ return(configured | int) }}
{%- endmacro %}

{#- Row version `a` is newer than `b` by the dedup order of dedup_latest: (_load_date, _loaded_at, _source_file). -#}
{% macro version_is_newer(a, b) -%}
    ({{ a }}._load_date > {{ b }}._load_date
     or ({{ a }}._load_date = {{ b }}._load_date
         and ({{ a }}._loaded_at > {{ b }}._loaded_at
              or ({{ a }}._loaded_at = {{ b }}._loaded_at and {{ a }}._source_file > {{ b }}._source_file))))
{%- endmacro %}

{#- Staging dedup of an incremental staging model (merged on `key`). Full refresh: dedup_latest over all of raw.
    Incremental: only the raw rows that arrived since the watermark are ranked; the newest of them replaces the
    stored version of its key only when it is newer by (_load_date, _loaded_at, _source_file) — the same winner
    dedup_latest picks over the whole history. The stored table therefore needs `_load_date` and `_source_file`. -#}
{% macro dedup_latest_incremental(relation, key) -%}
    {%- if is_incremental() -%}
    select arrived.*
    from (
        select
            src.*,
            row_number() over (
                partition by src.{{ key }}
                order by src._load_date desc, src._loaded_at desc, src._source_file desc
            ) as _version_rank
        from {{ relation }} as src
        where src.{{ key }} is not null
          and src._loaded_at >= {{ loaded_at_watermark() }}
    ) as arrived
    left join {{ this }} as stored
        on stored.{{ key }} = {{ clean_id('arrived.' ~ key) }}
    where arrived._version_rank = 1
      and (stored.{{ key }} is null or {{ version_is_newer('arrived', 'stored') }})
    {%- else -%}
    {{ dedup_latest(relation, key) }}
    {%- endif -%}
{%- endmacro %}

{#- The as_of_date the model was last built for (every row carries it; refresh_as_of_columns keeps them equal). -#}
{% macro stored_as_of_date() -%}
    (select max(as_of_date) from {{ this }})
{%- endmacro %}

{#- Facts whose date `col` moves across the as_of_date boundary (shifted back `offset_days`) between the stored
    as_of_date and this run's: (least(old, new) − offset, greatest(old, new) − offset]. Empty when as_of_date is
    unchanged. A customer-level model recomputes the customers of these facts (their point-in-time filter changed). -#}
{% macro crosses_as_of_shift(col, offset_days=0) -%}
    (cast({{ col }} as date) > {{ dbt.dateadd('day', -1 * offset_days, 'least(' ~ stored_as_of_date() ~ ', ' ~ as_of_date() ~ ')') }}
     and cast({{ col }} as date) <= {{ dbt.dateadd('day', -1 * offset_days, 'greatest(' ~ stored_as_of_date() ~ ', ' ~ as_of_date() ~ ')') }})
{%- endmacro %}

{#- post_hook of the customer-level incrementals: the rows not recomputed by the merge get this run's as_of_date and
    their as_of-relative columns recomputed from stored dates (`columns` = {column: date column}), e.g.
    days_since_last_order from last_order_date: a per-customer UPDATE, no fact is re-read. Touches no row when
    as_of_date is unchanged. -#}
{% macro refresh_as_of_columns(columns={}) -%}
    {%- if is_incremental() -%}
    update {{ this }} set
        {%- for column, date_column in columns.items() %}
        {{ column }} = cast({{ days_before_as_of(date_column) }} as {{ type_int() }}),
        {%- endfor %}
        as_of_date = {{ as_of_date() }}
    where as_of_date <> {{ as_of_date() }}
    {%- else -%}
    select 1 as as_of_columns_computed_by_the_build
    {%- endif -%}
{%- endmacro %}

{#- The newest of some `_loaded_at` expressions, nulls ignored (DuckDB's greatest ignores nulls, Snowflake's
    returns null: coalesce each to the first non-null). -#}
{% macro newest_of(columns) -%}
    {%- set guarded = [] -%}
    {%- for col in columns -%}
        {%- do guarded.append('coalesce(' ~ col ~ ', ' ~ columns | join(', ') ~ ')') -%}
    {%- endfor -%}
    cast(greatest({{ guarded | join(', ') }}) as {{ type_ts() }})
{%- endmacro %}

{#- The customers touched by the new arrivals, for the `touched` CTE of a customer-level incremental: those whose
    profile (stg_customers) arrived since the watermark and, for each fact model of `facts` ({model: date column}),
    those with a fact that arrived since the watermark or whose date crosses a moved as_of_date. A model unions its
    own further reasons (a changed category, a session's owner) after it. -#}
{% macro touched_customers(facts={}) -%}
    select customer_id from {{ ref('stg_customers') }} where _loaded_at >= {{ loaded_at_watermark() }}
    {%- for model, date_column in facts.items() %}
    union
    select customer_id from {{ ref(model) }}
    where _loaded_at >= {{ loaded_at_watermark() }} or {{ crosses_as_of_shift(date_column) }}
    {%- endfor %}
{%- endmacro %}

{#- The profiles a customer-level incremental computes rows for: every customer (customer_id, _loaded_at) of
    stg_customers on a full build, only those of the `touched` CTE on an incremental run. -#}
{% macro touched_customer_profiles() -%}
    select customer_id, _loaded_at from {{ ref('stg_customers') }}
    {%- if is_incremental() %}
    where customer_id in (select customer_id from touched)
    {%- endif %}
{%- endmacro %}
