"""The one-pass decrypt-and-parse path against the general path, on every packet shape it
accepts, with pieces small enough that headers and partial chunks straddle them."""

from __future__ import annotations

import bz2
import hashlib
import os
import zlib

import pytest
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import pgp_cfb, pgp_stream
from pipeline.pgp_open import _decrypt_seipd, _open_seipd, _read_packets
from pipeline.pgp_packets import PacketFormatError, flatten_plaintext, new_format_header
from pipeline.pgp_stream import NeedsGeneralPath, read_encrypted
from pipeline.pgpy_compat import SymmetricKeyAlgorithm
from pipeline.transport_errors import PgpTamperedError

KEY = bytes(range(32))
AES256 = SymmetricKeyAlgorithm.AES256
TAG_SIG, TAG_ONE_PASS, TAG_COMPRESSED, TAG_LITERAL, TAG_SEIPD = 2, 4, 8, 11, 18


def encrypt(stream: bytes, *, key: bytes = KEY) -> bytes:
    """SEIPD v1 body without the version byte: CFB(prefix + stream + MDC packet)."""
    prefix = os.urandom(16)
    prefix += prefix[-2:]
    plain = prefix + stream + b"\xd3\x14"
    plain += hashlib.sha1(plain).digest()
    engine = Cipher(algorithms.AES(key), CFB(bytes(16))).encryptor()
    return engine.update(plain) + engine.finalize()


def packet(tag: int, body: bytes, power: int | None = None) -> bytes:
    """A new-format packet, in partial chunks of 2**power bytes when ``power`` is given."""
    if power is None:
        return new_format_header(tag, len(body)) + body
    out = bytearray([0xC0 | tag])
    size = 1 << power
    while len(body) > size:
        out += bytes([224 + power]) + body[:size]
        body = body[size:]
    return bytes(out + new_format_header(tag, len(body))[1:] + body)


def literal(data: bytes, name: bytes = b"f.ach") -> bytes:
    return b"b" + bytes([len(name)]) + name + b"\x00\x00\x00\x01" + data


def compressed(stream: bytes, algo: int, framing: str) -> bytes:
    if algo == 3:
        packed = bz2.compress(stream)
    else:
        engine = zlib.compressobj(6, zlib.DEFLATED, -15 if algo == 1 else 15)
        packed = engine.compress(stream) + engine.flush()
    body = bytes([algo]) + packed
    if framing == "indeterminate":  # what gpg writes
        return bytes([0x80 | (TAG_COMPRESSED << 2) | 3]) + body
    return packet(TAG_COMPRESSED, body, 3 if framing == "partial" else None)


def general(body: bytes):
    plain = _decrypt_seipd((memoryview(b"\x01" + body),), KEY)
    return _read_packets(flatten_plaintext(plain, strip_mdc=True, join_partials=False))


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    monkeypatch.setattr(pgp_cfb, "_PIECE", 48)
    monkeypatch.setattr(pgp_stream, "_INPUT", 5)
    monkeypatch.setattr(pgp_stream, "_OUTPUT", 33)


@settings(max_examples=80, deadline=None)
@given(
    data=st.binary(max_size=400),
    power=st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
    sig_power=st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    sig_first=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=3),
    compression=st.sampled_from([None, 1, 2, 3]),
    framing=st.sampled_from(["definite", "partial", "indeterminate"]),
)
def test_matches_the_general_path(data, power, sig_power, sig_first, cuts, compression, framing):
    sig = packet(TAG_SIG, b"\x04signature-bytes", sig_power)
    onepass = packet(TAG_ONE_PASS, b"\x03\x00\x08\x16" + bytes(8) + b"\x01")
    lit = packet(TAG_LITERAL, literal(data), power)
    stream = onepass + (sig + lit if sig_first else lit + sig)
    if compression is not None:
        stream = compressed(stream, compression, framing)
    body = encrypt(stream)
    points = sorted({min(c, len(body)) for c in cuts})
    parts = [memoryview(body)[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    got = read_encrypted(parts, KEY, max_size=1 << 20)
    want, want_sigs, _ = general(body)
    assert got.contents == bytes(want.contents) == data
    assert got.sha256.digest() == hashlib.sha256(data).digest()
    assert (got.filename, got.format) == (want.filename, want.format) == ("f.ach", "b")
    assert [bytes(s) for s in got.signatures] == [bytes(s) for s in want_sigs]


def test_old_format_indeterminate_literal():
    stream = bytes([0x80 | (TAG_LITERAL << 2) | 3]) + literal(b"x" * 100)
    assert read_encrypted([memoryview(encrypt(stream))], KEY, max_size=1000).contents == b"x" * 100


@pytest.mark.parametrize("where", [0, 17, 20, 40, 70, -30, -1])
@pytest.mark.parametrize("attempt", range(5))
def test_altered_bytes_are_tampering_even_when_framing_breaks(where, attempt):
    body = bytearray(encrypt(packet(TAG_LITERAL, literal(os.urandom(100)), 4)))
    body[where] ^= 0x40
    with pytest.raises(PgpTamperedError):  # an odd packet tag may send it the general way
        _open_seipd((memoryview(b"\x01" + body),), AES256, KEY, max_size=1000)


@pytest.mark.parametrize(
    "stream",
    [
        packet(TAG_COMPRESSED, b"\x00" + packet(TAG_LITERAL, literal(b"abc"))),  # stored
        compressed(compressed(packet(TAG_LITERAL, literal(b"abc")), 1, "definite"), 2, "definite"),
        packet(10, b"PGP") + packet(TAG_LITERAL, literal(b"abc")),  # a marker packet
    ],
)
def test_unusual_shapes_take_the_general_path(stream):
    with pytest.raises(NeedsGeneralPath):
        read_encrypted([memoryview(encrypt(stream))], KEY, max_size=1000)
    opened = _open_seipd((memoryview(b"\x01" + encrypt(stream)),), AES256, KEY, max_size=1000)
    assert bytes(opened[0].contents) == b"abc"


def test_decompressed_size_is_limited():
    stream = compressed(packet(TAG_LITERAL, literal(bytes(5000))), 1, "indeterminate")
    with pytest.raises(PacketFormatError, match="limit"):
        read_encrypted([memoryview(encrypt(stream))], KEY, max_size=1000)


def test_corrupt_compressed_data_is_a_format_error():
    stream = bytes([0x80 | (TAG_COMPRESSED << 2) | 3, 2]) + b"not zlib at all"
    with pytest.raises(PacketFormatError, match="corrupt"):
        read_encrypted([memoryview(encrypt(stream))], KEY, max_size=1000)


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (packet(TAG_LITERAL, literal(b"a")) * 2, "more than one literal"),
        (packet(TAG_SIG, b"sig"), "no literal data"),
        (packet(TAG_SEIPD, b"\x01" + bytes(40)), "nested encryption"),
        (packet(TAG_LITERAL, literal(b"a" * 300)), "limit"),
        (packet(TAG_LITERAL, literal(b"a"))[:-1], "past the end"),
        (b"\x05" + packet(TAG_LITERAL, literal(b"a")), "does not start a packet"),
    ],
)
def test_malformed_streams_are_format_errors(stream, message):
    with pytest.raises(PacketFormatError, match=message):
        read_encrypted([memoryview(encrypt(stream))], KEY, max_size=200)


def test_wrong_key_fails_the_quick_check():
    body = encrypt(packet(TAG_LITERAL, literal(b"abc")))
    with pytest.raises(PgpTamperedError, match="quick check"):
        read_encrypted([memoryview(body)], bytes(32), max_size=1000)
