"""Keeping payees in step with the day's transfers (used by :mod:`pipeline.actions.screen`):
bulk enrolment of new payees, NOC-superseded data in a transfer rewritten to the payee's
current data, genuinely new account details from upstream taken over (lifting a block that
waited for them). Accounts only ever as ciphertext, keyed hash and last four.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
import psycopg

from pipeline.actions.payees import Payee, load_payees, no_jit, record_history
from pipeline.store.csv_copy import copy_csv
from pipeline.store.errors import DuplicateError, translate_errors
from pipeline.store.ledger import Ledger

__all__ = ["ACCOUNT_TYPE_NAMES", "enrol_frame", "reconcile_payee"]

#: payee account type -> the builder's accountType (GL and loan cannot be built)
ACCOUNT_TYPE_NAMES = {"checking": "Checking", "savings": "Savings"}
_TYPES = ACCOUNT_TYPE_NAMES


_ENROL_TABLE = "_screen_enrol"
#: the staged payees not enrolled yet, with their new ids
_NEW_TABLE = "_screen_enrol_new"
#: a reference enrolled by another session mid-statement costs one more attempt; more than a
#: few in a row means something else is wrong
_ENROL_ATTEMPTS = 3
#: enough for the enrolment's anti-join and sort of a million new payees to stay in memory
_ENROL_WORK_MEM = "256MB"
_ENROL_COLUMNS = {
    "n": pl.Int64,
    "payee_ref": pl.String,
    "routing_number": pl.String,
    "account_ciphertext": pl.Binary,
    "account_hash": pl.Binary,
    "account_last4": pl.String,
    "account_type": pl.String,
    "individual_name": pl.String,
    "identification_number": pl.String,
    "reference": pl.String,
}


def _blank_to_null(column: str, frame: pl.DataFrame) -> pl.Expr:
    if column not in frame.columns:
        return pl.lit(None, dtype=pl.String)
    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def enrol_frame(ledger: Ledger, new: pl.DataFrame, actor: str) -> int:
    """Enrol new payees in bulk: ``new`` has one transfer per new payee (``payee_ref``,
    ``account_hash`` and the connectFi columns), in input order. Binary COPY into a temporary
    table, then set-based INSERTs of the payees and their ``enrol`` history rows; returns
    how many were created (a reference enrolled meanwhile is left alone)."""
    if new.height == 0:
        return 0
    assert ledger.protector is not None
    # the keyed hash is already in ``account_hash``: only encrypt (each distinct account once)
    cts = ledger.protector.encrypt_series(new.get_column("DFIAccountNumber").cast(pl.String))
    account = pl.col("DFIAccountNumber").cast(pl.String).str.strip_chars()
    kind = (
        pl.col("accountType").cast(pl.String).fill_null("").replace("", "Checking")
        if "accountType" in new.columns
        else pl.lit("Checking")
    )
    kind = kind.str.strip_chars().str.to_lowercase()
    staged = new.select(
        n=pl.int_range(pl.len(), dtype=pl.Int64),
        payee_ref=pl.col("payee_ref"),
        routing_number=pl.col("routingNumber").cast(pl.String).str.strip_chars(),
        account_ciphertext=cts,
        account_hash=pl.col("account_hash"),
        account_last4=pl.when(account.str.len_chars() > 4)
        .then(account.str.slice(-4))
        .otherwise(pl.lit("")),
        account_type=pl.when(kind.is_in(list(_TYPES))).then(kind).otherwise(pl.lit("checking")),
        individual_name=_blank_to_null("individualName", new),
        identification_number=_blank_to_null("identificationNumber", new),
        reference=pl.col("reference").cast(pl.String),
    ).cast(_ENROL_COLUMNS)  # type: ignore[arg-type]
    with translate_errors("enrolling payees"):
        ledger.conn.execute(f"DROP TABLE IF EXISTS pg_temp.{_ENROL_TABLE}")
        ledger.conn.execute(
            f"CREATE TEMP TABLE {_ENROL_TABLE} (n int8, payee_ref text, routing_number text,"
            " account_ciphertext bytea, account_hash bytea, account_last4 text,"
            " account_type text, individual_name text, identification_number text,"
            " reference text) ON COMMIT DROP"
        )
    copy_csv(ledger.conn, _ENROL_TABLE, staged)
    with no_jit(ledger.conn, work_mem=_ENROL_WORK_MEM):
        created = _insert_staged(ledger.conn, actor)
    with translate_errors("enrolling payees"):
        ledger.conn.execute(f"DROP TABLE {_ENROL_TABLE}")
    return created


def _insert_staged(conn: psycopg.Connection, actor: str) -> int:
    """Insert the staged payees not enrolled yet, and their ``enrol`` history; return how
    many. Each new payee gets its id from the payees sequence first (in input order), so the
    payees and their history are two plain INSERTs from one table: no ``ON CONFLICT``
    (a speculative insertion per row), no ``RETURNING`` joined back on the reference.

    A reference another session enrols while this runs makes the payees INSERT fail on
    ``payees_ref_key``; the attempt is rolled back to its savepoint and made again, when the
    other session's payee is committed and skipped. Nothing is enrolled twice."""
    for attempt in range(1, _ENROL_ATTEMPTS + 1):
        try:
            with translate_errors("enrolling payees"), conn.transaction():
                return _insert_once(conn, actor)
        except DuplicateError as exc:
            if exc.constraint != "payees_ref_key" or attempt == _ENROL_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _insert_once(conn: psycopg.Connection, actor: str) -> int:
    conn.execute(f"DROP TABLE IF EXISTS pg_temp.{_NEW_TABLE}")
    # ORDER BY inside the subquery: nextval() runs in the outer projection, after the sort
    cur = conn.execute(
        f"CREATE TEMP TABLE {_NEW_TABLE} ON COMMIT DROP AS"
        " SELECT nextval('payees_id_seq') AS id, s.*"
        f" FROM (SELECT * FROM {_ENROL_TABLE} s WHERE NOT EXISTS"
        "  (SELECT FROM payees p WHERE p.payee_ref = s.payee_ref) ORDER BY n) s"
    )
    created = cur.rowcount
    conn.execute(
        "INSERT INTO payees (id, payee_ref, routing_number, account_ciphertext, account_hash,"
        " account_last4, account_type, individual_name, identification_number)"
        " SELECT id, payee_ref, routing_number, account_ciphertext, account_hash,"
        f" account_last4, account_type, individual_name, identification_number FROM {_NEW_TABLE}"
        " ORDER BY id"
    )
    conn.execute(
        "INSERT INTO payee_history (payee_id, field, new_value, source, changed_by, detail)"
        " SELECT id, 'payee', payee_ref, 'enrol', %s,"
        f" jsonb_build_object('from_transfer', reference) FROM {_NEW_TABLE} ORDER BY id",
        (actor,),
    )
    conn.execute(f"DROP TABLE {_NEW_TABLE}")
    return created


def reconcile_payee(
    ledger: Ledger,
    payee: Payee,
    row: dict[str, Any],
    digest: bytes,
    superseded: Mapping[str, set[Any]],
    actor: str,
    outcome: Any,
) -> Payee:
    """Bring the transfer and the payee together: NOC-superseded data in the transfer is
    rewritten to the payee's; genuinely new account details update the payee."""
    assert ledger.protector is not None
    old = superseded
    routing = str(row.get("routingNumber") or "").strip()
    same_account = digest == bytes(payee.account_hash)
    stale_account = digest in old.get("account_number", set())
    stale_routing = routing in old.get("routing_number", set())
    corrected = False
    if (same_account or stale_account) and (routing == payee.routing_number or stale_routing):
        if stale_account:
            row["DFIAccountNumber"] = ledger.protector.decrypt(payee.account_ciphertext)
            corrected = True
        if stale_routing and routing != payee.routing_number:
            row["routingNumber"] = payee.routing_number
            corrected = True
    elif stale_account or stale_routing:
        pass  # half old, half unknown: leave the payee alone, the build checks the rest
    else:
        payee = _new_account(ledger, payee, row, digest, actor, outcome)
    kind = str(row.get("accountType") or "").strip().lower()
    if kind in old.get("account_type", set()) and payee.account_type in _TYPES:
        row["accountType"] = _TYPES[payee.account_type]
        corrected = True
    name = str(row.get("individualName") or "").strip()
    if name in old.get("individual_name", set()) and payee.individual_name:
        row["individualName"] = payee.individual_name
        corrected = True
    ident = str(row.get("identificationNumber") or "").strip()
    if ident in old.get("identification_number", set()) and payee.identification_number:
        row["identificationNumber"] = payee.identification_number
        corrected = True
    outcome.corrected += int(corrected)
    return payee


def _new_account(
    ledger: Ledger,
    payee: Payee,
    row: Mapping[str, Any],
    digest: bytes,
    actor: str,
    outcome: Any,
) -> Payee:
    assert ledger.protector is not None
    ct, _, last4 = ledger.protector.protect(str(row["DFIAccountNumber"]))
    routing = str(row["routingNumber"]).strip()
    changes: list[tuple[str, Any, Any]] = []
    if digest != bytes(payee.account_hash):
        changes.append(("account_number", f"****{payee.account_last4}", f"****{last4}"))
    if routing != payee.routing_number:
        changes.append(("routing_number", payee.routing_number, routing))
    unblock = payee.status == "blocked"
    with translate_errors("updating a payee's account"):
        ledger.conn.execute(
            "UPDATE payees SET routing_number = %s, account_ciphertext = %s, account_hash = %s,"
            " account_last4 = %s, updated_at = now() WHERE id = %s",
            (routing, ct, digest, last4, payee.id),
        )
        if unblock:
            ledger.conn.execute(
                "UPDATE payees SET status = 'active', status_code = NULL, status_reason = NULL,"
                " status_changed_at = now() WHERE id = %s",
                (payee.id,),
            )
            changes.append(("status", f"blocked {payee.status_code or ''}".strip(), "active"))
    record_history(
        ledger,
        payee.id,
        changes,
        source="transfer",
        actor=actor,
        hashes={"account_number": (bytes(payee.account_hash), digest)},
        detail={"reference": row.get("reference")},
    )
    outcome.unblocked += int(unblock)
    return load_payees(ledger, [payee.payee_ref])[payee.payee_ref]
