"""Columnar reader: bytes -> :class:`~nacha.model.NachaFile` of polars frames.

Tolerant by design (nacha-format.md §1): LF, CRLF, CR or no separators at all; short and
long lines, blank lines, non-ASCII bytes, records out of order are all *read* and reported as
issues with their line numbers — no record is dropped silently. It raises
:class:`~nacha.errors.NachaReadError` only when there is nothing to read (empty input, over the
size bound, unreadable path).

Bulk path: the lines become one string column (``pl.read_lines``), record kinds and batch /
entry membership come from cumulative sums, and every field is a vectorised ``str.slice`` of
the whole column driven by :mod:`nacha.layouts`. There is no per-record Python loop.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from nacha import layouts as L
from nacha.codes import CONTESTED_RETURN_CODES, DISHONORED_RETURN_CODES, REFUSED_CHANGE_CODES
from nacha.errors import NachaReadError
from nacha.issues import empty_issues, fmt, issue_rows
from nacha.model import NachaFile
from nacha.slicing import _slice, _slice_variants
from nacha.structure import structure_issues

MAX_BYTES = 1 << 31  # 2 GiB: far above any real ACH file (~22 M records)
_PRINTABLE = bytes(range(0x20, 0x7F))
_PADDING = "9" * L.RECORD_LENGTH

# record kind codes used for the cumulative-sum structure
K_FILE_HEADER, K_BATCH_HEADER, K_ENTRY, K_ADDENDA = 1, 5, 6, 7
K_BATCH_CONTROL, K_FILE_CONTROL, K_PADDING, K_UNKNOWN = 8, 9, 10, 11
KIND_NAMES = {
    K_FILE_HEADER: "file_header",
    K_BATCH_HEADER: "batch_header",
    K_ENTRY: "entry",
    K_ADDENDA: "addenda",
    K_BATCH_CONTROL: "batch_control",
    K_FILE_CONTROL: "file_control",
    K_PADDING: "padding",
    K_UNKNOWN: "unknown",
}

KIND_ENUM = pl.Enum(list(KIND_NAMES.values()))


def _is_text(source: object) -> bool:
    """A str holding NACHA text rather than a path (a separator, or a record's length and
    the file header's first character)."""
    return isinstance(source, str) and (
        "\n" in source or "\r" in source or (len(source) >= L.RECORD_LENGTH and source[:1] == "1")
    )


def _load(source: bytes | str | os.PathLike[str]) -> tuple[bytes, str | None]:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), None
    if _is_text(source):
        assert isinstance(source, str)
        return source.encode("utf-8"), None
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise NachaReadError(
                f"{path}: {size} bytes is over the {MAX_BYTES} byte bound", rule="file.too_large"
            )
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise NachaReadError(
            f"cannot read {path}: {exc.strerror or exc}", rule="file.unreadable"
        ) from exc


def _has_crlf(data: bytes) -> bool:
    # searching for the pair directly is ~15x slower than for '\r' alone in a file of
    # short lines (the two-byte search restarts at every '\n')
    return b"\r" in data and b"\r\n" in data


def _lines(data: bytes) -> tuple[pl.Series, str, str]:
    """Split into lines. Returns (lines, line_ending, encoding)."""
    encoding = "ascii"
    if not data.isascii():
        try:
            data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            # one character per byte keeps positions byte-exact; reported as non-ASCII
            encoding = "latin-1"
            data = data.decode("latin-1").encode("utf-8")
    if b"\n" in data:
        ending = "\r\n" if _has_crlf(data) else "\n"
        lines = pl.read_lines(data, name="raw")["raw"]
    elif b"\r" in data:
        ending = "\r"
        lines = pl.read_lines(data.replace(b"\r", b"\n"), name="raw")["raw"]
    else:
        ending = ""
        text = data.decode("utf-8")
        size = L.RECORD_LENGTH
        lines = pl.Series(
            "raw", [text[i : i + size] for i in range(0, len(text), size)], dtype=pl.String
        )
    if lines.len() == 1 and len(lines[0] or "") > L.RECORD_LENGTH:
        # one long line: a fixed-length file without separators (spec §1: split every 94)
        text = lines[0]
        size = L.RECORD_LENGTH
        lines = pl.Series(
            "raw", [text[i : i + size] for i in range(0, len(text), size)], dtype=pl.String
        )
        ending = ""
    return lines, ending, encoding


# first byte of a record -> kind code: the record type digits are their own codes
_KIND_BY_BYTE = pl.Series(
    [int(chr(b)) if chr(b) in "156789" else K_UNKNOWN for b in range(256)], dtype=pl.Int8
)


def _kind_expr(raw: pl.Expr) -> pl.Expr:
    # one byte per record looked up in a table (no sliced column); a non-ASCII first
    # character starts with a byte >= 0x80, which is unknown like the character itself
    first = raw.cast(pl.Binary).bin.get(0)
    return (
        pl.when(raw == _PADDING)
        .then(pl.lit(K_PADDING, dtype=pl.Int8))
        .otherwise(pl.lit(_KIND_BY_BYTE).gather(first))
    )


def _physical(lines: pl.Series, data_clean: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """records frame (line, raw (94 chars), kind) and the physical issues."""
    df = pl.DataFrame({"raw": lines}).select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("line"), "raw"
    )
    length = pl.col("raw").str.len_bytes() if data_clean else pl.col("raw").str.len_chars()
    issues = []
    # the length column is only materialised when some record is not 94 characters long
    uniform = df.height > 0 and bool(df.select((length == L.RECORD_LENGTH).all()).item())
    if not uniform:
        df = df.with_columns(length.cast(pl.Int32).alias("length"))
        blank = pl.col("raw").str.strip_chars(" ") == ""
        df = df.with_columns(blank.alias("_blank"))
        issues.append(
            issue_rows(
                df.filter(pl.col("_blank")),
                record_type="file",
                field=None,
                rule="file.blank_line",
                message="blank line",
            )
        )
        nonblank = df.filter(~pl.col("_blank"))
        short = nonblank.filter(pl.col("length") < L.RECORD_LENGTH)
        issues.append(
            issue_rows(
                short,
                record_type="record",
                field=None,
                rule="record.short",
                message=fmt("record is {} characters long, not 94", pl.col("length")),
            )
        )
        long_ = nonblank.filter(pl.col("length") > L.RECORD_LENGTH)
        tail_blank = pl.col("raw").str.slice(L.RECORD_LENGTH).str.strip_chars(" ") == ""
        issues.append(
            issue_rows(
                long_.filter(tail_blank),
                record_type="record",
                field=None,
                rule="record.long",
                message=fmt(
                    "record is {} characters long (blanks after position 94)", pl.col("length")
                ),
            )
        )
        issues.append(
            issue_rows(
                long_.filter(~tail_blank),
                record_type="record",
                field=None,
                rule="record.overflow",
                message=fmt(
                    "record is {} characters long with data after position 94", pl.col("length")
                ),
            )
        )
        df = (
            df.filter(~pl.col("_blank"))
            .drop("_blank", "length")
            .with_columns(
                pl.col("raw").str.pad_end(L.RECORD_LENGTH, " ").str.slice(0, L.RECORD_LENGTH)
            )
        )
    if not data_clean:
        bad = df.filter(pl.col("raw").str.contains(r"[^ -~]"))
        non_ascii = bad.filter(pl.col("raw").str.contains(r"[^\x00-\x7f]"))
        issues.append(
            issue_rows(
                non_ascii,
                record_type="record",
                field=None,
                rule="record.non_ascii",
                message="record has non-ASCII characters",
            )
        )
        control = bad.filter(pl.col("raw").str.contains(r"[\x00-\x1f\x7f]"))
        issues.append(
            issue_rows(
                control,
                record_type="record",
                field=None,
                rule="record.control_character",
                message="record has control characters",
            )
        )
    df = df.with_columns(_kind_expr(pl.col("raw")).alias("kind"))
    return df, pl.concat(issues) if issues else empty_issues()


_CHUNK = 1 << 23


def _facts(data: bytes, ending: str, encoding: str) -> dict[str, object]:
    return {
        "clean": not data.translate(None, _PRINTABLE + b"\r\n"),
        "has_plus": b"+" in data,
        "ending": ending,
        "encoding": encoding,
        "trailing_newline": bool(ending) and data.endswith(ending[-1].encode()),
    }


def _read_clean_lines(path: Path) -> tuple[pl.Series, dict[str, object]] | None:
    """Lines of a clean (printable ASCII, LF or CRLF) file, read in 8 MiB pieces cut at line
    ends, with the facts gathered in the same pass. Only the lines column and one piece are
    in memory at a time. None when the fast path does not apply."""
    has_lf = has_crlf = has_plus = False
    pieces: list[pl.Series] = []
    carry = b""
    last = b""
    with path.open("rb") as fh:
        first = fh.readline(L.RECORD_LENGTH + 3)
        fh.seek(0)
        # pieces that are whole records (95 or 96 bytes each) end on a line end: no copies
        size = len(first) if first.endswith(b"\n") else 1
        chunk_size = max(size, _CHUNK // size * size)
        while chunk := fh.read(chunk_size):
            if chunk.translate(None, _PRINTABLE + b"\r\n"):
                return None
            has_plus = has_plus or b"+" in chunk
            has_crlf = has_crlf or _has_crlf(chunk) or (last == b"\r" and chunk[:1] == b"\n")
            last = chunk[-1:]
            if not carry and last == b"\n":
                has_lf = True
                pieces.append(pl.read_lines(chunk, name="raw")["raw"])
                continue
            buf = carry + chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = buf
                continue
            has_lf = True
            pieces.append(pl.read_lines(buf[: cut + 1], name="raw")["raw"])
            carry = buf[cut + 1 :]
    if not has_lf:
        return None
    if carry:
        pieces.append(pl.read_lines(carry, name="raw")["raw"])
    lines = pl.concat(pieces, rechunk=False) if len(pieces) > 1 else pieces[0]
    facts = {
        "clean": True,
        "has_plus": has_plus,
        "ending": "\r\n" if has_crlf else "\n",
        "encoding": "ascii",
        "trailing_newline": last == b"\n",
    }
    return lines, facts


def _source_lines(
    source: bytes | str | os.PathLike[str],
) -> tuple[pl.Series, dict[str, object], str | None]:
    """Lines of the source plus facts (clean, has_plus, ending, encoding, trailing_newline).

    A clean LF/CRLF file given by path is split by polars straight from disk, so the only
    copy of its text is the lines column (the bulk path's memory)."""
    if not isinstance(source, bytes | bytearray | memoryview) and not _is_text(source):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise NachaReadError(
                f"cannot read {path}: {exc.strerror or exc}", rule="file.unreadable"
            ) from exc
        if size > MAX_BYTES:
            raise NachaReadError(
                f"{path}: {size} bytes is over the {MAX_BYTES} byte bound", rule="file.too_large"
            )
        if size == 0:
            raise NachaReadError("the file is empty", rule="file.empty")
        fast = _read_clean_lines(path)
        if fast is not None:
            lines, facts = fast
            if lines.len() == 1 and len(lines[0] or "") > L.RECORD_LENGTH:
                lines, _, _ = _lines(path.read_bytes())
                facts["ending"] = ""
                facts["trailing_newline"] = False
            return lines, facts, str(path)
    data, name = _load(source)
    if not data:
        raise NachaReadError("the file is empty", rule="file.empty")
    if len(data) > MAX_BYTES:
        raise NachaReadError(
            f"{len(data)} bytes is over the {MAX_BYTES} byte bound", rule="file.too_large"
        )
    lines, ending, encoding = _lines(data)
    return lines, _facts(data, ending, encoding), name


# ------------------------------------------------------------------------------ read()


def read(source: bytes | str | os.PathLike[str]) -> NachaFile:
    """Read a NACHA file (bytes, a path, or a str holding the text) into frames.

    Never raises for bad content: problems are rows of ``NachaFile.read_issues`` and, with
    the rules, of :func:`nacha.validate`. Raises :class:`NachaReadError` only for input that
    cannot be read at all (empty, unreadable path, larger than 2 GiB).

    >>> f = read("sample_files/ppd-debit.ach")
    >>> f.entries.select("transaction_code", "amount").row(0)
    ('27', 12500)
    """
    lines, facts, name = _source_lines(source)
    clean = facts["clean"]
    records, issues = _physical(lines, clean)
    del lines
    if records.height == 0:
        raise NachaReadError("the file has no records (only blank lines)", rule="file.empty")
    kind = pl.col("kind")
    # counts as polars gives them (UInt32: half the memory of Int64 over the million
    # records, no cast), one at a time (peak memory); the public frames get Int64
    records = records.with_columns((kind == K_BATCH_HEADER).cum_sum().alias("batch_index"))
    records = records.with_columns((kind == K_ENTRY).cum_sum().alias("entry_index"))
    wide_batch = pl.col("batch_index").cast(pl.Int64)
    struct_issues = structure_issues(records)

    # ---- batches: header + first control of each batch
    headers = records.filter(kind == K_BATCH_HEADER).select("line", "raw", wide_batch)
    is_iat = (pl.col("raw").str.slice(50, 3) == "IAT") | (
        pl.col("raw").str.slice(4, 16).str.strip_chars_end(" ") == "IATCOR"
    )
    headers = headers.with_columns(
        pl.when(is_iat)
        .then(pl.lit("iat_batch_header"))
        .otherwise(pl.lit("batch_header"))
        .alias("_layout")
    )
    header_keys = headers["_layout"].unique(maintain_order=True).to_list()
    batches = _slice_variants(headers, "_layout", L.ALL_LAYOUTS, header_keys or ["batch_header"])
    batches = batches.with_columns(
        pl.col("effective_entry_date").str.to_date("%y%m%d", strict=False).alias("effective_date")
    )
    entry_layout = _entry_layout_expr()
    batches = batches.with_columns(
        pl.when(pl.col("_layout") == "iat_batch_header")
        .then(pl.lit("iat"))
        .otherwise(entry_layout)
        .alias("_entry_layout"),
        (pl.col("_layout") == "iat_batch_header").alias("_iat"),
    )
    adv_batches = set(batches.filter(pl.col("sec_code") == "ADV")["batch_index"].to_list())
    is_adv_file = bool(adv_batches)

    controls = (
        records.filter(kind == K_BATCH_CONTROL)
        .select("line", "raw", wide_batch)
        .unique(subset="batch_index", keep="first", maintain_order=True)
        .with_columns(
            pl.when(pl.col("batch_index").is_in(list(adv_batches)))
            .then(pl.lit("adv_batch_control"))
            .otherwise(pl.lit("batch_control"))
            .alias("_layout")
        )
    )
    control_keys = controls["_layout"].unique(maintain_order=True).to_list() or ["batch_control"]
    controls = _slice_variants(controls, "_layout", L.ALL_LAYOUTS, control_keys)
    control_cols = [c for c in controls.columns if c not in ("raw", "batch_index", "_layout")]
    controls = controls.select(
        "batch_index",
        *[
            pl.col(c).alias(f"control_{c}") if c in _CONTROL_CLASH or c == "line" else pl.col(c)
            for c in control_cols
        ],
        pl.col("_layout").alias("_control_layout"),
        pl.col("raw").alias("_control_raw"),
    )
    batches = batches.join(controls, on="batch_index", how="left", maintain_order="left")

    # ---- entries
    entries_raw = (
        records.select("line", "raw", "batch_index", "entry_index", "kind")
        .filter(kind == K_ENTRY)
        .drop("kind")
    )
    entry_keys = batches["_entry_layout"].unique(maintain_order=True).to_list()
    if len(entry_keys) <= 1 and not (entries_raw.height and entries_raw["batch_index"].min() == 0):
        keys = [entry_keys[0] if entry_keys else "standard"]  # no per-row layout column
    else:
        entries_raw = entries_raw.join(
            batches.select(
                pl.col("batch_index").cast(pl.UInt32), pl.col("_entry_layout").alias("_layout")
            ),
            on="batch_index",
            how="left",
            maintain_order="left",
        ).with_columns(pl.col("_layout").fill_null("standard"))
        keys = entries_raw["_layout"].unique(maintain_order=True).to_list()

    # ---- addenda
    addenda_raw = records.filter(kind == K_ADDENDA).select(
        "line", "raw", wide_batch, pl.col("entry_index").cast(pl.Int64)
    )
    if addenda_raw.height:
        iat_batches = batches.filter(pl.col("_iat"))["batch_index"].to_list()
        addenda_raw = addenda_raw.with_columns(
            _addenda_layout_expr(pl.col("batch_index").is_in(iat_batches)).alias("_layout")
        )
        known = addenda_raw.filter(pl.col("_layout").is_not_null())
        akeys = known["_layout"].unique(maintain_order=True).to_list()
        addenda_full = (
            pl.concat(
                [
                    _slice_variants(known, "_layout", L.ADDENDA_LAYOUTS, akeys) if akeys else known,
                    addenda_raw.filter(pl.col("_layout").is_null()),
                ],
                how="diagonal_relaxed",
            )
            .sort("line")
            .with_columns(
                pl.col("raw").str.slice(1, 2).alias("addenda_type_code"),
            )
        )
    else:
        addenda_full = addenda_raw.with_columns(
            pl.lit(None, dtype=pl.String).alias("_layout"),
            pl.lit(None, dtype=pl.String).alias("addenda_type_code"),
        )
    addenda_full = addenda_full.with_columns(
        (pl.int_range(pl.len()).over("entry_index") + 1).cast(pl.Int64).alias("addenda_position")
    )

    # ---- file header / control
    fh = records.filter(kind == K_FILE_HEADER).head(1).select("line", "raw")
    file_header = fh.with_columns(_slice(L.FILE_HEADER)).with_columns(
        pl.col("file_creation_date").str.to_date("%y%m%d", strict=False).alias("creation_date")
    )
    fc = records.filter(kind == K_FILE_CONTROL).head(1).select("line", "raw")
    fc_layout = L.ADV_FILE_CONTROL if is_adv_file else L.FILE_CONTROL
    file_control = fc.with_columns(_slice(fc_layout))

    all_issues = pl.concat([issues, struct_issues], how="vertical")

    return NachaFile(
        # batch/entry membership of every record is recomputed by ``records`` when asked for
        record_codes=records.select("line", "kind", "raw"),
        file_header=file_header.drop("raw"),
        batches=batches.drop(
            "raw",
            "_layout",
            "_entry_layout",
            "_iat",
            "_control_layout",
            "_control_raw",
            strict=False,
        ),
        entry_records=entries_raw,
        entry_layouts=keys,
        addenda=addenda_full.drop("raw", "_layout"),
        file_control=file_control.drop("raw"),
        read_issues=all_issues.sort("line", nulls_last=True, maintain_order=True),
        line_ending=facts["ending"] or "\n",
        trailing_newline=facts["trailing_newline"],
        encoding=facts["encoding"],
        source_name=name,
        raw_by_layout=_raw_by_layout(headers, controls, addenda_full, fh, fc, fc_layout.key),
        is_adv=is_adv_file,
        printable_ascii=clean,
        has_plus_sign=facts["has_plus"],
    )


# header and control share these names; the control's copy gets a ``control_`` prefix
_CONTROL_CLASH = {"service_class_code", "company_id", "odfi_id", "batch_number", "line"}


def _raw_by_layout(
    headers: pl.DataFrame,
    controls: pl.DataFrame,
    addenda: pl.DataFrame,
    fh: pl.DataFrame,
    fc: pl.DataFrame,
    fc_key: str,
) -> dict[str, pl.DataFrame]:
    """(line, raw) of every typed record grouped by layout key, for the format rules."""
    out: dict[str, pl.DataFrame] = {}

    def put(
        frame: pl.DataFrame,
        key_col: str | None,
        key: str | None = None,
        line: str = "line",
        raw: str = "raw",
        prefix: str = "",
    ) -> None:
        if frame.height == 0:
            return
        if key_col is None:
            assert key is not None
            out[key] = frame.select(pl.col(line).alias("line"), pl.col(raw).alias("raw"))
            return
        for (k,), part in frame.group_by(key_col, maintain_order=True):
            if k is None:
                continue
            out[prefix + str(k)] = part.select(pl.col(line).alias("line"), pl.col(raw).alias("raw"))

    put(headers, "_layout")
    put(controls, "_control_layout", line="control_line", raw="_control_raw")
    put(addenda, "_layout", prefix="addenda_")
    put(fh, None, "file_header")
    put(fc, None, fc_key)
    return out


def _entry_layout_expr() -> pl.Expr:
    from nacha.codes import SEC_CODES

    sec = pl.col("sec_code")
    chain = None
    for s in SEC_CODES:
        if s.entry_layout == "standard":
            continue
        cond = sec == s.code
        chain = (pl.when(cond) if chain is None else chain.when(cond)).then(pl.lit(s.entry_layout))
    assert chain is not None
    return chain.otherwise(pl.lit("standard"))


def _addenda_layout_expr(in_iat_batch: pl.Expr) -> pl.Expr:
    raw = pl.col("raw")
    atype = raw.str.slice(1, 2)
    code = raw.str.slice(3, 3)
    return (
        pl.when(atype == "05")
        .then(pl.lit("05"))
        .when(atype == "99")
        .then(
            pl.when(code.is_in(sorted(DISHONORED_RETURN_CODES)))
            .then(pl.lit("99_dishonored"))
            .when(code.is_in(sorted(CONTESTED_RETURN_CODES)))
            .then(pl.lit("99_contested"))
            .when(in_iat_batch)
            .then(pl.lit("99_iat"))
            .otherwise(pl.lit("99"))
        )
        .when(atype == "98")
        .then(
            pl.when(code.is_in(sorted(REFUSED_CHANGE_CODES)))
            .then(pl.lit("98_refused"))
            .otherwise(pl.lit("98"))
        )
        .when(atype == "02")
        .then(pl.lit("02"))
        .when(atype.is_in([f"{n}" for n in range(10, 19)]))
        .then(atype)
        .otherwise(None)
    )
