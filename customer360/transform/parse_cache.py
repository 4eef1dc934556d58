"""dbt's partial-parse state per warehouse, so a daily dbt run does not re-parse the project.

dbt re-parses all ~350 nodes when the profile it renders differs from the one of the parse that wrote
``partial_parse.msgpack`` ("Unable to do partial parsing because profile has changed"). The DuckDB profile attaches
the file at ``C360_DUCKDB_PATH``, so every warehouse other than the one ``scripts/prepare_dbt.py`` parsed for (a
benchmark's, a test's, a second data folder) paid a full re-parse on every dbt invocation: dagster-dbt copies the
prepared ``target/partial_parse.msgpack`` into each invocation's own target folder and never keeps what dbt wrote
there.

Here each invocation starts from the newest state dbt wrote for the same profile (``target/partial_parse/<key>``,
the key a hash of the dbt target and the resolved warehouse path) and, when dbt wrote a new one, it is kept for the
next invocation. dbt validates the state itself (dbt version, vars, profile, every file's checksum), so a stale or
foreign file costs a parse, never a wrong manifest. The run-varying values stay out of the state: they are not
``--vars`` (``macros/run_vars.sql``).
"""

import hashlib
import logging
import os
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

PARTIAL_PARSE_FILE = "partial_parse.msgpack"  # dbt's file name (dagster_dbt.core.dbt_cli_invocation)
KEEP_PROFILES = 8  # states kept (≈ 1.5 MB each); the least recently written beyond that are removed


def cache_key(target: str | None, duckdb_path: str | None) -> str:
    """One key per rendered profile: the dbt target and the warehouse file it attaches (None off DuckDB)."""
    text = f"{target or ''}\x00{duckdb_path or ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_file(project_target_dir: Path, key: str) -> Path:
    return Path(project_target_dir) / "partial_parse" / f"{key}.msgpack"


def seed(invocation_target_dir: Path, cached: Path) -> bool:
    """Copy the cached state into a new invocation's target folder before dbt starts (dagster-dbt then skips its
    own copy of the prepared state). ``copy2`` keeps the mtime, which is how :func:`keep` tells an untouched copy."""
    if not cached.exists():
        return False
    destination = Path(invocation_target_dir) / PARTIAL_PARSE_FILE
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(cached, destination)
    return True


def keep(invocation_target_dir: Path, cached: Path) -> bool:
    """Keep the state in the invocation's target folder when it is not the cached one (dbt wrote a new state, or the
    cache had none yet). Atomic replace: a concurrent invocation reads the old or the new file, never half of one.
    A failure to write (a read-only project folder) is logged, not raised: it only costs the next run a parse."""
    written = Path(invocation_target_dir) / PARTIAL_PARSE_FILE
    if not written.exists():
        return False
    if cached.exists():
        new, old = written.stat(), cached.stat()
        if (new.st_mtime_ns, new.st_size) == (old.st_mtime_ns, old.st_size):
            return False
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        shutil.copy2(written, temporary)
        os.replace(temporary, cached)
    except OSError as exc:
        logger.warning("dbt partial-parse state not kept at %s: %s", cached, exc)
        return False
    _prune(cached.parent, keep_also=cached)
    return True


def _prune(folder: Path, keep_also: Path) -> None:
    """Warehouses come and go (every test and benchmark has its own file): keep the newest KEEP_PROFILES states."""
    states = sorted(folder.glob("*.msgpack"), key=lambda f: f.stat().st_mtime, reverse=True)
    for stale in states[KEEP_PROFILES:]:
        if stale != keep_also:
            stale.unlink(missing_ok=True)
