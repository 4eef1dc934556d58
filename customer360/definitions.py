"""The customer360 code location: assembles one ``Definitions`` named ``defs`` (nothing else happens here)."""

import dagster as dg

from customer360.automation import with_automation
from customer360.code_references import with_code_references
from customer360.consumers import consumers_definitions, with_consumer_checks
from customer360.ingestion import ingestion_definitions
from customer360.ml.assets import ml_definitions
from customer360.resources import build_resources
from customer360.settings import get_settings
from customer360.transform.defs import transform_definitions

settings = get_settings()

defs = dg.Definitions.merge(
    dg.Definitions(resources=build_resources(settings), executor=dg.in_process_executor),
    ingestion_definitions(settings),
    transform_definitions(settings),
    ml_definitions(settings),
    consumers_definitions(settings),
)
defs = with_code_references(defs, settings)  # "View code" on every asset, linked to the repository when known
defs = with_automation(defs)  # orchestration + SLA freshness policies and automation conditions on every asset
defs = with_consumer_checks(defs, settings)  # each consumer's node shows the failing checks of the marts it reads
