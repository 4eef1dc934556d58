"""A small object store over a local folder or an ``s3://bucket/prefix`` URL.

The landing zone, the quarantine and the model-artifact store all live in one of these. Keys are always
relative, ``/``-separated, and validated before they touch a path or a bucket (no ``..``, no absolute keys,
no control or quoting characters; letters of any script, digits, spaces and ``_ . = - + , ( )`` are fine), so a
key read from a listing or a sensor cursor can never escape the store's root. A local store also refuses a key
whose path resolves outside its root through a symbolic link; its listing does not follow links to folders
(they are listed as objects of their own, :attr:`ObjectInfo.linked_folder`).
S3 access goes through boto3 and honours ``AWS_ENDPOINT_URL`` (moto, MinIO, …). No Dagster import here.
"""

from __future__ import annotations  # annotations below name the builtin list inside classes with a list() method

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

KEY_PUNCTUATION = frozenset(" _.=-+,()")  # besides letters, combining marks and digits of any script
MAX_PART_BYTES, MAX_KEY_BYTES = 255, 1024  # a file name on common file systems; an S3 key


class InvalidKeyError(ValueError):
    """A key that would escape the store root or is not a plain relative path."""


def _bad_character(part: str) -> str | None:
    for ch in part:
        if ch not in KEY_PUNCTUATION and unicodedata.category(ch)[0] not in "LMN":
            return ch
    return None


def _check_relative(prefix: str) -> str:
    """A listing prefix only needs to stay under the root: relative, no empty / ``.`` / ``..`` part."""
    if not prefix or prefix.startswith("/") or "\\" in prefix or "\x00" in prefix:
        raise InvalidKeyError(f"invalid prefix {prefix!r}")
    if any(part in ("", ".", "..") for part in prefix.split("/")):
        raise InvalidKeyError(f"invalid prefix {prefix!r}")
    return prefix


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise :class:`InvalidKeyError` saying why.

    Safe: ``/``-separated parts, none empty, ``.`` or ``..``, each made of letters (any script, e.g. ``ü``),
    combining marks, digits, spaces and ``_ . = - + , ( )``, not starting or ending with a space, at most
    255 bytes (UTF-8) a part and 1024 a key. Quotes, backslashes, control and formatting characters (e.g. a
    right-to-left override), look-alike slashes and wildcards are refused: keys become file paths, S3 keys,
    Snowflake stage paths and log lines."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key:
        raise InvalidKeyError(f"invalid object key {key!r}")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidKeyError(f"invalid object key {key[:80]!r}…: longer than {MAX_KEY_BYTES} bytes")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise InvalidKeyError(f"invalid object key {key!r} (bad part {part!r})")
        bad = _bad_character(part)
        if bad is not None:
            raise InvalidKeyError(f"invalid object key {key!r} (character {bad!r} not allowed in {part!r})")
        if part != part.strip(" "):
            raise InvalidKeyError(f"invalid object key {key!r} (part {part!r} starts or ends with a space)")
        if len(part.encode()) > MAX_PART_BYTES:
            raise InvalidKeyError(f"invalid object key {key!r} (part longer than {MAX_PART_BYTES} bytes)")
    return key


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the store root
    size: int
    etag: str  # S3 ETag, or a content hash for local files
    last_modified: datetime  # UTC
    linked_folder: bool = False  # local store: a symbolic link to a folder (listed, never entered)
    outside_root: bool = False  # local store: a symbolic link whose target is outside the root (never read)


class ObjectStore:
    """Common interface; use :func:`open_store` to get one."""

    url: str

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        raise NotImplementedError

    def top_level(self) -> tuple[list[ObjectInfo], list[str]]:
        """The objects directly under the root and the names of its folders (names as they are, unvalidated)."""
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

    def _info(self, path: str, rel: str, linked_folder: bool = False) -> ObjectInfo:
        outside = False
        if os.path.islink(path):  # only links can lead out: the walk itself never enters a linked folder
            outside = not os.path.realpath(path).startswith(self._root_prefix)
        try:
            st = os.stat(path)
        except OSError:  # a dangling symbolic link
            st = os.lstat(path)
        # size + mtime_ns stand in for an ETag cheaply; content changes rewrite the file (new mtime).
        etag = hashlib.md5(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
        size = 0 if linked_folder else st.st_size
        return ObjectInfo(rel, size, etag, datetime.fromtimestamp(st.st_mtime, UTC), linked_folder, outside)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object under ``prefix``: files, links to files, and links to folders (listed, not entered).
        ``prefix`` only needs to be a relative path without ``..`` (listing reads names, never contents)."""
        if prefix:
            _check_relative(prefix.rstrip("/"))
        base = os.path.join(self._root_str, prefix.rstrip("/")) if prefix else self._root_str
        if not os.path.isdir(base) or (prefix and not os.path.realpath(base).startswith(self._root_prefix)):
            return []  # a linked folder is an object of the level above, see top_level()
        out: list[ObjectInfo] = []
        for dirpath, dirnames, filenames in os.walk(base):  # followlinks=False: nothing outside is walked
            rel_dir = os.path.relpath(dirpath, self._root_str).replace(os.sep, "/")
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            for name in [*filenames, *links]:
                if name.startswith(".") or name.endswith(".tmp"):
                    continue  # hidden files and in-flight writes are not objects yet
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                out.append(self._info(os.path.join(dirpath, name), rel, linked_folder=name in links))
        return sorted(out, key=lambda o: o.key)

    def top_level(self) -> tuple[list[ObjectInfo], list[str]]:
        if not os.path.isdir(self._root_str):
            return [], []
        files, folders = [], []
        with os.scandir(self._root_str) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.name.endswith(".tmp"):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.name)
                else:
                    files.append(self._info(entry.path, entry.name, linked_folder=entry.is_dir()))
        return sorted(files, key=lambda o: o.key), sorted(folders)

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

            self._client = boto3.client("s3")  # endpoint (AWS_ENDPOINT_URL) and credentials: the AWS SDK's own chain
        return self._client

    def _full(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _rel(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def _full_prefix(self, prefix: str) -> str:
        """The S3 prefix of a listing: ``prefix`` need only be relative without ``..`` (names are listed, not read)."""
        if not prefix:
            return self.prefix + "/" if self.prefix else ""
        rel = _check_relative(prefix.rstrip("/"))
        return f"{self.prefix}/{rel}/" if self.prefix else f"{rel}/"

    def iter_pages(self, prefix: str = "", delimiter: str | None = None) -> Iterator[dict]:
        paginator = self.client.get_paginator("list_objects_v2")
        extra = {"Delimiter": delimiter} if delimiter else {}
        yield from paginator.paginate(Bucket=self.bucket, Prefix=self._full_prefix(prefix), **extra)

    def _object(self, obj: dict) -> ObjectInfo | None:
        rel = self._rel(obj["Key"])
        if not rel or rel.endswith("/") or rel.rsplit("/", 1)[-1].startswith("."):
            return None  # folder markers and hidden objects
        return ObjectInfo(rel, int(obj["Size"]), str(obj.get("ETag", "")).strip('"'), obj["LastModified"])

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        out = [o for page in self.iter_pages(prefix) for o in map(self._object, page.get("Contents", [])) if o]
        return sorted(out, key=lambda o: o.key)

    def top_level(self) -> tuple[list[ObjectInfo], list[str]]:
        files: list[ObjectInfo] = []
        folders: set[str] = set()
        for page in self.iter_pages(delimiter="/"):
            files += [o for o in map(self._object, page.get("Contents", [])) if o]
            for common in page.get("CommonPrefixes", []):
                name = self._rel(common["Prefix"]).rstrip("/")
                if name and not name.startswith("."):
                    folders.add(name)
        return sorted(files, key=lambda o: o.key), sorted(folders)

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
