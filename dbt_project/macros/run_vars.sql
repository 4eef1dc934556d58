{#- Run-varying values (as_of_date, min_date / max_date, full_tests) without losing partial parsing.

    dbt re-parses the whole project when the `--vars` of a run differ from those of the parse that made
    target/partial_parse.msgpack ("config vars, config profile, or config target have changed"), and every daily run
    has other values. Dagster therefore passes them as JSON in the environment variable C360_DBT_RUN_VARS
    (customer360/transform/assets.py), read here only while executing: at parse time (`execute` false) the variable
    is not read, so dbt records no dependency on it and a changed value re-parses nothing. A `--vars` value given on
    the command line wins, then C360_DBT_RUN_VARS, then the default in dbt_project.yml (null for these four). -#}
{% macro run_var(name) -%}
    {%- set given = var(name, none) -%}
    {%- if given is not none -%}  {#- the project defaults are null: this was given (--vars, a unit test's overrides;
                                     '' = explicitly no value) #}
        {{ return(given) }}
    {%- endif -%}
    {%- if execute -%}
        {%- set raw = env_var('C360_DBT_RUN_VARS', '') | trim -%}
        {%- if raw -%}
            {%- set values = fromjson(raw) -%}
            {%- if values is not mapping -%}
                {{ exceptions.raise_compiler_error("C360_DBT_RUN_VARS must be a JSON object, got " ~ raw) }}
            {%- endif -%}
            {%- if values.get(name) is not none -%}
                {{ return(values[name]) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(given) }}
{%- endmacro %}
