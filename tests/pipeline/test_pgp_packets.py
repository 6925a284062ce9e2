"""Packet normalisation: partial and indeterminate lengths become one definite length."""

from __future__ import annotations

import zlib

import pytest

from pipeline.pgp_packets import (
    TAG_LITERAL,
    PacketFormatError,
    flatten_plaintext,
    iter_packets,
    new_format_header,
    normalize,
)


def literal_body(content: bytes) -> bytes:
    return b"b\x00\x00\x00\x00\x00" + content


def partial_packet(tag: int, body: bytes, chunk_power: int = 9) -> bytes:
    """A new-format packet split into 2**chunk_power partial chunks plus a final chunk."""
    out = bytearray([0xC0 | tag])
    size = 1 << chunk_power
    pos = 0
    while len(body) - pos > size:
        out.append(224 + chunk_power)
        out += body[pos : pos + size]
        pos += size
    out += new_format_header(tag, len(body) - pos)[1:]
    out += body[pos:]
    return bytes(out)


@pytest.mark.parametrize("length", [0, 1, 191, 192, 8383, 8384, 100_000])
def test_new_format_header_lengths(length):
    body = b"x" * length
    packets = list(iter_packets(new_format_header(TAG_LITERAL, length) + body))
    assert len(packets) == 1 and bytes(packets[0].body) == body


def test_partial_lengths_are_joined():
    body = literal_body(bytes(range(256)) * 40)
    streamed = partial_packet(TAG_LITERAL, body)
    packets = list(iter_packets(streamed))
    assert [p.tag for p in packets] == [TAG_LITERAL]
    assert bytes(packets[0].body) == body and packets[0].rewritten
    assert normalize(streamed) == new_format_header(TAG_LITERAL, len(body)) + body


def test_old_format_indeterminate_runs_to_the_end():
    body = literal_body(b"abc" * 1000)
    old = bytes([0x80 | (TAG_LITERAL << 2) | 3]) + body
    assert normalize(old) == new_format_header(TAG_LITERAL, len(body)) + body


def test_old_format_definite_is_kept_verbatim():
    body = literal_body(b"abc")
    old = bytes([0x80 | (TAG_LITERAL << 2) | 0, len(body)]) + body
    assert normalize(old) == old


def test_compressed_packets_are_inlined():
    inner = new_format_header(TAG_LITERAL, 9) + literal_body(b"abc")
    engine = zlib.compressobj(6, zlib.DEFLATED, -15)
    compressed = b"\x01" + engine.compress(inner) + engine.flush()
    stream = partial_packet(8, compressed, chunk_power=4)
    assert flatten_plaintext(stream) == inner


def test_decompression_bomb_is_refused():
    inner = new_format_header(TAG_LITERAL, 1_000_006) + literal_body(bytes(1_000_000))
    compressed = b"\x02" + zlib.compress(inner)
    stream = new_format_header(8, len(compressed)) + compressed
    with pytest.raises(PacketFormatError, match="limit"):
        flatten_plaintext(stream, max_size=100_000)


@pytest.mark.parametrize(
    "data",
    [
        b"\x31\x30\x31",  # '101': plain text, not a packet
        bytes([0xC0 | TAG_LITERAL, 50]) + b"short",
        bytes([0xC0 | TAG_LITERAL, 0xFF, 0, 0]),
        bytes([0xC0 | TAG_LITERAL, 224 + 10]) + b"x" * 10,
    ],
)
def test_malformed_streams_raise(data):
    with pytest.raises(PacketFormatError):
        list(iter_packets(data))


def test_strip_mdc_requires_the_mdc_packet():
    with pytest.raises(PacketFormatError):
        flatten_plaintext(b"\xcb\x03b\x00\x00", strip_mdc=True)
