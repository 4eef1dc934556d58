"""The consumers (README "Consumers"): every dbt exposure as an asset, the compliance export, the retention alerts
and the executive scorecard. Their ``upstream_checks`` are added to the assembled code location by
:func:`customer360.consumers.with_consumer_checks`."""

import dagster as dg

from customer360.consumers.compliance_export import build_compliance_export_asset
from customer360.consumers.exposures import exposure_specs
from customer360.consumers.retention_alerts import build_retention_alerts_asset
from customer360.consumers.scorecard import build_scorecard_asset
from customer360.ingestion.partitions import daily_partitions
from customer360.settings import get_settings
from customer360.transform.project import dbt_project, dbt_target, read_manifest


@dg.definitions
def defs() -> dg.Definitions:
    settings = get_settings()
    manifest = read_manifest(dbt_project(dbt_target(settings)))
    return dg.Definitions(
        assets=[
            *exposure_specs(manifest),
            build_compliance_export_asset(manifest, settings.exports_url, daily_partitions(settings.partitions_start)),
            build_retention_alerts_asset(manifest),
            build_scorecard_asset(manifest, settings),
        ],
    )
