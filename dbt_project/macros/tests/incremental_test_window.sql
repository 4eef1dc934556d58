{#- Data tests that scale with the day (README "Incremental design"). Every data test gets
    `where: "__incremental_test_window__"` (dbt_project.yml, where only vars could be rendered), resolved here. On an incremental model the
    window is the rows that arrived in the newest loads — `_loaded_at` within loaded_at_lookback_hours of the newest
    `_loaded_at` the model holds, i.e. what the last incremental run merged — so a daily build tests the day, not
    the history; on other models and with `--vars '{full_tests: true}'` (the weekly full suite) it is every row.
    Tests that compare whole tables (equal_rowcount) always see every row. -#}

{#- The test window of the running test as a SQL condition: the newest arrivals of an incremental model (its
    `_loaded_at` at or after loaded_at_watermark), every row (1 = 1) for other models, whole-table tests and when
    var full_tests is true. -#}
{% macro incremental_test_window(relation) -%}
    {%- set full = run_var('full_tests') | string | lower in ['true', '1', 'yes'] -%}
    {%- if full or not execute or tested_incremental_model() is none -%}
    1 = 1
    {%- else -%}
    _loaded_at >= {{ loaded_at_watermark(relation) }}
    {%- endif -%}
{%- endmacro %}

{#- What dbt_project.yml puts in the `where` of every data test; replaced by incremental_test_window(). -#}
{% macro incremental_test_window_marker() -%}
    __incremental_test_window__
{%- endmacro %}

{% macro whole_table_tests() -%}
    {{ return(['equal_rowcount']) }}
{%- endmacro %}

{#- The tested model of the running test, when it is an incremental model; none otherwise. -#}
{% macro tested_incremental_model() -%}
    {%- set attached = model.get('attached_node') if model is mapping else none -%}
    {%- set test_name = (model.get('test_metadata') or {}).get('name') if model is mapping else none -%}
    {%- if not attached or test_name in whole_table_tests() or attached not in graph.nodes -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes[attached] -%}
    {{ return(node if node.config.materialized == 'incremental' else none) }}
{%- endmacro %}

{#- dbt's where-subquery of a test, with the incremental window resolved against the tested relation. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set marker = incremental_test_window_marker() | trim -%}
    {%- if where and marker in where -%}
        {%- set where = where | replace(marker, incremental_test_window(relation) | trim) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
