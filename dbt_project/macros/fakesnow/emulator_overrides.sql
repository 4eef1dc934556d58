{#-
  ==============================  FAKESNOW EMULATOR ONLY  ==============================
  Dispatch overrides of dbt-snowflake macros for CI's Snowflake emulator (fakesnow, `account: fakesnow`).
  Every macro here checks c360_is_fakesnow() (target.type == 'snowflake' and target.account == 'fakesnow') and
  otherwise calls the dbt-snowflake implementation unchanged: on a real account they are inert.
  Owner: production path (customer360_tests/production/). Nothing outside this folder depends on them.

  Why (see shared STACK_NOTES, "Snowflake emulator"):
    1. fakesnow rejects fully-qualified TEMPORARY tables/views ("TEMPORARY table names can only use the temp
       catalog") → incremental and snapshot temp relations become TRANSIENT tables / plain views.
    2. fakesnow cannot resolve the unqualified `values (col, ...)` list of dbt's MERGE ("Ambiguous reference")
       → the emulator MERGE qualifies them with DBT_INTERNAL_SOURCE (same meaning in Snowflake).
    3. fakesnow fails a MERGE inside BEGIN/COMMIT ("a single transaction can only write to a single attached
       database") → the emulator runs the DML without the explicit transaction (one statement is atomic anyway).
  ======================================================================================
-#}

{% macro c360_is_fakesnow() -%}
  {{ return(target.type == 'snowflake' and target.account == 'fakesnow') }}
{%- endmacro %}


{# 1a. temporary tables → transient tables (emulator only) #}
{% macro snowflake__create_table_as(temporary, relation, compiled_code, language='sql') -%}
  {%- if c360_is_fakesnow() and temporary and language == 'sql' -%}
    {{ dbt.snowflake__create_table_transient_sql(relation, compiled_code) }}
  {%- else -%}
    {{ dbt.snowflake__create_table_as(temporary, relation, compiled_code, language) }}
  {%- endif -%}
{%- endmacro %}


{# 1b. temporary views → views (emulator only) #}
{% macro snowflake__create_view_as_with_temp_flag(relation, sql, is_temporary=False) -%}
  {%- if c360_is_fakesnow() -%}
    {{ dbt.snowflake__create_view_as_with_temp_flag(relation, sql, False) }}
  {%- else -%}
    {{ dbt.snowflake__create_view_as_with_temp_flag(relation, sql, is_temporary) }}
  {%- endif -%}
{%- endmacro %}


{# 2. MERGE with a qualified VALUES list (emulator only); the transaction is handled by 3. #}
{% macro c360_fakesnow_qualify_values(merge_sql, cols) -%}
  {#- rewrite the final `values (a, b)` of a dbt MERGE as `values (DBT_INTERNAL_SOURCE.a, DBT_INTERNAL_SOURCE.b)` -#}
  {%- set qualified = [] -%}
  {%- for col in cols -%}
    {%- do qualified.append("DBT_INTERNAL_SOURCE." ~ col) -%}
  {%- endfor -%}
  {%- set parts = merge_sql.rsplit('values', 1) -%}
  {%- set plain = cols | join(', ') -%}
  {%- if parts | length != 2 or plain not in parts[1] -%}
    {%- do exceptions.raise_compiler_error("fakesnow override: unexpected MERGE shape from dbt-core") -%}
  {%- endif -%}
  {{ return(parts[0] ~ 'values' ~ parts[1].replace(plain, qualified | join(', '), 1)) }}
{%- endmacro %}

{% macro snowflake__get_merge_sql(target, source_sql, unique_key, dest_columns, incremental_predicates=none) -%}
  {%- set dml = dbt.snowflake__get_merge_sql(target, source_sql, unique_key, dest_columns, incremental_predicates) -%}
  {%- if c360_is_fakesnow() and unique_key is not none -%}
    {%- set cols = [] -%}
    {%- for name in dest_columns | map(attribute="name") -%}
      {%- do cols.append(adapter.quote(name)) -%}
    {%- endfor -%}
    {{ return(c360_fakesnow_qualify_values(dml, cols)) }}
  {%- endif -%}
  {{ return(dml) }}
{%- endmacro %}

{% macro snowflake__snapshot_merge_sql(target, source, insert_cols) -%}
  {%- set dml = dbt.snowflake__snapshot_merge_sql(target, source, insert_cols) -%}
  {%- if c360_is_fakesnow() -%}
    {{ return(c360_fakesnow_qualify_values(dml, insert_cols)) }}
  {%- endif -%}
  {{ return(dml) }}
{%- endmacro %}


{# 3. no explicit BEGIN/COMMIT around DML (emulator only); dbt-snowflake wraps snapshot merges, appends and
   delete+insert with it #}
{% macro snowflake_dml_explicit_transaction(dml) -%}
  {%- if c360_is_fakesnow() -%}
    {{ return(dml) }}
  {%- else -%}
    {{ return(dbt.snowflake_dml_explicit_transaction(dml)) }}
  {%- endif -%}
{%- endmacro %}


{# Self-check used by CI (customer360_tests/production): prints what the overridden macros render for this
   target, so a test can prove they are inert when the account is not the emulator. Changes nothing. #}
{% macro c360_emulator_overrides_report() -%}
  {%- set rel = api.Relation.create(database=target.database, schema='staging', identifier='c360_probe') -%}
  {%- set table_sql = snowflake__create_table_as(True, rel, 'select 1 as x') | lower -%}
  {%- set view_sql = snowflake__create_view_as_with_temp_flag(rel, 'select 1 as x', True) | lower -%}
  {%- set dml = snowflake_dml_explicit_transaction('delete from x') | lower -%}
  {%- do print('C360_OVERRIDES fakesnow=' ~ c360_is_fakesnow()
        ~ ' temporary_table=' ~ ('temporary table' in table_sql)
        ~ ' temporary_view=' ~ ('temporary' in view_sql)
        ~ ' explicit_transaction=' ~ ('begin;' in dml)) -%}
{%- endmacro %}
