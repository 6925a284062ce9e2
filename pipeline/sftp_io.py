"""File-level SFTP steps used by :class:`pipeline.sftp.SftpClient`, each doing one thing.

They raise paramiko/OS errors unchanged (or our own permanent errors); the client's retry
wrapper classifies them. Every write is an exclusive create, every read is hashed as it
streams, and local files are linked into place only when complete and fsynced.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import posixpath
import queue
import re
import struct
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import paramiko
from paramiko.sftp import (
    CMD_DATA,
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_STATUS,
    CMD_WRITE,
)

from pipeline.sftp_wire import Wire
from pipeline.transport_errors import SftpConflictError, SftpVerifyError

__all__ = [
    "CHUNK",
    "PART_SUFFIX",
    "check_size",
    "is_our_partial",
    "place",
    "read_remote",
    "remote_sha256",
    "remove_quietly",
    "remove_stale_parts",
    "server_limits",
    "stat_or_none",
    "write_exclusive",
    "write_size",
]

log = logging.getLogger("achpipe.sftp")
CHUNK = 1 << 20
# Reads ask for 255 KiB, OpenSSH's largest read reply; the connection advertises channel
# packets large enough to carry one whole (pipeline.sftp_connect.MAX_PACKET), so a reply is
# one SSH packet, not eight: measured download CPU 2.3 -> 0.8 s per 100 MB. Servers that
# answer less are followed: the request size drops to what they return.
READ_SIZE = 255 * 1024
_BATCH = 8  # read requests sent together (one SSH packet), once the window has room
READ_AHEAD = 8 << 20  # bytes of reads in flight: the receive window (sftp_connect.WINDOW_SIZE)
_MIN_READ = 8192  # a server's odd short reply never shrinks requests below this
MAX_WRITE = 255 * 1024  # never more per write, whatever a server's limits say
WINDOW = 64  # writes in flight: 2 MiB, the channel window
PART_SUFFIX = ".part"


def stat_or_none(sftp: paramiko.SFTPClient, path: str) -> paramiko.SFTPAttributes | None:
    try:
        return sftp.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
    """Best-effort cleanup while another error is being reported (that error wins)."""
    try:
        sftp.remove(path)
    except Exception:  # the connection may be gone; the next attempt cleans up
        log.warning("sftp: could not remove %s", path)


def remove_stale_parts(sftp: paramiko.SFTPClient, directory: str, name: str) -> None:
    """Remove ``<name>.<token>.part`` files left by our own interrupted attempts."""
    prefix = f"{name}."
    for entry in sftp.listdir(directory):
        token = entry[len(prefix) : -len(PART_SUFFIX)] if entry.startswith(prefix) else ""
        if entry.endswith(PART_SUFFIX) and len(token) == 8 and token.isalnum():
            log.warning("sftp: removing stale %s/%s", directory, entry)
            remove_quietly(sftp, posixpath.join(directory, entry))


def server_limits(sftp: paramiko.SFTPClient) -> tuple[int, int]:
    """(largest read, largest write) in data bytes per request this server accepts.

    OpenSSH (since 8.8) answers the ``limits@openssh.com`` request (255 KiB each for its
    own sftp-server). Other servers get the SFTP v3 baseline (32 KiB writes, reads that
    shrink to what the server returns): paramiko drops the extension list of the version
    reply, so only a server that says it is a recent OpenSSH is asked. Cached per session.
    """
    cached = getattr(sftp, "_achpipe_limits", None)
    if cached is not None:
        return cached
    limits = (READ_SIZE, 0)
    transport = sftp.get_channel().get_transport()
    match = re.match(r"SSH-2\.0-OpenSSH_(\d+)\.(\d+)", getattr(transport, "remote_version", ""))
    if match and (int(match[1]), int(match[2])) >= (8, 8):
        try:
            kind, msg = sftp._request(CMD_EXTENDED, "limits@openssh.com")
        except (OSError, paramiko.SFTPError):
            kind = None
        if kind == CMD_EXTENDED_REPLY:
            msg.get_int64()  # max packet length
            max_read, max_write = msg.get_int64(), msg.get_int64()
            limits = (min(READ_SIZE, max_read or READ_SIZE), min(MAX_WRITE, max_write))
    sftp._achpipe_limits = limits  # type: ignore[attr-defined]
    return limits


def write_size(sftp: paramiko.SFTPClient, handle: bytes, max_write: int = 0) -> int:
    """Data bytes per write request: a whole number of SSH channel packets.

    paramiko puts at most ``out_max_packet_size - 64`` bytes in a channel packet (OpenSSH's
    sshd allows 32 KiB) and a write request adds 25 bytes plus the handle. A 32 KiB write
    (paramiko's ``SFTPFile`` size) took two packets, the second ~100 bytes; and each write
    gets its own status reply, a packet to receive. So writes fill ``k`` packets exactly,
    with ``k`` as large as the server's ``max_write`` allows (1 without the limits
    extension): ~3,100 status replies per 100 MB become ~440.
    """
    room = sftp.get_channel().out_max_packet_size - 64
    overhead = _WRITE_HEADER.size + len(handle) + 12
    packets = max(1, (max_write + overhead) // room) if max_write else 1
    return max(1024, packets * room - overhead)


_WRITE_HEADER = struct.Struct(">IBII")  # length, type, request id, handle length


def _send_write(
    sftp: paramiko.SFTPClient, replies: _Replies, handle: bytes, offset: int, data: memoryview
) -> int:
    """Send one SSH_FXP_WRITE straight to the channel, cut at packet boundaries.

    paramiko's ``_async_request`` builds the message through two ``Message`` objects and
    re-slices the remainder after every channel packet (quadratic in the request size);
    here the request is packed once and each packet-sized piece is sent as it is.
    """
    with sftp._lock:  # request numbering is shared with paramiko's own requests
        num = sftp.request_number
        sftp._expecting[num] = replies
        sftp.request_number += 1
    body = 4 + 4 + len(handle) + 12 + len(data)
    out = b"".join(
        (
            _WRITE_HEADER.pack(body + 1, CMD_WRITE, num, len(handle)),
            handle,
            struct.pack(">QI", offset, len(data)),
            data,
        )
    )
    channel = sftp.get_channel()
    room = channel.out_max_packet_size - 64
    for start in range(0, len(out), room):
        piece = out[start : start + room]
        while piece:  # send() takes less only when the window is short; rare
            sent = channel.send(piece)
            if sent <= 0:
                raise EOFError("channel closed while writing")
            piece = piece[sent:]
    return num


def write_exclusive(
    sftp: paramiko.SFTPClient, path: str, data: bytes | memoryview, *, window: int = WINDOW
) -> None:
    """Create ``path`` (failing if it exists) and write ``data``, ~2 MiB of writes in flight.

    Why not ``SFTPFile.write`` pipelined: besides the request sizes (see
    :func:`write_size`), it stops and drains every outstanding reply whenever more than 100
    are pending, so the pipe empties periodically. Here each reply is checked in order as
    the next write goes out; any error status raises at once (paramiko's ``OSError``).
    ``window`` counts 32 KiB units, so larger writes mean fewer requests in flight.
    """
    view = memoryview(data).cast("B")
    total = len(view)
    with sftp.open(path, "wxb") as handle:  # O_CREAT|O_EXCL: never overwrite
        size = write_size(sftp, handle.handle, server_limits(sftp)[1])
        in_flight = max(2, window * 32768 // size)
        replies = _Replies()
        pending: deque[tuple[int, int]] = deque()  # (request, offset)
        offset = 0
        while offset < total or pending:
            while offset < total and len(pending) < in_flight:
                end = min(offset + size, total)
                num = _send_write(sftp, replies, handle.handle, offset, view[offset:end])
                pending.append((num, offset))
                offset = end
            num, at = pending.popleft()
            while num not in replies.replies:
                sftp._read_response()
            kind, msg = replies.replies.pop(num)
            if kind != CMD_STATUS:
                raise OSError(f"unexpected SFTP reply type {kind} writing at offset {at}")
            sftp._convert_status(msg)  # returns on OK; raises OSError/EOFError otherwise


def check_size(sftp: paramiko.SFTPClient, path: str, size: int) -> None:
    got = sftp.stat(path).st_size
    if got != size:
        raise SftpVerifyError(f"{path}: remote size {got} != {size} bytes sent", path=path)


class _Replies:
    """Collects read replies by request number (paramiko hands them to ``_async_response``)."""

    def __init__(self) -> None:
        self.replies: dict[int, tuple[int, paramiko.Message]] = {}

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        self.replies[num] = (t, msg)


def iter_remote(
    sftp: paramiko.SFTPClient,
    handle: paramiko.SFTPFile,
    total: int,
    *,
    read_size: int = READ_SIZE,
    read_ahead: int = READ_AHEAD,
) -> Iterator[list[bytes]]:
    """The first ``total`` bytes of an open remote file, in order, ~``read_ahead`` in flight;
    each reply's data as the pieces it arrived in (:class:`pipeline.sftp_wire.Wire`).

    Why not paramiko's ``prefetch``: it queues every read of the file up front from a thread
    and was measured dropping to 4 MB/s (and stalling for 17 s) on some runs; a bounded
    window of reads read back in order is steady. Requests go out ``_BATCH`` at a time (one
    SSH packet) once that much of the window is free. Replies may arrive in any order; a
    short read is completed with a follow-up request, and later requests shrink to the size
    the server returned (servers cap reads at 32-255 KiB). A silent server trips the channel
    timeout (``io_timeout``) and the caller's stall handling.
    """
    wire = Wire(sftp)
    pending: deque[tuple[int, int, int]] = deque()  # (request, offset, length), file order
    ours: set[int] = set()  # requests not answered yet
    early: dict[int, tuple[int, list[bytes] | paramiko.Message]] = {}  # answered out of order
    offset = 0
    size = read_size

    def refill(*, force: bool = False) -> None:
        nonlocal offset
        slots = max(1, read_ahead // size)
        room = slots - len(pending)
        batch = min(_BATCH, max(1, slots // 2))  # a small window still keeps half in flight
        if offset >= total or room <= 0 or (room < batch and pending and not force):
            return
        spans = []
        while offset < total and len(spans) < room:
            length = min(size, total - offset)
            spans.append((offset, length))
            offset += length
        for num, (at, length) in zip(wire.send_reads(handle.handle, spans), spans, strict=True):
            pending.append((num, at, length))
            ours.add(num)

    refill(force=True)
    while pending:
        num, at, length = pending.popleft()
        while num not in early:
            kind, got, body = wire.reply(ours)
            if got in ours:
                ours.discard(got)
                early[got] = (kind, body)
            elif isinstance(body, paramiko.Message):
                wire.dispatch(kind, got, body)
        kind, body = early.pop(num)
        if kind == CMD_STATUS and isinstance(body, paramiko.Message):
            sftp._convert_status(body)  # raises EOFError / OSError with the server's code
            raise OSError(f"unexpected status reply reading at offset {at}")
        if kind != CMD_DATA or isinstance(body, paramiko.Message):
            raise OSError(f"unexpected SFTP reply type {kind} reading at offset {at}")
        got_len = sum(map(len, body))
        if not got_len:
            raise EOFError(f"remote file ended at {at} of {total} bytes")
        if got_len < length:  # short read: fetch the rest before anything queued after
            if at + length < total:  # not the file's end: the server's maximum read
                size = min(size, max(got_len, _MIN_READ))
            rest_at, rest_len = at + got_len, length - got_len
            (follow,) = wire.send_reads(handle.handle, [(rest_at, rest_len)])
            pending.appendleft((follow, rest_at, rest_len))
            ours.add(follow)
        yield body
        refill()
    # Replies still in flight after an error are not registered with paramiko: its next
    # ``_read_response`` drops them; the retry wrapper reconnects on transient errors anyway.


class _Drain:
    """Hashes and optionally writes downloaded pieces on a second thread.

    Why: SHA-256 and file writes of large buffers release the GIL, so doing them beside the
    network reads keeps read replies flowing; done inline they stalled the read window and a
    100 MB download took 1.2-1.6 s instead of 0.8 s on loopback. Each reply's pieces are
    hashed one by one and written with one ``writev`` (no join). The queue is bounded
    (``depth`` replies, ~16 MiB) so a slow disk slows the download rather than filling
    memory. An error on the drain thread (disk full) is raised to the reader at the next
    reply or at :meth:`finish`; the thread keeps discarding after an error so the reader
    never blocks.
    """

    def __init__(self, sink: Path | None, depth: int = 64) -> None:
        self.digest = hashlib.sha256()
        self.size = 0
        self.error: BaseException | None = None
        # O_EXCL: never write into a file someone else made
        self._fd = -1 if sink is None else os.open(sink, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="sftp-drain", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            pieces = self._queue.get()
            if pieces is None:
                return
            if self.error is not None:
                continue
            try:
                for piece in pieces:
                    self.digest.update(piece)
                if self._fd >= 0:
                    _write_all(self._fd, pieces)
            except BaseException as exc:  # handed to the reader thread
                self.error = exc

    def put(self, pieces: list[bytes]) -> None:
        if self.error is not None:
            raise self.error
        self.size += sum(map(len, pieces))
        self._queue.put(pieces)

    def finish(self, *, ok: bool) -> None:
        """Stop the thread; when ``ok``, fsync the sink and raise a drain error."""
        self._queue.put(None)
        self._thread.join()
        fd, self._fd = self._fd, -1
        try:
            if ok and self.error is None and fd >= 0:
                os.fsync(fd)
        finally:
            if fd >= 0:
                os.close(fd)
        if ok and self.error is not None:
            raise self.error


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """``writev`` until every byte of ``pieces`` is written (a write may stop short)."""
    views = [memoryview(p) for p in pieces if p]
    while views:
        written = os.writev(fd, views[:1024])  # IOV_MAX
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if written:
            views[0] = views[0][written:]


def read_remote(
    sftp: paramiko.SFTPClient, path: str, *, sink: Path | None = None, limit: int | None = None
) -> tuple[str, int]:
    """SHA-256 and size of a remote file, optionally written to ``sink`` (fsynced)."""
    with sftp.open(path, "rb") as handle:
        total = handle.stat().st_size if limit is None else limit
        drain = _Drain(sink)
        ok = False
        try:
            for pieces in iter_remote(sftp, handle, total, read_size=server_limits(sftp)[0]):
                drain.put(pieces)
            ok = True
        finally:
            drain.finish(ok=ok)
    return drain.digest.hexdigest(), drain.size


def remote_sha256(sftp: paramiko.SFTPClient, path: str) -> str:
    return read_remote(sftp, path)[0]


def is_our_partial(sftp: paramiko.SFTPClient, path: str, size: int, data: bytes) -> bool:
    if size >= len(data):
        return False
    got, _ = read_remote(sftp, path, limit=size)
    return got == hashlib.sha256(data[:size]).hexdigest()


def place(temp: Path, final: Path, digest: str, *, alternatives: bool) -> Path:
    """Link ``temp`` to ``final`` unless it exists; same bytes → reuse, else a new name."""
    candidates = [final]
    if alternatives:
        candidates.append(final.with_name(f"{final.name}.{digest[:12]}"))
    for candidate in candidates:
        try:
            os.link(temp, candidate)
            return candidate
        except FileExistsError:
            if local_sha256(candidate) == digest:
                return candidate
    raise SftpConflictError(f"{final}: a different local file is already there", path=str(final))


def local_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
