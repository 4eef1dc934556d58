{#- RFM scoring (README "Customer value"). All three are unit-tested in models/marts/_unit_tests.yml. -#}

{#- Quintile score 1–5 of `expr` over the rows of the query: score = 1 + floor(5 × (rank − 1) / n), where rank()
    orders ascending (descending=true for recency: fewer days since the last order = higher score). This is
    ntile(5) that keeps ties together (equal values always share a score; ntile would split them arbitrarily). -#}
{% macro rfm_score(expr, descending=false) -%}
    cast(1 + floor(
        5.0 * (rank() over (order by {{ expr }} {{ 'desc' if descending else 'asc' }}) - 1)
        / count(*) over ()
    ) as {{ type_int() }})
{%- endmacro %}

{#- Segment label from the scores, evaluated top-down (first match wins). -#}
{% macro rfm_segment(r, f, m) -%}
    case
        when {{ r }} is null then 'No Purchases'
        when {{ r }} >= 4 and {{ f }} >= 4 and {{ m }} >= 4 then 'Champions'
        when {{ r }} >= 3 and {{ f }} >= 4 then 'Loyal'
        when {{ r }} >= 4 and {{ f }} = 1 then 'New'
        when {{ r }} >= 4 then 'Potential Loyalist'
        when {{ r }} = 3 then 'Need Attention'
        when {{ f }} >= 3 then 'At Risk'
        when {{ r }} = 2 then 'Hibernating'
        else 'Lost'
    end
{%- endmacro %}

{% macro rfm_segments() %}
    {{ return(['Champions', 'Loyal', 'New', 'Potential Loyalist', 'Need Attention', 'At Risk', 'Hibernating', 'Lost', 'No Purchases']) }}
{% endmacro %}

{#- composite_score in [0, 1]: 0.5 × RFM + 0.25 × LTV percentile + 0.25 × (1 − churn_probability), where
    RFM = (R + F + M − 3) / 12 (0 for customers without purchases). A missing ML component (not scored yet) drops
    out and the remaining weights are renormalised, so before ML has run the score is the RFM component alone. -#}
{% macro composite_score(r, f, m, ltv_pct, churn) -%}
    cast(
        (
            0.5 * coalesce(({{ r }} + {{ f }} + {{ m }} - 3) / 12.0, 0)
            + case when {{ ltv_pct }} is not null then 0.25 * {{ ltv_pct }} else 0 end
            + case when {{ churn }} is not null then 0.25 * (1 - {{ churn }}) else 0 end
        ) / (
            0.5
            + case when {{ ltv_pct }} is not null then 0.25 else 0 end
            + case when {{ churn }} is not null then 0.25 else 0 end
        )
    as {{ type_double() }})
{%- endmacro %}
