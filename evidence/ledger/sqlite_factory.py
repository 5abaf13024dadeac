"""The ``eventsourcing`` SQLite factory, with connections that keep their prepared statements.

The library opens each SQLite connection with ``cached_statements=True``, that is room for
*one* prepared statement, so every statement that differs from the previous one is parsed
and planned again. A plain save runs two (``BEGIN`` and the insert); a save that seals its
events in the same transaction runs two more (the ledger's guard and its insert), and all
four would be prepared afresh every time — more work than executing them. Statements are
cached here as any SQLite application would; the library's recorders, tables and
behaviour are otherwise untouched. Selected by ``PERSISTENCE_MODULE`` (``evidence.config``).
"""

from __future__ import annotations

import sqlite3

from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType

#: prepared statements kept per connection (the sqlite3 module's own default is 128)
STATEMENT_CACHE = 64


class CachingSQLiteConnectionPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        library_made = super()._create_connection()  # switches the file to WAL, as ever
        if self.is_sqlite_memory_mode:
            return library_made  # closing it would drop an in-memory database
        library_made.close()
        conn = sqlite3.connect(
            database=self.db_name,
            uri=True,
            check_same_thread=False,
            isolation_level=None,  # autocommit: the library issues BEGIN itself
            cached_statements=STATEMENT_CACHE,
            timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
        )
        conn.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=conn, max_age=self.max_age)


class CachingSQLiteFactory(SQLiteFactory):
    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        # The datastore builds its pool itself; no connection exists yet, so the pool only
        # needs our way of opening them.
        self.datastore.pool.__class__ = CachingSQLiteConnectionPool
