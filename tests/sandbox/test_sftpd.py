"""The demo SFTP server: pinned host key, key and password auth, confined paths."""

from __future__ import annotations

import shutil
import subprocess

import paramiko
import pytest

from sandbox import Sandbox


@pytest.fixture
def served(tmp_path):
    sb = Sandbox(odfi_dir=tmp_path / "odfi", sftp_port=0).start()
    yield sb
    sb.stop()


def connect(sb: Sandbox, **auth) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(sb.paths["ssh_known_hosts"]))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        sb.host,
        port=sb.sftp_port,
        username="originator",
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
        **auth,
    )
    return client


def test_upload_with_rename_and_download_with_key(served, tmp_path):
    client = connect(served, key_filename=str(served.paths["ssh_client_key"]))
    sftp = client.open_sftp()
    assert sorted(sftp.listdir("/")) == ["inbound", "outbound"]
    assert sorted(sftp.listdir("/outbound")) == ["ack", "archive", "noc", "reports", "returns"]
    payload = b"x" * 100_000
    with sftp.open("/inbound/f.ach.pgp.part", "wb") as fh:
        fh.write(payload)
    sftp.rename("/inbound/f.ach.pgp.part", "/inbound/f.ach.pgp")
    assert sftp.stat("/inbound/f.ach.pgp").st_size == len(payload)
    with sftp.open("/inbound/f.ach.pgp", "rb") as fh:
        assert fh.read() == payload
    assert (served.paths["sftp_root"] / "inbound" / "f.ach.pgp").read_bytes() == payload
    with pytest.raises(OSError):  # rename never overwrites
        sftp.rename("/inbound/f.ach.pgp", "/inbound/f.ach.pgp")
    client.close()


def test_paths_cannot_escape_the_root(served):
    client = connect(served, password=served.sftp_password)
    sftp = client.open_sftp()
    assert sftp.normalize("../../..") == "/"
    assert sorted(sftp.listdir("/../..")) == ["inbound", "outbound"]
    with pytest.raises(OSError):
        sftp.stat("/../../etc/passwd")
    client.close()


def test_wrong_password_and_unknown_host_key_are_refused(served, tmp_path):
    with pytest.raises(paramiko.AuthenticationException):
        connect(served, password="wrong")
    stranger = paramiko.SSHClient()
    stranger.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        stranger.connect(
            served.host,
            port=served.sftp_port,
            username="originator",
            password=served.sftp_password,
            allow_agent=False,
            look_for_keys=False,
            timeout=10,
        )
    stranger.close()


@pytest.mark.skipif(shutil.which("sftp") is None, reason="OpenSSH sftp client not installed")
def test_openssh_sftp_client_interoperates(served, tmp_path):
    local = tmp_path / "up.ach"
    local.write_bytes(b"hello ach\n")
    batch = f"put {local} /inbound/up.ach.part\nrename /inbound/up.ach.part /inbound/up.ach\n"
    result = subprocess.run(
        [
            "sftp",
            "-b",
            "-",
            "-P",
            str(served.sftp_port),
            "-i",
            str(served.paths["ssh_client_key"]),
            "-o",
            f"UserKnownHostsFile={served.paths['ssh_known_hosts']}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            f"originator@{served.host}",
        ],
        input=batch.encode(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert (served.paths["sftp_root"] / "inbound" / "up.ach").read_bytes() == b"hello ach\n"


def test_keys_survive_a_restart(tmp_path):
    first = Sandbox(odfi_dir=tmp_path / "odfi", sftp_port=0).start()
    fingerprint, password = first.sftp_host_fingerprint, first.sftp_password
    bank = first.paths["bank_public_key"].read_text()
    first.stop()
    second = Sandbox(odfi_dir=tmp_path / "odfi", sftp_port=0).start()
    try:
        assert second.sftp_host_fingerprint == fingerprint
        assert second.sftp_password == password
        assert second.paths["bank_public_key"].read_text() == bank
    finally:
        second.stop()
