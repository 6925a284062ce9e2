"""The ledger repository on a real Postgres: runs, files, inbound, returns, NOCs, transfers."""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl
import psycopg
import pytest

from pipeline.store import (
    DuplicateError,
    InvalidStateTransition,
    Ledger,
    OutboundFile,
    StoreIntegrityError,
)
from tests.pipeline._ledger_samples import DEST, ORIGIN, batches_frame, entries_frame, traces

DAY = date(2026, 3, 2)


def _record(
    ledger: Ledger,
    entries: pl.DataFrame,
    *,
    content: bytes = b"file-1",
    modifier: str | None = None,
    **kw,
) -> int:
    modifier = modifier or ledger.allocate_file_id_modifier(ORIGIN, DEST, DAY)
    return ledger.record_outbound_file(
        OutboundFile(
            file_name=f"f_{modifier}.ach",
            content=content,
            immediate_origin=ORIGIN,
            immediate_destination=DEST,
            creation_date=DAY,
            file_id_modifier=modifier,
            **kw,
        ),
        batches_frame(effective=date(2026, 3, 3)),
        entries,
    )


def test_run_get_or_create_and_resume(ledger: Ledger) -> None:
    run = ledger.start_run("nightly", DAY)
    assert not run.resumed and run.attempts == 1 and run.state == "running"
    assert ledger.begin_step(run.id, "build").state == "running"
    ledger.finish_step(run.id, "build", outcome="1 file", detail={"files": 1})
    ledger.begin_step(run.id, "seal")
    ledger.finish_step(run.id, "seal", state="failed", outcome="gpg missing")
    ledger.finish_run(run.id, outcome="error", exit_code=1, failed=True)

    again = ledger.start_run("nightly", DAY)
    assert again.id == run.id and again.resumed and again.attempts == 2
    assert again.state == "running"
    assert ledger.begin_step(run.id, "build").state == "done"  # done steps stay done
    seal = ledger.begin_step(run.id, "seal")
    assert (seal.state, seal.attempts) == ("running", 2)
    steps = ledger.run_steps(run.id)
    assert steps["build"].detail == {"files": 1} and steps["build"].outcome == "1 file"
    done = ledger.finish_run(run.id, outcome="ok")
    assert (done.state, done.exit_code) == ("finished", 0)
    assert ledger.start_run("nightly", date(2026, 3, 3)).id != run.id


def test_record_file_computes_totals_and_is_idempotent(ledger: Ledger, pg_conn) -> None:
    entries = entries_frame(traces(1, 3), codes=[27, 27, 22], amounts=[100, 200, 50])
    file_id = _record(ledger, entries, content=b"abc")
    row = pg_conn.execute(
        "SELECT sha256, size_bytes, batch_count, entry_count, total_debit_cents,"
        " total_credit_cents, state FROM outbound_files WHERE id = %s",
        (file_id,),
    ).fetchone()
    assert row == (hashlib.sha256(b"abc").hexdigest(), 3, 1, 3, 300, 50, "built")
    batch = pg_conn.execute(
        "SELECT entry_count, total_debit_cents, total_credit_cents FROM batches"
    ).fetchone()
    assert batch == (3, 300, 50)
    # Same bytes again (a rerun after a crash): same id, nothing new.
    assert (
        ledger.record_outbound_file(
            OutboundFile(
                file_name="x",
                content=b"abc",
                immediate_origin=ORIGIN,
                immediate_destination=DEST,
                creation_date=DAY,
                file_id_modifier="A",
            ),
            batches_frame(effective=date(2026, 3, 3)),
            entries,
        )
        == file_id
    )
    assert pg_conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 3
    frame = ledger.entries_frame()
    assert frame.get_column("trace_number").to_list() == traces(1, 3)
    assert frame.get_column("account_last4").to_list() == ["0000", "0001", "0002"]
    assert "account_number" not in frame.columns


def test_given_totals_must_match_entries(ledger: Ledger) -> None:
    with pytest.raises(StoreIntegrityError, match="total_debit_cents"):
        _record(ledger, entries_frame(traces(1, 2), amounts=[1, 2]), total_debit_cents=4)


def test_unique_keys_refuse_duplicates(ledger: Ledger, pg_conn) -> None:
    _record(ledger, entries_frame(traces(1, 2)), content=b"one")
    # Same (trace, effective date) in another file: refused, and the whole file is rolled back.
    with pytest.raises(DuplicateError) as info:
        _record(ledger, entries_frame(traces(2, 2)), content=b"two")
    assert info.value.constraint == "entries_trace_effective_key"
    assert pg_conn.execute("SELECT count(*) FROM outbound_files").fetchone()[0] == 1
    assert pg_conn.execute("SELECT count(*) FROM batches").fetchone()[0] == 1
    # Same modifier for a different file: refused.
    with pytest.raises(DuplicateError) as info:
        _record(ledger, entries_frame(traces(10, 1)), content=b"three", modifier="A")
    assert info.value.constraint == "outbound_files_modifier_key"
    # One run per (job, date); one inbound file per sha256 (raw inserts hit the keys).
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg_conn.execute(
            "INSERT INTO runs (job, business_date) VALUES ('j', %s), ('j', %s)", (DAY, DAY)
        )
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg_conn.execute(
            "INSERT INTO inbound_files (file_name, sha256, size_bytes) VALUES"
            " ('a', repeat('a', 64), 1), ('b', repeat('a', 64), 1)"
        )


def test_modifier_must_be_allocated(ledger: Ledger) -> None:
    with pytest.raises(StoreIntegrityError, match="not allocated"):
        _record(ledger, entries_frame(traces(1, 1)), modifier="C")


def test_file_state_machine(ledger: Ledger, pg_conn) -> None:
    file_id = _record(ledger, entries_frame(traces(1, 1)))
    with pytest.raises(InvalidStateTransition, match="'built' to 'verified'"):
        ledger.transition_file(file_id, "verified")
    assert ledger.transition_file(file_id, "sealed", sealed_sha256="b" * 64)
    assert not ledger.transition_file(file_id, "sealed")  # rerun: no-op
    assert ledger.transition_file(file_id, "uploaded", remote_path="/in/f.ach.pgp")
    assert ledger.transition_file(file_id, "verified")
    assert ledger.transition_file(file_id, "rejected", reason="bank: bad totals")
    with pytest.raises(InvalidStateTransition):
        ledger.transition_file(file_id, "acknowledged")
    events = pg_conn.execute(
        "SELECT from_state, to_state FROM outbound_file_events WHERE outbound_file_id = %s"
        " ORDER BY id",
        (file_id,),
    ).fetchall()
    assert events == [
        (None, "built"),
        ("built", "sealed"),
        ("sealed", "uploaded"),
        ("uploaded", "verified"),
        ("verified", "rejected"),
    ]
    row = pg_conn.execute(
        "SELECT sealed_sha256, remote_path, state_reason FROM outbound_files"
    ).fetchone()
    assert row == ("b" * 64, "/in/f.ach.pgp", "bank: bad totals")


def test_inbound_files_once_by_sha256(ledger: Ledger) -> None:
    first = ledger.record_inbound_file("r1.ach", "c" * 64, 940, kind="return")
    assert first.created and first.needs_ingest
    again = ledger.record_inbound_file("r1-renamed.ach", "c" * 64, 940)
    assert (again.id, again.created, again.file_name) == (first.id, False, "r1.ach")
    ledger.mark_inbound_ingested(first.id)
    assert not ledger.record_inbound_file("r1.ach", "c" * 64, 940).needs_ingest
    bad = ledger.record_inbound_file("junk.bin", "d" * 64, 3)
    with pytest.raises(ValueError):
        ledger.quarantine_inbound(bad.id, "")
    ledger.quarantine_inbound(bad.id, "not a NACHA file: line 1 is 3 characters")
    again = ledger.record_inbound_file("junk.bin", "d" * 64, 3)
    assert (again.state, again.quarantine_reason) == (
        "quarantined",
        "not a NACHA file: line 1 is 3 characters",
    )
    with pytest.raises(InvalidStateTransition):
        ledger.mark_inbound_ingested(bad.id)


def test_returns_and_nocs_link_to_entries(ledger: Ledger) -> None:
    _record(ledger, entries_frame(traces(1, 3)))
    inbound = ledger.record_inbound_file("ret.ach", "e" * 64, 1)
    returns = pl.DataFrame(
        {
            "trace_number": ["091000010000001", "091000010000002", "091000010000003"],
            "original_trace_number": [*traces(1, 2), "999999990000001"],
            "return_code": ["R01", "R68", "R05"],
            "amount_cents": [1000, 1001, 5],
            "received_date": [date(2026, 3, 5)] * 3,
            "addenda_information": ["", "", "QUESTIONABLE"],
        }
    )
    assert ledger.record_returns(inbound.id, returns) == 3
    assert ledger.record_returns(inbound.id, returns) == 0  # ingesting twice is harmless
    frame = ledger.returns_frame()
    assert frame.get_column("kind").to_list() == ["return", "dishonor", "return"]
    assert frame.get_column("category").to_list() == ["other", "other", "unauthorized"]
    assert frame.get_column("reference").to_list() == ["REF0", "REF1", None]  # unknown trace
    assert frame.get_column("inbound_file").to_list() == ["ret.ach"] * 3

    nocs = pl.DataFrame(
        {
            "trace_number": ["091000010000009"],
            "original_trace_number": traces(3, 1),
            "change_code": ["C01"],
            "corrected_data": ["55500011122       "],
            "received_date": [date(2026, 3, 5)],
        }
    )
    assert ledger.record_nocs(inbound.id, nocs) == 1
    noc = ledger.nocs_frame().row(0, named=True)
    assert noc["corrected_masked"].strip() == "*******1122"
    assert noc["reference"] == "REF2" and noc["applied"] is False
    assert ledger.decrypt_noc_corrected_data(noc["noc_id"]) == "55500011122       "
    ledger.mark_noc_applied(noc["noc_id"])
    assert ledger.nocs_frame().row(0, named=True)["applied"] is True


def test_upsert_transfers(ledger: Ledger, pg_conn) -> None:
    first = pl.DataFrame(
        {
            "cfi_transaction_id": ["CL_1", "CL_2", "CL_2"],
            "reference": ["r1", "r2", "r2"],
            "status": ["Initiated", "Initiated", "Sent"],  # CL_2 twice: the last row wins
            "amount_cents": [315, 1000, 1000],
            "account_number": ["123456789", "****4321", "****4321"],
            "effective_date": [date(2026, 3, 3)] * 3,
        }
    )
    assert ledger.upsert_transfers(first) == 2
    changed_at = dict(
        pg_conn.execute("SELECT cfi_transaction_id, status_changed_at FROM transfers").fetchall()
    )
    later = pl.DataFrame(
        {
            "cfi_transaction_id": ["CL_1", "CL_2"],
            "status": ["Returned", "Sent"],
            "amount_cents": [315, 1000],
            "return_code": ["R01", None],
            "noc_code": [None, "C01"],
            "noc_corrected_data": [None, "99988877766"],
        }
    )
    assert ledger.upsert_transfers(later) == 2
    api = ledger.api_statuses_frame()
    assert api.get_column("status").to_list() == ["Returned", "Sent"]
    assert api.get_column("return_code").to_list() == ["R01", None]
    assert api.get_column("noc_corrected_masked").to_list() == [None, "*******7766"]
    transfers = ledger.transfers_frame()
    assert transfers.get_column("account_last4").to_list() == ["6789", "4321"]
    assert transfers.get_column("effective_date").to_list() == [date(2026, 3, 3)] * 2  # kept
    now = dict(
        pg_conn.execute("SELECT cfi_transaction_id, status_changed_at FROM transfers").fetchall()
    )
    assert now["CL_1"] > changed_at["CL_1"] and now["CL_2"] == changed_at["CL_2"]
    hashed = pg_conn.execute("SELECT account_hash IS NOT NULL FROM transfers ORDER BY 1").fetchall()
    assert hashed == [(False,), (True,)]  # a masked account from the API is not hashed


def test_rate_snapshots_upsert(ledger: Ledger, pg_conn) -> None:
    snap = pl.DataFrame(
        {
            "company_id": ["1234567890", "1234567890"],
            "sec_code": [None, "WEB"],
            "report_date": [DAY, DAY],
            "debits": [100, 40],
            "unauthorized_rate_pct": [0.1, 0.25],
            "administrative_rate_pct": [1.0, 2.5],
            "overall_rate_pct": [3.0, 5.0],
        }
    )
    assert ledger.record_rate_snapshots(snap, source="ours") == 2
    assert (
        ledger.record_rate_snapshots(
            snap.with_columns(pl.lit(0.3).alias("unauthorized_rate_pct")), source="ours"
        )
        == 2
    )
    assert ledger.record_rate_snapshots(snap.head(1), source="api") == 1
    rows = pg_conn.execute(
        "SELECT sec_code, source, unauthorized_rate_pct FROM return_rate_snapshots"
        " ORDER BY source, sec_code"
    ).fetchall()
    assert [(r[0], r[1], float(r[2])) for r in rows] == [
        ("", "api", 0.1),
        ("", "ours", 0.3),
        ("WEB", "ours", 0.3),
    ]
    with pytest.raises(ValueError):
        ledger.record_rate_snapshots(snap, source="mine")


def test_transaction_groups_calls(ledger: Ledger, pg_conn) -> None:
    run = ledger.start_run("nightly", DAY)
    with pytest.raises(RuntimeError), ledger.transaction():
        ledger.begin_step(run.id, "ingest")
        ledger.record_inbound_file("a.ach", "f" * 64, 1)
        raise RuntimeError("crash before commit")
    assert ledger.run_steps(run.id) == {}
    assert pg_conn.execute("SELECT count(*) FROM inbound_files").fetchone()[0] == 0


def test_entries_reference_their_own_file_and_are_never_deleted(ledger: Ledger, pg_conn) -> None:
    first = _record(ledger, entries_frame(traces(1, 1)), content=b"one")
    second = _record(ledger, entries_frame(traces(2, 1)), content=b"two")
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="not a batch of outbound file"):
        pg_conn.execute(
            "UPDATE entries SET outbound_file_id = %s WHERE outbound_file_id = %s", (second, first)
        )
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="never deleted"):
        pg_conn.execute("DELETE FROM outbound_files WHERE id = %s", (first,))
    assert pg_conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 2


def test_inserted_entry_with_another_files_batch_is_refused(ledger: Ledger, pg_conn) -> None:
    first = _record(ledger, entries_frame(traces(1, 2)), content=b"one")
    second = _record(ledger, entries_frame(traces(3, 1)), content=b"two")
    with pytest.raises(
        psycopg.errors.ForeignKeyViolation,
        match=f"entry {traces(9, 1)[0]} refers to batch .* not a batch of outbound file {second}",
    ):
        pg_conn.execute(
            "INSERT INTO entries (outbound_file_id, batch_id, trace_number, company_id, sec_code,"
            " transaction_code, amount_cents, effective_date, rdfi_routing, account_ciphertext,"
            " account_hash, account_last4)"
            " SELECT %s, batch_id, %s, company_id, sec_code, transaction_code, amount_cents,"
            " effective_date + 1, rdfi_routing, account_ciphertext, account_hash, account_last4"
            " FROM entries WHERE outbound_file_id = %s LIMIT 1",
            (second, traces(9, 1)[0], first),
        )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("trace_number", "12345678000000A"),
        ("trace_number", "1234567800000001"),
        ("trace_number", "1234567X0000001"),  # a non-digit inside
        ("trace_number", " 23456780000001"),
        ("trace_number", "12345678000000\u0663"),  # 15 characters, an Arabic-Indic digit
    ],
)
def test_entry_format_checks(ledger: Ledger, column: str, value: str) -> None:
    entries = entries_frame(traces(1, 1)).with_columns(pl.lit(value).alias(column))
    with pytest.raises(StoreIntegrityError) as info:
        _record(ledger, entries)
    assert info.value.constraint == f"entries_{column}_check"


@pytest.mark.parametrize("sec_code", ["P1D", "ppd", "PP\u00c9", "PP", "PPDX"])
def test_entry_sec_code_check(ledger: Ledger, sec_code: str) -> None:
    modifier = ledger.allocate_file_id_modifier(ORIGIN, DEST, DAY)
    with pytest.raises(StoreIntegrityError):
        ledger.record_outbound_file(
            OutboundFile(
                file_name="x",
                content=b"x",
                immediate_origin=ORIGIN,
                immediate_destination=DEST,
                creation_date=DAY,
                file_id_modifier=modifier,
            ),
            batches_frame(effective=date(2026, 3, 3), sec_code=sec_code),
            entries_frame(traces(1, 1)),
        )
