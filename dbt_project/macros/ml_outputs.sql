{#- on-run-start: create the four ML output tables (schema ml) empty when they do not exist yet, so every model
    that reads source('ml', ...) builds before the ML assets have run. Never touches existing tables.
    Columns = the contract the ML assets write (README "ML output tables"). -#}
{% macro ml_output_table_columns() %}
    {{ return({
        'customer_segments': [
            ('customer_id', dbt.type_string()), ('segment_id', type_int()), ('customer_segment', dbt.type_string()),
            ('model_version', dbt.type_string()), ('scored_at', type_ts())],
        'customer_risk_scores': [
            ('customer_id', dbt.type_string()), ('anomaly_score', type_double()), ('risk_tier', dbt.type_string()),
            ('top_signals', dbt.type_string()), ('model_version', dbt.type_string()), ('scored_at', type_ts())],
        'churn_predictions': [
            ('customer_id', dbt.type_string()), ('churn_probability', type_double()),
            ('model_version', dbt.type_string()), ('scored_at', type_ts())],
        'ltv_predictions': [
            ('customer_id', dbt.type_string()), ('predicted_ltv', type_double()),
            ('model_version', dbt.type_string()), ('scored_at', type_ts())],
    }) }}
{% endmacro %}

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
