"""Entry rules over a million entries: cheap screens over all entries pick the candidates,
the exact rules run on those only (see docs/nacha.md, Performance)."""

from __future__ import annotations

import polars as pl

from nacha.codes import (
    SEC_BY_CODE,
    TRANSACTION_BY_CODE,
)
from nacha.issues import empty_issues, fmt, issue_rows
from nacha.model import NachaFile
from nacha.validation_common import (
    blank_field,
    blank_screen,
    cd_col,
    check_digit_expr,
    debit_expr,
    entry_numbers,
    evaluate_alone,
    in_pieces,
    ind_col,
    per_batch,
    raw_field,
    rdfi_col,
    tc_col,
    trace_col,
)

_NAME_REQUIRED_SECS = {"PPD", "WEB", "TEL", "CCD", "CIE", "RCK", "CTX"}
_LIVE_KINDS = {"live", "reversal"}
# transaction codes as parsed from positions 2-3 (a sign makes them negative), null first
_TC_RANGE: list[int | None] = [None, *range(-10, 100)]


def entry_issues(f: NachaFile) -> pl.DataFrame:
    if f.entry_records.height == 0:
        return empty_issues()
    e = entry_numbers(f)
    b = f.batches
    secs = dict(zip(b["batch_index"].to_list(), b["sec_code"].to_list(), strict=True))
    sccs = dict(zip(b["batch_index"].to_list(), b["service_class_code"].to_list(), strict=True))
    descs = dict(
        zip(b["batch_index"].to_list(), b["company_entry_description"].to_list(), strict=True)
    )
    odfi = {
        k: int(v) if v and v.isascii() and v.isdigit() else -1
        for k, v in zip(b["batch_index"].to_list(), b["odfi_id"].to_list(), strict=True)
    }

    def sec_attr(fn) -> dict[int, bool]:  # type: ignore[no-untyped-def]
        return {
            k: bool(fn(v or "", descs.get(k) or "", sccs.get(k) or "")) for k, v in secs.items()
        }

    # every per-batch attribute in one bit mask, gathered by batch_index where a rule needs it
    attrs = {
        "adv": lambda s, d, c: s == "ADV",
        "cor": lambda s, d, c: s == "COR",
        "credit_only": _credit_only,
        "debit_only": _debit_only,
        "scc220": lambda s, d, c: c == "220",
        "scc225": lambda s, d, c: c == "225",
        "name_required": lambda s, d, c: s in _NAME_REQUIRED_SECS,
        "web": lambda s, d, c: s == "WEB",
        "iat": lambda s, d, c: s == "IAT",
        "remittance": lambda s, d, c: s in ("CCD", "CTX"),
    }
    masks: dict[int, int] = {}
    for bit, fn in enumerate(attrs.values()):
        for k, on in sec_attr(fn).items():
            masks[k] = masks.get(k, 0) | (int(on) << bit)
    present = {name for bit, name in enumerate(attrs) if any(m >> bit & 1 for m in masks.values())}

    def flags_of(mask: pl.Expr) -> dict[str, pl.Expr]:
        return {name: (mask // (1 << bit)) % 2 == 1 for bit, name in enumerate(attrs)}

    flag = flags_of(per_batch(f, masks, pl.Int16(), 0))
    is_adv, web = flag["adv"], flag["web"]
    name_required, remittance = flag["name_required"], flag["remittance"]
    # batch_index is sorted: the first entry says whether any precedes the first batch header
    outside = bool(e["batch_index"][0] == 0)
    odfi_e = (
        pl.lit(next(iter(odfi.values())), dtype=pl.Int32)
        if not outside and len(set(odfi.values())) == 1
        else per_batch(f, odfi, pl.Int32(), -1)
    )

    tc = tc_col
    second = tc % 10
    valid_tc = [int(c) for c, t in TRANSACTION_BY_CODE.items() if t.kind != "advice"]
    adv_tc = [int(c) for c, t in TRANSACTION_BY_CODE.items() if t.kind == "advice"]
    live = [int(c) for c, t in TRANSACTION_BY_CODE.items() if t.kind in _LIVE_KINDS]
    zero_req = [int(c) for c, t in TRANSACTION_BY_CODE.items() if t.zero_amount_required]
    zero_dollar = [int(c) for c, t in TRANSACTION_BY_CODE.items() if t.kind == "zero_dollar"]
    is_debit = debit_expr(tc)
    returns_noc = second.is_in([1, 6])
    n_add = _addenda_per_entry(f)
    names = raw_field(f, "individual_name") if "name_required" in present else None
    pay = raw_field(f, "discretionary_data") if "web" in present else None
    bad_check_digit = _bad_check_digit(e)
    addenda_mismatch = ((ind_col == 1) & (n_add == 0)) | ((ind_col == 0) & (n_add > 0))

    def code_rules(flag: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
        """Rules that depend only on the batch's attributes and the transaction code."""
        return {
            "entry.transaction_code": tc.is_null()
            | pl.when(flag["adv"]).then(~tc.is_in(adv_tc)).otherwise(~tc.is_in(valid_tc)),
            "entry.service_class": ~flag["iat"]
            & ((flag["scc220"] & is_debit) | (flag["scc225"] & ~is_debit)),
            "entry.sec_direction": ~flag["cor"]
            & ~returns_noc
            & ((flag["credit_only"] & is_debit) | (flag["debit_only"] & ~is_debit)),
        }

    by_code = code_rules(flag)
    pays = (web & is_debit & ~returns_noc & tc.is_in(live)) if pay is not None else None

    # Screens: cheap conditions over all entries that hold wherever a rule fails (a
    # superset), so a valid million-entry file costs a few integer passes; the rules
    # themselves run on the candidates only (none in a valid file).
    screens = [
        pl.col("amount") == 0,
        tc.is_in(zero_req),
        ~ind_col.is_in([0, 1]) | addenda_mismatch,
        trace_col // 10**7 != odfi_e,
        bad_check_digit,
        blank_screen(f, "dfi_account_number", " "),
    ]
    # the code rules, decided once per (attribute mask, transaction code) in a small table
    # and looked up per entry
    distinct = sorted(set(masks.values()) | ({0} if outside else set()))
    table = pl.DataFrame(
        {
            "_m": [m for m in distinct for _ in _TC_RANGE],
            "_tc": [t for _ in distinct for t in _TC_RANGE],
        },
        schema={"_m": pl.Int16, "_tc": pl.Int16},
    ).select(
        pl.any_horizontal(list(code_rules(flags_of(pl.col("_m"))).values()))
        .fill_null(False)
        .alias("bad")
    )["bad"]
    slot = (tc.cast(pl.Int32) - _TC_RANGE[1] + 1).clip(0, len(_TC_RANGE) - 1).fill_null(0)
    if len(distinct) > 1:
        where = {k: distinct.index(m) * len(_TC_RANGE) for k, m in masks.items()}
        slot = slot + per_batch(f, where, pl.Int32(), 0)
    screens.append(pl.lit(table).gather(slot))
    if "remittance" in present:
        screens.append(tc.is_in(zero_dollar))
    if names is not None:
        screens.append(blank_screen(f, "individual_name", " 0"))
    if pays is not None:
        screens.append(pays)
    # the neighbour comparison needs every entry: it is the rule itself (less the ADV part)
    order = (pl.col("batch_index") == pl.col("batch_index").shift(1)) & (
        trace_col <= trace_col.shift(1)
    )
    screened = in_pieces(
        e, lambda piece: piece.select(pl.any_horizontal(screens).fill_null(False).alias("_any"))
    )
    # traces ascending over the whole file (the bulk case) means none is out of order
    # within a batch and none is repeated
    descending = in_pieces(
        e,
        lambda piece: piece.select((trace_col <= trace_col.shift(1)).fill_null(False))["_trace"],
        overlap=1,
    )
    ascending = not descending.any() and e["_trace"].null_count() == 0  # type: ignore[union-attr]
    ordered = (
        descending.alias("_order")  # type: ignore[union-attr]
        if ascending
        else e.select(order.fill_null(False).alias("_order"))["_order"]
    )
    candidates = screened["_any"] | ordered  # type: ignore[call-overload]
    if candidates.any():
        c = e.with_columns(ordered).filter(candidates)
        checks: dict[str, pl.Expr] = {
            **by_code,
            "entry.rdfi_check_digit": ~is_adv & bad_check_digit,
            "entry.amount_zero": ~is_adv & tc.is_in(live) & (pl.col("amount") == 0),
            "entry.prenote_amount": tc.is_in(zero_req) & (pl.col("amount") != 0),
            "entry.addenda_indicator": ~ind_col.is_in([0, 1]) | (~is_adv & addenda_mismatch),
            "entry.trace_odfi": ~is_adv & (trace_col // 10**7 != odfi_e),
            "entry.trace_order": ~is_adv & pl.col("_order"),
            "entry.dfi_account_number": blank_field(f, c, "dfi_account_number", " "),
            "entry.zero_dollar_addenda": remittance & tc.is_in(zero_dollar) & (n_add == 0),
        }
        if names is not None:
            checks["entry.individual_name"] = name_required & blank_field(
                f, c, "individual_name", " 0"
            )
        if pay is not None and pays is not None:
            checks["entry.payment_type"] = pays & ~evaluate_alone(c, pay.is_in(["R ", "S ", "ST"]))
        flags = [v.fill_null(False).alias(k) for k, v in checks.items()]
        bad = c.select(
            "line",
            "batch_index",
            "entry_index",
            "_tc",
            "_rdfi",
            "_cd",
            "_trace",
            "amount",
            *flags,
        ).filter(pl.any_horizontal(list(checks)))
    else:
        checks = {}
        bad = e.head(0)
    out: list[pl.DataFrame] = []
    if bad.height:
        msgs = {
            "entry.transaction_code": (
                "transaction_code",
                fmt("transaction code {} is not valid here", tc_col),
            ),
            "entry.rdfi_check_digit": (
                "check_digit",
                fmt(
                    "check digit {} should be {} for RDFI {}",
                    cd_col,
                    check_digit_expr(rdfi_col),
                    rdfi_col,
                ),
            ),
            "entry.amount_zero": ("amount", pl.lit("live entry with a zero amount")),
            "entry.prenote_amount": (
                "amount",
                fmt(
                    "transaction code {} requires a zero amount, found {}",
                    tc_col,
                    pl.col("amount"),
                ),
            ),
            "entry.addenda_indicator": (
                "addenda_record_indicator",
                pl.lit("addenda record indicator disagrees with the addenda that follow"),
            ),
            "entry.trace_odfi": (
                "trace_number",
                pl.lit("trace number does not start with the batch's ODFI identification"),
            ),
            "entry.trace_order": (
                "trace_number",
                pl.lit("trace number does not ascend within the batch"),
            ),
            "entry.service_class": (
                "transaction_code",
                fmt("transaction code {} not allowed by the batch's service class", tc_col),
            ),
            "entry.sec_direction": (
                "transaction_code",
                fmt("transaction code {} not allowed for the batch's SEC code", tc_col),
            ),
            "entry.zero_dollar_addenda": (
                "addenda_record_indicator",
                pl.lit("zero-dollar CCD/CTX entry without the remittance addenda it exists for"),
            ),
            "entry.dfi_account_number": (
                "dfi_account_number",
                pl.lit("DFI account number is blank"),
            ),
            "entry.individual_name": (
                "individual_name",
                pl.lit("receiver name is blank or all zeros"),
            ),
            "entry.payment_type": (
                "discretionary_data",
                pl.lit("WEB/TEL debit payment type code must be R, S or ST"),
            ),
        }
        for rule, (field, msg) in msgs.items():
            if rule in checks:
                out.append(
                    issue_rows(
                        bad.filter(pl.col(rule)),
                        record_type="entry",
                        field=field,
                        rule=rule,
                        message=msg,
                    )
                )
    # duplicates across the file: a sort and a neighbour compare; rows only if any exist
    if ascending:
        has_dup = False
    else:
        traces = e.select(trace_col.alias("t"))["t"].drop_nulls().sort()
        has_dup = traces.len() > 1 and bool((traces.diff() == 0).any())
    dup = e.filter(trace_col.is_duplicated()) if has_dup else e.head(0)
    out.append(
        issue_rows(
            dup,
            record_type="entry",
            field="trace_number",
            rule="entry.trace_duplicate",
            message=fmt("trace number {} appears more than once", trace_col),
        )
    )
    out.append(_addenda_counts(f, n_add))
    return pl.concat([o for o in out if o.height]) if any(o.height for o in out) else empty_issues()


def _addenda_per_entry(f: NachaFile) -> pl.Expr:
    """Each entry's number of addenda (a table indexed by entry_index, 1..E in order)."""
    if f.addenda.height == 0:
        return pl.lit(0, dtype=pl.Int32)
    counts = f.addenda.group_by("entry_index").agg(pl.len().alias("_c"))
    n_entries = f.entry_records.height
    table = pl.zeros(n_entries + 1, dtype=pl.Int32, eager=True)
    idx = counts.filter(pl.col("entry_index").is_between(1, n_entries))
    table = table.scatter(idx["entry_index"], idx["_c"].cast(pl.Int32))
    return pl.lit(table).gather(pl.col("entry_index"))


def _bad_check_digit(e: pl.DataFrame) -> pl.Expr:
    """Wrong check digits, computed once per distinct routing number (files repeat a few
    thousand routing numbers over a million entries)."""
    pair = rdfi_col * 10 + cd_col.cast(pl.Int32)  # < 10**9: fits Int32
    pairs = (
        in_pieces(e, lambda piece: piece.select(pair.unique().alias("p")))
        .unique()  # type: ignore[union-attr]
        .filter(pl.col("p").is_not_null())
    )
    bad = pairs.filter(check_digit_expr(pl.col("p") // 10) != pl.col("p") % 10)["p"]
    if bad.len() == 0:
        return pl.lit(False)
    return pair.is_in(bad.implode())


def _credit_only(sec: str, desc: str, scc: str) -> bool:
    s = SEC_BY_CODE.get(sec)
    if s is None:
        return False
    if desc.startswith("REVERSAL") and s.debits and not s.credits:
        return True  # a reversal of a debit-only SEC carries credits
    return s.credits and not s.debits


def _debit_only(sec: str, desc: str, scc: str) -> bool:
    s = SEC_BY_CODE.get(sec)
    if s is None or desc.startswith("REVERSAL"):
        return False
    return s.debits and not s.credits


def _addenda_counts(f: NachaFile, n_add: pl.Expr) -> pl.DataFrame:
    if not {"corporate", "iat"} & set(f.entry_layouts):
        return empty_issues()
    # IAT entries: moov and bank files disagree on what the count covers; checked for CTX only
    iat_batches = f.batches.filter(pl.col("sec_code").is_in(["IAT", "COR"]))["batch_index"]
    e = f.entries.filter(~pl.col("batch_index").is_in(iat_batches.implode())).select(
        "line", "entry_index", "number_of_addenda_records"
    )
    # CTX/IAT count fields cover the forward addenda (05, IAT 10-18), not return/NOC addenda
    counted = (
        f.addenda.filter(~pl.col("addenda_type_code").is_in(["98", "99"]))
        .group_by("entry_index")
        .agg(pl.len().cast(pl.Int64).alias("_n"))
    )
    bad = (
        e.filter(pl.col("number_of_addenda_records").is_not_null())
        .join(counted, on="entry_index", how="left")
        .with_columns(pl.col("_n").fill_null(0))
        .filter(pl.col("number_of_addenda_records") != pl.col("_n"))
    )
    return issue_rows(
        bad,
        record_type="entry",
        field="number_of_addenda_records",
        rule="entry.addenda_count",
        message=fmt(
            "number of addenda records {} but {} follow",
            pl.col("number_of_addenda_records"),
            pl.col("_n"),
        ),
    )


# --------------------------------------------------------------------------------- addenda
