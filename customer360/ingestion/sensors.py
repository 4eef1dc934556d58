"""Snowpipe-style arrival sensors: one per source, watching ``<landing>/<source>/``.

Every tick (at most every 30 s) the sensor lists the source's landing prefix (S3: ``get_objects``; a local
folder: the same-shaped listing through the landing resource), groups the parquet files by partition
(arrival day; products: Monday week) and compares each partition with its cursor entry:

* cursor: JSON ``{"v": 1, "partitions": {key: {"l": listing fingerprint, "c": content fingerprint}}}``.
  Fingerprints cover *every* file of the partition (key + size + ETag, or content hash), so files that land
  between ticks or share a timestamp can never be missed, and the order of arrival does not matter;
* same listing as before → nothing to do (no file read);
* changed listing but the same content (a re-delivered identical file; on a local folder the mtime changes)
  → cursor updated, no run;
* new content → the partition is pending: :func:`evaluate_arrivals` returns one request per pending partition
  (``run_key="<source>:<partition>:<content fingerprint>"``, what ``customer360 update`` plans from), and the sensor
  batches them with :func:`batch_arrival_requests`: every run of consecutive pending partitions is ONE range run
  (``dagster/asset_partition_range_start``/``_end`` tags; the raw assets have ``BackfillPolicy.single_run()`` and
  still record one materialization per partition), so a burst or a backlog of days costs one run per source, not
  one per day. Its run key is ``"<source>:<first>..<last>:<fingerprint of the days' run keys>"`` (a single day
  keeps the day's own key), so Dagster launches at most one run per distinct set of files even with a lost
  cursor; a genuinely new file for a day that is already loaded changes the fingerprint and reloads the day.
  Pending days with a loaded day between them are two ranges: an unchanged day is never reloaded;
* a partition not yet in the cursor that the load ledger (:mod:`~customer360.ingestion.ledger`) shows as
  loaded from the same content (by a backfill or by ``customer360 demo`` before the sensor ran) → recorded,
  no run.

Load runs carry ``dagster/priority`` :data:`ARRIVAL_RUN_PRIORITY` (:mod:`customer360.run_priorities`):
below a user's run (a manual materialization or a backfill, priority 0), above the automation's rebuilds, so
with one warehouse writer a user's run is never starved by queued loads, and a rebuild that waited in the queue
sees every day that landed meanwhile.

A tick takes at most :data:`MAX_PARTITIONS_PER_TICK` pending partitions (oldest first: a year of days, one range
run); the rest follow on the next ticks. Files outside the partition range (before
``C360_PARTITIONS_START`` or after today) are logged and left alone. A partition whose files all disappear
is dropped from the cursor without a run (deletion is not an arrival).

Landing objects that match no layout (:class:`~customer360.resources.landing.UnrecognisedObject`: a bad day
folder such as ``load_date=2026-13-45``, an unknown source folder, a non-parquet file, a nested folder, an
unsafe name; objects outside every source folder are reported by every source's sensor) are never loaded and
never silent: the tick logs a warning naming each key and its reason whenever that set changes (its
fingerprint is kept in the cursor as ``"u"``), every skipped tick's reason counts them, and the raw asset's
``no_unrecognised_landing_objects`` check (WARN) lists them.

The sensors are on by default (``DefaultSensorStatus.RUNNING``): arrival-driven loading is the design's
Snowpipe behaviour, and nothing runs unless files arrive. They only run under ``dagster-daemon``
(``dagster dev`` starts one).
"""

import hashlib
import json
from collections import defaultdict
from datetime import date, timedelta

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from customer360.catalog import SOURCES
from customer360.ingestion.assets import RAW_ASSET_CHECKS, UNRECOGNISED_CHECK, raw_asset_key
from customer360.ingestion.ledger import read_ledger
from customer360.ingestion.partitions import days_of_partition, partition_key_for_day
from customer360.resources.landing import LandingResource, UnrecognisedObject, fingerprint, listing_fingerprint
from customer360.run_priorities import ARRIVAL_RUN_PRIORITY, PRIORITY_TAG
from customer360.settings import Settings, get_settings
from customer360.storage import ObjectInfo

MINIMUM_INTERVAL_SECONDS = 30
MAX_PARTITIONS_PER_TICK = 370  # pending partitions taken per tick (a year of days: one range run per source)
TRIGGER_TAG, ARRIVAL_TRIGGER = "customer360/trigger", "arrival"  # on every load run (automation waits for them)
FILES_TAG, PARTITIONS_TAG = "customer360/files", "customer360/partitions"
CURSOR_VERSION = 1
MAX_LOGGED_OBJECTS = 50  # unrecognised landing objects named in one tick's warning


def sensor_name(source: str) -> str:
    return f"raw_{source}_arrivals"


def load_cursor(raw: str | None) -> dict[str, dict[str, str]]:
    if not raw:
        return {}
    data = json.loads(raw)
    if data.get("v") != CURSOR_VERSION:
        return {}
    return dict(data.get("partitions", {}))


def dump_cursor(partitions: dict[str, dict[str, str]], unrecognised: str | None = None) -> str:
    data: dict = {"v": CURSOR_VERSION, "partitions": dict(sorted(partitions.items()))}
    if unrecognised:
        data["u"] = unrecognised
    return json.dumps(data, separators=(",", ":"))


def _unrecognised_marker(raw: str | None) -> str | None:
    """The fingerprint of the unrecognised objects last reported (``None``: none, or a cursor without it)."""
    if not raw:
        return None
    data = json.loads(raw)
    return data.get("u") if data.get("v") == CURSOR_VERSION else None


def unrecognised_fingerprint(objects: list[UnrecognisedObject]) -> str | None:
    """``"<count>:<fingerprint of keys + reasons>"``, or ``None`` when there are none."""
    return f"{len(objects)}:{fingerprint((o.key, 0, o.reason) for o in objects)}" if objects else None


def describe_unrecognised(source: str, objects: list[UnrecognisedObject], limit: int = MAX_LOGGED_OBJECTS) -> str:
    lines = [f"  {o.key}: {o.reason}" for o in objects[:limit]]
    if len(objects) > limit:
        lines.append(f"  … {len(objects) - limit} more")
    return (
        f"{source}: {len(objects)} landing object(s) match no <source>/load_date=YYYY-MM-DD/<file>.parquet layout "
        "and are not loaded:\n" + "\n".join(lines)
    )


def evaluate_arrivals(
    source: str,
    landing: LandingResource,
    cursor: str | None,
    partitions_start: str | None = None,
    log=None,
    max_requests: int | None = MAX_PARTITIONS_PER_TICK,
) -> tuple[list[dg.RunRequest], str]:
    """The pending partitions of one sensor evaluation: (one request per pending partition, new cursor). Pure
    apart from the listing, reads and the warning about unrecognised landing objects (logged when their set
    changes). The sensor launches them batched (:func:`batch_arrival_requests`).

    ``max_requests``: pending partitions taken (``None``: every one; ``customer360 update`` catches up in one go)."""
    seen = load_cursor(cursor)
    by_partition: dict[str, list[ObjectInfo]] = defaultdict(list)
    outside: set[str] = set()
    landed, unrecognised = landing.scan_source(source)
    unrecognised = sorted([*unrecognised, *landing.outside_sources()], key=lambda o: o.key)
    marker = unrecognised_fingerprint(unrecognised)
    if unrecognised and marker != _unrecognised_marker(cursor) and log is not None:
        log.warning(describe_unrecognised(source, unrecognised))
    for parsed, info in landed:
        pkey = partition_key_for_day(source, parsed.load_date, partitions_start)
        if pkey is None:
            outside.add(parsed.load_date.isoformat())
            continue
        by_partition[pkey].append(info)
    if outside and log is not None:
        log.warning(f"{source}: files for days outside the partitions ignored: {sorted(outside)[:10]}")

    requests: list[dg.RunRequest] = []
    ledger: dict[str, str] | None = None  # read only when a partition is missing from the cursor
    new_seen = {k: v for k, v in seen.items() if k in by_partition}  # vanished partitions drop out
    for pkey in sorted(by_partition):
        infos = by_partition[pkey]
        listing = listing_fingerprint(infos)
        before = seen.get(pkey)
        if before is not None and before.get("l") == listing:
            continue
        if max_requests is not None and len(requests) >= max_requests:
            continue  # not recorded: picked up by the next tick
        content = landing.content_fingerprint(infos)
        if before is not None and before.get("c") == content:
            new_seen[pkey] = {"l": listing, "c": content}
            continue
        if before is None and ledger is None:
            ledger = read_ledger(landing, source)
        if before is None and ledger is not None and ledger.get(pkey) == content:
            new_seen[pkey] = {"l": listing, "c": content}
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"{source}:{pkey}:{content}",
                partition_key=pkey,
                tags=_load_tags(len(infos), 1),
            )
        )
        new_seen[pkey] = {"l": listing, "c": content}
    return requests, dump_cursor(new_seen, marker)


def _load_tags(files: int, partitions: int) -> dict[str, str]:
    return {
        TRIGGER_TAG: ARRIVAL_TRIGGER,
        FILES_TAG: str(files),
        PARTITIONS_TAG: str(partitions),
        # below a user's run, above the rebuilds (QueuedRunCoordinator dequeues higher priority first)
        PRIORITY_TAG: str(ARRIVAL_RUN_PRIORITY),
    }


def _next_partition(source: str, key: str) -> str:
    return (date.fromisoformat(key) + timedelta(days=len(days_of_partition(source, key)))).isoformat()


def batch_arrival_requests(source: str, requests: list[dg.RunRequest]) -> list[dg.RunRequest]:
    """The per-partition requests of :func:`evaluate_arrivals` as few runs as the partitions allow: one range run
    per stretch of consecutive partitions (a single partition stays a plain partition run with its own key)."""
    by_key = {r.partition_key: r for r in requests if r.partition_key}
    stretches: list[list[dg.RunRequest]] = []
    for key in sorted(by_key):
        if stretches and _next_partition(source, stretches[-1][-1].partition_key) == key:
            stretches[-1].append(by_key[key])
        else:
            stretches.append([by_key[key]])
    return [stretch[0] if len(stretch) == 1 else _range_request(source, stretch) for stretch in stretches]


def _range_request(source: str, days: list[dg.RunRequest]) -> dg.RunRequest:
    first, last = days[0].partition_key, days[-1].partition_key
    digest = hashlib.sha256("\n".join(r.run_key or "" for r in days).encode()).hexdigest()[:24]
    files = sum(int(r.tags.get(FILES_TAG, "0")) for r in days)
    return dg.RunRequest(
        run_key=f"{source}:{first}..{last}:{digest}",
        tags={
            **_load_tags(files, len(days)),
            ASSET_PARTITION_RANGE_START_TAG: first,
            ASSET_PARTITION_RANGE_END_TAG: last,
        },
    )


def build_arrival_sensor(source: str, settings: Settings | None = None) -> dg.SensorDefinition:
    settings = settings or get_settings()
    start = settings.partitions_start

    @dg.sensor(
        name=sensor_name(source),
        description=f"Requests a raw/{source} load when files land in {source}/load_date=*/ (new or changed files "
        "of a day; identical re-deliveries are ignored): the pending days of a tick in one range run.",
        # the load and its own checks; the hourly dbt source freshness check has its own schedule
        target=dg.AssetSelection.assets(raw_asset_key(source)).without_checks()
        | dg.AssetSelection.checks(*(dg.AssetCheckKey(raw_asset_key(source), c) for c in RAW_ASSET_CHECKS)),
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingResource):
        pending, cursor = evaluate_arrivals(source, landing, context.cursor, start, context.log)
        requests = batch_arrival_requests(source, pending)
        if not requests:
            reason = f"no new {source} files"
            marker = _unrecognised_marker(cursor)
            if marker:
                reason += (
                    f"; {marker.split(':', 1)[0]} landing object(s) match no layout and are not loaded (keys and "
                    f"reasons: the tick log where they appeared, and the {UNRECOGNISED_CHECK} check of raw/{source} "
                    "from its next load)"
                )
            return dg.SensorResult(skip_reason=reason, cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _sensor


def build_arrival_sensors(settings: Settings | None = None) -> list[dg.SensorDefinition]:
    return [build_arrival_sensor(s, settings) for s in SOURCES]
