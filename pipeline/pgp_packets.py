"""Rewrite OpenPGP packet streams into a shape pgpy parses in linear time.

Why: gpg streams its output, so the encrypted-data packet and, inside it, the compressed and
literal packets carry *partial body lengths* (RFC 4880 §4.2.2.4: a chain of power-of-two
chunks) or old-format *indeterminate* lengths. pgpy 0.6.0 joins the chunks with
``del buf[total:total + size]`` on one big bytearray: every chunk moves the rest of the
message, which made a 100 MB gpg file take 24 s. :func:`normalize` walks the packets once and
re-emits each with one definite new-format length (chunks joined with a single
``b"".join``). :func:`flatten_plaintext` does the same for the decrypted stream and also
replaces compressed-data packets by their (normalised) contents, so the decompressed data is
never copied byte-range by byte-range either. Signatures cover the literal data, not packet
framing, so rewriting headers never changes what a signature verifies.

Limits guard against hostile input: total decompressed size (``max_size``) and nesting depth.
"""

from __future__ import annotations

import bz2
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

__all__ = [
    "TAG_COMPRESSED",
    "TAG_LITERAL",
    "TAG_MDC",
    "TAG_SEIPD",
    "PacketFormatError",
    "Pieces",
    "RawPacket",
    "flatten_plaintext",
    "iter_packets",
    "new_format_header",
    "normalize",
]

TAG_PKESK = 1
TAG_SIGNATURE = 2
TAG_SKESK = 3
TAG_ONE_PASS = 4
TAG_COMPRESSED = 8
TAG_SED = 9
TAG_MARKER = 10
TAG_LITERAL = 11
TAG_SEIPD = 18
TAG_MDC = 19
TAG_AEAD = 20

DEFAULT_MAX_SIZE = 8 << 30  # 8 GiB of decompressed data
MAX_DEPTH = 4
_MDC_LEN = 22  # d3 14 + SHA-1


class PacketFormatError(ValueError):
    """The bytes are not a well-formed OpenPGP packet sequence (or exceed a safety limit)."""


@dataclass(frozen=True)
class RawPacket:
    """One packet: tag, body parts (several for partial lengths), whether its length was
    rewritten, and the original header. ``body`` joins the parts on first use only, so a
    consumer that can stream (decryption) never pays for the copy."""

    tag: int
    parts: tuple[memoryview, ...]
    rewritten: bool
    header: memoryview  # the original header when not rewritten

    @cached_property
    def body(self) -> memoryview:
        if len(self.parts) == 1:
            return self.parts[0]
        return memoryview(b"".join(self.parts))

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.parts)

    def encode(self) -> bytes | memoryview:
        return self.header if not self.rewritten else new_format_header(self.tag, self.size)


class Pieces:
    """Buffers read as one stream, in pieces of any size: views, joined only across parts
    (decryption and comparison in fixed-size pieces over gpg's 8 KiB partial chunks)."""

    def __init__(self, parts: Sequence[bytes | bytearray | memoryview]) -> None:
        self._parts = [memoryview(p).cast("B") for p in parts if len(p)]
        self._index = 0
        self._offset = 0

    def take(self, size: int) -> bytes | memoryview:
        """The next ``size`` bytes (fewer at the end): a view inside one part, else a copy."""
        pieces: list[memoryview] = []
        while size and self._index < len(self._parts):
            part = self._parts[self._index]
            chunk = part[self._offset : self._offset + size]
            pieces.append(chunk)
            size -= len(chunk)
            self._offset += len(chunk)
            if self._offset == len(part):
                self._index, self._offset = self._index + 1, 0
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    @property
    def exhausted(self) -> bool:
        return self._index >= len(self._parts)


def new_format_header(tag: int, length: int) -> bytes:
    """A new-format packet header with a definite length (RFC 4880 §4.2.2)."""
    if length < 192:
        return bytes((0xC0 | tag, length))
    if length < 8384:
        v = length - 192
        return bytes((0xC0 | tag, (v >> 8) + 192, v & 0xFF))
    if length > 0xFFFFFFFF:
        raise PacketFormatError(f"packet of {length} bytes is too large for OpenPGP")
    return bytes((0xC0 | tag, 0xFF)) + length.to_bytes(4, "big")


def _need(view: memoryview, pos: int, count: int) -> None:
    if pos + count > len(view):
        raise PacketFormatError(f"truncated packet header at offset {pos}")


def iter_packets(data: bytes | bytearray | memoryview) -> Iterator[RawPacket]:
    """Yield each packet of ``data`` with its body; partial/indeterminate lengths are joined."""
    view = memoryview(data).cast("B")
    pos = 0
    size = len(view)
    while pos < size:
        start = pos
        first = view[pos]
        if not first & 0x80:
            raise PacketFormatError(f"offset {pos}: byte 0x{first:02x} does not start a packet")
        pos += 1
        if first & 0x40:  # new format
            tag = first & 0x3F
            chunks: list[memoryview] = []
            while True:  # once per partial chunk (12,000 for 100 MB from gpg): kept lean
                if pos >= size:
                    raise PacketFormatError(f"truncated packet header at offset {pos}")
                o1 = view[pos]
                if o1 < 192:
                    length, pos = o1, pos + 1
                elif o1 < 224:
                    _need(view, pos, 2)
                    length, pos = ((o1 - 192) << 8) + view[pos + 1] + 192, pos + 2
                elif o1 == 255:
                    _need(view, pos, 5)
                    length, pos = int.from_bytes(view[pos + 1 : pos + 5], "big"), pos + 5
                else:  # partial body length: a chunk of 2**k bytes, then another length
                    length = 1 << (o1 & 0x1F)
                    pos += 1
                    if pos + length > size:
                        raise PacketFormatError(f"offset {pos}: partial chunk runs past the end")
                    chunks.append(view[pos : pos + length])
                    pos += length
                    continue
                if pos + length > size:
                    raise PacketFormatError(
                        f"offset {start}: packet (tag {tag}) of {length} bytes runs past the end"
                    )
                last = view[pos : pos + length]
                pos += length
                break
            if chunks:
                chunks.append(last)
                yield RawPacket(tag, tuple(chunks), True, view[start:start])
            else:
                yield RawPacket(tag, (last,), False, view[start : pos - length])
        else:  # old format
            tag = (first >> 2) & 0x0F
            ltype = first & 0x03
            if ltype == 3:  # indeterminate: to the end of the data
                body = view[pos:]
                pos = size
                yield RawPacket(tag, (body,), True, view[start:start])
                continue
            width = (1, 2, 4)[ltype]
            _need(view, pos, width)
            length = int.from_bytes(view[pos : pos + width], "big")
            pos += width
            if pos + length > size:
                raise PacketFormatError(
                    f"offset {start}: packet (tag {tag}) of {length} bytes runs past the end"
                )
            yield RawPacket(tag, (view[pos : pos + length],), False, view[start:pos])
            pos += length


def normalize(data: bytes | bytearray | memoryview) -> bytes:
    """Re-emit ``data`` with every packet length definite (a copy of ``data`` if none needed)."""
    packets = list(iter_packets(data))
    if not any(p.rewritten for p in packets):
        return bytes(data)
    out: list[bytes | memoryview] = []
    for packet in packets:
        out.append(packet.encode())
        out.extend(packet.parts)
    return b"".join(out)


def _decompress(body: memoryview, *, budget: int) -> bytes:
    """Decompress a compressed-data packet body, refusing more than ``budget`` bytes."""
    if not len(body):
        raise PacketFormatError("empty compressed-data packet")
    algo = body[0]
    payload = body[1:]
    if algo == 0:
        return bytes(payload)
    if algo in (1, 2):
        engine = zlib.decompressobj(-15 if algo == 1 else 15)
        try:
            out = engine.decompress(payload, budget + 1)
        except zlib.error as exc:
            raise PacketFormatError(f"compressed data is corrupt: {exc}") from exc
    elif algo == 3:
        bz = bz2.BZ2Decompressor()
        try:
            out = bz.decompress(payload, budget + 1)
        except (OSError, EOFError) as exc:
            raise PacketFormatError(f"compressed data is corrupt: {exc}") from exc
    else:
        raise PacketFormatError(f"unknown compression algorithm {algo}")
    if len(out) > budget:
        raise PacketFormatError(f"decompressed data exceeds the {budget}-byte limit")
    return out


def flatten_plaintext(
    data: bytes | bytearray | memoryview,
    *,
    strip_mdc: bool = False,
    max_size: int = DEFAULT_MAX_SIZE,
    join_partials: bool = True,
    _depth: int = 0,
) -> bytes | memoryview:
    """Normalise a decrypted packet stream and inline compressed packets' contents.

    ``strip_mdc`` drops the trailing 22-byte modification-detection packet first (it has been
    checked by the decryption; gpg's indeterminate-length inner packet would otherwise swallow
    it). Returns a stream of one-pass-signature / literal / signature packets.
    ``join_partials=False`` leaves a stream without compressed packets as it is (partial
    lengths included) for a caller that reads it with :func:`iter_packets` and joins the
    literal data itself: one copy of a 100 MB payload less.
    """
    view = memoryview(data).cast("B")
    if strip_mdc:
        if len(view) < _MDC_LEN or bytes(view[-_MDC_LEN:-20]) != b"\xd3\x14":
            raise PacketFormatError("decrypted data does not end with a modification code")
        view = view[:-_MDC_LEN]
    if _depth > MAX_DEPTH:
        raise PacketFormatError("compressed packets nested too deeply")
    packets = list(iter_packets(view))
    if not any(
        (p.rewritten and join_partials) or p.tag in (TAG_COMPRESSED, TAG_MARKER) for p in packets
    ):
        return view  # already flat (or the caller reads partial lengths): no copy
    out: list[bytes | memoryview] = []
    for packet in packets:
        if packet.tag == TAG_COMPRESSED:
            inner = _decompress(packet.body, budget=max_size)
            out.append(
                flatten_plaintext(
                    inner, max_size=max_size, join_partials=join_partials, _depth=_depth + 1
                )
            )
            continue
        if packet.tag == TAG_MARKER:
            continue
        out.append(packet.encode())
        out.extend(packet.parts)
    if len(out) == 1:  # the usual shape, one compressed packet: its contents, not a copy
        return out[0]
    return b"".join(out)
