"""Where the daily partitions start when ``C360_PARTITIONS_START`` is not set: the start recorded with the data.

``customer360 demo`` generates a window of days that ends yesterday; partitions that start years before it would
show as missing in the UI (92 % of them for a 90-day demo on a 2024-01-01 start). So the demo records the first
arrival day of the data it generates (or finds, with ``--skip-generate``) in the ingestion state beside the load
ledger — ``_ingestion_state/partitions.json`` in ``C360_QUARANTINE_URL`` — and every process that reads the
settings afterwards (the demo's own runs, ``dagster dev``, the daemon, a run worker) builds the same partitions
from it. Order: ``C360_PARTITIONS_START`` when set (production sets it), else the recorded start, else
:data:`DEFAULT_PARTITIONS_START`.

No Dagster import here: :mod:`customer360.settings` reads it once per settings object.
"""

import json
import logging
from datetime import UTC, date, datetime

from customer360.storage import open_store

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS_START = "2024-01-01"
RECORD_KEY = "_ingestion_state/partitions.json"


def parse_day(value: str, what: str) -> str:
    """``value`` if it is a YYYY-MM-DD date, else a ValueError naming ``what``."""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"{what} must be a YYYY-MM-DD date, not {value!r}") from None


def recorded_start(quarantine_url: str) -> str | None:
    """The recorded first partition day, or None (nothing recorded, or the store cannot be read: logged)."""
    try:
        store = open_store(quarantine_url)
        if not store.exists(RECORD_KEY):
            return None
        return parse_day(str(json.loads(store.read(RECORD_KEY))["start"]), f"'start' in {RECORD_KEY}")
    except Exception as exc:  # an unreadable record must not stop the code location from loading
        log.warning(
            "partitions start record in %s unreadable (%s): using %s", quarantine_url, exc, DEFAULT_PARTITIONS_START
        )
        return None


def record_start(quarantine_url: str, start: date, recorded_by: str) -> None:
    payload = {"start": start.isoformat(), "recorded_by": recorded_by, "recorded_at": datetime.now(UTC).isoformat()}
    open_store(quarantine_url).write(RECORD_KEY, json.dumps(payload, indent=1).encode())
