{#- The latest score per customer from an ML output table (source ml.<table>): the ML assets replace their table
    atomically, but a reader must never fan out if two model versions ever coexist. -#}
{% macro latest_ml_scores(table, columns) -%}
    select customer_id, {{ columns | join(', ') }}
    from (
        select
            s.*,
            row_number() over (partition by s.customer_id order by s.scored_at desc, s.model_version desc) as _score_rank
        from {{ source('ml', table) }} as s
        where s.customer_id is not null
    ) as ranked
    where _score_rank = 1
{%- endmacro %}

{#- Min-max normalisation of `expr` over the whole model (window over all rows) into [0, 1]; 0 when every
    row has the same value; null inputs → 0. log=true applies ln(1 + x) first (heavy-tailed counts and money). -#}
{% macro minmax_norm(expr, log=false) -%}
    {%- set x = 'ln(1 + greatest(coalesce(' ~ expr ~ ', 0), 0))' if log else 'coalesce(' ~ expr ~ ', 0)' -%}
    cast(
        case
            when max({{ x }}) over () = min({{ x }}) over () then 0
            else ({{ x }} - min({{ x }}) over ()) / (max({{ x }}) over () - min({{ x }}) over ())
        end
    as {{ type_double() }})
{%- endmacro %}

{#- A boolean as a 0.0/1.0 double (ML feature flags). -#}
{% macro flag_to_double(expr) -%}
    cast(case when {{ expr }} then 1 else 0 end as {{ type_double() }})
{%- endmacro %}

{#- a / b as a double, 0 when b is 0 or null. -#}
{% macro safe_ratio(a, b) -%}
    cast(case when coalesce({{ b }}, 0) = 0 then 0 else cast({{ a }} as {{ type_double() }}) / {{ b }} end as {{ type_double() }})
{%- endmacro %}
