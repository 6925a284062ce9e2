"""Decrypt an integrity-protected data packet and take its contents apart in one pass.

Why: the general path (:mod:`pipeline.pgp_open`) decrypts the whole packet into one buffer,
hashes it for the modification code, parses it, and then the caller copies the literal data
out as ``bytes`` and hashes it again for the signature: two payload-sized buffers (a fresh
100 MB buffer costs ~0.05 s of page faults here) and three passes over the data. Here each
1 MiB piece is decrypted into one scratch buffer (:class:`~pipeline.pgp_cfb.CfbDecryptor`),
fed to the SHA-1 of the modification code, and its literal-data bytes are appended to a
``BytesIO`` (whose ``getvalue()`` hands its buffer over without a copy) and to the SHA-256
the signature and the caller need, while the piece is in cache. The packets may use partial
body lengths (gpg streams that way).

Only the plain shape is read here: one-pass signature, literal data and signature packets,
in any order. Anything else (a compressed packet, a marker) raises :class:`NeedsGeneralPath`
early and the caller starts over on the general path; malformed data raises
:class:`PacketFormatError`, but only once the rest has been decrypted and the modification
code found good: an altered file is reported as tampered, whatever it breaks.

Public: :func:`read_encrypted`, :class:`Streamed`, :class:`NeedsGeneralPath`.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.pgp_cfb import CfbDecryptor
from pipeline.pgp_packets import TAG_LITERAL, PacketFormatError, Pieces
from pipeline.transport_errors import PgpTamperedError

__all__ = ["NeedsGeneralPath", "Streamed", "read_encrypted"]

TAG_PKESK, TAG_SIGNATURE, TAG_SKESK, TAG_ONE_PASS = 1, 2, 3, 4
TAG_SED, TAG_SEIPD, TAG_AEAD = 9, 18, 20
_NESTED = frozenset({TAG_PKESK, TAG_SKESK, TAG_SED, TAG_SEIPD, TAG_AEAD})
_SMALL_BODY = 1 << 16  # one-pass and signature packets are read whole; bound them
_PREFIX = 18  # AES block of random bytes + the two quick-check bytes
_MDC = 22  # d3 14 + SHA-1


class NeedsGeneralPath(Exception):
    """The decrypted stream has a shape this module does not read (e.g. compression)."""


@dataclass(frozen=True)
class Streamed:
    """What the stream held: literal data (``bytes``, no copy) with its SHA-256 object,
    the sender's file name and format byte, and the raw signature packet bodies."""

    contents: bytes
    sha256: Any  # hashlib object fed with exactly ``contents``
    filename: str
    format: str
    signatures: list[memoryview]


class _Decrypted:
    """The decrypted stream, pulled forward: small reads copy, large ones pass views."""

    def __init__(self, parts: Sequence[memoryview], session_key: bytes) -> None:
        self._cipher = Pieces(parts)
        self.total = sum(len(p) for p in parts)
        self.end = self.total - _MDC  # where the packets stop and the MDC packet starts
        self._decryptor = CfbDecryptor(session_key)
        self._buf = bytearray(self._decryptor.piece + 16)
        self._piece = memoryview(self._buf)[:0]
        self._at = 0  # stream offset of self._piece[0]
        self.pos = 0  # stream offset of the next byte to read
        self._mdc = hashlib.sha1()
        self.before_advance: Callable[[], None] | None = None

    def _advance(self) -> None:
        if self.before_advance is not None:  # views of the piece are about to go stale
            self.before_advance()
        self._at += len(self._piece)
        count = min(self._decryptor.piece, self.total - self._at)
        if count <= 0:
            raise PacketFormatError("a packet runs past the end of the encrypted data")
        self._decryptor.update_into(self._cipher.take(count), memoryview(self._buf))
        self._piece = memoryview(self._buf)[:count]
        hashed = min(count, self.total - 20 - self._at)  # the code covers all but itself
        if hashed > 0:
            self._mdc.update(self._piece[:hashed])

    def _view(self, size: int) -> memoryview:
        start = self.pos - self._at
        if start == len(self._piece):
            self._advance()
            start = 0
        view = self._piece[start : start + size]
        self.pos += len(view)
        return view

    def _check_room(self, size: int) -> None:
        if self.pos + size > self.end:
            raise PacketFormatError(f"offset {self.pos}: a packet runs past the end of the data")

    def read(self, size: int) -> bytes:
        self._check_room(size)
        first = self._view(size)
        if len(first) == size:
            return bytes(first)
        pieces = [bytes(first)]
        size -= len(first)
        while size:
            view = self._view(size)
            pieces.append(bytes(view))
            size -= len(view)
        return b"".join(pieces)

    def byte(self) -> int:
        """One byte (a length octet: once per partial chunk, 12,000 times per 100 MB)."""
        if self.pos >= self.end:
            raise PacketFormatError(f"offset {self.pos}: a packet runs past the end of the data")
        start = self.pos - self._at
        if start == len(self._piece):
            self._advance()
            start = 0
        self.pos += 1
        return self._piece[start]

    def stream(self, size: int, consume: Callable[[memoryview], object]) -> None:
        self._check_room(size)
        while size:
            view = self._view(size)
            consume(view)
            size -= len(view)

    def finish(self) -> None:
        """Decrypt whatever is left, then check the modification detection code."""
        while self.pos < self.end:
            self._view(self.end - self.pos)
        trailer = b""
        while len(trailer) < _MDC:
            trailer += bytes(self._view(_MDC - len(trailer)))
        if trailer[:2] != b"\xd3\x14" or not hmac.compare_digest(self._mdc.digest(), trailer[2:]):
            raise PgpTamperedError("modification detection code mismatch: the file was altered")


class _Body:
    """One packet's body, over partial-length chunks when the sender streamed it."""

    def __init__(self, plain: _Decrypted, length: int, partial: bool) -> None:
        self._plain, self._left, self._partial = plain, length, partial
        self.size = 0

    def _next_chunk(self) -> None:
        if not self._partial:
            raise PacketFormatError(f"offset {self._plain.pos}: truncated packet")
        self._left, self._partial = _new_length(self._plain)

    def read(self, size: int) -> bytes:
        pieces = []
        while size:
            if not self._left:
                self._next_chunk()
                continue
            take = min(size, self._left)
            pieces.append(self._plain.read(take))
            self._left -= take
            self.size += take
            size -= take
        return b"".join(pieces)

    def drain(self, consume: Callable[[memoryview | bytes], object], limit: int) -> None:
        """Pass the rest of the body to ``consume``, one call per decrypted piece: gpg's
        8 KiB chunks are gathered first (one join in cache instead of 128 calls each)."""
        batch: list[memoryview] = []

        def flush() -> None:
            if batch:
                consume(batch[0] if len(batch) == 1 else b"".join(batch))
                batch.clear()

        self._plain.before_advance = flush
        try:
            while True:
                if self._left:
                    if self.size + self._left > limit:
                        raise PacketFormatError(f"a packet exceeds the {limit}-byte limit")
                    self._plain.stream(self._left, batch.append)
                    self.size += self._left
                    self._left = 0
                if not self._partial:
                    return
                self._next_chunk()
        finally:
            flush()
            self._plain.before_advance = None


def _new_length(plain: _Decrypted) -> tuple[int, bool]:
    """A new-format body length (RFC 4880 §4.2.2): (length, is a partial chunk)."""
    o1 = plain.byte()
    if o1 < 192:
        return o1, False
    if o1 < 224:
        return ((o1 - 192) << 8) + plain.byte() + 192, False
    if o1 == 255:
        return int.from_bytes(plain.read(4), "big"), False
    return 1 << (o1 & 0x1F), True


def _packet(plain: _Decrypted) -> tuple[int, _Body]:
    start = plain.pos
    first = plain.byte()
    if not first & 0x80:
        raise PacketFormatError(f"offset {start}: byte 0x{first:02x} does not start a packet")
    if first & 0x40:
        tag = first & 0x3F
        length, partial = _new_length(plain)
        return tag, _Body(plain, length, partial)
    tag, ltype = (first >> 2) & 0x0F, first & 0x03
    if ltype == 3:  # indeterminate: to the end of the data
        return tag, _Body(plain, plain.end - plain.pos, False)
    length = int.from_bytes(plain.read((1, 2, 4)[ltype]), "big")
    return tag, _Body(plain, length, False)


def _both(
    first: Callable[[memoryview | bytes], object], second: Callable[[memoryview | bytes], object]
) -> Callable[[memoryview | bytes], None]:
    def consume(view: memoryview | bytes) -> None:
        first(view)
        second(view)

    return consume


def _read_packets(plain: _Decrypted, max_size: int) -> Streamed:
    literal: Streamed | None = None
    signatures: list[memoryview] = []
    while plain.pos < plain.end:
        tag, body = _packet(plain)
        if tag == TAG_LITERAL:
            if literal is not None:
                raise PacketFormatError("more than one literal data packet")
            head = body.read(2)
            name = body.read(head[1])
            body.read(4)  # the date
            sink, digest = io.BytesIO(), hashlib.sha256()

            def consume(
                view: memoryview, write: Any = sink.write, update: Any = digest.update
            ) -> None:
                write(view)
                update(view)

            body.drain(consume, max_size)
            literal = Streamed(
                contents=sink.getvalue(),  # the BytesIO's own buffer: no copy
                sha256=digest,
                filename=name.decode("utf-8", "replace"),
                format=chr(head[0]),
                signatures=signatures,  # the same list: signatures after the data join it
            )
        elif tag in (TAG_SIGNATURE, TAG_ONE_PASS):
            whole = io.BytesIO()
            body.drain(whole.write, _SMALL_BODY)
            if tag == TAG_SIGNATURE:
                signatures.append(memoryview(whole.getvalue()))
        elif tag in _NESTED:
            raise PacketFormatError("nested encryption is not accepted")
        else:
            raise NeedsGeneralPath(f"packet tag {tag}")
    if literal is None:
        raise PacketFormatError("no literal data packet: not a message")
    return literal


def read_encrypted(parts: Sequence[memoryview], session_key: bytes, *, max_size: int) -> Streamed:
    """Decrypt a SEIPD v1 body (``parts``: its chunks, the version byte already removed)
    and read the packets inside; raises :class:`PgpTamperedError` when the data was altered,
    :class:`PacketFormatError` when it is malformed, :class:`NeedsGeneralPath` when the
    shape needs :mod:`pipeline.pgp_open`'s general path."""
    plain = _Decrypted(parts, session_key)
    if plain.total < _PREFIX + _MDC:
        raise PgpTamperedError("encrypted data is too short")
    prefix = plain.read(_PREFIX)
    if prefix[14:16] != prefix[16:18]:
        raise PgpTamperedError("wrong session key or corrupted data (quick check failed)")
    try:
        streamed = _read_packets(plain, max_size)
    except PacketFormatError:
        plain.finish()  # altered data breaks the framing too: report it as tampering
        raise
    plain.finish()
    return streamed
