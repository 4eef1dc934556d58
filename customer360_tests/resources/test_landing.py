"""Landing resource: one code path over a local folder and a real S3 API (moto on loopback)."""

import pytest

from customer360.resources import LandingResource
from customer360.resources.landing import parse_landing_key


@pytest.fixture(params=["local", "s3"])
def landing(request, tmp_path):
    if request.param == "local":
        return LandingResource(landing_url=str(tmp_path / "landing"), quarantine_url=str(tmp_path / "q"))
    bucket = request.getfixturevalue("s3_bucket")
    return LandingResource(landing_url=f"s3://{bucket}/landing", quarantine_url=f"s3://{bucket}/quarantine")


def test_list_source_parses_layout_and_ignores_other_objects(landing):
    landing.store.write("orders/load_date=2024-01-02/b.parquet", b"bb")
    landing.store.write("orders/load_date=2024-01-01/a.parquet", b"a")
    landing.store.write("orders/load_date=2024-01-01/notes.txt", b"x")  # not parquet
    landing.store.write("orders/loose.parquet", b"x")  # no day folder
    landing.store.write("orders/load_date=2024-13-01/c.parquet", b"x")  # not a date
    landing.store.write("customers/load_date=2024-01-01/c.parquet", b"x")  # other source
    got = landing.list_source("orders")
    assert [p.key for p, _ in got] == ["orders/load_date=2024-01-01/a.parquet", "orders/load_date=2024-01-02/b.parquet"]
    assert [i.size for _, i in got] == [1, 2]
    assert all(i.etag and i.last_modified.tzinfo is not None for _, i in got)


def test_content_fingerprint_ignores_identical_redelivery(landing):
    key = "events/load_date=2024-01-01/e.parquet"
    landing.store.write(key, b"same bytes")
    fp1 = landing.content_fingerprint([i for _, i in landing.list_source("events")])
    landing.store.write(key, b"same bytes")
    fp2 = landing.content_fingerprint([i for _, i in landing.list_source("events")])
    landing.store.write(key, b"other bytes")
    fp3 = landing.content_fingerprint([i for _, i in landing.list_source("events")])
    assert fp1 == fp2 != fp3


def test_quarantine_is_a_separate_store(landing):
    landing.quarantine.write("orders/load_date=2024-01-01/a.parquet", b"x")
    assert landing.list_source("orders") == []


def test_s3_uses_endpoint_from_env(s3_bucket, moto_endpoint):
    landing = LandingResource(landing_url=f"s3://{s3_bucket}", quarantine_url=f"s3://{s3_bucket}/q")
    assert landing.is_s3
    assert landing.store.client.meta.endpoint_url == moto_endpoint


@pytest.mark.parametrize(
    "key",
    ["../orders/load_date=2024-01-01/a.parquet", "orders/load_date=2024-01-01/../../x.parquet", "/abs/x.parquet",
     "orders/load_date=2024-01-01/a b.parquet", "orders/load_date=2024-01-01;drop/a.parquet"],
)
def test_hostile_keys_are_rejected(key):
    assert parse_landing_key(key) is None


def test_s3_listing_goes_through_dagster_aws_get_objects(s3_bucket, monkeypatch):
    import dagster_aws.s3.sensor as s3_sensor

    calls = []
    real = s3_sensor.get_objects

    def spy(**kwargs):
        calls.append(kwargs["prefix"])
        return real(**kwargs)

    monkeypatch.setattr(s3_sensor, "get_objects", spy)
    landing = LandingResource(landing_url=f"s3://{s3_bucket}/zone", quarantine_url=f"s3://{s3_bucket}/q")
    landing.store.write("orders/load_date=2024-01-01/a.parquet", b"a")
    assert [p.key for p, _ in landing.list_source("orders")] == ["orders/load_date=2024-01-01/a.parquet"]
    assert calls == ["zone/orders/"]


def test_local_store_refuses_a_symlink_out_of_its_root(tmp_path):
    from customer360.storage import InvalidKeyError, LocalStore

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.parquet").write_bytes(b"s")
    store = LocalStore(tmp_path / "landing")
    (tmp_path / "landing" / "orders").mkdir(parents=True)
    (tmp_path / "landing" / "orders" / "load_date=2024-01-01").symlink_to(outside)
    with pytest.raises(InvalidKeyError, match="escapes"):
        store.read("orders/load_date=2024-01-01/secret.parquet")
    store.write("orders/load_date=2024-01-02/a.parquet", b"a")  # an ordinary key still works
    assert store.read("orders/load_date=2024-01-02/a.parquet") == b"a"
