{#- Staging helpers: one definition of "clean" for every source. -#}

{#- Latest version of each primary key: the raw tables keep re-sends and late rows; the winner is the newest
    (_load_date, _loaded_at, _source_file). -#}
{% macro dedup_latest(relation, key) -%}
    select *
    from (
        select
            src.*,
            row_number() over (
                partition by src.{{ key }}
                order by src._load_date desc, src._loaded_at desc, src._source_file desc
            ) as _version_rank
        from {{ relation }} as src
        where src.{{ key }} is not null
    ) as ranked
    where _version_rank = 1
{%- endmacro %}

{#- Identifier columns: trimmed, empty string → null. -#}
{% macro clean_id(col) -%}
    nullif(trim(cast({{ col }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- Free text: trimmed, empty → null (lower=true also lowercases, e.g. names and emails). -#}
{% macro clean_text(col, lower=false) -%}
    {%- if lower -%}
    nullif(lower(trim(cast({{ col }} as {{ dbt.type_string() }}))), '')
    {%- else -%}
    nullif(trim(cast({{ col }} as {{ dbt.type_string() }})), '')
    {%- endif -%}
{%- endmacro %}

{#- Enumerations: lowercased, trimmed, and the word separator standardised to `sep` ("in_store", "In Store"
    → "in-store"; "page-view" → "page_view"). -#}
{% macro clean_enum(col, sep='-') -%}
    {%- set other = '_' if sep == '-' else '-' -%}
    nullif(replace(replace(lower(trim(cast({{ col }} as {{ dbt.type_string() }}))), '{{ other }}', '{{ sep }}'), ' ', '{{ sep }}'), '')
{%- endmacro %}

{#- ISO codes (country, state, currency): upper-cased, trimmed. -#}
{% macro clean_code(col) -%}
    nullif(upper(trim(cast({{ col }} as {{ dbt.type_string() }}))), '')
{%- endmacro %}
