"""Quarantine: a landing file that fails to parse or validate is kept, with its reason, and not loaded.

For a rejected landing key ``<source>/load_date=D/<file>.parquet`` the quarantine store
(``C360_QUARANTINE_URL``) receives, under the same relative key:

* ``<file>.parquet`` — a byte-for-byte copy of the rejected file (nothing is lost, it can be inspected, fixed
  and re-delivered to the landing zone);
* ``<file>.parquet.error.json`` — the reason: source, landing location, arrival day, time of quarantine, and
  every violation found (check, column, message, number of failing rows, a few sample rows).

An ``.error.json`` marks an *open* quarantine. When a later load of that day no longer rejects the key (the
file was fixed and re-delivered, or removed), the record is closed: ``.error.json`` becomes
``.resolved.json`` with the time of resolution, so the history stays while the asset check turns green.
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from customer360.resources.landing import LandingResource, parse_landing_key
from customer360.storage import validate_key

if TYPE_CHECKING:  # the contracts import pandera: paid by a load, not by the code location
    from customer360.ingestion.contracts import Violation

ERROR_SUFFIX = ".error.json"
RESOLVED_SUFFIX = ".resolved.json"


@dataclass(frozen=True)
class QuarantineRecord:
    key: str  # landing key of the rejected file
    source: str
    load_date: date
    reason: str  # one-line summary
    checks: tuple[str, ...]
    quarantined_at: str

    @property
    def file_name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


def quarantine_file(
    landing: LandingResource,
    key: str,
    data: bytes | None,
    violations: "list[Violation]",
    now: datetime | None = None,
) -> QuarantineRecord:
    """Copy the rejected file (when its bytes could be read) and write its ``.error.json``."""
    parsed = parse_landing_key(validate_key(key))
    if parsed is None:
        raise ValueError(f"not a landing key: {key!r}")
    now = now or datetime.now(UTC)
    reason = "; ".join(v.message for v in violations)
    checks = tuple(dict.fromkeys(v.check for v in violations))
    if data is not None:
        landing.quarantine.write(key, data)
    payload: dict[str, Any] = {
        "source": parsed.source,
        "landing_key": key,
        "landing_location": landing.describe(key),
        "quarantine_location": landing.quarantine.describe(key) if data is not None else None,
        "load_date": parsed.load_date.isoformat(),
        "quarantined_at": now.isoformat(),
        "reason": reason,
        "checks": list(checks),
        "violations": [v.as_dict() for v in violations],
    }
    landing.quarantine.write(key + ERROR_SUFFIX, json.dumps(payload, indent=2, default=str).encode())
    return QuarantineRecord(key, parsed.source, parsed.load_date, reason, checks, payload["quarantined_at"])


def open_records(landing: LandingResource, source: str, days: set[date] | None = None) -> list[QuarantineRecord]:
    """Open quarantine records of ``source`` (optionally only for the arrival ``days``)."""
    out = []
    for info in landing.quarantine.list(source):
        if not info.key.endswith(ERROR_SUFFIX):
            continue
        key = info.key[: -len(ERROR_SUFFIX)]
        parsed = parse_landing_key(key)
        if parsed is None or parsed.source != source or (days is not None and parsed.load_date not in days):
            continue
        payload = json.loads(landing.quarantine.read(info.key))
        out.append(
            QuarantineRecord(
                key,
                source,
                parsed.load_date,
                str(payload.get("reason", "")),
                tuple(payload.get("checks", ())),
                str(payload.get("quarantined_at", "")),
            )
        )
    return sorted(out, key=lambda r: r.key)


def resolve(landing: LandingResource, key: str, note: str, now: datetime | None = None) -> None:
    """Close the open record of ``key``: ``.error.json`` → ``.resolved.json`` (with the time and a note)."""
    error_key = validate_key(key) + ERROR_SUFFIX
    payload = json.loads(landing.quarantine.read(error_key))
    payload["resolved_at"] = (now or datetime.now(UTC)).isoformat()
    payload["resolution"] = note
    landing.quarantine.write(key + RESOLVED_SUFFIX, json.dumps(payload, indent=2, default=str).encode())
    landing.quarantine.delete(error_key)
