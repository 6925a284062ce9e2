"""Seal's self-test: read our own sealed message back before it may leave, piece by piece.

Why not simply unseal it: the full path allocates a 100 MB decrypted buffer, hashes it
again for the modification code and then compares it with the input, ~0.28 s of a 0.8 s
seal of a 100 MB file (gpg does no such test). What can go wrong between us and the bank is
the framing, the session-key packets and the encryption, so this checks exactly those, on
the *output bytes*, in 1 MiB pieces that stay in cache:

1. the output parses as session-key packets followed by one integrity-protected data packet;
2. ``key`` (normally the archive key) decrypts its session-key packet, and that recovered
   session key, not the one seal used, decrypts the rest;
3. the data packet decrypts (ECB + CBC-decrypt in :class:`~pipeline.pgp_cfb.CfbDecryptor`,
   another code path than the CFB encryptor) to exactly the stream seal meant to encrypt:
   random prefix and quick-check bytes, the packets, the modification-detection packet;
4. a compressed packet inflates to exactly the one-pass, literal (holding the input) and
   signature packets;
5. the signature names the signer.

The modification code's SHA-1 is not computed twice: (3) proves the code in the output is
the one seal computed over these same parts, and gpg checking such codes is covered by the
interop tests. Nothing payload-sized is allocated.

Public: :func:`self_test`.
"""

from __future__ import annotations

import bz2
import zlib
from collections.abc import Iterator, Sequence

from pipeline.keys import OpenPgpKey
from pipeline.pgp_cfb import CfbDecryptor
from pipeline.pgp_open import decrypt_session_key
from pipeline.pgp_packets import TAG_SEIPD, PacketFormatError, Pieces, iter_packets
from pipeline.pgpy_compat import pgpy
from pipeline.transport_errors import PgpError, PgpSelfTestError

__all__ = ["self_test"]

TAG_PKESK = 1
_INPUT = 1 << 16  # compressed bytes per inflate call: keeps zlib's unconsumed tail small

Buffer = bytes | bytearray | memoryview


def _fail(why: str) -> PgpSelfTestError:
    return PgpSelfTestError(f"self-test failed: {why}")


def _encrypted_body(sealed: Buffer, key: OpenPgpKey) -> tuple[bytes, memoryview]:
    """The session key recovered with ``key`` and the encrypted packet's body."""
    try:
        packets = list(iter_packets(sealed))
        pkesks = [p.body for p in packets if p.tag == TAG_PKESK]
        if len(packets) != len(pkesks) + 1 or packets[-1].tag != TAG_SEIPD:
            raise _fail("the output is not session-key packets and one encrypted packet")
        _, session_key, _ = decrypt_session_key(pkesks, key)
    except PacketFormatError as exc:
        raise _fail(str(exc)) from exc
    except PgpSelfTestError:
        raise
    except PgpError as exc:
        raise _fail(str(exc)) from exc
    body = packets[-1].body
    if not len(body) or body[0] != 1:
        raise _fail("the encrypted packet is not version 1")
    return session_key, body[1:]


def _inflate(algo: int, body: memoryview, piece: int) -> Iterator[bytes]:
    """The decompressed contents of a compressed packet's body, at most ``piece`` at a time."""
    if algo in (1, 2):
        engine = zlib.decompressobj(-15 if algo == 1 else 15)
        for start in range(0, len(body), _INPUT):
            data: Buffer = body[start : start + _INPUT]
            while data:
                yield engine.decompress(data, piece)
                data = engine.unconsumed_tail
        yield engine.flush()
        done = engine.eof
    elif algo == 3:
        bz = bz2.BZ2Decompressor()
        for start in range(0, len(body), _INPUT):
            yield bz.decompress(body[start : start + _INPUT], piece)
            while not bz.eof and not bz.needs_input:
                yield bz.decompress(b"", piece)
        done = bz.eof
    else:
        raise _fail(f"unknown compression algorithm {algo}")
    if not done:
        raise _fail("the compressed data is truncated")


def self_test(
    sealed: Buffer,
    *,
    stream: Sequence[Buffer],
    compressed: tuple[int, memoryview] | None,
    inner: Sequence[Buffer],
    signature: pgpy.PGPSignature,
    signer: OpenPgpKey,
    key: OpenPgpKey,
) -> None:
    """Raise :class:`PgpSelfTestError` unless ``sealed`` reads back as intended.

    ``stream``: the parts seal encrypted (prefix, packets, modification-detection packet);
    ``compressed``: (algorithm, body) of the compressed packet among them, if any;
    ``inner``: the parts of the one-pass, literal and signature packets.
    """
    session_key, body = _encrypted_body(sealed, key)
    decryptor = CfbDecryptor(session_key)
    expected = Pieces(stream)
    for start in range(0, len(body), decryptor.piece):
        piece = body[start : start + decryptor.piece]
        if decryptor.update(piece) != expected.take(len(piece)):
            raise _fail("the decrypted data differs from what was encrypted")
    if not expected.exhausted:
        raise _fail("the encrypted data is shorter than what was encrypted")
    if compressed is not None:
        algo, packed = compressed
        packets = Pieces(inner)
        for out in _inflate(algo, packed, decryptor.piece):
            if out != bytes(packets.take(len(out))):
                raise _fail("the decompressed data differs from the input")
        if not packets.exhausted:
            raise _fail("the decompressed data is shorter than the input")
    if str(signature.signer).upper() not in signer.key_ids:
        raise _fail("the signature is missing or by another key")
