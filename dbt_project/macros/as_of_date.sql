{#- The reference "today" (var as_of_date, YYYY-MM-DD) as a SQL date literal. Default: the current UTC date,
    fixed once per invocation so every model of a run agrees. Validated so a bad value fails loudly. -#}
{% macro as_of_date() -%}
    {%- set raw = run_var('as_of_date') -%}
    {%- if raw is none or (raw | string | trim) == '' -%}
        {%- set value = modules.datetime.datetime.utcnow().strftime('%Y-%m-%d') -%}
    {%- else -%}
        {%- set value = raw | string | trim -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be YYYY-MM-DD, got " ~ value) }}
        {%- endif -%}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- A YYYY-MM-DD var (min_date / max_date) as a date literal, or none when unset. -#}
{% macro date_var(name) -%}
    {%- set raw = run_var(name) -%}
    {%- if raw is none or (raw | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set value = raw | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value[:10]) -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    {{ return("cast('" ~ value[:10] ~ "' as date)") }}
{%- endmacro %}

{#- Point-in-time filter of the customer-level layer: activity on or before as_of_date. -#}
{% macro on_or_before_as_of(col) -%}
    cast({{ col }} as date) <= {{ as_of_date() }}
{%- endmacro %}

{#- Whole days from `col` (a date/timestamp) to as_of_date. -#}
{% macro days_before_as_of(col) -%}
    {{ dbt.datediff('cast(' ~ col ~ ' as date)', as_of_date(), 'day') }}
{%- endmacro %}

{#- Rows old enough that their late-arriving parents must have landed: `col` more than `days` (2) before
    as_of_date. Used as the `where` of FK tests whose parent may arrive a day after the child (payment → order). -#}
{% macro settled_before_as_of(col, days=2) -%}
    cast({{ col }} as date) < {{ dbt.dateadd('day', -1 * days, as_of_date()) }}
{%- endmacro %}
