"""Whole runs: volumes scale linearly, same arguments give the same bytes, --append-day continues a landing
zone consistently, S3 landing zones work, the CLI refuses what it must."""

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from customer360.catalog import SOURCES
from data_generation import GenerateConfig, append_day, generate

from .conftest import connect


def _run(root: Path, **kw) -> object:
    args = dict(scale=0.003, days=14, end_date=date(2024, 3, 10), seed=11, progress=False)
    args.update(kw)
    return generate(GenerateConfig(landing=str(root / "landing"), truth=str(root / "truth"), **args))


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_volumes_follow_the_design_and_scale_linearly(tmp_path):
    small = _run(tmp_path / "a", scale=0.004, days=21)
    big = _run(tmp_path / "b", scale=0.008, days=21)
    for name, spec in SOURCES.items():
        s, b = small.sources[name].entities, big.sources[name].entities
        if name == "products":
            assert 200 <= s < 230 and 200 <= b < 230  # a floor of 200 products (plus a few launches)
            continue
        assert abs(b / s - 2.0) < 0.2, (name, s, b)
        assert abs(b / (spec.design_rows * 0.008) - 1) < 0.2, (name, b)
        assert big.sources[name].rows >= b * 0.95 and big.sources[name].bytes > 0


def test_same_arguments_give_byte_identical_files(tmp_path):
    _run(tmp_path / "a", bad_files=3)
    _run(tmp_path / "b", bad_files=3)
    a, b = _digests(tmp_path / "a" / "landing"), _digests(tmp_path / "b" / "landing")
    assert a and a == b
    assert _digests(tmp_path / "a" / "truth") == _digests(tmp_path / "b" / "truth")
    _run(tmp_path / "c", seed=12)
    c = _digests(tmp_path / "c" / "landing")
    assert set(c) <= set(a) and any(c[k] != a[k] for k in c)


def test_an_existing_landing_zone_is_not_overwritten_by_accident(tmp_path):
    _run(tmp_path)
    with pytest.raises(FileExistsError):
        _run(tmp_path)
    _run(tmp_path, overwrite=True, days=7)
    days = {p.name for p in (tmp_path / "landing" / "orders").iterdir()}
    assert len(days) == 7


def test_append_day_continues_the_landing_zone(tmp_path):
    _run(tmp_path)  # ends Sunday 2024-03-10
    landing, truth = tmp_path / "landing", tmp_path / "truth"
    before = _digests(landing)
    state_before = json.loads((truth / "_state" / "state.json").read_text())
    pending = pq.read_table(truth / "_state" / "pending" / "support_tickets.parquet").num_rows
    s1 = append_day(str(landing), str(truth), progress=False)
    s2 = append_day(str(landing), str(truth), progress=False)
    assert (s1.end_date, s2.end_date) == ("2024-03-11", "2024-03-12")
    after = _digests(landing)
    assert all(after[k] == v for k, v in before.items())  # earlier files untouched
    new = set(after) - set(before)
    for source in SOURCES:
        if source != "products":
            assert any(k.startswith(f"{source}/load_date=2024-03-11/") for k in new), source
            assert any(k.startswith(f"{source}/load_date=2024-03-12/") for k in new), source
    assert any(k.startswith("products/load_date=2024-03-11/") for k in new)  # Monday: a new catalogue
    assert not any(k.startswith("products/load_date=2024-03-12/") for k in new)
    state = json.loads((truth / "_state" / "state.json").read_text())
    assert (
        state["end"] == "2024-03-12"
        and state["seed"] == state_before["seed"]
        and state["appended"] == ["2024-03-11", "2024-03-12"]
    )

    con = connect(landing, truth)
    q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    for source in ("orders", "transactions", "campaigns", "support_tickets"):
        assert q(f"select count(*) from {source} where customer_id not in (select customer_id from customers)") == 0, (
            source
        )
    assert (
        q(
            "select count(*) from events where customer_id is not null and customer_id not in (select customer_id from customers)"
        )
        == 0
    )
    assert q("select count(*) from orders where product_id not in (select product_id from products)") == 0
    assert (
        q(
            "select count(*) from transactions where order_id is not null and order_id not in (select order_id from orders)"
        )
        == 0
    )
    # new entities have new ids: no order/transaction/event/ticket of the new days reuses an older id
    for source, pk, t in (
        ("orders", "order_id", "order_date"),
        ("transactions", "transaction_id", "transaction_date"),
        ("events", "event_id", "event_timestamp"),
        ("support_tickets", "ticket_id", "created_at"),
    ):
        clash = q(
            f"select count(*) from {source} n where {t}::date >= date '2024-03-11' and exists "
            f"(select 1 from {source} o where o.{pk} = n.{pk} and o._load_date < date '2024-03-11')"
        )
        assert clash == 0, source
    # existing customers keep acting, new ones sign up; rows decided earlier (resolutions, late rows) arrive
    assert (
        q(
            "select count(distinct customer_id) from orders where order_date = date '2024-03-11' and customer_id in "
            "(select customer_id from customers where signup_date < date '2024-03-11')"
        )
        > 3
    )
    assert q("select count(distinct customer_id) from customers where signup_date >= date '2024-03-11'") == q(
        "select count(*) from truth_customers where customer_id in (select customer_id from customers where signup_date >= date '2024-03-11')"
    )
    if pending:
        assert (
            q(
                "select count(*) from support_tickets where _load_date = date '2024-03-11' and created_at::date < date '2024-03-11'"
            )
            > 0
        )
    assert (
        q("select count(*) from transactions where transaction_id not in (select transaction_id from transactions) ")
        == 0
    )
    assert (
        q("select count(*) from truth_fraud where transaction_id not in (select transaction_id from transactions)") == 0
    )


def test_append_day_is_deterministic_and_checks_its_inputs(tmp_path):
    _run(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    for r in ("a", "b"):
        append_day(str(tmp_path / r / "landing"), str(tmp_path / r / "truth"), progress=False)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    with pytest.raises(ValueError, match="seed"):
        append_day(str(tmp_path / "a" / "landing"), str(tmp_path / "a" / "truth"), seed=99)
    with pytest.raises(FileNotFoundError, match="state"):
        append_day(str(tmp_path / "a" / "landing"), str(tmp_path / "nowhere"))


def test_s3_landing_zone_gives_the_same_files(tmp_path, monkeypatch):
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for k, v in {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }.items():
            monkeypatch.setenv(k, v)
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="lake")
        summary = generate(
            GenerateConfig(
                landing="s3://lake/raw/landing",
                truth=str(tmp_path / "truth"),
                scale=0.002,
                days=7,
                end_date=date(2024, 3, 10),
                seed=5,
                bad_files=2,
                progress=False,
            )
        )
        assert summary.landing == "s3://lake/raw/landing"
        objects = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="lake", Prefix="raw/landing/"):
            for o in page.get("Contents", []):
                objects[o["Key"].removeprefix("raw/landing/")] = hashlib.sha256(
                    s3.get_object(Bucket="lake", Key=o["Key"])["Body"].read()
                ).hexdigest()
        local = tmp_path / "local"
        generate(
            GenerateConfig(
                landing=str(local / "landing"),
                truth=str(local / "truth"),
                scale=0.002,
                days=7,
                end_date=date(2024, 3, 10),
                seed=5,
                bad_files=2,
                progress=False,
            )
        )
        assert objects == _digests(local / "landing")
        s = append_day("s3://lake/raw/landing", str(tmp_path / "truth"), progress=False)
        assert s.end_date == "2024-03-11"
    finally:
        server.stop()


def test_cli_runs_and_refuses_bad_arguments(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "data_generation",
        "--scale",
        "0.002",
        "--days",
        "5",
        "--end-date",
        "2024-03-10",
        "--landing",
        str(tmp_path / "landing"),
        "--truth",
        str(tmp_path / "truth"),
        "--seed",
        "3",
        "--no-progress",
        "--json",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    assert summary["end_date"] == "2024-03-10" and summary["sources"]["orders"]["rows"] > 0
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "data_generation",
            "--append-day",
            "--landing",
            str(tmp_path / "landing"),
            "--truth",
            str(tmp_path / "truth"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "2024-03-11" in out.stdout and "transactions" in out.stdout
    bad = subprocess.run([*cmd[:-2], "--scale", "-1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--scale" in bad.stderr
    inside = subprocess.run(
        [*cmd[:10], "--truth", str(tmp_path / "landing" / "t"), "--overwrite"], capture_output=True, text=True
    )
    assert inside.returncode == 2 and "truth" in inside.stderr
