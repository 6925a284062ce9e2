"""The ODFI behind the SFTP server: picks up uploads, acknowledges, returns, notifies.

Directory tree (connectfi-ach.md §9.3), all under the SFTP root::

    inbound/            the originator uploads here (``*.part`` and dot-files are ignored)
    inbound/archive/    processed uploads, prefixed with the pickup time
    outbound/ack/       ACK_<upload name without .pgp>_<YYYYMMDDHHMMSS>.json[.pgp]
    outbound/returns/   RETURN_<YYYYMMDD>_<seq>.ach[.pgp]   (addenda 99)
    outbound/noc/       NOC_<YYYYMMDD>_<seq>.ach[.pgp]      (COR, addenda 98)
    outbound/reports/   STATUS_<YYYYMMDD>.csv[.pgp]         (status changes of that day)

An upload is unsealed with the bank's key (and the originator's signature verified), read
and validated with ``nacha``; it is accepted or rejected as a whole. Accepted entries become
API transfers (reference = the entry's Identification Number when it is a valid, unused
connectFi reference, else ``F<YYMMDD><file id modifier><trace number>``). Returns and NOCs
decided by the scenario are written as NACHA files on the day they fall due, pointing at the
original trace numbers, sealed to the originator's key and signed by the bank.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

import nacha
from nacha.errors import NachaError
from sandbox import bankpgp
from sandbox.clock import SandboxClock, central_date
from sandbox.ledger import Ledger, Transfer
from sandbox.outbound import Original, outcome_file, status_report
from sandbox.scenario import Scenario

log = logging.getLogger("sandbox.odfi")
SEALED_SUFFIXES = (".pgp", ".gpg", ".asc")
REFERENCE = re.compile(r"^[0-9a-zA-Z]{1,32}$")
DEBIT_CODES = frozenset({"27", "28", "29", "37", "38", "39", "47", "48", "49", "55"})
STATUS_COLUMNS = (
    "cFiTransactionId",
    "reference",
    "traceNumber",
    "status",
    "effectiveEntryDate",
    "settlementDate",
    "amount",
    "transactionType",
    "returnCode",
    "nocCode",
    "dtsUpdatedAt",
)  # the ACH Operator that "delivers" returns to the ODFI


class Odfi:
    """The sandbox bank. ``poll`` processes uploads; ``flush`` writes due returns/NOCs."""

    def __init__(
        self,
        *,
        root: Path,
        ledger: Ledger,
        scenario: Scenario,
        clock: SandboxClock,
        bank_key: bankpgp.pgpy.PGPKey,
        originator_key: bankpgp.pgpy.PGPKey | None,
        routing: str = "091000019",
        name: str = "SANDBOX BANK",
        require_signature: bool = True,
        seal_outbound: bool = True,
        min_age_seconds: float = 0.0,
    ) -> None:
        self.root = root
        self.ledger = ledger
        self.scenario = scenario
        self.clock = clock
        self.bank_key = bank_key
        self.originator_key = originator_key
        self.routing = routing
        self.name = name
        self.require_signature = require_signature
        # With a flowing clock a client writing in place (no .part rename) could be read
        # half-way; files younger than this (real seconds) wait for the next poll.
        self.min_age_seconds = min_age_seconds
        self.seal_outbound = seal_outbound and originator_key is not None
        self.inbound = root / "inbound"
        self.archive = self.inbound / "archive"
        self.ack_dir = root / "outbound" / "ack"
        self.returns_dir = root / "outbound" / "returns"
        self.noc_dir = root / "outbound" / "noc"
        for d in (
            self.archive,
            self.ack_dir,
            self.returns_dir,
            self.noc_dir,
            root / "outbound" / "reports",
            root / "outbound" / "archive",  # where clients may move what they fetched
        ):
            d.mkdir(parents=True, exist_ok=True)
        self.uploads = 0
        self.accepted_names: set[str] = set()
        self.accepted_keys: set[tuple[str, str, str]] = set()
        self.originals: dict[str, Original] = {}
        self.pending: list[tuple[datetime, str, str]] = []  # (due, kind, cfi_id)
        self._file_seq: dict[tuple[str, date], int] = {}
        self._traces = itertools.count(1)
        self._reported_through = central_date(clock.now()) - timedelta(days=1)
        self.reports_dir = root / "outbound" / "reports"
        ledger.on_outcome.append(self._on_outcome)

    def rebase(self) -> None:
        """The clock was re-based before anything happened: daily reports start from it."""
        self._reported_through = central_date(self.clock.now()) - timedelta(days=1)

    # -- inbound -----------------------------------------------------------------------------
    def poll(self) -> list[str]:
        """Process every complete upload in ``inbound/``; returns the names handled."""
        cutoff = time.time() - self.min_age_seconds
        names = sorted(
            p.name
            for p in self.inbound.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and not p.name.endswith(".part")
            and (self.min_age_seconds <= 0 or p.stat().st_mtime <= cutoff)
        )
        for name in names:
            self._process(self.inbound / name)
        return names

    def _process(self, path: Path) -> None:
        now = self.clock.now()
        data = path.read_bytes()
        self.uploads += 1
        base = path.name
        for suffix in SEALED_SUFFIXES:
            base = base.removesuffix(suffix)
        errors: list[dict[str, Any]] = []
        parsed: nacha.NachaFile | None = None
        try:
            plain = self._unseal(path.name, data)
            parsed = nacha.read(plain)
        except bankpgp.UnsealError as exc:
            errors.append(_error(None, None, exc.code, str(exc)))
        except NachaError as exc:
            errors.append(
                _error(
                    getattr(exc, "line", None),
                    getattr(exc, "field", None),
                    getattr(exc, "rule", "file.unreadable"),
                    str(exc),
                )
            )
        except Exception as exc:  # a library surprise must not wedge the inbox
            log.exception("upload %s: unexpected failure", path.name)
            errors.append(_error(None, None, "unreadable", f"{type(exc).__name__}: {exc}"))
        ack: dict[str, Any] = {
            "fileName": path.name,
            "receivedAt": _iso(now),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        transactions: list[dict[str, Any]] = []
        if parsed is not None:
            ack.update(_totals(parsed))
            errors += self._file_errors(parsed, path.name)
            if not errors and self.uploads in self.scenario.reject_uploads:
                errors.append(
                    _error(
                        None, None, "odfiRejected", "rejected by the ODFI (scenario reject_uploads)"
                    )
                )
            if not errors:
                transactions = self._accept(parsed, path.name, now)
        ack["status"] = "REJECTED" if errors else "ACCEPTED"
        ack["errors"] = errors
        ack["transactions"] = transactions
        stamp = now.strftime("%Y%m%d%H%M%S")
        self._write(
            self.ack_dir, f"ACK_{base}_{stamp}.json", json.dumps(ack, indent=2).encode() + b"\n"
        )
        path.replace(_unused(self.archive / f"{stamp}_{path.name}"))

    def _unseal(self, name: str, data: bytes) -> bytes:
        if name.endswith(SEALED_SUFFIXES):
            return bankpgp.unseal(
                data,
                key=self.bank_key,
                verify_with=self.originator_key,
                require_signature=self.require_signature,
            )
        if self.require_signature:
            raise bankpgp.UnsealError("notEncrypted", "uploads must be signed and encrypted")
        return data

    def _file_errors(self, f: nacha.NachaFile, name: str) -> list[dict[str, Any]]:
        issues = nacha.validate(f)  # includes the read issues
        errors = [
            _error(r["line"], r["field"], r["rule"], r["message"])
            for r in issues.filter(pl.col("severity") == "error").iter_rows(named=True)
        ]
        header = f.file_header.row(0, named=True) if f.file_header.height else {}
        destination = (header.get("immediate_destination") or "").strip()
        if destination != self.routing:
            errors.append(
                _error(
                    1,
                    "immediate_destination",
                    "wrongDestination",
                    f"file is addressed to {destination!r}, not {self.routing}",
                )
            )
        key = (
            str(header.get("immediate_origin")),
            str(header.get("file_creation_date")),
            str(header.get("file_id_modifier")),
        )
        if name in self.accepted_names or key in self.accepted_keys:
            errors.append(
                _error(
                    1,
                    "file_id_modifier",
                    "duplicateFile",
                    "a file with this name or origin/date/modifier was accepted",
                )
            )
        return errors

    def _accept(self, f: nacha.NachaFile, name: str, now: datetime) -> list[dict[str, Any]]:
        header = f.file_header.row(0, named=True)
        self.accepted_names.add(name)
        self.accepted_keys.add(
            (
                str(header["immediate_origin"]),
                str(header["file_creation_date"]),
                str(header["file_id_modifier"]),
            )
        )
        batches = {b["batch_index"]: b for b in f.batches.iter_rows(named=True)}
        prefix = f"F{header['file_creation_date']}{header['file_id_modifier']}"
        created: list[Transfer] = []
        out = []
        used: set[str] = set()
        for entry in f.entries.iter_rows(named=True):
            batch = batches[entry["batch_index"]]
            ident = (entry.get("identification_number") or "").strip()
            reference = ident
            if (
                not REFERENCE.match(ident)
                or ident in used
                or self.ledger.get_by_reference(ident) is not None
            ):
                reference = f"{prefix}{entry['trace_number']}"
            used.add(reference)
            code = str(entry["transaction_code"])
            tx = Transfer(
                cfi_id=self.ledger.new_id(self.scenario.clients[0].login),
                aggregator=self.scenario.clients[0].login,
                reference=reference,
                source="file",
                created_at=now,
                effective_date=batch["effective_date"] or central_date(now),
                sec=str(batch["sec_code"]),
                transaction_type="Debit" if code in DEBIT_CODES else "Credit",
                account_type={"2": "Checking", "3": "Savings"}.get(code[0]),
                individual_name=(entry.get("individual_name") or "").strip(),
                routing=f"{entry['rdfi_id']}{entry['check_digit']}",
                account=(entry.get("dfi_account_number") or "").strip(),
                amount_cents=int(entry["amount"] or 0),
                description=(batch.get("company_entry_description") or "").strip(),
                identification_number=ident or None,
                trace_number=str(entry["trace_number"]),
                transaction_code=code,
                company_name=(batch.get("company_name") or "").strip(),
                company_id=(batch.get("company_id") or "").strip(),
                file_key=name,
            )
            self.originals[tx.cfi_id] = Original(batch=batch, entry=entry)
            created.append(tx)
            out.append(
                {
                    "line": entry["line"],
                    "traceNumber": tx.trace_number,
                    "reference": reference,
                    "cFiTransactionId": tx.cfi_id,
                }
            )
        self.ledger.add_file_entries(created, picked_up=now)
        return out

    # -- outbound ----------------------------------------------------------------------------
    def _on_outcome(self, tx: Transfer, kind: str, code: str, when: datetime) -> None:
        if tx.source == "file" and tx.cfi_id in self.originals:
            self.pending.append((when, kind, tx.cfi_id))

    def flush(self) -> list[str]:
        """Write one RETURN and/or NOC file per due day for everything pending."""
        groups: dict[tuple[str, date], list[tuple[datetime, str]]] = {}
        for when, kind, cfi_id in self.pending:
            groups.setdefault((kind, central_date(when)), []).append((when, cfi_id))
        self.pending.clear()
        written = []
        for (kind, day), items in sorted(groups.items()):
            when = max(w for w, _ in items)
            txs = [self.ledger.transfers[c] for _, c in items]
            seq = self._file_seq.get((kind, day), 0) + 1
            self._file_seq[(kind, day)] = seq
            content = outcome_file(
                kind,
                day=day,
                when=when,
                seq=seq,
                items=[(tx, self.originals[tx.cfi_id]) for tx in txs],
                odfi_routing=self.routing,
                odfi_name=self.name,
                traces=self._traces,
            )
            prefix, directory = (
                ("NOC", self.noc_dir) if kind == "noc" else ("RETURN", self.returns_dir)
            )
            written.append(self._write(directory, f"{prefix}_{day:%Y%m%d}_{seq}.ach", content))
        today = central_date(self.clock.now())
        while self._reported_through + timedelta(days=1) < today:
            day = self._reported_through + timedelta(days=1)
            report = status_report(self.ledger.transfers.values(), day)
            written.append(self._write(self.reports_dir, f"STATUS_{day:%Y%m%d}.csv", report))
            self._reported_through = day
        return written

    def _write(self, directory: Path, name: str, content: bytes) -> str:
        """Seal (when configured) and write atomically: ``.part`` then rename."""
        if self.seal_outbound:
            assert self.originator_key is not None
            content = bankpgp.seal(content, signer=self.bank_key, recipient=self.originator_key)
            name += ".pgp"
        final = _unused(directory / name)
        tmp = directory / f".{final.name}.part"
        tmp.write_bytes(content)
        tmp.replace(final)
        return str(final.relative_to(self.root))


def _unused(path: Path) -> Path:
    """``path``, or ``name-2.ext``, ``name-3.ext``… when taken (never overwrite a file)."""
    if not path.exists():
        return path
    name = path.name
    cut = max((name.rfind(m) for m in (".json", ".ach", ".csv")), default=-1)
    if cut < 0:
        cut = name.rfind(".") if "." in name else len(name)
    n = 2
    while (candidate := path.with_name(f"{name[:cut]}-{n}{name[cut:]}")).exists():
        n += 1
    return candidate


def _error(line: Any, field: Any, code: Any, message: str) -> dict[str, Any]:
    return {"line": line, "field": field, "code": code, "message": message}


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _totals(f: nacha.NachaFile) -> dict[str, Any]:
    header = f.file_header.row(0, named=True) if f.file_header.height else {}
    control = f.file_control.row(0, named=True) if f.file_control.height else {}
    return {
        "fileIdModifier": header.get("file_id_modifier"),
        "immediateOrigin": header.get("immediate_origin"),
        "fileCreationDate": header.get("file_creation_date"),
        "batchCount": control.get("batch_count"),
        "entryAddendaCount": control.get("entry_addenda_count"),
        "entryHash": control.get("entry_hash"),
        "totalDebit": control.get("total_debit_entry_dollar_amount"),
        "totalCredit": control.get("total_credit_entry_dollar_amount"),
        "amountUnit": "cents",
    }
