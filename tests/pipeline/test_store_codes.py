"""The SQL reference table of return reason codes must say what nacha/codes.py says."""

from __future__ import annotations

import psycopg

from nacha import codes

KIND = {"return": "return", "dishonored": "dishonor", "contested": "contested"}


def test_sql_return_codes_equal_nacha_codes(pg_module_url: str) -> None:
    with psycopg.connect(pg_module_url) as conn:
        rows = conn.execute(
            "SELECT code, rate_category, kind, entry_scope = 'rck', effective_from::text"
            " FROM return_reason_codes ORDER BY code"
        ).fetchall()
    sql_table = {r[0]: r[1:] for r in rows}
    py_table = {
        c.code: (c.rate_category, KIND[c.kind], c.rck, c.effective_from)
        for c in codes.RETURN_REASON_CODES
    }
    assert set(sql_table) == set(py_table)
    differing = {c: (sql_table[c], py_table[c]) for c in py_table if sql_table[c] != py_table[c]}
    assert differing == {}


def test_rate_sets_follow_the_spec(pg_module_url: str) -> None:
    with psycopg.connect(pg_module_url) as conn:
        unauthorized = {
            r[0]
            for r in conn.execute(
                "SELECT code FROM return_reason_codes WHERE rate_category = 'unauthorized'"
            )
        }
        administrative = {
            r[0]
            for r in conn.execute(
                "SELECT code FROM return_reason_codes WHERE rate_category = 'administrative'"
            )
        }
        debit_codes = {
            r[0] for r in conn.execute("SELECT transaction_code FROM rate_debit_transaction_codes")
        }
        limits = dict(conn.execute("SELECT measure, limit_pct::float8 FROM return_rate_limits"))
    assert unauthorized == {"R05", "R07", "R10", "R11", "R29", "R51"}
    assert administrative == {"R02", "R03", "R04"}
    assert debit_codes == {27, 37, 47, 55}
    assert limits == {"unauthorized": 0.5, "administrative": 3.0, "overall": 15.0}
