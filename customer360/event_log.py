"""The demo instance's event log: Dagster's one-file SQLite event log, with connections that are kept.

``ConsolidatedSqliteEventLogStorage`` (one SQLite file for every run) builds a new SQLAlchemy engine and opens and
closes a new connection for every write. Closing the last connection of a WAL database checkpoints it, and every
commit waits for an fsync: 25–90 ms per event on these machines, about a thousand events per daily update run
(BENCHMARKS.md, "Bookkeeping that costs little"). :class:`PooledSqliteEventLogStorage` is the same storage, the same
file, schema and migrations, with two changes:

* one engine per process whose connections are pooled and stay open (the WAL is checkpointed by SQLite's
  automatic checkpoints, not on every close);
* ``PRAGMA synchronous=NORMAL`` on each connection, SQLite's documented setting for WAL databases: a commit is
  durable against a crash of the process; a power cut of the machine can lose the last commits, never corrupt the
  file. The production instance (``deploy/dagster.yaml``) is PostgreSQL, not this.

Every event is still written (nothing batched away); other processes (webserver, daemon, run workers) share the
file through SQLite's own locking, as with the stock storage. The webserver follows a running run's events by
watching the file: the stock storage watches only ``event_log.db``, which a commit in WAL mode does not touch (only
the checkpoint that closing the last connection forces did) — this one also watches ``event_log.db-wal``, so the
run page streams as before. Configured in the demo's ``dagster.yaml``
(:func:`customer360.cli.demo_instance_yaml`)::

    event_log_storage:
      module: customer360.event_log
      class: PooledSqliteEventLogStorage
      config:
        base_dir: <home>/history
"""

import os
import threading
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS  # what the stock storage waits on a lock
from watchdog.events import PatternMatchingEventHandler
from watchdog.observers import Observer

POOL_SIZE = 4  # connections kept per process; more are opened when threads need them, and closed after use


class PooledSqliteEventLogStorage(ConsolidatedSqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data=None):
        self._engines: dict[int, db.Engine] = {}
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    def _engine(self) -> db.Engine:
        """This process's engine (a forked child makes its own: pooled connections do not cross processes)."""
        pid = os.getpid()
        engine = self._engines.get(pid)
        if engine is None:
            with self._engines_lock:
                engine = self._engines.get(pid)
                if engine is None:
                    engine = db.create_engine(
                        self._conn_string,
                        poolclass=db.pool.QueuePool,
                        pool_size=POOL_SIZE,
                        max_overflow=-1,
                        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
                    )
                    db.event.listen(engine, "connect", _set_pragmas)
                    self._engines[pid] = engine
        return engine

    @contextmanager
    def _connect(self):
        with self._engine().connect() as conn, conn.begin():
            yield conn

    def watch(self, run_id, cursor, callback):
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
            self._obs.schedule(_WrittenTo(self), self._base_dir, recursive=True)
        self._watchers[run_id][callback] = cursor

    def dispose(self):
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()


def _set_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class _WrittenTo(PatternMatchingEventHandler):
    """Calls the storage's watchers when the database or its write-ahead log changes."""

    def __init__(self, storage: PooledSqliteEventLogStorage):
        self._storage = storage
        path = storage.get_db_path()
        super().__init__(patterns=[path, f"{path}-wal"])

    def on_modified(self, event):
        self._storage.on_modified()
