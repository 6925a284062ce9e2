"""Loading a file's entries into the day-partitioned ``entries`` table (sql/0070-0072).

A day (effective date) that has no partition yet gets a fresh table: its rows are COPYed in
(FREEZE: written frozen, never rewritten by hint bits or vacuum; the columns with one value
in every row are filled in by DEFAULTs instead of sent), the parent's indexes (read from the
catalog) are built by sorting, and it is attached as the day's partition: the four indexes of
a million entries cost about 1 s of server CPU built so, against over 2 s as a million
insertions each. A day that already has a plain partition (a second file for the same
effective date whose first was small, or rows some other writer left in ``entries_default``)
is COPYed through the parent into the live indexes, which then refuse a duplicate (trace
number, effective date) row by row. A day loaded in parts takes a later file's traces that lie
outside its ranges as new parts (:func:`_load_into_parted_day`).

A big new day (:data:`PARALLEL_MIN_ROWS` rows or more) is split by trace-number range into
:data:`PARALLEL_PARTS` parts that as many backends load and index at the same time: one
backend does about 2 s of server work per million entries, which no client speed hides, and
only more backends use the machine's other cores (PG's own parallel index build does not
help: the COPY is most of the work). Each part is a staging table
(``entries_stage_<day>_<token>_<n>``) that a side connection creates, COPYs and indexes in
its own transaction, which commits. The caller's transaction then creates the day's
partition as a table partitioned by trace_number, attaches the parts to it (their indexes
attach to its indexes without a rebuild; their CHECKs on the day and on the trace range
spare every scan) and attaches it to ``entries``. Nothing of the day is visible before the
caller commits, so readers never see half a day. The unique (trace_number, effective_date)
key holds across the parts because a trace value falls in exactly one range, and inside a
part its unique index build refuses a duplicate, which fails the whole load. A failed
load's committed staging tables are dropped (best effort), and every load first drops the
staging tables that no partition holds (a killed load's).

The caller's transaction does everything that decides what the ledger holds: a failure
anywhere (a duplicate key found at the COPY or at the unique index build, a CHECK, an unknown
batch) rolls back the new partitions with the file row. One loader at a time: the first step
takes the lock that ATTACH PARTITION takes anyway (readers and row writers are not blocked by
it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pipeline.store.copy import copy_frames
from pipeline.store.errors import StoreError, StoreIntegrityError, translate_errors

# Rows per chunk of a COPY: the client prepares (e.g. encrypts) one while the server inserts
# the one before.
CHUNK_ROWS = 100_000

# A new day of at least this many rows is loaded in PARALLEL_PARTS parts by as many backends
# (module constants: tests lower the threshold). Below it, two more connections and a
# partitioned day cost more than they save: one backend loads 200,000 entries in ~0.5 s.
PARALLEL_MIN_ROWS = 200_000
PARALLEL_PARTS = 2
_SPLIT_SAMPLE = 20_000

# Columns that hold one value per batch, file or day, so that a whole load often has the same
# value in every row (always so for effective_date within a day and outbound_file_id within a
# file). Such a column is not sent: the fresh table gets the value as the column's DEFAULT
# for the COPY, which fills it in on the server (the same value, the same CHECKs), then the
# DEFAULT is dropped. Per million entries that is ~40 bytes a row less to encode, send and
# receive: about 17 % of the COPY stream and 9 % of the server's COPY CPU when all four are
# constant. Only these few are tested: comparing every column of a million rows costs more.
_CONSTANT_CANDIDATES = ("effective_date", "outbound_file_id", "company_id", "sec_code")

# Staging tables of the parallel path; one that no partition holds is a failed load's.
STAGE_PREFIX = "entries_stage_"

# The parent's indexes and constraints (the catalog says which: sql/0072 made the natural key
# the primary key) are built on each new table under the parent's name + "_" + YYYYMMDD (+ "_"
# + n for the parts of a day loaded in parallel), so an error names the parent constraint
# with a suffix appended (errors.py strips it). Each comes as (parent name, definition): a
# constraint's as pg_get_constraintdef prints it, an index's as pg_get_indexdef prints it
# after "USING" (its method, columns and storage parameters).
_PARENT_INDEXES = (
    "SELECT i.relname, c.contype IS NOT NULL,"
    "       coalesce(pg_get_constraintdef(c.oid),"
    "                substring(pg_get_indexdef(x.indexrelid) FROM ' USING (.*)$')),"
    "       x.indisunique,"
    "       EXISTS (SELECT 1 FROM unnest(x.indkey) k JOIN pg_attribute a"
    "               ON a.attrelid = x.indrelid AND a.attnum = k AND a.attname = 'trace_number')"
    " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
    " LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid"
    " WHERE x.indrelid = 'entries'::regclass ORDER BY i.relname"
)


@dataclass(frozen=True)
class ParentIndex:
    """One index of ``entries`` that every new partition must carry (to attach to it)."""

    name: str
    is_constraint: bool  # a primary key or unique constraint, else a plain index
    definition: str  # "PRIMARY KEY (…)" / "UNIQUE (…)", or "btree (reference)"
    unique: bool
    has_trace: bool  # trace_number is a key column

    def statement(self, table: str, suffix: str) -> sql.Composed:
        name = sql.Identifier(f"{self.name}_{suffix}")
        if self.is_constraint:
            return sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), name, sql.SQL(self.definition)
            )
        return sql.SQL("CREATE INDEX {} ON {} USING {}").format(
            name, sql.Identifier(table), sql.SQL(self.definition)
        )


def parent_indexes(conn: psycopg.Connection) -> list[ParentIndex]:
    """The indexes of ``entries``, read from the catalog (definitions in Postgres' own
    spelling)."""
    return [ParentIndex(*row) for row in conn.execute(_PARENT_INDEXES).fetchall()]


# Sorting a million keys in memory instead of in temporary files (this transaction only).
_INDEX_BUILD_MEMORY = "256MB"

# A side connection should never wait on a lock (the caller's transaction, which holds some,
# is waiting for it): if one did, this turns a hang into an error.
_SIDE_LOCK_TIMEOUT = "10s"
# A side backend asks the kernel to write back its dirty pages every 2 MB (the maximum).
_FLUSH_AFTER = "2MB"
# Dropping a failed load's staging tables waits no longer than this: the ones the caller's
# transaction still holds are left to the next load.
_CLEANUP_LOCK_TIMEOUT = "100ms"

# The range partitions of entries as (low, high) dates, MINVALUE/MAXVALUE as -/+infinity.
# The bounds are read back from pg_get_expr's text and cast in SQL, so the session's DateStyle
# prints and parses them alike.
_RANGES = (
    "SELECT CASE WHEN b.low = 'MINVALUE' THEN '-infinity'::date"
    "            ELSE btrim(b.low, '''')::date END AS low,"
    "       CASE WHEN b.high = 'MAXVALUE' THEN 'infinity'::date"
    "            ELSE btrim(b.high, '''')::date END AS high"
    " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,"
    " LATERAL (SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM [(](.*)[)] TO')"
    "                 AS low,"
    "                 substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO [(](.*)[)]$')"
    "                 AS high) b"
    " WHERE i.inhparent = 'entries'::regclass AND b.low IS NOT NULL"
)

Prepare = Callable[[pl.DataFrame], pl.DataFrame]
Bounds = tuple[str | None, str | None]


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
        return copy_frames(conn, "entries", _chunks(rows, prepare), columns=columns)
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
                loaded += copy_frames(conn, "entries", _chunks(group, prepare), columns=columns)
            else:
                loaded += _load_into_parted_day(conn, day, parted, group, prepare, columns, indexes)
        elif (
            group.height >= PARALLEL_MIN_ROWS
            and parts_ok
            # a missing trace falls in no range: the one-table path refuses it (NOT NULL)
            and group.get_column("trace_number").null_count() == 0
        ):
            loaded += _load_new_day_in_parts(conn, day, group, prepare, columns, indexes)
        else:
            suffix = f"{day:%Y%m%d}"
            loaded += _load_one_table(
                conn, f"entries_{suffix}", suffix, ("entries", day, day + timedelta(days=1)),
                day, (None, None), group, prepare, columns, indexes,
            )  # fmt: skip
    return loaded


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


def _chunks(rows: pl.DataFrame, prepare: Prepare | None) -> Iterator[pl.DataFrame]:
    for chunk in rows.iter_slices(CHUNK_ROWS):
        yield prepare(chunk) if prepare is not None else chunk


def _create_like_entries(conn: psycopg.Connection, table: str, partition_by: str = "") -> None:
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS){}").format(
            sql.Identifier(table), sql.SQL(partition_by)
        )
    )


def constant_columns(rows: pl.DataFrame, columns: Sequence[str]) -> dict[str, object]:
    """Those of :data:`_CONSTANT_CANDIDATES` among ``columns`` that hold one non-null value
    in every row of ``rows``, with that value."""
    found: dict[str, object] = {}
    if rows.height == 0:
        return found
    for name in _CONSTANT_CANDIDATES:
        if name not in columns or name not in rows.columns:
            continue
        column = rows.get_column(name)
        first = column[0]
        if first is not None and column.null_count() == 0 and bool((column == first).all()):
            found[name] = first
    return found


def _set_defaults(conn: psycopg.Connection, table: str, values: dict[str, object]) -> None:
    """Give ``table``'s columns these DEFAULTs (``values``: column → value); an empty dict
    is a no-op. A value that does not fit its column's type is refused here, as the COPY
    would have refused it."""
    if values:
        conn.execute(
            sql.SQL("ALTER TABLE {} {}").format(
                sql.Identifier(table),
                sql.SQL(", ").join(
                    sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(
                        sql.Identifier(name), sql.Literal(value)
                    )
                    for name, value in values.items()
                ),
            )
        )


def _drop_defaults(conn: psycopg.Connection, table: str, names: Sequence[str]) -> None:
    """Drop the DEFAULTs :func:`_set_defaults` gave (entries has none on those columns)."""
    if names:
        conn.execute(
            sql.SQL("ALTER TABLE {} {}").format(
                sql.Identifier(table),
                sql.SQL(", ").join(
                    sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(sql.Identifier(name))
                    for name in names
                ),
            )
        )


def _add_bound(
    conn: psycopg.Connection, table: str, day: date, bounds: Bounds = (None, None)
) -> str:
    """A CHECK that ``table`` holds only ``day`` (and traces in [low, high)): ATTACH then
    proves from it that the rows fit instead of scanning them. Returns its name."""
    low, high = bounds
    terms = [
        sql.SQL("effective_date >= {} AND effective_date < {}").format(
            sql.Literal(day), sql.Literal(day + timedelta(days=1))
        )
    ]
    if low is not None:
        terms.append(sql.SQL("trace_number >= {}").format(sql.Literal(low)))
    if high is not None:
        terms.append(sql.SQL("trace_number < {}").format(sql.Literal(high)))
    name = f"{table}_bound"
    conn.execute(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({})").format(
            sql.Identifier(table), sql.Identifier(name), sql.SQL(" AND ").join(terms)
        )
    )
    return name


def _drop_constraint(conn: psycopg.Connection, table: str, name: str) -> None:
    conn.execute(
        sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier(table), sql.Identifier(name)
        )
    )


def _build_indexes(
    conn: psycopg.Connection, table: str, suffix: str, indexes: Sequence[ParentIndex]
) -> None:
    """The parent's indexes on ``table`` (built by sorting), named parent + "_" + suffix."""
    conn.execute(
        sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(_INDEX_BUILD_MEMORY))
    )
    for index in indexes:
        conn.execute(index.statement(table, suffix))


def _attach(conn: psycopg.Connection, parent: str, part: str, low: object, high: object) -> None:
    """ATTACH ``part`` to ``parent`` for [low, high); None stands for MINVALUE/MAXVALUE."""
    conn.execute(
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
            sql.Identifier(parent),
            sql.Identifier(part),
            sql.SQL("MINVALUE") if low is None else sql.Literal(low),
            sql.SQL("MAXVALUE") if high is None else sql.Literal(high),
        )
    )


def _load_one_table(
    conn: psycopg.Connection,
    table: str,
    suffix: str,
    attach_to: tuple[str, object, object],
    day: date,
    traces: Bounds,
    rows: pl.DataFrame,
    prepare: Prepare | None,
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
) -> int:
    """COPY ``rows`` into a fresh ``table``, index it by sorting (the parent's indexes, named
    parent + "_" + ``suffix``) and attach it to ``attach_to`` (parent, low, high): a new
    day's partition of entries, or a new trace range of a day partitioned by trace number.
    A CHECK on ``day`` and the ``traces`` range lets ATTACH skip scanning the rows; it is
    dropped after. Columns with one value in every row are filled in by DEFAULTs
    (:func:`_copy_fresh`)."""
    _create_like_entries(conn, table)
    check = _add_bound(conn, table, day, traces)
    constants = constant_columns(rows, columns)
    loaded = _copy_fresh(conn, table, _chunks(rows, prepare), columns, constants)
    _build_indexes(conn, table, suffix, indexes)
    _attach(conn, *attach_to[:1], table, *attach_to[1:])
    _drop_constraint(conn, table, check)
    return loaded


def _copy_fresh(
    conn: psycopg.Connection,
    table: str,
    chunks: Iterator[pl.DataFrame],
    columns: Sequence[str],
    constants: dict[str, object],
) -> int:
    """COPY FREEZE into ``table`` (created in this transaction) all ``columns`` but the
    ``constants``, which the server fills in from DEFAULTs set for the COPY only."""
    _set_defaults(conn, table, constants)
    sent = [c for c in columns if c not in constants]
    loaded = copy_frames(conn, table, chunks, columns=sent, freeze=True)
    _drop_defaults(conn, table, list(constants))
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


def _side_conninfo(conn: psycopg.Connection) -> str:
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


def _load_new_day_in_parts(
    conn: psycopg.Connection,
    day: date,
    rows: pl.DataFrame,
    prepare: Prepare | None,
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
) -> int:
    """Load a big new day in trace-number ranges, one side connection each (module doc),
    then attach them in the caller's transaction as the parts of the day's partition.

    The ranges run from the day's smallest trace to just above its largest, not from
    MINVALUE to MAXVALUE: a later file for the day whose traces lie outside them (the trace
    sequence goes on from file to file) gets parts of its own (:func:`_load_into_parted_day`)
    instead of going through these parts' live indexes."""
    traces = rows.get_column("trace_number")
    bounds = _part_bounds(traces, str(traces.min()), _just_above(str(traces.max())))
    suffix = f"{day:%Y%m%d}"
    part = f"entries_{suffix}"
    _create_like_entries(conn, part, " PARTITION BY RANGE (trace_number)")
    _build_indexes(conn, part, suffix, indexes)
    loaded, checks = _load_parts(conn, day, part, 1, bounds, rows, prepare, columns, indexes)
    _attach(conn, "entries", part, day, day + timedelta(days=1))
    for table, check in checks:  # after the last ATTACH, which they spare a scan
        _drop_constraint(conn, table, check)
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
    file); each gap's rows become a new part bounded from their smallest trace to just above
    their largest, loaded like a new day (in parts of their own when they are many), so a
    second big file for a day costs what the first did."""
    parts = _day_parts(conn, parted)
    lows = [low or "" for _, low, _ in parts]  # MINVALUE: below every string
    traces = rows.get_column("trace_number")
    at = pl.Series(lows, dtype=pl.String).search_sorted(traces, side="right").cast(pl.Int64) - 1
    highs = pl.Series([high for _, _, high in parts], dtype=pl.String)
    high = (
        highs.gather(at.clip(lower_bound=0))
        if parts
        else pl.repeat(None, rows.height, dtype=pl.String, eager=True)
    )
    inside = (at >= 0) & (high.is_null() | (traces < high))
    loaded = 0
    live = int(inside.sum())
    if live:
        loaded += copy_frames(
            conn, "entries", _chunks(rows.filter(inside), prepare), columns=columns
        )
    if live == rows.height:
        return loaded
    number = _next_part_number(parted, [name for name, _, _ in parts])
    for gap, group in _gap_groups(rows, inside if live else None, at + 1):
        grouped = group.get_column("trace_number")
        low, high_bound = str(grouped.min()), _just_above(str(grouped.max()))
        if gap < len(lows) and lows[gap] < high_bound:  # gap n lies below range n
            high_bound = lows[gap]  # never past the next range's start
        if group.height >= PARALLEL_MIN_ROWS:
            bounds = _part_bounds(grouped, low, high_bound)
            count, checks = _load_parts(
                conn, day, parted, number, bounds, group, prepare, columns, indexes
            )
            for table, check in checks:
                _drop_constraint(conn, table, check)
            loaded += count
            number += len(bounds)
        else:
            suffix = f"{day:%Y%m%d}_{number}"
            loaded += _load_one_table(
                conn, f"{parted}_{number}", suffix, (parted, low, high_bound),
                day, (low, high_bound), group, prepare, columns, indexes,
            )  # fmt: skip
            number += 1
    return loaded


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
# MAXVALUE, read back from pg_get_expr's text ('…' with '' for a quote).
_DAY_PARTS = (
    "SELECT c.relname,"
    "       CASE WHEN b.low = 'MINVALUE' THEN NULL"
    "            ELSE replace(substr(b.low, 2, length(b.low) - 2), '''''', '''') END AS low,"
    "       CASE WHEN b.high = 'MAXVALUE' THEN NULL"
    "            ELSE replace(substr(b.high, 2, length(b.high) - 2), '''''', '''') END"
    " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,"
    " LATERAL (SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM [(](.*)[)] TO')"
    "                 AS low,"
    "                 substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO [(](.*)[)]$')"
    "                 AS high) b"
    " WHERE i.inhparent = to_regclass(%s)"
)


def _day_parts(conn: psycopg.Connection, parted: str) -> list[tuple[str, str | None, str | None]]:
    """The parts of ``parted`` as (name, low, high), ordered by low (MINVALUE first), compared
    as Python compares str: by code point, as "C" compares the UTF-8 bytes."""
    found = [(str(n), lo, hi) for n, lo, hi in conn.execute(_DAY_PARTS, (parted,)).fetchall()]
    return sorted(found, key=lambda part: (part[1] is not None, part[1] or ""))


def _next_part_number(parted: str, names: Sequence[str]) -> int:
    """1 + the highest n of the parts named ``<parted>_<n>``."""
    prefix = f"{parted}_"
    numbers = [name.removeprefix(prefix) for name in names if name.startswith(prefix)]
    return max((int(n) for n in numbers if n.isdigit()), default=0) + 1


def _load_parts(
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
    conninfo = _side_conninfo(conn)
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
            _attach(conn, parent, stage, low, high)
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
            _chunks(rows.filter(keep), prepare),
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
    in by DEFAULTs, :func:`_copy_fresh`), its indexes built.
    No parallel index workers: they would only compete with the other parts' backends."""
    with translate_errors(f"loading rows into {stage}"), side.transaction():
        side.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(_SIDE_LOCK_TIMEOUT)))
        # the kernel starts writing the part's pages out as they are written, so the fsync
        # at commit (wal_level=minimal) finds most on disk: 0.10-0.16 s -> 0.04-0.06 s
        side.execute(
            sql.SQL("SET LOCAL backend_flush_after = {}").format(sql.Literal(_FLUSH_AFTER))
        )
        _create_like_entries(side, stage)
        _add_bound(side, stage, day, bounds)
        loaded = _copy_fresh(side, stage, chunks, columns, constants)
        side.execute("SET LOCAL max_parallel_maintenance_workers = 0")
        _build_indexes(side, stage, suffix, indexes)
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
