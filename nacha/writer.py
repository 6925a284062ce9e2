"""Writer: frames -> exact NACHA bytes (94-character records, blocking factor 10 with
9-filled padding, LF by default).

:func:`~nacha.assembly.assemble` is the builder's entry point (every control value computed);
:func:`write` re-emits a read :class:`~nacha.model.NachaFile` from its frames (no
recomputation): reading then writing a valid, physically clean file gives the same bytes.
Formatting lives in :mod:`nacha.formatting`, layout choice in :mod:`nacha.writer_layouts`.
"""

from __future__ import annotations

import polars as pl

from nacha import layouts as L
from nacha.assembly import MAX_AMOUNT, MAX_TOTAL, assemble
from nacha.errors import NachaWriteError
from nacha.formatting import check_line_ending, format_records, join_lines
from nacha.model import NachaFile
from nacha.writer_layouts import addenda_layout, entry_layout_of_sec

__all__ = ["MAX_AMOUNT", "MAX_TOTAL", "assemble", "format_records", "write"]


def write(f: NachaFile, *, line_ending: str = "\n") -> bytes:
    """Re-emit a read file from its frames, record for record (no recomputation).

    The file's own choice of a final line ending is kept (``f.trailing_newline``).

    Raises :class:`NachaWriteError` when the file holds records the reader could not type
    (unknown record types, a second file header, ...) or values that do not fit.
    """
    check_line_ending(line_ending)
    rec = f.records
    typed = {
        "file_header",
        "batch_header",
        "entry",
        "addenda",
        "batch_control",
        "file_control",
        "padding",
    }
    unknown = rec.filter(~pl.col("kind").is_in(list(typed)))
    if unknown.height:
        raise NachaWriteError(
            f"line {unknown['line'][0]}: record of unknown type cannot be written",
            rule="write.unknown_record",
        )
    expected = rec.filter(pl.col("kind") != "padding").height
    counted = (
        f.file_header.height
        + f.file_control.height
        + f.entries.height
        + f.addenda.height
        + f.batches.height
        + (f.batches["control_line"].drop_nulls().len() if f.batches.height else 0)
    )
    if counted != expected:
        raise NachaWriteError(
            "the file has records outside its structure (duplicates or "
            "misplaced records) and cannot be re-written",
            rule="write.structure",
        )
    keyed: list[pl.DataFrame] = []

    def add(frame: pl.DataFrame, layout: L.Layout, line: str = "line") -> None:
        if frame.height:
            keyed.append(
                pl.DataFrame(
                    {
                        "n": frame[line].cast(pl.Int64),
                        "record": format_records(frame, layout, context=layout.key, check=True),
                    }
                )
            )

    add(f.file_header, L.FILE_HEADER)
    add(f.file_control, L.ADV_FILE_CONTROL if f.is_adv else L.FILE_CONTROL)
    b = f.batches
    if b.height:
        iat = (
            (pl.col("sec_code") == "IAT") | (pl.col("iat_indicator") == "IATCOR")
            if "iat_indicator" in b.columns
            else pl.col("sec_code") == "IAT"
        )
        add(b.filter(iat), L.IAT_BATCH_HEADER)
        add(b.filter(~iat | iat.is_null()), L.BATCH_HEADER)
        controls = b.filter(pl.col("control_line").is_not_null()).with_columns(
            [
                pl.col(f"control_{c}").alias(c)
                for c in ("service_class_code", "company_id", "odfi_id", "batch_number")
                if f"control_{c}" in b.columns
            ]
        )
        add(controls.filter(pl.col("sec_code") == "ADV"), L.ADV_BATCH_CONTROL, "control_line")
        add(controls.filter(pl.col("sec_code") != "ADV"), L.BATCH_CONTROL, "control_line")
        layout_by_batch = b.select(
            "batch_index",
            pl.when(iat)
            .then(pl.lit("iat"))
            .otherwise(entry_layout_of_sec(pl.col("sec_code")))
            .alias("_layout"),
        )
        layout_by_batch = layout_by_batch.with_columns(pl.col("_layout").fill_null("standard"))
    else:
        layout_by_batch = pl.DataFrame(schema={"batch_index": pl.Int64, "_layout": pl.String})
    ents = f.entries.join(layout_by_batch, on="batch_index", how="left", maintain_order="left")
    for (key,), part in ents.group_by(pl.col("_layout").fill_null("standard"), maintain_order=True):
        add(part, L.ENTRY_LAYOUTS[str(key)])
    if f.addenda.height:
        iat_batches = b.filter(iat)["batch_index"].to_list() if b.height else []
        known = [
            frame.select("line", pl.lit(key.removeprefix("addenda_")).alias("_layout"))
            for key, frame in f.raw_by_layout.items()
            if key.startswith("addenda_")
        ]
        adds = f.addenda.join(pl.concat(known), on="line", how="left") if known else f.addenda
        if "_layout" not in adds.columns or adds["_layout"].null_count():
            code = pl.coalesce(
                [pl.col(c) for c in ("return_reason_code", "change_code") if c in f.addenda.columns]
                or [pl.lit(None, pl.String)]
            )
            add_layouts = [
                addenda_layout(t or "", c, bi in iat_batches)
                for t, c, bi in f.addenda.select(
                    "addenda_type_code", code, "batch_index"
                ).iter_rows()
            ]
            adds = f.addenda.with_columns(pl.Series("_layout", add_layouts, dtype=pl.String))
        for (key,), part in adds.group_by("_layout", maintain_order=True):
            add(part, L.ADDENDA_LAYOUTS[str(key)])
    pads = rec.filter(pl.col("kind") == "padding")
    if pads.height:
        keyed.append(pads.select(pl.col("line").alias("n"), pl.col("raw").alias("record")))
    return join_lines(keyed, line_ending, 0, trailing_newline=f.trailing_newline)
