"""The one place pgpy is imported: its import-time noise silenced, one hot spot fixed.

pgpy 0.6.0 builds a table of ciphers at import time that touches TripleDES and Camellia,
which ``cryptography`` ≥ 48 reports as moved to its "decrepit" module. Those warnings are
about pgpy's code, not ours, and would otherwise print on every ``achpipe pgp`` call. Only
the import is silenced: warnings raised later by our own calls still surface.

RSA: pgpy rebuilds the ``cryptography`` private key from its numbers on *every* signature or
decryption, and ``RSAPrivateNumbers.private_key()`` validates the key each time (~0.5 s for
RSA-3072; 120 signatures took 60 s). :func:`_cached_rsa_private_key` validates once per key
and reuses the object; the key material is the same, only the repeated check is saved.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import rsa

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pgpy
    from pgpy.constants import (
        CompressionAlgorithm,
        EllipticCurveOID,
        HashAlgorithm,
        KeyFlags,
        PubKeyAlgorithm,
        SignatureType,
        SymmetricKeyAlgorithm,
    )
    from pgpy.errors import PGPDecryptionError, PGPError
    from pgpy.packet import Packet
    from pgpy.packet.fields import RSAPriv
    from pgpy.packet.packets import PKESessionKeyV3


@lru_cache(maxsize=32)
def _cached_rsa_private_key(n: int, e: int, d: int, p: int, q: int) -> rsa.RSAPrivateKey:
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, n),
    )
    return numbers.private_key()  # validated here, once per key


def _rsa_privkey(self: RSAPriv) -> rsa.RSAPrivateKey:
    return _cached_rsa_private_key(int(self.n), int(self.e), int(self.d), int(self.p), int(self.q))


RSAPriv.__privkey__ = _rsa_privkey

__all__ = [
    "CompressionAlgorithm",
    "EllipticCurveOID",
    "HashAlgorithm",
    "KeyFlags",
    "PGPDecryptionError",
    "PGPError",
    "PKESessionKeyV3",
    "Packet",
    "PubKeyAlgorithm",
    "SignatureType",
    "SymmetricKeyAlgorithm",
    "pgpy",
]
