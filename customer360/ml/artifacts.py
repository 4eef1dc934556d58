"""Versioned model artifacts in an object store (local folder or S3, ``C360_ARTIFACTS_URL``).

Layout under the store root::

    models/<model>/<version>/model.joblib     the fitted object (joblib bytes)
    models/<model>/<version>/manifest.json    features, params, training window, metrics, versions, fingerprint
    models/<model>/<version>/plots/<name>.png the fit's evaluation plots (holdout ROC, calibration…), shown again
                                              when a later run reuses the model
    models/<model>/latest.json                {"version": "<version>"} — written last, so a reader never sees a
                                              pointer to a half-written version

``version`` = ``<UTC time YYYYmmddTHHMMSSZ>-<first 10 hex of the training-data fingerprint>``: sortable, and it
says which data made it. When a run refits or reuses the latest model is the retrain policy's decision
(:mod:`customer360.ml.retrain`: age, drift against the manifest's ``drift_reference``, revision, config).
"""

from __future__ import annotations

import io
import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as _dist_version
from typing import Any

from customer360.storage import ObjectStore, open_store, validate_key


def _joblib():
    """joblib (and scikit-learn behind the pickled models) on first use, not when the code location loads."""
    import joblib

    return joblib


def _sklearn_version() -> str:
    """The installed scikit-learn version without importing scikit-learn (≈ 4 s)."""
    return _dist_version("scikit-learn")


MANIFEST_FORMAT = 1


class ArtifactNotFound(LookupError):
    """No saved model where one was required (``refit=False`` before any fit), or one this scikit-learn cannot
    load."""


@dataclass(frozen=True)
class LoadedModel:
    model: Any
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        return self.manifest["version"]


class ArtifactStore:
    def __init__(self, store: ObjectStore):
        self.store = store

    @classmethod
    def from_url(cls, url: str) -> ArtifactStore:
        return cls(open_store(url))

    @staticmethod
    def _prefix(model: str) -> str:
        return validate_key(f"models/{model}")

    def save(
        self,
        model_name: str,
        model: Any,
        manifest: dict[str, Any],
        *,
        now: datetime | None = None,
        plots: dict[str, bytes] | None = None,
    ) -> str:
        """Write model + manifest (+ ``plots``: name → PNG bytes) as a new version and point ``latest`` at it;
        returns the version."""
        now = now or datetime.now(UTC)
        fp = str(manifest.get("data_fingerprint", "nofingerprint"))
        version = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{fp[:10]}"
        base = f"{self._prefix(model_name)}/{version}"
        buf = io.BytesIO()
        _joblib().dump(model, buf, compress=3)
        full = {
            "format": MANIFEST_FORMAT,
            "model": model_name,
            "version": version,
            "created_at": now.isoformat(),
            "sklearn_version": _sklearn_version(),
            "python_version": platform.python_version(),
            "artifact_key": f"{base}/model.joblib",
            "artifact_bytes": buf.getbuffer().nbytes,
            "plots": sorted(plots or {}),
            **manifest,
        }
        self.store.write(f"{base}/model.joblib", buf.getvalue())
        for name, png in (plots or {}).items():
            self.store.write(f"{base}/plots/{validate_key(name)}.png", png)
        self.store.write(f"{base}/manifest.json", json.dumps(full, indent=2, sort_keys=True, default=str).encode())
        self.store.write(f"{self._prefix(model_name)}/latest.json", json.dumps({"version": version}).encode())
        return version

    def latest_version(self, model_name: str) -> str | None:
        key = f"{self._prefix(model_name)}/latest.json"
        if not self.store.exists(key):
            return None
        return json.loads(self.store.read(key))["version"]

    def plots(self, model_name: str, version: str) -> dict[str, bytes]:
        """The evaluation plots saved with a version (name → PNG bytes); empty for versions saved without."""
        base = f"{self._prefix(model_name)}/{validate_key(version)}/plots"
        names = self.manifest(model_name, version).get("plots", [])
        return {n: self.store.read(f"{base}/{n}.png") for n in names if self.store.exists(f"{base}/{n}.png")}

    def manifest(self, model_name: str, version: str) -> dict[str, Any]:
        return json.loads(self.store.read(f"{self._prefix(model_name)}/{validate_key(version)}/manifest.json"))

    def load(self, model_name: str, version: str | None = None) -> LoadedModel:
        version = version or self.latest_version(model_name)
        if version is None:
            raise ArtifactNotFound(
                f"no saved '{model_name}' model in {self.store.url}: materialize once with refit enabled"
            )
        manifest = self.manifest(model_name, version)
        if manifest.get("sklearn_version") != _sklearn_version():
            raise ArtifactNotFound(
                f"'{model_name}' {version} was fitted with scikit-learn {manifest.get('sklearn_version')}, "
                f"this is {_sklearn_version()}: refit"
            )
        model = _joblib().load(io.BytesIO(self.store.read(manifest["artifact_key"])))
        return LoadedModel(model, manifest)

    def versions(self, model_name: str) -> list[str]:
        prefix = self._prefix(model_name)
        found = {
            o.key[len(prefix) + 1 :].split("/", 1)[0]
            for o in self.store.list(prefix)
            if o.key.endswith("/manifest.json")
        }
        return sorted(found)
