"""Model artifacts round-trip (local folder and S3 API), with a manifest and versions."""

import pytest
from sklearn.linear_model import LogisticRegression

from customer360.ml.artifacts import ArtifactNotFound, ArtifactStore


def _model():
    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


def _roundtrip(store: ArtifactStore):
    with pytest.raises(ArtifactNotFound):
        store.load("churn_predictions")
    assert store.latest_version("churn_predictions") is None
    v1 = store.save(
        "churn_predictions", _model(), {"features": ["x"], "metrics": {"auc": 0.9}, "data_fingerprint": "fp1"}
    )
    loaded = store.load("churn_predictions")
    assert loaded.version == v1 and loaded.manifest["features"] == ["x"] and loaded.manifest["metrics"]["auc"] == 0.9
    assert loaded.manifest["sklearn_version"] and loaded.manifest["data_fingerprint"] == "fp1"
    assert loaded.model.predict([[3.0]])[0] == 1
    v2 = store.save("churn_predictions", _model(), {"features": ["x"], "data_fingerprint": "fp2"})
    assert store.latest_version("churn_predictions") == v2 and store.versions("churn_predictions") == sorted([v1, v2])
    assert store.load("churn_predictions").version == v2  # latest
    assert store.load("churn_predictions", v1).manifest["data_fingerprint"] == "fp1"  # old versions stay readable


def test_local_roundtrip(tmp_path):
    _roundtrip(ArtifactStore.from_url(str(tmp_path / "artifacts")))


def test_s3_roundtrip(monkeypatch):
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
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
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="models")
        _roundtrip(ArtifactStore.from_url("s3://models/customer360"))
    finally:
        server.stop()
