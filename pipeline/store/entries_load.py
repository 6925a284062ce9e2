"""Loading a file's entries into the day-partitioned ``entries`` table (sql/0070-0072).

A day (effective date) that has no partition yet gets one partitioned by trace_number, whose
parts are fresh tables attached to it (:mod:`pipeline.store.entries_tables`), their ranges
running from the day's smallest trace to just above its largest. A big new day
(:data:`PARALLEL_MIN_ROWS` rows or more) is split by trace-number range into
:data:`PARALLEL_PARTS` parts that as many side connections load and index at the same time
(:mod:`pipeline.store.entries_sides`); a smaller one is a single part loaded on the caller's
connection. A later file for the day puts its traces that fall inside those ranges through
the parent into the live parts, and the others, in the gaps (usually above the last range:
the trace sequence goes on from file to file), into new parts loaded the same way when they
are many, else into the day's default part. A day that already has a plain partition (made
by a version before trace-range parts for small days, or rows some other writer left in
``entries_default``) is COPYed through the parent into the live indexes, which then refuse a
duplicate (trace number, effective date) row by row.

The caller's transaction does everything that decides what the ledger holds: a failure
anywhere (a duplicate key found at the COPY or at the unique index build, a CHECK, an unknown
batch) rolls back the new partitions with the file row. One loader at a time: the first step
takes the lock that ATTACH PARTITION takes anyway (readers and row writers are not blocked by
it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl
import psycopg
from psycopg import sql

from pipeline.store.copy import copy_frames
from pipeline.store.entries_sides import drop_orphaned_stages, load_parts
from pipeline.store.entries_tables import (
    Bounds,
    ParentIndex,
    Prepare,
    attach,
    build_indexes,
    chunked,
    create_like_entries,
    drop_constraint,
    load_new_day,
    load_part,
    parent_indexes,
)
from pipeline.store.errors import StoreIntegrityError

# A new day of at least this many rows is loaded in PARALLEL_PARTS parts by as many backends
# (module constants: tests lower the threshold). Below it, two more connections and a
# partitioned day cost more than they save: one backend loads 200,000 entries in ~0.5 s.
PARALLEL_MIN_ROWS = 200_000
PARALLEL_PARTS = 2
# Traces sampled to find the split points (_split_points).
_SPLIT_SAMPLE = 20_000


# A partition's range bounds as pg_get_expr prints them ("FOR VALUES FROM (…) TO (…)"): b.low
# and b.high, each MINVALUE, MAXVALUE or a quoted literal; both NULL for a DEFAULT partition.
_BOUND_TEXTS = (
    "LATERAL (SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM [(](.*)[)] TO')"
    "                AS low,"
    "                substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO [(](.*)[)]$')"
    "                AS high) b"
)

# The range partitions of entries as (low, high) dates, MINVALUE/MAXVALUE as -/+infinity.
# The bounds are read back from pg_get_expr's text and cast in SQL, so the session's DateStyle
# prints and parses them alike.
_RANGES = (
    "SELECT CASE WHEN b.low = 'MINVALUE' THEN '-infinity'::date"
    "            ELSE btrim(b.low, '''')::date END AS low,"
    "       CASE WHEN b.high = 'MAXVALUE' THEN 'infinity'::date"
    "            ELSE btrim(b.high, '''')::date END AS high"
    f" FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid, {_BOUND_TEXTS}"
    " WHERE i.inhparent = 'entries'::regclass AND b.low IS NOT NULL"
)


def days_with_rows_elsewhere(conn: psycopg.Connection, days: Sequence[date]) -> set[date]:
    """Those of ``days`` that a partition already covers, or that have rows in the default.

    Answered by position in ``days`` (ordinality), never by parsing dates printed as text.
    """
    found = conn.execute(
        "SELECT DISTINCT u.n FROM unnest(%s::date[]) WITH ORDINALITY AS u(day, n)"
        f" WHERE EXISTS (SELECT 1 FROM ({_RANGES}) r WHERE u.day >= r.low AND u.day < r.high)"
        "    OR EXISTS (SELECT 1 FROM entries_default d WHERE d.effective_date = u.day)",
        (list(days),),
    ).fetchall()
    return {days[n - 1] for (n,) in found}


def load_entries(
    conn: psycopg.Connection,
    rows: pl.DataFrame,
    *,
    columns: Sequence[str],
    prepare: Prepare | None = None,
) -> int:
    """Load ``rows`` (with ``effective_date``) into ``entries``; return the rows loaded.

    ``prepare`` turns each chunk into the COPY's ``columns`` (e.g. encrypts its accounts);
    it runs while the server inserts the chunk before (on the parallel path in one thread
    per part, so it must be thread-safe). Must run inside a transaction.
    """
    if rows.height == 0:
        return 0
    _check_batches(conn, rows)
    kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'entries'::regclass").fetchone()
    if kind is None or kind[0] != "p":  # a ledger not migrated to 0070 yet: one plain COPY
        return copy_frames(conn, "entries", chunked(rows, prepare), columns=columns)
    conn.execute("LOCK TABLE ONLY entries IN SHARE UPDATE EXCLUSIVE MODE")
    drop_orphaned_stages(conn)
    indexes = parent_indexes(conn)
    # a unique key of a table partitioned by trace_number must hold trace_number (0071)
    parts_ok = all(index.has_trace for index in indexes if index.unique)
    days = rows.get_column("effective_date").unique().sort().to_list()
    taken = days_with_rows_elsewhere(conn, days)
    loaded = 0
    for (day,), group in rows.partition_by(
        "effective_date", as_dict=True, maintain_order=True
    ).items():
        if day in taken:
            parted = _parted_day(conn, day) if parts_ok else None
            if parted is None or group.get_column("trace_number").null_count():
                loaded += copy_frames(conn, "entries", chunked(group, prepare), columns=columns)
            else:
                loaded += _load_into_parted_day(conn, day, parted, group, prepare, columns, indexes)
        # a missing trace falls in no range: the one-table path refuses it (NOT NULL)
        elif parts_ok and group.get_column("trace_number").null_count() == 0:
            loaded += _load_new_day_in_parts(conn, day, group, prepare, columns, indexes)
        else:
            loaded += load_new_day(conn, day, group, prepare, columns, indexes)
    return loaded


def _split_points(traces: pl.Series, parts: int) -> list[str]:
    """Trace values cutting ``traces`` into up to ``parts`` ranges of about equal size: the
    k/parts quantiles of a sample (sorting a million traces costs 0.25 s, a sample of
    20,000 a few ms, and leaves the parts within a few percent of each other), without
    repeats and above the smallest sampled value, so that no range is empty. Equal traces
    always fall in the same range."""
    sample = traces.sample(min(traces.len(), _SPLIT_SAMPLE), seed=0).sort()
    points: list[str] = []
    for k in range(1, parts):
        value = sample[k * sample.len() // parts]
        if value > (points[-1] if points else sample[0]):
            points.append(value)
    return points


def _load_new_day_in_parts(
    conn: psycopg.Connection,
    day: date,
    rows: pl.DataFrame,
    prepare: Prepare | None,
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
) -> int:
    """Load a new day as a partition of ``entries`` partitioned by trace number.

    A big day (:data:`PARALLEL_MIN_ROWS` rows or more) is loaded in trace-number ranges, one
    side connection each (module doc), a smaller one as a single part on this connection;
    either way the parts are attached in the caller's transaction. The ranges run from the
    day's smallest trace to just above its largest, not from MINVALUE to MAXVALUE: a later
    file for the day whose traces lie outside them (the trace sequence goes on from file to
    file) gets parts of its own (:func:`_load_into_parted_day`) instead of going through
    these parts' live indexes. A small first file is made a part too, so that a big file
    after it for the same day is loaded like a new day, not through the small one's live
    indexes (5.7-8.9 s per million entries when the first file made a plain partition)."""
    traces = rows.get_column("trace_number")
    low, high = str(traces.min()), _just_above(str(traces.max()))
    suffix = f"{day:%Y%m%d}"
    part = f"entries_{suffix}"
    create_like_entries(conn, part, " PARTITION BY RANGE (trace_number)")
    build_indexes(conn, part, suffix, indexes)
    if rows.height >= PARALLEL_MIN_ROWS:
        loaded, checks = load_parts(
            conn, day, part, 1, _part_bounds(traces, low, high), rows, prepare, columns, indexes
        )
    else:
        loaded, check = load_part(conn, day, part, 1, (low, high), rows, prepare, columns, indexes)
        checks = [check]
    attach(conn, "entries", part, day, day + timedelta(days=1))
    for table, check in checks:  # after the last ATTACH, which they spare a scan
        drop_constraint(conn, table, check)
    return loaded


def _load_into_parted_day(
    conn: psycopg.Connection,
    day: date,
    parted: str,
    rows: pl.DataFrame,
    prepare: Prepare | None,
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
) -> int:
    """Load a later file's rows for a day partitioned by trace number (``parted``).

    Rows whose trace falls in one of the day's ranges go through the parent into that part's
    live indexes, which refuse a repeated trace. The others lie in the gaps between the
    ranges (usually all of them above the last: the trace sequence goes on from file to
    file). A gap's rows, when they are :data:`PARALLEL_MIN_ROWS` or more, become new parts
    bounded from their smallest trace to just above their largest, loaded like a new day, so
    a second big file for a day costs what the first did. Fewer go through the parent into
    the day's default part (``<parted>_default``, created the first time it is needed): a
    part per small file would leave a day with as many parts as files.
    """
    ranges, rest = _day_parts(conn, parted)
    lows = [low or "" for _, low, _ in ranges]  # MINVALUE: below every string
    traces = rows.get_column("trace_number")
    at = pl.Series(lows, dtype=pl.String).search_sorted(traces, side="right").cast(pl.Int64) - 1
    highs = pl.Series([high for _, _, high in ranges], dtype=pl.String)
    high = (
        highs.gather(at.clip(lower_bound=0))
        if ranges
        else pl.repeat(None, rows.height, dtype=pl.String, eager=True)
    )
    inside = (at >= 0) & (high.is_null() | (traces < high))
    gaps = at + 1  # gap n lies below range n
    live = int(inside.sum())
    separate: list[tuple[pl.DataFrame, list[Bounds]]] = []
    shared: list[int] = []  # gaps whose rows go through the parent into the default part
    for gap, group in (
        _gap_groups(rows, inside if live else None, gaps) if live < rows.height else []
    ):
        grouped = group.get_column("trace_number")
        low, top = str(grouped.min()), _just_above(str(grouped.max()))
        if gap < len(lows) and lows[gap] < top:
            top = lows[gap]  # never past the next range's start
        if group.height >= PARALLEL_MIN_ROWS and not _holds_traces(conn, rest, low, top):
            separate.append((group, _part_bounds(grouped, low, top)))
        else:
            shared.append(gap)
    through = inside | gaps.is_in(shared) if shared else inside
    loaded = 0
    if shared and rest is None:
        rest = _add_default_part(conn, day, parted, indexes)
    if live or shared:
        loaded += copy_frames(
            conn, "entries", chunked(rows.filter(through), prepare), columns=columns
        )
    number = _next_part_number(parted, [name for name, _, _ in ranges])
    for group, bounds in separate:
        count, checks = load_parts(
            conn, day, parted, number, bounds, group, prepare, columns, indexes
        )
        for table, check in checks:
            drop_constraint(conn, table, check)
        loaded += count
        number += len(bounds)
    return loaded


def _holds_traces(conn: psycopg.Connection, table: str | None, low: str, high: str) -> bool:
    """Whether ``table`` (the day's default part, if any) holds a trace in [low, high): a new
    part for that range could not be attached (and would hide a repeat)."""
    if table is None:
        return False
    found = conn.execute(
        sql.SQL("SELECT 1 FROM {} WHERE trace_number >= %s AND trace_number < %s LIMIT 1").format(
            sql.Identifier(table)
        ),
        (low, high),
    ).fetchone()
    return found is not None


def _add_default_part(
    conn: psycopg.Connection, day: date, parted: str, indexes: Sequence[ParentIndex]
) -> str:
    """Create and attach the (empty) default part of ``parted``; return its name."""
    suffix = f"{day:%Y%m%d}_default"
    table = f"entries_{suffix}"
    create_like_entries(conn, table)
    build_indexes(conn, table, suffix, indexes)
    conn.execute(
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} DEFAULT").format(
            sql.Identifier(parted), sql.Identifier(table)
        )
    )
    return table


def _gap_groups(
    rows: pl.DataFrame, inside: pl.Series | None, gaps: pl.Series
) -> list[tuple[int, pl.DataFrame]]:
    """The rows outside every range (all of ``rows`` when ``inside`` is None), grouped by the
    gap they lie in (gap n: below range n), in file order. The usual case, one gap (above
    the last range), takes no copy of the rows."""
    if inside is not None:
        rows, gaps = rows.filter(~inside), gaps.filter(~inside)
    if gaps.min() == gaps.max():
        return [(int(gaps[0]), rows)]
    grouped = rows.with_columns(gaps.alias("_gap")).partition_by(
        "_gap", as_dict=True, maintain_order=True, include_key=False
    )
    return [(int(gap), group) for (gap,), group in grouped.items()]  # type: ignore[call-overload]


def _just_above(trace: str) -> str:
    """A bound just above ``trace``: no trace number (15 digits, CHECKed) lies between the
    two, since a string between them would have to be ``trace`` followed by a character
    below "0" (bounds compare bytewise: trace_number is COLLATE "C")."""
    return trace + "0"


def _part_bounds(traces: pl.Series, low: str, high: str) -> list[Bounds]:
    """[low, high) cut into up to :data:`PARALLEL_PARTS` trace ranges of about equal size."""
    points = [p for p in _split_points(traces, PARALLEL_PARTS) if low < p < high]
    return list(zip([low, *points], [*points, high], strict=True))


def _parted_day(conn: psycopg.Connection, day: date) -> str | None:
    """The name of ``day``'s partition if it is itself partitioned by trace_number (a day
    loaded in parts), else None."""
    name = f"entries_{day:%Y%m%d}"
    row = conn.execute(
        "SELECT 1 FROM pg_partitioned_table pt"
        " JOIN pg_inherits i ON i.inhrelid = pt.partrelid AND i.inhparent = 'entries'::regclass"
        " JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]"
        " WHERE pt.partrelid = to_regclass(%s) AND pt.partstrat = 'r' AND pt.partnatts = 1"
        "   AND a.attname = 'trace_number'",
        (name,),
    ).fetchone()
    return name if row else None


# The parts of a day partitioned by trace_number: (name, low, high), None for MINVALUE or
# MAXVALUE, read back from pg_get_expr's text ('…' with '' for a quote); the default part,
# if any, with NULL bounds and is_default.
_DAY_PARTS = (
    "SELECT c.relname,"
    "       CASE WHEN b.low = 'MINVALUE' THEN NULL"
    "            ELSE replace(substr(b.low, 2, length(b.low) - 2), '''''', '''') END AS low,"
    "       CASE WHEN b.high = 'MAXVALUE' THEN NULL"
    "            ELSE replace(substr(b.high, 2, length(b.high) - 2), '''''', '''') END,"
    "       pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'"
    f" FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid, {_BOUND_TEXTS}"
    " WHERE i.inhparent = to_regclass(%s)"
)


def _day_parts(
    conn: psycopg.Connection, parted: str
) -> tuple[list[tuple[str, str | None, str | None]], str | None]:
    """The range parts of ``parted`` as (name, low, high), ordered by low (MINVALUE first;
    compared as Python compares str, by code point, as "C" compares the UTF-8 bytes), and
    the name of its default part (None: it has none)."""
    found = conn.execute(_DAY_PARTS, (parted,)).fetchall()
    ranges = [(str(n), lo, hi) for n, lo, hi, is_default in found if not is_default]
    rest = next((str(n) for n, _, _, is_default in found if is_default), None)
    return sorted(ranges, key=lambda part: (part[1] is not None, part[1] or "")), rest


def _next_part_number(parted: str, names: Sequence[str]) -> int:
    """1 + the highest n of the parts named ``<parted>_<n>``."""
    prefix = f"{parted}_"
    numbers = [name.removeprefix(prefix) for name in names if name.startswith(prefix)]
    return max((int(n) for n in numbers if n.isdigit()), default=0) + 1


def _check_batches(conn: psycopg.Connection, rows: pl.DataFrame) -> None:
    """Every (batch_id, outbound_file_id) pair names a batch of that file.

    The parent's statement trigger checks this for rows routed through it; rows COPYed into a
    new day's table and attached never pass it, so the loader checks the distinct pairs (a
    handful per file) here, in the same transaction, with the trigger's message.
    """
    # Every distinct pair starts a run of equal pairs somewhere, and a file's rows come
    # batch by batch: the run starts are a few per batch, cheaper to find than unique() of a
    # million pairs (5 ms against 40).
    both = rows.select("batch_id", "outbound_file_id")
    starts = pl.any_horizontal(pl.all().ne_missing(pl.all().shift(1))).fill_null(True)
    pairs = both.filter(starts).unique()
    bad = conn.execute(
        "SELECT p.batch_id, p.outbound_file_id"
        " FROM unnest(%s::bigint[], %s::bigint[]) AS p(batch_id, outbound_file_id)"
        " LEFT JOIN batches b ON b.id = p.batch_id"
        " WHERE b.id IS NULL OR b.outbound_file_id IS DISTINCT FROM p.outbound_file_id LIMIT 1",
        (pairs.get_column("batch_id").to_list(), pairs.get_column("outbound_file_id").to_list()),
    ).fetchone()
    if bad is not None:
        raise StoreIntegrityError(
            f"entries refer to batch {bad[0]} which is not a batch of outbound file {bad[1]}",
            constraint="entries_batch_file_check",
        )
