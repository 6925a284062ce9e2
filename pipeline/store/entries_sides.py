"""Loading rows in trace-number ranges by side connections at once (:func:`load_parts`).

One backend does about 2 s of server work per million entries, which no client speed hides,
and only more backends use the machine's other cores (PG's own parallel index build does not
help: the COPY is most of the work). Each range is a staging table
(``entries_stage_<day>_<token>_<n>``) that a side connection creates, COPYs and indexes in
its own transaction, which commits. The caller's transaction then attaches them to the day's
partition (a table partitioned by trace_number): their indexes attach to its indexes without
a rebuild, and their CHECKs on the day and on the trace range spare every scan. Nothing of
the parts is visible before the caller commits. The unique (trace_number, effective_date)
key holds across the parts because a trace value falls in exactly one range, and inside a
part its unique index build refuses a duplicate, which fails the whole load. A failed load's
committed staging tables are dropped (best effort), and every load first drops the staging
tables that no partition holds (a killed load's).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import suppress
from datetime import date

import polars as pl
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pipeline.store.entries_tables import (
    Bounds,
    ParentIndex,
    Prepare,
    attach,
    chunked,
    constant_columns,
    fill_fresh_table,
)
from pipeline.store.errors import StoreError, StoreIntegrityError, translate_errors

# Staging tables of the parallel path; one that no partition holds is a failed load's.
STAGE_PREFIX = "entries_stage_"


# A side connection should never wait on a lock (the caller's transaction, which holds some,
# is waiting for it): if one did, this turns a hang into an error.
_SIDE_LOCK_TIMEOUT = "10s"


# A side backend asks the kernel to write back its dirty pages every 2 MB (the maximum).
_FLUSH_AFTER = "2MB"


# Dropping a failed load's staging tables waits no longer than this: the ones the caller's
# transaction still holds are left to the next load.
_CLEANUP_LOCK_TIMEOUT = "100ms"


def drop_orphaned_stages(conn: psycopg.Connection) -> list[str]:
    """Drop the staging tables that no partition holds (a killed or failed parallel load's)
    and return their names. Runs under the loader lock, so a running load's staging tables
    are never among them: they exist unattached only while their load holds that lock."""
    names = [
        name
        for (name,) in conn.execute(
            "SELECT c.relname FROM pg_class c"
            " WHERE c.relname LIKE %s AND c.relkind = 'r' AND c.relnamespace ="
            "       (SELECT relnamespace FROM pg_class WHERE oid = 'entries'::regclass)"
            "   AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)",
            (STAGE_PREFIX.replace("_", r"\_") + "%",),
        ).fetchall()
    ]
    for name in names:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
    return names


def side_conninfo(conn: psycopg.Connection) -> str:
    """The caller's connection parameters (host or socket directory, port, database, user,
    options …) with its password, which ``info.dsn`` leaves out."""
    password = conn.info.password
    return make_conninfo(conn.info.dsn, **({"password": password} if password else {}))


def _allocate_ids(conn: psycopg.Connection, n: int) -> int:
    """Reserve ``n`` consecutive entry ids and return the first: the client numbers the rows
    in file order, as one backend's nextval default would have, and the side backends skip
    the per-row nextval.

    ALTER SEQUENCE (a no-op OWNED BY) takes the lock that every nextval call conflicts with
    and holds it to the end of this transaction: between this nextval and setval no other
    session can take an id, so the whole block is ours. Inserts by other writers wait for
    this load to end (loads already go one at a time). setval is not undone by a rollback:
    a failed load leaves a gap in the ids, as nextval does.
    """
    found = conn.execute("SELECT pg_get_serial_sequence('entries', 'id')").fetchone()
    if found is None or found[0] is None:
        raise StoreIntegrityError("entries.id has no sequence", constraint="entries_id_idx")
    seq = str(found[0])  # quoted by pg_get_serial_sequence as needed
    conn.execute(sql.SQL("ALTER SEQUENCE {} OWNED BY entries.id").format(sql.SQL(seq)))
    first = conn.execute("SELECT nextval(%s::regclass)", (seq,)).fetchone()
    assert first is not None
    conn.execute("SELECT setval(%s::regclass, %s)", (seq, first[0] + n - 1))
    return int(first[0])


def load_parts(
    conn: psycopg.Connection,
    day: date,
    parent: str,
    first: int,
    bounds: Sequence[Bounds],
    rows: pl.DataFrame,
    prepare: Prepare | None,
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
) -> tuple[int, list[tuple[str, str]]]:
    """Load ``rows`` in the trace ranges ``bounds``, one side connection each, and attach
    each as a part of ``parent`` (a day partitioned by trace_number) named ``<parent>_<n>``,
    n from ``first``. Returns the rows loaded and each part's bound CHECK (table,
    constraint): the caller drops them after its last ATTACH, which they spare a scan."""
    cols = list(columns)
    if "id" not in cols:
        start = _allocate_ids(conn, rows.height)
        rows = rows.with_columns(
            pl.int_range(start, start + rows.height, dtype=pl.Int64).alias("id")
        )
        cols.append("id")
    suffix = f"{day:%Y%m%d}"
    token = secrets.token_hex(4)
    stages = [f"{STAGE_PREFIX}{suffix}_{token}_{k}" for k in range(1, len(bounds) + 1)]
    conninfo = side_conninfo(conn)
    sides: list[psycopg.Connection] = []
    try:
        with translate_errors(f"connecting to load the entries of {day}"):
            for _ in stages:
                sides.append(psycopg.connect(conninfo))
        constants = constant_columns(rows, cols)
        loaded = _run_sides(
            sides, stages, bounds, day, rows, prepare, cols, indexes, token, constants
        )
        if loaded != rows.height:  # the ranges cover every trace; never attach a partial day
            raise StoreError(f"loading the entries of {day}: {loaded} of {rows.height} rows")
        checks: list[tuple[str, str]] = []
        for k, (stage, (low, high)) in enumerate(zip(stages, bounds, strict=True), start=1):
            n = first + k - 1
            attach(conn, parent, stage, low, high)
            # the part and its indexes take their final names: entries_<day>_<n> and
            # <parent index>_<day>_<n>
            for index in indexes:
                conn.execute(
                    sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                        sql.Identifier(f"{index.name}_{suffix}_{token}_{k}"),
                        sql.Identifier(f"{index.name}_{suffix}_{n}"),
                    )
                )
            conn.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    sql.Identifier(stage), sql.Identifier(f"{parent}_{n}")
                )
            )
            checks.append((f"{parent}_{n}", f"{stage}_bound"))
        return loaded, checks
    except BaseException:
        _drop_stages(sides, stages)
        raise
    finally:
        for side in sides:
            side.close()


def _run_sides(
    sides: Sequence[psycopg.Connection],
    stages: Sequence[str],
    bounds: Sequence[Bounds],
    day: date,
    rows: pl.DataFrame,
    prepare: Prepare | None,
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
    token: str,
    constants: dict[str, object],
) -> int:
    """Each side connection loads and indexes its range in a thread of its own; the first
    failure cancels the other sides' statements and is raised."""

    def part(n: int) -> int:
        low, high = bounds[n]
        keep = pl.lit(True)
        if low is not None:
            keep &= pl.col("trace_number") >= low
        if high is not None:
            keep &= pl.col("trace_number") < high
        return _stage(
            sides[n],
            stages[n],
            day,
            bounds[n],
            chunked(rows.filter(keep), prepare),
            columns,
            indexes,
            f"{day:%Y%m%d}_{token}_{n + 1}",
            constants,
        )

    with ThreadPoolExecutor(max_workers=len(sides)) as pool:
        futures = [pool.submit(part, n) for n in range(len(sides))]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in futures if f in done and f.exception() is not None]
        if failed:
            for side in sides:
                side.cancel_safe()
            wait(futures)
            raise failed[0].exception()  # type: ignore[misc]  # the first failure, not a cancel
        return sum(f.result() for f in futures)


def _stage(
    side: psycopg.Connection,
    stage: str,
    day: date,
    bounds: Bounds,
    chunks: Iterator[pl.DataFrame],
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
    suffix: str,
    constants: dict[str, object],
) -> int:
    """In the side connection's own transaction, committed on success: a staging table
    bounded to ``day`` and the trace range, its rows COPYed in (FREEZE; ``constants`` filled
    in by DEFAULTs) and its indexes built (:func:`fill_fresh_table`).
    No parallel index workers: they would only compete with the other parts' backends."""
    with translate_errors(f"loading rows into {stage}"), side.transaction():
        side.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(_SIDE_LOCK_TIMEOUT)))
        # the kernel starts writing the part's pages out as they are written, so the fsync
        # at commit (wal_level=minimal) finds most on disk: 0.10-0.16 s -> 0.04-0.06 s
        side.execute(
            sql.SQL("SET LOCAL backend_flush_after = {}").format(sql.Literal(_FLUSH_AFTER))
        )
        side.execute("SET LOCAL max_parallel_maintenance_workers = 0")
        loaded, _ = fill_fresh_table(
            side, stage, suffix, day, bounds, chunks, columns, indexes, constants
        )
    return loaded


def _drop_stages(sides: Sequence[psycopg.Connection], stages: Sequence[str]) -> None:
    """Best effort after a failure: drop the staging tables the side connections committed.
    Those the caller's transaction has attached stay locked until it ends; the next load's
    :func:`drop_orphaned_stages` drops them."""
    for side, stage in zip(sides, stages, strict=False):
        with suppress(psycopg.Error):
            if side.closed:
                continue
            side.rollback()
            with side.transaction():
                side.execute(
                    sql.SQL("SET LOCAL lock_timeout = {}").format(
                        sql.Literal(_CLEANUP_LOCK_TIMEOUT)
                    )
                )
                side.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(stage)))
