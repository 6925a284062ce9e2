"""Batch rules: header fields, header vs control, counts, hashes, totals, order,
reserved company entry descriptions."""

from __future__ import annotations

import polars as pl

from nacha.codes import (
    SEC_BY_CODE,
    SERVICE_CLASS_BY_CODE,
)
from nacha.issues import Issue, empty_issues, fmt, issue_rows, issues_frame
from nacha.model import NachaFile
from nacha.validation_common import sums_by_batch


def batch_issues(f: NachaFile) -> pl.DataFrame:
    b = f.batches
    if b.height == 0:
        return empty_issues()
    rows: list[Issue] = []
    has_control = "control_line" in b.columns
    cols = set(b.columns)
    for r in b.iter_rows(named=True):
        line = r["line"]
        sec = r["sec_code"] or ""
        scc = r["service_class_code"] or ""
        if scc not in SERVICE_CLASS_BY_CODE or (scc == "280") != (sec == "ADV"):
            rows.append(
                Issue(
                    line,
                    "batch_header",
                    "service_class_code",
                    "batch.service_class_code",
                    f"service class code {scc!r} is not valid for SEC {sec!r}",
                )
            )
        if sec not in SEC_BY_CODE:
            rows.append(
                Issue(
                    line, "batch_header", "sec_code", "batch.sec_code", f"unknown SEC code {sec!r}"
                )
            )
        if "company_name" in cols and sec != "IAT" and r.get("iat_indicator") is None:
            name = r["company_name"]
            if name is None or set(name) <= {"0"}:
                rows.append(
                    Issue(
                        line,
                        "batch_header",
                        "company_name",
                        "batch.company_name",
                        "company name is blank or all zeros",
                    )
                )
        if r["company_id"] is None:
            rows.append(
                Issue(
                    line,
                    "batch_header",
                    "company_id",
                    "batch.company_id",
                    "company identification is blank",
                )
            )
        desc = r["company_entry_description"]
        if desc is None or set(desc) <= {"0"}:
            rows.append(
                Issue(
                    line,
                    "batch_header",
                    "company_entry_description",
                    "batch.company_entry_description",
                    "company entry description is blank or all zeros",
                )
            )
        eed = r["effective_entry_date"]
        if eed is None and sec not in ("ENR", "ADV"):
            rows.append(
                Issue(
                    line,
                    "batch_header",
                    "effective_entry_date",
                    "batch.effective_entry_date",
                    "effective entry date is blank (only ENR batches leave it blank)",
                )
            )
        if eed is not None and r["effective_date"] is None and eed != "000000":
            rows.append(
                Issue(
                    line,
                    "batch_header",
                    "effective_entry_date",
                    "batch.effective_entry_date",
                    f"effective entry date {eed!r} is not a YYMMDD date",
                )
            )
        rows.extend(_reserved_description(line, sec, scc, desc or ""))
        osc = r["originator_status_code"]
        if osc not in ("0", "1", "2") or (osc == "0" and sec not in ("ADV", "IAT")):
            rows.append(
                Issue(
                    line,
                    "batch_header",
                    "originator_status_code",
                    "batch.originator_status_code",
                    f"originator status code {osc!r} is not valid for SEC {sec!r}",
                )
            )
        if has_control and r["control_line"] is not None:
            cl = r["control_line"]
            for name, rule in (
                ("service_class_code", "batch.control_service_class_code"),
                ("company_id", "batch.control_company_id"),
                ("odfi_id", "batch.control_odfi_id"),
                ("batch_number", "batch.control_batch_number"),
            ):
                ctrl = r.get(f"control_{name}")
                if (
                    sec == "ADV" or r.get("iso_destination_country_code") is not None
                ) and name == "company_id":
                    continue  # ADV controls carry operator data; IAT controls leave it blank
                if (str(ctrl).strip() if ctrl is not None else None) != (
                    str(r[name]).strip() if r[name] is not None else None
                ):
                    rows.append(
                        Issue(
                            cl,
                            "batch_control",
                            name,
                            rule,
                            f"{name} {ctrl!r} differs from the header's {r[name]!r}",
                        )
                    )
    out = [issues_frame(rows), _batch_totals(f), _batch_order(b)]
    return pl.concat([o for o in out if o.height]) if any(o.height for o in out) else empty_issues()


# Company Entry Descriptions with a meaning (nacha-format.md §11.3): the SEC codes they
# belong to (None = any) and the direction of the entries they describe (None = either)
_RESERVED_DESCRIPTIONS: dict[str, tuple[frozenset[str] | None, str | None]] = {
    "PAYROLL": (frozenset({"PPD"}), "credit"),
    "PURCHASE": (frozenset({"WEB"}), "debit"),
    "RETRY PYMT": (None, "debit"),
    "RETURN FEE": (None, "debit"),
    "HCCLAIMPMT": (frozenset({"CCD"}), "credit"),
    "ACCTVERIFY": (None, None),
    "REVERSAL": (None, None),
}


def _reserved_description(line: int, sec: str, scc: str, desc: str) -> list[Issue]:
    for word, (secs, direction) in _RESERVED_DESCRIPTIONS.items():
        if not desc.startswith(word):
            continue
        wrong_sec = secs is not None and sec not in secs and sec not in ("COR",)
        wrong_dir = (direction == "credit" and scc == "225") or (
            direction == "debit" and scc == "220"
        )
        if wrong_sec or wrong_dir:
            where = f"SEC {sec}" if wrong_sec else f"a service class {scc} batch"
            return [
                Issue(
                    line,
                    "batch_header",
                    "company_entry_description",
                    "batch.reserved_description",
                    f"{word!r} is reserved for {'/'.join(sorted(secs or {'any SEC'}))} "
                    f"{direction or ''} entries, not {where}".replace("  ", " "),
                )
            ]
    return []


def _batch_order(b: pl.DataFrame) -> pl.DataFrame:
    bad = b.filter(pl.col("batch_number") <= pl.col("batch_number").shift(1))
    return issue_rows(
        bad,
        record_type="batch_header",
        field="batch_number",
        rule="batch.number_order",
        message=fmt("batch number {} does not ascend", pl.col("batch_number")),
    )


def _batch_totals(f: NachaFile) -> pl.DataFrame:
    b = f.batches
    if "control_line" not in b.columns:
        return empty_issues()
    agg = sums_by_batch(f).with_columns((pl.col("_hash_sum") % 10**10).alias("_hash"))
    adds = f.addenda.group_by("batch_index").agg(pl.len().cast(pl.Int64).alias("_a"))
    t = (
        b.select(
            "batch_index",
            "control_line",
            "entry_addenda_count",
            "entry_hash",
            "total_debit_entry_dollar_amount",
            "total_credit_entry_dollar_amount",
        )
        .filter(pl.col("control_line").is_not_null())
        .join(agg, on="batch_index", how="left")
        .join(adds, on="batch_index", how="left")
        .with_columns(pl.col("_n", "_a", "_hash", "_debit", "_credit").fill_null(0))
    )
    out = []
    for col, calc, rule, what in (
        (
            "entry_addenda_count",
            pl.col("_n") + pl.col("_a"),
            "batch.entry_addenda_count",
            "entry/addenda count",
        ),
        ("entry_hash", pl.col("_hash"), "batch.entry_hash", "entry hash"),
        (
            "total_debit_entry_dollar_amount",
            pl.col("_debit"),
            "batch.total_debit",
            "total debit amount",
        ),
        (
            "total_credit_entry_dollar_amount",
            pl.col("_credit"),
            "batch.total_credit",
            "total credit amount",
        ),
    ):
        bad = t.filter(pl.col(col).is_null() | (pl.col(col) != calc)).with_columns(
            calc.alias("_calc")
        )
        out.append(
            issue_rows(
                bad,
                record_type="batch_control",
                field=col,
                rule=rule,
                line="control_line",
                message=fmt(
                    f"{what} is {{}} but the entries give {{}}", pl.col(col), pl.col("_calc")
                ),
            )
        )
    return pl.concat(out)


# --------------------------------------------------------------------------------- entries
