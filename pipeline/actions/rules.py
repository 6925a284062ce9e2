"""Return actions as data: which R-code leads to which action (issue 9, spec §2).

The defaults follow the Nacha obligations on an originator:

* R01/R09 (insufficient/uncollected funds): the debit may be re-initiated (``RETRY PYMT``)
  at most twice within 180 days.
* R02/R03/R04 (closed, no account, invalid number), R16 (frozen), R20 (non-transaction
  account): never debit that account again — block the payee until new account details.
* R05/R07/R10/R11/R29/R51 (unauthorized family): no new debit without a new authorization.
* R08 (payment stopped): stop that payment — never retry or re-present it.
* every other code: a person reviews it.

An originator overrides any row in ``achpipe.toml`` (``[actions.return_actions]`` for all,
``[actions.originators.<company id>.return_actions]`` for one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

ReturnAction = Literal[
    "retry_allowed",
    "block_until_new_account",
    "block_until_new_authorization",
    "stop_payment",
    "review",
]
RETURN_ACTIONS: tuple[ReturnAction, ...] = get_args(ReturnAction)

DEFAULT_RETURN_ACTIONS: Mapping[str, ReturnAction] = {
    "R01": "retry_allowed",
    "R09": "retry_allowed",
    "R02": "block_until_new_account",
    "R03": "block_until_new_account",
    "R04": "block_until_new_account",
    "R16": "block_until_new_account",
    "R20": "block_until_new_account",
    "R05": "block_until_new_authorization",
    "R07": "block_until_new_authorization",
    "R10": "block_until_new_authorization",
    "R11": "block_until_new_authorization",
    "R29": "block_until_new_authorization",
    "R51": "block_until_new_authorization",
    "R08": "stop_payment",
}
FALLBACK_ACTION: ReturnAction = "review"

#: what each action means, for reports and rejection reasons
ACTION_TEXT: Mapping[ReturnAction, str] = {
    "retry_allowed": "may be re-initiated (RETRY PYMT, at most 2 within 180 days)",
    "block_until_new_account": "payee blocked until new account details",
    "block_until_new_authorization": "payee blocked until a new authorization",
    "stop_payment": "payment stopped: never retried or re-presented",
    "review": "needs review",
}
#: payee status set by an action (actions absent here leave the payee as it is)
PAYEE_STATUS: Mapping[ReturnAction, str] = {
    "block_until_new_account": "blocked",
    "block_until_new_authorization": "needs_authorization",
}
