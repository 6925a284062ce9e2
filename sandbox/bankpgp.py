"""The bank's own OpenPGP tooling (pgpy directly: the sandbox never imports ``pipeline``).

Uploads arrive signed by the originator and encrypted to the bank; the bank's answers go
out signed by the bank and encrypted to the originator. Keys are Ed25519 + Cv25519 (pgpy's
RSA keys trip gpg on some signatures; see platform findings).
"""

from __future__ import annotations

import warnings
from pathlib import Path

with warnings.catch_warnings():  # pgpy's import touches ciphers cryptography deprecates
    warnings.simplefilter("ignore")
    import pgpy
    from pgpy.constants import (
        CompressionAlgorithm,
        EllipticCurveOID,
        HashAlgorithm,
        KeyFlags,
        PubKeyAlgorithm,
        SymmetricKeyAlgorithm,
    )

from sandbox.errors import SandboxError


class UnsealError(SandboxError):
    """An upload the bank cannot open or trust; ``code`` goes into the rejection ack."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def generate_key(name: str, email: str) -> pgpy.PGPKey:
    """A new unprotected Ed25519 signing key with a Cv25519 encryption subkey."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        primary = pgpy.PGPKey.new(PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519)
        sub = pgpy.PGPKey.new(PubKeyAlgorithm.ECDH, EllipticCurveOID.Curve25519)
        primary.add_uid(
            pgpy.PGPUID.new(name, email=email),
            usage={KeyFlags.Sign, KeyFlags.Certify},
            hashes=[HashAlgorithm.SHA256, HashAlgorithm.SHA512],
            ciphers=[SymmetricKeyAlgorithm.AES256, SymmetricKeyAlgorithm.AES128],
            compression=[
                CompressionAlgorithm.ZLIB,
                CompressionAlgorithm.ZIP,
                CompressionAlgorithm.Uncompressed,
            ],
        )
        primary.add_subkey(sub, usage={KeyFlags.EncryptCommunications, KeyFlags.EncryptStorage})
    return primary


def load_key(path: Path) -> pgpy.PGPKey:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key, _ = pgpy.PGPKey.from_file(str(path))
    return key


def save_key(key: pgpy.PGPKey, path: Path, *, secret: bool) -> Path:
    """Write an armored key; secret keys get mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = str(key) if secret else str(key.pubkey)
    path.write_text(text)
    if secret:
        path.chmod(0o600)
    return path


def ensure_key(secret_path: Path, public_path: Path, *, name: str, email: str) -> pgpy.PGPKey:
    """Load the key at ``secret_path``, or generate and save a new pair there."""
    if secret_path.exists():
        return load_key(secret_path)
    key = generate_key(name, email)
    save_key(key, secret_path, secret=True)
    save_key(key, public_path, secret=False)
    return key


def seal(data: bytes, *, signer: pgpy.PGPKey, recipient: pgpy.PGPKey) -> bytes:
    """Sign with ``signer`` and encrypt to ``recipient``: one binary OpenPGP message."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        message = pgpy.PGPMessage.new(data, compression=CompressionAlgorithm.ZLIB)
        message |= signer.sign(message)
        public = recipient.pubkey if not recipient.is_public else recipient
        encrypted = public.encrypt(message, cipher=SymmetricKeyAlgorithm.AES256)
    return bytes(encrypted)


def unseal(
    data: bytes, *, key: pgpy.PGPKey, verify_with: pgpy.PGPKey | None, require_signature: bool
) -> bytes:
    """Decrypt with the bank's key and verify the originator's signature."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            message = pgpy.PGPMessage.from_blob(data)
        except (ValueError, TypeError, NotImplementedError, pgpy.errors.PGPError) as exc:
            raise UnsealError("notEncrypted", f"not an OpenPGP message: {exc}") from exc
        if not message.is_encrypted:
            raise UnsealError("notEncrypted", "the upload is not encrypted")
        try:
            clear = key.decrypt(message)
        except (ValueError, pgpy.errors.PGPError) as exc:
            raise UnsealError("decryptError", f"cannot decrypt with the bank's key: {exc}") from exc
        if require_signature:
            if not clear.signatures:
                raise UnsealError("signatureMissing", "the upload is not signed")
            if verify_with is None:
                raise UnsealError("signatureUnknown", "no originator key to verify against")
            try:
                ok = bool(verify_with.verify(clear))
            except (ValueError, pgpy.errors.PGPError) as exc:
                raise UnsealError("signatureInvalid", f"signature not verified: {exc}") from exc
            if not ok:
                raise UnsealError("signatureInvalid", "the signature does not verify")
        payload = clear.message
    return payload.encode("latin-1") if isinstance(payload, str) else bytes(payload)
