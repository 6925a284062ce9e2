"""One runner at a time: a Postgres session advisory lock per job name.

``pg_try_advisory_lock`` never waits: a second holder gets :class:`pipeline.errors.LockedError`
(exit 75, "retry later") at once, naming the backend that holds the lock. The lock belongs to
the *session*, so it is released when the block ends, when the connection closes, or when the
process dies (a crashed run never leaves a stale lock behind, unlike a lock file). Keep the
connection open for the whole run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from pipeline.errors import LockedError
from pipeline.store.errors import translate_errors

# The two-int key space of achpipe's advisory locks: (class, id); migrations use id 1.
LOCK_CLASS = 0x41434850  # "ACHP"


def lock_key(name: str) -> int:
    """A stable 31-bit id for a lock name (the class above keeps us out of others' keys)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x7FFFFFFF | 2


def lock_holder(conn: psycopg.Connection, name: str) -> tuple[int, str | None] | None:
    """(pid, application_name) of the backend holding the lock, or None."""
    with translate_errors(f"looking up the holder of lock {name!r}"):
        row = conn.execute(
            "SELECT l.pid, a.application_name FROM pg_locks l"
            " LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted"
            "   AND l.classid = %s::oid AND l.objid = %s::oid AND l.objsubid = 2",
            (LOCK_CLASS, lock_key(name)),
        ).fetchone()
    return (int(row[0]), row[1]) if row else None


@contextmanager
def advisory_lock(conn: psycopg.Connection, name: str = "nightly") -> Iterator[None]:
    """Hold the lock ``name`` for the block; raise :class:`LockedError` if someone else has it.

    >>> # with advisory_lock(conn, "nightly"):  run the steps
    """
    key = lock_key(name)
    with translate_errors(f"taking lock {name!r}"):
        was_idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, key)).fetchone()
        if was_idle and not conn.autocommit:
            conn.commit()  # do not leave the session idle in a transaction we opened
    if not row or not row[0]:
        holder = lock_holder(conn, name)
        who = (
            f" (held by database backend pid {holder[0]}"
            + (f", {holder[1]})" if holder and holder[1] else ")")
            if holder
            else ""
        )
        raise LockedError(f"another achpipe run holds the {name!r} lock{who}; retry later")
    try:
        yield
    finally:
        if not conn.closed:
            with translate_errors(f"releasing lock {name!r}"):
                status = conn.info.transaction_status
                if status == psycopg.pq.TransactionStatus.INERROR:
                    conn.rollback()
                    status = conn.info.transaction_status
                was_idle = status == psycopg.pq.TransactionStatus.IDLE
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, key))
                if was_idle and not conn.autocommit:
                    conn.commit()
