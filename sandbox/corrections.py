"""Corrected data for NOCs: the 29-character field of addenda 98 (positions 36-64).

The positions of each part come from ``nacha.codes`` (the one table of change codes); this
module only invents the corrected *values*, derived from the entry's reference so a
scenario gives the same NOC on every run.
"""

from __future__ import annotations

import hashlib

from nacha.codes import CHANGE_BY_CODE

WIDTH = 29
_ROUTINGS = ("053207766", "011000015", "021000021", "091000019", "122105278")
_FLIP_ACCOUNT_TYPE = {
    "22": "32",
    "23": "33",
    "27": "37",
    "28": "38",
    "32": "22",
    "33": "23",
    "37": "27",
    "38": "28",
}


def _digits(seed: str, n: int) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest() * 2
    return "".join(str(int(c, 16) % 10) for c in digest)[:n]


def new_account(reference: str, account: str) -> str:
    """A different account number of the same length (6-17 digits)."""
    stem = account.strip()
    candidate = _digits("acct" + reference, max(6, min(17, len(stem))))
    return candidate if candidate != stem else candidate[::-1]


def new_routing(routing: str) -> str:
    """Another real-looking routing number (valid check digit)."""
    return next(r for r in _ROUTINGS if r != routing)


def transaction_code_of(account_type: str | None, is_debit: bool) -> str:
    return ("3" if account_type == "Savings" else "2") + ("7" if is_debit else "2")


def corrected_data(
    code: str,
    *,
    reference: str,
    routing: str,
    account: str,
    transaction_code: str,
    individual_name: str,
    identification_number: str | None,
    company_name: str,
    company_id: str,
) -> str:
    """The positioned, space-filled 29-character corrected data of change ``code``."""
    values = {
        "dfi_account_number": new_account(reference, account),
        "routing_number": new_routing(routing),
        "transaction_code": _FLIP_ACCOUNT_TYPE.get(transaction_code, transaction_code),
        "individual_name": (individual_name.strip().upper() + " JR")[:22],
        "identification_number": (
            (identification_number.strip() + "X")
            if identification_number
            else "ID" + _digits("id" + reference, 13)
        ),
        "company_name": (company_name.strip() + " CO")[:16],
        "company_id": "1" + _digits("cid" + reference, 9),
        "rdfi_identification": _digits("dfi" + reference, 11),
        "sec_code": "IAT",
    }
    field = [" "] * WIDTH
    for part in CHANGE_BY_CODE[code].corrected_data:
        width = part.end - part.start + 1
        value = values[part.name][:width].ljust(width)
        field[part.start - 1 : part.end] = value
    return "".join(field)
