"""The landing-zone resource: where source files arrive, and the quarantine beside it.

Both are :mod:`customer360.storage` object stores over a local folder or an ``s3://bucket/prefix`` URL. For
S3 the boto3 client comes from dagster-aws's ``S3Resource`` (``AWS_ENDPOINT_URL`` selects an S3-compatible
store such as moto or MinIO; credentials from the usual AWS environment/profile chain, never from config).
Listing goes through ``dagster_aws.s3.sensor.get_objects`` on S3 and through the store's own listing for a
local folder; both come back as :class:`customer360.storage.ObjectInfo` with keys relative to the root, so
the code above this module has a single code path.

Layout (shared convention): ``<landing>/<source>/load_date=YYYY-MM-DD/<file>.parquet``. File names may hold
letters of any script, digits, spaces and ``_ . = - + , ( )`` (:func:`customer360.storage.validate_key`).
Every other landing object — a bad or impossible day folder, an unknown source folder, a file at the root, a
non-parquet file, a nested folder, an unsafe name, a symbolic link out of the root or to a folder — is an
:class:`UnrecognisedObject` with its reason: never read, always reported (:meth:`LandingResource.scan_source`,
:meth:`LandingResource.unrecognised_objects`).
"""

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import dagster as dg
from pydantic import Field, PrivateAttr

from customer360.catalog import SOURCES
from customer360.storage import (
    InvalidKeyError,
    ObjectInfo,
    ObjectStore,
    S3Store,
    open_store,
    validate_key,
)

_LOAD_DATE_PART = re.compile(r"load_date=([0-9]{4}-[0-9]{2}-[0-9]{2})")  # fullmatch; ASCII digits only


class LandedKey:
    """A parsed, validated landing key ``<source>/load_date=YYYY-MM-DD/<file>``."""

    __slots__ = ("file_name", "key", "load_date", "source")

    def __init__(self, key: str, source: str, load_date: date, file_name: str):
        self.key, self.source, self.load_date, self.file_name = key, source, load_date, file_name

    def __repr__(self) -> str:
        return f"LandedKey({self.key!r})"


@dataclass(frozen=True)
class UnrecognisedObject:
    """A landing object that matches no ``<source>/load_date=YYYY-MM-DD/<file>.parquet`` layout (never read)."""

    key: str  # relative to the landing root, as listed
    reason: str


def inspect_landing_key(key: str) -> LandedKey | UnrecognisedObject:
    """A landing key → the parsed file to load, or why it matches no source/day layout."""
    try:
        validate_key(key)
    except InvalidKeyError as exc:
        return UnrecognisedObject(key, f"unsafe key, not read: {exc}")
    parts = key.split("/")
    if len(parts) == 1:
        return UnrecognisedObject(key, "file at the landing root, outside every <source>/ folder")
    if parts[0] not in SOURCES:
        return UnrecognisedObject(key, f"unknown source folder {parts[0]!r} (sources: {', '.join(SOURCES)})")
    if len(parts) == 2:
        return UnrecognisedObject(key, f"not in a load_date=YYYY-MM-DD day folder of {parts[0]}/")
    m = _LOAD_DATE_PART.fullmatch(parts[1])
    if not m:
        return UnrecognisedObject(key, f"folder {parts[1]!r} is not a load_date=YYYY-MM-DD day folder")
    try:
        day = date.fromisoformat(m.group(1))
    except ValueError as exc:
        return UnrecognisedObject(key, f"day folder {parts[1]!r} is not a valid date ({exc})")
    if len(parts) > 3:
        nested = "/".join(parts[2:-1])
        return UnrecognisedObject(
            key, f"nested folder {nested!r} in the day folder (files belong directly in {parts[1]}/)"
        )
    if not parts[2].endswith(".parquet"):
        return UnrecognisedObject(key, "not a .parquet file")
    return LandedKey(key, parts[0], day, parts[2])


def parse_landing_key(key: str) -> LandedKey | None:
    """Parse a landing key; ``None`` for anything that is not a safe parquet key in a valid day folder."""
    parsed = inspect_landing_key(key)
    return parsed if isinstance(parsed, LandedKey) else None


def fingerprint(entries: Iterable[tuple[str, int, str]]) -> str:
    """A short stable hash of ``(key, size, tag)`` triples (order-free)."""
    h = hashlib.sha256()
    for key, size, tag in sorted(entries):
        h.update(f"{key}\t{size}\t{tag}\n".encode())
    return h.hexdigest()[:24]


def listing_fingerprint(infos: Iterable[ObjectInfo]) -> str:
    """Fingerprint of a listing: changes whenever a file is added, removed or rewritten."""
    return fingerprint((i.key, i.size, i.etag) for i in infos)


def content_digest(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@lru_cache(maxsize=16)
def _s3_client(endpoint: str | None, region: str | None, _credentials: tuple):
    """boto3 clients are thread-safe and slow to build: one per endpoint/region/credential set per process
    (a sensor builds its resources on every tick)."""
    from dagster_aws.s3 import S3Resource  # imported only when a store is on S3 (a slow import)

    return S3Resource(endpoint_url=endpoint, region_name=region).get_client()


def _credentials_marker() -> tuple:
    # a cache key that changes when the AWS SDK's own environment (credentials, endpoint) changes; never logged or stored
    return tuple(
        hashlib.sha256(os.environ.get(v, "").encode()).hexdigest()
        for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL")
    )


class LandingResource(dg.ConfigurableResource):
    """The ``landing`` resource: landing zone + quarantine, local or S3."""

    landing_url: str = Field(default="data/landing", description="Landing zone (env C360_LANDING_URL).")
    quarantine_url: str = Field(default="data/quarantine", description="Quarantine (env C360_QUARANTINE_URL).")
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint; default: the AWS SDK's (AWS_ENDPOINT_URL)."
    )
    s3_region_name: str | None = Field(default=None, description="AWS region for S3 (default: boto3's chain).")

    _s3_client = PrivateAttr(default=None)
    _store = PrivateAttr(default=None)
    _quarantine = PrivateAttr(default=None)

    def _client(self):
        if self._s3_client is None:
            endpoint = self.s3_endpoint_url or None  # None: the AWS SDK reads AWS_ENDPOINT_URL itself
            self._s3_client = _s3_client(endpoint, self.s3_region_name, _credentials_marker())
        return self._s3_client

    def _open(self, url: str) -> ObjectStore:
        return open_store(url, s3_client=self._client() if url.startswith("s3://") else None)

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = self._open(self.landing_url)
        return self._store

    @property
    def quarantine(self) -> ObjectStore:
        if self._quarantine is None:
            self._quarantine = self._open(self.quarantine_url)
        return self._quarantine

    @property
    def is_s3(self) -> bool:
        return isinstance(self.store, S3Store)

    def list_objects(self, prefix: str) -> list[ObjectInfo]:
        """Every object under ``prefix`` (relative key), sorted by key.

        S3: ``dagster_aws.s3.sensor.get_objects`` (one paginated ``ListObjectsV2``); local: the folder walk.
        """
        prefix = validate_key(prefix.rstrip("/"))
        store = self.store
        if isinstance(store, S3Store):
            from dagster_aws.s3.sensor import get_objects

            full = f"{store.prefix}/{prefix}/" if store.prefix else f"{prefix}/"
            out = []
            for obj in get_objects(bucket=store.bucket, prefix=full, client=store.client):
                full_key = obj["Key"]
                rel = full_key[len(store.prefix) + 1 :] if store.prefix else full_key
                if rel.endswith("/") or rel.rsplit("/", 1)[-1].startswith("."):
                    continue
                out.append(ObjectInfo(rel, int(obj["Size"]), str(obj.get("ETag", "")).strip('"'), obj["LastModified"]))
            return sorted(out, key=lambda o: o.key)
        return store.list(prefix)

    def list_source(self, source: str) -> list[tuple[LandedKey, ObjectInfo]]:
        """Every landed parquet file of ``source`` (all days), parsed. Other objects: :meth:`scan_source`."""
        return self.scan_source(source)[0]

    def scan_source(self, source: str) -> tuple[list[tuple[LandedKey, ObjectInfo]], list[UnrecognisedObject]]:
        """One listing of ``<source>/``: the files to load, and every other object there with its reason."""
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        landed, unrecognised = [], []
        for info in self.list_objects(source):
            item = self._inspect(info)
            if isinstance(item, LandedKey):
                landed.append((item, info))
            else:
                unrecognised.append(item)
        return landed, unrecognised

    def outside_sources(self) -> list[UnrecognisedObject]:
        """Objects outside every ``<source>/`` folder: files (and links) at the root, and the contents of unknown
        folders. S3: one delimited listing of the root, plus one listing per unknown folder."""
        files, folders = self.store.top_level()
        out = [self._inspect(info) for info in files]
        for folder in folders:
            if folder in SOURCES:
                continue
            try:
                inside = self.store.list(folder)
            except InvalidKeyError as exc:  # e.g. an S3 "folder" named ".."
                out.append(UnrecognisedObject(folder + "/", f"unsafe folder name, not listed: {exc}"))
                continue
            out += [self._inspect(info) for info in inside]
        return sorted((o for o in out if isinstance(o, UnrecognisedObject)), key=lambda o: o.key)

    def unrecognised_objects(self, source: str) -> list[UnrecognisedObject]:
        """What the ``source`` check reports: unrecognised objects under ``<source>/`` and outside every source
        folder (those could belong to any source, so every source reports them)."""
        return sorted([*self.scan_source(source)[1], *self.outside_sources()], key=lambda o: o.key)

    def _inspect(self, info: ObjectInfo) -> LandedKey | UnrecognisedObject:
        if info.linked_folder:
            return UnrecognisedObject(info.key, "symbolic link to a folder (links to folders are not followed)")
        if info.outside_root:
            return UnrecognisedObject(info.key, "symbolic link resolving outside the landing root, not read")
        return inspect_landing_key(info.key)

    def read(self, key: str) -> bytes:
        return self.store.read(key)

    def content_fingerprint(self, infos: Iterable[ObjectInfo], digests: dict[str, str] | None = None) -> str:
        """Fingerprint of the *contents* of ``infos``: equal for an identical re-delivery.

        S3's ETag is already a content hash, so the listing suffices. A local folder's tag is derived from
        size + mtime (a re-delivered identical file gets a new mtime), so the bytes are hashed instead
        (``digests`` — key → :func:`content_digest` — avoids a second read when the caller has the bytes).
        """
        infos = list(infos)
        if self.is_s3:
            return listing_fingerprint(infos)
        digests = digests or {}
        return fingerprint(
            (i.key, i.size, digests[i.key] if i.key in digests else content_digest(self.read(i.key))) for i in infos
        )

    def describe(self, key: str) -> str:
        return self.store.describe(key)
