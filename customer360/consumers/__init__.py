"""The consumers of the Customer 360 (README "Consumers"): who reads every mart, and the three consumers customer360
builds itself.

- ``exposures``: every dbt exposure (dbt_project/models/exposures/_exposures.yml) as an asset ``consumers/<name>``
  downstream of the marts it reads — Sigma and Power BI dashboards as external assets;
- ``compliance_export``: the compliance team's daily high-risk transaction exports (parquet + CSV + manifest);
- ``retention_alerts``: one alert per customer per crossing of the churn threshold, and a daily digest;
- ``scorecard``: the executive KPI scorecard through the MetricFlow semantic layer (HTML + charts);
- ``upstream_checks``: on every consumer's node, the latest results of the blocking/ERROR checks of the marts it
  reads (an asset check per exposure, kept current by a sensor).

The layer's entry point is ``customer360/defs/consumers/definitions.py``; ``customer360/definitions.py`` applies
:func:`with_consumer_checks` to the assembled code location.
"""

import dagster as dg

from customer360.consumers.exposures import exposures
from customer360.consumers.upstream_checks import with_upstream_checks
from customer360.settings import Settings, get_settings
from customer360.transform.project import dbt_project, dbt_target, read_manifest


def with_consumer_checks(defs: dg.Definitions, settings: Settings | None = None) -> dg.Definitions:
    """``defs`` (the code location with the consumers) + the ``upstream_checks`` check of every consumer, which
    follows the checks of the marts it reads (so it is built once every other check exists)."""
    settings = settings or get_settings()
    manifest = read_manifest(dbt_project(dbt_target(settings)))
    return with_upstream_checks(defs, exposures(manifest))
