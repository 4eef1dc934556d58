"""The load ledger: which landed content each raw partition was last loaded from.

One small JSON object per source, ``_ingestion_state/<source>.json`` in the quarantine store
(``C360_QUARANTINE_URL``): ``{partition key: content fingerprint}``. The raw asset records every partition it
loads; an arrival sensor that meets a partition missing from its cursor (first start, a cursor reset, days
loaded by a backfill or by ``customer360 demo``) skips it when the ledger already holds the same
fingerprint, instead of loading it again.

It lives outside the Dagster event log on purpose: a 365-day single-run backfill records one materialization
per partition, and a per-partition fingerprint map in that metadata would be copied into every one of them.
Writes are read-modify-write of one small object; two runs of the same source finishing at the same moment
can at worst lose an entry, which costs one redundant (idempotent) reload — never a missed one.
"""

import json

from customer360.catalog import SOURCES
from customer360.resources.landing import LandingResource

LEDGER_PREFIX = "_ingestion_state"


def ledger_key(source: str) -> str:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    return f"{LEDGER_PREFIX}/{source}.json"


def read_ledger(landing: LandingResource, source: str) -> dict[str, str]:
    key = ledger_key(source)
    if not landing.quarantine.exists(key):
        return {}
    try:
        data = json.loads(landing.quarantine.read(key))
    except ValueError:  # a damaged ledger only costs reloads
        return {}
    return {str(k): str(v) for k, v in data.get("partitions", {}).items()}


def record_loads(landing: LandingResource, source: str, fingerprints: dict[str, str]) -> None:
    if not fingerprints:
        return
    ledger = read_ledger(landing, source)
    ledger.update(fingerprints)
    payload = {"source": source, "partitions": dict(sorted(ledger.items()))}
    landing.quarantine.write(ledger_key(source), json.dumps(payload, separators=(",", ":")).encode())
