"""The column helpers of AccountProtector agree with the per-value methods."""

from __future__ import annotations

import polars as pl

from pipeline.store.protect import AccountProtector

VALUES = ["123", " 123 ", None, "", "  ", "987654321", "123", "A-1"]


def test_hash_series_is_hash_account_per_value(account_protector: AccountProtector) -> None:
    got = account_protector.hash_series(pl.Series(VALUES, dtype=pl.String)).to_list()
    assert got == [None if not v else account_protector.hash_account(v) for v in VALUES]


def test_encrypt_series_decrypts_to_the_normalised_account(
    account_protector: AccountProtector,
) -> None:
    cts = account_protector.encrypt_series(pl.Series(VALUES, dtype=pl.String)).to_list()
    clear = [None if c is None else account_protector.decrypt(c) for c in cts]
    assert clear == [None if v is None else v.strip() for v in VALUES]
    # one ciphertext per distinct account, a fresh nonce for each distinct account
    assert cts[0] == cts[1] == cts[6] and cts[0] != cts[5]
    assert len({bytes(c)[5:17] for c in cts if c is not None}) == 4  # "", 123, 9…, A-1
