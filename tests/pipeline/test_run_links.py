"""Processor ids from acknowledgments: appended to entry_transfer_links (not written into
entries), read back through every frame that carries ``transfer_id``."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipeline.run.inbound import _ack_links
from pipeline.run.queries import RunQueries
from pipeline.store import Ledger, StoreIntegrityError
from tests.pipeline._ledger_samples import entries_frame, record_file, traces

DAY = date(2026, 3, 2)


def _ids(ledger: Ledger) -> dict[str, str | None]:
    frame = ledger.entries_frame()
    return dict(zip(frame["trace_number"].to_list(), frame["transfer_id"].to_list(), strict=True))


def test_first_ack_is_copied_later_ones_replace_trace_by_trace(ledger: Ledger) -> None:
    t = traces(1, 3)
    file_id = record_file(ledger, entries_frame(t), effective=DAY)
    other = record_file(ledger, entries_frame(traces(50, 1)), effective=DAY)
    queries = RunQueries(ledger.conn)
    # a trace listed twice keeps its last id
    assert queries.link_transfer_ids(file_id, [(t[0], "A"), (t[1], "x"), (t[1], "B")]) == 2
    assert _ids(ledger) == {t[0]: "A", t[1]: "B", t[2]: None, traces(50, 1)[0]: None}
    # a second acknowledgment of the same file: new ids replace, unchanged ones are no-ops
    assert queries.link_transfer_ids(file_id, [(t[0], "A"), (t[1], "C"), (t[2], "D")]) == 2
    assert _ids(ledger) == {t[0]: "A", t[1]: "C", t[2]: "D", traces(50, 1)[0]: None}
    assert queries.link_transfer_ids(other, []) == 0
    assert queries.entry_transfer_ids(since=DAY) == ["A", "C", "D"]
    rows = ledger.conn.execute("SELECT count(*) FROM entries WHERE transfer_id IS NOT NULL")
    assert rows.fetchone() == (0,)  # entries themselves are never rewritten


def test_link_to_an_unknown_file_is_refused(ledger: Ledger) -> None:
    with pytest.raises(StoreIntegrityError, match="not recorded"):
        RunQueries(ledger.conn).link_transfer_ids(987654, [("123456780000001", "A")])


def test_links_reach_returns_and_entry_references(ledger: Ledger) -> None:
    t = traces(1, 2)
    file_id = record_file(ledger, entries_frame(t), effective=DAY)
    queries = RunQueries(ledger.conn)
    ledger.conn.execute(
        "UPDATE outbound_files SET state = 'acknowledged' WHERE id = %s", (file_id,)
    )
    assert queries.entry_references(since=DAY) == ["REF0", "REF1"]
    queries.link_transfer_ids(file_id, [(t[0], "A")])
    assert queries.entry_references(since=DAY) == ["REF1"]


def test_ack_links_keep_transactions_with_both_keys() -> None:
    links = _ack_links(
        [
            {"traceNumber": "1", "cFiTransactionId": "A"},
            {"traceNumber": "", "cFiTransactionId": "B"},  # no trace
            {"traceNumber": "3"},  # no id
            "not an object",
            {"traceNumber": 4, "cFiTransactionId": "D"},  # numbers become text
        ]
    )
    assert links.rows() == [("1", "A"), ("4", "D")]
    assert _ack_links([]).height == 0


def test_links_from_a_frame(ledger: Ledger) -> None:
    t = traces(1, 2)
    file_id = record_file(ledger, entries_frame(t), effective=DAY)
    frame = pl.DataFrame({"trace_number": t, "transfer_id": ["A", "B"]})
    assert RunQueries(ledger.conn).link_transfer_ids(file_id, frame) == 2
    assert _ids(ledger) == {t[0]: "A", t[1]: "B"}


@pytest.mark.parametrize(
    "columns",
    [
        ("trace_number", "amount_cents", "effective_date"),  # entries alone
        ("transfer_id", "batch_number", "file_state", "reference"),  # every join
        ("creation_date", "entry_id"),
    ],
)
def test_entries_frame_reads_only_the_columns_asked(ledger: Ledger, columns: tuple) -> None:
    t = traces(1, 3)
    file_id = record_file(ledger, entries_frame(t), effective=DAY)
    RunQueries(ledger.conn).link_transfer_ids(file_id, [(t[1], "B")])
    full = ledger.entries_frame()
    part = ledger.entries_frame(columns=columns)
    assert part.columns == [c for c in full.columns if c in columns]
    assert part.equals(full.select(part.columns))
    with pytest.raises(ValueError, match="no column"):
        ledger.entries_frame(columns=("nope",))


def test_sent_references_from_a_series_or_a_list(ledger: Ledger) -> None:
    record_file(ledger, entries_frame(traces(1, 2)), effective=DAY)
    asked = ["REF0", None, "", "X", "REF0", "REF1"]
    queries = RunQueries(ledger.conn)
    assert queries.sent_references(pl.Series(asked, dtype=pl.String)) == {"REF0", "REF1"}
    assert queries.sent_references(asked) == {"REF0", "REF1"}
    assert queries.sent_references(pl.Series([None], dtype=pl.String)) == set()
