"""Code tables reconciliation needs, as polars expressions over whole columns.

The *facts* about return codes (title, rate category, return window) belong to
``nacha.codes`` and are read from there; this module only adapts them to frames, and adds
what finance reads that the format does not carry: a plain-English reason and the next
action for each code.

Rate categories follow ``spec/returns-and-rates.md`` §3.1: unauthorized = R05, R07, R10, R11,
R29, R51; administrative = R02, R03, R04; everything else is "other" (counted only in the
overall rate, and only for non-RCK debit entries).
"""

from __future__ import annotations

import polars as pl

from nacha import codes as nacha_codes

#: Rate categories and kinds come from ``nacha.codes`` (the one table of return codes).
UNAUTHORIZED_CODES: frozenset[str] = nacha_codes.UNAUTHORIZED_RETURN_CODES
ADMINISTRATIVE_CODES: frozenset[str] = nacha_codes.ADMINISTRATIVE_RETURN_CODES
DISHONOR_CODES: frozenset[str] = nacha_codes.DISHONORED_RETURN_CODES
CONTESTED_CODES: frozenset[str] = nacha_codes.CONTESTED_RETURN_CODES
#: Codes with the 60-calendar-day window (returns-and-rates.md §1).
EXTENDED_WINDOW_CODES: frozenset[str] = frozenset(
    r.code for r in nacha_codes.RETURN_REASON_CODES if r.window == "60CD"
)

#: Forward (live, money-moving) debit transaction codes: the rate denominator (spec §3.2):
#: 27, 37, 47 and the loan reversal debit 55 — no prenotes, zero-dollar entries or returns.
FORWARD_DEBIT_CODES: frozenset[int] = frozenset(
    int(t.code)
    for t in nacha_codes.TRANSACTION_CODES
    if t.direction == "debit" and t.kind in ("live", "reversal")
)
#: Every debit-side transaction code (live, prenote, zero-dollar, returns/NOCs of debits).
DEBIT_CODES: frozenset[int] = frozenset(
    int(t.code) for t in nacha_codes.TRANSACTION_CODES if t.direction == "debit"
)

#: (plain-English reason, next action) shown on the finance report, per return code.
RETURN_TEXT: dict[str, tuple[str, str]] = {
    "R01": ("Not enough money in the account", "Retry up to twice within 180 days (RETRY PYMT)"),
    "R02": ("The account is closed", "Stop debiting; ask the customer for a new account"),
    "R03": ("No such account at that bank", "Check the account details with the customer"),
    "R04": ("The account number is not valid", "Correct the account number before resending"),
    "R05": ("Consumer says a business debit was not authorized", "Stop; obtain authorization"),
    "R06": ("Returned because we (the ODFI) asked", "Confirm the recall was intended"),
    "R07": ("Customer revoked the authorization", "Stop all future debits to this customer"),
    "R08": ("Customer stopped this payment", "Contact the customer before any retry"),
    "R09": ("Funds not yet available", "Retry up to twice within 180 days (RETRY PYMT)"),
    "R10": ("Customer does not know or did not authorize us", "Stop; investigate the mandate"),
    "R11": ("Entry did not match the authorization terms", "Fix the error and resend in 60 days"),
    "R12": ("The account moved to another bank", "Ask the customer for the new account"),
    "R13": ("The routing number is not an ACH bank", "Correct the routing number"),
    "R14": ("The representative payee died", "Stop payments; contact the estate"),
    "R15": ("The account holder died", "Stop payments; contact the estate"),
    "R16": ("The account is frozen", "Do not retry; contact the customer"),
    "R17": ("Bank could not process the account details", "Verify identity and account details"),
    "R20": ("The account cannot take ACH entries", "Ask for a checking or savings account"),
    "R23": ("The receiver refused the credit", "Contact the receiver; do not resend as-is"),
    "R24": ("The bank saw a duplicate entry", "Check for a double send; no retry"),
    "R29": ("The business says the debit was not authorized", "Stop; obtain authorization"),
    "R31": ("Late return the ODFI agreed to accept", "Settle with the customer"),
    "R51": ("Check conversion (RCK) entry was ineligible", "Stop; review RCK practice"),
}
_DEFAULT_TEXT = ("Returned by the receiving bank ({code})", "Review the return and the customer")

#: (what changed, next action) per NOC change code.
NOC_TEXT: dict[str, tuple[str, str]] = {
    "C01": ("Account number is wrong", "Update the account number"),
    "C02": ("Routing number changed", "Update the routing number"),
    "C03": ("Routing and account number are wrong", "Update routing and account number"),
    "C04": ("Receiver name is wrong", "Update the receiver name"),
    "C05": ("Checking/savings type is wrong", "Update the account type (transaction code)"),
    "C06": ("Account number and account type are wrong", "Update account number and type"),
    "C07": ("Routing, account and type are wrong", "Update routing, account and type"),
    "C08": ("Foreign bank id is wrong (IAT)", "Update the receiving DFI id"),
    "C09": ("Individual id number is wrong", "Update the individual id"),
    "C10": ("Company name is wrong", "Update the company name"),
    "C11": ("Company id is wrong", "Update the company id"),
    "C12": ("Company name and id are wrong", "Update company name and id"),
    "C13": ("Addenda format error", "Fix the addenda formatting"),
    "C14": ("Should have been sent as IAT", "Send future payments as IAT"),
}


def return_category_expr(code: str | pl.Expr) -> pl.Expr:
    """Rate category of a return code: unauthorized, administrative, dishonor, contested, other."""
    c = pl.col(code) if isinstance(code, str) else code
    return (
        pl.when(c.is_in(list(UNAUTHORIZED_CODES)))
        .then(pl.lit("unauthorized"))
        .when(c.is_in(list(ADMINISTRATIVE_CODES)))
        .then(pl.lit("administrative"))
        .when(c.is_in(list(DISHONOR_CODES)))
        .then(pl.lit("dishonor"))
        .when(c.is_in(list(CONTESTED_CODES)))
        .then(pl.lit("contested"))
        .when(c.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.lit("other"))
    )


def return_kind_expr(code: str | pl.Expr) -> pl.Expr:
    """``return`` | ``dishonor`` (R61–R70) | ``contested`` (R71–R77), from the code."""
    c = pl.col(code) if isinstance(code, str) else code
    return (
        pl.when(c.is_in(list(DISHONOR_CODES)))
        .then(pl.lit("dishonor"))
        .when(c.is_in(list(CONTESTED_CODES)))
        .then(pl.lit("contested"))
        .otherwise(pl.lit("return"))
    )


def extended_window_expr(code: str | pl.Expr) -> pl.Expr:
    """True for codes with the 60-calendar-day window (spec §1), False for 2 banking days."""
    c = pl.col(code) if isinstance(code, str) else code
    return c.is_in(list(EXTENDED_WINDOW_CODES))


def is_forward_debit_expr(transaction_code: str | pl.Expr) -> pl.Expr:
    """Live debit entry (27, 37, 47, 55): not a prenote, zero-dollar entry, return or NOC."""
    c = pl.col(transaction_code) if isinstance(transaction_code, str) else transaction_code
    return c.is_in(list(FORWARD_DEBIT_CODES))


def direction_expr(transaction_code: str | pl.Expr) -> pl.Expr:
    """``debit`` or ``credit`` from a transaction code."""
    c = pl.col(transaction_code) if isinstance(transaction_code, str) else transaction_code
    return (
        pl.when(c.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(c.is_in(list(DEBIT_CODES)))
        .then(pl.lit("debit"))
        .otherwise(pl.lit("credit"))
    )


def _text_table(table: dict[str, tuple[str, str]], key: str) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            key: list(table),
            "reason": [v[0] for v in table.values()],
            "next_action": [v[1] for v in table.values()],
        },
        schema={key: pl.String, "reason": pl.String, "next_action": pl.String},
    )


def with_return_text(lf: pl.LazyFrame, *, code: str = "return_code") -> pl.LazyFrame:
    """Add ``reason`` and ``next_action`` columns for a return-code column."""
    out = lf.join(_text_table(RETURN_TEXT, code), on=code, how="left", maintain_order="left")
    fallback_reason = pl.format("Returned by the receiving bank ({})", pl.col(code))
    return out.with_columns(
        pl.col("reason").fill_null(fallback_reason),
        pl.col("next_action").fill_null(pl.lit(_DEFAULT_TEXT[1])),
    )


def with_noc_text(lf: pl.LazyFrame, *, code: str = "change_code") -> pl.LazyFrame:
    """Add ``reason`` and ``next_action`` columns for a NOC change-code column."""
    out = lf.join(_text_table(NOC_TEXT, code), on=code, how="left", maintain_order="left")
    return out.with_columns(
        pl.col("reason").fill_null(pl.format("Change requested ({})", pl.col(code))),
        pl.col("next_action").fill_null(pl.lit("Review the corrected data")),
    )
