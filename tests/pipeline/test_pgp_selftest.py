"""seal's streaming self-test: it passes on every shape and piece boundary, and it catches
each kind of bad output (corrupted ciphertext, wrong framing, a compressed body that does
not hold the input, a signature by another key, a key that cannot read the result)."""

from __future__ import annotations

import os

import pytest

from pipeline import pgp, pgp_cfb, pgp_selftest
from pipeline.keys import generate_key
from pipeline.pgp import seal, unseal
from pipeline.pgp_cfb import CfbDecryptor
from pipeline.transport_errors import PgpSelfTestError

LINE = b"6220910000191234567890     0000012345ID00000000000012JOHN DOE" + b" " * 14 + b"009100001\n"


def _seal(ours, bank, data, compression="none"):
    return seal(
        data,
        signer=ours,
        recipients=[bank.public, ours.public],
        self_test_key=ours,
        compression=compression,
    )


@pytest.mark.parametrize("compression", ["none", "zip", "zlib", "bzip2"])
def test_passes_across_many_small_pieces(monkeypatch, ours, bank, compression):
    """Tiny pieces put part boundaries and partial blocks everywhere in the comparison."""
    monkeypatch.setattr(pgp, "_PIECE", 40)
    monkeypatch.setattr(pgp_cfb, "_PIECE", 48)
    monkeypatch.setattr(pgp_selftest, "_INPUT", 7)
    data = LINE * 37 + os.urandom(333)
    sealed = _seal(ours, bank, data, compression)
    assert unseal(sealed, key=bank, verify_with=[ours.public]).plaintext == data


def test_catches_a_flipped_ciphertext_byte(monkeypatch, ours, bank):
    real = pgp._encrypt_seipd

    def corrupting(packets, session_key, sink):
        stream = real(packets, session_key, sink)
        view = sink.getbuffer()
        view[len(view) - 100] ^= 1
        del view
        return stream

    monkeypatch.setattr(pgp, "_encrypt_seipd", corrupting)
    with pytest.raises(PgpSelfTestError, match="differs from what was encrypted"):
        _seal(ours, bank, LINE * 50)


def test_catches_broken_framing(monkeypatch, ours, bank):
    real = pgp._encrypt_seipd

    def trailing_garbage(packets, session_key, sink):
        stream = real(packets, session_key, sink)
        sink.write(b"\xcb\x05abc")  # a literal packet that runs past the end
        return stream

    monkeypatch.setattr(pgp, "_encrypt_seipd", trailing_garbage)
    with pytest.raises(PgpSelfTestError):
        _seal(ours, bank, LINE * 50)


def test_catches_compressed_data_that_is_not_the_input(monkeypatch, ours, bank):
    real = pgp._compress
    monkeypatch.setattr(
        pgp, "_compress", lambda packets, algo: real([*packets[:-1], b"x" + packets[-1]], algo)
    )
    with pytest.raises(PgpSelfTestError, match="decompressed data"):
        _seal(ours, bank, LINE * 50, "zip")


def test_catches_a_signature_by_another_key(monkeypatch, ours, bank):
    stranger = generate_key("Mallory", "m@evil.test")
    real = pgp._signature
    monkeypatch.setattr(pgp, "_signature", lambda signer, data: real(stranger, data))
    with pytest.raises(PgpSelfTestError, match="another key"):
        _seal(ours, bank, LINE * 50)


def test_catches_a_key_that_is_not_a_recipient(ours, bank):
    with pytest.raises(PgpSelfTestError, match="not encrypted to"):
        seal(LINE, signer=ours, recipients=[bank.public], self_test_key=ours, compression="none")


def test_streaming_decryptor_refuses_misuse():
    decryptor = CfbDecryptor(os.urandom(32))
    with pytest.raises(ValueError, match="at most"):
        decryptor.update(bytes(decryptor.piece + 16))
    assert len(decryptor.update(b"abc")) == 3  # a partial block ends the stream
    with pytest.raises(ValueError, match="partial block"):
        decryptor.update(bytes(16))
