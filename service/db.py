"""Engine, sessions and the declarative base; one transaction per request or command."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from service.config import get_settings


class Base(DeclarativeBase):
    pass


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # synchronous stays FULL (fsync per commit, ~0.34 ms here): NORMAL would be faster but
    # a power cut could undo an approval or a check-in the user saw succeed.
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# SQLite has one writer at a time and makes a blocked writer poll with growing sleeps
# (1, 2, 5, 10, 15, 20, 25 ms ...), which put a 150 ms tail on review reads (each writes an
# audit row). Writers of this process queue on a lock instead, held from a transaction's
# first write (or `hold_write_lock`) to its commit or rollback, and are handed over at once.
# A writer that waits longer than the timeout goes on to SQLite's own busy handling, so no
# wait is ever longer than it was without the lock.
_SQLITE_WRITER = threading.Lock()
_WRITER_WAIT_S = 10.0
_WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)
_HELD = "homework_sqlite_writer"


def _take_writer(info: dict[Any, Any]) -> None:
    if not info.get(_HELD):
        info[_HELD] = _SQLITE_WRITER.acquire(timeout=_WRITER_WAIT_S)


def _give_writer(info: dict[Any, Any]) -> None:
    if info.pop(_HELD, False):
        _SQLITE_WRITER.release()


def _before_execute(conn: Connection, _cursor: object, statement: str, *_: object) -> None:
    if _WRITE_SQL.match(statement):
        _take_writer(conn.info)


def _on_end(conn: Connection) -> None:
    if not conn.invalidated:  # `info` of an invalidated connection would reconnect
        _give_writer(conn.info)


def _on_pool_event(_dbapi_conn: object, record: Any, *_: object) -> None:
    _give_writer(record.info)  # returned or invalidated (connection lost) mid-transaction


def hold_write_lock(session: Session) -> None:
    """Take this process's SQLite write turn now, before a read the write depends on (the
    audit chain reads its last hash, then appends): no other writer here can slip between."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _take_writer(connection.info)


def make_engine(url: str) -> Engine:
    """`hide_parameters`: a database error's text names the SQL, never its values (PHI)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _before_execute)
        event.listen(engine, "commit", _on_end)
        event.listen(engine, "rollback", _on_end)
        event.listen(engine.pool, "checkin", _on_pool_event)
        event.listen(engine.pool, "invalidate", _on_pool_event)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         hide_parameters=True)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rowcount(result: Result[Any]) -> int:
    """Rows a guarded UPDATE matched: SQLAlchemy types `execute` as a Result, and an
    UPDATE's is a CursorResult, which has the count."""
    return cast(CursorResult[Any], result).rowcount
