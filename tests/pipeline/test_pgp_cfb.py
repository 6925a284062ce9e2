"""Fast AES-CFB decryption (ECB + CBC) against OpenSSL's own CFB, on every length shape."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import pgp_cfb
from pipeline.pgp_cfb import cfb_decrypt


def reference_encrypt(key: bytes, plain: bytes, iv: bytes = bytes(16)) -> bytes:
    engine = Cipher(algorithms.AES(key), CFB(iv)).encryptor()
    return engine.update(plain) + engine.finalize()


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from([16, 24, 32]).map(os.urandom),
    plain=st.binary(max_size=300),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=4),
    iv=st.binary(min_size=16, max_size=16),
)
def test_matches_openssl_cfb_for_any_length_and_split(key, plain, cuts, iv):
    cipher = reference_encrypt(key, plain, iv)
    points = sorted({min(c, len(cipher)) for c in cuts})
    pieces = [cipher[a:b] for a, b in zip([0, *points], [*points, len(cipher)], strict=True)]
    assert bytes(cfb_decrypt(key, pieces, iv)) == plain


@pytest.mark.parametrize("extra", [0, 1, 15, 16, 17])
def test_spans_several_scratch_pieces(monkeypatch, extra):
    """Lengths around the piece size exercise the CBC chaining between pieces."""
    monkeypatch.setattr(pgp_cfb, "_PIECE", 64)
    key = os.urandom(32)
    plain = os.urandom(64 * 3 + extra)
    cipher = reference_encrypt(key, plain)
    assert bytes(cfb_decrypt(key, [memoryview(cipher)])) == plain


def test_large_message_with_gpg_like_chunks():
    key = os.urandom(32)
    plain = os.urandom(3 * (1 << 20) + 5)
    cipher = reference_encrypt(key, plain)
    chunks = [cipher[:1]] + [cipher[i : i + 8192] for i in range(1, len(cipher), 8192)]
    assert bytes(cfb_decrypt(key, chunks)) == plain


def test_empty_and_bad_iv():
    assert bytes(cfb_decrypt(os.urandom(16), [])) == b""
    with pytest.raises(ValueError, match="IV"):
        cfb_decrypt(os.urandom(16), [b"x"], iv=b"short")
