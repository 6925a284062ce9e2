"""unseal_file: the same plaintext and verdicts as unseal, and no output unless verified."""

from __future__ import annotations

import os

import pytest

from pipeline import pgp_cfb
from pipeline.pgp import seal, unseal, unseal_file
from pipeline.pgp_armor import armor, dearmor
from pipeline.pgp_packets import TAG_COMPRESSED, TAG_SEIPD, new_format_header
from pipeline.transport_errors import (
    PgpBadSignatureError,
    PgpMissingSignatureError,
    PgpNotEncryptedError,
    PgpTamperedError,
    PgpUnknownSignerError,
    PgpWrongKeyError,
)

NACHA_LINE = b"101 091000019 1234567892601051200A094101BANK                   ACME CORP      \n"


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    """Many decrypted pieces even for small files (each one a separate write)."""
    monkeypatch.setattr(pgp_cfb, "_PIECE", 4096)


def _same_as_unseal(tmp_path, sealed: bytes, **kwargs):
    source, target = tmp_path / "in.pgp", tmp_path / "out.ach"
    source.write_bytes(sealed)
    want = unseal(sealed, **kwargs)
    got = unseal_file(source, target, **kwargs)
    assert target.read_bytes() == want.plaintext
    assert (got.path, got.size, got.sha256) == (target, len(want.plaintext), want.sha256)
    assert (got.signed_by, got.was_encrypted, got.was_armored, got.filename) == (
        want.signed_by,
        want.was_encrypted,
        want.was_armored,
        want.filename,
    )
    assert got.encrypted_to == want.encrypted_to
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.pgp", "out.ach"]  # no temp left
    return got


@pytest.mark.parametrize("armored", [False, True])
@pytest.mark.parametrize("compression", ["none", "zip", "bzip2"])
@pytest.mark.parametrize("size", [0, 1, 4095, 50_000])
def test_equals_unseal(tmp_path, ours, bank, armored, compression, size):
    data = os.urandom(size)
    sealed = seal(
        data,
        signer=ours,
        recipients=[bank.public, ours.public],
        self_test_key=ours,
        armored=armored,
        compression=compression,
        filename="f.ach",
    )
    got = _same_as_unseal(tmp_path, sealed, key=bank, verify_with=[ours.public])
    assert got.signed_by == ours.fingerprint and got.filename == "f.ach"


def _reencrypted(sealed: bytes, key, stream_of):
    """``sealed`` with its decrypted packet stream rewritten by ``stream_of`` (same session
    key and recipients): shapes seal never writes, such as stored compression."""
    import hashlib

    from cryptography.hazmat.decrepit.ciphers.modes import CFB
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    from pipeline.pgp_open import _decrypt_seipd, decrypt_session_key
    from pipeline.pgp_packets import iter_packets

    packets = list(iter_packets(sealed))
    pkesks = [p.body for p in packets if p.tag == 1]
    seipd = next(p for p in packets if p.tag == TAG_SEIPD)
    _, session_key, _ = decrypt_session_key(pkesks, key)
    inner = bytes(_decrypt_seipd(seipd.parts, session_key)[:-22])
    prefix = os.urandom(16)
    prefix += prefix[-2:]
    plain = prefix + stream_of(inner) + b"\xd3\x14"
    plain += hashlib.sha1(plain).digest()
    engine = Cipher(algorithms.AES(session_key), CFB(bytes(16))).encryptor()
    body = b"\x01" + engine.update(plain) + engine.finalize()
    head = b"".join(bytes(p.header) + bytes(p.body) for p in packets if p.tag == 1)
    return head + new_format_header(TAG_SEIPD, len(body)) + body


def test_general_path_starts_the_output_over(tmp_path, ours, bank):
    """A marker packet after the literal data sends the stream to the general path after
    some plaintext was written: the output must hold it once, not twice."""
    data = NACHA_LINE * 300
    sealed = seal(data, signer=ours, recipients=[bank], self_test_key=None, compression="none")
    odd = _reencrypted(sealed, bank, lambda s: s + new_format_header(10, 3) + b"PGP")
    got = _same_as_unseal(tmp_path, odd, key=bank, verify_with=[ours.public])
    assert (tmp_path / "out.ach").read_bytes() == data and got.signed_by == ours.fingerprint


def test_stored_compression(tmp_path, ours, bank):
    data = NACHA_LINE * 30
    sealed = seal(data, signer=ours, recipients=[bank], self_test_key=None, compression="none")
    stored = _reencrypted(
        sealed, bank, lambda s: new_format_header(TAG_COMPRESSED, len(s) + 1) + b"\x00" + s
    )
    _same_as_unseal(tmp_path, stored, key=bank, verify_with=[ours.public])
    assert (tmp_path / "out.ach").read_bytes() == data


@pytest.mark.parametrize("tamper", [False, True])
def test_signature_checked_from_the_file_when_the_hash_is_not_sha256(
    tmp_path, ours, bank, monkeypatch, tamper
):
    """A SHA-512 signature cannot reuse the SHA-256 pass: the plaintext is read back from
    the temporary file (a signature over other data still fails)."""
    from pipeline import pgp
    from pipeline.pgpy_compat import HashAlgorithm

    def sha512(key, data):
        signed = data + b"x" if tamper else data
        return key.sign(signed, hash=HashAlgorithm.SHA512)

    data = NACHA_LINE * 100
    with monkeypatch.context() as patched:
        patched.setattr(pgp, "sign_binary", sha512)
        sealed = seal(data, signer=ours, recipients=[bank], self_test_key=None)
    if tamper:
        (tmp_path / "in.pgp").write_bytes(sealed)
        with pytest.raises(PgpBadSignatureError):
            unseal_file(tmp_path / "in.pgp", tmp_path / "o", key=bank, verify_with=[ours])
        assert [p.name for p in tmp_path.iterdir()] == ["in.pgp"]
        return
    got = _same_as_unseal(tmp_path, sealed, key=bank, verify_with=[ours.public])
    assert got.signed_by == ours.fingerprint


@pytest.mark.parametrize("where", [0.3, 0.6, 0.95, -30])
def test_tampered_file_leaves_no_output(tmp_path, ours, bank, where):
    sealed = bytearray(
        seal(
            NACHA_LINE * 400, signer=ours, recipients=[bank], self_test_key=None, compression="none"
        )
    )
    sealed[int(len(sealed) * where) if isinstance(where, float) else where] ^= 0x01
    (tmp_path / "in.pgp").write_bytes(sealed)
    with pytest.raises(PgpTamperedError):
        unseal_file(tmp_path / "in.pgp", tmp_path / "out.ach", key=bank, verify_with=[ours])
    assert [p.name for p in tmp_path.iterdir()] == ["in.pgp"]


def test_tampered_armor_leaves_no_output(tmp_path, ours, bank):
    sealed = seal(NACHA_LINE * 50, signer=ours, recipients=[bank], self_test_key=None, armored=True)
    binary = bytearray(dearmor(sealed).data)
    binary[-30] ^= 0x80
    (tmp_path / "in.asc").write_bytes(armor(bytes(binary)))
    with pytest.raises(PgpTamperedError):
        unseal_file(tmp_path / "in.asc", tmp_path / "out.ach", key=bank, verify_with=[ours])
    assert [p.name for p in tmp_path.iterdir()] == ["in.asc"]


@pytest.mark.parametrize(
    ("signer", "verify", "key", "error"),
    [
        ("stranger", "ours", "bank", PgpUnknownSignerError),
        ("ours", "ours", "stranger", PgpWrongKeyError),
    ],
)
def test_refused_files_leave_no_output(tmp_path, request, signer, verify, key, error):
    keys = {n: request.getfixturevalue(n) for n in ("ours", "bank", "stranger")}
    sealed = seal(
        NACHA_LINE * 100, signer=keys[signer], recipients=[keys["bank"]], self_test_key=None
    )
    (tmp_path / "in.pgp").write_bytes(sealed)
    with pytest.raises(error):
        unseal_file(tmp_path / "in.pgp", tmp_path / "o", key=keys[key], verify_with=[keys[verify]])
    assert [p.name for p in tmp_path.iterdir()] == ["in.pgp"]


def test_plain_data_rules(tmp_path, ours):
    (tmp_path / "in.ach").write_bytes(NACHA_LINE)
    with pytest.raises(PgpNotEncryptedError):
        unseal_file(tmp_path / "in.ach", tmp_path / "o", key=ours, verify_with=[ours])
    with pytest.raises(PgpMissingSignatureError):
        unseal_file(
            tmp_path / "in.ach", tmp_path / "o", key=ours, verify_with=[], require_encryption=False
        )
    assert not (tmp_path / "o").exists()
    got = unseal_file(
        tmp_path / "in.ach",
        tmp_path / "o",
        key=ours,
        verify_with=[],
        require_encryption=False,
        require_signature=False,
    )
    assert (tmp_path / "o").read_bytes() == NACHA_LINE and got.signed_by is None


def test_existing_target_is_kept_unless_replace(tmp_path, ours, bank):
    sealed = seal(NACHA_LINE, signer=ours, recipients=[bank], self_test_key=None)
    (tmp_path / "in.pgp").write_bytes(sealed)
    (tmp_path / "out").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        unseal_file(tmp_path / "in.pgp", tmp_path / "out", key=bank, verify_with=[ours])
    assert (tmp_path / "out").read_bytes() == b"old"
    unseal_file(tmp_path / "in.pgp", tmp_path / "out", key=bank, verify_with=[ours], replace=True)
    assert (tmp_path / "out").read_bytes() == NACHA_LINE
