"""A big new day of entries loaded in parts by side connections (pipeline/store/entries_load.py,
sql/0071): the parts land as trace-range sub-partitions of the day, the keys and CHECKs hold
across them, and a failure, or a load killed before its end, leaves nothing behind."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import psycopg
import pytest

from pipeline.store import (
    SQL_DIR,
    DuplicateError,
    Ledger,
    StoreIntegrityError,
    entries_load,
    entries_sides,
    migrate,
)
from tests.pipeline._ledger_samples import (
    DAY_PARTS_KEY,
    ENTRY_CHECKS,
    NATURAL_KEY,
    check_constraints,
    entries_frame,
    migrate_all_but,
    record_file,
    traces,
)

DAY = date(2026, 3, 3)


@pytest.fixture(autouse=True)
def small_parallel_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Days of 4 entries or more take the parallel path (200,000 in production)."""
    monkeypatch.setattr(entries_load, "PARALLEL_MIN_ROWS", 4)


def _tables(conn: psycopg.Connection, pattern: str) -> list[str]:
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relname LIKE %s AND relkind IN ('r', 'p')"
        " ORDER BY relname",
        (pattern,),
    ).fetchall()
    return [r for (r,) in rows]


def _children(conn: psycopg.Connection, parent: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        (parent,),
    ).fetchall()
    return dict(rows)


def _count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_big_new_day_is_loaded_in_parts_and_attached_as_one_partition(
    ledger: Ledger, pg_conn
) -> None:
    # file order is not trace order: ids follow the file, parts follow the traces
    order = traces(11, 5) + traces(1, 5)
    before = pg_conn.execute(
        "SELECT coalesce(last_value, 0) FROM pg_sequences WHERE sequencename = 'entries_id_seq'"
    ).fetchone()[0]
    record_file(ledger, entries_frame(order), effective=DAY)

    assert _children(pg_conn, "entries")["entries_20260303"] == (
        "FOR VALUES FROM ('2026-03-03') TO ('2026-03-04')"
    )
    parts = _children(pg_conn, "entries_20260303")
    assert sorted(parts) == ["entries_20260303_1", "entries_20260303_2"]
    split = parts["entries_20260303_2"].removeprefix("FOR VALUES FROM ('").split("'")[0]
    # from the smallest trace to just above the largest: a later file's traces fall outside
    low, high = min(order), max(order) + "0"
    assert parts["entries_20260303_1"] == f"FOR VALUES FROM ('{low}') TO ('{split}')"
    assert parts["entries_20260303_2"] == f"FOR VALUES FROM ('{split}') TO ('{high}')"
    assert _count(pg_conn, "entries_20260303_1") + _count(pg_conn, "entries_20260303_2") == 10
    assert _count(pg_conn, "entries_20260303_1") > 0
    assert _count(pg_conn, "entries_20260303_2") > 0
    assert _tables(pg_conn, "entries\\_stage\\_%") == []

    # each part's four indexes carry the final names and are attached to the day's
    indexes = pg_conn.execute(
        "SELECT x.indexrelid::regclass::text, p.inhparent::regclass::text FROM pg_index x"
        " JOIN pg_inherits p ON p.inhrelid = x.indexrelid"
        " WHERE x.indrelid = 'entries_20260303_1'::regclass ORDER BY 1"
    ).fetchall()
    assert indexes == [
        ("entries_file_brin_20260303_1", "entries_file_brin_20260303"),
        ("entries_id_idx_20260303_1", "entries_id_idx_20260303"),
        ("entries_reference_idx_20260303_1", "entries_reference_idx_20260303"),
        ("entries_trace_effective_key_20260303_1", "entries_trace_effective_key_20260303"),
    ]
    # the CHECKs that bounded the parts for attaching are gone, the parent's stay
    assert check_constraints(pg_conn, "entries_20260303_2") == ENTRY_CHECKS
    # ids: one block of the sequence, given in file order
    ids = pg_conn.execute("SELECT id, trace_number FROM entries ORDER BY id").fetchall()
    assert [t for _, t in ids] == order
    assert [i for i, _ in ids] == list(range(before + 1, before + 11))
    assert pg_conn.execute("SELECT nextval('entries_id_seq')").fetchone()[0] == before + 11

    # a later file for the day: a trace inside the day's ranges goes through the parent into
    # the parts' live indexes, which refuse a repeat; the rest get parts of their own
    with pytest.raises(DuplicateError) as info:
        record_file(ledger, entries_frame(traces(3, 1) + traces(20, 4)), effective=DAY, name="b")
    assert info.value.constraint == "entries_trace_effective_key"
    assert sorted(_children(pg_conn, "entries_20260303")) == [
        "entries_20260303_1",
        "entries_20260303_2",
    ]
    record_file(ledger, entries_frame(traces(20, 4)), effective=DAY, name="c")
    assert _count(pg_conn, "entries_20260303") == 14
    assert sorted(_children(pg_conn, "entries_20260303")) == [
        "entries_20260303_1",
        "entries_20260303_2",
        "entries_20260303_3",
        "entries_20260303_4",
    ]


def test_later_files_for_a_day_in_parts_add_parts_for_traces_outside_its_ranges(
    ledger: Ledger, pg_conn
) -> None:
    """Traces inside the day's ranges go into the live parts. Those in a gap below, between
    or above them become new parts bounded just around them when they are many (in parts of
    their own), numbered on from the day's last part; a few go into the day's default part,
    created the first time it is needed."""
    first = traces(10, 4) + traces(15, 4)  # 14 left out: a later trace inside the ranges
    record_file(ledger, entries_frame(first), effective=DAY, name="first")
    low, high = traces(10, 1)[0], traces(18, 1)[0] + "0"
    parts = _children(pg_conn, "entries_20260303")
    assert parts["entries_20260303_1"].startswith(f"FOR VALUES FROM ('{low}')")
    assert _high(parts["entries_20260303_2"]) == high

    # below the ranges: two rows (the default part); inside: one; above: five (new parts)
    later = traces(5, 2) + traces(14, 1) + traces(20, 5)
    record_file(ledger, entries_frame(later), effective=DAY, name="later")
    parts = _children(pg_conn, "entries_20260303")
    assert sorted(parts) == [
        *(f"entries_20260303_{n}" for n in range(1, 5)),
        "entries_20260303_default",
    ]
    assert parts["entries_20260303_default"] == "DEFAULT"
    assert parts["entries_20260303_3"].startswith(f"FOR VALUES FROM ('{traces(20, 1)[0]}')")
    assert parts["entries_20260303_4"].endswith(f"TO ('{traces(24, 1)[0]}0')")
    assert _count(pg_conn, "entries_20260303_default") == 2
    assert _count(pg_conn, "entries_20260303_3") + _count(pg_conn, "entries_20260303_4") == 5
    # the live row went into the part whose range holds it
    holder = pg_conn.execute(
        "SELECT tableoid::regclass::text FROM entries WHERE trace_number = %s", traces(14, 1)
    ).fetchone()[0]
    assert holder in ("entries_20260303_1", "entries_20260303_2")

    # a few more in a gap join the default part; a repeat there is refused by its key
    record_file(ledger, entries_frame(traces(7, 1)), effective=DAY, name="between")
    assert _count(pg_conn, "entries_20260303_default") == 3
    with pytest.raises(DuplicateError) as info:
        record_file(ledger, entries_frame(traces(6, 1)), effective=DAY, name="again")
    assert info.value.constraint == "entries_trace_effective_key"
    # many in a gap whose range the default part already has a trace in: through the parent
    record_file(ledger, entries_frame(traces(3, 2) + traces(8, 2)), effective=DAY, name="low")
    assert _count(pg_conn, "entries_20260303_default") == 7  # 5, 6, 7 lie between 4 and 8
    # a repeat among the rows of a new part fails that part's unique index build, whole
    with pytest.raises(DuplicateError) as info:
        record_file(ledger, entries_frame(traces(30, 4) + traces(31, 1)), effective=DAY, name="d")
    assert info.value.constraint == "entries_trace_effective_key"
    assert len(_children(pg_conn, "entries_20260303")) == 5
    assert _tables(pg_conn, "entries\\_stage\\_%") == []
    # and a new part can still be attached above, the default part holding nothing there
    record_file(ledger, entries_frame(traces(40, 4)), effective=DAY, name="top")
    assert len(_children(pg_conn, "entries_20260303")) == 7

    assert _count(pg_conn, "entries") == 8 + 8 + 1 + 4 + 4
    for name in _children(pg_conn, "entries_20260303"):
        assert check_constraints(pg_conn, name) == ENTRY_CHECKS
        keys = pg_conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            (name,),
        ).fetchall()
        assert keys == [(f"entries_trace_effective_key_{name.removeprefix('entries_')}",)]


def test_a_day_whose_parts_cover_every_trace_takes_later_files_through_them(
    ledger: Ledger, pg_conn
) -> None:
    """Days loaded in parts before the ranges were bounded by the day's traces span MINVALUE
    to MAXVALUE: every later trace falls inside, so later files go through the live parts."""
    record_file(ledger, entries_frame(traces(10, 4)), effective=DAY, name="first")
    parts = _children(pg_conn, "entries_20260303")
    split = _high(parts["entries_20260303_1"])
    for name, bound in (("entries_20260303_1", "MINVALUE"), ("entries_20260303_2", "MAXVALUE")):
        pg_conn.execute(f"ALTER TABLE entries_20260303 DETACH PARTITION {name}")
        low, high = (bound, f"'{split}'") if bound == "MINVALUE" else (f"'{split}'", bound)
        pg_conn.execute(
            f"ALTER TABLE entries_20260303 ATTACH PARTITION {name}"
            f" FOR VALUES FROM ({low}) TO ({high})"
        )
    record_file(ledger, entries_frame(traces(1, 4) + traces(20, 4)), effective=DAY, name="more")
    assert sorted(_children(pg_conn, "entries_20260303")) == [
        "entries_20260303_1",
        "entries_20260303_2",
    ]
    assert _count(pg_conn, "entries_20260303") == 12


def _high(bound: str) -> str:
    """The upper bound of a 'FOR VALUES FROM (…) TO (…)' text."""
    return bound.rsplit("TO ('", 1)[1].removesuffix("')")


def test_a_duplicate_inside_a_part_fails_the_load_and_leaves_nothing(
    ledger: Ledger, pg_conn
) -> None:
    """The unique index build of the part holding the trace refuses it; the other part's
    committed staging table is dropped, and the file row rolls back."""
    with pytest.raises(DuplicateError) as info:
        record_file(ledger, entries_frame(traces(1, 8) + traces(8, 1)), effective=DAY)
    assert info.value.constraint == "entries_trace_effective_key"
    assert "is duplicated" in str(info.value)
    assert _tables(pg_conn, "entries\\_stage\\_%") == []
    assert _tables(pg_conn, "entries\\_2026%") == []
    assert _count(pg_conn, "entries") == 0
    assert _count(pg_conn, "outbound_files") == 0
    # and the day loads once the file is right
    record_file(ledger, entries_frame(traces(1, 8)), effective=DAY, name="fixed")
    assert _count(pg_conn, "entries_20260303") == 8


def test_a_killed_loads_staging_tables_are_dropped_by_the_next_load(
    ledger: Ledger, pg_conn
) -> None:
    """A load killed after its side connections committed leaves staging tables that no
    partition holds; the next load drops them (and only them)."""
    for n in (1, 2):
        pg_conn.execute(
            f"CREATE TABLE entries_stage_20260301_0badf00d_{n}"
            " (LIKE entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
    record_file(ledger, entries_frame(traces(1, 1)), effective=DAY)  # a small load
    assert _tables(pg_conn, "entries\\_stage\\_%") == []
    assert _count(pg_conn, "entries_20260303") == 1


def test_the_small_path_and_the_parts_path_make_the_same_day(ledger: Ledger, pg_conn) -> None:
    """Below the threshold a new day is partitioned by trace number too, with one part bounded
    by its traces, loaded on the caller's connection; every level carries the parent's key."""
    record_file(ledger, entries_frame(traces(1, 3)), effective=DAY)
    record_file(ledger, entries_frame(traces(1, 4)), effective=date(2026, 3, 4), name="big")
    kinds = dict(
        pg_conn.execute(
            "SELECT relname, relkind FROM pg_class"
            " WHERE relname IN ('entries_20260303', 'entries_20260304')"
        ).fetchall()
    )
    assert kinds == {"entries_20260303": "p", "entries_20260304": "p"}
    low, high = traces(1, 1)[0], traces(3, 1)[0] + "0"
    assert _children(pg_conn, "entries_20260303") == {
        "entries_20260303_1": f"FOR VALUES FROM ('{low}') TO ('{high}')"
    }
    assert len(_children(pg_conn, "entries_20260304")) == 2
    assert check_constraints(pg_conn, "entries_20260303_1") == ENTRY_CHECKS
    keys = pg_conn.execute(
        "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'p' AND conrelid::regclass::text LIKE 'entries\\_2026%' ORDER BY 1"
    ).fetchall()
    assert {d for _, d in keys} == {"PRIMARY KEY (trace_number, effective_date)"}
    assert len(keys) == 5  # each day, the small day's part and the big day's two parts
    assert _tables(pg_conn, "entries\\_stage\\_%") == []


def test_a_big_file_after_a_small_first_one_for_the_day_gets_parts_of_its_own(
    ledger: Ledger, pg_conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case a plain partition for the small first file made slow: the big file went
    through its live indexes. Now its traces, above the small part's range, become new parts
    loaded by side connections; a trace of the small file repeated is still refused."""
    record_file(ledger, entries_frame(traces(1, 2)), effective=DAY, name="small")
    assert sorted(_children(pg_conn, "entries_20260303")) == ["entries_20260303_1"]
    sides: list[int] = []
    real = entries_sides._run_sides
    monkeypatch.setattr(
        entries_sides,
        "_run_sides",
        lambda side_conns, *args: sides.append(len(side_conns)) or real(side_conns, *args),
    )
    with pytest.raises(DuplicateError) as info:
        record_file(ledger, entries_frame(traces(2, 1) + traces(3, 6)), effective=DAY, name="b")
    assert info.value.constraint == "entries_trace_effective_key"
    record_file(ledger, entries_frame(traces(3, 6)), effective=DAY, name="big")
    assert sides[-1] == 2
    parts = _children(pg_conn, "entries_20260303")
    assert sorted(parts) == [f"entries_20260303_{n}" for n in (1, 2, 3)]
    assert parts["entries_20260303_2"].startswith(f"FOR VALUES FROM ('{traces(3, 1)[0]}')")
    assert _count(pg_conn, "entries_20260303_1") == 2
    assert _count(pg_conn, "entries_20260303_2") + _count(pg_conn, "entries_20260303_3") == 6
    assert ledger.entries_frame().get_column("trace_number").to_list() == traces(1, 8)


def test_migration_widens_the_key_of_a_ledger_holding_entries(
    pg_empty: psycopg.Connection, account_protector, tmp_path: Path
) -> None:
    sql_dir = migrate_all_but(pg_empty, DAY_PARTS_KEY, tmp_path)
    ledger = Ledger(pg_empty, account_protector)
    # before 0071 the parent's key has no trace_number: every new day is one plain table
    record_file(ledger, entries_frame(traces(1, 5)), effective=DAY, name="before.ach")
    _copy_an_entry_to_the_default_partition(pg_empty)
    assert sorted(_children(pg_empty, "entries")) == ["entries_20260303", "entries_default"]

    shutil.copy(SQL_DIR / DAY_PARTS_KEY, sql_dir / DAY_PARTS_KEY)
    assert [m.version for m in migrate(pg_empty, sql_dir=sql_dir)] == [71]

    keys = _keys_of_entries(pg_empty)
    widened = "PRIMARY KEY (id, effective_date, trace_number)"
    assert keys == {
        "entries": f"entries_pkey {widened}",
        "entries_20260303": f"entries_pkey_20260303 {widened}",
        "entries_default": f"entries_pkey_default {widened}",
    }
    assert _count(pg_empty, "entries") == 6
    # the old day's key still refuses a repeat; a big new day is loaded in parts
    _refuses_repeats_and_loads_a_day_in_parts(
        ledger, pg_empty, [(DAY, traces(2, 1))], date(2026, 3, 4)
    )
    assert _count(pg_empty, "entries") == 12


def test_the_natural_key_migration_rebuilds_every_level_of_a_ledger_holding_entries(
    pg_empty: psycopg.Connection, account_protector, tmp_path: Path
) -> None:
    """0072 on a ledger with a small day (a plain partition, as versions before trace-range
    parts for small days made it), a big day loaded in parts (a partitioned partition) and a
    row in the default partition: every table at every level gets the natural key and the id
    index, under the names errors rely on."""
    sql_dir = migrate_all_but(pg_empty, NATURAL_KEY, tmp_path)
    ledger = Ledger(pg_empty, account_protector)
    with pytest.MonkeyPatch.context() as earlier_version:
        earlier_version.setattr(entries_load, "_load_new_day_in_parts", entries_load.load_new_day)
        record_file(ledger, entries_frame(traces(1, 3)), effective=DAY, name="small.ach")
    record_file(ledger, entries_frame(traces(1, 6)), effective=date(2026, 3, 4), name="big.ach")
    _copy_an_entry_to_the_default_partition(pg_empty)
    ids_before = pg_empty.execute("SELECT id, trace_number FROM entries ORDER BY id").fetchall()

    shutil.copy(SQL_DIR / NATURAL_KEY, sql_dir / NATURAL_KEY)
    assert [m.version for m in migrate(pg_empty, sql_dir=sql_dir)] == [72]

    keys = _keys_of_entries(pg_empty)
    unique = (
        "SELECT count(*) FROM pg_constraint"
        " WHERE contype = 'u' AND conrelid::regclass::text LIKE 'entries%'"
    )
    assert pg_empty.execute(unique).fetchone() == (0,)  # the old unique key is gone everywhere
    natural = "PRIMARY KEY (trace_number, effective_date)"
    assert keys == {
        table: f"entries_trace_effective_key{suffix} {natural}"
        for table, suffix in [
            ("entries", ""),
            ("entries_20260303", "_20260303"),
            ("entries_20260304", "_20260304"),
            ("entries_20260304_1", "_20260304_1"),
            ("entries_20260304_2", "_20260304_2"),
            ("entries_default", "_default"),
        ]
    }
    id_indexes = pg_empty.execute(
        "SELECT x.indrelid::regclass::text, x.indexrelid::regclass::text,"
        "       pg_get_indexdef(x.indexrelid) LIKE '%USING btree (id)'"
        " FROM pg_partition_tree('entries_id_idx') t JOIN pg_index x ON x.indexrelid = t.relid"
        " ORDER BY 1"
    ).fetchall()
    assert id_indexes == [
        ("entries", "entries_id_idx", True),
        ("entries_20260303", "entries_id_idx_20260303", True),
        ("entries_20260304", "entries_id_idx_20260304", True),
        ("entries_20260304_1", "entries_id_idx_20260304_1", True),
        ("entries_20260304_2", "entries_id_idx_20260304_2", True),
        ("entries_default", "entries_id_idx_default", True),
    ]
    assert pg_empty.execute("SELECT id, trace_number FROM entries ORDER BY id").fetchall() == (
        ids_before
    )
    # a repeat is refused in a plain day and in a part, naming the parent's key; a new big
    # day is loaded in parts with the new set of indexes
    _refuses_repeats_and_loads_a_day_in_parts(
        ledger,
        pg_empty,
        [(DAY, traces(2, 1)), (date(2026, 3, 4), traces(5, 1))],
        date(2026, 3, 5),
    )
    assert _count(pg_empty, "entries") == 16


def _copy_an_entry_to_the_default_partition(conn: psycopg.Connection) -> None:
    """A copy of one entry dated 2026-03-09, a day without a partition: it lands in
    entries_default, as a row written by hand would."""
    conn.execute(
        "INSERT INTO entries (outbound_file_id, batch_id, trace_number, company_id, sec_code,"
        " transaction_code, amount_cents, effective_date, rdfi_routing, account_ciphertext,"
        " account_hash, account_last4)"
        " SELECT outbound_file_id, batch_id, trace_number, company_id, sec_code,"
        " transaction_code, amount_cents, date '2026-03-09', rdfi_routing, account_ciphertext,"
        " account_hash, account_last4 FROM entries LIMIT 1"
    )


def _keys_of_entries(conn: psycopg.Connection) -> dict[str, str]:
    """Table → "name definition" of the primary key of each of entries' tables."""
    rows = conn.execute(
        "SELECT conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid)"
        " FROM pg_constraint WHERE contype = 'p' AND conrelid::regclass::text LIKE 'entries%'"
    ).fetchall()
    keys = dict(rows)
    assert len(keys) == len(rows), rows
    return keys


def _refuses_repeats_and_loads_a_day_in_parts(
    ledger: Ledger,
    conn: psycopg.Connection,
    repeats: list[tuple[date, list[str]]],
    new_day: date,
) -> None:
    """After a migration: each (day, traces) of ``repeats`` is refused, naming the parent's
    key, and six entries for ``new_day`` are loaded in two parts."""
    for day, trace in repeats:
        with pytest.raises(DuplicateError) as info:
            record_file(ledger, entries_frame(trace), effective=day, name=f"again-{day}.ach")
        assert info.value.constraint == "entries_trace_effective_key"
    record_file(ledger, entries_frame(traces(1, 6)), effective=new_day, name="new.ach")
    day_table = f"entries_{new_day:%Y%m%d}"
    assert sorted(_children(conn, day_table)) == [f"{day_table}_1", f"{day_table}_2"]


def test_a_big_day_with_a_missing_trace_is_refused_whole(ledger: Ledger, pg_conn) -> None:
    """A row without a trace number falls in no trace range: such a day takes the one-table
    path, whose NOT NULL refuses it, instead of leaving the row out."""
    with pytest.raises(StoreIntegrityError) as info:
        record_file(ledger, entries_frame([*traces(1, 5), None]), effective=DAY)  # type: ignore[list-item]
    assert info.value.sqlstate == "23502"  # not_null_violation
    assert _count(pg_conn, "entries") == 0
    assert _count(pg_conn, "outbound_files") == 0
    assert _tables(pg_conn, "entries\\_stage\\_%") == []


def test_side_connections_get_the_callers_parameters_and_password(pg_url: str) -> None:
    """``info.dsn`` leaves the password out; the side connections need it (the server here
    trusts 127.0.0.1, so it is only carried, not checked)."""
    from psycopg.conninfo import conninfo_to_dict

    with psycopg.connect(pg_url, password="s3cret", application_name="achpipe-test") as conn:
        conninfo = entries_sides.side_conninfo(conn)
        with psycopg.connect(conninfo) as side:
            assert (side.info.dbname, side.info.host) == (conn.info.dbname, conn.info.host)
    params = conninfo_to_dict(conninfo)
    assert params["password"] == "s3cret"
    assert params["application_name"] == "achpipe-test"
