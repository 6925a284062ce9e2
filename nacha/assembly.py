"""``assemble``: frames -> a complete NACHA file with every control value computed.

It takes header fields, batches, entries and addenda, *computes* every derived field (addenda
indicators, addenda sequence numbers, batch and file counts, entry hashes, debit/credit
totals, block count, padding) and formats whole columns (:mod:`nacha.formatting`). A value
that does not fit its field raises :class:`~nacha.errors.NachaWriteError`; nothing is ever
truncated.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from nacha import layouts as L
from nacha.errors import NachaWriteError
from nacha.formatting import check_line_ending, format_records, join_lines
from nacha.writer_layouts import attach_addenda, entry_layout_of_sec

MAX_AMOUNT = 10**10 - 1
MAX_TOTAL = 10**12 - 1


def assemble(
    *,
    file_header: Mapping[str, object],
    batches: pl.DataFrame,
    entries: pl.DataFrame,
    addenda: pl.DataFrame | None = None,
    line_ending: str = "\n",
    trusted_entry_columns: frozenset[str] = frozenset(),
    printable: bool = False,
) -> bytes:
    """Build a complete NACHA file from frames, computing every control value.

    ``file_header``: the file header fields (``immediate_destination``, ``immediate_origin``,
    ``file_creation_date`` (YYMMDD str or a date), ``file_creation_time``, ``file_id_modifier``,
    names, ``reference_code``; ``priority_code`` defaults to ``01``).
    ``batches``: one row per batch, header field columns including ``batch_number``, in file
    order. ``entries``: entry field columns plus ``batch_number``, in file order, trace numbers
    supplied (``rdfi_id`` + ``check_digit``, or a 9-digit ``rdfi_routing``); amounts are
    integer cents. ``addenda``: addenda field columns plus ``batch_number``, ``trace_number``
    (of the entry it belongs to) and ``addenda_type_code`` (default ``05``), in order.

    Computed: ``addenda_record_indicator``, CTX ``number_of_addenda_records``, addenda
    ``addenda_sequence_number`` / ``entry_detail_sequence_number`` (when not given), batch
    controls (count, hash, totals, company id, ODFI, batch number), file control, block count,
    padding. Raises :class:`NachaWriteError` when a value does not fit or a reference is
    dangling. ``trusted_entry_columns``: entry columns the caller made valid by construction
    (the file builder); their per-value check is skipped, their record length still checked.
    ``printable``: the caller proved every text value it passes printable ASCII (the file
    builder checks each transfer's texts and its settings), so the written bytes are not
    scanned for other characters a second time (one pass over the whole file).
    """
    check_line_ending(line_ending)
    if batches.height == 0:
        raise NachaWriteError("a file needs at least one batch", rule="write.no_batches")
    for col in ("batch_number", "sec_code", "service_class_code"):
        if col not in batches.columns:
            raise NachaWriteError(
                f"batches: column {col} is missing", field=col, rule="write.missing_field"
            )
    if batches["batch_number"].is_duplicated().any():
        raise NachaWriteError(
            "batches: batch_number values must be unique",
            field="batch_number",
            rule="write.batch_number",
        )
    entries = _normalise_entries(entries)
    batches = batches.with_columns(
        pl.col("batch_number").cast(pl.Int64),
        pl.col("service_class_code").cast(pl.String),
        pl.int_range(pl.len()).cast(pl.Int64).alias("_bpos"),
    )
    if "file_creation_date" in file_header and hasattr(
        file_header["file_creation_date"], "strftime"
    ):
        file_header = {
            **file_header,
            "file_creation_date": file_header["file_creation_date"].strftime("%y%m%d"),
        }  # type: ignore[union-attr]
    header_df = pl.DataFrame(
        {k: [v] for k, v in {"priority_code": "01", **file_header}.items()}, strict=False
    )
    header_df = header_df.with_columns(pl.all().cast(pl.String))

    # batch position and layout for every entry
    binfo = batches.select(
        "batch_number",
        "_bpos",
        "sec_code",
        (pl.col("sec_code") == "IAT").alias("_iat"),
        # the entry layout per batch (100 rows), not per entry (a when-chain over 1M rows)
        entry_layout_of_sec(pl.col("sec_code")).alias("_layout"),
    )
    # an entries frame with its own sec_code keeps deciding its layout by that column (as before)
    own_sec_code = "sec_code" in entries.columns
    # batch facts by position (a gather from the few batch rows), not a join that re-gathers
    # every column of the wide entries frame
    bpos = _batch_positions(entries["batch_number"], batches["batch_number"])
    entries = entries.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_input_pos"),
        bpos.alias("_bpos"),
        *[_by_batch(binfo[c], bpos) for c in ("_iat", "_layout")],
    )
    if entries["_bpos"].null_count():
        bad = entries.filter(pl.col("_bpos").is_null())["batch_number"][0]
        raise NachaWriteError(
            f"entries: batch_number {bad} has no batch",
            field="batch_number",
            rule="write.batch_number",
        )
    if not entries["_bpos"].is_sorted():
        entries = entries.sort("_bpos", maintain_order=True)
    # sorted either way: flagging it lets the per-batch group_by take its sorted-key path
    entries = entries.with_columns(pl.col("_bpos").set_sorted())
    entries = entries.with_columns(pl.int_range(pl.len()).cast(pl.Int64).alias("_eseq"))

    # addenda: attach to their entry
    if addenda is not None and addenda.height:
        addenda = attach_addenda(addenda, entries)
        # addenda are grouped by entry (sorted by _eseq): run lengths scattered into a zero
        # column, no group-by hash table and no join back onto the entries
        runs = addenda["_eseq"].rle().struct.unnest()
        nadd = pl.zeros(entries.height, dtype=pl.Int64, eager=True).alias("_nadd")
        nadd.scatter(runs["value"], runs["len"].cast(pl.Int64))
        entries = entries.with_columns(nadd)
    else:
        addenda = None
        entries = entries.with_columns(pl.lit(0, dtype=pl.Int64).alias("_nadd"))
    entries = entries.with_columns(
        pl.when(pl.col("_nadd") > 0)
        .then(pl.lit("1"))
        .otherwise(pl.lit("0"))
        .alias("addenda_record_indicator"),
    )
    if "number_of_addenda_records" not in entries.columns:
        entries = entries.with_columns(pl.col("_nadd").alias("number_of_addenda_records"))

    # line numbers: file header is line 1; each batch adds header + rows + control
    rows = 1 + pl.col("_nadd")
    entries = entries.with_columns(
        (rows.cum_sum() - rows).alias("_rows_before"),
    )
    # a debit when the code's second digit is 5-9 (22-24 credit / 27-29 debit, prenotes and
    # zero-dollar codes included): integer arithmetic instead of a slice and list match; a
    # code that is not two digits counts as a credit (as its second character would) and is
    # refused when the entries are formatted
    code = pl.col("transaction_code")
    debit = (code.str.len_bytes() == 2) & (code.cast(pl.Int64, strict=False) % 10 >= 5).fill_null(
        False
    )
    # per-row values first (whole-column kernels, evaluated in parallel), then plain sums
    # over the sorted batch positions
    per_row = entries.select(
        "_bpos",
        "_nadd",
        pl.col("rdfi_id").cast(pl.String).str.to_integer(strict=False).cast(pl.Int64).alias("_h"),
        debit.alias("_debit"),
        pl.col("amount").cast(pl.Int64).alias("_amount"),
    )
    amount, is_debit = pl.col("_amount"), pl.col("_debit")
    per_batch = per_row.group_by("_bpos").agg(
        pl.len().cast(pl.Int64).alias("_nent"),
        pl.col("_nadd").sum().cast(pl.Int64).alias("_nadd_total"),
        pl.col("_h").sum().alias("_hash_sum"),
        amount.filter(is_debit).sum().cast(pl.Int64).alias("total_debit_entry_dollar_amount"),
        amount.filter(~is_debit).sum().cast(pl.Int64).alias("total_credit_entry_dollar_amount"),
    )
    batches = batches.join(per_batch, on="_bpos", how="left", maintain_order="left")
    if batches["_nent"].null_count():
        bad = batches.filter(pl.col("_nent").is_null())["batch_number"][0]
        raise NachaWriteError(
            f"batch {bad} has no entries", field="batch_number", rule="write.empty_batch"
        )
    batches = (
        batches.with_columns(
            (pl.col("_nent") + pl.col("_nadd_total")).alias("entry_addenda_count"),
            (pl.col("_hash_sum") % 10**10).alias("entry_hash"),
        )
        .with_columns(
            (pl.col("entry_addenda_count") + 2).alias("_brows"),
        )
        .with_columns(
            (1 + pl.col("_brows").cum_sum() - pl.col("_brows") + 1).alias("_hline"),
        )
        .with_columns(
            (pl.col("_hline") + pl.col("_brows") - 1).alias("_cline"),
        )
    )
    for col, limit in (
        ("total_debit_entry_dollar_amount", MAX_TOTAL),
        ("total_credit_entry_dollar_amount", MAX_TOTAL),
    ):
        if (batches[col] > limit).any():
            raise NachaWriteError(
                f"a batch {col} exceeds 12 digits", field=col, rule="write.total_overflow"
            )
    # entries are in batch order, so every row before an entry is an entry or addenda row
    # (``_rows_before``) or one of the 2 * ``_bpos`` header/control rows of earlier batches,
    # after the file header and its own batch header: arithmetic, no join or window
    entries = entries.with_columns(
        (pl.col("_rows_before") + 2 * pl.col("_bpos") + 3).alias("_line")
    )

    keyed: list[pl.DataFrame] = []
    keyed.append(pl.DataFrame({"n": [1], "record": format_records(header_df, L.FILE_HEADER)}))
    # batch headers
    for is_iat, part in batches.group_by(pl.col("sec_code") == "IAT", maintain_order=True):
        layout = L.IAT_BATCH_HEADER if is_iat[0] else L.BATCH_HEADER
        keyed.append(
            pl.DataFrame(
                {"n": part["_hline"], "record": format_records(part, layout, context="batches")}
            )
        )
    # batch controls
    control = batches.with_columns(
        pl.col("company_id")
        if "company_id" in batches.columns
        else pl.lit(None, pl.String).alias("company_id")
    )
    for is_adv, part in control.group_by(pl.col("sec_code") == "ADV", maintain_order=True):
        layout = L.ADV_BATCH_CONTROL if is_adv[0] else L.BATCH_CONTROL
        keyed.append(
            pl.DataFrame(
                {
                    "n": part["_cline"],
                    "record": format_records(part, layout, context="batch control"),
                }
            )
        )
    # entries, by layout
    if own_sec_code:
        entries = entries.with_columns(entry_layout_of_sec(pl.col("sec_code")).alias("_layout"))
    entry_keys = entries["_layout"].unique(maintain_order=True).to_list()
    entry_parts = (
        [(entry_keys[0], entries)]
        if len(entry_keys) == 1  # the bulk case: no partition copies
        else [(k, p) for (k,), p in entries.group_by("_layout", maintain_order=True)]
    )
    for key, part in entry_parts:
        keyed.append(
            pl.DataFrame(
                {
                    "n": part["_line"],
                    "record": format_records(
                        part,
                        L.ENTRY_LAYOUTS[str(key)],
                        context="entries",
                        trusted=frozenset({"addenda_record_indicator"}) | trusted_entry_columns,
                    ),
                }
            )
        )
    if addenda is not None:
        # _eseq is the entry's row position (int_range after the batch sort): a gather
        addenda = addenda.with_columns(
            (pl.lit(entries["_line"]).gather(pl.col("_eseq")) + pl.col("_apos")).alias("_line")
        )
        for (key,), part in addenda.group_by("_layout", maintain_order=True):
            keyed.append(
                pl.DataFrame(
                    {
                        "n": part["_line"],
                        "record": format_records(
                            part, L.ADDENDA_LAYOUTS[str(key)], context="addenda"
                        ),
                    }
                )
            )

    # file control
    n_records = 2 + int(batches["_brows"].sum())
    blocks = -(-n_records // 10)
    totals = batches.select(
        pl.len().alias("batch_count"),
        pl.col("entry_addenda_count").sum(),
        (pl.col("entry_hash").sum() % 10**10).alias("entry_hash"),
        pl.col("total_debit_entry_dollar_amount").sum(),
        pl.col("total_credit_entry_dollar_amount").sum(),
    ).with_columns(pl.lit(blocks).alias("block_count"))
    for col in ("total_debit_entry_dollar_amount", "total_credit_entry_dollar_amount"):
        if totals[col][0] > MAX_TOTAL:
            raise NachaWriteError(
                f"the file {col} exceeds 12 digits", field=col, rule="write.total_overflow"
            )
    fc_layout = L.ADV_FILE_CONTROL if (batches["sec_code"] == "ADV").all() else L.FILE_CONTROL
    keyed.append(
        pl.DataFrame(
            {"n": [n_records], "record": format_records(totals, fc_layout, context="file control")}
        )
    )
    keyed = [k.with_columns(pl.col("n").cast(pl.Int64)) for k in keyed]
    return join_lines(keyed, line_ending, blocks * 10 - n_records, check_printable=not printable)


def _by_batch(values: pl.Series, bpos: pl.Series) -> pl.Expr:
    """A batch column per entry: a literal when every batch has the same value (and every
    entry has a batch), else a gather by batch position."""
    if bpos.null_count() == 0 and values.n_unique() == 1:
        return pl.lit(values[0], dtype=values.dtype).alias(values.name)
    return pl.lit(values).gather(bpos).alias(values.name)


def _batch_positions(numbers: pl.Series, batch_numbers: pl.Series) -> pl.Series:
    """Position in ``batch_numbers`` (unique) of every entry's batch number; null when it
    names no batch. Consecutive ascending batch numbers (every built file) make it one
    subtraction; otherwise a lookup in the small batch table."""
    n = batch_numbers.len()
    first = batch_numbers[0]
    numbers = numbers.cast(pl.Int64)
    if first is not None and batch_numbers.equals(
        pl.int_range(first, first + n, dtype=pl.Int64, eager=True), check_names=False
    ):
        pos = numbers - first
        return pl.select(
            pl.when((pos >= 0) & (pos < n)).then(pos).otherwise(None).alias("_bpos")
        ).to_series()
    return numbers.replace_strict(
        batch_numbers, pl.int_range(n, dtype=pl.Int64, eager=True), default=None
    ).alias("_bpos")


def _normalise_entries(entries: pl.DataFrame) -> pl.DataFrame:
    cols = entries.columns
    if "rdfi_id" not in cols:
        if "rdfi_routing" not in cols:
            raise NachaWriteError(
                "entries: need rdfi_id + check_digit or rdfi_routing",
                field="rdfi_id",
                rule="write.missing_field",
            )
        routing = pl.col("rdfi_routing").cast(pl.String)
        bad = entries.filter(routing.str.len_chars() != 9)
        if bad.height:
            raise NachaWriteError(
                f"entries: rdfi_routing {bad['rdfi_routing'][0]!r} is not 9 digits",
                field="rdfi_routing",
                rule="write.value",
            )
        entries = entries.with_columns(
            routing.str.slice(0, 8).alias("rdfi_id"), routing.str.slice(8, 1).alias("check_digit")
        )
    if "amount" in entries.columns and not entries.schema["amount"].is_integer():
        raise NachaWriteError(
            f"entries: amount must be integer cents, not {entries.schema['amount']}",
            field="amount",
            rule="write.amount_type",
        )
    for col in ("batch_number", "transaction_code", "amount", "trace_number"):
        if col not in entries.columns:
            raise NachaWriteError(
                f"entries: column {col} is missing", field=col, rule="write.missing_field"
            )
    return entries.with_columns(
        pl.col("batch_number").cast(pl.Int64),
        pl.col("transaction_code").cast(pl.String),
        pl.col("amount").cast(pl.Int64, strict=False),
        pl.col("trace_number").cast(pl.String),
        pl.col("rdfi_id").cast(pl.String),
        pl.col("check_digit").cast(pl.String),
    )
