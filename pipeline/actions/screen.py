"""The guard on the way into the build: payee master data and return/retry rules applied to
the day's transfers before the builder sees them.

``screen_transfers(ledger, transfers, business_date)`` returns ``(accepted, rejected)``:

* ``accepted`` has the input's columns; a transfer that still carries data a NOC corrected
  (a superseded account, routing number, account type, name or identification) is rewritten
  to the payee's current data — that is how the next day's file carries the corrected
  account — and the rewrite is counted, never printed with the account.
* ``rejected`` has ``row`` (1-based in the input), ``reference``, ``reason`` (all reasons of
  the row, ``; ``-separated), the builder's REJECTED_SCHEMA, so the caller concatenates it
  with the builder's own rejections.

Refused, with the reason: a payee blocked until new account details (a transfer with the
same blocked account — under any reference — too); a debit to a payee that needs a new
authorization; a payee whose NOC is still unapplied after its deadline; a payee that C14 says
must be paid as IAT; a payment stopped (R08); a returned payment sent again without a planned
re-initiation; a ``RETRY PYMT`` entry that is not a planned retry, changes the amount, the
company, or falls after the 180-day window.

Side effects (one transaction): payees are enrolled from new references; new account
details from upstream replace the payee's (history kept) and lift a block that was waiting
for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from nacha.calendar import FED_CALENDAR, BankingCalendar
from pipeline.actions.payee_sync import ACCOUNT_TYPE_NAMES as _TYPES
from pipeline.actions.payee_sync import enrol_frame, reconcile_payee
from pipeline.actions.payees import payee_ref_expr
from pipeline.actions.retries import RETRY_DESCRIPTION, link_sent_retries
from pipeline.actions.screen_context import ScreenContext, load_context
from pipeline.actions.settings import ActionsSettings
from pipeline.store.errors import StoreError
from pipeline.store.ledger import Ledger

__all__ = ["REJECTED_SCHEMA", "ScreenResult", "screen", "screen_transfers"]

REJECTED_SCHEMA = {"row": pl.Int64, "reference": pl.String, "reason": pl.String}
_ROUTING = re.compile(r"[0-9]{9}")
_ACCOUNT = re.compile(r"[0-9A-Za-z-]{1,17}")


@dataclass
class ScreenResult:
    """One screening pass: the two frames and counts for the run summary."""

    accepted: pl.DataFrame = field(default_factory=pl.DataFrame)
    rejected: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECTED_SCHEMA))
    corrected: int = 0
    enrolled: int = 0
    unblocked: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted.height,
            "rejected": self.rejected.height,
            "corrected": self.corrected,
            "enrolled": self.enrolled,
            "unblocked": self.unblocked,
        }


def _cents(text: object) -> int | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    cents = value * 100
    return int(cents) if cents == cents.to_integral_value() else None


def screen_transfers(
    ledger: Ledger,
    transfers: pl.DataFrame,
    business_date: date,
    *,
    settings: ActionsSettings | None = None,
    companies: Mapping[str | None, tuple[str, str]] | None = None,
    actor: str = "achpipe",
    calendar: BankingCalendar = FED_CALENDAR,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split connectFi-shaped ``transfers`` into (accepted, rejected) by the payee and
    re-initiation rules; see the module docstring. ``companies`` maps clientCode (None: the
    default company) → (company name, company ID), to check a retry's company."""
    result = screen(
        ledger,
        transfers,
        business_date,
        settings=settings,
        companies=companies,
        actor=actor,
        calendar=calendar,
    )
    return result.accepted, result.rejected


def screen(
    ledger: Ledger,
    transfers: pl.DataFrame,
    business_date: date,
    *,
    settings: ActionsSettings | None = None,
    companies: Mapping[str | None, tuple[str, str]] | None = None,
    actor: str = "achpipe",
    calendar: BankingCalendar = FED_CALENDAR,
) -> ScreenResult:
    """:func:`screen_transfers` with the counts (corrected, enrolled, unblocked, reasons).

    Set-wise: the ledger is read once for the whole input (:func:`load_context`), the rows
    are joined with it in polars, and only the rows that something applies to (a payee that
    is not plainly active, data that differs from the payee's, a blocked account, a returned
    or re-initiated reference, a ``RETRY PYMT``) go through the row rules, in input order.
    Every other row is accepted as it is; new payees are enrolled in one COPY.
    """
    settings = settings or ActionsSettings()
    if ledger.protector is None:
        raise StoreError("screening transfers needs an AccountProtector ([security] account_key)")
    frame = transfers.with_columns(
        payee_ref_expr(
            settings,
            reference="reference",
            identification=(
                "identificationNumber"
                if "identificationNumber" in transfers.columns
                else pl.lit(None, dtype=pl.String)
            ),
        ).alias("_payee_ref")
    )
    work = _keyed(frame, ledger.protector.hash_series)
    outcome = ScreenResult()
    rejected: list[dict[str, Any]] = []
    with ledger.transaction():
        link_sent_retries(ledger)
        ctx = load_context(
            ledger,
            work.select(
                payee_ref="_payee_ref",
                reference=pl.col("reference").cast(pl.String),
                account_hash="_hash",
            ),
            business_date,
        )
        flagged = _flagged(work, ctx)
        _share_payee_ciphertexts(ledger, work, ctx)
        slow = work.filter(flagged)
        passed: list[dict[str, Any]] = []
        for i, row, digest in zip(
            slow.get_column("_i").to_list(),
            slow.select(frame.columns).to_dicts(),
            slow.get_column("_hash").to_list(),
            strict=True,
        ):
            reasons = _screen_row(
                ledger,
                row,
                digest,
                ctx,
                business_date,
                settings,
                companies,
                actor,
                calendar,
                outcome,
            )
            if reasons:
                rejected.append(
                    {"row": i + 1, "reference": row.get("reference"), "reason": "; ".join(reasons)}
                )
                for r in reasons:
                    key = r.split(":")[0]
                    outcome.reasons[key] = outcome.reasons.get(key, 0) + 1
            else:
                passed.append({**row, "_i": i})
        known = pl.Series(list(ctx.payees), dtype=pl.String)
        new = work.filter(
            pl.col("_payee_ref").is_not_null()
            & pl.col("_usable")
            & ~pl.col("_payee_ref").is_in(known.implode())
        ).unique("_payee_ref", keep="first", maintain_order=True)
        outcome.enrolled = enrol_frame(
            ledger, new.with_columns(payee_ref="_payee_ref", account_hash="_hash"), actor
        )
    kept = work.filter(~flagged).select(*frame.columns, "_i")
    if passed:
        # the flagged rows that passed, as the row rules left them (NOC-corrected data)
        kept = pl.concat(
            [kept, pl.DataFrame(passed, schema={**frame.schema, "_i": pl.Int64})]
        ).sort("_i")
    outcome.accepted = kept.drop("_i", "_payee_ref")
    outcome.rejected = pl.DataFrame(rejected, schema=REJECTED_SCHEMA)
    return outcome


def _keyed(frame: pl.DataFrame, hash_series: Callable[[pl.Series], pl.Series]) -> pl.DataFrame:
    """``frame`` with ``_i`` (0-based row), ``_hash`` (keyed hash of the account, null when
    there is none; each distinct account hashed once), ``_routing`` (trimmed) and
    ``_usable`` (routing and account the builder can take: other rows never touch a payee)."""
    accounts = (
        frame.get_column("DFIAccountNumber")
        if "DFIAccountNumber" in frame.columns
        else pl.Series([None] * frame.height, dtype=pl.String)
    )
    hashes = hash_series(accounts)

    def text(name: str) -> pl.Expr:
        if name not in frame.columns:
            return pl.lit("", dtype=pl.String)
        return pl.col(name).cast(pl.String).fill_null("").str.strip_chars()

    return frame.with_columns(
        _i=pl.int_range(pl.len(), dtype=pl.Int64),
        _hash=hashes,
        _routing=text("routingNumber"),
        _usable=text("routingNumber").str.contains(r"^[0-9]{9}$")
        & text("DFIAccountNumber").str.contains(r"^[0-9A-Za-z-]{1,17}$"),
    ).with_columns(_usable=pl.col("_usable") & pl.col("_hash").is_not_null())


def _share_payee_ciphertexts(ledger: Ledger, work: pl.DataFrame, ctx: ScreenContext) -> None:
    """A row that carries its payee's own account (equal keyed hashes): the payee's stored
    ciphertext is that account's, so the build step's entries can reuse it instead of
    encrypting the account again (:meth:`AccountProtector.sharing`; nothing outside one)."""
    protector = ledger.protector
    if (
        protector is None
        or not protector.sharing_active
        or not ctx.payees
        or "DFIAccountNumber" not in work.columns
    ):
        return
    values = list(ctx.payees.values())
    payees = pl.DataFrame(
        {
            "_payee_ref": list(ctx.payees),
            "_p_hash": [bytes(p.account_hash) for p in values],
            "_p_ct": [bytes(p.account_ciphertext) for p in values],
        },
        schema={"_payee_ref": pl.String, "_p_hash": pl.Binary, "_p_ct": pl.Binary},
    )
    same = (
        work.select("_payee_ref", "_hash", account=pl.col("DFIAccountNumber").cast(pl.String))
        .join(payees, on="_payee_ref", how="inner")
        .filter(pl.col("_hash") == pl.col("_p_hash"))
    )
    protector.remember_ciphertexts(same.get_column("account"), same.get_column("_p_ct"))


def _flagged(work: pl.DataFrame, ctx: ScreenContext) -> pl.Series:
    """Rows the row rules must see. A row is plain — accepted as it is, nothing to write —
    when its payee is unknown, or active with nothing special (no NOC history, no unapplied
    NOC, a buildable account type, no required SEC code) and the row carries the payee's own
    account and routing; and its account is not blocked, and its reference was neither
    returned nor planned for re-initiation, nor is it a RETRY PYMT. Every row of a payee
    with one flagged row is flagged: the row rules see them in input order."""
    values = list(ctx.payees.values())
    payees = pl.DataFrame(
        {
            "_payee_ref": list(ctx.payees),
            "_p_hash": [bytes(p.account_hash) for p in values],
            "_p_routing": [p.routing_number for p in values],
            "_p_special": [
                p.status != "active"
                or p.account_type not in _TYPES
                or bool(p.required_sec_code)
                or p.id in ctx.superseded
                or p.id in ctx.late_nocs
                for p in values
            ],
        },
        schema={
            "_payee_ref": pl.String,
            "_p_hash": pl.Binary,
            "_p_routing": pl.String,
            "_p_special": pl.Boolean,
        },
    )
    description = (
        pl.col("companyEntryDescription").cast(pl.String).str.strip_chars().str.to_uppercase()
        if "companyEntryDescription" in work.columns
        else pl.lit("", dtype=pl.String)
    )
    joined = work.select(
        "_payee_ref",
        "_hash",
        "_routing",
        "_usable",
        reference=pl.col("reference").cast(pl.String),
        _retry=(description == RETRY_DESCRIPTION).fill_null(False),
    ).join(payees, on="_payee_ref", how="left", maintain_order="left")
    differs = pl.col("_usable") & (
        (pl.col("_hash") != pl.col("_p_hash")) | (pl.col("_routing") != pl.col("_p_routing"))
    )
    by_payee = (pl.col("_p_special").is_not_null() & (pl.col("_p_special") | differs)).fill_null(
        False
    )
    blocked = pl.Series(list(ctx.blocked_hashes), dtype=pl.Binary)
    refs = pl.Series([*ctx.retries, *ctx.returned], dtype=pl.String)
    return joined.select(
        (
            (by_payee.any().over("_payee_ref") & pl.col("_payee_ref").is_not_null())
            | by_payee
            | pl.col("_hash").is_in(blocked.implode()).fill_null(False)
            | pl.col("reference").is_in(refs.implode()).fill_null(False)
            | pl.col("_retry")
        ).alias("_flagged")
    ).to_series()


def _screen_row(
    ledger: Ledger,
    row: dict[str, Any],
    digest: bytes | None,
    ctx: ScreenContext,
    business_date: date,
    settings: ActionsSettings,
    companies: Mapping[str | None, tuple[str, str]] | None,
    actor: str,
    calendar: BankingCalendar,
    outcome: ScreenResult,
) -> list[str]:
    reasons: list[str] = []
    debit = str(row.get("transactionType") or "").strip().lower() == "debit"
    ref = row["_payee_ref"]
    payee = ctx.payees.get(ref) if ref else None
    # rows the builder will refuse anyway (bad routing or account) never touch a payee
    usable = digest is not None and _usable(row)
    if payee is not None and digest is not None and usable:  # new payees: enrolled in bulk
        payee = reconcile_payee(
            ledger, payee, row, digest, ctx.superseded.get(payee.id, {}), actor, outcome
        )
        ctx.payees[ref] = payee
    if payee is not None:
        if payee.status == "blocked":
            reasons.append(f"payee {payee.payee_ref} blocked: {payee.status_reason}")
        elif payee.status == "needs_authorization" and debit:
            reasons.append(
                f"payee {payee.payee_ref} needs a new authorization: {payee.status_reason}"
            )
        if payee.account_type not in _TYPES:
            reasons.append(
                f"payee {payee.payee_ref} account type is {payee.account_type} (NOC): only "
                "Checking or Savings entries can be built"
            )
        if payee.required_sec_code and row.get("standardEntryClassCode") != payee.required_sec_code:
            reasons.append(
                f"payee {payee.payee_ref} must be paid as {payee.required_sec_code} (NOC C14)"
            )
        reasons.extend(ctx.late_nocs.get(payee.id, []))
    if (
        digest is not None
        and digest in ctx.blocked_hashes
        and (payee is None or payee.payee_ref != ctx.blocked_hashes[digest])
    ):
        reasons.append(
            f"account ****{str(row['DFIAccountNumber']).strip()[-4:]} belongs to "
            f"blocked payee {ctx.blocked_hashes[digest]}"
        )
    reasons.extend(_retry_reasons(row, ctx, business_date, companies, calendar))
    return reasons


def _usable(row: Mapping[str, Any]) -> bool:
    routing = str(row.get("routingNumber") or "").strip()
    account = str(row.get("DFIAccountNumber") or "").strip()
    return bool(_ROUTING.fullmatch(routing) and _ACCOUNT.fullmatch(account))


def _retry_reasons(
    row: Mapping[str, Any],
    ctx: ScreenContext,
    business_date: date,
    companies: Mapping[str | None, tuple[str, str]] | None,
    calendar: BankingCalendar,
) -> list[str]:
    reference = row.get("reference")
    description = str(row.get("companyEntryDescription") or "").strip().upper()
    plan = ctx.retries.get(reference or "")
    is_retry = description == RETRY_DESCRIPTION
    out: list[str] = []
    for code, action in ctx.returned.get(reference or "", []):
        if action == "stop_payment":
            out.append(f"payment {reference} stopped ({code}): it may not be sent again")
        else:
            out.append(
                f"payment {reference} was returned ({code}): send it again only as a "
                "planned RETRY PYMT (achpipe retries plan)"
            )
    if plan is not None and not is_retry:
        out.append(
            f"{reference} is a planned re-initiation: companyEntryDescription must be "
            f"{RETRY_DESCRIPTION}"
        )
    if not is_retry:
        return out
    if plan is None or plan["state"] not in ("planned", "sent"):
        state = "no planned re-initiation" if plan is None else f"re-initiation {plan['state']}"
        out.append(f"RETRY PYMT refused: {state} for {reference} (achpipe retries plan)")
        return out
    if plan["attempt"] > 2 or plan["sent"] >= 2:
        out.append("RETRY PYMT refused: third re-initiation (at most two within 180 days)")
    cents = _cents(row.get("amount"))
    if cents != plan["amount_cents"]:
        out.append(
            f"RETRY PYMT refused: changed amount (the original was "
            f"{plan['amount_cents'] // 100}.{plan['amount_cents'] % 100:02d})"
        )
    if companies is not None:
        company = companies.get(row.get("clientCode")) or companies.get(None)
        if company is None or tuple(company) != (plan["company_name"], plan["company_id"]):
            out.append(
                f"RETRY PYMT refused: company must be {plan['company_name']} "
                f"{plan['company_id']} as in the original entry"
            )
    requested = str(row.get("effectiveEntryDate") or "").strip()
    try:
        day = date.fromisoformat(requested) if requested else None
    except ValueError:
        day = None
    effective = day or calendar.add_banking_days(business_date, 1)
    if effective > plan["latest_date"]:
        out.append(
            f"RETRY PYMT refused: effective date {effective} is after the 180-day window "
            f"(latest {plan['latest_date']})"
        )
    return out
