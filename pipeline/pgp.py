"""Seal outbound files (sign + encrypt) and unseal inbound ones (decrypt + verify), OpenPGP.

Public API (what the nightly run calls)::

    seal(plaintext, *, signer, recipients, self_test_key, armored=False, compression="zip")
        -> bytes                    # one signed-and-encrypted message, already self-tested
    unseal(data, *, key, verify_with, require_signature=True, require_encryption=True)
        -> Unsealed                 # or raises a PgpError subclass: quarantine the file
    unseal_file(source, target, *, key, verify_with, ...)
        -> UnsealedFile             # the same, file to file; no target unless verified

Keys are :class:`pipeline.keys.OpenPgpKey` (see :mod:`pipeline.keys`); :class:`PgpSettings`
loads them from the ``[pgp]`` section.

Why not just pgpy's ``PGPMessage``: it is correct but slow on the sizes we move (a
1,000,000-entry NACHA file is ~95 MB). Profiling showed these hot spots, each handled in one
module: armoring (bit-by-bit CRC-24; :mod:`pipeline.pgp_armor` uses ``anycrc``), gpg's
partial-length packets (quadratic joins; :mod:`pipeline.pgp_packets` normalises them),
compression (pgpy compresses twice, once only to learn the length; done once here),
signature hashing (a copy of the payload and two hash passes; :mod:`pipeline.pgp_sig`
streams one), and RSA key re-validation on every use (:mod:`pipeline.pgpy_compat`). pgpy
still does what needs care — signature packets, session-key encryption, key handling — while
this module frames the packets and runs AES-CFB with the modification detection code
(RFC 4880 §5.13) through ``cryptography`` in one pass; :mod:`pipeline.pgp_open` takes
inbound messages apart.

Memory: the input and the result are held in memory, nothing else payload-sized: seal
encrypts 1 MiB pieces straight into the result's buffer and self-tests it piece by piece
(:mod:`pipeline.pgp_selftest`); unseal decrypts, inflates and parses piece by piece
(:mod:`pipeline.pgp_stream`). A fresh 100 MB buffer costs ~0.05 s of page faults, as much as
a hash pass, so avoiding them is most of what made these fast. :func:`unseal_file` holds
neither: it maps the input (the file must not shrink while it is read: a mapped file that
is truncated underneath raises SIGBUS) and writes the literal data with one ``writev`` per
decrypted piece to a temporary file, renamed only once the modification code and the
signature are good. See README "Transport".
"""

from __future__ import annotations

import bz2
import contextlib
import hashlib
import io
import mmap
import os
import struct
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from pipeline.keys import OpenPgpKey
from pipeline.pgp_armor import armor
from pipeline.pgp_open import open_message, parse_signatures
from pipeline.pgp_packets import (
    TAG_COMPRESSED,
    TAG_LITERAL,
    new_format_header,
)
from pipeline.pgp_selftest import self_test
from pipeline.pgp_settings import COMPRESSION_NAMES, PgpKeys, PgpSettings
from pipeline.pgp_sig import needs_data, sign_binary, verify_binary
from pipeline.pgpy_compat import (
    CompressionAlgorithm,
    PGPError,
    SymmetricKeyAlgorithm,
    pgpy,
)
from pipeline.transport_errors import (
    PgpBadSignatureError,
    PgpKeyError,
    PgpMissingSignatureError,
    PgpUnknownSignerError,
)

__all__ = [
    "Unsealed",
    "UnsealedFile",
    "seal",
    "seal_for_bank",
    "unseal",
    "unseal_file",
    "unseal_file_from_bank",
    "unseal_from_bank",
]

CIPHER = SymmetricKeyAlgorithm.AES256
TAG_SEIPD = 18
_MDC_HEADER = b"\xd3\x14"
_COMPRESSION_IDS = {"none": 0, "zip": 1, "zlib": 2, "bzip2": 3}
assert set(_COMPRESSION_IDS) == set(COMPRESSION_NAMES)


@dataclass(frozen=True)
class Unsealed:
    """The result of :func:`unseal`: the plaintext and what was proven about it."""

    plaintext: bytes = field(repr=False)
    sha256: str
    signed_by: str | None  # fingerprint of the verify key whose signature verified
    was_encrypted: bool
    was_armored: bool
    encrypted_to: tuple[str, ...] = ()  # key ids the message was encrypted to
    filename: str = ""  # the literal packet's file name, as the sender set it (untrusted)


# ---------------------------------------------------------------------------------- seal


def _literal_packet(plaintext: bytes, *, filename: str) -> list[bytes | memoryview]:
    name = filename.encode("utf-8")[:255]
    head = b"b" + bytes([len(name)]) + name + struct.pack(">I", int(time.time()))
    return [new_format_header(TAG_LITERAL, len(head) + len(plaintext)), head, plaintext]


def _signature(signer: OpenPgpKey, plaintext: bytes) -> pgpy.PGPSignature:
    if not signer.is_secret:
        raise PgpKeyError(f"{signer.source}: signing needs a secret key")
    with signer.unlocked() as key, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return sign_binary(key, plaintext)
        except PGPError as exc:
            raise PgpKeyError(f"{signer.source}: cannot sign with this key: {exc}") from exc


def _session_key_packets(recipients: Sequence[OpenPgpKey], session_key: bytes) -> list[bytes]:
    """One PKESK per recipient, made by pgpy (it picks each key's encryption subkey)."""
    packets = []
    probe = pgpy.PGPMessage.new(b"", format="b", compression=CompressionAlgorithm.Uncompressed)
    for recipient in recipients:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                sealed = recipient.public.key.encrypt(probe, cipher=CIPHER, sessionkey=session_key)
            except PGPError as exc:
                raise PgpKeyError(f"{recipient.source}: cannot encrypt to this key: {exc}") from exc
        packets.extend(bytes(pk) for pk in sealed._sessionkeys)
    return packets


def _compress(packets: list[bytes | memoryview], algorithm: str) -> list[bytes | memoryview]:
    algo = _COMPRESSION_IDS[algorithm]
    if algo == 0:
        return packets
    if algo == 3:
        engine = bz2.BZ2Compressor(9)
        parts = [engine.compress(p) for p in packets]
        parts.append(engine.flush())
    else:
        engine = zlib.compressobj(6, zlib.DEFLATED, -15 if algo == 1 else 15)
        parts = [engine.compress(p) for p in packets]
        parts.append(engine.flush())
    body = b"".join(parts)
    return [new_format_header(TAG_COMPRESSED, len(body) + 1), bytes([algo]), body]


_PIECE = 1 << 20  # plaintext encrypted per call: big enough to amortise it, small for cache


def _encrypt_seipd(
    packets: list[bytes | memoryview], session_key: bytes, sink: io.BytesIO
) -> list[bytes | memoryview]:
    """Write a symmetrically encrypted integrity-protected data packet (v1: AES-256-CFB +
    SHA-1 MDC) to ``sink``; return the parts of the stream it encrypts (random prefix,
    ``packets``, modification-detection packet) for the self-test to compare with.

    Each 1 MiB piece is hashed, encrypted into one scratch buffer and appended to ``sink``
    while it is in cache: the only payload-sized buffer is ``sink``'s, which
    ``BytesIO.getvalue()`` hands over without a copy (a fresh 100 MB buffer costs ~0.05 s
    of page faults here, as much as encrypting a third of it)."""
    block = 16  # AES
    prefix = os.urandom(block)
    prefix += prefix[-2:]
    mdc = hashlib.sha1(prefix)
    engine = Cipher(algorithms.AES(session_key), CFB(bytes(block))).encryptor()
    size = len(prefix) + sum(len(p) for p in packets) + len(_MDC_HEADER) + mdc.digest_size
    sink.write(new_format_header(TAG_SEIPD, 1 + size))
    sink.write(b"\x01")
    sink.write(engine.update(prefix))
    scratch = bytearray(_PIECE + block)  # update_into wants a block of room
    for part in packets:
        view = memoryview(part).cast("B")
        for start in range(0, len(view), _PIECE):
            piece = view[start : start + _PIECE]
            mdc.update(piece)
            count = engine.update_into(piece, scratch)
            sink.write(memoryview(scratch)[:count])
    mdc.update(_MDC_HEADER)
    trailer = _MDC_HEADER + mdc.digest()
    sink.write(engine.update(trailer))
    sink.write(engine.finalize())
    return [prefix, *packets, trailer]


def seal(
    plaintext: bytes,
    *,
    signer: OpenPgpKey,
    recipients: Sequence[OpenPgpKey],
    self_test_key: OpenPgpKey | None,
    armored: bool = False,
    compression: str = "zip",
    filename: str = "",
) -> bytes:
    """Sign ``plaintext`` with ``signer`` and encrypt it to every recipient, as one message.

    ``recipients`` are the bank's key and our archive key. ``self_test_key`` (a secret key
    among the recipients, normally the archive key) decrypts the result once; it must decrypt
    (and inflate) to exactly the input's packets, and the signature must name ``signer``,
    before anything is returned: a sealed file we could not read back never leaves here
    (:class:`PgpSelfTestError`; :mod:`pipeline.pgp_selftest`).
    Pass ``None`` only in tools that have no secret recipient key (``achpipe pgp seal``).
    """
    if compression not in _COMPRESSION_IDS:
        raise ValueError(f"compression must be one of {sorted(_COMPRESSION_IDS)}")
    if not recipients:
        raise ValueError("at least one recipient is needed")
    data = bytes(plaintext)
    signature = _signature(signer, data)
    onepass = bytes(signature.make_onepass())
    inner: list[bytes | memoryview] = [onepass, *_literal_packet(data, filename=filename)]
    inner.append(bytes(signature))
    packets = _compress(inner, compression)
    session_key = CIPHER.gen_key()
    sink = io.BytesIO()
    for packet in _session_key_packets(recipients, bytes(session_key)):
        sink.write(packet)
    stream = _encrypt_seipd(packets, bytes(session_key), sink)
    binary = sink.getvalue()  # no copy while nothing else views the buffer
    del sink
    if self_test_key is not None:
        self_test(
            binary,
            stream=stream,
            compressed=None if packets is inner else (packets[1][0], memoryview(packets[2])),
            inner=inner,
            signature=signature,
            signer=signer,
            key=self_test_key,
        )
    return armor(binary, kind="MESSAGE") if armored else binary


# -------------------------------------------------------------------------------- unseal


def _verify(
    subject: bytes,
    signatures: list[memoryview],
    verify_with: Sequence[OpenPgpKey],
    *,
    hashed: Any = None,
    load_subject: Callable[[], bytes] | None = None,
) -> str | None:
    """Fingerprint of the verify key whose signature verifies; raises on any bad signature.

    ``load_subject``: when given, ``subject`` is a stand-in and this returns the real one,
    for a signature that ``hashed`` alone cannot check (:func:`unseal_file`)."""
    if not signatures:
        return None
    parsed = parse_signatures(signatures)
    signers = tuple(str(sig.signer).upper() for sig in parsed)
    verified: str | None = None
    for sig in parsed:
        signer_id = str(sig.signer).upper()
        key = next((k for k in verify_with if signer_id in k.key_ids), None)
        if key is None:
            continue
        if load_subject is not None and needs_data(sig, hashed):
            subject, load_subject = load_subject(), None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ok = verify_binary(key.public.key, sig, subject, hashed=hashed)
        except Exception as exc:
            raise PgpBadSignatureError(
                f"signature by {signer_id} cannot be checked: {exc}"
            ) from exc
        if not ok:
            raise PgpBadSignatureError(f"signature by {key.fingerprint} does not verify")
        verified = verified or key.fingerprint
    if verified is None:
        expected = ", ".join(k.fingerprint for k in verify_with) or "no key configured"
        raise PgpUnknownSignerError(
            f"signed by {', '.join(signers)}, not by the expected key ({expected})",
            signers=signers,
        )
    return verified


def unseal(
    data: bytes | bytearray | memoryview,
    *,
    key: OpenPgpKey | None,
    verify_with: Sequence[OpenPgpKey],
    require_signature: bool = True,
    require_encryption: bool = True,
    max_size: int = 8 << 30,
) -> Unsealed:
    """Decrypt and verify one inbound file: armored, binary OpenPGP, or (if allowed) plain.

    Every signature present must verify, and at least one must come from a ``verify_with``
    key when ``require_signature``. Raises a :class:`~pipeline.transport_errors.PgpError`
    subclass when the file must be quarantined; never returns unverified data when a
    signature is required.
    """
    opened = open_message(data, key=key, require_encryption=require_encryption, max_size=max_size)
    if opened.literal is None:
        if require_signature:
            raise PgpMissingSignatureError("the file is plain data and carries no signature")
        plain = bytes(opened.plain or b"")
        return Unsealed(plain, hashlib.sha256(plain).hexdigest(), None, False, opened.was_armored)
    contents = opened.literal.contents
    plaintext = contents if type(contents) is bytes else bytes(contents)
    sha256 = opened.literal.sha256  # hashed while decrypting, or in one pass here: ours and
    if sha256 is None:  # (copied) the signature's
        sha256 = hashlib.sha256(plaintext)
    signed_by = _verify(plaintext, opened.signatures, verify_with, hashed=sha256)
    if signed_by is None and require_signature:
        raise PgpMissingSignatureError("the message carries no signature")
    return Unsealed(
        plaintext=plaintext,
        sha256=sha256.hexdigest(),
        signed_by=signed_by,
        was_encrypted=opened.was_encrypted,
        was_armored=opened.was_armored,
        encrypted_to=opened.recipients,
        filename=opened.literal.filename,
    )


@dataclass(frozen=True)
class UnsealedFile:
    """The result of :func:`unseal_file`: where the plaintext is and what was proven."""

    path: Path
    size: int
    sha256: str
    signed_by: str | None
    was_encrypted: bool
    was_armored: bool
    encrypted_to: tuple[str, ...] = ()
    filename: str = ""  # the literal packet's file name, as the sender set it (untrusted)


class _FileSink:
    """A :class:`~pipeline.pgp_stream.LiteralSink` over a file descriptor: one ``writev``
    per decrypted piece (gpg's 8 KiB chunks are written as they lie, no join)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = 0

    def write_views(self, views: Sequence[memoryview | bytes]) -> None:
        pending = list(views)
        while pending:
            written = os.writev(self.fd, pending[:1024])  # IOV_MAX
            self.size += written
            while pending and written >= len(pending[0]):  # drop what was written whole
                written -= len(pending.pop(0))
            if written:
                pending[0] = memoryview(pending[0])[written:]

    def reset(self) -> None:
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        self.size = 0


def _map(path: Path) -> tuple[Any, memoryview]:
    """The file's bytes without reading them into a fresh buffer (a read of 100 MB costs
    ~0.05 s of page faults; a read-only mapping of the page cache almost nothing)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return None, memoryview(b"")
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    return mapped, memoryview(mapped)


def _unseal_into(
    data: memoryview,
    sink: _FileSink,
    *,
    key: OpenPgpKey | None,
    verify_with: Sequence[OpenPgpKey],
    require_signature: bool,
    require_encryption: bool,
    max_size: int,
    load_subject: Callable[[], bytes],
) -> tuple[Unsealed, int]:
    """:func:`unseal` with the literal data written to ``sink`` (empty ``plaintext``)."""
    opened = open_message(
        data, key=key, require_encryption=require_encryption, max_size=max_size, sink=sink
    )
    if opened.literal is None:
        if require_signature:
            raise PgpMissingSignatureError("the file is plain data and carries no signature")
        plain = opened.plain if opened.plain is not None else memoryview(b"")
        sink.write_views([plain])
        digest = hashlib.sha256(plain).hexdigest()
        return Unsealed(b"", digest, None, False, opened.was_armored), sink.size
    literal = opened.literal
    sha256 = literal.sha256
    if not literal.in_sink:  # the general path: the contents are in memory
        sink.write_views([memoryview(literal.contents)])
        sha256 = sha256 or hashlib.sha256(literal.contents)
    signed_by = _verify(
        b"", opened.signatures, verify_with, hashed=sha256, load_subject=load_subject
    )
    if signed_by is None and require_signature:
        raise PgpMissingSignatureError("the message carries no signature")
    result = Unsealed(
        plaintext=b"",
        sha256=sha256.hexdigest(),
        signed_by=signed_by,
        was_encrypted=opened.was_encrypted,
        was_armored=opened.was_armored,
        encrypted_to=opened.recipients,
        filename=literal.filename,
    )
    return result, sink.size


def unseal_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    key: OpenPgpKey | None,
    verify_with: Sequence[OpenPgpKey],
    require_signature: bool = True,
    require_encryption: bool = True,
    max_size: int = 8 << 30,
    replace: bool = False,
    fsync: bool = False,
) -> UnsealedFile:
    """:func:`unseal` from file to file, with the same checks and errors, for large files.

    Why: the input is mapped, not read, and the plaintext is written in large pieces as it is
    decrypted, so neither is a fresh payload-sized buffer (~0.05 s of page faults each per
    100 MB). The plaintext goes to a private temporary file next to ``target`` (mode 0600)
    that is renamed to ``target`` only once the modification code and the signature have
    been checked; on any error it is removed, so a tampered or wrongly signed file leaves no
    output behind. An existing ``target`` is an error unless ``replace``. ``fsync``: flush
    the plaintext to disk before the rename, so that a crash right after it cannot leave an
    empty ``target`` (gpg does not; the operator command does).
    """
    source, target = Path(source), Path(target)
    if target.exists() and not replace:
        raise FileExistsError(f"{target} exists")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    mapped, data = None, memoryview(b"")
    try:
        mapped, data = _map(source)
        result, size = _unseal_into(
            data,
            _FileSink(fd),
            key=key,
            verify_with=verify_with,
            require_signature=require_signature,
            require_encryption=require_encryption,
            max_size=max_size,
            load_subject=lambda: Path(temp).read_bytes(),
        )
        if fsync:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(temp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(temp).unlink(missing_ok=True)
        raise
    finally:
        data.release()
        if mapped is not None:
            with contextlib.suppress(BufferError):  # a view still held: unmapped when freed
                mapped.close()
    return UnsealedFile(
        path=target,
        size=size,
        sha256=result.sha256,
        signed_by=result.signed_by,
        was_encrypted=result.was_encrypted,
        was_armored=result.was_armored,
        encrypted_to=result.encrypted_to,
        filename=result.filename,
    )


def seal_for_bank(
    plaintext: bytes, *, keys: PgpKeys, settings: PgpSettings, filename: str = ""
) -> bytes:
    """The nightly run's seal: signed by our key, to the bank and archive keys, self-tested."""
    return seal(
        plaintext,
        signer=keys.ours,
        recipients=[keys.bank, keys.archive.public],
        self_test_key=keys.archive,
        armored=settings.armor,
        compression=settings.compression,
        filename=filename,
    )


def unseal_from_bank(data: bytes, *, keys: PgpKeys, settings: PgpSettings) -> Unsealed:
    """The nightly run's unseal: decrypt with our key, verify the bank's signature."""
    return unseal(
        data,
        key=keys.ours,
        verify_with=[keys.bank],
        require_signature=settings.require_signature,
        require_encryption=settings.require_encryption,
    )


def unseal_file_from_bank(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    keys: PgpKeys,
    settings: PgpSettings,
) -> UnsealedFile:
    """The nightly ingest's unseal: :func:`unseal_from_bank` from file to file (``target``
    replaced, written only once verified), so no payload-sized buffer is held."""
    return unseal_file(
        source,
        target,
        key=keys.ours,
        verify_with=[keys.bank],
        require_signature=settings.require_signature,
        require_encryption=settings.require_encryption,
        replace=True,
    )
