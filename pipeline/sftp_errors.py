"""Translate paramiko and socket failures into our transient/permanent classes, in one place.

The table below is the whole policy. Order matters (first match wins); anything that matches
no row becomes :class:`SftpUnclassifiedError`: permanent, never retried, never success.
Moov's achgateway treated "permission denied" as success under its retry option; here a
test walks :data:`UPSTREAM_CLASSES` and checks each one maps to a deliberate class.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

import paramiko

from nacha.errors import AchpipeError
from pipeline.transport_errors import (
    SftpAuthError,
    SftpDiskFullError,
    SftpHostKeyError,
    SftpNoSuchPathError,
    SftpPermanentError,
    SftpPermissionError,
    SftpStallError,
    SftpTransientError,
    SftpUnclassifiedError,
)

__all__ = ["UPSTREAM_CLASSES", "classify"]

_TRANSIENT_ERRNOS = {
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ECONNREFUSED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EHOSTDOWN,
}
_PERMANENT_ERRNOS: dict[int, type[SftpPermanentError]] = {
    errno.ENOENT: SftpNoSuchPathError,
    errno.ENOTDIR: SftpNoSuchPathError,
    errno.EACCES: SftpPermissionError,
    errno.EPERM: SftpPermissionError,
    errno.EROFS: SftpPermissionError,
    errno.ENOSPC: SftpDiskFullError,
    errno.EDQUOT: SftpDiskFullError,
}
# SFTP status texts (no errno): servers speaking v5+ send these; OpenSSH sends "Failure"
_PERMANENT_TEXT: tuple[tuple[str, type[SftpPermanentError]], ...] = (
    ("no space", SftpDiskFullError),
    ("quota", SftpDiskFullError),
    ("disk full", SftpDiskFullError),
    ("permission denied", SftpPermissionError),
    ("no such file", SftpNoSuchPathError),
    ("no such path", SftpNoSuchPathError),
)
_TRANSIENT_SSH_TEXT = (
    "server connection dropped",
    "channel closed",
    "connection reset",
    "error reading ssh protocol banner",
    "no existing session",
    "timeout",
    "timed out",
    "eof",
    "socket is closed",
)

# Upstream classes the transport can see, for the completeness test.
UPSTREAM_CLASSES: tuple[type[BaseException], ...] = (
    paramiko.AuthenticationException,
    paramiko.BadAuthenticationType,
    paramiko.PasswordRequiredException,
    paramiko.BadHostKeyException,
    paramiko.ChannelException,
    paramiko.SSHException,
    paramiko.ssh_exception.NoValidConnectionsError,
    paramiko.ssh_exception.IncompatiblePeer,
    paramiko.sftp.SFTPError,
    socket.timeout,
    socket.gaierror,
    EOFError,
    ConnectionResetError,
    ConnectionAbortedError,
    ConnectionRefusedError,
    BrokenPipeError,
    PermissionError,
    FileNotFoundError,
    OSError,
)


def _where(op: str, path: str | None) -> str:
    return f"{op} {path}" if path else op


def _from_oserror(exc: OSError, op: str, path: str | None) -> AchpipeError:
    where = _where(op, path)
    if exc.errno in _PERMANENT_ERRNOS:
        cls = _PERMANENT_ERRNOS[exc.errno]
        return cls(f"{where}: {exc.strerror or exc}", path=path)
    if exc.errno in _TRANSIENT_ERRNOS or isinstance(exc, ConnectionError):
        return SftpTransientError(f"{where}: connection failed: {exc}")
    text = str(exc).lower()
    for needle, cls in _PERMANENT_TEXT:
        if needle in text:
            return cls(f"{where}: {exc}", path=path)
    if any(needle in text for needle in _TRANSIENT_SSH_TEXT):  # paramiko: "Socket is closed"
        return SftpTransientError(f"{where}: connection lost: {exc}")
    if isinstance(exc, socket.gaierror):
        return SftpTransientError(f"{where}: name resolution failed: {exc}")
    return SftpUnclassifiedError(f"{where}: unclassified SFTP error: {exc!r}", path=path)


def _from_ssh(exc: paramiko.SSHException, op: str, path: str | None) -> AchpipeError:
    where = _where(op, path)
    if isinstance(exc, paramiko.BadHostKeyException):
        return SftpHostKeyError(f"{where}: {exc}", offered="(see message)")
    if isinstance(exc, paramiko.AuthenticationException):
        return SftpAuthError(f"{where}: authentication failed: {exc}")
    if isinstance(exc, paramiko.ChannelException):
        return SftpTransientError(f"{where}: channel refused: {exc}")
    text = str(exc).lower()
    if any(needle in text for needle in _TRANSIENT_SSH_TEXT):
        return SftpTransientError(f"{where}: {exc}")
    return SftpUnclassifiedError(f"{where}: unclassified SSH error: {exc!r}")


def classify(
    exc: BaseException, *, op: str, path: str | None = None, transferring: bool = False
) -> AchpipeError:
    """The achpipe error for ``exc`` raised during ``op`` on ``path``.

    ``transferring`` turns a timeout into :class:`SftpStallError` (no progress mid-transfer).
    Already-classified achpipe errors pass through unchanged.
    """
    if isinstance(exc, AchpipeError):
        return exc
    if isinstance(exc, TimeoutError | socket.timeout):
        if transferring:
            return SftpStallError(f"{_where(op, path)}: no progress: transfer stalled")
        return SftpTransientError(f"{_where(op, path)}: timed out")
    if isinstance(exc, EOFError):
        return SftpTransientError(f"{_where(op, path)}: connection closed by the server (EOF)")
    if isinstance(exc, paramiko.SSHException):
        return _from_ssh(exc, op, path)
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return SftpTransientError(f"{_where(op, path)}: cannot connect: {exc}")
    if isinstance(exc, OSError):
        return _from_oserror(exc, op, path)
    if isinstance(exc, paramiko.sftp.SFTPError):
        return SftpUnclassifiedError(f"{_where(op, path)}: SFTP protocol error: {exc}", path=path)
    return SftpUnclassifiedError(f"{_where(op, path)}: unexpected error: {exc!r}", path=path)


Classifier = Callable[..., AchpipeError]
