"""DFI account numbers are never stored in clear: AES-256-GCM ciphertext + keyed hash + last 4.

One master key comes from config (``[security] account_key``, a secret reference such as
``env:ACHPIPE_ACCOUNT_KEY`` holding 32 random bytes as base64 or hex; make one with
``python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"``). Two
independent subkeys are derived from it with HKDF-SHA256, so the hash key never encrypts and
the encryption key never hashes:

* ``account_ciphertext`` = ``0x01 | key id (4) | nonce (12) | AES-GCM(ciphertext + tag)``;
  a random nonce per value, associated data binds it to its purpose. The key id lets a
  future rotation tell which key encrypted a row.
* ``account_hash`` = HMAC-SHA256(hash key, account) — equal accounts have equal hashes, so
  matching (payees, NOCs, duplicates) works without decrypting; without the key the hash
  cannot be brute-forced from the small space of account numbers.
* ``account_last4`` for display (what :func:`nacha.masking.mask_account` shows).

The loops are per value by necessity (one nonce each) but deduplicate repeated accounts, take
their nonces from one ``os.urandom`` call and use a precomputed HMAC state: about 1.5 µs per
distinct account on a quiet machine; normalising, last four and mapping back run in polars.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Self

import polars as pl
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nacha.masking import mask_account
from pipeline.errors import ConfigError
from pipeline.secrets import Secret, resolve_secret
from pipeline.store.errors import StoreError

_VERSION = b"\x01"
_NONCE = 12
_AAD = b"achpipe:dfi-account:v1"
_AAD_CORRECTED = b"achpipe:noc-corrected-data:v1"
PROTECTED_COLUMNS = ("account_ciphertext", "account_hash", "account_last4")

# NOC change codes whose corrected data carries a DFI account number, and where (0-based
# slice of the 29-character corrected-data field; spec/returns-and-rates.md §4.1).
_ACCOUNT_IN_CORRECTED: dict[str, tuple[int, int]] = {
    "C01": (0, 17),
    "C03": (12, 29),
    "C06": (0, 17),
    "C07": (9, 26),
}


@dataclass(frozen=True)
class SecurityConfig:
    """The ``[security]`` section: ``account_key`` (secret reference, required to write)."""

    account_key: Secret | None = None

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        unknown = sorted(set(section) - {"account_key"})
        if unknown:
            raise ConfigError(f"[security] unknown key(s): {', '.join(unknown)}")
        ref = section.get("account_key")
        if ref is None:
            return cls()
        if not isinstance(ref, str) or not ref:
            raise ConfigError("[security] account_key must be a secret reference string")
        secret = resolve_secret(ref, setting="[security] account_key")
        _decode_key(secret)  # validate now, at start-up, not at the first entry
        return cls(account_key=secret)


def _decode_key(secret: Secret) -> bytes:
    text = secret.reveal().strip()
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        std = text.replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) < 32:
        raise ConfigError(
            f"[security] account_key ({secret.source}) must be at least 32 random bytes as "
            "base64 or 64 hex characters"
        )
    return raw


def _derive(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(master)


def last4(account: str) -> str:
    """The last four characters of the normalised account, or "" when it has four or fewer
    (then the last four would be the whole number)."""
    return account[-4:] if len(account) > 4 else ""


def normalize_account(account: str) -> str:
    """The account as matched and stored: surrounding blanks (NACHA padding) removed."""
    return account.strip()


class AccountProtector:
    """Encrypts, hashes and decrypts DFI account numbers with keys derived from one secret."""

    def __init__(self, key: Secret) -> None:
        master = _decode_key(key)
        self._aead = AESGCM(_derive(master, b"achpipe account encryption v1"))
        mac_key = _derive(master, b"achpipe account hash v1")
        block = mac_key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self.key_id = self._hmac(b"achpipe key id")[:4]
        # what the open sharing() scope computed: "h" and "ct" -> frame of (a, h|ct), "a"
        # being the normalised account; None outside a scope
        self._shared: dict[str, pl.DataFrame] | None = None

    @classmethod
    def from_config(cls, config: SecurityConfig) -> Self:
        if config.account_key is None:
            raise ConfigError(
                "[security] account_key is required to store account numbers "
                '(e.g. account_key = "env:ACHPIPE_ACCOUNT_KEY")'
            )
        return cls(config.account_key)

    def __repr__(self) -> str:
        return f"AccountProtector(key_id={self.key_id.hex()})"

    def _hmac(self, data: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def hash_account(self, account: str) -> bytes:
        """Keyed hash (HMAC-SHA256) of the normalised account, for matching."""
        return self._hmac(normalize_account(account).encode("ascii", "replace"))

    def encrypt(self, value: str, *, aad: bytes = _AAD) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + self.key_id + nonce + self._aead.encrypt(nonce, value.encode(), aad)

    def decrypt(self, blob: bytes, *, aad: bytes = _AAD) -> str:
        """The clear value of a ciphertext this key wrote (for the one caller that needs it)."""
        blob = bytes(blob)
        if blob[:1] != _VERSION or blob[1:5] != self.key_id:
            raise StoreError("account ciphertext was written with another key or format")
        nonce = blob[5 : 5 + _NONCE]
        try:
            return self._aead.decrypt(nonce, blob[5 + _NONCE :], aad).decode()
        except InvalidTag as exc:
            raise StoreError("account ciphertext failed authentication (tampered?)") from exc

    def protect(self, account: str) -> tuple[bytes, bytes, str]:
        """(ciphertext, hash, last4) of one account number."""
        value = normalize_account(account)
        return self.encrypt(value), self._hmac(value.encode("ascii", "replace")), last4(value)

    def protect_many(
        self, accounts: Iterable[str | None]
    ) -> tuple[list[bytes | None], list[bytes | None], list[str | None]]:
        """Columns (ciphertexts, hashes, last4s) for many accounts; None stays None.

        A repeated account gets the same ciphertext within one call (it is the same secret
        under the same key; the nonce is still random per distinct value).
        """
        cts, hs, l4 = self._protect_series(pl.Series("a", list(accounts), dtype=pl.String))
        return cts.to_list(), hs.to_list(), l4.to_list()

    def hash_series(self, accounts: pl.Series) -> pl.Series:
        """Keyed hashes (:meth:`hash_account`) of a column of accounts, each distinct
        account hashed once; null and ``""`` give null."""
        raw = accounts.cast(pl.String)
        raw = pl.select(pl.when(raw != "").then(raw)).to_series()
        norm = raw.str.strip_chars()
        distinct = norm.drop_nulls().unique()
        table = self._distinct_table(distinct, hashes=True, ciphertexts=False)
        return _mapped(norm, table.get_column("a"), table.get_column("h"))

    def encrypt_series(self, accounts: pl.Series) -> pl.Series:
        """Ciphertexts (:meth:`encrypt` of the normalised account) of a column, each
        distinct account encrypted once with its own nonce, all nonces drawn in one
        ``os.urandom`` call; null stays null."""
        norm = accounts.cast(pl.String).str.strip_chars()
        distinct = norm.drop_nulls().unique()
        table = self._distinct_table(distinct, hashes=False, ciphertexts=True)
        return _mapped(norm, table.get_column("a"), table.get_column("ct"))

    @contextmanager
    def sharing(self) -> Iterator[None]:
        """Inside, each distinct account is hashed and encrypted at most once: the column
        methods (:meth:`hash_series`, :meth:`encrypt_series`, :meth:`protect_frame`) remember
        what they computed and reuse it. The build step screens (hashes every account),
        enrols new payees (encrypts theirs) and records the entries (both again) within one
        such scope, so a payee row and the entry rows of the same account carry the same
        ciphertext: the same secret under the same key, each encryption still with its own
        random nonce (a nonce is never used twice; a ciphertext is merely stored twice).
        The memory holds the normalised accounts only as long as the scope lasts."""
        previous = self._shared
        self._shared = {}
        try:
            yield
        finally:
            self._shared = previous

    @property
    def sharing_active(self) -> bool:
        """Whether a :meth:`sharing` scope is open (then whole columns are best protected
        in one call: each call looks its accounts up in everything computed so far)."""
        return self._shared is not None

    def remember_ciphertexts(self, accounts: pl.Series, ciphertexts: pl.Series) -> int:
        """Inside a :meth:`sharing` scope: take ``ciphertexts`` (already stored, e.g. a
        payee's) as the ciphertexts of ``accounts`` (clear, aligned with them), so the
        scope encrypts those accounts no more. Only ciphertexts this key wrote are taken,
        and only for accounts not known yet; the caller vouches that each decrypts to its
        account (e.g. the keyed hashes are equal). Returns how many were taken (0 outside a
        scope)."""
        shared = self._shared
        if shared is None:
            return 0
        prefix = _VERSION + self.key_id
        pairs = (
            pl.DataFrame(
                [
                    accounts.cast(pl.String).str.strip_chars().alias("a"),
                    ciphertexts.cast(pl.Binary).alias("ct"),
                ]
            )
            .drop_nulls()
            .filter(pl.col("ct").bin.starts_with(prefix))
            .unique("a", keep="first", maintain_order=True)
        )
        memo = shared.get("ct")
        if memo is not None and memo.height:
            pairs = pairs.join(memo, on="a", how="anti")
        if pairs.height:
            shared["ct"] = pairs if memo is None else pl.concat([memo, pairs])
        return pairs.height

    def _distinct_table(
        self, distinct: pl.Series, *, hashes: bool, ciphertexts: bool
    ) -> pl.DataFrame:
        """``a`` (the distinct normalised accounts) with ``h`` and/or ``ct`` as asked:
        computed per value, or taken from what the :meth:`sharing` scope computed before."""
        table = distinct.cast(pl.String).alias("a").to_frame()
        wanted = {"h": self._hash_values} if hashes else {}
        if ciphertexts:
            wanted["ct"] = self._encrypt_values
        for column, compute in wanted.items():
            memo = self._shared.get(column) if self._shared is not None else None
            if memo is not None and memo.height:
                table = table.join(memo, on="a", how="left", maintain_order="left")
                known = table.get_column(column)
                missing = known.is_null()
                todo = table.get_column("a").filter(missing)
            else:
                known, missing, todo = None, None, table.get_column("a")
            computed = pl.Series(column, compute(todo.to_list()), dtype=pl.Binary)
            if known is None or missing is None:
                table = table.with_columns(computed)
            elif len(computed):
                table = table.with_columns(known.scatter(missing.arg_true(), computed))
            if self._shared is not None and len(computed):
                new = pl.DataFrame([todo.alias("a"), computed])
                self._shared[column] = new if memo is None else pl.concat([memo, new])
        return table

    def _hash_values(self, values: list[str]) -> list[bytes]:
        inner, outer = self._inner, self._outer
        digests: list[bytes] = []
        for value in values:
            mac = inner.copy()
            mac.update(value.encode("ascii", "replace"))
            out = outer.copy()
            out.update(mac.digest())
            digests.append(out.digest())
        return digests

    def _encrypt_values(self, values: list[str]) -> list[bytes]:
        """One ciphertext per value, a fresh nonce each (all drawn in one urandom call)."""
        nonces = os.urandom(_NONCE * len(values))
        prefix = _VERSION + self.key_id
        encrypt = self._aead.encrypt
        return [
            prefix
            + nonces[_NONCE * i : _NONCE * (i + 1)]
            + encrypt(nonces[_NONCE * i : _NONCE * (i + 1)], value.encode(), _AAD)
            for i, value in enumerate(values)
        ]

    def protect_frame(self, frame: pl.DataFrame, *, column: str = "account_number") -> pl.DataFrame:
        """Replace the clear ``column`` by ``account_ciphertext``, ``account_hash``,
        ``account_last4`` (the clear column is dropped from the returned frame)."""
        if column not in frame.columns:
            raise ValueError(f"frame has no {column!r} column to protect")
        cts, hs, l4 = self._protect_series(frame.get_column(column))
        return frame.drop(column).with_columns(
            cts.alias("account_ciphertext"), hs.alias("account_hash"), l4.alias("account_last4")
        )

    def _protect_series(self, accounts: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
        """The work of :meth:`protect_frame`, per *distinct* normalised account.

        A night's file repeats accounts heavily (payrolls), and what cannot be vectorised is
        per value: one AES-GCM call and one HMAC. So normalising, last four and mapping back
        run in polars; the Python loop sees each distinct account once, with its nonce sliced
        from one ``os.urandom`` call (a syscall per value cost as much as the encryption).
        """
        norm = accounts.cast(pl.String).str.strip_chars().alias("a")
        n = norm.str.len_chars()
        l4 = (
            pl.select(
                pl.when(n > 4).then(norm.str.slice(-4)).when(n.is_not_null()).then(pl.lit(""))
            )
            .to_series()
            .alias("account_last4")
        )
        present = norm.drop_nulls()
        distinct = present.unique() if present.n_unique() < present.len() else present
        if self._shared is not None:
            table = self._distinct_table(distinct, hashes=True, ciphertexts=True)
            if distinct is not present or present.len() != norm.len():
                table = norm.to_frame().join(table, on="a", how="left", maintain_order="left")
            return table.get_column("ct"), table.get_column("h"), l4
        values = distinct.to_list()
        nonces = os.urandom(_NONCE * len(values))
        prefix = _VERSION + self.key_id
        encrypt, inner, outer = self._aead.encrypt, self._inner, self._outer
        cts: list[bytes] = []
        hs: list[bytes] = []
        for i, value in enumerate(values):
            clear = value.encode()
            nonce = nonces[_NONCE * i : _NONCE * (i + 1)]
            cts.append(prefix + nonce + encrypt(nonce, clear, _AAD))
            mac = inner.copy()
            mac.update(clear if clear.isascii() else value.encode("ascii", "replace"))
            out = outer.copy()
            out.update(mac.digest())
            hs.append(out.digest())
        table = pl.DataFrame(
            [distinct, pl.Series("ct", cts, dtype=pl.Binary), pl.Series("h", hs, dtype=pl.Binary)]
        )
        if distinct is not present or present.len() != norm.len():
            table = norm.to_frame().join(table, on="a", how="left", maintain_order="left")
        return table.get_column("ct"), table.get_column("h"), l4

    def protect_corrected_data(
        self, change_codes: Sequence[str], corrected: Sequence[str | None]
    ) -> tuple[list[bytes], list[str]]:
        """Encrypt NOC corrected data (always) and mask the account part where there is one."""
        cts: list[bytes] = []
        masked: list[str] = []
        for code, data in zip(change_codes, corrected, strict=True):
            text = data or ""
            cts.append(self.encrypt(text, aad=_AAD_CORRECTED))
            masked.append(mask_corrected_data(code, text))
        return cts, masked

    def decrypt_corrected_data(self, blob: bytes) -> str:
        return self.decrypt(blob, aad=_AAD_CORRECTED)


def _mapped(keys: pl.Series, distinct: pl.Series, values: pl.Series) -> pl.Series:
    """``values`` (one per ``distinct`` key) looked up for every element of ``keys``."""
    table = pl.DataFrame([distinct.alias("k"), values.alias("v")])
    return (
        keys.alias("k")
        .to_frame()
        .join(table, on="k", how="left", maintain_order="left")
        .get_column("v")
    )


def mask_corrected_data(change_code: str, corrected: str) -> str:
    """Corrected data safe to show: the account part (C01/C03/C06/C07) masked to last 4."""
    span = _ACCOUNT_IN_CORRECTED.get(change_code)
    if span is None:
        return corrected
    start, end = span
    account = corrected[start:end]
    shown = mask_account(account.strip()).ljust(len(account))
    return corrected[:start] + shown + corrected[end:]
