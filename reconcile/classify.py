"""Every input row into exactly one class.

A *chain* is one ledger transfer with the entry that carried it and the API transfer that
reports on it. The chain's class is the first that applies, in this order:

==================  ====================================================================
missing_in_file     no entry carries the transfer (unless the API declined it: matched)
amount_break        ledger vs file amount or direction differ (tolerance zero)
missing_in_api      the entry went out but the API does not know the transfer
amount_break        file vs API amount or direction differ
status_break        the API status contradicts what the files say (e.g. a return arrived
                    but the API says Settled, or the API says Returned without a return)
returned            a return (not dishonored) arrived for the entry
matched             everything agrees
==================  ====================================================================

Every row of the chain (ledger, entry, API) carries the chain's class. Rows outside chains:
duplicates (a key repeating an earlier row of the same source) are ``duplicate``; an entry
no ledger row claims is ``unexpected_in_file`` (and so is an API row that matches only such
an entry); an API row that matches nothing is ``missing_in_file`` (not in any file, not in
the ledger); a batch offset entry is ``matched`` to the batch it balances (1-to-many) or an
``amount_break`` when it does not balance. Returns are ``returned`` when their original
trace is an entry of ours, else ``unmatched_return``; NOCs likewise ``noc`` /
``unmatched_noc``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from reconcile import codes
from reconcile._align import gather, lookup, not_in
from reconcile._fmt import money_expr
from reconcile._items import api_items, entry_items, ledger_items, noc_items, return_items
from reconcile.match import DateWindow, first_of, pair, pair_aligned

CLASSES: tuple[str, ...] = (
    "matched",
    "missing_in_file",
    "missing_in_api",
    "unexpected_in_file",
    "amount_break",
    "status_break",
    "duplicate",
    "returned",
    "noc",
    "unmatched_return",
    "unmatched_noc",
)
#: Classes that need someone's attention (the report's "breaks").
BREAK_CLASSES: frozenset[str] = frozenset(
    {
        "missing_in_file",
        "missing_in_api",
        "unexpected_in_file",
        "amount_break",
        "status_break",
        "duplicate",
        "unmatched_return",
        "unmatched_noc",
    }
)

#: API statuses consistent with an entry that went out in a file and was not returned.
SENT_STATUSES: frozenset[str] = frozenset({"Sent", "Complete", "Settled"})


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchOptions:
    """Explicit date windows, in calendar days (``[min, max]`` of right minus left).

    ``entry_window``: entry effective date vs ledger effective date (a transfer may roll
    over a holiday). ``api_window``: API effective date vs ledger/entry effective date.
    ``return_window``: return date vs the original settlement date (60-day returns, plus the
    slack of late R06/R31 returns). ``noc_window``: NOC date vs original settlement date.
    """

    entry_window: tuple[int, int] = (-5, 10)
    api_window: tuple[int, int] = (-5, 10)
    return_window: tuple[int, int] = (-3, 120)
    noc_window: tuple[int, int] = (-3, 60)
    sent_statuses: frozenset[str] = field(default=SENT_STATUSES)


def _with_row(lf: pl.LazyFrame, name: str) -> pl.LazyFrame:
    return lf.with_row_index(name).with_columns(pl.col(name).cast(pl.Int64))


def classify(
    ledger: pl.LazyFrame,
    entries: pl.LazyFrame,
    api: pl.LazyFrame,
    returns: pl.LazyFrame,
    nocs: pl.LazyFrame,
    *,
    as_of: dt.date,
    options: MatchOptions | None = None,
) -> pl.LazyFrame:
    """One row per input row (``ITEMS_SCHEMA``): its source, row index and class.

    Inputs must already have the shapes of ``LEDGER_SCHEMA``, ``ENTRIES_SCHEMA``,
    ``API_SCHEMA``, ``RETURNS_SCHEMA`` and ``NOCS_SCHEMA`` (see :func:`schemas.conform`).
    ``as_of`` is the reconciliation date: an entry effective on or after it may still show
    ``Initiated`` at the API.
    """
    opt = options or MatchOptions()

    led = _with_row(ledger, "l_row").with_columns(l_first=first_of(["reference"])).cache()
    ent = _with_row(entries, "e_row").with_columns(
        e_direction=codes.direction_expr("transaction_code"),
        e_date=pl.coalesce("settlement_date", "effective_date"),
        is_offset=pl.col("is_offset").fill_null(False),
    )
    ent = ent.with_columns(
        e_first_trace=first_of(["trace_number"]),
        e_first=first_of(["trace_number"]) & (pl.col("is_offset") | first_of(["reference"])),
    ).cache()
    api_ = _with_row(api, "a_row").with_columns(a_first=first_of(["cfi_transaction_id"]))
    api_ = api_.with_columns(
        a_first=pl.col("a_first") & first_of(["reference"]),
    ).cache()
    ret = _with_row(returns, "r_row").with_columns(
        kind=pl.coalesce("kind", codes.return_kind_expr("return_code")),
    )
    ret = ret.with_columns(
        r_first=pl.col("original_trace_number").is_null()
        | pl.struct("original_trace_number", "kind").is_first_distinct()
    ).cache()
    noc = (
        _with_row(nocs, "n_row")
        .with_columns(
            n_first=pl.col("original_trace_number").is_null()
            | pl.struct("original_trace_number", "change_code").is_first_distinct()
        )
        .cache()
    )

    # --- ledger ↔ entries: the chains, one per non-duplicate ledger row ---------------------
    # Every step below keeps the chain frame aligned (same rows, same order): pairs come back
    # as a column of the paired row number, and the paired rows' fields are gathered by it.
    chain = pair_aligned(
        led.filter(pl.col("l_first")).cache(),
        ent.filter(pl.col("e_first") & ~pl.col("is_offset")),
        right_id="e_row",
        window=DateWindow("effective_date", "effective_date", *opt.entry_window),
        left_unique={"reference"},
        right_unique={"trace_number", "reference"},
        rule="le_rule",
    )
    # The chain's keys: what the ledger knows, completed by the entry that carried it.
    chain = (
        gather(chain, ent, "e_row", _ENTRY_FIELDS)
        .with_columns(
            k_trace=pl.coalesce("trace_number", "e_trace"),
            k_ref=pl.coalesce("reference", "e_ref"),
            k_cfi=pl.coalesce("cfi_transaction_id", "e_cfi"),
            k_eff=pl.coalesce("e_eff", "effective_date"),
        )
        .cache()
    )

    # --- chain ↔ API ----------------------------------------------------------------------
    chain = pair_aligned(
        chain,
        api_.filter(pl.col("a_first")),
        right_id="a_row",
        keys=[
            ("k_trace", "trace_number"),
            ("k_ref", "reference"),
            ("k_cfi", "cfi_transaction_id"),
        ],
        window=DateWindow("k_eff", "effective_date", *opt.api_window),
        right_unique={"reference", "cfi_transaction_id"},
    )
    chain = gather(chain, api_, "a_row", _API_FIELDS).cache()

    # --- the rest: entries and API rows outside the chains ----------------------------------
    # Duplicates, offsets and orphans: few on a normal day, so plain joins are fine for them.
    ent_rest = not_in(ent, "e_row", chain, "e_row").cache()
    api_rest = not_in(api_, "a_row", chain, "a_row").cache()
    ea = pair(
        ent_rest.filter(pl.col("e_first") & ~pl.col("is_offset")).select(
            "e_row", *_KEYS, e_eff="effective_date"
        ),
        api_rest.filter(pl.col("a_first")).select("a_row", *_KEYS, a_eff="effective_date"),
        left_id="e_row",
        right_id="a_row",
        window=DateWindow("e_eff", "a_eff", *opt.api_window),
        left_unique={"trace_number", "reference"},
        right_unique={"reference", "cfi_transaction_id"},
    ).cache()

    # --- returns and NOCs ↔ entries (by original trace) -------------------------------------
    ent_by_trace = ent.filter(pl.col("e_first_trace") & pl.col("trace_number").is_not_null())
    ret_m = _link_to_entry(
        ret.filter(pl.col("r_first")), ent_by_trace, "r_row", "return_date", opt.return_window
    )
    noc_m = _link_to_entry(
        noc.filter(pl.col("n_first")), ent_by_trace, "n_row", "received_date", opt.noc_window
    ).cache()
    ret_linked = ret.join(ret_m, on="r_row", how="left", maintain_order="left").cache()
    # The return that stands for an entry: a return whose dishonor (if any) was contested.
    per_entry = (
        ret_linked.filter(pl.col("e_row").is_not_null())
        .group_by("e_row")
        .agg(
            has_return=(pl.col("kind") == "return").any(),
            dishonored=(pl.col("kind") == "dishonor").any(),
            contested=(pl.col("kind") == "contested").any(),
            ret_code=pl.col("return_code").filter(pl.col("kind") == "return").first(),
            ret_date=pl.col("return_date").filter(pl.col("kind") == "return").first(),
        )
        .with_columns(returned=pl.col("has_return") & (~pl.col("dishonored") | pl.col("contested")))
        .select("e_row", "returned", "ret_code", "ret_date")
    )
    noc_per_entry = (
        noc.join(noc_m, on="n_row", how="inner", maintain_order="left")
        .group_by("e_row")
        .agg(
            noc_code=pl.col("change_code").first(),
            noc_data=pl.col("corrected_data").first(),
        )
    )
    # One small frame per entry (its return and its NOC): looked up once by the chains and
    # once by the other entries.
    per_entry = per_entry.join(noc_per_entry, on="e_row", how="full", coalesce=True).cache()

    chain = _classify_chains(lookup(chain, per_entry, "e_row"), as_of, opt).cache()
    return pl.concat(
        [
            ledger_items(chain, led),
            entry_items(chain, ent, ent_rest, ea, per_entry),
            api_items(chain, api_rest, ea),
            return_items(ret_linked, ent),
            noc_items(noc, noc_m, ent),
        ],
        how="vertical",
    )


#: Entry fields a chain carries, gathered by its ``e_row`` (``e_`` names: the ledger's own
#: columns keep theirs).
_ENTRY_FIELDS: dict[str, pl.Expr | str] = {
    "e_trace": "trace_number",
    "e_ref": "reference",
    "e_cfi": "cfi_transaction_id",
    "e_company": "company_id",
    "e_sec": "sec_code",
    "e_amount": "amount_cents",
    "e_direction": "e_direction",
    "e_eff": "effective_date",
    "e_date": "e_date",
    "e_settle": "settlement_date",
    "e_last4": "account_last4",
}
#: API fields a chain carries, gathered by its ``a_row``.
_API_FIELDS: dict[str, pl.Expr | str] = {
    "a_status": "status",
    "a_amount": "amount_cents",
    "a_direction": "direction",
    "a_ref": "reference",
    "a_trace": "trace_number",
    "a_cfi": "cfi_transaction_id",
    "a_eff": "effective_date",
    "a_settle": "settlement_date",
    "a_return_code": "return_code",
    "a_noc_code": "noc_code",
}
_KEYS = ("trace_number", "reference", "cfi_transaction_id")


def _link_to_entry(
    events: pl.LazyFrame,
    ent_by_trace: pl.LazyFrame,
    row: str,
    date_col: str,
    window: tuple[int, int],
) -> pl.LazyFrame:
    """``(row, e_row)`` for events whose original trace is one of our entries, in window."""
    joined = events.select(row, "original_trace_number", date_col).join(
        ent_by_trace.select("e_row", "trace_number", "e_date"),
        left_on="original_trace_number",
        right_on="trace_number",
        how="inner",
    )
    return joined.filter(DateWindow("e_date", date_col, *window).expr()).select(row, "e_row")


def _classify_chains(chain: pl.LazyFrame, as_of: dt.date, opt: MatchOptions) -> pl.LazyFrame:
    """The chain frame (entry, API and per-entry fields gathered) plus its class and detail."""
    c = chain.with_columns(pl.col("returned").fill_null(False))
    has_e = pl.col("e_row").is_not_null()
    has_a = pl.col("a_row").is_not_null()
    status = pl.col("a_status")
    ledger_vs_file = (pl.col("amount_cents") != pl.col("e_amount")) | (
        pl.col("direction").is_not_null() & (pl.col("direction") != pl.col("e_direction"))
    )
    file_vs_api = (pl.col("a_amount") != pl.col("e_amount")) | (
        pl.col("a_direction").is_not_null() & (pl.col("a_direction") != pl.col("e_direction"))
    )
    initiated_ok = (status == "Initiated") & (pl.col("e_eff") >= pl.lit(as_of))
    status_ok = (
        pl.when(pl.col("returned"))
        .then(status == "Returned")
        .otherwise(status.is_in(list(opt.sent_statuses)) | initiated_ok)
    )
    money = money_expr
    # Which rule decided, as a small integer: cheap on every row; the text of the detail is
    # only built for the rows that need one (breaks, declines, returns).
    rule = (
        pl.when(~has_e & (status == "Declined"))
        .then(0)
        .when(~has_e)
        .then(1)
        .when(ledger_vs_file)
        .then(2)
        .when(~has_a)
        .then(3)
        .when(file_vs_api)
        .then(4)
        .when(~status_ok.fill_null(False))
        .then(5)
        .when(pl.col("returned"))
        .then(6)
        .otherwise(7)
        .cast(pl.Int8)
    )
    classes = {
        0: "matched",
        1: "missing_in_file",
        2: "amount_break",
        3: "missing_in_api",
        4: "amount_break",
        5: "status_break",
        6: "returned",
        7: "matched",
    }
    detail = (
        pl.when(pl.col("_rule") == 0)
        .then(pl.lit("declined by the processor: not sent"))
        .when(pl.col("_rule") == 1)
        .then(
            pl.when(has_a)
            .then(pl.format("API status {}; no entry in any file", status))
            .otherwise(pl.lit("not in any file nor at the API"))
        )
        .when(pl.col("_rule") == 2)
        .then(
            pl.format(
                "ledger {} {} vs file {} {}",
                pl.col("direction"),
                money(pl.col("amount_cents")),
                pl.col("e_direction"),
                money(pl.col("e_amount")),
            )
        )
        .when(pl.col("_rule") == 3)
        .then(pl.lit("sent in a file; the API does not know it"))
        .when(pl.col("_rule") == 4)
        .then(
            pl.format(
                "file {} {} vs API {} {}",
                pl.col("e_direction"),
                money(pl.col("e_amount")),
                pl.col("a_direction"),
                money(pl.col("a_amount")),
            )
        )
        .when(pl.col("_rule") == 5)
        .then(
            pl.when(pl.col("returned"))
            .then(pl.format("return {} received; API says {}", "ret_code", status))
            .otherwise(pl.format("API says {}; no return received", status))
        )
        .otherwise(pl.col("ret_code"))
    )
    c = c.with_columns(_rule=rule).with_columns(
        chain_class=pl.col("_rule").replace_strict(classes, return_dtype=pl.String)
    )
    plain = c.filter(pl.col("_rule") == 7).with_columns(chain_detail=pl.lit(None, dtype=pl.String))
    explained = c.filter(pl.col("_rule") != 7).with_columns(chain_detail=detail)
    return pl.concat([plain, explained], how="vertical").drop("_rule")
