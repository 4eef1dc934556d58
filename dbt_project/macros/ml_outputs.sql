{#- on-run-start: create the four ML output tables (schema ml) empty when they do not exist yet, so every model
    that reads source('ml', ...) builds before the ML assets have run. Never touches existing tables.
    Columns: ml_output_table_columns() (ml_output_columns.sql, generated from customer360/ml/contracts.py). -#}
{% macro create_ml_output_tables() %}
    {%- if execute -%}
        {%- set schema_relation = api.Relation.create(database=target.database, schema='ml') -%}
        {%- do adapter.create_schema(schema_relation) -%}
        {%- for table, columns in ml_output_table_columns().items() -%}
            {%- set relation = api.Relation.create(database=target.database, schema='ml', identifier=table, type='table') -%}
            {%- set cols = [] -%}
            {%- for name, dtype in columns -%}{%- do cols.append(name ~ ' ' ~ dtype) -%}{%- endfor -%}
            {%- do run_query('create table if not exists ' ~ relation ~ ' (' ~ cols | join(', ') ~ ')') -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as ml_output_tables_ready
{% endmacro %}
