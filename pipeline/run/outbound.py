"""Outbound steps: collect → build → seal → upload → verify.

The order of effects is what makes a crash harmless:

* **collect** snapshots the day's transfers file into the data directory (atomic copy, its
  sha256 kept in the step's ledger record) and upserts the API's view of the window's
  transfers, in one transaction with the step's done mark.
* **build** allocates the FileIDModifier from the ledger, builds the file, writes it locally,
  then records the file, its batches and its entries (read back from the very bytes written)
  and the step's done mark in ONE transaction. A crash before the commit leaves no ledger
  row and releases the modifier; the file is rebuilt on rerun. References already in the
  ledger's entries are never built again, so no transfer is sent twice.
* **seal** signs and encrypts each built file, self-tests, writes ``<name><suffix>``
  locally, then records ``sealed`` with the sealed sha256. A crash before the record just
  reseals (nothing has left the machine).
* **upload** sends the recorded sealed bytes (their hash is checked first) under a temporary
  name, renames, never overwrites different content; then records ``uploaded``. A crash
  between rename and record re-uploads the same bytes, which the transport recognises as
  already there: exactly one copy on the server.
* **verify** stats each uploaded file and compares its size with the sealed bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl

from pipeline.actions.run_hooks import transfers_for_build
from pipeline.errors import ConfigError, PermanentError
from pipeline.run.engine import StepContext
from pipeline.run.files import atomic_write, outbound_dir, sha256_bytes, sha256_file

if TYPE_CHECKING:
    from pipeline.run.resources import Resources

TRANSFER_COLUMNS_FROM_API = {
    "cfi_transaction_id": "cfi_transaction_id",
    "cfi_aggregator_id": "cfi_aggregator_id",
    "reference": "reference",
    "client_code": "client_code",
    "status": "status",
    "transaction_type": "transaction_type",
    "sec_code": "sec_code",
    "account_type": "account_type",
    "amount_cents": "amount_cents",
    "currency": "currency",
    "effective_entry_date": "effective_date",
    "settlement_date": "settlement_date",
    "created_at": "created_at_api",
    "updated_at": "updated_at_api",
    "trace_number": "trace_number",
    "routing_number": "routing_number",
    "individual_name": "individual_name",
    "company_entry_description": "company_entry_description",
    "return_code": "return_code",
    "return_reason": "return_reason",
    "returned_at": "returned_at",
    "noc_code": "noc_code",
    "noc_corrected_data": "noc_corrected_data",
    "dfi_account_masked": "account_number",
}


def api_frame_to_ledger(frame: pl.DataFrame) -> pl.DataFrame:
    """The API client's transfer frame in the ledger's ``transfers`` column names."""
    present = {k: v for k, v in TRANSFER_COLUMNS_FROM_API.items() if k in frame.columns}
    return frame.select([pl.col(k).alias(v) for k, v in present.items()])


def read_transfers_file(path: Path, *, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """A transfers CSV (every column as text: amounts stay exact) or Parquet file.

    ``columns``: only those of them the file has (a reader that needs eight of the fourteen
    columns of a million transfers does not parse the rest)."""
    if not path.is_file():
        # a missing daily input is an operational failure (exit 1), not a config error:
        # the rerun resumes at collect once the export is there
        raise PermanentError(f"transfers file {path} does not exist (did the intake export run?)")
    if path.suffix.lower() == ".parquet":
        lf = pl.scan_parquet(path)
    else:
        lf = pl.scan_csv(path, infer_schema=False, raise_if_empty=False)
    if columns is not None:
        names = lf.collect_schema().names()
        lf = lf.select([c for c in names if c in set(columns)])
    return lf.collect()


def build_clock(business_date: date, tz: ZoneInfo, *, now: datetime | None = None) -> datetime:
    """The instant a build is made "as of": now when run on the business date itself (ODFI
    zone), otherwise 17:00 ODFI time on the business date, so a catch-up or resumed run
    builds the same dates it would have built that evening."""
    current = (now or datetime.now(tz)).astimezone(tz)
    if current.date() == business_date:
        return current
    return datetime.combine(business_date, time(17, 0), tzinfo=tz)


class OutboundSteps:
    """The five outbound step functions over one :class:`Resources`."""

    def __init__(self, res: Resources) -> None:
        self.res = res

    # -- collect -----------------------------------------------------------------------------

    def collect(self, ctx: StepContext) -> dict[str, Any]:
        res, day = self.res, ctx.business_date
        settings = res.run_settings
        detail: dict[str, Any] = {"source": settings.transfers_source}
        api_frame: pl.DataFrame | None = None
        if settings.transfers_source in ("api", "both"):
            start = day - timedelta(days=settings.collect_days_back)
            api_frame = res.api.list_transfers(created_from=start, created_to=day)
            detail["api_transfers"] = api_frame.height
        snapshot: Path | None = None
        if settings.transfers_source in ("file", "both"):
            source = settings.transfers_path(day.isoformat())
            assert source is not None
            frame = read_transfers_file(source)
            snapshot = self.intake_path(day, source.suffix)
            if not ctx.options.dry_run:
                snapshot.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(snapshot, source.read_bytes())
                detail["intake_sha256"] = sha256_file(snapshot)
            detail["intake_file"] = str(source)
            detail["file_transfers"] = frame.height
            ctx.facts.setdefault("intake", {})["rows"] = frame.height
            detail["facts"] = {"intake": {"rows": frame.height}}
        if ctx.options.dry_run:
            return detail
        with res.ledger.transaction():
            if api_frame is not None and api_frame.height:
                res.ledger.upsert_transfers(api_frame_to_ledger(api_frame))
            res.run_ledger.mark_done(res.ledger.conn, ctx.run_id, "collect", detail)
        ctx.self_marked()
        return detail

    def intake_path(self, day: date, suffix: str = ".csv") -> Path:
        return outbound_dir(self.res.paths.data_dir, day) / f"transfers{suffix or '.csv'}"

    def _snapshot(self, day: date) -> Path | None:
        folder = outbound_dir(self.res.paths.data_dir, day)
        for suffix in (".csv", ".parquet"):
            path = folder / f"transfers{suffix}"
            if path.is_file():
                return path
        return None

    def _intake(
        self, day: date, *, dry: bool = False, api: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        """The transfers to build: the day's intake snapshot (or, in a dry run, the source)."""
        settings = self.res.run_settings
        if settings.transfers_source == "api":
            raise ConfigError(
                "[run] transfers_source = 'api' cannot build files: the API returns masked "
                "account numbers; set transfers_source = 'file' or 'both' with transfers_file"
            )
        path = self._snapshot(day) if not dry else settings.transfers_path(day.isoformat())
        if path is None:
            raise PermanentError(
                f"no intake snapshot for {day} (did collect run?); rerun with --from-step collect"
            )
        return read_transfers_file(path)

    # -- build -------------------------------------------------------------------------------

    def build(self, ctx: StepContext) -> dict[str, Any]:
        from nacha import read as read_nacha
        from nacha.build import build_files

        res, day = self.res, ctx.business_date
        settings = res.build_settings
        transfers = self._intake(day, dry=ctx.options.dry_run)
        if not ctx.options.dry_run:
            already = pl.Series(
                list(res.queries.sent_references(transfers.get_column("reference"))),
                dtype=pl.String,
            ).implode()
            skipped = transfers.filter(pl.col("reference").is_in(already))
            transfers = transfers.filter(~pl.col("reference").is_in(already))
        else:
            skipped = transfers.clear()
        now = build_clock(day, settings.odfi.profile.tz)
        origin = settings.originator.immediate_origin
        destination = settings.odfi.immediate_destination
        folder = (
            res.paths.dry_run_dir / day.isoformat()
            if ctx.options.dry_run
            else outbound_dir(res.paths.data_dir, day)
        )

        def modifiers() -> Any:
            if ctx.options.dry_run:
                yield from res.queries.free_modifiers(origin, destination, now.date())
                return
            while True:
                yield res.ledger.allocate_file_id_modifier(origin, destination, now.date())

        files_out: list[dict[str, Any]] = []
        detail: dict[str, Any] = {"skipped_already_sent": skipped.height}
        if ctx.options.dry_run:
            # payee rules and planned retries apply to a dry run too; its ledger effects
            # (payee enrolments) are rolled back
            with res.ledger.conn.transaction(force_rollback=True):
                transfers, screened_out, detail["screen"] = transfers_for_build(
                    res.ledger, transfers, day, res.config
                )
            result = build_files(
                transfers,
                settings,
                now=now,
                file_id_modifiers=modifiers(),
                business_date=day,
                first_trace_sequence=res.queries.next_trace_sequence(settings, day),
            )
            for built in result.files:
                atomic_write(folder / built.name, built.content)
                files_out.append({**_file_fact(built), "state": "dry-run"})
            detail.update(_build_detail(result))
            detail["rejected"] += screened_out.height
            detail["rejected_transfers"] = screened_out.select("reference", "reason").to_dicts()
            return {**detail, "facts": {"files_out": files_out}}

        # screening hashes every account and enrols new payees (encrypting theirs); the
        # entries need both again: one sharing scope computes each at most once per account
        protector = res.ledger.protector
        sharing = protector.sharing() if protector is not None else nullcontext()
        with sharing, res.ledger.transaction():
            transfers, screened_out, detail["screen"] = transfers_for_build(
                res.ledger, transfers, day, res.config
            )
            result = build_files(
                transfers,
                settings,
                now=now,
                file_id_modifiers=modifiers(),
                business_date=day,
                first_trace_sequence=res.queries.next_trace_sequence(settings, day),
            )
            for built in result.files:
                atomic_write(folder / built.name, built.content)
                parsed = read_nacha(built.content)
                file_id = res.ledger.record_outbound_file(
                    _outbound_record(built, parsed),
                    _batches_for_ledger(parsed),
                    _entries_for_ledger(parsed, result.entries, built.name),
                    run_id=int(ctx.run_id),
                )
                files_out.append({**_file_fact(built), "id": file_id, "state": "built"})
            detail.update(_build_detail(result))
            detail["rejected"] += screened_out.height
            detail["rejected_transfers"] = (
                screened_out.select("reference", "reason").to_dicts()
                + result.rejected.select("reference", "reason").to_dicts()
            )
            detail["facts"] = {"files_out": files_out}
            res.run_ledger.mark_done(res.ledger.conn, ctx.run_id, "build", detail)
        ctx.self_marked()
        return detail

    # -- seal --------------------------------------------------------------------------------

    def seal(self, ctx: StepContext) -> dict[str, Any]:
        res, day = self.res, ctx.business_date
        sealer = res.sealer
        if ctx.options.dry_run:
            folder = res.paths.dry_run_dir / day.isoformat()
            sealed = 0
            for path in sorted(folder.glob("*")):
                if path.name.endswith(sealer.suffix) or path.name.startswith("."):
                    continue
                atomic_write(
                    path.with_name(path.name + sealer.suffix), sealer.seal(path.read_bytes())
                )
                sealed += 1
            return {"sealed": sealed, "dir": str(folder)}
        sealed_count = 0
        for f in res.queries.outbound_files(run_id=int(ctx.run_id), states=("built",)):
            local = outbound_dir(res.paths.data_dir, day) / f.file_name
            data = local.read_bytes()
            if sha256_bytes(data) != f.sha256:
                raise PermanentError(
                    f"{local}: content does not match the ledger's sha256 (changed on disk?); "
                    "refusing to seal"
                )
            sealed_bytes = sealer.seal(data)
            atomic_write(local.with_name(local.name + sealer.suffix), sealed_bytes)
            res.ledger.transition_file(f.id, "sealed", sealed_sha256=sha256_bytes(sealed_bytes))
            sealed_count += 1
        return {"sealed": sealed_count}

    # -- upload ------------------------------------------------------------------------------

    def upload(self, ctx: StepContext) -> dict[str, Any]:
        res, day = self.res, ctx.business_date
        states = ("sealed", "uploaded", "verified") if ctx.options.force_resend else ("sealed",)
        uploaded = 0
        suffix = res.sealer.suffix
        for f in res.queries.outbound_files(run_id=int(ctx.run_id), states=states):
            local = outbound_dir(res.paths.data_dir, day) / (f.file_name + suffix)
            if not local.is_file() or sha256_file(local) != f.sealed_sha256:
                raise PermanentError(
                    f"{local}: sealed copy missing or different from the one recorded; "
                    "refusing to upload (rerun with --from-step seal only if it was never sent)"
                )
            remote = res.transport.upload(local, local.name)
            if f.state == "sealed":
                res.ledger.transition_file(f.id, "uploaded", remote_path=remote)
            else:
                res.run_ledger.record_event(
                    ctx.run_id, "resent", {"file": f.file_name, "remote": remote}
                )
            uploaded += 1
        return {"uploaded": uploaded}

    # -- verify ------------------------------------------------------------------------------

    def verify(self, ctx: StepContext) -> dict[str, Any]:
        res, day = self.res, ctx.business_date
        verified = 0
        gone = 0
        suffix = res.sealer.suffix
        for f in res.queries.outbound_files(run_id=int(ctx.run_id), states=("uploaded",)):
            local = outbound_dir(res.paths.data_dir, day) / (f.file_name + suffix)
            expected = local.stat().st_size
            size = res.transport.remote_size(f.remote_path or local.name)
            if size is None:
                # The bank may already have picked it up; an acknowledgment will tell.
                gone += 1
                continue
            if size != expected:
                raise PermanentError(
                    f"{f.remote_path}: {size} bytes on the server, {expected} sent; "
                    "investigate before any resend"
                )
            res.ledger.transition_file(f.id, "verified")
            verified += 1
        return {"verified": verified, "picked_up_by_bank": gone}


# ---------------------------------------------------------------------------------------------
# Frames for the ledger, read back from the bytes written
# ---------------------------------------------------------------------------------------------


def _file_fact(built: Any) -> dict[str, Any]:
    s = built.summary
    return {
        "name": built.name,
        "sha256": s["sha256"],
        "entries": s["entries"],
        "batches": s["batches"],
        "debit_cents": s["debit_total_cents"],
        "credit_cents": s["credit_total_cents"],
    }


def _build_detail(result: Any) -> dict[str, Any]:
    s = result.summary
    return {
        "files": s["files"],
        "entries": s["entries"],
        "debit_cents": s["debit_total_cents"],
        "credit_cents": s["credit_total_cents"],
        "rejected": s["rejected"],
    }


def _outbound_record(built: Any, parsed: Any) -> Any:
    from pipeline.store import OutboundFile

    header = parsed.file_header.row(0, named=True)
    control = parsed.file_control.row(0, named=True) if parsed.file_control.height else {}
    return OutboundFile(
        file_name=built.name,
        content=built.content,
        immediate_origin=str(header["immediate_origin"]).strip(),
        immediate_destination=str(header["immediate_destination"]).strip(),
        creation_date=header["creation_date"],
        file_id_modifier=str(header["file_id_modifier"]),
        entry_count=parsed.entries.height,
        total_debit_cents=control.get("total_debit_entry_dollar_amount"),
        total_credit_cents=control.get("total_credit_entry_dollar_amount"),
    )


def _column(frame: pl.DataFrame, name: str) -> pl.Expr:
    """``name`` stripped, or nulls when the file has no such field (an IAT-only file has no
    company name or individual name/ID fields: they travel in its addenda)."""
    if name in frame.columns:
        return pl.col(name).str.strip_chars()
    return pl.lit(None, pl.String).alias(name)


def _with_iat_addenda(frame: pl.DataFrame, parsed: Any, key: str, code: str, field: str) -> Any:
    """``frame`` with ``_<field>``: the IAT addenda ``code``'s ``field`` of each ``key``
    (batch or entry), e.g. addenda 10's receiving name; nulls in a file without IAT."""
    addenda = parsed.addenda
    if field not in addenda.columns:  # no IAT in this file: nothing to join
        return frame.with_columns(pl.lit(None, pl.String).alias(f"_{field}"))
    values = (
        addenda.filter(pl.col("addenda_type_code") == code)
        .group_by(key, maintain_order=True)
        .agg(pl.col(field).first().str.strip_chars().alias(f"_{field}"))
    )
    return frame.join(values, on=key, how="left", maintain_order="left")


def _batches_for_ledger(parsed: Any) -> pl.DataFrame:
    # IAT batches name no company: the ledger keeps their originator (addenda 11) instead
    batches = _with_iat_addenda(parsed.batches, parsed, "batch_index", "11", "originator_name")
    return batches.select(
        pl.col("batch_number").cast(pl.Int64),
        pl.col("service_class_code").cast(pl.Int16),
        pl.coalesce(_column(batches, "company_name"), "_originator_name").alias("company_name"),
        pl.col("company_id").str.strip_chars(),
        pl.col("sec_code"),
        pl.col("company_entry_description").str.strip_chars(),
        pl.col("effective_date"),
    )


def _entries_for_ledger(parsed: Any, built_entries: pl.DataFrame, file_name: str) -> pl.DataFrame:
    """Entries as written (accounts in clear only on their way into the protector)."""
    batch_numbers = parsed.batches.select("batch_index", pl.col("batch_number").cast(pl.Int64))
    refs = built_entries.filter(pl.col("file_name") == file_name).select(
        "trace_number", "reference", "kind"
    )
    # IAT entries carry the receiver's name and ID in addenda 10 and 15
    entries = _with_iat_addenda(parsed.entries, parsed, "entry_index", "10", "receiving_name")
    entries = _with_iat_addenda(
        entries, parsed, "entry_index", "15", "receiver_identification_number"
    )
    return (
        entries.join(batch_numbers, on="batch_index", how="left")
        .select(
            "batch_number",
            "trace_number",
            pl.col("transaction_code").cast(pl.Int16),
            pl.col("amount").cast(pl.Int64).alias("amount_cents"),
            pl.concat_str("rdfi_id", "check_digit").alias("rdfi_routing"),
            pl.col("dfi_account_number").str.strip_chars().alias("account_number"),
            pl.coalesce(_column(entries, "individual_name"), "_receiving_name").alias(
                "individual_name"
            ),
            # check codes (ARC, BOC, POP, RCK, XCK) carry the transfer's identification as
            # the check serial number
            pl.coalesce(
                _column(entries, "identification_number"),
                _column(entries, "check_serial_number"),
                "_receiver_identification_number",
            ).alias("individual_id"),
        )
        .join(refs, on="trace_number", how="left")
        .drop("kind")
    )
