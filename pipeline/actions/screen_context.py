"""What the ledger knows about one screening input, read in a handful of set queries.

The input's keys (payee reference, transfer reference, account hash) are COPYed once into a
temporary table (a CSV COPY written by polars, :mod:`pipeline.store.csv_copy`: a fraction of a
second per million rows, where binding a 100,000-element array parameter costs about a second
per array, and ``= ANY`` over it is a nested loop); every read below is a join against it, so
each costs one round trip whatever the day's volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from pipeline.actions.payees import PAYEE_COLUMNS, Payee, index_payees, no_jit
from pipeline.store.csv_copy import copy_csv
from pipeline.store.errors import translate_errors
from pipeline.store.ledger import Ledger

__all__ = ["KEYS_TABLE", "ScreenContext", "load_context"]

#: the temporary table of the input's keys (dropped at the end of the transaction)
KEYS_TABLE = "_screen_keys"


@dataclass
class ScreenContext:
    """What the ledger knows about the references, payees and accounts of this input."""

    payees: dict[str, Payee]
    superseded: dict[int, dict[str, set[Any]]]
    late_nocs: dict[int, list[str]]
    blocked_hashes: dict[bytes, str]
    retries: dict[str, dict[str, Any]]
    returned: dict[str, list[tuple[str, str]]]


def _query(ledger: Ledger, sql: str, params: tuple[Any, ...], action: str) -> list[dict[str, Any]]:
    with translate_errors(action), ledger.conn.cursor() as cur:
        cur.execute(sql, params)  # type: ignore[arg-type]
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _load_keys(ledger: Ledger, keys: pl.DataFrame) -> None:
    """``keys`` (payee_ref, reference, account_hash) into the temporary keys table."""
    with translate_errors("staging the transfers to screen"):
        ledger.conn.execute(f"DROP TABLE IF EXISTS pg_temp.{KEYS_TABLE}")
        ledger.conn.execute(
            f"CREATE TEMP TABLE {KEYS_TABLE} (payee_ref text, reference text,"
            " account_hash bytea) ON COMMIT DROP"
        )
    copy_csv(ledger.conn, KEYS_TABLE, keys, columns=["payee_ref", "reference", "account_hash"])
    with translate_errors("staging the transfers to screen"):
        ledger.conn.execute(f"ANALYZE {KEYS_TABLE}")


def load_context(ledger: Ledger, keys: pl.DataFrame, business_date: date) -> ScreenContext:
    """The screening context of ``keys`` (one row per transfer: payee_ref, reference,
    account_hash; nulls allowed). Runs in the caller's transaction."""
    with no_jit(ledger.conn):
        return _load(ledger, keys, business_date)


def _load(ledger: Ledger, keys: pl.DataFrame, business_date: date) -> ScreenContext:
    _load_keys(ledger, keys)
    cols = ", ".join(f"p.{c}" for c in PAYEE_COLUMNS)
    refs = f"(SELECT DISTINCT payee_ref FROM {KEYS_TABLE} WHERE payee_ref IS NOT NULL)"
    with translate_errors("reading payees"):
        rows = ledger.conn.execute(
            f"SELECT {cols} FROM payees p JOIN {refs} w ON p.payee_ref = w.payee_ref"
            f" UNION ALL SELECT {cols} FROM payees p JOIN {refs} w"
            " ON p.identification_number = w.payee_ref AND p.payee_ref <> w.payee_ref"
            # as the partial index (sql/0061) is written: those found by payee_ref are above
            " AND p.identification_number <> p.payee_ref"
            " ORDER BY 1"
        ).fetchall()
    wanted = set(keys.get_column("payee_ref").drop_nulls().unique().to_list())
    payees = index_payees(rows, wanted)
    ids = sorted({p.id for p in payees.values()})
    superseded: dict[int, dict[str, set[Any]]] = {}
    for h in _query(
        ledger,
        "SELECT payee_id, field, old_value, old_hash FROM payee_history"
        " WHERE source = 'noc' AND payee_id = ANY(%s)",
        (ids,),
        "reading NOC history",
    ):
        slot = superseded.setdefault(h["payee_id"], {}).setdefault(h["field"], set())
        slot.add(bytes(h["old_hash"]) if h["old_hash"] is not None else h["old_value"])
    # unapplied NOCs that stop entries: past their deadline, or answering a prenote (a NOC on
    # a prenote must be acted on before live entries, returns-and-rates.md §4.3)
    late: dict[int, list[str]] = {}
    for n in _query(
        ledger,
        "SELECT a.id, a.payee_id, a.change_code, a.deadline, a.deadline < %s AS overdue"
        " FROM noc_applications a JOIN nocs n ON n.id = a.noc_id"
        " LEFT JOIN entries e ON e.id = n.entry_id"
        " WHERE a.state IN ('queued', 'pending_approval') AND a.payee_id = ANY(%s)"
        " AND (a.deadline < %s OR e.transaction_code %% 10 IN (3, 8)) ORDER BY a.id",
        (business_date, ids, business_date),
        "reading unapplied NOCs",
    ):
        why = (
            f"was due by {n['deadline']}"
            if n["overdue"]
            else "answers a prenote and must be applied before live entries"
        )
        late.setdefault(n["payee_id"], []).append(
            f"NOC {n['change_code']} (application {n['id']}) {why} and is not applied: "
            "approve it (achpipe noc) before paying this payee"
        )
    blocked = {
        bytes(b["account_hash"]): b["payee_ref"]
        for b in _query(
            ledger,
            "SELECT account_hash, payee_ref FROM payees WHERE status = 'blocked'"
            f" AND account_hash IN (SELECT account_hash FROM {KEYS_TABLE})",
            (),
            "reading blocks",
        )
    }
    retries = {
        r["retry_reference"]: r
        for r in _query(
            ledger,
            "SELECT retry_reference, state, amount_cents, company_id,"
            " company_name, latest_date, attempt, original_entry_id,"
            " (SELECT count(*) FROM reinitiations s WHERE s.original_entry_id ="
            "  r.original_entry_id AND s.state = 'sent' AND s.id <> r.id) AS sent"
            f" FROM reinitiations r WHERE retry_reference IN (SELECT reference FROM {KEYS_TABLE})",
            (),
            "reading planned retries",
        )
    }
    returned: dict[str, list[tuple[str, str]]] = {}
    for a in _query(
        ledger,
        "SELECT reference, return_code, action FROM return_actions"
        f" WHERE reference IN (SELECT reference FROM {KEYS_TABLE}) ORDER BY id",
        (),
        "reading returns",
    ):
        returned.setdefault(a["reference"], []).append((a["return_code"], a["action"]))
    return ScreenContext(payees, superseded, late, blocked, retries, returned)
