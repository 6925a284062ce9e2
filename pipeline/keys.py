"""OpenPGP keys: load from files or ``env:``/``file:`` references, unlock, generate, export.

A key reference is either a path to a key file (armored or binary), or ``env:NAME`` /
``file:/path`` resolved through :mod:`pipeline.secrets` (the value is the armored key text),
so a secret key never has to sit in ``achpipe.toml``. Passphrases are :class:`Secret`\\ s and
are checked when the key is loaded: a wrong passphrase fails at start-up, not at 2 a.m. in the
middle of sealing.

Generated keys are Ed25519 (sign, certify) with a Cv25519 encryption subkey: fast, small, and
free of the RSA pitfall below. RSA can be asked for; pgpy takes its primes from
``cryptography`` with p > q, while RFC 4880 and libgcrypt want p < q (u = p⁻¹ mod q): gpg then
reports BADSIG on ~2 % of pgpy's RSA signatures. :func:`generate_key` swaps the primes and
recomputes u before anything is signed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from pipeline.pgp_armor import armor
from pipeline.pgpy_compat import (
    CompressionAlgorithm,
    EllipticCurveOID,
    HashAlgorithm,
    KeyFlags,
    PGPDecryptionError,
    PGPError,
    PubKeyAlgorithm,
    SymmetricKeyAlgorithm,
    pgpy,
)
from pipeline.secrets import Secret, describe_reference, resolve_secret
from pipeline.transport_errors import PgpKeyError

__all__ = [
    "KEY_ALGORITHMS",
    "OpenPgpKey",
    "export_key",
    "generate_key",
    "load_key",
]

KEY_ALGORITHMS = ("ed25519", "rsa3072", "rsa4096")

_PREFS = {
    "hashes": [HashAlgorithm.SHA256, HashAlgorithm.SHA512, HashAlgorithm.SHA384],
    "ciphers": [SymmetricKeyAlgorithm.AES256, SymmetricKeyAlgorithm.AES128],
    "compression": [
        CompressionAlgorithm.ZLIB,
        CompressionAlgorithm.ZIP,
        CompressionAlgorithm.BZ2,
        CompressionAlgorithm.Uncompressed,
    ],
}


@dataclass(frozen=True)
class OpenPgpKey:
    """A loaded key: the pgpy object, where it came from, and its passphrase if protected."""

    key: pgpy.PGPKey = field(repr=False)
    source: str
    passphrase: Secret | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        return str(self.key.fingerprint).replace(" ", "")

    @property
    def key_id(self) -> str:
        return self.fingerprint[-16:]

    @property
    def is_secret(self) -> bool:
        return not self.key.is_public

    @property
    def user_id(self) -> str:
        uid = next(iter(self.key.userids), None)
        if uid is None:
            return ""
        return f"{uid.name} <{uid.email}>" if uid.email else str(uid.name)

    @property
    def key_ids(self) -> frozenset[str]:
        """Key ids of the primary key and every subkey (upper-case hex)."""
        return frozenset({self.key_id, *(str(k).upper() for k in self.key.subkeys)})

    @property
    def public(self) -> OpenPgpKey:
        if self.key.is_public:
            return self
        return OpenPgpKey(self.key.pubkey, self.source)

    @contextmanager
    def unlocked(self) -> Iterator[pgpy.PGPKey]:
        """The pgpy key, unlocked for the duration of the block when it is protected."""
        if self.key.is_public or not self.key.is_protected:
            yield self.key
            return
        if self.passphrase is None:
            raise PgpKeyError(f"{self.source}: the key is passphrase-protected; set its passphrase")
        manager = self.key.unlock(self.passphrase.reveal())
        try:
            with _quiet():
                unlocked = manager.__enter__()
        except (PGPDecryptionError, PGPError) as exc:
            raise PgpKeyError(f"{self.source}: wrong passphrase for the key") from exc
        try:
            yield unlocked
        finally:
            manager.__exit__(None, None, None)

    def __str__(self) -> str:
        kind = "secret" if self.is_secret else "public"
        return f"{kind} key {self.fingerprint} {self.user_id!r} ({self.source})"


@contextmanager
def _quiet() -> Iterator[None]:
    """pgpy warns about preferences and deprecated primitives; those are not our errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _read_reference(ref: str | Path, *, setting: str) -> tuple[bytes, str]:
    if isinstance(ref, str) and ref.startswith(("env:", "file:")):
        secret = resolve_secret(ref, setting=setting)
        return secret.reveal().encode("utf-8"), describe_reference(ref)
    path = Path(ref).expanduser()
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise PgpKeyError(f"{setting}: cannot read key file {path}: {exc.strerror}") from exc


def load_key(
    ref: str | Path,
    *,
    passphrase: str | Secret | None = None,
    setting: str = "key",
    require_secret: bool = False,
) -> OpenPgpKey:
    """Load one key from a path or ``env:``/``file:`` reference; unlock-test protected keys.

    ``passphrase`` may itself be a reference string (``env:PGP_PASS``) or a :class:`Secret`.
    """
    data, source = _read_reference(ref, setting=setting)
    try:
        with _quiet():
            key, _ = pgpy.PGPKey.from_blob(data)
    except (PGPError, ValueError, TypeError, NotImplementedError, IndexError) as exc:
        raise PgpKeyError(f"{setting}: {source} is not an OpenPGP key: {exc}") from exc
    if require_secret and key.is_public:
        raise PgpKeyError(f"{setting}: {source} holds a public key; a secret key is needed")
    secret = (
        resolve_secret(passphrase, setting=f"{setting}_passphrase")
        if isinstance(passphrase, str)
        else passphrase
    )
    loaded = OpenPgpKey(key, source, secret)
    if not key.is_public and key.is_protected:
        with loaded.unlocked():
            pass
    return loaded


def _fix_rsa_primes(key: pgpy.PGPKey) -> None:
    """Store p < q and u = p⁻¹ mod q, as RFC 4880 §5.5.3 and libgcrypt expect."""
    material = key._key.keymaterial
    p, q = int(material.p), int(material.q)
    if p > q:
        mpi = type(material.p)
        material.p, material.q = mpi(q), mpi(p)
        material.u = mpi(rsa.rsa_crt_iqmp(p, q))  # inverse of the new p (=q) mod the new q (=p)
        material._compute_chksum()


def generate_key(
    name: str,
    email: str,
    *,
    algorithm: str = "ed25519",
    passphrase: str | None = None,
    comment: str = "",
) -> OpenPgpKey:
    """A new key pair: a signing primary key with an encryption subkey, no expiry.

    ``algorithm`` is ``ed25519`` (Ed25519 + Cv25519, the default) or ``rsa3072``/``rsa4096``.
    With a passphrase the secret key is protected with AES-256 and iterated+salted SHA-256.
    """
    if algorithm not in KEY_ALGORITHMS:
        raise ValueError(f"algorithm must be one of {KEY_ALGORITHMS}, not {algorithm!r}")
    with _quiet():
        if algorithm == "ed25519":
            primary = pgpy.PGPKey.new(PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519)
            sub = pgpy.PGPKey.new(PubKeyAlgorithm.ECDH, EllipticCurveOID.Curve25519)
        else:
            bits = int(algorithm[3:])
            primary = pgpy.PGPKey.new(PubKeyAlgorithm.RSAEncryptOrSign, bits)
            sub = pgpy.PGPKey.new(PubKeyAlgorithm.RSAEncryptOrSign, bits)
            _fix_rsa_primes(primary)
            _fix_rsa_primes(sub)
        uid = pgpy.PGPUID.new(name, email=email, comment=comment)
        primary.add_uid(uid, usage={KeyFlags.Sign, KeyFlags.Certify}, **_PREFS)
        primary.add_subkey(sub, usage={KeyFlags.EncryptCommunications, KeyFlags.EncryptStorage})
        if passphrase:
            primary.protect(passphrase, SymmetricKeyAlgorithm.AES256, HashAlgorithm.SHA256)
    secret = Secret(passphrase, source="generated") if passphrase else None
    return OpenPgpKey(primary, f"generated {algorithm}", secret)


def export_key(key: OpenPgpKey, *, secret: bool = False, armored: bool = True) -> bytes:
    """The key's transferable form: public by default, the (still protected) secret on request."""
    if secret and not key.is_secret:
        raise PgpKeyError(f"{key.source}: no secret key to export")
    target = key.key if secret else key.key.pubkey
    data = bytes(target)
    if not armored:
        return data
    kind = "PRIVATE KEY BLOCK" if secret else "PUBLIC KEY BLOCK"
    return armor(data, kind=kind, headers={"Comment": key.user_id[:60] or key.fingerprint})
