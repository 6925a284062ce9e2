"""Errors of the transport layer (PGP and SFTP), each carrying its context.

The nightly run decides what to do from the class alone: quarantine the file (``PgpError``
data problems), fix the configuration (``PgpKeyError``), retry (``SftpTransientError``), or
stop and page someone (``SftpPermanentError``).

Tree::

    AchpipeError (nacha.errors)
    ├── PgpError                        exit 1   the message itself is unacceptable → quarantine
    │   ├── PgpFormatError                       not OpenPGP, malformed packets, bad armor
    │   ├── PgpTamperedError                     integrity check (MDC / armor CRC) failed
    │   ├── PgpNotEncryptedError                 plaintext where encryption is required
    │   ├── PgpWrongKeyError                     not encrypted to any key we hold
    │   ├── PgpSignatureError
    │   │   ├── PgpMissingSignatureError         unsigned, and a signature is required
    │   │   ├── PgpUnknownSignerError            signed, but not by the expected key
    │   │   └── PgpBadSignatureError             signed by the expected key, does not verify
    │   └── PgpSelfTestError                     our own sealed output failed to round-trip
    ├── ConfigError (pipeline.errors)   exit 2
    │   └── PgpKeyError                          unreadable key, wrong passphrase, wrong kind
    └── ExternalError (pipeline.errors)
        ├── TransientError              exit 75  retried with bounded backoff
        │   └── SftpTransientError               timeout, reset, EOF, channel closed
        │       └── SftpStallError               no progress for ``stall_timeout`` seconds
        └── PermanentError              exit 1   fails at once, never retried
            └── SftpPermanentError
                ├── SftpAuthError                authentication refused
                ├── SftpHostKeyError             unknown or changed host key (fingerprint shown)
                ├── SftpPermissionError          permission denied on a remote path
                ├── SftpNoSuchPathError          remote directory or file does not exist
                ├── SftpDiskFullError            remote quota / no space
                ├── SftpConflictError            final name exists with different content
                ├── SftpVerifyError              size or read-back hash differs after upload
                ├── SftpUnsafeNameError          remote name with '/', '..', absolute path
                └── SftpUnclassifiedError        anything else: never treated as success
"""

from __future__ import annotations

from nacha.errors import AchpipeError
from pipeline.errors import ConfigError, PermanentError, TransientError

__all__ = [
    "PgpBadSignatureError",
    "PgpError",
    "PgpFormatError",
    "PgpKeyError",
    "PgpMissingSignatureError",
    "PgpNotEncryptedError",
    "PgpSelfTestError",
    "PgpSignatureError",
    "PgpTamperedError",
    "PgpUnknownSignerError",
    "PgpWrongKeyError",
    "SftpAuthError",
    "SftpConflictError",
    "SftpDiskFullError",
    "SftpHostKeyError",
    "SftpNoSuchPathError",
    "SftpPermanentError",
    "SftpPermissionError",
    "SftpStallError",
    "SftpTransientError",
    "SftpUnclassifiedError",
    "SftpUnsafeNameError",
    "SftpVerifyError",
]


class PgpError(AchpipeError):
    """An OpenPGP message cannot be accepted; the file goes to quarantine, not to parsing."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source


class PgpFormatError(PgpError):
    """Not OpenPGP data, malformed packets or armor."""


class PgpTamperedError(PgpError):
    """The integrity protection (modification detection code or armor CRC) does not match."""


class PgpNotEncryptedError(PgpError):
    """The data is not encrypted although encryption is required."""


class PgpWrongKeyError(PgpError):
    """The message is not encrypted to any key we hold (``recipients`` lists its key ids)."""

    def __init__(self, message: str, *, recipients: tuple[str, ...] = (), **kw: str) -> None:
        super().__init__(message, **kw)
        self.recipients = recipients


class PgpSignatureError(PgpError):
    """The signature requirement is not met."""


class PgpMissingSignatureError(PgpSignatureError):
    """The message carries no signature, and one is required."""


class PgpUnknownSignerError(PgpSignatureError):
    """The message is signed, but by none of the keys we verify with (``signers``: key ids)."""

    def __init__(self, message: str, *, signers: tuple[str, ...] = (), **kw: str) -> None:
        super().__init__(message, **kw)
        self.signers = signers


class PgpBadSignatureError(PgpSignatureError):
    """A signature by the expected key does not verify: the content or signature was altered."""


class PgpSelfTestError(PgpError):
    """Our sealed output did not decrypt back to the same plaintext; nothing may be uploaded."""


class PgpKeyError(ConfigError):
    """A configured key cannot be used: unreadable, wrong passphrase, public where secret needed."""


class SftpTransientError(TransientError):
    """A transfer failure that a retry may fix (timeout, reset, EOF, closed channel)."""


class SftpStallError(SftpTransientError):
    """A transfer made no progress for longer than the stall timeout."""


class SftpPermanentError(PermanentError):
    """A failure a retry will not fix; carries the remote ``path`` when there is one."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class SftpAuthError(SftpPermanentError):
    """The server refused our credentials."""


class SftpHostKeyError(SftpPermanentError):
    """The server's host key is unknown or differs from the pinned one (``offered`` shows it)."""

    def __init__(self, message: str, *, offered: str, expected: str | None = None) -> None:
        super().__init__(message)
        self.offered = offered
        self.expected = expected


class SftpPermissionError(SftpPermanentError):
    """The server denied the operation on a path."""


class SftpNoSuchPathError(SftpPermanentError):
    """A remote directory or file does not exist."""


class SftpDiskFullError(SftpPermanentError):
    """The remote side is out of space or quota."""


class SftpConflictError(SftpPermanentError):
    """The final remote name already exists with different content; we never overwrite."""


class SftpVerifyError(SftpPermanentError):
    """After upload the remote size (or read-back hash) differs from what we sent."""


class SftpUnsafeNameError(SftpPermanentError):
    """A remote file name that could escape its directory (``..``, ``/``, absolute, control)."""


class SftpUnclassifiedError(SftpPermanentError):
    """An error we could not classify; it is never mistaken for success, and not retried."""
