{#- Schemas are exactly the configured names (staging, intermediate, marts, ml, snapshots), never
    "<target schema>_<custom>": the warehouse layout is a shared convention (README "Warehouse schemas"). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
