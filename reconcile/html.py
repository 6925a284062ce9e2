"""Self-contained HTML pages: inline CSS, inline SVG, escaped text, masked accounts.

No external stylesheet, script, font or image: the page is one file that renders the same
offline. Any column that looks like an account number is masked before it is written.
"""

from __future__ import annotations

import datetime as dt
from html import escape

import polars as pl

from nacha.masking import mask_account_expr
from reconcile._fmt import money

CSS = """
body{font-family:-apple-system,'Segoe UI',DejaVu Sans,Arial,sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
p.meta{color:#666;margin:0 0 16px}
table{border-collapse:collapse;font-size:12px;margin:4px 0 8px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f4f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{background:#fdecea} tr.warn td{background:#fff6e0} tr.good td{background:#eef8ee}
.badge{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;color:#fff}
.badge.ok{background:#2e7d32} .badge.bad{background:#c62828} .badge.warn{background:#ef8f00}
.charts{display:flex;flex-wrap:wrap;gap:12px} .note{color:#666;font-size:12px}
"""


def _is_account_column(name: str) -> bool:
    lowered = name.lower()
    return "account" in lowered and "last4" not in lowered and "type" not in lowered


def masked(df: pl.DataFrame) -> pl.DataFrame:
    """Mask every account-like column; show ``account_last4`` as ``****1234``."""
    exprs = []
    for name in df.columns:
        if name == "account_last4":
            exprs.append(
                pl.when(pl.col(name).is_null() | (pl.col(name) == ""))
                .then(pl.lit(""))
                .otherwise(pl.lit("****") + pl.col(name).str.slice(-4))
                .alias(name)
            )
        elif _is_account_column(name) and df.schema[name] == pl.String:
            exprs.append(mask_account_expr(name).alias(name))
    return df.with_columns(exprs) if exprs else df


def _cell(name: str, value: object) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int) and (name.endswith("_cents") or name == "cents"):
        return f'<td class="num">{money(value)}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="num">{value:.4f}</td>'
    if isinstance(value, dt.date):
        return f"<td>{value.isoformat()}</td>"
    return f"<td>{escape(str(value))}</td>"


def _header(name: str) -> str:
    label = name.replace("_cents", " ($)").replace("_pct", " (%)").replace("_", " ")
    return f"<th>{escape(label)}</th>"


def table(
    df: pl.DataFrame,
    *,
    table_id: str,
    max_rows: int = 200,
    row_class: str | None = None,
) -> str:
    """An HTML table of ``df`` (masked, escaped); ``row_class`` names a column of CSS classes."""
    # only the rows shown are masked and rendered (a bad night has a million breaks)
    view = masked(df.head(max_rows))
    cols = [c for c in view.columns if c != row_class]
    parts = [f'<table id="{escape(table_id)}" data-rows="{df.height}">', "<thead><tr>"]
    parts.extend(_header(c) for c in cols)
    parts.append("</tr></thead><tbody>")
    for rec in view.iter_rows(named=True):
        css = f' class="{escape(str(rec[row_class]))}"' if row_class and rec[row_class] else ""
        parts.append(f"<tr{css}>" + "".join(_cell(c, rec[c]) for c in cols) + "</tr>")
    if view.height == 0:
        parts.append(f'<tr><td colspan="{len(cols)}" class="note">none</td></tr>')
    parts.append("</tbody></table>")
    if df.height > max_rows:
        parts.append(
            f'<p class="note">Showing {max_rows:,} of {df.height:,} rows; '
            "the CSV/Parquet/XLSX files have all of them.</p>"
        )
    return "".join(parts)


def page(title: str, subtitle: str, body: str) -> str:
    """A whole HTML document with the inline stylesheet."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{escape(subtitle)}</p>'
        f"{body}</body></html>\n"
    )
