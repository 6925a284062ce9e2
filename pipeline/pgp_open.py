"""Take an inbound OpenPGP message apart: dearmor, decrypt, check integrity, find the parts.

Signatures are *not* checked here (:mod:`pipeline.pgp` does that against the configured
keys); this module only proves the bytes are what the sender encrypted (the modification
detection code) and returns the literal data with the raw signature packets. Decryption runs
AES-CFB through ``cryptography`` directly on the packet body, and gpg's partial-length and
compressed packets are flattened by :mod:`pipeline.pgp_packets` before anything is parsed.
Only integrity-protected data (SEIPD v1) and AES are accepted. The usual shapes are read in
one streaming pass by :mod:`pipeline.pgp_stream`; the rest takes the general path here.
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from dataclasses import dataclass
from typing import Any

from pipeline.keys import OpenPgpKey
from pipeline.pgp_armor import ArmorError, dearmor, is_armored
from pipeline.pgp_cfb import cfb_decrypt
from pipeline.pgp_packets import (
    TAG_LITERAL,
    PacketFormatError,
    flatten_plaintext,
    iter_packets,
    new_format_header,
)
from pipeline.pgp_stream import LiteralSink, NeedsGeneralPath, read_encrypted
from pipeline.pgpy_compat import Packet, PGPError, PKESessionKeyV3, SymmetricKeyAlgorithm, pgpy
from pipeline.transport_errors import (
    PgpFormatError,
    PgpKeyError,
    PgpNotEncryptedError,
    PgpTamperedError,
    PgpWrongKeyError,
)

__all__ = ["Literal", "Opened", "decrypt_session_key", "open_message", "parse_signatures"]

TAG_PKESK, TAG_SIGNATURE, TAG_SKESK, TAG_ONE_PASS = 1, 2, 3, 4
TAG_SED, TAG_SEIPD, TAG_AEAD = 9, 18, 20
_MDC_HEADER = b"\xd3\x14"
# the only symmetric ciphers we accept inbound (gpg 2.2 picks AES-256 from our key's prefs)
_AES = {
    SymmetricKeyAlgorithm.AES128: 16,
    SymmetricKeyAlgorithm.AES192: 24,
    SymmetricKeyAlgorithm.AES256: 32,
}


@dataclass(frozen=True)
class Literal:
    """The literal data packet: contents (bytes when decrypted in one streaming pass or when
    gpg's partial-length chunks had to be joined, else a view), sender's file name, format."""

    contents: bytes | memoryview
    filename: str
    format: str
    sha256: Any = None  # a hashlib SHA-256 already fed with ``contents``, when streamed
    in_sink: bool = False  # the contents went to the caller's sink (``contents`` is empty)


@dataclass(frozen=True)
class Opened:
    """A message taken apart; ``literal`` is None for plain (non-OpenPGP) data in ``plain``."""

    literal: Literal | None
    plain: memoryview | None
    signatures: list[memoryview]
    recipients: tuple[str, ...]
    was_encrypted: bool
    was_armored: bool


def decrypt_session_key(
    pkesks: list[memoryview], key: OpenPgpKey | None
) -> tuple[SymmetricKeyAlgorithm, bytes, tuple[str, ...]]:
    """Cipher and session key from the PKESK addressed to ``key``, and every recipient's id
    (also used by seal's self-test, which must recover the key the way a reader would)."""
    parsed = []
    for raw in pkesks:
        try:
            packet = Packet(bytearray(new_format_header(TAG_PKESK, len(raw)) + bytes(raw)))
        except (PGPError, ValueError, IndexError, TypeError, NotImplementedError) as exc:
            raise PgpFormatError(f"malformed session key packet: {exc}") from exc
        if isinstance(packet, PKESessionKeyV3):
            parsed.append(packet)
    recipients = tuple(str(p.encrypter).upper() for p in parsed)
    if key is None:
        raise PgpWrongKeyError(
            "the message is encrypted and no key was given", recipients=recipients
        )
    if not key.is_secret:
        raise PgpKeyError(f"{key.source}: decryption needs a secret key")
    ours = {kid: sub for kid, sub in key.key.subkeys.items()}
    ours[key.key.fingerprint.keyid] = key.key
    for packet in parsed:
        keyid = str(packet.encrypter).upper()
        match = next((k for kid, k in ours.items() if str(kid).upper() == keyid), None)
        if match is None:
            continue
        with key.unlocked(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                algo, session_key = packet.decrypt_sk(match._key)
            except Exception as exc:
                raise PgpTamperedError(f"cannot decrypt the session key: {exc}") from exc
        return SymmetricKeyAlgorithm(algo), bytes(session_key), recipients
    raise PgpWrongKeyError(
        f"not encrypted to {key.fingerprint} (recipients: {', '.join(recipients) or 'none'})",
        recipients=recipients,
    )


def _check_seipd(
    parts: tuple[memoryview, ...], algo: SymmetricKeyAlgorithm, session_key: bytes
) -> None:
    if not parts or not len(parts[0]) or parts[0][0] != 1:
        raise PgpFormatError("unsupported encrypted data packet version")
    if algo not in _AES or len(session_key) != _AES[algo]:
        raise PgpFormatError(f"cipher {algo.name} is not accepted (AES only)")


def _decrypt_seipd(parts: tuple[memoryview, ...], session_key: bytes) -> memoryview:
    """The decrypted packet stream (random prefix removed, modification code still at the end).

    ``parts`` are the packet's body chunks (gpg streams with partial lengths): they are
    gathered once into the output buffer and decrypted there (:mod:`pipeline.pgp_cfb`).
    """
    block = 16
    plain = cfb_decrypt(session_key, [parts[0][1:], *parts[1:]])
    if len(plain) < block + 2 + 22:
        raise PgpTamperedError("encrypted data is too short")
    if plain[block - 2 : block] != plain[block : block + 2]:
        raise PgpTamperedError("wrong session key or corrupted data (quick check failed)")
    digest = hashlib.sha1(plain[:-20]).digest()
    if plain[-22:-20] != _MDC_HEADER or not hmac.compare_digest(digest, plain[-20:]):
        raise PgpTamperedError("modification detection code mismatch: the file was altered")
    return plain[block + 2 :]


def _open_seipd(
    parts: tuple[memoryview, ...],
    algo: SymmetricKeyAlgorithm,
    session_key: bytes,
    *,
    max_size: int,
    sink: LiteralSink | None = None,
) -> tuple[Literal, list[memoryview]]:
    """Literal data and signature packets of an encrypted packet: in one streaming pass
    (:mod:`pipeline.pgp_stream`; the literal data into ``sink`` when given) when the
    contents are plain packets, else decrypted whole, checked, flattened (compression) and
    parsed (the literal data in memory, whatever ``sink``)."""
    _check_seipd(parts, algo, session_key)
    try:
        streamed = read_encrypted(
            [parts[0][1:], *parts[1:]], session_key, max_size=max_size, sink=sink
        )
    except NeedsGeneralPath:
        if sink is not None:
            sink.reset()
    else:
        literal = Literal(
            streamed.contents,
            streamed.filename,
            streamed.format,
            streamed.sha256,
            in_sink=sink is not None,
        )
        return literal, streamed.signatures
    plain = _decrypt_seipd(parts, session_key)
    stream = flatten_plaintext(plain, strip_mdc=True, max_size=max_size, join_partials=False)
    del plain
    literal, signatures, _ = _read_packets(stream)
    return literal, signatures


def _read_packets(stream: bytes | memoryview) -> tuple[Literal, list[memoryview], int]:
    """Literal data, signature packet bodies, and the count of one-pass packets."""
    literal: Literal | None = None
    signatures: list[memoryview] = []
    onepass = 0
    for packet in iter_packets(stream):
        if packet.tag == TAG_LITERAL:
            if literal is not None:
                raise PgpFormatError("more than one literal data packet")
            body, rest = packet.parts[0], packet.parts[1:]
            if len(body) < 6 or len(body) < 6 + body[1]:  # header split over tiny chunks
                body, rest = packet.body, ()
            if len(body) < 6 or len(body) < 6 + body[1]:
                raise PgpFormatError("truncated literal data packet")
            name_len = body[1]
            contents: bytes | memoryview = body[6 + name_len :]
            if rest:  # partial lengths: one join, straight into the result
                contents = b"".join([contents, *rest])
            literal = Literal(
                contents=contents,
                filename=bytes(body[2 : 2 + name_len]).decode("utf-8", "replace"),
                format=chr(body[0]),
            )
        elif packet.tag == TAG_SIGNATURE:
            signatures.append(packet.body)
        elif packet.tag == TAG_ONE_PASS:
            onepass += 1
        elif packet.tag in (TAG_PKESK, TAG_SKESK, TAG_SEIPD, TAG_SED, TAG_AEAD):
            raise PgpFormatError("nested encryption is not accepted")
        else:
            raise PgpFormatError(f"unexpected packet (tag {packet.tag}) in the message")
    if literal is None:
        raise PgpFormatError("no literal data packet: not a message")
    return literal, signatures, onepass


def parse_signatures(raw_packets: list[memoryview]) -> list[pgpy.PGPSignature]:
    """pgpy signature objects for raw signature packet bodies (PgpFormatError if malformed)."""
    parsed = []
    for raw in raw_packets:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                blob = new_format_header(TAG_SIGNATURE, len(raw)) + bytes(raw)
                parsed.append(pgpy.PGPSignature.from_blob(blob))
        except (PGPError, ValueError, IndexError, TypeError, NotImplementedError) as exc:
            raise PgpFormatError(f"malformed signature packet: {exc}") from exc
    return parsed


def open_message(
    data: bytes | bytearray | memoryview,
    *,
    key: OpenPgpKey | None,
    require_encryption: bool,
    max_size: int,
    sink: LiteralSink | None = None,
) -> Opened:
    """Dearmor, decrypt and take apart one message; signatures are returned unchecked.

    ``sink``: where the literal data of an encrypted message goes when it is read in one
    streaming pass (``Literal.in_sink``); otherwise it is in ``Literal.contents``."""
    raw = memoryview(data).cast("B")
    was_armored = is_armored(raw)
    if was_armored:
        try:  # integrity comes from the MDC and the signature, not the armor CRC (RFC 9580)
            text = data if type(data) is bytes else raw  # bytes: dearmor needs no copy
            raw = memoryview(dearmor(text, verify_checksum=False).data)
        except ArmorError as exc:
            cls = PgpTamperedError if exc.checksum else PgpFormatError
            raise cls(str(exc)) from exc
    if not len(raw) or not raw[0] & 0x80:
        if require_encryption:
            raise PgpNotEncryptedError("the file is not an OpenPGP message (plain data)")
        return Opened(None, raw, [], (), False, was_armored)
    try:
        top = list(iter_packets(raw))
        pkesks = [p.body for p in top if p.tag == TAG_PKESK]
        if any(p.tag == TAG_SKESK for p in top) and not pkesks:
            raise PgpWrongKeyError("the message is encrypted with a passphrase, not to our key")
        encrypted = [p for p in top if p.tag in (TAG_SEIPD, TAG_SED, TAG_AEAD)]
        if encrypted:
            if len(encrypted) != 1 or encrypted[0].tag != TAG_SEIPD:
                raise PgpFormatError(
                    "unsupported encryption packet (only integrity-protected data is accepted)"
                )
            algo, session_key, recipients = decrypt_session_key(pkesks, key)
            literal, signatures = _open_seipd(
                encrypted[0].parts, algo, session_key, max_size=max_size, sink=sink
            )
        else:
            if require_encryption:
                raise PgpNotEncryptedError("the message is signed but not encrypted")
            recipients = ()
            stream = flatten_plaintext(raw, max_size=max_size)
            literal, signatures, _ = _read_packets(stream)
    except PacketFormatError as exc:
        raise PgpFormatError(str(exc)) from exc
    return Opened(literal, None, signatures, recipients, bool(encrypted), was_armored)
