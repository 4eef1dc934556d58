{#- Portable type names. DuckDB FLOAT is 32-bit while Snowflake FLOAT is 64-bit: always cast money/ratios to DOUBLE. -#}
{% macro type_double() %}double{% endmacro %}
{% macro type_int() %}integer{% endmacro %}
{% macro type_bool() %}boolean{% endmacro %}
{% macro type_ts() %}timestamp{% endmacro %}
