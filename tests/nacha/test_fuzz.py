"""Property-based tests: mutated valid files never make the reader or validator raise
anything but our own typed errors, and a mutation that breaks the totals is never reported
valid. Plus write -> read -> write identity for assembled files."""

from __future__ import annotations

import contextlib

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nacha import NachaError, assemble, read, routing_check_digit, validate, write
from tests.nacha.conftest import SAMPLES, corpus_bytes

SEEDS = [
    (SAMPLES / "ppd-debit.ach").read_bytes(),
    (SAMPLES / "ccd-addenda.ach").read_bytes(),
    (SAMPLES / "return.ach").read_bytes(),
    (SAMPLES / "noc.ach").read_bytes(),
    corpus_bytes("test/testdata/iat-mixedDebitCredit.ach"),
    corpus_bytes("test/testdata/adv.ach"),
    corpus_bytes("test/testdata/web-debit.ach"),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    lines = bytes(data).split(b"\n")
    kind = draw(st.sampled_from(["flip", "drop", "dup", "truncate", "non_ascii", "digit", "swap"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "drop":
        i = draw(st.integers(0, len(lines) - 1))
        return b"\n".join(lines[:i] + lines[i + 1 :])
    if kind == "dup":
        i = draw(st.integers(0, len(lines) - 1))
        return b"\n".join(lines[: i + 1] + lines[i:])
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if kind == "non_ascii":
        i = draw(st.integers(0, len(data)))
        ch = draw(st.sampled_from(["é", "Ø", "¦", "\u2603", "\x00", "\x1b"])).encode()
        return bytes(data[:i]) + ch + bytes(data[i:])
    if kind == "swap":
        i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)
    # change one digit of an amount or routing number inside an entry record
    entry_rows = [k for k, x in enumerate(lines) if x[:1] == b"6"]
    k = draw(st.sampled_from(entry_rows))
    pos = draw(st.sampled_from([3, 5, 10, 30, 35, 38]))
    line = bytearray(lines[k])
    old = line[pos]
    line[pos] = (
        ord(str((int(chr(old)) + draw(st.integers(1, 9))) % 10)) if chr(old).isdigit() else ord("5")
    )
    lines[k] = bytes(line)
    return b"\n".join(lines)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_raise_only_nacha_errors(data: bytes) -> None:
    try:
        f = read(data)
        issues = validate(f)
    except NachaError:
        return
    assert set(issues.columns) == {"line", "record_type", "field", "rule", "message", "severity"}
    errors = issues.filter(pl.col("severity") == "error")
    if errors.height == 0:
        assert _totals_agree(f), "a file whose totals disagree was reported valid"
        out = write(f, line_ending=f.line_ending if f.line_ending != "\r" else "\n")
        again = validate(read(out))
        assert again.filter(pl.col("severity") == "error").height == 0


def _totals_agree(f) -> bool:  # type: ignore[no-untyped-def]
    """Independent recomputation (plain Python over the entries) of the file totals."""
    e = f.entries
    if f.file_control.height == 0:
        return True
    fc = f.file_control.row(0, named=True)
    tc = [int(x) for x in e["transaction_code"]]
    amounts = e["amount"].to_list()
    debit = sum(
        a for t, a in zip(tc, amounts, strict=True) if (t % 2 == 0 if t >= 80 else t % 10 >= 5)
    )
    credit = sum(amounts) - debit
    hash_ = sum(int(r) for r in e["rdfi_id"]) % 10**10
    return (
        fc["total_debit_entry_dollar_amount"],
        fc["total_credit_entry_dollar_amount"],
        fc["entry_hash"],
        fc["entry_addenda_count"],
        fc["batch_count"],
    ) == (debit, credit, hash_, e.height + f.addenda.height, f.batches.height)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_nacha_errors(data: bytes) -> None:
    with contextlib.suppress(NachaError):
        validate(read(data))


_ROUTINGS = ["02100002", "05320776", "07100001", "12200066", "99999999"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["22", "27", "32", "37", "23"]),
            st.sampled_from(_ROUTINGS),
            st.integers(1, 10**10 - 1),
            st.text("ABCDEFGHIJ 0123456789-", min_size=1, max_size=17),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_assemble_read_write_identity(specs: list[tuple[str, str, int, str]]) -> None:
    entries = pl.DataFrame(
        [
            {
                "batch_number": 1,
                "transaction_code": tc,
                "rdfi_id": r8,
                "check_digit": routing_check_digit(r8),
                "dfi_account_number": acct.strip() or "1",
                "amount": 0 if tc == "23" else amount,
                "individual_name": "X",
                "trace_number": f"12345678{i + 1:07d}",
            }
            for i, (tc, r8, amount, acct) in enumerate(specs)
        ]
    )
    batches = pl.DataFrame(
        [
            {
                "batch_number": 1,
                "service_class_code": "200",
                "company_name": "ACME",
                "company_id": "1234567890",
                "sec_code": "PPD",
                "company_entry_description": "PAYROLL",
                "effective_entry_date": "260309",
                "originator_status_code": "1",
                "odfi_id": "12345678",
            }
        ]
    )
    header = {
        "immediate_destination": "123456780",
        "immediate_origin": "1234567890",
        "file_creation_date": "260306",
        "file_id_modifier": "A",
    }
    data = assemble(file_header=header, batches=batches, entries=entries)
    f = read(data)
    assert validate(f).filter(pl.col("severity") == "error").height == 0
    assert write(f) == data
    assert f.entries["amount"].to_list() == entries["amount"].to_list()
