"""A receive buffer for the SFTP channel that keeps the packets it is fed as they are.

Why: paramiko's :class:`~paramiko.buffered_pipe.BufferedPipe` appends every received SSH
packet to one ``array`` and deletes what is read from its front, so each read moves the
rest of the buffer down, and the array is grown and shrunk (reallocated, its new pages
faulted in) around every 255 KiB read reply. That made the receive window a cost: a 32 MiB
window was twice as slow as 2 MiB, and at 2 MiB a client that is briefly descheduled (a
loaded host) stalls the server after 2 MiB. Here the buffer is a queue of the fed
``bytes``: a feed is an append, a read returns at most the rest of the first packet (as a
socket's ``recv`` may return less than asked, and every caller loops), the packet itself
when it takes it whole, so only a read that splits a packet copies the part it returns.

Public: :class:`PacketPipe`, installed by :mod:`pipeline.sftp_connect` on the channel
before the SFTP subsystem starts (so no byte ever went to the old buffer).
"""

from __future__ import annotations

import time
from collections import deque

from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

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

    def take(self, limit: int) -> bytes:
        """Up to ``limit`` bytes from the first packet, consumed: the packet itself when it
        is taken whole (no copy), else a slice of it (a read never spans packets)."""
        first = self._queue[0]
        end = min(len(first), self._start + limit)
        whole = self._start == 0 and end == len(first)
        out = first if whole else first[self._start : end]
        del self[: len(out)]
        return out

    def join(self) -> bytes:
        """Everything pending, joined (not consumed); for ``BufferedPipe.empty``."""
        if not self._size:
            return b""
        return b"".join([memoryview(self._queue[0])[self._start :], *list(self._queue)[1:]])

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
    """:class:`BufferedPipe` over :class:`_Packets`: the same locking, closing and event
    handling (inherited); :meth:`read` returns at most the rest of one packet."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = _Packets()

    def _buffer_frombytes(self, data: bytes) -> None:
        self._buffer.append(bytes(data))

    def _buffer_tobytes(self, limit: int | None = None) -> bytes:
        if limit is not None:
            raise NotImplementedError("PacketPipe reads through take()")
        return self._buffer.join()

    def read(self, nbytes: int, timeout: float | None = None) -> bytes:
        """At most ``nbytes`` (and at most one packet's rest); ``b""`` once closed and
        drained; :class:`~paramiko.buffered_pipe.PipeTimeout` if nothing came in time.

        Why "one packet": a read that spans packets would have to join them (a copy of up
        to a whole read reply); callers loop until they have what they need, as with a
        socket."""
        with self._cv:
            if not len(self._buffer):
                if self._closed:
                    return b""
                if timeout == 0.0:
                    raise PipeTimeout()
                deadline = None if timeout is None else time.monotonic() + timeout
                while not len(self._buffer) and not self._closed:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise PipeTimeout()
                    self._cv.wait(left)
                if not len(self._buffer):
                    return b""  # closed while waiting
            out = self._buffer.take(nbytes)
            if not len(self._buffer) and self._event is not None and not self._closed:
                self._event.clear()
            return out
