"""Interop with the real GnuPG binary, both directions, RSA and Curve25519.

gpg decrypts and verifies what we seal; we unseal and verify what ``gpg --sign --encrypt``
produces (armored and binary, compressed and not, streamed from stdin so its packets use
partial body lengths). Signatures made by keys *we* generate are verified by gpg over many
messages, because pgpy's stock RSA keys (p > q) make gpg report BADSIG on ~2 % of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.keys import OpenPgpKey, export_key, generate_key, load_key
from pipeline.pgp import seal, unseal, unseal_file
from pipeline.pgp_armor import dearmor
from pipeline.pgp_packets import iter_packets
from pipeline.transport_errors import (
    PgpMissingSignatureError,
    PgpTamperedError,
    PgpUnknownSignerError,
)

KINDS = {"ed25519": ("ed25519", "ed25519"), "rsa": ("rsa3072", "rsa2048")}  # ours, gpg's
DATA = b"".join(
    b"6220910000191234567890     000001%04d ID%013d JOHN DOE               0091000010%07d\n"
    % (i % 10000, i, i)
    for i in range(3000)
)


@pytest.fixture(scope="module")
def our_keys() -> dict[str, OpenPgpKey]:
    return {
        kind: generate_key(f"Acme {kind}", f"{kind}@acme.test", algorithm=ours)
        for kind, (ours, _) in KINDS.items()
    }


@pytest.fixture(scope="module")
def setup(gpg, our_keys, tmp_path_factory):
    """gpg keys of each kind, ours imported into gpg, gpg's public keys loaded by us."""
    directory = tmp_path_factory.mktemp("gpgkeys")
    theirs = {}
    for kind, (_, gpg_kind) in KINDS.items():
        key = gpg.generate(gpg_kind)
        path = directory / f"{kind}.pub.asc"
        path.write_bytes(key.public_armored)
        theirs[kind] = (key, load_key(path))
        gpg.import_key(export_key(our_keys[kind], secret=True))
    return theirs


def _status(proc_stderr_and_status: bytes) -> list[str]:
    return [
        line.removeprefix("[GNUPG:] ")
        for line in proc_stderr_and_status.decode().splitlines()
        if line.startswith("[GNUPG:] ")
    ]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    ("armored", "compression"),
    [(False, "none"), (True, "none"), (False, "zip"), (True, "zlib"), (False, "bzip2")],
)
def test_gpg_decrypts_and_verifies_what_we_seal(gpg, our_keys, setup, kind, armored, compression):
    _gpg_key, gpg_public = setup[kind]
    ours = our_keys[kind]
    sealed = seal(
        DATA,
        signer=ours,
        recipients=[gpg_public, ours.public],
        self_test_key=ours,
        armored=armored,
        compression=compression,
    )
    proc = gpg.run_full("--status-fd", "2", "--decrypt", input=sealed)
    status = _status(proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == DATA
    assert any(s.startswith(f"VALIDSIG {ours.fingerprint}") for s in status), status
    assert "DECRYPTION_OKAY" in status and "GOODMDC" in status


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    ("armored", "compress"),
    [(False, "none"), (True, "none"), (False, "zip"), (True, "zlib"), (False, "bzip2")],
)
def test_we_unseal_what_gpg_signs_and_encrypts(
    gpg, our_keys, setup, kind, armored, compress, tmp_path
):
    gpg_key, gpg_public = setup[kind]
    ours = our_keys[kind]
    args = ["--sign", "--encrypt", "-u", gpg_key.fingerprint, "-r", ours.fingerprint]
    args += ["-z", "0"] if compress == "none" else ["--compress-algo", compress]
    if armored:
        args.append("--armor")
    produced = gpg.run(*args, input=DATA)  # stdin: gpg streams with partial lengths
    got = unseal(produced, key=ours, verify_with=[gpg_public])
    assert got.plaintext == DATA
    assert got.signed_by == gpg_public.fingerprint
    assert got.was_encrypted and got.was_armored == armored
    (tmp_path / "in").write_bytes(produced)
    to_file = unseal_file(tmp_path / "in", tmp_path / "out", key=ours, verify_with=[gpg_public])
    assert (tmp_path / "out").read_bytes() == DATA
    assert (to_file.sha256, to_file.signed_by) == (got.sha256, got.signed_by)
    binary = dearmor(produced).data if armored else produced
    assert any(p.rewritten for p in iter_packets(binary)), "expected gpg's partial lengths"


def test_gpg_file_input_and_text_mode(gpg, our_keys, setup, tmp_path):
    gpg_key, gpg_public = setup["ed25519"]
    ours = our_keys["ed25519"]
    source = tmp_path / "file.ach"
    source.write_bytes(DATA)
    out = tmp_path / "file.ach.gpg"
    gpg.run(
        "--sign",
        "--encrypt",
        "-u",
        gpg_key.fingerprint,
        "-r",
        ours.fingerprint,
        "-o",
        str(out),
        str(source),
    )
    got = unseal(out.read_bytes(), key=ours, verify_with=[gpg_public])
    assert got.plaintext == DATA and got.filename == "file.ach"


def test_gpg_messages_we_must_refuse(gpg, our_keys, setup, tmp_path):
    gpg_key, gpg_public = setup["ed25519"]
    other_key, _other_public = setup["rsa"]
    ours = our_keys["ed25519"]
    unsigned = gpg.run("--encrypt", "-r", ours.fingerprint, input=DATA)
    with pytest.raises(PgpMissingSignatureError):
        unseal(unsigned, key=ours, verify_with=[gpg_public])
    assert unseal(unsigned, key=ours, verify_with=[], require_signature=False).plaintext == DATA

    signed_by_other = gpg.run(
        "--sign", "--encrypt", "-u", other_key.fingerprint, "-r", ours.fingerprint, input=DATA
    )
    with pytest.raises(PgpUnknownSignerError):
        unseal(signed_by_other, key=ours, verify_with=[gpg_public])

    good = bytearray(
        gpg.run(
            "--sign",
            "--encrypt",
            "-z",
            "0",
            "-u",
            gpg_key.fingerprint,
            "-r",
            ours.fingerprint,
            input=DATA,
        )
    )
    good[len(good) // 2] ^= 0x04
    with pytest.raises(PgpTamperedError):
        unseal(bytes(good), key=ours, verify_with=[gpg_public])
    (tmp_path / "in").write_bytes(good)
    with pytest.raises(PgpTamperedError):  # gpg's partial chunks: plaintext was written first
        unseal_file(tmp_path / "in", tmp_path / "out", key=ours, verify_with=[gpg_public])
    assert [p.name for p in tmp_path.iterdir()] == ["in"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_gpg_verifies_many_signatures_by_our_generated_keys(gpg, our_keys, setup, kind, tmp_path):
    """120 messages per key, one gpg process: a 2 % BADSIG rate would show up ~91 % of runs."""
    _, gpg_public = setup[kind]
    ours = our_keys[kind]
    count = 120
    files = []
    for i in range(count):
        path = tmp_path / f"m{i:03d}.gpg"
        message = os.urandom(32) + b"message %d" % i
        path.write_bytes(
            seal(
                message,
                signer=ours,
                recipients=[gpg_public],
                self_test_key=None,
                compression="none",
            )
        )
        files.append(str(path))
    proc = gpg.run_full("--status-fd", "2", "--multifile", "--decrypt", *files)
    status = _status(proc.stderr)
    good = [s for s in status if s.startswith("GOODSIG")]
    bad = [s for s in status if s.startswith(("BADSIG", "ERRSIG"))]
    assert not bad, bad[:3]
    assert len(good) == count, proc.stderr.decode()[-2000:]
    assert all(Path(f.removesuffix(".gpg")).exists() for f in files)
