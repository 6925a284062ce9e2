"""Per-source item rows (``ITEMS_SCHEMA``) from the matched chains: one row per input row.

Split from :mod:`reconcile.classify`, which decides the chains' classes; this module turns
the decision into the rows of each source (ledger, entry, API, return, NOC), including the
duplicate rows, the orphans and the 1-to-many offset-entry check.
"""

from __future__ import annotations

import polars as pl

from reconcile import codes
from reconcile.schemas import ITEMS_SCHEMA


def _items(lf: pl.LazyFrame, **exprs: pl.Expr | str | None) -> pl.LazyFrame:
    """Select ``ITEMS_SCHEMA`` columns from ``lf``: given expressions, else nulls."""
    cols = []
    for name, dtype in ITEMS_SCHEMA.items():
        value = exprs.get(name)
        if value is None:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
        else:
            expr = pl.col(value) if isinstance(value, str) else value
            cols.append(expr.cast(dtype).alias(name))
    return lf.select(cols)


def _entry_outcome() -> dict[str, pl.Expr | str]:
    """The item columns of the return and NOC joined to an entry (``ret_*``, ``noc_*``): the
    same for the ledger, chain and entry rows that carry an entry's outcome."""
    return {
        "return_code": "ret_code",
        "return_category": codes.return_category_expr("ret_code"),
        "return_date": "ret_date",
        "change_code": "noc_code",
        "corrected_data": "noc_data",
    }


def ledger_items(chain: pl.LazyFrame, led: pl.LazyFrame) -> pl.LazyFrame:
    """Ledger rows: the chains (one per non-duplicate ledger row), then the duplicates."""
    dups = led.filter(~pl.col("l_first"))
    chained = _items(
        chain,
        source=pl.lit("ledger"),
        row="l_row",
        **{"class": "chain_class"},
        match_rule="le_rule",
        detail="chain_detail",
        reference="reference",
        trace_number="k_trace",
        cfi_transaction_id="k_cfi",
        company_id="company_id",
        sec_code="sec_code",
        direction="direction",
        amount_cents="amount_cents",
        effective_date="effective_date",
        settlement_date="e_settle",
        api_status="a_status",
        **_entry_outcome(),
        account_last4="account_last4",
    )
    dup = _items(
        dups,
        source=pl.lit("ledger"),
        row="l_row",
        **{"class": pl.lit("duplicate")},
        detail=pl.lit("reference repeats an earlier ledger row"),
        reference="reference",
        trace_number="trace_number",
        cfi_transaction_id="cfi_transaction_id",
        company_id="company_id",
        sec_code="sec_code",
        direction="direction",
        amount_cents="amount_cents",
        effective_date="effective_date",
        account_last4="account_last4",
    )
    return pl.concat([chained, dup])


def entry_items(
    chain: pl.LazyFrame,
    ent: pl.LazyFrame,
    ent_rest: pl.LazyFrame,
    ea: pl.LazyFrame,
    per_entry: pl.LazyFrame,
) -> pl.LazyFrame:
    """Entry rows: those a chain carries (fields gathered into the chain), then the rest.

    ``ent_rest``: entries no chain carries (duplicates, offsets, orphans); ``ea``: orphan
    entries paired with API rows; ``per_entry``: ``(e_row, returned, ret_code, ret_date,
    noc_code, noc_data)``.
    """
    chained = _items(
        chain.filter(pl.col("e_row").is_not_null()),
        source=pl.lit("entry"),
        row="e_row",
        **{"class": "chain_class"},
        match_rule="le_rule",
        detail="chain_detail",
        reference="e_ref",
        trace_number="e_trace",
        cfi_transaction_id="e_cfi",
        company_id="e_company",
        sec_code="e_sec",
        direction="e_direction",
        amount_cents="e_amount",
        effective_date="e_eff",
        settlement_date="e_settle",
        api_status="a_status",
        **_entry_outcome(),
        account_last4="e_last4",
    )
    ea_rule = ea.select("e_row", pl.col("match_rule").alias("ea_rule"), "a_row")
    e = ent_rest.join(ea_rule, on="e_row", how="left", maintain_order="left").join(
        # The entry's return, NOC and offset check are all small: one left join for them.
        per_entry.join(_offset_balance(ent), on="e_row", how="full", coalesce=True),
        on="e_row",
        how="left",
        maintain_order="left",
    )
    cls = (
        pl.when(~pl.col("e_first"))
        .then(pl.lit("duplicate"))
        .when(pl.col("is_offset"))
        .then(
            pl.when(pl.col("offset_ok")).then(pl.lit("matched")).otherwise(pl.lit("amount_break"))
        )
        .otherwise(pl.lit("unexpected_in_file"))
    )
    detail = (
        pl.when(~pl.col("e_first"))
        .then(
            pl.when(~pl.col("e_first_trace"))
            .then(pl.lit("trace number repeats an earlier entry"))
            .otherwise(pl.lit("reference already sent in another entry: sent twice"))
        )
        .when(pl.col("is_offset"))
        .then(pl.col("offset_detail"))
        .when(pl.col("a_row").is_not_null())
        .then(pl.lit("in a file and at the API, but not in the ledger"))
        .otherwise(pl.lit("in a file, but not in the ledger"))
    )
    rule = (
        pl.when(pl.col("is_offset") & pl.col("e_first"))
        .then(pl.lit("offset"))
        .otherwise(pl.col("ea_rule"))
    )
    rest = _items(
        e,
        source=pl.lit("entry"),
        row="e_row",
        **{"class": cls},
        match_rule=rule,
        detail=detail,
        reference="reference",
        trace_number="trace_number",
        cfi_transaction_id="cfi_transaction_id",
        company_id="company_id",
        sec_code="sec_code",
        direction="e_direction",
        amount_cents="amount_cents",
        effective_date="effective_date",
        settlement_date="settlement_date",
        **_entry_outcome(),
        account_last4="account_last4",
    )
    return pl.concat([chained, rest])


def _offset_balance(ent: pl.LazyFrame) -> pl.LazyFrame:
    """``(e_row, offset_ok, offset_detail)`` for offset entries: 1-to-many with their batch.

    An offset balances its batch when the batch's offsets net the other entries to zero
    (debits minus credits), the entries being those of the same file and batch number.
    """
    signed = (
        pl.when(pl.col("e_direction") == "debit")
        .then(pl.col("amount_cents"))
        .otherwise(-pl.col("amount_cents"))
    )
    batch = ["file_id", "batch_number"]
    totals = ent.group_by(batch).agg(
        items_net=signed.filter(~pl.col("is_offset")).sum(),
        items_n=(~pl.col("is_offset")).sum(),
        offsets_net=signed.filter(pl.col("is_offset")).sum(),
    )
    offsets = ent.filter(pl.col("is_offset")).join(totals, on=batch, how="left", nulls_equal=True)
    ok = (pl.col("items_n") > 0) & (pl.col("items_net") + pl.col("offsets_net") == 0)
    return offsets.select(
        "e_row",
        offset_ok=ok,
        offset_detail=pl.when(ok)
        .then(pl.format("offset for {} entries of batch {}", "items_n", "batch_number"))
        .otherwise(
            pl.format(
                "offset does not balance batch {}: entries net {} cents, offsets net {} cents",
                "batch_number",
                "items_net",
                "offsets_net",
            )
        ),
    )


def api_items(chain: pl.LazyFrame, api_rest: pl.LazyFrame, ea: pl.LazyFrame) -> pl.LazyFrame:
    """API rows: those a chain reached (fields gathered into the chain), then the rest.

    ``api_rest``: API rows no chain reached (duplicates, orphans); ``ea``: orphan entries
    paired with API rows.
    """
    code = pl.coalesce("ret_code", "a_return_code")
    chained = _items(
        chain.filter(pl.col("a_row").is_not_null()),
        source=pl.lit("api"),
        row="a_row",
        **{"class": "chain_class"},
        detail="chain_detail",
        reference="a_ref",
        trace_number=pl.coalesce("a_trace", "k_trace"),
        cfi_transaction_id="a_cfi",
        direction="a_direction",
        amount_cents="a_amount",
        effective_date="a_eff",
        settlement_date=pl.coalesce("a_settle", "e_settle"),
        api_status="a_status",
        return_code=code,
        return_category=codes.return_category_expr(code),
        return_date="ret_date",
        change_code="a_noc_code",
    )
    a = api_rest.join(
        ea.select("a_row", pl.col("e_row").alias("ea_e_row")),
        on="a_row",
        how="left",
        maintain_order="left",
    )
    cls = (
        pl.when(~pl.col("a_first"))
        .then(pl.lit("duplicate"))
        .when(pl.col("ea_e_row").is_not_null())
        .then(pl.lit("unexpected_in_file"))
        .otherwise(pl.lit("missing_in_file"))
    )
    detail = (
        pl.when(~pl.col("a_first"))
        .then(pl.lit("processor id or reference repeats an earlier API row"))
        .when(pl.col("ea_e_row").is_not_null())
        .then(pl.lit("in a file and at the API, but not in the ledger"))
        .otherwise(pl.lit("known to the API only: not in the ledger nor in any file"))
    )
    rest = _items(
        a,
        source=pl.lit("api"),
        row="a_row",
        **{"class": cls},
        detail=detail,
        reference="reference",
        trace_number="trace_number",
        cfi_transaction_id="cfi_transaction_id",
        direction="direction",
        amount_cents="amount_cents",
        effective_date="effective_date",
        settlement_date="settlement_date",
        api_status="status",
        return_code="return_code",
        return_category=codes.return_category_expr("return_code"),
        change_code="noc_code",
    )
    return pl.concat([chained, rest])


def _linked_entry_fields(ent: pl.LazyFrame) -> pl.LazyFrame:
    """The fields of our entry that a return or NOC item shows, keyed by ``e_row``."""
    return ent.select(
        "e_row",
        pl.col("reference").alias("e_ref"),
        pl.col("cfi_transaction_id").alias("e_cfi"),
        "company_id",
        "sec_code",
        "e_direction",
        pl.col("effective_date").alias("e_eff"),
        "settlement_date",
        "account_last4",
        pl.col("amount_cents").alias("e_amount"),
    )


def return_items(ret_linked: pl.LazyFrame, ent: pl.LazyFrame) -> pl.LazyFrame:
    e = _linked_entry_fields(ent)
    r = ret_linked.join(e, on="e_row", how="left", maintain_order="left")
    cls = (
        pl.when(~pl.col("r_first"))
        .then(pl.lit("duplicate"))
        .when(pl.col("e_row").is_not_null())
        .then(pl.lit("returned"))
        .otherwise(pl.lit("unmatched_return"))
    )
    detail = (
        pl.when(~pl.col("r_first"))
        .then(pl.format("second {} for the same original trace", "kind"))
        .when(pl.col("e_row").is_not_null())
        .then(pl.col("kind"))
        .otherwise(pl.lit("original trace is not an entry of ours (or outside the window)"))
    )
    return _items(
        r,
        source=pl.lit("return"),
        row="r_row",
        **{"class": cls},
        match_rule=pl.when(pl.col("e_row").is_not_null() & pl.col("r_first")).then(
            pl.lit("trace_number")
        ),
        detail=detail,
        reference="e_ref",
        trace_number="original_trace_number",
        cfi_transaction_id="e_cfi",
        company_id="company_id",
        sec_code="sec_code",
        direction="e_direction",
        amount_cents=pl.coalesce("amount_cents", "e_amount"),
        effective_date="e_eff",
        settlement_date="settlement_date",
        return_code="return_code",
        return_category=codes.return_category_expr("return_code"),
        return_date="return_date",
        account_last4="account_last4",
    )


def noc_items(noc: pl.LazyFrame, noc_m: pl.LazyFrame, ent: pl.LazyFrame) -> pl.LazyFrame:
    e = _linked_entry_fields(ent)
    n = noc.join(noc_m, on="n_row", how="left", maintain_order="left").join(
        e, on="e_row", how="left", maintain_order="left"
    )
    cls = (
        pl.when(~pl.col("n_first"))
        .then(pl.lit("duplicate"))
        .when(pl.col("e_row").is_not_null())
        .then(pl.lit("noc"))
        .otherwise(pl.lit("unmatched_noc"))
    )
    return _items(
        n,
        source=pl.lit("noc"),
        row="n_row",
        **{"class": cls},
        match_rule=pl.when(pl.col("e_row").is_not_null() & pl.col("n_first")).then(
            pl.lit("trace_number")
        ),
        detail=pl.when(~pl.col("n_first"))
        .then(pl.lit("same change code already received for this entry"))
        .when(pl.col("e_row").is_null())
        .then(pl.lit("original trace is not an entry of ours (or outside the window)")),
        reference="e_ref",
        trace_number="original_trace_number",
        cfi_transaction_id="e_cfi",
        company_id="company_id",
        sec_code="sec_code",
        direction="e_direction",
        amount_cents="e_amount",
        effective_date="e_eff",
        settlement_date="settlement_date",
        return_date="received_date",
        change_code="change_code",
        corrected_data="corrected_data",
        account_last4="account_last4",
    )
