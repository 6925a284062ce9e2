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


#: a reference enrolled by another session mid-statement costs one more attempt; more than a
#: few in a row means something else is wrong
_ENROL_ATTEMPTS = 3
_ENROL_COLUMNS = {
    "payee_ref": pl.String,
    "routing_number": pl.String,
    "account_ciphertext": pl.Binary,
    "account_hash": pl.Binary,
    "account_last4": pl.String,
    "account_type": pl.String,
    "individual_name": pl.String,
    "identification_number": pl.String,
    "detail": pl.String,
}
#: the payees columns an enrolment writes (the rest take their defaults)
_PAYEE_COPY = ("id", *(c for c in _ENROL_COLUMNS if c != "detail"))


def _blank_to_null(column: str, frame: pl.DataFrame) -> pl.Expr:
    if column not in frame.columns:
        return pl.lit(None, dtype=pl.String)
    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def enrol_frame(ledger: Ledger, new: pl.DataFrame, actor: str) -> int:
    """Enrol new payees in bulk: ``new`` has one transfer per new payee (``payee_ref``,
    ``account_hash`` and the connectFi columns), in input order. The payees get their ids
    from the payees sequence (in input order) and are COPYed straight into ``payees``, their
    ``enrol`` history rows into ``payee_history``; returns how many were created (a
    reference enrolled meanwhile is left alone)."""
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
        detail=pl.struct(from_transfer=pl.col("reference").cast(pl.String)).struct.json_encode(),
    ).cast(_ENROL_COLUMNS)  # type: ignore[arg-type]
    with no_jit(ledger.conn):
        return _insert_staged(ledger.conn, staged, actor)


def _insert_staged(conn: psycopg.Connection, staged: pl.DataFrame, actor: str) -> int:
    """COPY the staged payees and their ``enrol`` history; return how many were enrolled.
    Plain COPYs: no staging table, no ``ON CONFLICT`` (a speculative insertion per row), no
    ``RETURNING`` joined back on the reference — each payee's id is taken from the payees
    sequence first, in input order, so both tables are written from the one frame.

    A reference another session enrols while this runs makes the payees COPY fail on
    ``payees_ref_key``; the attempt is rolled back to its savepoint and made again without
    the references that now exist (the other session's payees are committed by then).
    Nothing is enrolled twice."""
    for attempt in range(1, _ENROL_ATTEMPTS + 1):
        try:
            with translate_errors("enrolling payees"), conn.transaction():
                if attempt > 1:
                    staged = _not_enrolled(conn, staged)
                return _insert_once(conn, staged, actor)
        except DuplicateError as exc:
            if exc.constraint != "payees_ref_key" or attempt == _ENROL_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _not_enrolled(conn: psycopg.Connection, staged: pl.DataFrame) -> pl.DataFrame:
    """The staged payees whose reference no payee has (now)."""
    rows = conn.execute(
        "SELECT p.payee_ref FROM payees p JOIN unnest(%s::text[]) AS w(k) ON p.payee_ref = w.k",
        (staged.get_column("payee_ref").to_list(),),
    ).fetchall()
    taken = pl.Series([r[0] for r in rows], dtype=pl.String)
    return staged.filter(~pl.col("payee_ref").is_in(taken.implode()))


def _insert_once(conn: psycopg.Connection, staged: pl.DataFrame, actor: str) -> int:
    if staged.height == 0:
        return 0
    # one id per payee from the sequence, ascending in input order (one round trip)
    row = conn.execute(
        "SELECT string_agg(id::text, ',' ORDER BY g) FROM"
        " (SELECT g, nextval('payees_id_seq') AS id FROM generate_series(1, %s) g) s",
        (staged.height,),
    ).fetchone()
    assert row is not None and row[0] is not None
    ids = pl.Series("id", row[0].split(","), dtype=pl.String).cast(pl.Int64)
    rows = staged.with_columns(ids)
    copy_csv(conn, "payees", rows, columns=_PAYEE_COPY)
    history = rows.select(
        payee_id="id",
        field=pl.lit("payee"),
        new_value="payee_ref",
        source=pl.lit("enrol"),
        changed_by=pl.lit(actor, dtype=pl.String),
        detail="detail",
    )
    copy_csv(conn, "payee_history", history)
    return rows.height


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
