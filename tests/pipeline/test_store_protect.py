"""Account protection: AES-GCM + keyed hash + last four, and nothing in clear in the database."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from datetime import date

import polars as pl
import pytest

from pipeline.errors import ConfigError
from pipeline.secrets import Secret
from pipeline.store import AccountProtector, Ledger, SecurityConfig, StoreError
from pipeline.store.protect import mask_corrected_data
from tests.pipeline._ledger_samples import entries_frame, record_file, traces


def _key() -> Secret:
    return Secret(base64.b64encode(os.urandom(32)).decode(), source="test")


def test_roundtrip_hash_and_last4() -> None:
    p = AccountProtector(_key())
    ct, digest, l4 = p.protect(" 123456789 ")
    assert p.decrypt(ct) == "123456789" and l4 == "6789"
    assert b"123456789" not in ct
    assert digest == p.hash_account("123456789") and len(digest) == 32
    assert p.protect("123456789")[0] != ct  # random nonce per value
    other = AccountProtector(_key())
    assert other.hash_account("123456789") != digest  # the hash is keyed
    with pytest.raises(StoreError, match="another key"):
        other.decrypt(ct)
    tampered = ct[:-1] + bytes([ct[-1] ^ 1])
    with pytest.raises(StoreError, match="authentication"):
        p.decrypt(tampered)
    assert p.protect("1234")[2] == ""  # a short account is never shown whole


def test_key_formats_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = os.urandom(32)
    for text in (raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        monkeypatch.setenv("ACH_KEY", text)
        cfg = SecurityConfig.from_mapping({"account_key": "env:ACH_KEY"})
        assert (
            AccountProtector.from_config(cfg).key_id == AccountProtector(Secret(raw.hex())).key_id
        )
    monkeypatch.setenv("ACH_KEY", "too-short")
    with pytest.raises(ConfigError, match="at least 32 random bytes") as info:
        SecurityConfig.from_mapping({"account_key": "env:ACH_KEY"})
    assert "too-short" not in str(info.value)
    with pytest.raises(ConfigError, match="account_key is required"):
        AccountProtector.from_config(SecurityConfig.from_mapping({}))
    with pytest.raises(ConfigError, match="unknown"):
        SecurityConfig.from_mapping({"acount_key": "x"})


def test_protect_frame_drops_the_clear_column() -> None:
    p = AccountProtector(_key())
    frame = p.protect_frame(
        pl.DataFrame({"account_number": ["111122223333", None, "111122223333"]})
    )
    assert frame.columns == ["account_ciphertext", "account_hash", "account_last4"]
    assert frame.get_column("account_last4").to_list() == ["3333", None, "3333"]
    hashes = frame.get_column("account_hash").to_list()
    assert hashes[0] == hashes[2] and hashes[1] is None


@pytest.mark.parametrize(
    ("code", "data", "masked"),
    [
        ("C01", "12345678901      ", "*******8901      "),
        ("C02", "091000019", "091000019"),
        ("C03", "091000019   12345678901      ", "091000019   *******8901      "),
        ("C05", "32", "32"),
        ("C06", "12345678901         32", "*******8901         32"),
        ("C07", "09100001912345678901      37", "091000019*******8901      37"),
    ],
)
def test_mask_corrected_data(code: str, data: str, masked: str) -> None:
    assert mask_corrected_data(code, data) == masked


CLEAR = ["31415926535", "27182818284", "16180339887", "14142135623", "17320508075"]


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump (postgresql-client) missing")
def test_no_clear_account_number_in_a_dump(ledger: Ledger, pg_url: str) -> None:
    entries = entries_frame(traces(1, 2), accounts=CLEAR[:2])
    record_file(ledger, entries, effective=date(2026, 3, 3))
    ledger.record_nocs(
        None,
        pl.DataFrame(
            {
                "trace_number": ["091000010000001"],
                "original_trace_number": traces(1, 1),
                "change_code": ["C01"],
                "corrected_data": [CLEAR[2].ljust(17)],
                "received_date": [date(2026, 3, 5)],
            }
        ),
    )
    ledger.upsert_transfers(
        pl.DataFrame(
            {
                "cfi_transaction_id": ["CL_1"],
                "status": ["Returned"],
                "amount_cents": [100],
                "account_number": [CLEAR[3]],
                "noc_code": ["C06"],
                "noc_corrected_data": [CLEAR[4].ljust(17) + "   32"],
            }
        )
    )
    dump = subprocess.run(
        ["pg_dump", "--no-owner", pg_url], check=True, capture_output=True, timeout=60
    ).stdout
    assert b"COPY public.entries" in dump and b"6535" in dump  # the dump has the data
    for account in CLEAR:
        assert account.encode() not in dump, account
        assert account.encode().hex().encode() not in dump, account  # not as clear bytea


def test_protect_frame_keeps_order_with_repeats_and_blanks() -> None:
    p = AccountProtector(_key())
    accounts = [" 5551234 ", "5551234", None, "99", "123456789012345678", "5551234", "77770000"]
    frame = p.protect_frame(pl.DataFrame({"account_number": accounts}))
    cts = frame.get_column("account_ciphertext").to_list()
    clear = [None if a is None else a.strip() for a in accounts]
    assert [None if c is None else p.decrypt(c) for c in cts] == clear
    assert frame.get_column("account_hash").to_list() == [
        None if a is None else p.hash_account(a) for a in clear
    ]
    assert frame.get_column("account_last4").to_list() == [
        "1234", "1234", None, "", "5678", "1234", "0000"
    ]  # fmt: skip
    assert cts[0] == cts[1] == cts[5]  # one distinct account, one ciphertext
    nonces = {c[5:17] for c in cts if c is not None}
    assert len(nonces) == 4  # a fresh nonce per distinct account
    assert p.protect_many(accounts)[2] == frame.get_column("account_last4").to_list()


def test_accounts_are_encrypted_chunk_by_chunk_into_one_copy(
    ledger: Ledger, pg_conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """record_outbound_file streams chunks (encrypt one while the server inserts the last):
    every row arrives, in order, and a failure in a later chunk leaves nothing behind."""
    import pipeline.store.entries_tables as entries_tables

    monkeypatch.setattr(entries_tables, "CHUNK_ROWS", 2)
    accounts = [f"5550000{i:03d}" for i in range(5)]
    record_file(ledger, entries_frame(traces(1, 5), accounts=accounts), effective=date(2026, 3, 3))
    rows = pg_conn.execute(
        "SELECT trace_number, account_ciphertext, account_last4 FROM entries ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == traces(1, 5)
    assert [ledger.protector.decrypt(r[1]) for r in rows] == accounts
    assert [r[2] for r in rows] == [a[-4:] for a in accounts]
    clash = traces(10, 4) + traces(1, 1)  # the 5th row (3rd chunk) repeats a recorded trace
    with pytest.raises(StoreError):
        record_file(ledger, entries_frame(clash), effective=date(2026, 3, 3), name="second")
    assert pg_conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 5
