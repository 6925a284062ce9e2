"""Payees (receivers) in the ledger: keyed by the originator's reference, protected accounts,
a status (active / blocked / needs_authorization) and a history of every change.

Account numbers are written through the ledger's :class:`AccountProtector` (ciphertext, keyed
hash, last four). History keeps the keyed hash of a replaced account, so a later transfer
that still carries an account a NOC corrected is recognised without decrypting anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import polars as pl
import psycopg
from psycopg.types.json import Jsonb

from nacha.corrections import ACCOUNT_TYPES
from pipeline.actions.settings import ActionsSettings
from pipeline.errors import ConfigError
from pipeline.store.errors import StoreError, translate_errors
from pipeline.store.ledger import Ledger

__all__ = [
    "PAYEE_COLUMNS",
    "PAYEE_SCHEMA",
    "Payee",
    "authorize_payee",
    "ensure_payee_from_entry",
    "entry_payee_ref",
    "index_payees",
    "load_payees",
    "local_settings",
    "no_jit",
    "payee_history_frame",
    "payee_ref_expr",
    "payees_frame",
    "record_history",
    "set_payee_status",
]

PAYEE_COLUMNS = (
    "id",
    "payee_ref",
    "company_id",
    "routing_number",
    "account_ciphertext",
    "account_hash",
    "account_last4",
    "account_type",
    "individual_name",
    "identification_number",
    "required_sec_code",
    "status",
    "status_code",
    "status_reason",
)
PAYEE_SCHEMA = pl.Schema(
    {
        "payee_ref": pl.String,
        "company_id": pl.String,
        "routing_number": pl.String,
        "account_last4": pl.String,
        "account_type": pl.String,
        "individual_name": pl.String,
        "status": pl.String,
        "status_code": pl.String,
        "status_reason": pl.String,
        "status_changed_at": pl.Datetime("us", "UTC"),
    }
)


@dataclass(frozen=True)
class Payee:
    """One payee row (the account only as ciphertext, hash and last four)."""

    id: int
    payee_ref: str
    company_id: str | None
    routing_number: str
    account_ciphertext: bytes
    account_hash: bytes
    account_last4: str
    account_type: str
    individual_name: str | None
    identification_number: str | None
    required_sec_code: str | None
    status: str
    status_code: str | None
    status_reason: str | None


def payee_ref_expr(
    settings: ActionsSettings,
    *,
    reference: str | pl.Expr = "reference",
    identification: str | pl.Expr = "identificationNumber",
) -> pl.Expr:
    """The payee key of each row: the trimmed identification number, or the first
    ``reference_prefix_length`` characters of the reference; null when there is none."""
    ref = pl.col(reference) if isinstance(reference, str) else reference
    ident = pl.col(identification) if isinstance(identification, str) else identification
    if settings.payee_key == "reference_prefix":
        n = settings.reference_prefix_length or 0
        key = ref.cast(pl.String).str.strip_chars().str.slice(0, n)
    else:
        key = ident.cast(pl.String).str.strip_chars()
    return pl.when(key == "").then(None).otherwise(key).alias("payee_ref")


def load_payees(ledger: Ledger, refs: Iterable[str]) -> dict[str, Payee]:
    """Payees by reference (missing references are simply absent)."""
    wanted_set = {r for r in refs if r}
    wanted = sorted(wanted_set)
    if not wanted:
        return {}
    cols = ", ".join(f"p.{c}" for c in PAYEE_COLUMNS)
    with translate_errors("reading payees"):
        # joins on unnest(): hash joins for thousands of keys (= ANY over a big array
        # compares every row with every key)
        rows = ledger.conn.execute(
            f"SELECT {cols} FROM payees p JOIN unnest(%s::text[]) AS w(k) ON p.payee_ref = w.k"
            f" UNION SELECT {cols} FROM payees p JOIN unnest(%s::text[]) AS w(k)"
            " ON p.identification_number = w.k AND p.identification_number <> p.payee_ref"
            " ORDER BY 1",
            (wanted, wanted),
        ).fetchall()
    return index_payees(rows, wanted_set)


def index_payees(rows: Iterable[Sequence[Any]], wanted: set[str]) -> dict[str, Payee]:
    """Payee rows (``PAYEE_COLUMNS`` order) by the wanted references: by payee_ref, and by
    identification number for a payee whose identification a C09 corrected."""
    found: dict[str, Payee] = {}
    for row in rows:
        payee = Payee(*row)
        found[payee.payee_ref] = payee
    for payee in found.copy().values():  # a C09-corrected identification finds its payee
        if payee.identification_number in wanted:
            found.setdefault(payee.identification_number, payee)
    return {k: v for k, v in found.items() if k in wanted}


@contextmanager
def local_settings(conn: psycopg.Connection, **values: str) -> Iterator[None]:
    """Settings for the statements inside (the caller's transaction), restored after."""
    previous = {
        name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone() for name in values
    }
    for name, value in values.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))
    try:
        yield
    finally:
        if not conn.broken and conn.info.transaction_status in (
            psycopg.pq.TransactionStatus.INTRANS,
        ):
            for name, row in previous.items():
                if row is not None:
                    conn.execute("SELECT set_config(%s, %s, true)", (name, row[0]))


@contextmanager
def no_jit(conn: psycopg.Connection, *, work_mem: str | None = None) -> Iterator[None]:
    """JIT off for the statements inside (the caller's transaction): bulk statements over
    unanalysed temporary tables get row estimates in the millions, and compiling for those
    costs ~1 s on this machine for a statement that runs in a fraction of that. ``work_mem``
    (e.g. ``"256MB"``) lets a million-row join or sort stay in memory instead of spilling
    to disk (the server default is 4 MB)."""
    values = {"jit": "off", **({"work_mem": work_mem} if work_mem else {})}
    with local_settings(conn, **values):
        yield


def entry_payee_ref(entry: Mapping[str, Any], settings: ActionsSettings) -> str | None:
    """The payee key of an entry we sent (its ``reference`` and ``individual_id``)."""
    if settings.payee_key == "reference_prefix":
        ref = (entry.get("reference") or "").strip()[: settings.reference_prefix_length or 0]
    else:
        ref = (entry.get("individual_id") or "").strip()
    return ref or None


def ensure_payee_from_entry(
    ledger: Ledger, ref: str, entry: Mapping[str, Any], *, actor: str
) -> Payee:
    """The payee ``ref``; enrolled from an entry we sent (protected account columns copied
    as they are) when it is not known yet. ``entry`` has entry_id, company_id,
    transaction_code, rdfi_routing, account_ciphertext/hash/last4, individual_name/_id."""
    found = load_payees(ledger, [ref])
    if ref in found:
        return found[ref]
    account_type = ACCOUNT_TYPES.get(str(entry["transaction_code"])[0], "checking")
    with translate_errors("enrolling a payee from an entry"):
        row = ledger.conn.execute(
            "INSERT INTO payees (payee_ref, company_id, routing_number, account_ciphertext,"
            " account_hash, account_last4, account_type, individual_name, identification_number)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                ref,
                entry["company_id"],
                entry["rdfi_routing"],
                entry["account_ciphertext"],
                entry["account_hash"],
                entry["account_last4"],
                account_type,
                (entry.get("individual_name") or "").strip() or None,
                (entry.get("individual_id") or "").strip() or None,
            ),
        ).fetchone()
    assert row is not None
    record_history(
        ledger,
        row[0],
        [("payee", None, ref)],
        source="enrol",
        actor=actor,
        detail={"from_entry": entry.get("entry_id")},
    )
    return load_payees(ledger, [ref])[ref]


def load_payee(ledger: Ledger, payee_ref: str) -> Payee:
    found = load_payees(ledger, [payee_ref])
    if payee_ref not in found:
        raise ConfigError(f"no payee with reference {payee_ref!r}")
    return found[payee_ref]


def record_history(
    ledger: Ledger,
    payee_id: int,
    changes: Sequence[tuple[str, Any, Any]],
    *,
    source: str,
    actor: str,
    source_id: int | None = None,
    hashes: dict[str, tuple[bytes | None, bytes | None]] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one history row per (field, old, new); accounts are passed masked, with their
    keyed hashes in ``hashes[field] = (old_hash, new_hash)``."""
    hashes = hashes or {}
    with translate_errors("recording payee history"):
        for name, old, new in changes:
            old_hash, new_hash = hashes.get(name, (None, None))
            ledger.conn.execute(
                "INSERT INTO payee_history (payee_id, field, old_value, new_value, old_hash,"
                " new_hash, source, source_id, changed_by, detail)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    payee_id,
                    name,
                    None if old is None else str(old),
                    None if new is None else str(new),
                    old_hash,
                    new_hash,
                    source,
                    source_id,
                    actor,
                    Jsonb(detail or {}),
                ),
            )


def set_payee_status(
    ledger: Ledger,
    payee_id: int,
    status: str,
    *,
    code: str | None,
    reason: str | None,
    source: str,
    actor: str,
    source_id: int | None = None,
) -> bool:
    """Change a payee's status (with a history row); False when it already had it."""
    with translate_errors("changing a payee status"), ledger.conn.transaction():
        row = ledger.conn.execute(
            "SELECT status, status_code FROM payees WHERE id = %s FOR UPDATE", (payee_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no payee with id {payee_id}")
        if row[0] == status and (status == "active" or row[1] == code):
            return False
        ledger.conn.execute(
            "UPDATE payees SET status = %s, status_code = %s, status_reason = %s,"
            " status_changed_at = now(), updated_at = now() WHERE id = %s",
            (status, None if status == "active" else code, reason, payee_id),
        )
        record_history(
            ledger,
            payee_id,
            [("status", f"{row[0]} {row[1] or ''}".strip(), f"{status} {code or ''}".strip())],
            source=source,
            source_id=source_id,
            actor=actor,
            detail={"reason": reason} if reason else None,
        )
    return True


def authorize_payee(ledger: Ledger, payee_ref: str, *, actor: str, note: str) -> bool:
    """Record a new authorization from the Receiver: a payee that needed one is active again.

    ``note`` says what evidence was received (it goes to the history). A payee blocked for
    its account stays blocked: it needs new account details, not an authorization.
    """
    if not note.strip():
        raise ConfigError("a new authorization needs a note describing the evidence")
    payee = load_payee(ledger, payee_ref)
    if payee.status != "needs_authorization":
        raise ConfigError(
            f"payee {payee_ref} is {payee.status}"
            + (f" ({payee.status_reason})" if payee.status_reason else "")
            + ": only a payee that needs a new authorization can be authorized"
        )
    with ledger.transaction():
        set_payee_status(
            ledger, payee.id, "active", code=None, reason=None, source="authorization", actor=actor
        )
        record_history(
            ledger, payee.id, [("authorization", None, note)], source="authorization", actor=actor
        )
    return True


def payees_frame(
    ledger: Ledger, *, status: str | None = None, inactive: bool = False
) -> pl.DataFrame:
    """Payees for people (PAYEE_SCHEMA): account as last four only. ``status`` keeps one
    status; ``inactive`` only the payees that are not active (what the report lists — read
    in SQL, not by loading every payee of a book of millions)."""
    cols = ", ".join(PAYEE_SCHEMA.names())
    with translate_errors("reading payees"):
        rows = ledger.conn.execute(
            f"SELECT {cols} FROM payees WHERE (%s::text IS NULL OR status = %s::text)"
            " AND (NOT %s OR status <> 'active') ORDER BY payee_ref",
            (status, status, inactive),
        ).fetchall()
    return pl.DataFrame(rows, schema=PAYEE_SCHEMA, orient="row")


def payee_history_frame(ledger: Ledger, payee_ref: str) -> pl.DataFrame:
    """The history of one payee (accounts masked), oldest first."""
    schema = pl.Schema(
        {
            "changed_at": pl.Datetime("us", "UTC"),
            "field": pl.String,
            "old_value": pl.String,
            "new_value": pl.String,
            "source": pl.String,
            "source_id": pl.Int64,
            "changed_by": pl.String,
        }
    )
    with translate_errors("reading payee history"):
        rows = ledger.conn.execute(
            "SELECT h.changed_at, h.field, h.old_value, h.new_value, h.source, h.source_id,"
            " h.changed_by FROM payee_history h JOIN payees p ON p.id = h.payee_id"
            " WHERE p.payee_ref = %s ORDER BY h.id",
            (payee_ref,),
        ).fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")
