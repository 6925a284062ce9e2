"""Plan files from checked transfers: batches, batch splits, files, trace numbers, offsets.

Why a plan separate from the writing: every number the ledger needs (file, batch number,
trace number) is decided here on frames, and the writer only formats. All work is columnar;
the only Python loops run once per *batch chunk* or *file*, never per transfer.

Rules applied (nacha-format.md): one batch per company, SEC, effective date, description and
service class (§3); batch numbers ascend from 1 in each file; trace numbers are the ODFI
prefix plus a sequence that ascends across the whole build, so they are unique in every file
and across the files of one build (§8); a batch never exceeds the 6-digit entry/addenda
count or the 12-digit totals, and a file never exceeds the configured line and dollar limits
(batches are split, then packed into files).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from nacha.build_rules import SEC_RULES, addenda_records_expr
from nacha.build_settings import (
    ACCOUNT_DIGIT,
    NACHA_MAX_AMOUNT_CENTS,
    BuildSettings,
    Company,
)
from nacha.errors import NachaWriteError

__all__ = ["Plan", "plan_files", "trace_number_expr"]

BATCH_KEY = ("effective_entry_date", "company_index", "sec", "company_entry_description", "svc")
MAX_SEQUENCE = 9_999_999


@dataclass(frozen=True)
class Plan:
    """``entries``: every entry (transfers and offsets) with file index, batch number,
    trace sequence and trace number; ``batches``: one row per batch; ``files``: one row per file."""

    entries: pl.DataFrame
    batches: pl.DataFrame
    files: pl.DataFrame
    next_sequence: int


def _chunks(starts: list[int], ends: list[int], cums: list[pl.Series], limits: list[int]):
    """Greedy split of each [start, end) group so that every cumulative measure stays within
    its limit; one binary search per chunk, not per row."""
    total = ends[-1] if ends else 0
    if total == 0 or all(int(c[-1]) <= lim for c, lim in zip(cums, limits, strict=True)):
        return pl.Series("chunk", [0] * total, dtype=pl.Int64)  # the common case: no split
    bounds: list[tuple[int, int, int]] = []  # (start, end, chunk number)
    for g0, g1 in zip(starts, ends, strict=True):
        s, k = g0, 0
        while s < g1:
            e = g1
            for cum, limit in zip(cums, limits, strict=True):
                base = int(cum[s - 1]) if s else 0
                e = min(e, int(cum.search_sorted(base + limit, side="right")))
            e = max(e, s + 1)  # a single entry always fits (amounts are checked upstream)
            bounds.append((s, e, k))
            s, k = e, k + 1
    runs = pl.DataFrame(
        {"chunk": [k for _, _, k in bounds], "n": [e - s for s, e, _ in bounds]},
        schema={"chunk": pl.Int64, "n": pl.Int64},
    )
    return runs.select(pl.col("chunk").repeat_by("n").explode())["chunk"]


def _constant(values: pl.Series) -> bool:
    """One value and no nulls: such a key column cannot separate batches (min/max are a
    cheap scan; no hashing)."""
    return values.null_count() == 0 and values.min() == values.max()


def _batch_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows grouped by batch key (date, company, SEC, description, service class) in
    lexical key order, input order kept within a batch; ``group`` numbers the keys densely.

    A counting sort: one hash group-by over the key columns that vary (usually one or two;
    none at all for a single batch) yields each batch's row indices in input order (polars
    keeps row order within a group); the few keys are sorted, their index lists
    concatenated into the permutation, and every column gathered once. No comparison sort
    of a million rows."""
    varying = [c for c in BATCH_KEY if not _constant(frame.get_column(c))]
    if not varying:
        return frame.with_columns(group=pl.repeat(0, frame.height, dtype=pl.Int64).set_sorted())
    groups = (
        frame.select(varying)
        .with_row_index("_i")
        .group_by(varying)
        .agg(pl.col("_i"))
        .sort(varying, nulls_last=True)
    )
    spread = groups.select(
        order=pl.col("_i").explode(),
        group=pl.int_range(pl.len(), dtype=pl.Int64).repeat_by(pl.col("_i").list.len()).explode(),
    )
    # ``group`` ascends by construction: flag it so group-bys over it take the sorted path.
    group = spread.get_column("group").set_sorted()
    return frame[spread.get_column("order")].with_columns(group)


def _order_and_split(accepted: pl.DataFrame, settings: BuildSettings) -> pl.DataFrame:
    split = settings.service_class_mode == "split"
    svc = (
        pl.when(pl.col("is_credit")).then(pl.lit("220")).otherwise(pl.lit("225"))
        if split
        else pl.lit("200")
    )
    frame = accepted.with_columns(svc=svc)
    if not frame.get_column("row").is_sorted():  # a caller's own frame: input order first
        frame = frame.sort("row")
    # the measures after the batch order: three columns fewer to gather
    frame = _batch_order(frame).with_columns(
        records=1 + addenda_records_expr(pl.col("addenda")),
        credit_cents=pl.when(pl.col("is_credit")).then("amount_cents").otherwise(0),
        debit_cents=pl.when(pl.col("is_credit")).then(0).otherwise("amount_cents"),
    )
    if frame.height == 0:
        return frame.with_columns(chunk=pl.lit(0, pl.Int64))
    limits = settings.limits
    records_limit = limits.batch_records  # an entry with its addenda never exceeds it
    credit_limit, debit_limit = limits.max_file_credit_cents, limits.max_file_debit_cents
    if settings.balanced:
        # The offset mirrors the larger side onto the other one, and it is ONE entry: its
        # amount (the batch's net, at most the larger side) must fit the 10-digit field.
        credit_limit = debit_limit = min(credit_limit, debit_limit, NACHA_MAX_AMOUNT_CENTS)
    measures = ("records", "credit_cents", "debit_cents")
    limits_ = (records_limit, credit_limit, debit_limit)
    # The common case needs no split: every batch key's totals are within the limits
    # (one group-by over the sorted key; the cumulative sums below only when needed).
    sums = frame.group_by("group", maintain_order=True).agg(pl.len(), *map(pl.sum, measures))
    if all(sums[c].max() <= lim for c, lim in zip(measures, limits_, strict=True)):
        return frame.with_columns(chunk=pl.lit(0, pl.Int64))
    ends = sums["len"].cum_sum().to_list()
    starts = [0, *ends[:-1]]
    cums = [frame[c].cum_sum() for c in measures]
    return frame.with_columns(chunk=_chunks(starts, ends, cums, list(limits_)))


def _pack(batches: pl.DataFrame, settings: BuildSettings) -> pl.Expr:
    """File index of every batch: greedy, in batch order, within the file limits. A batch
    and its companion offset batch (same ``_unit``) always share a file."""
    limits = settings.limits
    units = batches.group_by("_unit", maintain_order=True).agg(
        n=pl.len(), records=pl.sum("records"), c=pl.sum("credit_cents"), d=pl.sum("debit_cents")
    )
    out: list[int] = []
    file_idx, lines, credit, debit, count = 0, 2, 0, 0, 0
    for _, n, records, c, d in units.iter_rows():
        need = records + 2 * n
        fits = (
            -(-(lines + need) // 10) * 10 <= limits.max_file_lines
            and credit + c <= limits.max_file_credit_cents
            and debit + d <= limits.max_file_debit_cents
            and count + n <= 999_999
        )
        if count > 0 and not fits:
            file_idx, lines, credit, debit, count = file_idx + 1, 2, 0, 0, 0
        out.append(file_idx)
        lines, credit, debit, count = lines + need, credit + c, debit + d, count + n
    mapping = pl.DataFrame({"_unit": units["_unit"], "file_index": out}).cast(
        {"file_index": pl.Int64}
    )
    return batches.join(mapping, on="_unit", how="left", maintain_order="left")["file_index"]


#: SEC codes whose batches cannot hold an offset of the other direction.
_ONE_WAY = {code: (r.credits, r.debits) for code, r in SEC_RULES.items()}


def _balance(batches: pl.DataFrame) -> pl.DataFrame:
    """Offsets: in the batch itself, or — when the batch's SEC code forbids the offset's
    direction (TEL, CIE, ARC, BOC, POP, RCK, XCK) — in a companion CCD batch right after
    it, so every batch stays valid for its SEC code and the file still balances."""
    net = pl.col("credit_cents") - pl.col("debit_cents")
    allows_credit = pl.col("sec").replace_strict(
        {k: v[0] for k, v in _ONE_WAY.items()}, return_dtype=pl.Boolean
    )
    allows_debit = pl.col("sec").replace_strict(
        {k: v[1] for k, v in _ONE_WAY.items()}, return_dtype=pl.Boolean
    )
    batches = batches.with_columns(
        _net=net,
        _companion=((net > 0) & ~allows_debit) | ((net < 0) & ~allows_credit),
    )
    inline = batches.with_columns(
        offset=((pl.col("_net") != 0) & ~pl.col("_companion")).cast(pl.Int64),
        credit_cents=pl.when(pl.col("_companion"))
        .then("credit_cents")
        .otherwise(pl.max_horizontal("credit_cents", "debit_cents")),
        debit_cents=pl.when(pl.col("_companion"))
        .then("debit_cents")
        .otherwise(pl.max_horizontal("credit_cents", "debit_cents")),
        _net=pl.when(pl.col("_companion")).then(0).otherwise("_net"),
        _order=pl.col("_unit") * 2,
    )
    companions = batches.filter(pl.col("_companion")).with_columns(
        sec=pl.lit("CCD"),
        svc=pl.lit("200"),
        entries=pl.lit(0, pl.UInt32),
        records=pl.lit(0, pl.Int64),
        offset=pl.lit(1, pl.Int64),
        credit_cents=pl.when(pl.col("_net") < 0).then(-pl.col("_net")).otherwise(0),
        debit_cents=pl.when(pl.col("_net") > 0).then("_net").otherwise(0),
        group=-1 - pl.col("_unit"),  # a key of its own, never equal to a transfer group
        chunk=pl.lit(0, pl.Int64),
        same_day=pl.lit(False),
        _order=pl.col("_unit") * 2 + 1,
    )
    return (
        pl.concat([inline, companions.select(inline.columns)], how="vertical_relaxed")
        .sort("_order")
        .drop("_order", "_companion")
    )


def _offsets(batches: pl.DataFrame, companies: tuple[Company, ...]) -> pl.DataFrame:
    """One offset entry per unbalanced batch, to the company's settlement account."""
    settle = pl.DataFrame(
        [
            {
                "company_index": i,
                "routing_number": c.settlement.routing_number,
                "account_number": c.settlement.account_number,
                "account_digit": ACCOUNT_DIGIT[c.settlement.account_type],
                "individual_name": c.settlement.name or c.company_name,
            }
            for i, c in enumerate(companies)
            if c.settlement is not None
        ],
        schema_overrides={"company_index": pl.Int32, "account_digit": pl.Int32},
    )
    net = pl.col("_net")
    return (
        batches.filter(net != 0)
        .join(settle, on="company_index", how="left")
        .select(
            "file_index",
            "batch_number",
            "company_index",
            "sec",
            "effective_entry_date",
            "company_entry_description",
            "svc",
            is_credit=net < 0,
            amount_cents=net.abs(),
            transaction_code=(
                pl.col("account_digit") * 10 + pl.when(net > 0).then(7).otherwise(2)
            ).cast(pl.String),
            routing_number=pl.col("routing_number"),
            account_number=pl.col("account_number"),
            individual_name=pl.col("individual_name"),
            seq=pl.col("first_sequence") + pl.col("entries"),
        )
    )


def trace_number_expr(settings: BuildSettings, seq: pl.Expr) -> pl.Expr:
    """ODFI prefix (8 digits) + 7-digit sequence, as integer arithmetic and one cast: the
    leading ``1`` keeps the prefix's leading zeros and is sliced off (no string concat, no
    padding pass)."""
    odfi8 = settings.originator.odfi_routing[:8]
    return (pl.lit(10**15 + int(odfi8) * 10**7, pl.Int64) + seq).cast(pl.String).str.slice(1)


def plan_files(accepted: pl.DataFrame, settings: BuildSettings, *, first_sequence: int) -> Plan:
    """Assign batches, files and trace sequences to the accepted transfers."""
    if not 0 <= first_sequence <= MAX_SEQUENCE:
        raise ValueError(f"first trace sequence must be 0..{MAX_SEQUENCE}: {first_sequence}")
    frame = _order_and_split(accepted, settings)
    # One integer per batch, in file order: entries are already sorted by it.
    frame = frame.with_columns(
        _bid=pl.struct("group", "chunk").rle_id().cast(pl.Int64)
        if frame.height and frame["chunk"].max()
        else pl.col("group")
    )
    keys = ["_bid"]
    batches = frame.group_by(keys, maintain_order=True).agg(
        pl.first("group"),
        pl.first("chunk"),
        *[pl.first(k) for k in BATCH_KEY if k != "svc"],
        pl.first("svc"),
        pl.first("same_day"),
        entries=pl.len(),
        records=pl.sum("records"),
        credit_cents=pl.sum("credit_cents"),
        debit_cents=pl.sum("debit_cents"),
    )
    batches = batches.with_columns(
        _unit=pl.int_range(pl.len(), dtype=pl.Int64), group=pl.col("group").cast(pl.Int64)
    )
    if settings.balanced:
        batches = _balance(batches)
    else:
        batches = batches.with_columns(offset=pl.lit(0, pl.Int64), _net=pl.lit(0, pl.Int64))
    batches = batches.with_columns(records=pl.col("records") + pl.col("offset"))
    batches = batches.with_columns(file_index=_pack(batches, settings))
    slots = pl.col("entries") + pl.col("offset")
    batches = batches.with_columns(
        batch_number=pl.int_range(1, pl.len() + 1).over("file_index"),
        first_sequence=first_sequence + slots.cum_sum() - slots,
    )
    next_sequence = first_sequence + int(batches.select(slots.sum()).item() or 0)
    if next_sequence - 1 > MAX_SEQUENCE:
        raise NachaWriteError(
            f"trace sequence would pass {MAX_SEQUENCE} (first {first_sequence}, "
            f"{next_sequence - first_sequence} entries): allocate a lower starting sequence",
            field="trace_number",
            rule="trace.sequence_overflow",
        )
    # Per-entry batch facts by position (entries and transfer batches share one order):
    # seq = row position + (batch's first sequence - batch's first row position).
    own = batches.filter(pl.col("group") >= 0).sort("_unit")
    own = own.with_columns(
        _delta=pl.col("first_sequence") - (pl.col("entries").cum_sum() - pl.col("entries"))
    )
    bid = pl.col("_bid")
    seq = pl.int_range(pl.len(), dtype=pl.Int64) + pl.lit(own["_delta"]).gather(bid)
    entries = frame.with_columns(
        file_index=pl.lit(own["file_index"]).gather(bid),
        batch_number=pl.lit(own["batch_number"]).gather(bid),
        seq=seq,
        kind=pl.when(pl.col("prenote")).then(pl.lit("prenote")).otherwise(pl.lit("entry"))
        if frame.get_column("prenote").any()
        else pl.lit("entry"),  # no prenotes (the usual file): one value, no per-row branch
        # without offsets the traces are final here: computed alongside, not in a pass after
        **({} if settings.balanced else {"trace_number": trace_number_expr(settings, seq)}),
    )
    if settings.balanced:
        offsets = _offsets(batches, settings.companies).with_columns(
            kind=pl.lit("offset"),
            prenote=pl.lit(False),
            same_day=pl.lit(False),
            layout=pl.lit("standard"),
            identification_number=pl.lit(None, pl.String),
            # a WEB offset debit still needs a Payment Type Code: a single entry
            payment_type_code=pl.when((pl.col("sec") == "WEB") & ~pl.col("is_credit")).then(
                pl.lit("S")
            ),
            addenda=pl.lit(None, pl.String),
            records=pl.lit(1, pl.Int64),
        )
        entries = pl.concat([entries, offsets], how="diagonal_relaxed").sort("seq")
        entries = entries.with_columns(trace_number=trace_number_expr(settings, pl.col("seq")))
    files = batches.group_by("file_index", maintain_order=True).agg(
        batches=pl.len(),
        entries=pl.sum("entries") + pl.sum("offset"),
        records=pl.sum("records"),
        credit_cents=pl.sum("credit_cents"),
        debit_cents=pl.sum("debit_cents"),
    )
    return Plan(entries=entries, batches=batches, files=files, next_sequence=next_sequence)
