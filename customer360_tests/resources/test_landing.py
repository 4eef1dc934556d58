"""Landing resource: one code path over a local folder and a real S3 API (moto on loopback)."""

import pytest

from customer360.resources import LandingResource
from customer360.resources.landing import UnrecognisedObject, inspect_landing_key, parse_landing_key
from customer360.storage import InvalidKeyError


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
    [
        "../orders/load_date=2024-01-01/a.parquet",
        "orders/load_date=2024-01-01/../../x.parquet",
        "/abs/x.parquet",
        "orders/load_date=2024-01-01;drop/a.parquet",
        "orders//load_date=2024-01-01/a.parquet",
        "orders/load_date=2024-01-01/a'b.parquet",
        "orders/load_date=2024-01-01/a\\..\\b.parquet",
        "orders/load_date=2024-01-01/a\x00.parquet",
        "orders/load_date=2024-01-01/a\nb.parquet",
        "orders/load_date=2024-01-01/x\u202egp.parquet",  # right-to-left override: shows as "xpg.parquet"
        "orders/load_date=2024-01-01/a\uff0f..\uff0fb.parquet",  # full-width solidus, a look-alike slash
        "orders/load_date=2024-01-01/ a.parquet",
        "orders/load_date=2024-01-01/*.parquet",
        "orders/load_date=\uff12\uff10\uff12\uff14-01-01/a.parquet",
    ],  # full-width digits
)
def test_hostile_keys_are_rejected(key):
    assert parse_landing_key(key) is None
    assert isinstance(inspect_landing_key(key), UnrecognisedObject)


@pytest.mark.parametrize(
    "name", ["part 001 ü.parquet", "Überweisungen (2), März.parquet", "顧客+1.parquet", "part 001 u\u0308.parquet"]
)  # the last: ü decomposed (u + combining diaeresis)
def test_file_names_with_spaces_and_letters_of_any_script_are_landing_files(name):
    parsed = parse_landing_key(f"orders/load_date=2024-01-01/{name}")
    assert parsed is not None and parsed.file_name == name and parsed.source == "orders"


def test_unicode_and_space_names_list_read_and_quarantine(landing):
    key = "orders/load_date=2024-01-01/part 001 ü.parquet"
    landing.store.write(key, b"bytes of a file")
    [(parsed, info)] = landing.list_source("orders")
    assert parsed.key == key and info.size == len(b"bytes of a file")
    assert landing.read(key) == b"bytes of a file"
    landing.quarantine.write(key, b"bytes of a file")
    landing.quarantine.write(key + ".error.json", b"{}")
    assert {i.key for i in landing.quarantine.list("orders")} == {key, key + ".error.json"}
    assert landing.quarantine.read(key) == b"bytes of a file"
    assert landing.quarantine.describe(key).endswith(key)
    assert landing.unrecognised_objects("orders") == []


UNRECOGNISED = {
    "orders/load_date=2026-13-45/a.parquet": "not a valid date",
    "orders/load_date=2024-01-01/notes.txt": "not a .parquet file",
    "orders/loose.parquet": "not in a load_date=YYYY-MM-DD day folder",
    "orders/2024-01-01/a.parquet": "is not a load_date=YYYY-MM-DD day folder",
    "orders/load_date=2024-01-01/sub/a.parquet": "nested folder 'sub'",
    "orders/load_date=2024-01-01/a'b.parquet": "unsafe key",
    "vendors/load_date=2024-01-01/v.parquet": "unknown source folder 'vendors'",
    "README.txt": "file at the landing root",
}


def test_every_object_outside_the_layout_is_reported_with_its_reason(landing):
    landing.store.write("orders/load_date=2024-01-01/good.parquet", b"g")
    for key in UNRECOGNISED:
        _put_raw(landing, key, b"x")
    got = {o.key: o.reason for o in landing.unrecognised_objects("orders")}
    assert set(got) == set(UNRECOGNISED)
    for key, words in UNRECOGNISED.items():
        assert words in got[key], (key, got[key])
    assert [p.key for p, _ in landing.list_source("orders")] == ["orders/load_date=2024-01-01/good.parquet"]
    # objects outside every source folder could belong to any source: every source reports them
    assert {o.key for o in landing.unrecognised_objects("customers")} == {
        "vendors/load_date=2024-01-01/v.parquet",
        "README.txt",
    }


def _put_raw(landing, key: str, data: bytes) -> None:
    """Write an object under a key the store itself would refuse (as a foreign exporter would)."""
    if landing.is_s3:
        store = landing.store
        store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}", Body=data)
    else:
        path = landing.store.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_s3_traversal_keys_are_reported_and_never_read(s3_bucket):
    landing = LandingResource(landing_url=f"s3://{s3_bucket}/landing", quarantine_url=f"s3://{s3_bucket}/q")
    store = landing.store
    store.client.put_object(
        Bucket=s3_bucket, Key="landing/orders/load_date=2024-01-01/../../../secret.parquet", Body=b"s"
    )
    assert landing.list_source("orders") == []
    [obj] = landing.unrecognised_objects("orders")
    assert obj.key == "orders/load_date=2024-01-01/../../../secret.parquet" and "unsafe key" in obj.reason
    with pytest.raises(InvalidKeyError):
        landing.read(obj.key)


def test_symbolic_links_are_reported_and_never_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.parquet").write_bytes(b"s")
    landing = LandingResource(landing_url=str(tmp_path / "landing"), quarantine_url=str(tmp_path / "q"))
    landing.store.write("orders/load_date=2024-01-02/a.parquet", b"a")
    day = tmp_path / "landing" / "orders" / "load_date=2024-01-02"
    (day / "linked.parquet").symlink_to(outside / "secret.parquet")  # a file link out of the root
    (tmp_path / "landing" / "orders" / "load_date=2024-01-03").symlink_to(outside)  # a folder link out of the root
    (tmp_path / "landing" / "customers").symlink_to(outside)  # a whole source folder linked away
    assert [p.key for p, _ in landing.list_source("orders")] == ["orders/load_date=2024-01-02/a.parquet"]
    got = {o.key: o.reason for o in landing.unrecognised_objects("orders")}
    assert "outside the landing root" in got["orders/load_date=2024-01-02/linked.parquet"]
    assert "symbolic link to a folder" in got["orders/load_date=2024-01-03"]
    assert "symbolic link to a folder" in got["customers"]
    assert not any("secret" in key for key in got)  # nothing behind a folder link is even listed
    assert landing.list_source("customers") == []


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
