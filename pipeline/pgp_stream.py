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

Read here: one-pass signature, literal data and signature packets, in any order, also
inside one ZIP, ZLIB or BZip2 compressed packet (inflated a piece at a time, at most 1 MiB
out per call, against ``max_size``). Anything else (stored or nested compression, a marker)
raises :class:`NeedsGeneralPath` as soon as it is seen and the caller starts over on the
general path; malformed data raises :class:`PacketFormatError`, but only once the rest has
been decrypted and the modification code found good: an altered file is reported as
tampered, whatever it breaks.

Public: :func:`read_encrypted`, :class:`Streamed`, :class:`LiteralSink`,
:class:`NeedsGeneralPath`.
"""

from __future__ import annotations

import bz2
import hashlib
import hmac
import io
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.pgp_cfb import CfbDecryptor
from pipeline.pgp_packets import TAG_COMPRESSED, TAG_LITERAL, PacketFormatError, Pieces
from pipeline.transport_errors import PgpTamperedError

__all__ = ["LiteralSink", "NeedsGeneralPath", "Streamed", "read_encrypted"]

TAG_PKESK, TAG_SIGNATURE, TAG_SKESK, TAG_ONE_PASS = 1, 2, 3, 4
TAG_SED, TAG_SEIPD, TAG_AEAD = 9, 18, 20
_NESTED = frozenset({TAG_PKESK, TAG_SKESK, TAG_SED, TAG_SEIPD, TAG_AEAD})
_SMALL_BODY = 1 << 16  # one-pass and signature packets are read whole; bound them
_PREFIX = 18  # AES block of random bytes + the two quick-check bytes
_MDC = 22  # d3 14 + SHA-1
_INPUT = 1 << 16  # compressed bytes per inflate call: zlib copies what it leaves unconsumed
_OUTPUT = 1 << 20  # inflated bytes per call at most


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


class _Source:
    """A stream pulled forward in pieces (``_fill``): small reads copy, large ones pass views
    of the current piece, which stay valid until the next piece is fetched."""

    def __init__(self) -> None:
        self._piece = memoryview(b"")
        self._start = 0  # offset in the piece of the next byte to read
        self.pos = 0  # stream offset of the next byte to read
        self.before_advance: Callable[[], None] | None = None

    def _fill(self) -> memoryview | None:
        """The next non-empty piece, or None at the end."""
        raise NotImplementedError

    def _next(self) -> bool:
        if self.before_advance is not None:  # views of the piece are about to go stale
            self.before_advance()
        piece = self._fill()
        self._piece, self._start = (piece, 0) if piece is not None else (memoryview(b""), 0)
        return piece is not None

    def at_end(self) -> bool:
        return self._start == len(self._piece) and not self._next()

    def view(self, size: int) -> memoryview:
        """Up to ``size`` bytes (at least one), consumed."""
        if self._start == len(self._piece) and not self._next():
            raise PacketFormatError(f"offset {self.pos}: a packet runs past the end of the data")
        view = self._piece[self._start : self._start + size]
        self._start += len(view)
        self.pos += len(view)
        return view

    def read(self, size: int) -> bytes:
        first = self.view(size) if size else memoryview(b"")
        if len(first) == size:
            return bytes(first)
        pieces = [bytes(first)]
        size -= len(first)
        while size:
            view = self.view(size)
            pieces.append(bytes(view))
            size -= len(view)
        return b"".join(pieces)

    def byte(self) -> int:
        """One byte (a length octet: once per partial chunk, 12,000 times per 100 MB)."""
        if self._start == len(self._piece) and not self._next():
            raise PacketFormatError(f"offset {self.pos}: a packet runs past the end of the data")
        self._start += 1
        self.pos += 1
        return self._piece[self._start - 1]


class _Decrypted(_Source):
    """The decrypted stream up to the modification-detection packet, which is kept aside;
    every piece feeds the modification code's SHA-1 as it is decrypted."""

    def __init__(self, parts: Sequence[memoryview], session_key: bytes) -> None:
        super().__init__()
        self._cipher = Pieces(parts)
        self.total = sum(len(p) for p in parts)
        self.end = self.total - _MDC  # where the packets stop and the MDC packet starts
        self._decryptor = CfbDecryptor(session_key)
        self._buf = bytearray(self._decryptor.piece + 16)
        self._done = 0  # bytes decrypted so far
        self._mdc = hashlib.sha1()
        self._trailer = bytearray()

    def _fill(self) -> memoryview | None:
        while self._done < self.total:
            at = self._done
            count = min(self._decryptor.piece, self.total - at)
            self._decryptor.update_into(self._cipher.take(count), memoryview(self._buf))
            self._done += count
            piece = memoryview(self._buf)[:count]
            hashed = min(count, self.total - 20 - at)  # the code covers all but itself
            if hashed > 0:
                self._mdc.update(piece[:hashed])
            served = min(count, self.end - at)
            if served < count:
                self._trailer += piece[max(served, 0) :]
            if served > 0:
                return piece[:served]
        return None

    def finish(self) -> None:
        """Decrypt whatever is left, then check the modification detection code."""
        while self._fill() is not None:
            pass
        trailer = bytes(self._trailer)
        if trailer[:2] != b"\xd3\x14" or not hmac.compare_digest(self._mdc.digest(), trailer[2:]):
            raise PgpTamperedError("modification detection code mismatch: the file was altered")


class _Inflated(_Source):
    """A compressed packet's contents, inflated at most one piece at a time from its body."""

    def __init__(self, body: _Body, algo: int, limit: int) -> None:
        super().__init__()
        if algo in (1, 2):
            self._zlib: Any = zlib.decompressobj(-15 if algo == 1 else 15)
            self._bz2: Any = None
        elif algo == 3:
            self._zlib, self._bz2 = None, bz2.BZ2Decompressor()
        else:  # 0 (stored) or unknown: the general path says which
            raise NeedsGeneralPath(f"compression algorithm {algo}")
        self._body, self._limit, self._size = body, limit, 0
        self._tail: bytes = b""  # zlib's unconsumed input (a copy: the body's views go stale)
        self._finished = False

    def _inflate(self) -> bytes:
        if self._zlib is not None:
            data = self._tail or self._body.next_view(_INPUT)
            if data is None:
                self._finished = True
                return self._zlib.flush()
            out = self._zlib.decompress(data, _OUTPUT)
            self._tail = self._zlib.unconsumed_tail
            return out
        if self._bz2.eof:
            self._finished = self._body.next_view(_INPUT) is None  # trailing data: ignored
            return b""
        if not self._bz2.needs_input:
            return self._bz2.decompress(b"", _OUTPUT)
        data = self._body.next_view(_INPUT)
        if data is None:
            self._finished = True
            return b""
        return self._bz2.decompress(data, _OUTPUT)

    def _fill(self) -> memoryview | None:
        while not self._finished:
            try:
                out = self._inflate()
            except (zlib.error, OSError, EOFError) as exc:
                raise PacketFormatError(f"compressed data is corrupt: {exc}") from exc
            if out:
                self._size += len(out)
                if self._size > self._limit:
                    raise PacketFormatError(
                        f"decompressed data exceeds the {self._limit}-byte limit"
                    )
                return memoryview(out)
        return None


class _Body:
    """One packet's body, over partial-length chunks when the sender streamed it; a length
    of -1 is old-format "indeterminate": to the end of the source."""

    def __init__(self, source: _Source, length: int, partial: bool) -> None:
        self._source, self._left, self._partial = source, length, partial
        self.size = 0

    def _more(self) -> bool:
        """Whether body bytes follow (reads the next chunk's length when one is due)."""
        while not self._left:
            if not self._partial:
                return False
            self._left, self._partial = _new_length(self._source)
        return self._left > 0 or not self._source.at_end()

    def next_view(self, size: int) -> memoryview | None:
        if not self._more():
            return None
        view = self._source.view(size if self._left < 0 else min(size, self._left))
        if self._left > 0:
            self._left -= len(view)
        self.size += len(view)
        return view

    def read(self, size: int) -> bytes:
        pieces = []
        while size:
            view = self.next_view(size)
            if view is None:
                raise PacketFormatError(f"offset {self._source.pos}: truncated packet")
            pieces.append(bytes(view))
            size -= len(view)
        return b"".join(pieces)

    def drain(self, consume: Callable[[list[memoryview]], object], limit: int) -> None:
        """Pass the rest of the body to ``consume``, one call per piece of the source with
        the list of views it holds (gpg's 8 KiB chunks: 128 views of one piece, no copy);
        the views go stale when the call returns, and the list is reused."""
        batch: list[memoryview] = []

        def flush() -> None:
            if batch:
                consume(batch)
                batch.clear()

        self._source.before_advance = flush
        try:
            while True:
                if self._partial:
                    self._chunks_in_piece(batch)
                view = self.next_view(1 << 30)
                if view is None:
                    break
                batch.append(view)
                if self.size > limit:
                    raise PacketFormatError(f"a packet exceeds the {limit}-byte limit")
            if self.size > limit:
                raise PacketFormatError(f"a packet exceeds the {limit}-byte limit")
        finally:
            flush()
            self._source.before_advance = None

    def _chunks_in_piece(self, batch: list[memoryview]) -> None:
        """Take every partial chunk that lies wholly in the source's current piece, in one
        loop (12,000 chunks per 100 MB from gpg: the general per-chunk calls cost ~0.05 s).
        Stops before anything else: a chunk crossing the piece, or the final length."""
        source = self._source
        piece, start = source._piece, source._start
        end, left, taken = len(piece), self._left, 0
        while True:
            if not left:  # the next length octet: go on only if it starts another chunk
                if start >= end or not 224 <= piece[start] < 255:
                    break
                left = 1 << (piece[start] & 0x1F)
                start += 1
            if left > end - start:
                break
            batch.append(piece[start : start + left])
            start += left
            taken += left
            left = 0
        source.pos += start - source._start
        source._start = start
        self.size += taken
        self._left = left


def _new_length(source: _Source) -> tuple[int, bool]:
    """A new-format body length (RFC 4880 §4.2.2): (length, is a partial chunk)."""
    o1 = source.byte()
    if o1 < 192:
        return o1, False
    if o1 < 224:
        return ((o1 - 192) << 8) + source.byte() + 192, False
    if o1 == 255:
        return int.from_bytes(source.read(4), "big"), False
    return 1 << (o1 & 0x1F), True


def _packet(source: _Source) -> tuple[int, _Body]:
    start = source.pos
    first = source.byte()
    if not first & 0x80:
        raise PacketFormatError(f"offset {start}: byte 0x{first:02x} does not start a packet")
    if first & 0x40:
        tag = first & 0x3F
        length, partial = _new_length(source)
        return tag, _Body(source, length, partial)
    tag, ltype = (first >> 2) & 0x0F, first & 0x03
    if ltype == 3:  # indeterminate: to the end of the data
        return tag, _Body(source, -1, False)
    length = int.from_bytes(source.read((1, 2, 4)[ltype]), "big")
    return tag, _Body(source, length, False)


class LiteralSink(Protocol):
    """Where the literal data goes instead of memory (:func:`pipeline.pgp.unseal_file`):
    it receives unverified bytes, so it must be private until the caller has verified."""

    def write_views(self, views: Sequence[memoryview]) -> None:
        """Append ``views`` in order (they go stale after the call)."""

    def reset(self) -> None:
        """Forget everything written (the general path starts over)."""


def _joined(views: list[memoryview]) -> memoryview | bytes:
    return views[0] if len(views) == 1 else b"".join(views)


def _collect(sink: io.BytesIO, digest: Any) -> Callable[[list[memoryview]], None]:
    """Literal data into memory: one join per piece (one C call for each of the buffer and
    the hash instead of 128 for gpg's chunks)."""

    def consume(views: list[memoryview]) -> None:
        data = _joined(views)
        sink.write(data)
        digest.update(data)

    return consume


def _forward(sink: LiteralSink, digest: Any) -> Callable[[list[memoryview]], None]:
    """Literal data to a :class:`LiteralSink`, hashed chunk by chunk: no copy at all."""

    def consume(views: list[memoryview]) -> None:
        for view in views:
            digest.update(view)
        sink.write_views(views)

    return consume


@dataclass
class _Found:
    literal: Streamed | None = None
    signatures: list[memoryview] = field(default_factory=list)
    sink: LiteralSink | None = None


def _read_packets(source: _Source, max_size: int, found: _Found, *, depth: int = 0) -> None:
    while not source.at_end():
        tag, body = _packet(source)
        if tag == TAG_LITERAL:
            if found.literal is not None:
                raise PacketFormatError("more than one literal data packet")
            head = body.read(2)
            name = body.read(head[1])
            body.read(4)  # the date
            memory, digest = io.BytesIO(), hashlib.sha256()
            sink = found.sink
            body.drain(
                _collect(memory, digest) if sink is None else _forward(sink, digest), max_size
            )
            found.literal = Streamed(
                contents=memory.getvalue(),  # the BytesIO's own buffer (no copy), or empty
                sha256=digest,
                filename=name.decode("utf-8", "replace"),
                format=chr(head[0]),
                signatures=found.signatures,  # the same list: later signatures join it
            )
        elif tag in (TAG_SIGNATURE, TAG_ONE_PASS):
            whole, ignored = io.BytesIO(), hashlib.sha256()
            body.drain(_collect(whole, ignored), _SMALL_BODY)
            if tag == TAG_SIGNATURE:
                found.signatures.append(memoryview(whole.getvalue()))
        elif tag == TAG_COMPRESSED and depth == 0:
            _read_packets(_Inflated(body, body.read(1)[0], max_size), max_size, found, depth=1)
            while body.next_view(_INPUT) is not None:  # whatever follows the compressed end
                pass
        elif tag in _NESTED:
            raise PacketFormatError("nested encryption is not accepted")
        else:
            raise NeedsGeneralPath(f"packet tag {tag}")


def read_encrypted(
    parts: Sequence[memoryview],
    session_key: bytes,
    *,
    max_size: int,
    sink: LiteralSink | None = None,
) -> Streamed:
    """Decrypt a SEIPD v1 body (``parts``: its chunks, the version byte already removed)
    and read the packets inside; the literal data goes to ``sink`` when one is given
    (``contents`` is then empty), else into memory. Raises :class:`PgpTamperedError` when
    the data was altered, :class:`PacketFormatError` when it is malformed,
    :class:`NeedsGeneralPath` when the shape needs :mod:`pipeline.pgp_open`'s general path."""
    plain = _Decrypted(parts, session_key)
    if plain.total < _PREFIX + _MDC:
        raise PgpTamperedError("encrypted data is too short")
    prefix = plain.read(_PREFIX)
    if prefix[14:16] != prefix[16:18]:
        raise PgpTamperedError("wrong session key or corrupted data (quick check failed)")
    found = _Found(sink=sink)
    try:
        _read_packets(plain, max_size, found)
    except PacketFormatError:
        plain.finish()  # altered data breaks the framing too: report it as tampering
        raise
    plain.finish()
    if found.literal is None:
        raise PacketFormatError("no literal data packet: not a message")
    return found.literal
