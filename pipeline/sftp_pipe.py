"""A receive buffer for the SFTP channel that keeps the packets it is fed as they are.

Why: paramiko's :class:`~paramiko.buffered_pipe.BufferedPipe` appends every received SSH
packet to one ``array`` and deletes what is read from its front, so each read moves the
rest of the buffer down, and the array is grown and shrunk (reallocated, its new pages
faulted in) around every 255 KiB read reply. That made the receive window a cost: a 32 MiB
window was twice as slow as 2 MiB, and at 2 MiB a client that is briefly descheduled (a
loaded host) stalls the server after 2 MiB. Here the buffer is a queue of the fed
``bytes``: a feed is an append, a read that takes a whole packet returns that very object,
and only a read that splits a packet copies the part it returns.

Public: :class:`PacketPipe`, installed by :mod:`pipeline.sftp_connect` on the channel
before the SFTP subsystem starts (so no byte ever went to the old buffer).
"""

from __future__ import annotations

from collections import deque

from paramiko.buffered_pipe import BufferedPipe

__all__ = ["PacketPipe"]


class _Packets:
    """The pending bytes as a queue of ``bytes`` with a read offset into the first.

    Supports what :class:`BufferedPipe` does to its ``_buffer``: ``len()``, ``del b[:]``
    and ``del b[:n]``."""

    def __init__(self) -> None:
        self._queue: deque[bytes] = deque()
        self._start = 0  # bytes of the first packet already read
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        if data:
            self._queue.append(data)
            self._size += len(data)

    def peek(self, limit: int | None) -> bytes:
        """Up to ``limit`` bytes from the front (all when None), without consuming them."""
        want = self._size if limit is None else min(limit, self._size)
        if not want:
            return b""
        first = self._queue[0]
        if self._start == 0 and len(first) == want:
            return first  # a whole packet: no copy
        if len(first) - self._start >= want:
            return first[self._start : self._start + want]
        parts, need, start = [], want, self._start
        for packet in self._queue:
            piece = memoryview(packet)[start : start + need]
            parts.append(piece)
            need -= len(piece)
            start = 0
            if not need:
                break
        return b"".join(parts)

    def __delitem__(self, index: slice) -> None:
        if not isinstance(index, slice) or index.start or index.step:
            raise TypeError("only the front of the buffer can be removed")
        count = self._size if index.stop is None else min(index.stop, self._size)
        self._size -= count
        while count:
            rest = len(self._queue[0]) - self._start
            if count < rest:
                self._start += count
                return
            self._queue.popleft()
            self._start = 0
            count -= rest


class PacketPipe(BufferedPipe):  # type: ignore[misc]  # paramiko is untyped
    """:class:`BufferedPipe` over :class:`_Packets`: same locking, waiting and closing
    (inherited), other storage (its two storage hooks overridden)."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = _Packets()

    def _buffer_frombytes(self, data: bytes) -> None:
        self._buffer.append(bytes(data))

    def _buffer_tobytes(self, limit: int | None = None) -> bytes:
        return self._buffer.peek(limit)
