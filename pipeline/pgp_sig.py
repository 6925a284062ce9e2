"""Binary-document signatures over large payloads without pgpy's copy of the payload.

pgpy hashes a signature by first building ``bytearray(payload) + trailer`` (a full copy,
~0.2 s per 100 MB) and, when signing, hashes it twice (once for the 2-byte quick check, once
inside ``cryptography``). Here the digest is computed once, streaming over the payload and
then the trailer pgpy itself produces (``sig.hashdata(b"")`` is exactly the trailer for a
binary document), and the public-key step is done on that digest (``Prehashed`` for RSA and
ECDSA; EdDSA in OpenPGP signs the digest itself). The packet is still built by pgpy: it is
created over an empty document (so its hashed subpackets, creation time and issuer are
pgpy's), then its hash prefix and signature value are replaced by the ones for the real data.

Anything else (text-mode signatures, DSA, unknown hashes) takes pgpy's own path. Keys are
checked with pgpy's soundness/primitive checks; MD5, SHA-1 and RIPEMD-160 data signatures
are refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from pipeline.pgpy_compat import HashAlgorithm, PubKeyAlgorithm, SignatureType, pgpy

__all__ = ["WEAK_HASHES", "needs_data", "sign_binary", "verify_binary"]

WEAK_HASHES = frozenset({HashAlgorithm.MD5, HashAlgorithm.SHA1, HashAlgorithm.RIPEMD160})
_FAST = (
    PubKeyAlgorithm.EdDSA,
    PubKeyAlgorithm.RSAEncryptOrSign,
    PubKeyAlgorithm.RSASign,
    PubKeyAlgorithm.ECDSA,
)


def _signing_key(key: pgpy.PGPKey, signer: str) -> pgpy.PGPKey | None:
    if key.fingerprint.keyid == signer:
        return key
    return key.subkeys.get(signer)


def _digest(sig: pgpy.PGPSignature, data: bytes, hashed: Any = None) -> bytes | None:
    """The signature's digest; ``hashed`` (a hashlib object that has seen exactly ``data``)
    saves the pass over the payload when it is of the signature's algorithm."""
    name = sig.hash_algorithm.name.lower()
    if hashed is not None and hashed.name == name:
        h = hashed.copy()
    else:
        try:
            h = hashlib.new(name)
        except ValueError:
            return None
        h.update(data)
    h.update(bytes(sig.hashdata(b"")))
    return h.digest()


def sign_binary(key: pgpy.PGPKey, data: bytes) -> pgpy.PGPSignature:
    """A binary-document signature over ``data`` by ``key`` (unlocked; pgpy picks the
    signing key or subkey)."""
    sig = key.sign(b"")
    signing = _signing_key(key, sig.signer)
    digest = _digest(sig, data)
    if signing is None or digest is None or sig.key_algorithm not in _FAST:
        return key.sign(data)  # pragma: no cover - keys we do not generate or accept
    material = signing._key.keymaterial
    algorithm = getattr(hashes, sig.hash_algorithm.name)()
    if sig.key_algorithm is PubKeyAlgorithm.EdDSA:
        raw = material.__privkey__().sign(digest)
    elif sig.key_algorithm is PubKeyAlgorithm.ECDSA:
        raw = material.__privkey__().sign(digest, ec.ECDSA(Prehashed(algorithm)))
    else:
        raw = material.__privkey__().sign(digest, padding.PKCS1v15(), Prehashed(algorithm))
    sig._signature.hash2 = bytearray(digest[:2])
    sig._signature.signature.from_signer(raw)
    sig._signature.update_hlen()
    return sig


def needs_data(sig: pgpy.PGPSignature, hashed: Any) -> bool:
    """Whether :func:`verify_binary` reads ``data`` itself for ``sig`` rather than only
    ``hashed`` (another hash algorithm, a text signature, a key type pgpy checks)."""
    return (
        sig.type is not SignatureType.BinaryDocument
        or sig.key_algorithm not in _FAST
        or hashed is None
        or hashed.name != sig.hash_algorithm.name.lower()
    )


def verify_binary(
    key: pgpy.PGPKey, sig: pgpy.PGPSignature, data: bytes, *, hashed: Any = None
) -> bool:
    """True when ``sig`` is a good signature of ``data`` by ``key`` or one of its subkeys.

    ``hashed``: optional hashlib object fed with exactly ``data`` (the caller hashes the
    plaintext once for its own SHA-256 and the signature reuses that pass)."""
    if sig.hash_algorithm in WEAK_HASHES:
        return False
    signing = _signing_key(key, sig.signer)
    if signing is None:
        return False
    if sig.type is not SignatureType.BinaryDocument or sig.key_algorithm not in _FAST:
        return bool(key.verify(data, sig))
    issues = signing.check_soundness() | signing.check_primitives()
    if issues and issues.causes_signature_verify_to_fail:
        return False
    digest = _digest(sig, data, hashed)
    if digest is None:
        return bool(key.verify(data, sig))
    if bytes(sig._signature.hash2) != digest[:2]:
        return False
    material = signing._key.keymaterial
    sigbytes = sig.__sig__
    algorithm = getattr(hashes, sig.hash_algorithm.name)()
    try:
        if sig.key_algorithm is PubKeyAlgorithm.EdDSA:
            material.__pubkey__().verify(sigbytes, digest)
        elif sig.key_algorithm is PubKeyAlgorithm.ECDSA:
            material.__pubkey__().verify(sigbytes, digest, ec.ECDSA(Prehashed(algorithm)))
        else:
            sigbytes = bytes(material.n.byte_length() - len(sigbytes)) + bytes(sigbytes)
            material.__pubkey__().verify(sigbytes, digest, padding.PKCS1v15(), Prehashed(algorithm))
    except InvalidSignature:
        return False
    return True
