"""The copy- and pass-saving paths of unseal: partial-length literals, shared SHA-256."""

from __future__ import annotations

import hashlib
import zlib

import pytest

from pipeline.keys import generate_key
from pipeline.pgp_open import _read_packets
from pipeline.pgp_packets import TAG_COMPRESSED, TAG_LITERAL, flatten_plaintext, iter_packets
from pipeline.pgp_sig import sign_binary, verify_binary
from tests.pipeline.test_pgp_packets import partial_packet


def literal(content: bytes, name: bytes = b"r.ach") -> bytes:
    return b"b" + bytes([len(name)]) + name + b"\x00\x00\x00\x00" + content


@pytest.mark.parametrize("chunk_power", [0, 2, 9])
def test_partial_literal_is_read_without_flattening(chunk_power):
    """1-byte chunks split the literal header itself; 512-byte chunks are gpg's shape."""
    content = bytes(range(256)) * 9
    stream = partial_packet(TAG_LITERAL, literal(content), chunk_power)
    kept = flatten_plaintext(stream, join_partials=False)
    assert isinstance(kept, memoryview) and bytes(kept) == stream  # no copy, no rewrite
    got, signatures, onepass = _read_packets(kept)
    assert bytes(got.contents) == content
    if chunk_power == 9:  # header inside the first chunk: the chunks are joined once, as bytes
        assert isinstance(got.contents, bytes)
    assert got.filename == "r.ach" and got.format == "b"
    assert signatures == [] and onepass == 0


def test_definite_literal_stays_a_view():
    stream = bytes([0xC0 | TAG_LITERAL, len(literal(b"abc"))]) + literal(b"abc")
    got, _, _ = _read_packets(memoryview(stream))
    assert isinstance(got.contents, memoryview) and bytes(got.contents) == b"abc"


def test_compressed_streams_are_still_inlined_without_join_partials():
    inner = partial_packet(TAG_LITERAL, literal(b"x" * 5000))
    engine = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = b"\x01" + engine.compress(inner) + engine.flush()
    stream = bytes([0xC0 | TAG_COMPRESSED, 0xFF]) + len(body).to_bytes(4, "big") + body
    flat = flatten_plaintext(stream, join_partials=False)
    assert [p.tag for p in iter_packets(flat)] == [TAG_LITERAL]
    assert _read_packets(flat)[0].contents == b"x" * 5000


@pytest.fixture(scope="module")
def signer():
    return generate_key("Sig", "sig@x.test")


def test_verify_reuses_a_matching_hash_and_ignores_another_algorithm(signer):
    data = b"ACH" * 10_000
    with signer.unlocked() as key:
        sig = sign_binary(key, data)
    public = signer.public.key
    algorithm = sig.hash_algorithm.name.lower()
    assert verify_binary(public, sig, data, hashed=hashlib.new(algorithm, data))
    # proof the pass is reused: a hash object that saw other bytes makes it fail
    assert not verify_binary(public, sig, data, hashed=hashlib.new(algorithm, b"other"))
    # a hash of another algorithm is not used (the payload is hashed again)
    other = "sha384" if algorithm != "sha384" else "sha256"
    assert verify_binary(public, sig, data, hashed=hashlib.new(other, b"other"))


def test_a_lone_compressed_packet_yields_its_contents_without_a_copy():
    """gpg's usual shape: one compressed packet whose inner literal streams in partials."""
    inner = partial_packet(TAG_LITERAL, literal(b"y" * 9000))
    engine = zlib.compressobj(6, zlib.DEFLATED, 15)
    body = b"\x02" + engine.compress(inner) + engine.flush()
    stream = bytes([0xC0 | TAG_COMPRESSED, 0xFF]) + len(body).to_bytes(4, "big") + body
    flat = flatten_plaintext(stream, join_partials=False)
    assert bytes(flat) == inner  # the decompressed stream itself, partial lengths kept
    assert _read_packets(flat)[0].contents == b"y" * 9000
    joined = flatten_plaintext(stream)
    assert [p.rewritten for p in iter_packets(joined)] == [False]
