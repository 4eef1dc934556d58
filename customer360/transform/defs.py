"""What ``customer360/definitions.py`` merges for the dbt project: the dbt assets (+ their asset checks) and the
``dbt`` resource."""

import dagster as dg

from customer360.settings import Settings, get_settings
from customer360.transform.assets import build_dbt_assets
from customer360.transform.project import dbt_project, dbt_target
from customer360.transform.resource import build_dbt_resource


def transform_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or get_settings()
    project = dbt_project(dbt_target(settings))
    return dg.Definitions(assets=build_dbt_assets(project, settings), resources={"dbt": build_dbt_resource(settings)})
