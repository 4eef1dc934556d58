{#- persist_docs on the Snowflake emulator (fakesnow, CI only; inert on a real account — same test as
    macros/fakesnow/: c360_is_fakesnow()). dbt-snowflake writes all column comments in one
    `alter table … alter "A" comment $$…$$, "B" comment $$…$$` that fakesnow cannot parse, and fakesnow copies a
    table comment unescaped into its catalog (an apostrophe breaks the statement). On the emulator: one
    `alter table … alter column … comment '…'` per column, run here; table comments with apostrophes doubled. -#}

{% macro snowflake__alter_column_comment(relation, column_dict) -%}
  {%- if not c360_is_fakesnow() -%}
    {{ return(dbt.snowflake__alter_column_comment(relation, column_dict)) }}
  {%- endif -%}
  {%- set existing_columns = adapter.get_columns_in_relation(relation) | map(attribute="name") | list -%}
  {%- for column_name in existing_columns -%}
    {%- set column = column_dict.get(column_name | lower) or column_dict.get(column_name) -%}
    {%- if column and column.get('description') -%}
      {%- do run_query("alter table " ~ relation.render() ~ " alter column " ~ adapter.quote(column_name)
                       ~ " comment '" ~ (column['description'] | replace("'", "''")) ~ "'") -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return('') }}
{%- endmacro %}

{% macro snowflake__alter_relation_comment(relation, relation_comment) -%}
  {%- if c360_is_fakesnow() -%}
    {{ return(dbt.snowflake__alter_relation_comment(relation, relation_comment | replace("'", "''"))) }}
  {%- endif -%}
  {{ return(dbt.snowflake__alter_relation_comment(relation, relation_comment)) }}
{%- endmacro %}
