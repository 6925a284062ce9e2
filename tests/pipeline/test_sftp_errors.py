"""The classification table: every upstream failure maps to a deliberate class."""

from __future__ import annotations

import errno

import paramiko
import pytest

from pipeline.sftp_errors import UPSTREAM_CLASSES, classify
from pipeline.transport_errors import (
    SftpAuthError,
    SftpDiskFullError,
    SftpNoSuchPathError,
    SftpPermanentError,
    SftpPermissionError,
    SftpStallError,
    SftpTransientError,
    SftpUnclassifiedError,
)


def _instance(cls: type[BaseException]) -> BaseException:
    if cls is paramiko.BadHostKeyException:
        key = paramiko.RSAKey.generate(1024)
        return cls("h", key, key)
    if cls is paramiko.BadAuthenticationType:
        return cls("denied", ["publickey"])
    if cls is paramiko.ChannelException:
        return cls(2, "refused")
    if cls is paramiko.ssh_exception.NoValidConnectionsError:
        return cls({("127.0.0.1", 22): ConnectionRefusedError()})
    if cls is paramiko.ssh_exception.IncompatiblePeer:
        return cls("no matching kex")
    if issubclass(cls, OSError):
        return cls("boom")
    return cls("boom")


@pytest.mark.parametrize("cls", UPSTREAM_CLASSES, ids=lambda c: c.__name__)
def test_every_upstream_class_maps_to_transient_or_permanent(cls):
    mapped = classify(_instance(cls), op="upload", path="inbox/f.ach")
    assert isinstance(mapped, SftpTransientError | SftpPermanentError)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (EOFError(), SftpTransientError),
        (ConnectionResetError(errno.ECONNRESET, "reset"), SftpTransientError),
        (BrokenPipeError(errno.EPIPE, "pipe"), SftpTransientError),
        (TimeoutError("timed out"), SftpTransientError),
        (OSError("Socket is closed"), SftpTransientError),
        (paramiko.SSHException("Server connection dropped: "), SftpTransientError),
        (paramiko.SSHException("Channel closed."), SftpTransientError),
        (paramiko.SSHException("Error reading SSH protocol banner"), SftpTransientError),
        (paramiko.AuthenticationException("Authentication failed."), SftpAuthError),
        (PermissionError(errno.EACCES, "Permission denied"), SftpPermissionError),
        (OSError(errno.EACCES, "Permission denied"), SftpPermissionError),
        (OSError(errno.ENOENT, "No such file"), SftpNoSuchPathError),
        (OSError(errno.ENOSPC, "No space left on device"), SftpDiskFullError),
        (OSError("No space left on device"), SftpDiskFullError),
        (OSError("Quota exceeded"), SftpDiskFullError),
        (OSError("Failure"), SftpUnclassifiedError),
        (paramiko.SSHException("something new"), SftpUnclassifiedError),
        (RuntimeError("bug"), SftpUnclassifiedError),
    ],
)
def test_specific_mappings(exc, expected):
    mapped = classify(exc, op="upload", path="inbox/f.ach")
    assert type(mapped) is expected
    assert "upload inbox/f.ach" in str(mapped)


def test_timeout_mid_transfer_is_a_stall():
    assert isinstance(classify(TimeoutError(), op="download", transferring=True), SftpStallError)


def test_unclassified_is_permanent_never_success():
    assert issubclass(SftpUnclassifiedError, SftpPermanentError)
    assert not issubclass(SftpUnclassifiedError, SftpTransientError)
