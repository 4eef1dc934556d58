import pytest

from customer360_tests.resources.moto_s3 import moto_server, new_bucket, s3_env


@pytest.fixture(scope="session")
def moto_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(moto_endpoint, monkeypatch) -> str:
    s3_env(monkeypatch, moto_endpoint)
    return new_bucket(moto_endpoint)
