"""The dbt project: the dbt assets (with their asset checks) and the ``dbt`` resource."""

import dagster as dg

from customer360.settings import get_settings
from customer360.transform.assets import build_dbt_assets
from customer360.transform.project import dbt_project, dbt_target
from customer360.transform.resource import build_dbt_resource


@dg.definitions
def defs() -> dg.Definitions:
    settings = get_settings()
    project = dbt_project(dbt_target(settings))
    return dg.Definitions(assets=build_dbt_assets(project, settings), resources={"dbt": build_dbt_resource(settings)})
