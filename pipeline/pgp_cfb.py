"""AES-CFB decryption at the speed of the parallel modes, for large OpenPGP messages.

Why: OpenSSL decrypts CFB one block after another (~0.19-0.26 s CPU per 100 MB here, the
largest single cost of unsealing), while its ECB and CBC-decrypt run 8 blocks at once with
AES-NI (~0.016 s per 100 MB each). CFB decryption can be written with exactly those two:

    CFB:  P[i] = C[i] XOR E(C[i-1])                        (C[-1] = IV)
    let   Y[i] = E(C[i])  (ECB, parallel)
    CBC decryption of Y with IV E(IV):
          D(Y[i]) XOR Y[i-1] = C[i] XOR E(C[i-1]) = P[i]   (parallel)

so the plaintext is ``CBC-decrypt(ECB-encrypt(C))`` with IV ``E(IV)``. A trailing partial
block is ``C XOR E(C[last full])`` truncated. The work runs in 1 MiB pieces through one
scratch buffer: :func:`cfb_decrypt` writes the whole plaintext into one buffer (read straight
from the caller's ciphertext when it is one piece, so the only large allocation is the output
the caller needs), and :class:`CfbDecryptor` hands out one piece at a time for a caller that
only compares or hashes (seal's self-test: no 100 MB buffer at all). Encryption has no such
trick (each block needs the previous ciphertext), so seal keeps OpenSSL's CFB encryptor.

Public: :func:`cfb_decrypt`, :class:`CfbDecryptor`.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["CfbDecryptor", "cfb_decrypt"]

BLOCK = 16
_PIECE = 1 << 20  # scratch size: large enough to amortise the Python call, small for cache


class CfbDecryptor:
    """Streaming AES-CFB-128 decryption (full-block feedback, no resync), piece by piece.

    Every piece but the last must be a multiple of 16 bytes and at most ``_PIECE`` long (the
    CBC step chains whole blocks between calls); after a piece with a partial block nothing
    more may follow.
    """

    def __init__(self, key: bytes, iv: bytes = bytes(BLOCK)) -> None:
        if len(iv) != BLOCK:
            raise ValueError("the IV must be one 16-byte block")
        cipher = algorithms.AES(key)
        self._ecb = Cipher(cipher, modes.ECB()).encryptor()
        first = self._ecb.update(iv)  # E(IV): the CBC IV, and the key stream of a short message
        self._cbc = Cipher(cipher, modes.CBC(first)).decryptor()
        self._last_y = first
        self.piece = _PIECE  # the largest piece a call takes (a multiple of 16)
        self._scratch = bytearray(_PIECE + BLOCK)
        self._out = bytearray(_PIECE + BLOCK)
        self._closed = False

    def update_into(self, data: bytes | bytearray | memoryview, out: memoryview) -> int:
        """Decrypt ``data`` into ``out`` (which needs 15 bytes of room past ``len(data)``;
        ``out`` may be the very buffer ``data`` views: each piece is read before it is
        overwritten). Returns ``len(data)``."""
        size = len(data)
        if self._closed:
            raise ValueError("a piece with a partial block was already decrypted")
        if size > self.piece:
            raise ValueError(f"pieces are at most {self.piece} bytes")
        full = size - size % BLOCK
        if full:
            self._ecb.update_into(memoryview(data)[:full], self._scratch)  # Y = E(C)
            self._last_y = bytes(self._scratch[full - BLOCK : full])
            self._cbc.update_into(memoryview(self._scratch)[:full], out)
        if full < size:  # the final partial block: C XOR E(C[last full]) (or E(IV))
            tail = bytes(a ^ b for a, b in zip(memoryview(data)[full:], self._last_y, strict=False))
            out[full:size] = tail
            self._closed = True
        return size

    def update(self, data: bytes | bytearray | memoryview) -> bytearray:
        """The plaintext of ``data`` as a new buffer (a cache-hot copy of the scratch: cheap
        at this size, and ``bytearray == buffer`` compares with one ``memcmp``)."""
        self.update_into(data, memoryview(self._out))
        return self._out[: len(data)]


def cfb_decrypt(
    key: bytes, data: Sequence[bytes | bytearray | memoryview], iv: bytes = bytes(BLOCK)
) -> memoryview:
    """AES-CFB-128 (full-block feedback, no resync) decryption of ``data`` joined in order.

    ``data`` is a sequence of pieces (gpg's partial-length chunks need not be joined first:
    they are gathered once into the output buffer, and decrypted there in place). One piece
    is decrypted straight from the caller's buffer into the output. Returns a view of the
    output buffer.
    """
    decryptor = CfbDecryptor(key, iv)
    if len(data) == 1:
        source = memoryview(data[0]).cast("B")
        size = len(source)
        buf = bytearray(size + BLOCK)  # update_into wants block_size - 1 bytes of room
    else:
        buf = bytearray().join(data)
        size = len(buf)
        buf += bytes(BLOCK)
        source = memoryview(buf)
    view = memoryview(buf)
    step = decryptor.piece
    for start in range(0, size, step):
        end = min(start + step, size)
        decryptor.update_into(source[start:end], view[start:])
    return view[:size]
