"""Read one recorded inbound file: check its hash, unseal it to a work file, parse it.

Why a work file and not bytes: the ingest's files are the bank's answers, and a return or
acknowledgment file for a million entries is ~95 MB. Unsealed in memory, the caller's
``read_bytes()`` of the input and the plaintext buffer each cost ~0.05 s of page faults per
100 MB on top of decryption (1.5-1.8x the ``gpg`` binary); file to file
(:func:`pipeline.pgp.unseal_file`: the input mapped, the plaintext written in 1 MiB pieces)
it is under gpg's own time, and the NACHA reader splits a file on disk straight into its
lines column (:func:`nacha.read` with a path), so no payload-sized bytes object exists.

The plaintext lives only in ``<data_dir>/inbound/.unsealed/`` (mode 0700, files 0600), is
renamed there only once the modification code and the bank's signature are good, and is
removed as soon as the file has been parsed, whatever the outcome; plaintext left by a crash
is removed by :func:`clear_unsealed` at the start of the next ingest.

Public: :func:`read_inbound`, :func:`unsealed_copy`, :func:`clear_unsealed`,
:class:`BadInboundFile`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.errors import PermanentError
from pipeline.run.files import sha256_file, unsealed_dir

if TYPE_CHECKING:
    from pipeline.run.seams import Sealer

__all__ = ["BadInboundFile", "clear_unsealed", "read_inbound", "unsealed_copy"]

_JSON_STARTS = (b"{", b"[")
_SNIFF = 1 << 16  # bytes read at a time while skipping leading whitespace


class BadInboundFile(PermanentError):
    """An inbound file that cannot be ingested; it is quarantined with this message."""


def clear_unsealed(data_dir: Path) -> int:
    """Remove plaintext a crashed ingest left in the work directory; how many files."""
    work = unsealed_dir(data_dir)
    removed = 0
    if work.is_dir():
        for leftover in work.iterdir():
            if leftover.is_file() or leftover.is_symlink():
                leftover.unlink(missing_ok=True)
                removed += 1
    return removed


@contextlib.contextmanager
def unsealed_copy(
    path: Path, sha256: str, name: str, *, data_dir: Path, sealer: Sealer
) -> Iterator[Path]:
    """The verified plaintext of the local copy ``path`` as a private work file, removed
    when the block ends (also on error).

    The local copy must still hash to the ``sha256`` it was recorded under (the ledger's
    one row per file), else :class:`BadInboundFile`; the sealer's errors (tampered, bad or
    missing signature, not encrypted to us) propagate, and then no work file exists."""
    if not path.is_file():
        raise BadInboundFile(f"{name}: local copy {path} is missing")
    if sha256_file(path) != sha256:
        raise BadInboundFile(f"{name}: local copy does not match its recorded sha256")
    work = unsealed_dir(data_dir)
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    plain = work / f"{sha256[:16]}.plain"
    try:
        sealer.unseal_file(path, plain)
        yield plain
    finally:
        plain.unlink(missing_ok=True)


def read_inbound(
    path: Path, sha256: str, name: str, received: date, *, data_dir: Path, sealer: Sealer
) -> tuple[str, Any]:
    """("ack", the parsed JSON) or ("return"|"noc", (returns, nocs) frames) for one file.

    Raises :class:`BadInboundFile` or a sealer/reader :class:`~nacha.errors.AchpipeError`
    when the file must be quarantined."""
    with unsealed_copy(path, sha256, name, data_dir=data_dir, sealer=sealer) as plain:
        if _first_byte(plain) in _JSON_STARTS:
            try:
                return "ack", json.loads(plain.read_bytes())
            except ValueError as exc:
                raise BadInboundFile(f"{name}: not valid JSON: {exc}") from exc
        return _nacha(plain, name, received)


def _first_byte(path: Path) -> bytes:
    """The first byte that is not ASCII whitespace (b"" for a blank file)."""
    with path.open("rb") as fh:
        while chunk := fh.read(_SNIFF):
            text = chunk.lstrip()
            if text:
                return text[:1]
    return b""


def _nacha(plain: Path, name: str, received: date) -> tuple[str, Any]:
    from nacha import read as read_nacha

    parsed = read_nacha(plain)
    if parsed.file_header.height == 0 or parsed.entries.height == 0:
        raise BadInboundFile(f"{name}: not a NACHA file with entries")
    fatal = parsed.read_issues
    if "severity" in fatal.columns:
        fatal = fatal.filter(pl.col("severity") == "error")
    if fatal.height:
        first = fatal.row(0, named=True)
        raise BadInboundFile(
            f"{name}: {fatal.height} read error(s), first: line {first.get('line')}: "
            f"{first.get('message')}"
        )
    returns = _returns_frame(parsed.returns, received)
    nocs = _nocs_frame(parsed.nocs, received)
    if returns.height == 0 and nocs.height == 0:
        raise BadInboundFile(f"{name}: NACHA file has neither returns nor NOCs")
    kind = "return" if returns.height and not nocs.height else "noc" if nocs.height else "return"
    return kind, (returns, nocs)


def _returns_frame(returns: pl.DataFrame, received: date) -> pl.DataFrame:
    if returns.height == 0:
        return pl.DataFrame()
    return returns.select(
        pl.col("trace_number"),
        pl.col("original_trace_number").str.strip_chars(),
        pl.col("return_reason_code").alias("return_code"),
        pl.col("amount").cast(pl.Int64).alias("amount_cents"),
        pl.lit(received).alias("received_date"),
        pl.col("transaction_code").cast(pl.Int16),
        pl.col("company_id").str.strip_chars(),
        pl.col("sec_code"),
        pl.col("original_rdfi_id").str.strip_chars().alias("original_rdfi"),
        pl.col("addenda_information").str.strip_chars(),
        pl.col("settlement_date").cast(pl.Date, strict=False)
        if returns.schema["settlement_date"] == pl.Date
        else pl.lit(None, dtype=pl.Date).alias("settlement_date"),
    )


def _nocs_frame(nocs: pl.DataFrame, received: date) -> pl.DataFrame:
    if nocs.height == 0:
        return pl.DataFrame()
    return nocs.select(
        pl.col("trace_number"),
        pl.col("original_trace_number").str.strip_chars(),
        pl.col("change_code"),
        pl.col("corrected_data").fill_null(""),
        pl.lit(received).alias("received_date"),
        pl.col("company_id").str.strip_chars(),
        pl.col("sec_code"),
        pl.col("original_rdfi_id").str.strip_chars().alias("original_rdfi"),
    )
