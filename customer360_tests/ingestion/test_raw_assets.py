"""Raw assets materialized with Dagster's own APIs into a temp DuckDB, from landing zones the real generator
wrote (with one bad file of each defect kind)."""

import io
import json
from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from customer360.catalog import SOURCES
from customer360.ingestion import build_raw_assets
from customer360.ingestion.assets import QUARANTINE_CHECK, UNRECOGNISED_CHECK, parse_run_summary
from customer360.ingestion.ledger import read_ledger
from customer360.ingestion.partitions import days_of_partition
from customer360.ingestion.quarantine import ERROR_SUFFIX, RESOLVED_SUFFIX
from customer360.resources import build_resources
from customer360.settings import Settings
from customer360_tests.ingestion.conftest import GEN_DAYS, GEN_END, PARTITIONS_START

FIRST = GEN_END - timedelta(days=GEN_DAYS - 1)
# the check each generator defect must trip
EXPECTED_CHECK = {
    "corrupt_parquet": "readable",
    "missing_column": "columns",
    "wrong_type": "wrong_type",
    "null_primary_key": "not_nullable",
    "duplicate_primary_key": "unique",
    "unknown_foreign_key": "foreign_key",
    "negative_quantity": "range",
    "future_date": "future_date",
}


def settings_for(root, store: str | None = None) -> Settings:
    """Settings of a test warehouse under ``root``; landing and quarantine under ``store`` (e.g. ``s3://bucket``)
    when given, else under ``root``."""
    base = store or str(root)
    return Settings(
        f"{base}/landing",
        f"{base}/quarantine",
        str(root / "wh.duckdb"),
        "duckdb",
        PARTITIONS_START,
        str(root / "artifacts"),
        None,
    )


def materialize_range(root, instance, sources=None):
    """Load the whole generated window: daily sources in one run, products (weekly) in another."""
    settings = settings_for(root)
    assets = [a for a in build_raw_assets(settings) if sources is None or a.key.path[1] in sources]
    results = []
    for cadence, (start, end) in {"daily": (FIRST, GEN_END), "weekly": (date(2024, 1, 1), date(2024, 1, 8))}.items():
        chosen = [a for a in assets if SOURCES[a.key.path[1]].partition_cadence == cadence]
        if not chosen:
            continue
        tags = {ASSET_PARTITION_RANGE_START_TAG: start.isoformat(), ASSET_PARTITION_RANGE_END_TAG: end.isoformat()}
        results.append(dg.materialize(chosen, resources=build_resources(settings), instance=instance, tags=tags))
    return results


def landing_rows(root, skip: set[str]) -> dict[str, int]:
    """Rows per source in the landing files that are not defective, read independently of the loader."""
    out = {}
    for source in SOURCES:
        files = sorted(
            p
            for p in (root / "landing" / source).rglob("*.parquet")
            if p.relative_to(root / "landing").as_posix() not in skip
        )
        out[source] = sum(pl.read_parquet(p).height for p in files)
    return out


def checks(result, name: str) -> list:
    return [e for e in result.get_asset_check_evaluations() if e.check_name == name]


def raw_counts(wh) -> dict[str, int]:
    return {s: wh.query(f"select count(*) from raw.{s}").item(0, 0) for s in SOURCES}


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def test_range_load_quarantines_every_defect_keeps_every_good_row_and_is_idempotent(workspace, instance):
    bad = json.loads((workspace / "truth" / "bad_files.json").read_text())
    assert {b["defect"] for b in bad} == set(EXPECTED_CHECK)  # the generator wrote every kind
    results = materialize_range(workspace, instance)
    assert all(r.success for r in results)
    wh = build_resources(settings_for(workspace))["warehouse"].build()

    # every good row loaded exactly once, nothing from a bad file
    bad_keys = {b["key"] for b in bad}
    assert raw_counts(wh) == landing_rows(workspace, bad_keys)
    for source, spec in SOURCES.items():
        dupes = wh.query(
            f"select count(*) from (select {spec.primary_key}, _source_file from raw.{source} "
            f"group by 1, 2 having count(*) > 1)"
        ).item(0, 0)
        assert dupes == 0
        assert wh.query(f"select count(*) from raw.{source} where _source_file like '%part-9%'").item(0, 0) == 0

    # each bad file: copied byte for byte, with an error.json naming the right check
    for b in bad:
        qdir = workspace / "quarantine"
        assert (qdir / b["key"]).read_bytes() == (workspace / "landing" / b["key"]).read_bytes()
        err = json.loads((qdir / (b["key"] + ERROR_SUFFIX)).read_text())
        assert EXPECTED_CHECK[b["defect"]] in err["checks"], (b, err["reason"])
        assert err["source"] == b["source"] and err["load_date"] == b["load_date"] and err["reason"]
        if b["defect"] not in ("corrupt_parquet", "missing_column", "wrong_type"):
            assert err["violations"][0]["sample_rows"], b  # row-level defects show the offending rows

    # the asset check fails exactly for the sources with quarantined files, naming them
    evaluations = {e.asset_key.path[1]: e for r in results for e in checks(r, QUARANTINE_CHECK)}
    assert set(evaluations) == set(SOURCES)
    # the generator's landing zone holds nothing outside the layout
    unrecognised = [e for r in results for e in checks(r, UNRECOGNISED_CHECK)]
    assert len(unrecognised) == len(SOURCES) and all(e.passed for e in unrecognised)
    for source, evaluation in evaluations.items():
        expected = sorted(b["key"] for b in bad if b["source"] == source)
        assert evaluation.passed == (not expected)
        listed = evaluation.metadata["quarantined_files"].value
        assert sorted(listed) == expected

    # materialization metadata (of the last partition; every partition's own numbers: test below)
    mats = {e.asset_key.path[1]: e.materialization for r in results for e in r.get_asset_materialization_events()}
    orders = mats["orders"].metadata
    assert orders["files_loaded"].value == 1 and orders["bytes"].value > 0
    assert [c.name for c in orders["dagster/column_schema"].schema.columns][-3:] == [
        "_load_date",
        "_source_file",
        "_loaded_at",
    ]
    assert "| order_id |" in orders["preview"].value
    assert set(read_ledger(build_resources(settings_for(workspace))["landing"], "orders")) == {
        (FIRST + timedelta(days=i)).isoformat() for i in range(GEN_DAYS)
    }

    # loader columns: the arrival day is the folder's day, the file is its landing key
    misplaced = wh.query(
        "select count(*) from raw.events where _source_file not like "
        "'events/load_date=' || strftime(_load_date, '%Y-%m-%d') || '/%'"
    ).item(0, 0)
    assert misplaced == 0

    # re-running the same range: same rows (replaced, not appended), new load time, quarantine not duplicated
    first = raw_counts(wh)
    loaded_at_1 = wh.query("select max(_loaded_at) from raw.transactions").item(0, 0)
    materialize_range(workspace, instance)
    assert raw_counts(wh) == first
    assert wh.query("select max(_loaded_at) from raw.transactions").item(0, 0) > loaded_at_1
    assert len(list((workspace / "quarantine").rglob("*" + ERROR_SUFFIX))) == len(bad)


def test_range_run_records_each_partition_with_its_own_rows_files_and_quarantine(workspace, instance):
    """One single-run backfill per cadence; the instance's event log must hold exactly one materialization per
    partition, each with that partition's own numbers (read back from the warehouse and the landing zone),
    not the run's totals."""
    sources = {"orders", "transactions", "products"}
    results = materialize_range(workspace, instance, sources=sources)
    assert all(r.success for r in results) and len(results) == 2  # daily sources: one run, products: one run
    wh = build_resources(settings_for(workspace))["warehouse"].build()
    bad = json.loads((workspace / "truth" / "bad_files.json").read_text())
    partition_keys = {
        "daily": [(FIRST + timedelta(days=i)).isoformat() for i in range(GEN_DAYS)],
        "weekly": ["2024-01-01", "2024-01-08"],
    }

    for source in sources:
        key = dg.AssetKey(["raw", source])
        expected_keys = partition_keys[SOURCES[source].partition_cadence]
        records = instance.fetch_materializations(key, limit=1000).records
        by_partition: dict[str, list] = {}
        for record in records:
            by_partition.setdefault(record.partition_key, []).append(record.asset_materialization)
        assert sorted(by_partition) == expected_keys, source  # none missing, none unpartitioned
        assert all(len(mats) == 1 for mats in by_partition.values()), source  # exactly one each
        assert instance.get_materialized_partitions(key) == set(expected_keys)  # partition status

        expected_rows = {}
        for pkey in expected_keys:
            days = days_of_partition(source, pkey)
            rows, files = wh.query(
                f"select count(*), count(distinct _source_file) from raw.{source} where _load_date between ? and ?",
                [days[0], days[-1]],
            ).row(0)
            landed = sorted(
                p.relative_to(workspace / "landing").as_posix()
                for d in days
                for p in (workspace / "landing" / source / f"load_date={d}").glob("*.parquet")
            )
            quarantined = sorted(
                b["key"] for b in bad if b["source"] == source and date.fromisoformat(b["load_date"]) in days
            )
            md = by_partition[pkey][0].metadata
            assert md["dagster/row_count"].value == rows, (source, pkey)
            assert md["dagster/partition_row_count"].value == rows, (source, pkey)
            assert md["files_loaded"].value == files == len(landed) - len(quarantined), (source, pkey)
            assert sorted(md["files"].value) == sorted(set(landed) - set(quarantined)), (source, pkey)
            assert md["files_quarantined"].value == len(quarantined), (source, pkey)
            assert sorted(md["quarantined"].value) == quarantined, (source, pkey)
            assert (md["bytes"].value > 0) == (files > 0), (source, pkey)
            assert ("_no rows loaded_" in md["preview"].value) == (rows == 0), (source, pkey)
            expected_rows[pkey] = rows
        # the data can tell a partition's own numbers from a copied run total (or a copied other partition)
        assert sum(expected_rows.values()) not in expected_rows.values(), (source, expected_rows)
        if SOURCES[source].partition_cadence == "daily":
            assert len(set(expected_rows.values())) == len(expected_rows), (source, expected_rows)

        # the run's totals: one line of the run's log
        [result] = [r for r in results if key in {e.asset_key for e in r.get_asset_materialization_events()}]
        summaries = [
            s
            for e in instance.all_logs(result.run_id)
            if (s := parse_run_summary(e.user_message)) and s["source"] == source
        ]
        assert len(summaries) == 1
        total = wh.query(f"select count(*) from raw.{source}").item(0, 0)
        assert summaries[0]["rows"] == sum(expected_rows.values()) == total
        assert summaries[0]["partition_count"] == len(expected_keys)
        # the quarantine check is still evaluated, once per run
        [evaluation] = [
            e for e in result.get_asset_check_evaluations() if e.asset_key == key and e.check_name == QUARANTINE_CHECK
        ]
        assert evaluation.passed == (not any(b["source"] == source for b in bad))


def test_fixed_redelivery_is_loaded_and_broken_redelivery_loses_nothing(workspace, instance):
    settings = settings_for(workspace)
    wh = build_resources(settings)["warehouse"].build()
    materialize_range(workspace, instance, sources={"orders", "customers", "products"})
    bad = json.loads((workspace / "truth" / "bad_files.json").read_text())
    [neg] = [b for b in bad if b["defect"] == "negative_quantity"]
    day = neg["load_date"]
    before = wh.query("select count(*) from raw.orders where _load_date = ?", [date.fromisoformat(day)]).item(0, 0)

    # the source system re-delivers the file, fixed
    path = workspace / "landing" / neg["key"]
    fixed = pl.read_parquet(path).with_columns(pl.col("quantity").abs())
    buf = io.BytesIO()
    fixed.write_parquet(buf)
    path.write_bytes(buf.getvalue())
    orders = [a for a in build_raw_assets(settings) if a.key.path[1] == "orders"]
    result = dg.materialize(orders, resources=build_resources(settings), instance=instance, partition_key=day)
    after = wh.query("select count(*) from raw.orders where _load_date = ?", [date.fromisoformat(day)]).item(0, 0)
    assert after == before + fixed.height
    assert (workspace / "quarantine" / (neg["key"] + RESOLVED_SUFFIX)).exists()
    assert not (workspace / "quarantine" / (neg["key"] + ERROR_SUFFIX)).exists()
    [evaluation] = checks(result, QUARANTINE_CHECK)
    assert evaluation.passed

    # a good file of that day is re-delivered broken: quarantined, and its previously loaded rows stay
    good_key = f"orders/load_date={day}/part-000.parquet"
    good_rows = wh.query("select count(*) from raw.orders where _source_file = ?", [good_key]).item(0, 0)
    assert good_rows > 0
    (workspace / "landing" / good_key).write_bytes(b"PAR1 this is not parquet")
    result = dg.materialize(orders, resources=build_resources(settings), instance=instance, partition_key=day)
    assert wh.query("select count(*) from raw.orders where _source_file = ?", [good_key]).item(0, 0) == good_rows
    assert (
        wh.query("select count(*) from raw.orders where _load_date = ?", [date.fromisoformat(day)]).item(0, 0) == after
    )
    [evaluation] = checks(result, QUARANTINE_CHECK)
    assert not evaluation.passed and good_key in evaluation.metadata["quarantined_files"].value
    assert f"{day}: part-000.parquet" in evaluation.description


def test_load_from_s3_landing(tmp_path, s3_bucket, instance):
    from customer360_tests.ingestion.conftest import generate_landing

    generate_landing(tmp_path, bad_files=0, landing_url=f"s3://{s3_bucket}/landing")
    settings = settings_for(tmp_path, f"s3://{s3_bucket}")
    assets = [a for a in build_raw_assets(settings) if a.key.path[1] in ("customers", "orders")]
    assert all("s3" in a.specs_by_key[a.key].kinds for a in assets)
    result = dg.materialize(
        assets, resources=build_resources(settings), instance=instance, partition_key=GEN_END.isoformat()
    )
    assert result.success
    wh = build_resources(settings)["warehouse"].build()
    counts = wh.query("select count(*), count(distinct _source_file) from raw.orders").row(0)
    assert counts[0] > 0 and counts[1] == 1
    [evaluation] = [e for e in checks(result, QUARANTINE_CHECK) if e.asset_key.path[1] == "orders"]
    assert evaluation.passed


UNICODE_NAME = "part 001 ü.parquet"


def _split_in_two(landing, key: str, new_key: str) -> int:
    """Move the second half of a landing file's rows into a new file; returns the rows moved."""
    frame = pl.read_parquet(io.BytesIO(landing.read(key)))
    half = frame.height // 2
    for k, part in ((key, frame.head(half)), (new_key, frame.slice(half))):
        buf = io.BytesIO()
        part.write_parquet(buf)
        landing.store.write(k, buf.getvalue())
    return frame.height - half


def _assert_unicode_names_and_unrecognised_objects(settings, instance, day: str):
    """A file named with spaces and an umlaut loads; a corrupt one of such a name is quarantined with its reason;
    a bad day folder and an unknown folder make the WARN check name them."""
    resources = build_resources(settings)
    landing = resources["landing"]
    good_key, new_key = f"orders/load_date={day}/part-000.parquet", f"orders/load_date={day}/{UNICODE_NAME}"
    moved = _split_in_two(landing, good_key, new_key)
    broken_key = f"orders/load_date={day}/Überweisung (kaputt).parquet"
    landing.store.write(broken_key, b"PAR1 not parquet")
    landing.store.write("orders/load_date=2026-13-45/late.parquet", b"x")
    landing.store.write("vendors/feed.csv", b"x")
    orders = [a for a in build_raw_assets(settings) if a.key.path[1] == "orders"]
    result = dg.materialize(orders, resources=resources, instance=instance, partition_key=day)
    assert result.success
    wh = resources["warehouse"].build()
    assert wh.query("select count(*) from raw.orders where _source_file = ?", [new_key]).item(0, 0) == moved
    [quarantine] = checks(result, QUARANTINE_CHECK)
    quarantined = quarantine.metadata["quarantined_files"].value
    assert not quarantine.passed and broken_key in quarantined and new_key not in quarantined
    assert "readable" in json.loads(landing.quarantine.read(broken_key + ERROR_SUFFIX))["checks"]
    assert landing.quarantine.read(broken_key) == b"PAR1 not parquet"  # the byte-for-byte copy, same name
    [unrecognised] = checks(result, UNRECOGNISED_CHECK)
    assert not unrecognised.passed and unrecognised.severity == dg.AssetCheckSeverity.WARN
    listed = unrecognised.metadata["unrecognised_objects"].value
    assert set(listed) == {"orders/load_date=2026-13-45/late.parquet", "vendors/feed.csv"}
    assert "not a valid date" in listed["orders/load_date=2026-13-45/late.parquet"]
    assert "unknown source folder 'vendors'" in listed["vendors/feed.csv"]
    assert "orders/load_date=2026-13-45/late.parquet" in unrecognised.description


def test_unicode_file_names_load_and_unrecognised_objects_warn(workspace, instance):
    _assert_unicode_names_and_unrecognised_objects(settings_for(workspace), instance, GEN_END.isoformat())


def test_unicode_file_names_load_and_unrecognised_objects_warn_on_s3(tmp_path, s3_bucket, instance):
    from customer360_tests.ingestion.conftest import generate_landing

    generate_landing(tmp_path, bad_files=0, landing_url=f"s3://{s3_bucket}/landing")
    settings = settings_for(tmp_path, f"s3://{s3_bucket}")
    customers = [a for a in build_raw_assets(settings) if a.key.path[1] == "customers"]
    assert dg.materialize(
        customers, resources=build_resources(settings), instance=instance, partition_key=GEN_END.isoformat()
    ).success  # the ids the orders refer to
    _assert_unicode_names_and_unrecognised_objects(settings, instance, GEN_END.isoformat())
