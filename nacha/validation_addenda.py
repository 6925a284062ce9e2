"""Addenda rules: 05 in bulk (columnar), returns, NOCs, IAT and the rest entry by entry."""

from __future__ import annotations

import polars as pl

from nacha import layouts as L
from nacha.checks import is_valid_routing
from nacha.codes import (
    CHANGE_BY_CODE,
    RETURN_BY_CODE,
    SEC_BY_CODE,
    TRANSACTION_BY_CODE,
    parse_corrected_data,
)
from nacha.issues import Issue, empty_issues, fmt, issue_rows, issues_frame
from nacha.model import NachaFile
from nacha.validation_common import entry_numbers, per_batch, trace_col

_IAT_TRANSACTION_TYPES = {
    "ANN",
    "BUS",
    "DEP",
    "LOA",
    "MIS",
    "MOR",
    "PEN",
    "RLS",
    "REM",
    "SAL",
    "TAX",
    "TEL",
    "WEB",
    "ARC",
    "BOC",
    "POP",
    "RCK",
}


def addenda_issues(f: NachaFile) -> pl.DataFrame:
    a = f.addenda
    if a.height == 0:
        return empty_issues()
    b = f.batches
    sec_of = dict(zip(b["batch_index"].to_list(), b["sec_code"].to_list(), strict=True))
    # bulk case, columnar: entries whose addenda are all 05 in batches whose SEC allows 05
    allows05 = [
        bi
        for bi, sec in sec_of.items()
        if "05" in (SEC_BY_CODE[sec].addenda_types if sec in SEC_BY_CODE else ())
    ]
    mixed = a.filter(pl.col("addenda_type_code") != "05")["entry_index"].unique().implode()
    simple = (
        (pl.col("addenda_type_code") == "05")
        & pl.col("batch_index").is_in(allows05)
        & ~(pl.col("entry_index").is_in(mixed))
    )
    fast = a.filter(simple)
    slow = a.filter(~simple)
    out = [_addenda05_columnar(f, fast, sec_of)] if fast.height else []
    if slow.height:
        out.append(_addenda_rows(f, slow, sec_of))
    return pl.concat(out) if out else empty_issues()


def _addenda05_columnar(f: NachaFile, a: pl.DataFrame, sec_of: dict[int, str]) -> pl.DataFrame:
    e = entry_numbers(f)
    n = f.entry_records.height
    seq7 = pl.lit(
        pl.concat([pl.Series([None], dtype=pl.Int64), e.select(trace_col % 10**7)["_trace"]])
    )
    maxes = {
        bi: SEC_BY_CODE[s].max_addenda
        for bi, s in sec_of.items()
        if s in SEC_BY_CODE and SEC_BY_CODE[s].max_addenda is not None
    }
    cap = per_batch(f, maxes, pl.Int32(), 9999)  # type: ignore[arg-type]
    checked = a.select(
        "line",
        "addenda_sequence_number",
        "entry_detail_sequence_number",
        "addenda_position",
        (pl.col("addenda_position") > cap).alias("too_many"),
        (pl.col("addenda_sequence_number") != pl.col("addenda_position"))
        .fill_null(True)
        .alias("bad_seq"),
        (
            pl.col("entry_detail_sequence_number").str.to_integer(strict=False)
            != seq7.gather(pl.col("entry_index").clip(0, n))
        )
        .fill_null(True)
        .alias("bad_entry"),
    )
    return pl.concat(
        [
            issue_rows(
                checked.filter("too_many"),
                record_type="addenda",
                field=None,
                rule="addenda.too_many",
                message="more addenda 05 than the batch's SEC code allows",
            ),
            issue_rows(
                checked.filter("bad_seq"),
                record_type="addenda",
                field="addenda_sequence_number",
                rule="addenda.sequence_number",
                message=fmt(
                    "addenda sequence number {} should be {}",
                    pl.col("addenda_sequence_number"),
                    pl.col("addenda_position"),
                ),
            ),
            issue_rows(
                checked.filter("bad_entry"),
                record_type="addenda",
                field="entry_detail_sequence_number",
                rule="addenda.entry_detail_sequence",
                message=fmt(
                    "entry detail sequence {} is not the entry's",
                    pl.col("entry_detail_sequence_number"),
                ),
            ),
        ]
    )


def _addenda_rows(f: NachaFile, a: pl.DataFrame, sec_of: dict[int, str]) -> pl.DataFrame:
    """Return, NOC, IAT and unusual addenda, entry by entry (few in any real file)."""
    owners = (
        entry_numbers(f)
        .filter(pl.col("entry_index").cast(pl.Int64).is_in(a["entry_index"].unique().implode()))
        .select("entry_index", "_trace", "_tc")
    )
    trace_of = {ei: f"{t:015d}" for ei, t, _ in owners.iter_rows() if t is not None}
    tc_of = {ei: f"{t:02d}" for ei, _, t in owners.iter_rows() if t is not None}
    rows: list[Issue] = []
    per_entry: dict[int, list[dict[str, object]]] = {}
    for r in a.iter_rows(named=True):  # addenda are few; bulk files carry none or one each
        per_entry.setdefault(int(r["entry_index"]), []).append(r)
    for ei, adds in per_entry.items():
        bi = int(adds[0]["batch_index"])
        sec = sec_of.get(bi) or ""
        s = SEC_BY_CODE.get(sec)
        trace = trace_of.get(ei) or ""
        types = [str(x["addenda_type_code"]) for x in adds]
        tc = tc_of.get(ei) or ""
        is_return_noc = tc[-1:] in ("1", "6") or sec == "COR"
        forward = [x for x in adds if x["addenda_type_code"] not in ("98", "99")]
        for x in adds:
            line = int(x["line"])  # type: ignore[arg-type]
            t = str(x["addenda_type_code"])
            if t not in ("02", "05", "98", "99", *L.IAT_MANDATORY_ADDENDA, "17", "18"):
                rows.append(
                    Issue(
                        line,
                        "addenda",
                        "addenda_type_code",
                        "addenda.type_code",
                        f"unknown addenda type code {t!r}",
                    )
                )
                continue
            if (
                s is not None
                and t not in s.addenda_types
                and t not in ("98", "99")
                and not (sec == "COR" and t in L.IAT_MANDATORY_ADDENDA)
            ):
                rows.append(
                    Issue(
                        line,
                        "addenda",
                        "addenda_type_code",
                        "addenda.sec_type",
                        f"addenda type {t} is not allowed in a {sec} batch",
                    )
                )
            if t == "98" and sec != "COR" and not is_return_noc:
                rows.append(
                    Issue(
                        line,
                        "addenda",
                        "addenda_type_code",
                        "addenda.sec_type",
                        "NOC addenda 98 outside a COR batch",
                    )
                )
            if t in ("05", "10", "11", "12", "13", "14", "15", "16", "17", "18"):
                seq = x.get("entry_detail_sequence_number")
                if seq is not None and trace and seq != trace[-7:]:
                    rows.append(
                        Issue(
                            line,
                            "addenda",
                            "entry_detail_sequence_number",
                            "addenda.entry_detail_sequence",
                            f"entry detail sequence {seq} is not the entry's {trace[-7:]}",
                        )
                    )
            if t == "99":
                code = str(x.get("return_reason_code") or "")
                if code not in RETURN_BY_CODE:
                    rows.append(
                        Issue(
                            line,
                            "addenda",
                            "return_reason_code",
                            "addenda.return_reason_code",
                            f"unknown return reason code {code!r}",
                        )
                    )
            if t == "98":
                rows.extend(_noc_issues(x, line))
            if t == "10":
                ttc = x.get("transaction_type_code")
                if ttc not in _IAT_TRANSACTION_TYPES:
                    rows.append(
                        Issue(
                            line,
                            "addenda",
                            "transaction_type_code",
                            "addenda.iat_transaction_type",
                            f"IAT transaction type code {ttc!r} is not valid",
                        )
                    )
        if s is not None and s.max_addenda is not None and sec != "IAT":
            fwd = [x for x in forward if x["addenda_type_code"] in s.addenda_types]
            if len(fwd) > s.max_addenda:
                rows.append(
                    Issue(
                        int(fwd[s.max_addenda]["line"]),
                        "addenda",
                        None,  # type: ignore[arg-type]
                        "addenda.too_many",
                        f"{sec} entries carry at most {s.max_addenda} addenda",
                    )
                )
        numbering = _numbering_issue(
            [x for x in forward if x["addenda_type_code"] == "05"], "05", "addenda.sequence_number"
        )
        if numbering is not None:
            rows.append(numbering)
        if sec == "IAT":
            rows.extend(_iat_optional_issues(forward))
        if sec == "IAT" or (sec == "COR" and any(t in L.IAT_MANDATORY_ADDENDA for t in types)):
            mandatory = [t for t in types if t in L.IAT_MANDATORY_ADDENDA]
            if mandatory != list(L.IAT_MANDATORY_ADDENDA):
                rows.append(
                    Issue(
                        int(adds[0]["line"]),
                        "addenda",
                        "addenda_type_code",  # type: ignore[arg-type]
                        "addenda.iat_mandatory",
                        f"IAT entry addenda are {types}; 10-16 must each appear once, in order",
                    )
                )
    return issues_frame(rows)


def _iat_optional_issues(adds: list[dict[str, object]]) -> list[Issue]:
    """An IAT entry's addenda 17 and 18: at most 2 and 5 (errors), each type numbered 1, 2,
    … (a warning: files that moov-io and banks accept number them otherwise, e.g. two
    addenda 17 both 0002 in moov's ``iat-mixedDebitCredit.ach``)."""
    out: list[Issue] = []
    for t, most in L.IAT_OPTIONAL_ADDENDA.items():
        mine = [x for x in adds if x["addenda_type_code"] == t]
        if len(mine) > most:
            out.append(
                Issue(
                    int(mine[most]["line"]),  # type: ignore[arg-type]
                    "addenda",
                    None,  # type: ignore[arg-type]
                    "addenda.too_many",
                    f"IAT entries carry at most {most} addenda {t}",
                )
            )
        numbering = _numbering_issue(mine, t, "addenda.iat_sequence_number")
        if numbering is not None:
            out.append(numbering)
    return out


def _numbering_issue(records: list[dict[str, object]], t: str, rule: str) -> Issue | None:
    """``records`` (one entry's addenda of type ``t``, in file order) must be numbered 1, 2,
    …; otherwise one issue of ``rule`` at the first of them."""
    nums = [x.get("addenda_sequence_number") for x in records]
    if not nums or nums == list(range(1, len(nums) + 1)):
        return None
    return Issue(
        int(records[0]["line"]),  # type: ignore[arg-type]
        "addenda",
        "addenda_sequence_number",  # type: ignore[arg-type]
        rule,
        f"addenda {t} sequence numbers are {nums}, not 1..{len(nums)}",
    )


def _noc_issues(x: dict[str, object], line: int) -> list[Issue]:
    code = str(x.get("change_code") or "")
    c = CHANGE_BY_CODE.get(code)
    if c is None:
        return [
            Issue(
                line,
                "addenda",
                "change_code",
                "addenda.change_code",
                f"unknown change code {code!r}",
            )
        ]
    data = x.get("corrected_data")
    if c.refused or not c.corrected_data:
        return []
    parts = parse_corrected_data(code, data if isinstance(data, str) else None)
    problems = []
    for p in c.corrected_data:
        v = parts.get(p.name, "")
        if not v:
            problems.append(f"{p.name} is missing")
        elif p.kind == "routing" and not is_valid_routing(v):
            problems.append(f"{p.name} {v!r} is not a valid routing number")
        elif p.kind == "transaction_code" and v not in TRANSACTION_BY_CODE:
            problems.append(f"{p.name} {v!r} is not a transaction code")
    if problems:
        return [
            Issue(
                line,
                "addenda",
                "corrected_data",
                "addenda.corrected_data",
                f"corrected data for {code}: " + "; ".join(problems),
            )
        ]
    return []


# ---------------------------------------------------------------------------- file control
