"""Conformance with the moov-io/ach corpus (../shared/conformance/moov-ach/expectations.csv).

- ``valid``: no errors with default options.
- ``valid-relaxed`` with ``opts:``: no errors with the named options (plus the lenient
  reader, since several of these files also have trimmed records) and errors without the
  named options. Partial files (missing file header/control) are, as the corpus README says,
  a *parse* expectation: the named options must excuse everything the reader found and the
  entries must be recovered; moov itself fails their file totals.
- ``valid-relaxed`` with ``lenient:``: no errors with the lenient-reader options, errors
  with the strict defaults (``requireABAOrigin`` for the non-ABA-origin case).
- ``invalid`` (including fuzz crashers): errors with default options, and never a crash.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

from nacha import ValidateOptions, read, validate
from tests.nacha.conftest import corpus_bytes, corpus_rows

ROWS = corpus_rows()

# Expectations we believe are wrong; kept visible instead of bending the validator.
DISAGREE = {
    "test/testdata/txp-debit.ach": (
        "its addenda 05 is shifted two positions (sequence fields at 82-92, blanks at 93-94): "
        "addenda sequence 0100 and entry detail sequence '00001  ' are not what the entry "
        "says. moov's reader trims the long line and does not check those fields; we report "
        "addenda.sequence_number / field.numeric as errors."
    ),
}

_PHYSICAL = re.compile(r"short record|over-long|blank line|not padded|BlockCount|no record sep")


def _errors(issues: pl.DataFrame) -> pl.DataFrame:
    return issues.filter(pl.col("severity") == "error")


def _opts(reason: str) -> list[str]:
    return reason.removeprefix("opts:").split(";")[0].split(" ")[0].split("+")


def _case_id(row: dict[str, str]) -> str:
    return row["file"]


def _params() -> list[object]:
    out = []
    for row in ROWS:
        marks = []
        if row["file"] in DISAGREE:
            marks.append(pytest.mark.xfail(reason=DISAGREE[row["file"]], strict=True))
        out.append(pytest.param(row, id=_case_id(row), marks=marks))
    return out


@pytest.mark.parametrize("row", _params())
def test_expectation(row: dict[str, str]) -> None:
    data = corpus_bytes(row["file"])
    f = read(data)
    default = validate(f)
    expect, reason = row["expect"], row["reason"]
    if expect == "valid":
        assert _errors(default).height == 0, _errors(default).rows()
    elif expect == "invalid":
        assert _errors(default).height > 0, "an invalid file validated clean"
    elif reason.startswith("opts:"):
        names = _opts(reason)
        relaxed = ValidateOptions.from_names(names).merge(ValidateOptions.lenient())
        issues = validate(f, options=relaxed)
        if any(n.startswith("allowMissingFile") for n in names):
            reader_rules = set(f.read_issues["rule"].to_list())
            still = _errors(issues).filter(pl.col("rule").is_in(list(reader_rules)))
            assert still.height == 0, still.rows()
            m = re.search(r"entries=(\d+)", reason)
            assert m and f.entries.height == int(m.group(1))
        else:
            assert _errors(issues).height == 0, _errors(issues).rows()
        # and the named options are what makes the difference
        assert _errors(validate(f, options=ValidateOptions.lenient())).height > 0
    else:
        assert reason.startswith("lenient:")
        issues = validate(f, options=ValidateOptions.lenient())
        assert _errors(issues).height == 0, _errors(issues).rows()
        if _PHYSICAL.search(reason):
            assert _errors(default).height > 0
        else:  # accepted only because moov does not require an ABA immediate origin
            strict = ValidateOptions(require_aba_origin=True)
            assert _errors(validate(f, options=strict)).height > 0


def test_corpus_is_complete() -> None:
    assert len(ROWS) == 181
