"""Small pure parts of the run: money parsing, the build clock, local file safety."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from pipeline.run.checks import amount_text_to_cents
from pipeline.run.files import atomic_write, inbound_path, safe_name, sha256_bytes
from pipeline.run.outbound import api_frame_to_ledger, build_clock
from pipeline.run.resources import _kind_hint

CT = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("text", "cents"),
    [("12.34", 1234), ("0.5", 50), ("7", 700), ("99999999.99", 9_999_999_999), ("1.05", 105)],
)
def test_amount_text_to_cents_is_exact(text: str, cents: int) -> None:
    out = pl.DataFrame({"a": [text]}).select(amount_text_to_cents(pl.col("a"))).item()
    assert out == cents


def test_build_clock_uses_now_on_the_day_and_17h_otherwise() -> None:
    now = datetime(2026, 3, 2, 18, 45, tzinfo=CT)
    assert build_clock(date(2026, 3, 2), CT, now=now) == now
    later = datetime(2026, 3, 3, 2, 0, tzinfo=CT)  # a resumed run after midnight
    assert build_clock(date(2026, 3, 2), CT, now=later) == datetime(2026, 3, 2, 17, 0, tzinfo=CT)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("/abs/x.ach", "x.ach"),
        (".hidden", "hidden"),
        ("a b$.pgp", "a_b_.pgp"),
    ],
)
def test_remote_names_become_safe_local_names(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_atomic_write_and_inbound_path(tmp_path: Path) -> None:
    data = b"x" * 10
    path = atomic_write(tmp_path / "d" / "f.bin", data)
    assert path.read_bytes() == data and not list(path.parent.glob(".*tmp"))
    sha = sha256_bytes(data)
    assert inbound_path(tmp_path, sha, "../RET.ach").name == f"{sha[:16]}-RET.ach"


def test_api_frame_maps_to_ledger_columns_and_keeps_accounts_masked() -> None:
    frame = pl.DataFrame(
        {
            "cfi_transaction_id": ["A_1"],
            "status": ["Settled"],
            "amount_cents": [315],
            "effective_entry_date": [date(2026, 3, 3)],
            "dfi_account_masked": ["*****6789"],
        }
    )
    out = api_frame_to_ledger(frame)
    assert out.columns == [
        "cfi_transaction_id",
        "status",
        "amount_cents",
        "effective_date",
        "account_number",
    ]
    assert out["account_number"][0] == "*****6789"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("outbound/ack/ACK_x.json.pgp", "ack"),
        ("outbound/returns/R.ach", "return"),
        ("outbound/noc/N.ach", "noc"),
        ("inbox/x", "unknown"),
    ],
)
def test_kind_hint_from_directory(path: str, kind: str) -> None:
    assert _kind_hint(path) == kind
