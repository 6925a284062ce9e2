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


def test_sharing_computes_each_account_once_and_reuses_it(
    account_protector: AccountProtector,
) -> None:
    p = account_protector
    accounts = pl.Series(VALUES, dtype=pl.String)
    with p.sharing():
        assert p.sharing_active
        hashes = p.hash_series(accounts).to_list()
        cts = p.encrypt_series(pl.Series(["123", "A-1"])).to_list()
        frame = p.protect_frame(pl.DataFrame({"account_number": [*VALUES, "555"]}))
    assert not p.sharing_active
    # the same hashes as outside a scope, and the ciphertexts the enrolment made are reused
    assert hashes == p.hash_series(accounts).to_list()
    assert frame.get_column("account_hash").to_list()[:-1] == [
        None if v is None else p.hash_account(v) for v in VALUES
    ]
    got = frame.get_column("account_ciphertext").to_list()
    assert got[0] == got[1] == got[6] == cts[0] and got[7] == cts[1]
    assert [None if c is None else p.decrypt(c) for c in got] == [
        None if v is None else v.strip() for v in [*VALUES, "555"]
    ]
    # still one fresh nonce per distinct account: "", 123, 9…, A-1, 555
    assert len({bytes(c)[5:17] for c in got if c is not None}) == 5
    # a new scope starts empty: nothing is reused across scopes
    with p.sharing():
        again = p.encrypt_series(pl.Series(["123"])).to_list()
    assert again[0] != cts[0] and p.decrypt(again[0]) == "123"
