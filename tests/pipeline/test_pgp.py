"""seal/unseal with our own keys: round trips, and every way a file must be refused."""

from __future__ import annotations

import hashlib
import os

import pytest

from pipeline.errors import ConfigError
from pipeline.keys import export_key, generate_key, load_key
from pipeline.pgp import seal, seal_for_bank, unseal, unseal_from_bank
from pipeline.pgp_armor import armor, dearmor
from pipeline.pgp_settings import PgpSettings
from pipeline.transport_errors import (
    PgpFormatError,
    PgpKeyError,
    PgpMissingSignatureError,
    PgpNotEncryptedError,
    PgpSelfTestError,
    PgpTamperedError,
    PgpUnknownSignerError,
    PgpWrongKeyError,
)

NACHA_LINE = b"101 091000019 1234567892601051200A094101BANK                   ACME CORP      \n"


@pytest.mark.parametrize("armored", [False, True])
@pytest.mark.parametrize("compression", ["none", "zip", "zlib", "bzip2"])
def test_round_trip(ours, bank, armored, compression):
    data = NACHA_LINE * 500
    sealed = seal(
        data,
        signer=ours,
        recipients=[bank.public, ours.public],
        self_test_key=ours,
        armored=armored,
        compression=compression,
        filename="f.ach",
    )
    assert sealed.startswith(b"-----BEGIN PGP MESSAGE-----") == armored
    assert data not in sealed
    got = unseal(sealed, key=bank, verify_with=[ours.public])
    assert got.plaintext == data
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.signed_by == ours.fingerprint
    assert got.was_encrypted and got.was_armored == armored
    assert got.filename == "f.ach"
    # the archive copy: we can always read what we sent
    assert unseal(sealed, key=ours, verify_with=[ours.public]).plaintext == data


def test_binary_plaintext_comes_back_as_bytes(ours, bank):
    data = bytes(range(256)) * 10
    got = unseal(
        seal(data, signer=ours, recipients=[bank], self_test_key=None), key=bank, verify_with=[ours]
    )
    assert isinstance(got.plaintext, bytes) and got.plaintext == data


def test_empty_file(ours, bank):
    sealed = seal(b"", signer=ours, recipients=[bank, ours], self_test_key=ours)
    assert unseal(sealed, key=bank, verify_with=[ours]).plaintext == b""


@pytest.mark.parametrize("where", [0.3, 0.6, 0.95])
def test_tampered_ciphertext_is_rejected(ours, bank, where):
    sealed = bytearray(
        seal(
            os.urandom(5000), signer=ours, recipients=[bank], self_test_key=None, compression="none"
        )
    )
    sealed[int(len(sealed) * where)] ^= 0x01
    with pytest.raises((PgpTamperedError, PgpFormatError)):
        unseal(bytes(sealed), key=bank, verify_with=[ours])


def test_tampered_armor_is_rejected(ours, bank):
    sealed = seal(NACHA_LINE * 50, signer=ours, recipients=[bank], self_test_key=None, armored=True)
    binary = bytearray(dearmor(sealed).data)
    binary[-30] ^= 0x80
    with pytest.raises(PgpTamperedError):
        unseal(armor(bytes(binary)), key=bank, verify_with=[ours])


def test_wrong_signer_is_rejected(ours, bank, stranger):
    sealed = seal(NACHA_LINE, signer=stranger, recipients=[bank], self_test_key=None)
    with pytest.raises(PgpUnknownSignerError) as err:
        unseal(sealed, key=bank, verify_with=[ours])
    assert stranger.key_id in err.value.signers


def test_wrong_key_is_rejected(ours, bank, stranger):
    sealed = seal(NACHA_LINE, signer=ours, recipients=[bank], self_test_key=None)
    with pytest.raises(PgpWrongKeyError):
        unseal(sealed, key=stranger, verify_with=[ours])


def test_plain_data_is_refused_unless_allowed(ours):
    with pytest.raises(PgpNotEncryptedError):
        unseal(NACHA_LINE, key=ours, verify_with=[ours])
    with pytest.raises(PgpMissingSignatureError):
        unseal(NACHA_LINE, key=ours, verify_with=[ours], require_encryption=False)
    got = unseal(
        NACHA_LINE, key=ours, verify_with=[], require_encryption=False, require_signature=False
    )
    assert got.plaintext == NACHA_LINE and not got.was_encrypted and got.signed_by is None


def test_self_test_refuses_a_key_that_cannot_read_the_result(ours, bank, stranger):
    with pytest.raises(PgpSelfTestError):
        seal(NACHA_LINE, signer=ours, recipients=[bank], self_test_key=stranger)


def test_signing_needs_a_secret_key(ours, bank):
    with pytest.raises(PgpKeyError):
        seal(NACHA_LINE, signer=ours.public, recipients=[bank], self_test_key=None)


def test_passphrase_protected_keys(tmp_path, monkeypatch, bank):
    protected = generate_key("Prot", "p@acme.test", passphrase="correct horse")
    path = tmp_path / "prot.sec.asc"
    path.write_bytes(export_key(protected, secret=True))
    with pytest.raises(PgpKeyError, match="passphrase"):
        load_key(path)  # protected, no passphrase: refused at load, not at 2 a.m.
    monkeypatch.setenv("TEST_PGP_PASS", "wrong")
    with pytest.raises(PgpKeyError, match="wrong passphrase"):
        load_key(path, passphrase="env:TEST_PGP_PASS")
    monkeypatch.setenv("TEST_PGP_PASS", "correct horse")
    key = load_key(path, passphrase="env:TEST_PGP_PASS")
    sealed = seal(NACHA_LINE, signer=key, recipients=[bank, key], self_test_key=key)
    assert unseal(sealed, key=key, verify_with=[key]).plaintext == NACHA_LINE


def test_keys_from_env_and_file_references(tmp_path, monkeypatch, ours):
    armored = export_key(ours, secret=True).decode()
    monkeypatch.setenv("TEST_PGP_KEY", armored)
    assert load_key("env:TEST_PGP_KEY").fingerprint == ours.fingerprint
    (tmp_path / "k.asc").write_text(armored)
    assert load_key(f"file:{tmp_path / 'k.asc'}").fingerprint == ours.fingerprint
    (tmp_path / "k.bin").write_bytes(export_key(ours, armored=False))
    loaded = load_key(tmp_path / "k.bin")
    assert not loaded.is_secret and loaded.fingerprint == ours.fingerprint
    with pytest.raises(PgpKeyError, match="secret"):
        load_key(tmp_path / "k.bin", require_secret=True)
    with pytest.raises(PgpKeyError):
        load_key(tmp_path / "missing.asc")
    (tmp_path / "junk.asc").write_text("not a key")
    with pytest.raises(PgpKeyError):
        load_key(tmp_path / "junk.asc")


def test_settings_and_bank_helpers(tmp_path, ours, bank):
    (tmp_path / "ours.asc").write_bytes(export_key(ours, secret=True))
    (tmp_path / "bank.asc").write_bytes(export_key(bank))
    (tmp_path / "bank.sec.asc").write_bytes(export_key(bank, secret=True))
    settings = PgpSettings.from_mapping(
        {
            "our_key": str(tmp_path / "ours.asc"),
            "bank_key": str(tmp_path / "bank.asc"),
            "armor": True,
            "compression": "zlib",
        }
    )
    keys = settings.load_keys()
    sealed = seal_for_bank(NACHA_LINE * 10, keys=keys, settings=settings, filename="x.ach")
    assert sealed.startswith(b"-----BEGIN PGP MESSAGE-----")
    bank_key = load_key(tmp_path / "bank.sec.asc")
    assert unseal(sealed, key=bank_key, verify_with=[ours]).plaintext == NACHA_LINE * 10
    # and the reverse direction: the bank's file to us
    reply = seal(b"ack", signer=bank_key, recipients=[ours], self_test_key=None)
    assert unseal_from_bank(reply, keys=keys, settings=settings).signed_by == bank.fingerprint


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"armor": "yes"}, "pgp.armor"),
        ({"compression": "lzma"}, "pgp.compression"),
        ({"our_key": ""}, "pgp.our_key"),
        ({"bank_kye": "x"}, "pgp.bank_kye"),
    ],
)
def test_settings_validation_names_the_key(mapping, key):
    with pytest.raises(ConfigError, match=key):
        PgpSettings.from_mapping(mapping)


def test_settings_need_keys_to_load():
    with pytest.raises(ConfigError, match=r"pgp\.our_key"):
        PgpSettings.from_mapping({}).load_keys()


def test_rsa_keys_store_p_below_q():
    key = generate_key("Rsa", "r@acme.test", algorithm="rsa3072")
    for k in (key.key, *key.key.subkeys.values()):
        material = k._key.keymaterial
        p, q, u = int(material.p), int(material.q), int(material.u)
        assert p < q
        assert (p * u) % q == 1


@pytest.mark.parametrize("where", [0.2, 0.5, 0.8])
def test_corrupted_armor_body_is_rejected(ours, bank, where):
    """A changed radix-64 character is caught by the MDC/signature even without the CRC."""
    sealed = bytearray(
        seal(
            NACHA_LINE * 40,
            signer=ours,
            recipients=[bank],
            self_test_key=None,
            armored=True,
            compression="none",
        )
    )
    body_start = sealed.index(b"\n\n") + 2
    body_end = sealed.index(b"\n=")
    pos = body_start + int((body_end - body_start) * where)
    while sealed[pos : pos + 1] == b"\n":
        pos += 1
    sealed[pos] = ord("A") if sealed[pos] != ord("A") else ord("B")
    with pytest.raises((PgpTamperedError, PgpFormatError)):
        unseal(bytes(sealed), key=bank, verify_with=[ours])
