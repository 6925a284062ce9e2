"""SFTP against a real OpenSSH sshd: pinning, the upload protocol, inbound, failures."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.sftp import SftpClient, safe_name
from pipeline.sftp_connect import open_session
from pipeline.sftp_io import server_limits, write_size
from pipeline.sftp_settings import SftpSettings
from pipeline.transport_errors import (
    SftpAuthError,
    SftpConflictError,
    SftpHostKeyError,
    SftpNoSuchPathError,
    SftpPermissionError,
    SftpTransientError,
    SftpUnsafeNameError,
)
from tests.fixtures.sshd import SshdServer, start_sshd


def settings_for(server: SshdServer, **overrides: object) -> SftpSettings:
    base: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "private_key": str(server.client_key),
        "known_hosts": str(server.known_hosts),
        "upload_dir": "inbox",
        "inbound_dir": "outbox",
        "archive_dir": "archive",
        "connect_timeout": 5.0,
        "io_timeout": 5.0,
        "retries": 3,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
    }
    base.update(overrides)
    return SftpSettings.from_mapping({k: v for k, v in base.items() if v is not None})


class Sleeps(list[float]):
    """Records the backoff delays instead of sleeping (and lets a test hook into them)."""

    def __init__(self, hook=None):
        super().__init__()
        self.hook = hook

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.hook:
            self.hook()


def test_round_trip_upload_download_archive(sshd, tmp_path):
    data = os.urandom(3_000_000)
    sleeps = Sleeps()
    with SftpClient(
        settings_for(sshd, verify_readback=True), quarantine_dir=tmp_path, sleep=sleeps
    ) as client:
        result = client.upload(data, "ACME_20260105_A.ach.pgp")
        assert result.status == "uploaded" and result.verified_readback
        assert result.sha256 == hashlib.sha256(data).hexdigest() and result.attempts == 1
        assert (sshd.root / "inbox" / "ACME_20260105_A.ach.pgp").read_bytes() == data
        assert [p.name for p in (sshd.root / "inbox").iterdir()] == ["ACME_20260105_A.ach.pgp"]

        (sshd.root / "outbox" / "RETURN_20260106_1.ach").write_bytes(data[:1000])
        (sshd.root / "outbox" / "notes.txt").write_bytes(b"ignore me")
        (sshd.root / "outbox" / "x.ach.part").write_bytes(b"in flight")
        files = client.list_inbound(["*.ach"])
        assert [f.name for f in files] == ["RETURN_20260106_1.ach"]
        got = client.download(files[0])
        assert got.local_path == tmp_path / "RETURN_20260106_1.ach"
        assert got.local_path.read_bytes() == data[:1000]
        assert got.sha256 == hashlib.sha256(data[:1000]).hexdigest()
        assert client.download(files[0]).local_path == got.local_path  # idempotent
        assert client.archive(files[0]) == "archive/RETURN_20260106_1.ach"
        assert not (sshd.root / "outbox" / "RETURN_20260106_1.ach").exists()
        assert (sshd.root / "archive" / "RETURN_20260106_1.ach").exists()
        assert client.archive(files[0]) == "archive/RETURN_20260106_1.ach"  # retried move
    assert sleeps == []


def test_same_name_new_content_gets_a_distinct_local_name(sshd, tmp_path):
    remote = sshd.root / "outbox" / "ACK.json"
    with SftpClient(settings_for(sshd), quarantine_dir=tmp_path) as client:
        remote.write_bytes(b"first")
        first = client.download(client.list_inbound()[0])
        remote.write_bytes(b"second")
        second = client.download(client.list_inbound()[0])
    assert first.local_path.read_bytes() == b"first"
    assert second.local_path != first.local_path
    assert second.local_path.read_bytes() == b"second"


def test_existing_final_name(sshd):
    data = b"101 file content" * 1000
    with SftpClient(settings_for(sshd), sleep=Sleeps()) as client:
        assert client.upload(data, "f.ach").status == "uploaded"
        again = client.upload(data, "f.ach")
        assert again.status == "already_present" and again.attempts == 1
        with pytest.raises(SftpConflictError, match="refusing to overwrite"):
            client.upload(data + b"x", "f.ach")
    assert (sshd.root / "inbox" / "f.ach").read_bytes() == data


@pytest.mark.parametrize(
    "name", ["../escape.ach", "/etc/passwd", "a/b.ach", "..", ".", "", "a\\b", "x\n.ach", "\x00"]
)
def test_path_traversal_is_refused(sshd, name):
    with SftpClient(settings_for(sshd)) as client, pytest.raises(SftpUnsafeNameError):
        client.upload(b"data", name)
    assert list((sshd.root / "inbox").iterdir()) == []
    assert not (sshd.root / "escape.ach").exists()


def test_safe_name_accepts_ordinary_names():
    assert safe_name("ACME_20260105_A.ach.pgp") == "ACME_20260105_A.ach.pgp"
    assert safe_name("2023_07_28_1.csv") == "2023_07_28_1.csv"


def test_wrong_host_key_is_refused(sshd, sshd_factory, tmp_path):
    other = sshd_factory()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {other.host_public_key}\n")
    sleeps = Sleeps()
    client = SftpClient(settings_for(sshd, known_hosts=str(known)), sleep=sleeps)
    with pytest.raises(SftpHostKeyError) as err:
        client.connect()
    assert sshd.host_key_fingerprint in str(err.value)
    assert "MISMATCH" in str(err.value)
    assert err.value.offered == sshd.host_key_fingerprint
    assert sleeps == []  # permanent: no retries


def test_unknown_host_is_refused(sshd, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(SftpHostKeyError) as err:
        SftpClient(settings_for(sshd, known_hosts=str(empty)), sleep=Sleeps()).connect()
    assert sshd.host_key_fingerprint in str(err.value)
    assert "not pinned" in str(err.value)


def test_fingerprint_pin(sshd, sshd_factory):
    pinned = settings_for(sshd, known_hosts=None, host_key_fingerprint=sshd.host_key_fingerprint)
    with SftpClient(pinned) as client:
        assert client.host_key_fingerprint == sshd.host_key_fingerprint
    other = sshd_factory()
    wrong = settings_for(sshd, known_hosts=None, host_key_fingerprint=other.host_key_fingerprint)
    with pytest.raises(SftpHostKeyError, match=sshd.host_key_fingerprint.replace("+", r"\+")):
        SftpClient(wrong, sleep=Sleeps()).connect()


def test_authentication_failure_is_permanent(sshd, tmp_path):
    import subprocess

    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    sleeps = Sleeps()
    with pytest.raises(SftpAuthError):
        SftpClient(settings_for(sshd, private_key=str(stranger)), sleep=sleeps).connect()
    assert sleeps == []


def test_permission_denied_fails_without_retries(sshd_factory):
    server = sshd_factory(read_only=True)
    sleeps = Sleeps()
    with SftpClient(settings_for(server), sleep=sleeps) as client:
        with pytest.raises(SftpPermissionError):
            client.upload(b"data", "f.ach")
        assert client.attempts == 1
    assert sleeps == []
    assert list((server.root / "inbox").iterdir()) == []


def test_missing_directory_is_permanent(sshd):
    sleeps = Sleeps()
    client = SftpClient(settings_for(sshd, upload_dir="nope"), sleep=sleeps)
    with client, pytest.raises(SftpNoSuchPathError):
        client.upload(b"data", "f.ach")
    assert sleeps == []


def test_connection_refused_is_retried_then_transient(tmp_path):
    server = start_sshd(tmp_path / "gone")
    settings = settings_for(server, retries=2)
    server.stop()
    sleeps = Sleeps()
    with pytest.raises(SftpTransientError):
        SftpClient(settings, sleep=sleeps).connect()
    assert len(sleeps) == 2 and all(0 < s <= 0.2 for s in sleeps)


def test_connection_dropped_mid_upload_leaves_no_partial_and_retry_completes(sshd):
    data = os.urandom(24_000_000)
    inbox = sshd.root / "inbox"
    killed = threading.Event()

    def killer():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed.is_set():
            parts = [p for p in inbox.iterdir() if p.name.endswith(".part")]
            if parts and parts[0].stat().st_size > 2_000_000:
                assert sshd.kill_sessions() >= 1
                killed.set()
                return
            time.sleep(0.002)

    def between_attempts():
        # the moment after the drop: no file under the final name, only our .part
        assert not (inbox / "big.ach.pgp").exists()
        assert any(p.name.endswith(".part") for p in inbox.iterdir())

    sleeps = Sleeps(hook=between_attempts)
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    with SftpClient(settings_for(sshd), sleep=sleeps) as client:
        result = client.upload(data, "big.ach.pgp")
    thread.join()
    assert killed.is_set(), "upload finished before the session could be killed"
    assert result.status == "uploaded" and result.attempts >= 2 and len(sleeps) >= 1
    assert [p.name for p in inbox.iterdir()] == ["big.ach.pgp"]  # stale .part removed
    assert hashlib.sha256((inbox / "big.ach.pgp").read_bytes()).hexdigest() == result.sha256


def test_stalled_download_is_detected_and_retried(sshd, tmp_path):
    (sshd.root / "outbox" / "RETURN.ach").write_bytes(os.urandom(20_000_000))
    stopped: list[int] = []

    def resume_stopped():
        for pid in stopped:
            os.kill(pid, signal.SIGKILL)

    sleeps = Sleeps(hook=resume_stopped)
    with SftpClient(
        settings_for(sshd, io_timeout=1.0), quarantine_dir=tmp_path, sleep=sleeps
    ) as client:
        remote = client.list_inbound()[0]
        stopped.extend(sshd.session_pids())
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)  # the server stops answering mid-session
        started = time.monotonic()
        got = client.download(remote)
    assert time.monotonic() - started < 15
    assert len(sleeps) == 1
    assert got.local_path.read_bytes() == (sshd.root / "outbox" / "RETURN.ach").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["RETURN.ach"]


def test_direct_mode_for_servers_that_forbid_rename(sshd_factory):
    server = sshd_factory(sftp_flags="-P rename,posix-rename")
    data = b"direct " * 1000
    with SftpClient(settings_for(server), sleep=Sleeps()) as client:
        with pytest.raises(SftpPermissionError):
            client.upload(data, "a.ach")
        assert [p.name for p in (server.root / "inbox").iterdir()] == []  # .part cleaned up
        assert client.upload(data, "a.ach", direct=True).status == "uploaded"
    direct = settings_for(server, upload_mode="direct")
    with SftpClient(direct) as client:
        assert client.upload(data, "a.ach").status == "already_present"
        # a partial file from an interrupted direct upload is recognised and replaced
        (server.root / "inbox" / "b.ach").write_bytes(data[:100])
        assert client.upload(data, "b.ach").status == "uploaded"
    assert (server.root / "inbox" / "b.ach").read_bytes() == data


def test_check_probes_and_lists(sshd):
    (sshd.root / "outbox" / "ACK_1.json").write_text("{}")
    with SftpClient(settings_for(sshd)) as client:
        report = client.check()
    assert report.host_key == sshd.host_key_fingerprint
    assert report.upload_writable and report.inbound_files == ("ACK_1.json",)
    assert list((sshd.root / "inbox").iterdir()) == []  # probe removed


def test_unsafe_inbound_names_are_skipped(sshd, tmp_path):
    (sshd.root / "outbox" / "evil\nname.ach").write_text("x")
    (sshd.root / "outbox" / "good.ach").write_text("x")
    with SftpClient(settings_for(sshd), quarantine_dir=tmp_path) as client:
        assert [f.name for f in client.list_inbound()] == ["good.ach"]
        with pytest.raises(SftpUnsafeNameError):
            client.download("outbox/../../../etc/passwd")
        with pytest.raises(SftpUnsafeNameError):
            client.archive("outbox/../inbox/x.ach")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"known_hosts": None}, "sftp.known_hosts"),
        ({"host_key_fingerprint": "MD5:aa:bb"}, "sftp.host_key_fingerprint"),
        ({"port": 70000}, "sftp.port"),
        ({"upload_mode": "overwrite"}, "sftp.upload_mode"),
        ({"retries": -1}, "sftp.retries"),
        ({"io_timeout": "fast"}, "sftp.io_timeout"),
        ({"hostname": "x"}, "sftp.hostname"),
    ],
)
def test_settings_validation(change, key, tmp_path):
    mapping: dict[str, object] = {
        "host": "h",
        "username": "u",
        "private_key": "/k",
        "known_hosts": "/kh",
    }
    mapping.update(change)
    mapping = {k: v for k, v in mapping.items() if v is not None}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        SftpSettings.from_mapping(mapping)


def test_timeouts_table():
    settings = SftpSettings.from_mapping(
        {
            "host": "h",
            "username": "u",
            "private_key": "/k",
            "known_hosts": "/kh",
            "timeouts": {"connect": 3, "io": 7.5},
        }
    )
    assert (settings.connect_timeout, settings.io_timeout) == (3.0, 7.5)
    with pytest.raises(ConfigError, match=r"sftp\.timeouts\.read"):
        SftpSettings.from_mapping(
            {
                "host": "h",
                "username": "u",
                "private_key": "/k",
                "known_hosts": "/kh",
                "timeouts": {"read": 3},
            }
        )


def test_passphrase_protected_client_key(sshd, tmp_path, monkeypatch):
    import subprocess

    key = tmp_path / "protected"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret", "-f", str(key)], check=True
    )
    (sshd.directory / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
    monkeypatch.setenv("TEST_SFTP_PASS", "s3cret")
    good = settings_for(sshd, private_key=str(key), private_key_passphrase="env:TEST_SFTP_PASS")
    with SftpClient(good) as client:
        assert client.upload(b"x", "p.ach").status == "uploaded"
    with pytest.raises(ConfigError, match="private_key"):
        SftpClient(settings_for(sshd, private_key=str(key))).connect()
    monkeypatch.setenv("TEST_SFTP_KEY", key.read_text())
    from_env = settings_for(
        sshd, private_key="env:TEST_SFTP_KEY", private_key_passphrase="env:TEST_SFTP_PASS"
    )
    with SftpClient(from_env) as client:
        assert client.remote_size("inbox/p.ach") == 1
        assert client.remote_size("inbox/none.ach") is None


def test_openssh_limits_make_large_whole_packet_writes(sshd):
    """Against OpenSSH 9.2 the limits extension is asked once and writes span 7 packets."""
    session = open_session(settings_for(sshd))
    try:
        read_max, write_max = server_limits(session.sftp)
        assert read_max == write_max == 255 * 1024  # what OpenSSH's sftp-server announces
        room = session.sftp.get_channel().out_max_packet_size - 64
        size = write_size(session.sftp, b"abcd", write_max)
        assert (size + 29) % room == 0 and (size + 29) // room > 1 and size <= write_max
        assert server_limits(session.sftp) is server_limits(session.sftp)  # cached
    finally:
        session.transport.close()
