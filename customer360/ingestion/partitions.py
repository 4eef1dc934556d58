"""Partitions of the raw assets: the arrival day (``load_date=`` folder) of the landing files.

Daily sources: one partition per UTC day from ``C360_PARTITIONS_START``; products: one per week starting on
Monday (its files land on the Monday of each week). ``end_offset=1`` makes the current day (week) a
partition already, so files that arrive today can be loaded today (near-real-time sources) rather than
tomorrow. Downstream daily-partitioned assets (``fct_transactions``) import :func:`daily_partitions` so both
sides share one definition.
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import dagster as dg

from customer360.catalog import SOURCES, Cadence
from customer360.settings import get_settings


def daily_partitions(start: str | None = None) -> dg.DailyPartitionsDefinition:
    # resolve the setting before the cache: a cached ``None`` would pin whatever the environment said first
    return _daily_partitions(start or get_settings().partitions_start)


def weekly_partitions(start: str | None = None) -> dg.WeeklyPartitionsDefinition:
    return _weekly_partitions(start or get_settings().partitions_start)


@lru_cache(maxsize=8)
def _daily_partitions(start: str) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=start, end_offset=1)


@lru_cache(maxsize=8)
def _weekly_partitions(start: str) -> dg.WeeklyPartitionsDefinition:
    start_day = date.fromisoformat(start)
    monday = start_day - timedelta(days=start_day.weekday())  # the week containing the start day
    return dg.WeeklyPartitionsDefinition(start_date=monday.isoformat(), day_offset=1, end_offset=1)


def partitions_for(source: str, start: str | None = None) -> dg.TimeWindowPartitionsDefinition:
    return weekly_partitions(start) if SOURCES[source].partition_cadence == Cadence.WEEKLY else daily_partitions(start)


def partition_key_for_day(source: str, day: date, start: str | None = None) -> str | None:
    """The partition holding files that arrived on ``day``; ``None`` when ``day`` is outside the partitions."""
    key_day = day - timedelta(days=day.weekday()) if SOURCES[source].partition_cadence == Cadence.WEEKLY else day
    key = key_day.isoformat()
    first, last = _bounds(source, start or get_settings().partitions_start, datetime.now(UTC).date().isoformat())
    if first is None or last is None or not (first <= key <= last):
        return None
    return key


@lru_cache(maxsize=64)
def _bounds(source: str, start: str, _today: str) -> tuple[str | None, str | None]:
    """First and last partition key (cached per day: computing them walks the partition set)."""
    pdef = partitions_for(source, start)
    return pdef.get_first_partition_key(), pdef.get_last_partition_key()


def days_of_window(start: date, end: date) -> list[date]:
    """Every day in ``[start, end)``."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


def days_of_partition(source: str, key: str) -> list[date]:
    first = date.fromisoformat(key)
    length = 7 if SOURCES[source].partition_cadence == Cadence.WEEKLY else 1
    return days_of_window(first, first + timedelta(days=length))
