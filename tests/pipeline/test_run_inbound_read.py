"""The ingest's read of one inbound file: hash check, unseal to a work file, parse, and no
plaintext left behind whatever happens."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.pgp import seal, unseal_file_from_bank
from pipeline.pgp_settings import PgpKeys, PgpSettings
from pipeline.run.files import unsealed_dir
from pipeline.run.inbound_read import (
    BadInboundFile,
    clear_unsealed,
    read_inbound,
    unsealed_copy,
)
from pipeline.transport_errors import (
    PgpMissingSignatureError,
    PgpNotEncryptedError,
    PgpTamperedError,
    PgpUnknownSignerError,
)

RETURN_FILE = Path(__file__).resolve().parents[2] / "sample_files" / "return.ach"
NOC_FILE = RETURN_FILE.with_name("noc.ach")
RECEIVED = date(2026, 3, 10)


class KeySealer:
    """The run's sealer over fixed keys (``PgpSealer`` reads them from a configuration)."""

    suffix = ".pgp"

    def __init__(self, keys: PgpKeys, settings: PgpSettings) -> None:
        self.keys, self.settings = keys, settings
        self.calls = 0

    def unseal_file(self, source: Path, target: Path) -> None:
        self.calls += 1
        unseal_file_from_bank(source, target, keys=self.keys, settings=self.settings)


@pytest.fixture
def sealer(ours, bank):
    return KeySealer(PgpKeys(ours=ours, bank=bank.public, archive=ours), PgpSettings())


def _inbound(tmp_path: Path, data: bytes, name: str = "RETURN.ach.pgp") -> tuple[Path, str]:
    path = tmp_path / "data" / "inbound" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def _sealed(plain: bytes, signer, ours, **kwargs) -> bytes:
    return seal(plain, signer=signer, recipients=[ours.public], self_test_key=None, **kwargs)


def _read(tmp_path: Path, path: Path, sha: str, sealer) -> tuple[str, object]:
    return read_inbound(path, sha, path.name, RECEIVED, data_dir=tmp_path / "data", sealer=sealer)


def _leftovers(tmp_path: Path) -> list[str]:
    work = unsealed_dir(tmp_path / "data")
    return sorted(p.name for p in work.iterdir()) if work.exists() else []


@pytest.mark.parametrize("armored", [False, True])
@pytest.mark.parametrize("compression", ["none", "zip"])
def test_return_file_is_read_and_its_plaintext_removed(
    tmp_path, sealer, ours, bank, armored, compression
):
    data = _sealed(RETURN_FILE.read_bytes(), bank, ours, armored=armored, compression=compression)
    path, sha = _inbound(tmp_path, data)
    kind, (returns, nocs) = _read(tmp_path, path, sha, sealer)
    assert kind == "return" and nocs.height == 0
    assert returns.height >= 1 and returns["return_code"][0] == "R01"
    assert returns["amount_cents"].dtype.is_integer()
    assert set(returns["received_date"]) == {RECEIVED}
    assert _leftovers(tmp_path) == []
    assert path.read_bytes() == data  # the sealed local copy stays as recorded


def test_noc_file(tmp_path, sealer, ours, bank):
    path, sha = _inbound(tmp_path, _sealed(NOC_FILE.read_bytes(), bank, ours), "NOC.ach.pgp")
    kind, (returns, nocs) = _read(tmp_path, path, sha, sealer)
    assert kind == "noc" and nocs.height >= 1 and returns.height == 0


def test_acknowledgment_after_leading_whitespace(tmp_path, sealer, ours, bank):
    ack = {"fileName": "OUT.ach.pgp", "status": "ACCEPTED"}
    plain = b" \n\t" * 40_000 + json.dumps(ack).encode()  # whitespace beyond one sniff read
    path, sha = _inbound(tmp_path, _sealed(plain, bank, ours), "ACK.json.pgp")
    assert _read(tmp_path, path, sha, sealer) == ("ack", ack)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (
            lambda ours, bank, stranger: _sealed(RETURN_FILE.read_bytes(), stranger, ours),
            PgpUnknownSignerError,
        ),
        (lambda ours, bank, stranger: RETURN_FILE.read_bytes(), PgpNotEncryptedError),
    ],
    ids=["signed-by-stranger", "plain"],
)
def test_unverified_files_raise_and_leave_no_plaintext(
    tmp_path, sealer, ours, bank, stranger, make, error
):
    path, sha = _inbound(tmp_path, make(ours, bank, stranger))
    with pytest.raises(error):
        _read(tmp_path, path, sha, sealer)
    assert _leftovers(tmp_path) == []


def test_unsigned_plain_file_is_refused_even_when_encryption_is_optional(tmp_path, ours, bank):
    keys = PgpKeys(ours=ours, bank=bank.public, archive=ours)
    lenient = KeySealer(keys, PgpSettings(require_encryption=False))
    path, sha = _inbound(tmp_path, RETURN_FILE.read_bytes())
    with pytest.raises(PgpMissingSignatureError):
        _read(tmp_path, path, sha, lenient)
    assert _leftovers(tmp_path) == []


def test_tampered_file_raises_and_leaves_no_plaintext(tmp_path, sealer, ours, bank):
    data = bytearray(_sealed(RETURN_FILE.read_bytes() * 50, bank, ours, compression="none"))
    data[len(data) // 2] ^= 0x01
    path, sha = _inbound(tmp_path, bytes(data))  # recorded as it is: the hash matches
    with pytest.raises(PgpTamperedError):
        _read(tmp_path, path, sha, sealer)
    assert _leftovers(tmp_path) == []


def test_local_copy_changed_after_recording_is_refused_before_unsealing(
    tmp_path, sealer, ours, bank
):
    data = _sealed(RETURN_FILE.read_bytes(), bank, ours)
    path, sha = _inbound(tmp_path, data)
    path.write_bytes(data + b"\0")
    with pytest.raises(BadInboundFile, match="does not match its recorded sha256"):
        _read(tmp_path, path, sha, sealer)
    path.unlink()
    with pytest.raises(BadInboundFile, match="is missing"):
        _read(tmp_path, path, sha, sealer)
    assert sealer.calls == 0


@pytest.mark.parametrize(
    ("plain", "message"),
    [
        (b"not a nacha file at all\n" * 10, "not a NACHA file"),
        (b"{not json", "not valid JSON"),
        ((RETURN_FILE.parent / "ppd-debit.ach").read_bytes(), "neither returns nor NOCs"),
    ],
    ids=["garbage", "bad-json", "no-returns"],
)
def test_verified_but_unreadable_content_is_refused_and_removed(
    tmp_path, sealer, ours, bank, plain, message
):
    path, sha = _inbound(tmp_path, _sealed(plain, bank, ours))
    with pytest.raises(BadInboundFile, match=message):
        _read(tmp_path, path, sha, sealer)
    assert _leftovers(tmp_path) == []


def test_work_file_is_private_and_gone_after_the_block(tmp_path, sealer, ours, bank):
    path, sha = _inbound(tmp_path, _sealed(RETURN_FILE.read_bytes(), bank, ours))
    data_dir = tmp_path / "data"
    with unsealed_copy(path, sha, path.name, data_dir=data_dir, sealer=sealer) as plain:
        assert plain.read_bytes() == RETURN_FILE.read_bytes()
        assert plain.parent == unsealed_dir(data_dir)
        assert plain.stat().st_mode & 0o077 == 0
        assert plain.parent.stat().st_mode & 0o077 == 0
    assert not plain.exists()
    with (
        pytest.raises(RuntimeError),
        unsealed_copy(path, sha, path.name, data_dir=data_dir, sealer=sealer),
    ):
        raise RuntimeError("the parse failed")
    assert _leftovers(tmp_path) == []


def test_clear_unsealed_removes_what_a_crash_left(tmp_path):
    data_dir = tmp_path / "data"
    assert clear_unsealed(data_dir) == 0  # no directory yet
    work = unsealed_dir(data_dir)
    work.mkdir(parents=True)
    (work / "0123456789abcdef.plain").write_bytes(b"plaintext")
    (work / ".0123456789abcdef.plain.x1.partial").write_bytes(b"half")
    assert clear_unsealed(data_dir) == 2
    assert list(work.iterdir()) == []
