{#- Project generic tests (no hub packages can be installed). Each returns the failing rows. -#}

{#- Values in [min_value, max_value] (either bound optional; nulls pass — pair with not_null where needed). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    select {{ column_name }} as failing_value
    from {{ model }}
    where {{ column_name }} is not null
      and (
        {%- if min_value is not none %} {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}{% endif %}
        {%- if min_value is not none and max_value is not none %} or{% endif %}
        {%- if max_value is not none %} {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}{% endif %}
        {%- if min_value is none and max_value is none %} 1 = 0{% endif %}
      )
{% endtest %}

{#- A boolean SQL expression that must hold on every row (optionally only where `where_clause`). -#}
{% test expression_is_true(model, expression, where_clause=none) %}
    select *
    from {{ model }}
    where not ({{ expression }})
    {%- if where_clause %} and ({{ where_clause }}){% endif %}
{% endtest %}

{#- The model has exactly one row per row of `compare_model` (e.g. one row per stg_customers customer). -#}
{% test equal_rowcount(model, compare_model) %}
    with a as (select count(*) as n from {{ model }}),
         b as (select count(*) as n from {{ compare_model }})
    select a.n as model_rows, b.n as compare_rows
    from a cross join b
    where a.n <> b.n
{% endtest %}

{#- The combination of columns is unique. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    select {{ combination_of_columns | join(', ') }}, count(*) as n
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{#- relationships for a child whose parent may land later (late-arriving rows): only child rows whose
    `time_column` is more than `settle_days` before as_of_date must resolve to a parent row. -#}
{% test relationships_settled(model, column_name, to, field, time_column, settle_days=2) %}
    select child.{{ column_name }} as missing_key
    from (select * from {{ model }}) as child  {#- the model may come as a where-subquery with its own alias #}
    left join {{ to }} as parent on child.{{ column_name }} = parent.{{ field }}
    where child.{{ column_name }} is not null
      and parent.{{ field }} is null
      and {{ settled_before_as_of('child.' ~ time_column, settle_days) }}
{% endtest %}
