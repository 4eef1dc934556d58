"""Every consumer the design documents name is a dbt exposure and an asset downstream of the marts it reads."""

import json

import dagster as dg

from customer360.consumers.exposures import CONSUMER_GROUP, exposure_specs, exposures
from customer360.transform.project import dbt_project

# The "Consumed By" lists of the design documents (shared/seeds), mart by mart, and the consumers of column KPIs.
DESIGN_CONSUMERS = {
    "sigma_customer_profile_views": ({"marts/dim_customers"}, "sigma"),
    "compliance_dashboard": ({"marts/dim_customers"}, "dashboard"),
    "sigma_revenue_by_channel": ({"marts/fct_orders"}, "sigma"),
    "powerbi_product_performance": ({"marts/fct_orders"}, "powerbi"),
    "powerbi_fraud_monitoring": ({"marts/fct_transactions"}, "powerbi"),
    "sigma_transaction_explorer": ({"marts/fct_transactions"}, "sigma"),
    "compliance_high_risk_transaction_exports": ({"marts/fct_transactions"}, "export"),
    "sigma_campaign_performance": ({"marts/fct_campaigns"}, "sigma"),
    "marketing_channel_roi_reporting": ({"marts/fct_campaigns"}, "analysis"),
    "powerbi_conversion_funnel": ({"marts/fct_campaigns"}, "powerbi"),
    "sigma_retention_and_segmentation": ({"marts/fct_customer_value", "marts/dim_customers"}, "sigma"),
    "powerbi_churn_and_ltv": ({"marts/fct_customer_value"}, "powerbi"),
    "retention_alerts": ({"marts/fct_customer_value"}, "alerts"),
    "executive_kpi_scorecard": (
        {
            "marts/fct_customer_value",
            "marts/fct_orders",
            "marts/dim_customers",
            "marts/fct_transactions",
            "marts/fct_campaigns",
            "staging/stg_support_tickets",
        },
        "scorecard",
    ),
}
BUILT_HERE = {"compliance_high_risk_transaction_exports", "retention_alerts", "executive_kpi_scorecard"}


def _manifest() -> dict:
    return json.loads(dbt_project("local").manifest_path.read_text())


def test_every_design_consumer_is_an_exposure_on_its_marts():
    found = {e.name: e for e in exposures(_manifest())}
    assert set(found) == set(DESIGN_CONSUMERS)
    for name, (marts, tool) in DESIGN_CONSUMERS.items():
        exposure = found[name]
        assert {k.to_user_string() for k in exposure.deps} == marts, name
        assert exposure.tool == tool and exposure.description and exposure.owner.startswith("team:")
        assert (exposure.built_by == "customer360") == (name in BUILT_HERE), name


def test_external_consumers_are_assets_downstream_of_the_marts():
    manifest = _manifest()
    specs = {s.key.path[1]: s for s in exposure_specs(manifest)}
    assert set(specs) == set(DESIGN_CONSUMERS) - BUILT_HERE  # the built ones are real assets of their own
    sigma = specs["sigma_revenue_by_channel"]
    assert (
        sigma.group_name == CONSUMER_GROUP and "sigma" in sigma.kinds and sigma.owners == ["team:analytics-engineering"]
    )
    assert {d.asset_key for d in sigma.deps} == {dg.AssetKey(["marts", "fct_orders"])}
    assert "powerbi" in specs["powerbi_fraud_monitoring"].kinds


def test_code_location_lists_the_readers_of_each_mart():
    from customer360.definitions import defs

    graph = defs.resolve_asset_graph()
    readers = {
        c.path[1]
        for c in graph.get(dg.AssetKey(["marts", "fct_transactions"])).child_keys
        if c.path[0] == CONSUMER_GROUP
    }
    assert readers == {
        "powerbi_fraud_monitoring",
        "sigma_transaction_explorer",
        "compliance_high_risk_transaction_exports",
        "executive_kpi_scorecard",
    }
    for name in BUILT_HERE:
        assert graph.get(dg.AssetKey([CONSUMER_GROUP, name])).is_materializable, name
    for name in set(DESIGN_CONSUMERS) - BUILT_HERE:
        assert not graph.get(dg.AssetKey([CONSUMER_GROUP, name])).is_materializable, name
