"""The nightly steps, in order, as data.

The order is the order of effects money depends on: an outbound file exists in the ledger
(build) before it is sealed, sealed before it is uploaded, uploaded before it is verified;
inbound files are recorded by sha256 (fetch) before they are parsed (ingest) and before they
are archived on the server. Reconciliation, rates and reports only read.
"""

from __future__ import annotations

from typing import Literal, get_args

from pipeline.errors import ConfigError

StepName = Literal[
    "collect",
    "build",
    "seal",
    "upload",
    "verify",
    "fetch",
    "ingest",
    "refresh",
    "reconcile",
    "rates",
    "report",
]

STEPS: tuple[StepName, ...] = get_args(StepName)

STEP_HELP: dict[StepName, str] = {
    "collect": "take the day's transfers (API list and/or a file) into the ledger",
    "build": "build NACHA files from unsent transfers; record files and entries first",
    "seal": "sign and encrypt each built file, self-test the result, record its sha256",
    "upload": "upload each sealed file under a temporary name, rename, never overwrite",
    "verify": "stat each uploaded file on the server and compare its size",
    "fetch": "download new acknowledgment, return and NOC files; record each by sha256",
    "ingest": "unseal, parse and record each fetched file once; quarantine bad ones",
    "refresh": "query API statuses of open transfers and the API's return rates",
    "reconcile": "tie out ledger, files and API; classify every item",
    "rates": "compute Nacha return rates and compare them with the API's",
    "report": "write the finance and compliance reports",
}

# Steps that touch the outside world in a way a dry run must not.
SENDING_STEPS: frozenset[StepName] = frozenset({"upload", "verify"})


def parse_step(name: str) -> StepName:
    """Validate a step name from the command line (exit 2 on a typo)."""
    if name not in STEPS:
        raise ConfigError(f"unknown step {name!r} (steps: {', '.join(STEPS)})")
    return name  # type: ignore[return-value]


def steps_from(step: StepName) -> tuple[StepName, ...]:
    return STEPS[STEPS.index(step) :]
