"""Raw SFTP read requests and replies on the session's channel, for the download loop.

Why not paramiko's ``_async_request`` / ``_read_response``: each request went out as its
own SSH packet (one ``send`` syscall, fresh random padding, one GIL hand-over to and from
the transport thread), and each 255 KiB reply was copied three times on its way to us
(joined from the channel's packets, sliced past its type byte, read out of a ``Message``):
profiled, the download's own thread spent as long issuing requests and unpacking replies as
the rest of the client took to receive and decrypt the data. Here a batch of read requests is
packed into one ``sendall`` (one SSH packet), and a data reply to one of our reads is
returned as the pieces the channel received (:class:`pipeline.sftp_pipe.PacketPipe` hands
over whole packets without copying), for the hash and the file to consume as they are.

Request ids come from the client's own counter under its lock, so paramiko's requests and
ours never collide; replies that are not ours go to whoever paramiko registered for them
(as its ``_read_response`` does) or are dropped. The channel's timeout (``io_timeout``)
applies to every receive, so a silent server still raises ``socket.timeout``.

Public: :class:`Wire`.
"""

from __future__ import annotations

import struct
from collections.abc import Container, Sequence

import paramiko
from paramiko.sftp import CMD_DATA, CMD_READ, SFTPError

__all__ = ["Wire"]

_READ_HEAD = struct.Struct(">IBII")  # length, type, request id, handle length
_READ_TAIL = struct.Struct(">QI")  # offset, length
_REPLY_HEAD = struct.Struct(">IBI")  # length, type, request id
_DATA_LENGTH = struct.Struct(">I")
_MAX_REPLY = 1 << 24  # as paramiko: a length with the high byte set is garbage


class Wire:
    """Read requests out and replies in on ``sftp``'s channel (see the module docstring)."""

    def __init__(self, sftp: paramiko.SFTPClient) -> None:
        self.sftp = sftp
        self.channel = sftp.get_channel()

    def send_reads(self, handle: bytes, spans: Sequence[tuple[int, int]]) -> list[int]:
        """Send one SSH_FXP_READ per (offset, length), all in one write; their request ids."""
        with self.sftp._lock:
            first = self.sftp.request_number
            self.sftp.request_number += len(spans)
        head_length = 1 + 4 + 4 + len(handle) + _READ_TAIL.size
        parts: list[bytes] = []
        for num, (offset, length) in enumerate(spans, start=first):
            parts += (
                _READ_HEAD.pack(head_length, CMD_READ, num, len(handle)),
                handle,
                _READ_TAIL.pack(offset, length),
            )
        self.channel.sendall(b"".join(parts))
        return list(range(first, first + len(spans)))

    def reply(self, data_for: Container[int]) -> tuple[int, int, list[bytes] | paramiko.Message]:
        """The next reply as (type, request id, body).

        A data reply to a request in ``data_for`` comes as the pieces of its data, unjoined;
        any other reply as a ``paramiko.Message`` of the rest of its body."""
        length, kind, num = _REPLY_HEAD.unpack(self._exact(_REPLY_HEAD.size))
        if not 5 <= length < _MAX_REPLY:
            raise SFTPError("Garbage packet received")
        body = length - 5
        if kind == CMD_DATA and num in data_for and body >= _DATA_LENGTH.size:
            (size,) = _DATA_LENGTH.unpack(self._exact(_DATA_LENGTH.size))
            rest = body - _DATA_LENGTH.size - size
            if rest < 0:
                raise SFTPError(f"data reply {num} claims {size} bytes in a {length} byte message")
            pieces = self._pieces(size)
            if rest:  # fields after the data (none in SFTP v3): skipped
                self._pieces(rest)
            return kind, num, pieces
        return kind, num, paramiko.Message(self._exact(body))

    def dispatch(self, kind: int, num: int, msg: paramiko.Message) -> None:
        """Hand a reply that is not ours to paramiko's waiter for it (or drop it)."""
        with self.sftp._lock:
            fileobj = self.sftp._expecting.pop(num, None)
        if fileobj is not None and fileobj is not type(None):
            fileobj._async_response(kind, msg, num)

    def _pieces(self, count: int) -> list[bytes]:
        """The next ``count`` bytes as received (whole channel packets are not copied)."""
        pieces: list[bytes] = []
        while count:
            piece = self.channel.recv(count)
            if not piece:
                raise EOFError("server connection dropped")
            pieces.append(piece)
            count -= len(piece)
        return pieces

    def _exact(self, count: int) -> bytes:
        pieces = self._pieces(count)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)
