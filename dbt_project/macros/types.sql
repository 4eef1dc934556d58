{#- Portable type names. DuckDB FLOAT is 32-bit while Snowflake FLOAT is 64-bit: always cast money/ratios to DOUBLE. -#}
{% macro type_double() %}double{% endmacro %}
{% macro type_int() %}integer{% endmacro %}
{% macro type_bool() %}boolean{% endmacro %}
{% macro type_ts() %}timestamp{% endmacro %}

{#- Hour of day (0–23) of a UTC timestamp: standard EXTRACT (DuckDB and Snowflake); dispatchable for other engines. -#}
{% macro hour_of_day(col) -%}
    {{ return(adapter.dispatch('hour_of_day', 'customer360')(col)) }}
{%- endmacro %}
{% macro default__hour_of_day(col) -%}
    extract(hour from {{ col }})
{%- endmacro %}
