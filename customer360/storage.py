"""A small object store over a local folder or an ``s3://bucket/prefix`` URL.

The landing zone, the quarantine and the model-artifact store all live in one of these. Keys are always
relative, ``/``-separated, and validated before they touch a path or a bucket (no ``..``, no absolute keys,
no control characters), so a key read from a listing or a sensor cursor can never escape the store's root.
S3 access goes through boto3 and honours ``AWS_ENDPOINT_URL`` (moto, MinIO, …). No Dagster import here.
"""

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

_KEY_PART = re.compile(r"^[A-Za-z0-9_.=\-]+$")


class InvalidKeyError(ValueError):
    """A key that would escape the store root or is not a plain relative path."""


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key (parts of ``[A-Za-z0-9_.=-]``), else raise."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key:
        raise InvalidKeyError(f"invalid object key {key!r}")
    parts = key.split("/")
    for part in parts:
        if part in ("", ".", "..") or not _KEY_PART.match(part):
            raise InvalidKeyError(f"invalid object key {key!r} (bad part {part!r})")
    return key


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the store root
    size: int
    etag: str  # S3 ETag, or a content hash for local files
    last_modified: datetime  # UTC


class ObjectStore:
    """Common interface; use :func:`open_store` to get one."""

    url: str

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        raise NotImplementedError

    def read(self, key: str) -> bytes:
        raise NotImplementedError

    def write(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def describe(self, key: str) -> str:
        """A human-readable location of ``key`` (for error messages and metadata)."""
        return f"{self.url.rstrip('/')}/{validate_key(key)}"


class LocalStore(ObjectStore):
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()
        self.url = str(self.root)
        self._root_str = str(self.root)
        self._root_prefix = self._root_str.rstrip(os.sep) + os.sep

    def _path(self, key: str) -> Path:
        # os.path on strings: the same symlink-resolving check as Path.resolve() at a fraction of its cost
        # (the loader reads thousands of files per run)
        path = os.path.realpath(os.path.join(self._root_str, validate_key(key)))
        if not path.startswith(self._root_prefix):
            raise InvalidKeyError(f"key {key!r} escapes {self.root}")
        return Path(path)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        base = self.root / prefix if prefix else self.root
        if prefix:
            validate_key(prefix.rstrip("/"))
        if not base.exists():
            return []
        out: list[ObjectInfo] = []
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            if path.name.startswith(".") or path.name.endswith(".tmp"):
                continue  # hidden files and in-flight writes are not objects yet
            st = path.stat()
            key = path.relative_to(self.root).as_posix()
            # size + mtime_ns stand in for an ETag cheaply; content changes rewrite the file (new mtime).
            etag = hashlib.md5(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
            out.append(ObjectInfo(key, st.st_size, etag, datetime.fromtimestamp(st.st_mtime, UTC)))
        return out

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # write-then-rename: a watcher never sees a half-written file under its final name
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove everything under the root (used by generators that rewrite a landing zone)."""
        if self.root.exists():
            shutil.rmtree(self.root)


class S3Store(ObjectStore):
    def __init__(self, bucket: str, prefix: str = "", client=None):
        if not re.match(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$", bucket):
            raise InvalidKeyError(f"invalid bucket name {bucket!r}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            validate_key(self.prefix)
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        return self._client

    def _full(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _rel(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def iter_pages(self, prefix: str = "") -> Iterator[dict]:
        full = self._full(prefix.rstrip("/")) + "/" if prefix else (self.prefix + "/" if self.prefix else "")
        paginator = self.client.get_paginator("list_objects_v2")
        yield from paginator.paginate(Bucket=self.bucket, Prefix=full)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        out: list[ObjectInfo] = []
        for page in self.iter_pages(prefix):
            for obj in page.get("Contents", []):
                rel = self._rel(obj["Key"])
                if rel.endswith("/") or rel.rsplit("/", 1)[-1].startswith("."):
                    continue
                out.append(
                    ObjectInfo(rel, int(obj["Size"]), str(obj.get("ETag", "")).strip('"'), obj["LastModified"])
                )
        return sorted(out, key=lambda o: o.key)

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._full(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))


def open_store(url: str, s3_client=None) -> ObjectStore:
    """``s3://bucket[/prefix]`` → :class:`S3Store`; anything else is a local folder."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        return S3Store(parsed.netloc, parsed.path, client=s3_client)
    if parsed.scheme in ("", "file"):
        return LocalStore(parsed.path if parsed.scheme == "file" else url)
    raise ValueError(f"unsupported store URL {url!r}: use a local path or s3://bucket/prefix")
