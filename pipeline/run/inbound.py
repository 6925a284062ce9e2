"""Inbound steps: fetch (download + record by sha256) and ingest (unseal, parse, record once).

* **fetch** downloads every file in the configured inbound directories to a temporary local
  name, hashes it, moves it to ``<data_dir>/inbound/<sha>-<name>``, records it in the ledger
  (one row per sha256: a file seen before is recognised, not recorded twice) and only then
  archives it on the server. A crash at any point loses nothing: an unrecorded file is still
  on the server; a recorded but unarchived one is recognised by its hash next time.
* **ingest** takes every recorded file still ``received`` (from this run or an earlier one
  that crashed), checks its sha256, unseals it file to file (the bank's signature is
  verified; the plaintext exists only while it is parsed: :mod:`pipeline.run.inbound_read`),
  recognises an acknowledgment (JSON), a return file (addenda 99) or a NOC file (addenda
  98), and records its contents together with the file's ``ingested`` mark in one
  transaction. A file that cannot be read or verified is quarantined with the reason and
  moved to ``<data_dir>/quarantine/``; the other files go on.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from nacha.errors import AchpipeError
from pipeline.actions.run_hooks import after_ingest
from pipeline.logs import get_logger
from pipeline.run.engine import StepContext
from pipeline.run.files import inbound_path, quarantine_path
from pipeline.run.inbound_read import BadInboundFile, clear_unsealed, read_inbound

if TYPE_CHECKING:
    from pipeline.run.resources import Resources

log = get_logger("run.inbound")
_PGP_SUFFIXES = (".pgp", ".gpg", ".asc")


class InboundSteps:
    def __init__(self, res: Resources) -> None:
        self.res = res

    # -- fetch -------------------------------------------------------------------------------

    def fetch(self, ctx: StepContext) -> dict[str, Any]:
        res = self.res
        data_dir = res.paths.data_dir
        partial = data_dir / "inbound" / ".partial"
        partial.mkdir(parents=True, exist_ok=True)
        new, seen = 0, 0
        for remote in res.transport.list_inbound():
            # Downloaded to a private directory first (temp name, fsync, rename), then moved
            # under its hash, so the local copy the ledger row points at is always complete.
            # The transport hashed the bytes as it wrote them (the SFTP client's drain), so
            # no second pass over the file; ingest checks the copy against it again.
            got, sha = res.transport.download(remote, partial)
            final = inbound_path(data_dir, sha, remote.name)
            os.replace(got, final)
            record = res.ledger.record_inbound_file(
                remote.name,
                sha,
                final.stat().st_size,
                kind=remote.kind_hint,
                run_id=int(ctx.run_id),
            )
            # Archived only once the ledger row is committed: never lose a file.
            res.transport.archive(remote)
            if record.created:
                new += 1
            else:
                seen += 1
        return {"downloaded": new, "already_known": seen}

    # -- ingest ------------------------------------------------------------------------------

    def ingest(self, ctx: StepContext) -> dict[str, Any]:
        res = self.res
        counts = {"ingested": 0, "quarantined": 0, "returns": 0, "nocs": 0, "acks": 0}
        if clear_unsealed(res.paths.data_dir):
            log.warning("removed plaintext an interrupted ingest left behind")
        for row in res.queries.inbound_files(states=("received",)):
            path = inbound_path(res.paths.data_dir, row.sha256, row.file_name)
            try:
                kind, payload = read_inbound(
                    path,
                    row.sha256,
                    row.file_name,
                    ctx.business_date,
                    data_dir=res.paths.data_dir,
                    sealer=res.sealer,
                )
            except AchpipeError as exc:
                self._quarantine(row.id, path, row.sha256, row.file_name, str(exc))
                counts["quarantined"] += 1
                continue
            with res.ledger.transaction():
                if kind == "ack":
                    self._record_ack(payload, row.file_name)
                    counts["acks"] += 1
                else:
                    returns, nocs = payload
                    if returns.height:
                        counts["returns"] += res.ledger.record_returns(row.id, returns)
                    if nocs.height:
                        counts["nocs"] += res.ledger.record_nocs(row.id, nocs)
                res.ledger.mark_inbound_ingested(row.id, kind=kind)
            counts["ingested"] += 1
        # act on what came back: return actions, NOC applications, retry plan (idempotent)
        actions = after_ingest(res.ledger, ctx.business_date, res.config)
        return {
            **counts,
            "actions": actions,
            "facts": {"files_in": self._files_in(int(ctx.run_id)), "actions": actions},
        }

    def _files_in(self, run_id: int) -> list[dict[str, Any]]:
        return [
            {
                "name": r.file_name,
                "sha256": r.sha256,
                "kind": r.kind,
                "state": r.state,
                "reason": r.quarantine_reason,
            }
            for r in self.res.queries.inbound_files(run_id=run_id)
        ]

    def _quarantine(self, file_id: int, path: Path, sha: str, name: str, reason: str) -> None:
        log.warning("inbound file quarantined", extra={"file": name, "reason": reason})
        self.res.ledger.quarantine_inbound(file_id, reason[:2000])
        target = quarantine_path(self.res.paths.data_dir, sha, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            shutil.move(str(path), target)

    def _record_ack(self, ack: dict[str, Any], inbound_name: str) -> None:
        """Move the acknowledged outbound file to acknowledged/rejected; link trace ↔ id."""
        res = self.res
        name = str(ack.get("fileName") or "")
        base = name
        for suffix in _PGP_SUFFIXES:
            base = base.removesuffix(suffix)
        files = res.queries.outbound_by_name([base, name])
        target = files.get(base) or files.get(name)
        if target is None:
            raise BadInboundFile(
                f"{inbound_name}: acknowledges {name!r}, which is not a file we sent"
            )
        status = str(ack.get("status", "")).upper()
        to_state = {"ACCEPTED": "acknowledged", "REJECTED": "rejected"}.get(status)
        if to_state is None:
            raise BadInboundFile(f"{inbound_name}: unknown acknowledgment status {status!r}")
        if target.state == "sealed":  # the upload's record was lost to a crash
            res.ledger.transition_file(target.id, "uploaded", reason="acknowledged by the bank")
        errors = ack.get("errors") or []
        reason = None
        if to_state == "rejected":
            reason = (
                "; ".join(
                    str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict)
                )[:2000]
                or "rejected by the bank"
            )
        res.ledger.transition_file(target.id, to_state, reason=reason, detail={"ack": inbound_name})
        links = _ack_links(ack.get("transactions") or [])
        if links.height:
            res.queries.link_transfer_ids(target.id, links)


def _text(values: list[Any]) -> pl.Series:
    """JSON values as text; a missing, empty or false value is null."""
    try:
        series = pl.Series(values, dtype=pl.String)
    except (TypeError, pl.exceptions.PolarsError):
        return pl.Series([str(v) if v else None for v in values], dtype=pl.String)
    return series.replace("", None)


def _ack_links(transactions: list[Any]) -> pl.DataFrame:
    """(trace_number, transfer_id) of each acknowledged transaction that has both, gathered
    column by column (a million acknowledged entries per file)."""
    txs = [t for t in transactions if isinstance(t, dict)]
    frame = pl.DataFrame(
        {
            "trace_number": _text([t.get("traceNumber") for t in txs]),
            "transfer_id": _text([t.get("cFiTransactionId") for t in txs]),
        }
    )
    return frame.drop_nulls()


__all__ = ["BadInboundFile", "InboundSteps"]
