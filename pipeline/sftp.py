"""SFTP transport to the bank: pinned host keys, safe uploads, once-only inbound fetches.

Public API (what the nightly run calls)::

    with SftpClient(settings, quarantine_dir=Path(...)) as sftp:
        result = sftp.upload(sealed_bytes_or_path, "ACME_20260105_A.ach.pgp")  # UploadResult
        for remote in sftp.list_inbound():                                    # RemoteFile
            got = sftp.download(remote)          # DownloadResult(local_path, sha256, size)
            ...record got.sha256 in the ledger, commit...
            sftp.archive(remote)                 # only after the record is committed

Upload protocol (``upload_mode = "rename"``): if the final name exists, compare size and
SHA-256 — equal means an earlier attempt already delivered it (``already_present``),
different is :class:`SftpConflictError`; otherwise write ``<name>.<token>.part`` with an
exclusive create, stat it, rename it to the final name (SFTP v3 rename never replaces), stat
the final name and compare the size, and optionally read it back and hash it. A dropped
connection leaves at most a ``.part`` file, which the next attempt removes. ``direct`` mode
(servers that forbid rename) writes the final name with an exclusive create; a partial file
left by an interrupted attempt is recognised as a prefix of ours and rewritten.

Every operation runs under :meth:`SftpClient._retrying`: transient errors (timeouts, resets,
EOF, closed channels, stalls) reconnect and retry with bounded exponential backoff;
permanent ones raise at once; unclassified ones are permanent. Nothing reports success
unless the remote state was checked.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import posixpath
import random
import secrets
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import paramiko

from pipeline.errors import ConfigError
from pipeline.sftp_connect import open_session
from pipeline.sftp_errors import classify
from pipeline.sftp_io import (
    PART_SUFFIX,
    check_size,
    is_our_partial,
    place,
    read_remote,
    remote_sha256,
    remove_quietly,
    remove_stale_parts,
    stat_or_none,
    write_exclusive,
)
from pipeline.sftp_settings import SftpSettings
from pipeline.transport_errors import (
    SftpConflictError,
    SftpNoSuchPathError,
    SftpTransientError,
    SftpUnsafeNameError,
    SftpVerifyError,
)

__all__ = [
    "DownloadResult",
    "RemoteFile",
    "SftpCheck",
    "SftpClient",
    "SftpSettings",
    "UploadResult",
    "safe_name",
]

log = logging.getLogger("achpipe.sftp")
T = TypeVar("T")


def safe_name(name: str) -> str:
    """``name`` if it is a plain file name; :class:`SftpUnsafeNameError` for anything that
    could leave its directory (``..``, ``/``, ``\\``, absolute, NUL/control, over 255 bytes)."""
    bad = (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
        or len(name.encode("utf-8", "surrogateescape")) > 255
    )
    if bad:
        raise SftpUnsafeNameError(f"unsafe remote file name {name!r}", path=name)
    return name


@dataclass(frozen=True)
class UploadResult:
    remote_path: str
    size: int
    sha256: str
    status: str  # "uploaded" | "already_present"
    attempts: int
    seconds: float
    verified_readback: bool


@dataclass(frozen=True)
class RemoteFile:
    name: str
    path: str
    size: int
    mtime: int


@dataclass(frozen=True)
class DownloadResult:
    remote: RemoteFile
    local_path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class SftpCheck:
    endpoint: str
    host_key: str
    upload_dir: str
    upload_writable: bool
    inbound_dir: str
    inbound_files: tuple[str, ...]


class SftpClient:
    """One pinned, authenticated SFTP endpoint; reconnects transparently on transient errors."""

    def __init__(
        self,
        settings: SftpSettings,
        *,
        quarantine_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.quarantine_dir = quarantine_dir
        self._sleep = sleep
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self.host_key_fingerprint: str | None = None
        self.attempts = 0  # attempts used by the last operation

    # ------------------------------------------------------------------ connection

    def __enter__(self) -> SftpClient:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self) -> None:
        """Connect, verify the host key, authenticate (retrying transient failures)."""
        self._retrying("connect", None, lambda sftp: None)

    def close(self) -> None:
        sftp, transport = self._sftp, self._transport
        self._sftp = self._transport = None
        for thing in (sftp, transport):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing a dead connection may fail; ignore
                    log.debug("ignoring error while closing", exc_info=True)

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is None or self._transport is None or not self._transport.is_active():
            self.close()
            session = open_session(self.settings)
            self._transport, self._sftp = session.transport, session.sftp
            self.host_key_fingerprint = session.host_key_fingerprint
        return self._sftp

    def _retrying(
        self,
        op: str,
        path: str | None,
        fn: Callable[[paramiko.SFTPClient], T],
        *,
        transferring: bool = False,
    ) -> T:
        """Run ``fn`` with a live session; retry transient failures with bounded backoff."""
        settings = self.settings
        for attempt in range(1, settings.retries + 2):
            self.attempts = attempt
            try:
                return fn(self._session())
            except Exception as exc:  # every failure is classified below
                error = classify(exc, op=op, path=path, transferring=transferring)
                if error is not exc:
                    error.__cause__ = exc
                if isinstance(error, SftpTransientError):
                    self.close()  # the session is suspect: reconnect before the next call
                if not isinstance(error, SftpTransientError) or attempt > settings.retries:
                    raise error from exc
                delay = min(settings.backoff_max, settings.backoff_initial * 2 ** (attempt - 1))
                delay *= 0.5 + random.random() / 2
                log.warning(
                    "sftp %s %s: %s; retry %d/%d in %.1fs",
                    op,
                    path or "",
                    error,
                    attempt,
                    settings.retries,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------------- upload

    def upload(
        self,
        local: bytes | bytearray | memoryview | Path,
        remote_name: str,
        *,
        direct: bool | None = None,
        verify_readback: bool | None = None,
    ) -> UploadResult:
        """Deliver ``local`` as ``upload_dir/remote_name`` exactly once (see module doc)."""
        name = safe_name(remote_name)
        data = Path(local).read_bytes() if isinstance(local, Path) else bytes(local)
        digest = hashlib.sha256(data).hexdigest()
        direct = self.settings.upload_mode == "direct" if direct is None else direct
        readback = self.settings.verify_readback if verify_readback is None else verify_readback
        final = posixpath.join(self.settings.upload_dir, name)
        started = time.monotonic()

        def attempt(sftp: paramiko.SFTPClient) -> tuple[str, bool]:
            existing = stat_or_none(sftp, final)
            if existing is not None:
                if existing.st_size == len(data) and remote_sha256(sftp, final) == digest:
                    return "already_present", True
                if direct and is_our_partial(sftp, final, existing.st_size, data):
                    log.warning("sftp: removing partial %s from an interrupted attempt", final)
                    sftp.remove(final)
                else:
                    raise SftpConflictError(
                        f"{final} already exists with different content "
                        f"({existing.st_size} bytes); refusing to overwrite",
                        path=final,
                    )
            if direct:
                write_exclusive(sftp, final, data)
            else:
                remove_stale_parts(sftp, self.settings.upload_dir, name)
                temp = posixpath.join(
                    self.settings.upload_dir, f"{name}.{secrets.token_hex(4)}{PART_SUFFIX}"
                )
                try:
                    write_exclusive(sftp, temp, data)
                    check_size(sftp, temp, len(data))
                    sftp.rename(temp, final)
                except OSError:
                    # the final name may have appeared meanwhile: never overwrite it
                    if stat_or_none(sftp, final) is not None:
                        remove_quietly(sftp, temp)
                        if remote_sha256(sftp, final) == digest:
                            return "already_present", True
                        raise SftpConflictError(
                            f"{final} appeared during upload with different content",
                            path=final,
                        ) from None
                    remove_quietly(sftp, temp)
                    raise
            check_size(sftp, final, len(data))
            if readback and remote_sha256(sftp, final) != digest:
                raise SftpVerifyError(f"{final}: read-back SHA-256 differs", path=final)
            return "uploaded", readback

        status, verified = self._retrying("upload", final, attempt, transferring=True)
        result = UploadResult(
            remote_path=final,
            size=len(data),
            sha256=digest,
            status=status,
            attempts=self.attempts,
            seconds=time.monotonic() - started,
            verified_readback=verified,
        )
        log.info(
            "sftp upload %s: %s (%d bytes, %d attempt(s))",
            final,
            status,
            len(data),
            result.attempts,
        )
        return result

    # --------------------------------------------------------------------- inbound

    def list_inbound(self, patterns: Sequence[str] | None = None) -> list[RemoteFile]:
        """Regular files in ``inbound_dir`` matching the patterns, oldest first.

        Names that could escape a directory, hidden files and ``.part`` files are skipped.
        """
        directory = self.settings.inbound_dir
        wanted = tuple(patterns or self.settings.inbound_patterns)

        def listing(sftp: paramiko.SFTPClient) -> list[paramiko.SFTPAttributes]:
            return sftp.listdir_attr(directory)

        files = []
        for attr in self._retrying("list", directory, listing):
            name = attr.filename
            if attr.st_mode is None or not stat.S_ISREG(attr.st_mode):
                continue
            if name.startswith(".") or name.endswith(PART_SUFFIX):
                continue
            try:
                safe_name(name)
            except SftpUnsafeNameError:
                log.warning("sftp: skipping unsafe remote name %r", name)
                continue
            if not any(fnmatch.fnmatchcase(name, pattern) for pattern in wanted):
                continue
            path = posixpath.join(directory, name)
            files.append(RemoteFile(name, path, int(attr.st_size or 0), int(attr.st_mtime or 0)))
        return sorted(files, key=lambda f: (f.mtime, f.name))

    def download(self, remote: RemoteFile | str, local: Path | None = None) -> DownloadResult:
        """Fetch ``remote`` (a listed file or a remote path) and return its local path and SHA-256.

        Without ``local`` the file lands in the quarantine directory under its own name; if
        that name already holds different bytes the new file becomes ``<name>.<sha256[:12]>``
        so nothing fetched earlier is ever overwritten. With ``local`` (a file path) an
        existing different file there is a :class:`SftpConflictError`. Either way the bytes
        go to a temporary name first, are fsynced, then linked into place.
        """
        if isinstance(remote, str):
            remote = self.stat_remote(remote)
        name = safe_name(remote.name)
        if local is not None:
            target_dir, final, alternatives = local.parent, local, False
        else:
            if self.quarantine_dir is None:
                raise ConfigError("sftp: a quarantine directory is needed to download files")
            target_dir, final, alternatives = self.quarantine_dir, self.quarantine_dir / name, True
        target_dir.mkdir(parents=True, exist_ok=True)
        source = remote

        def fetch(sftp: paramiko.SFTPClient) -> tuple[Path, str, int]:
            temp = target_dir / f".{name}.{secrets.token_hex(4)}{PART_SUFFIX}"
            try:
                digest, size = read_remote(sftp, source.path, sink=temp)
                expected = sftp.stat(source.path).st_size
                if expected != size:
                    raise SftpTransientError(
                        f"{source.path}: read {size} bytes but the file has {expected} "
                        "(still being written?)"
                    )
                return place(temp, final, digest, alternatives=alternatives), digest, size
            finally:
                temp.unlink(missing_ok=True)

        path, digest, size = self._retrying("download", remote.path, fetch, transferring=True)
        return DownloadResult(remote=remote, local_path=path, sha256=digest, size=size)

    def stat_remote(self, remote_path: str) -> RemoteFile:
        """A :class:`RemoteFile` for a remote path (no ``..`` component, safe file name)."""
        if ".." in remote_path.split("/"):
            raise SftpUnsafeNameError(f"unsafe remote path {remote_path!r}", path=remote_path)
        name = safe_name(posixpath.basename(remote_path))
        attr = self._retrying("stat", remote_path, lambda sftp: sftp.stat(remote_path))
        return RemoteFile(name, remote_path, int(attr.st_size or 0), int(attr.st_mtime or 0))

    def remote_size(self, remote_path: str) -> int | None:
        """Size of a remote file, or ``None`` when it does not exist."""
        attr = self._retrying("stat", remote_path, lambda sftp: stat_or_none(sftp, remote_path))
        return None if attr is None else int(attr.st_size or 0)

    def archive(self, remote: RemoteFile | str) -> str | None:
        """Move a fetched file to ``archive_dir`` (``None``: configured to leave it in place).

        Call only after the download is recorded. A same-named file already in the archive
        makes this one ``<name>.<UTC timestamp>``; a source already gone but present in the
        archive (a retried move) counts as done.
        """
        archive_dir = self.settings.archive_dir
        if archive_dir is None:
            return None
        if isinstance(remote, str):
            if ".." in remote.split("/"):
                raise SftpUnsafeNameError(f"unsafe remote path {remote!r}", path=remote)
            remote = RemoteFile(posixpath.basename(remote), remote, 0, 0)
        name = safe_name(remote.name)
        source = remote

        def move(sftp: paramiko.SFTPClient) -> str:
            target = posixpath.join(archive_dir, name)
            if stat_or_none(sftp, source.path) is None:
                if stat_or_none(sftp, target) is not None:
                    return target
                raise SftpNoSuchPathError(f"{source.path}: gone before archiving", path=source.path)
            if stat_or_none(sftp, target) is not None:
                target = f"{target}.{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
            sftp.rename(source.path, target)
            return target

        return self._retrying("archive", remote.path, move)

    def check(self) -> SftpCheck:
        """Connect, prove the upload directory is writable (probe file), list inbound."""
        upload_dir = self.settings.upload_dir

        def probe(sftp: paramiko.SFTPClient) -> None:
            temp = posixpath.join(upload_dir, f".achpipe-probe-{secrets.token_hex(6)}{PART_SUFFIX}")
            write_exclusive(sftp, temp, b"achpipe write probe\n")
            try:
                check_size(sftp, temp, 20)
            finally:
                remove_quietly(sftp, temp)

        self._retrying("probe", upload_dir, probe)
        files = self.list_inbound()
        return SftpCheck(
            endpoint=self.settings.endpoint,
            host_key=self.host_key_fingerprint or "",
            upload_dir=upload_dir,
            upload_writable=True,
            inbound_dir=self.settings.inbound_dir,
            inbound_files=tuple(f.name for f in files),
        )
