"""The windowed reader's reassembly: replies out of order and short reads.

OpenSSH answers in order and in full, so the real-sshd tests never reach these paths; this
stand-in implements the three SFTPClient methods the reader uses and misbehaves on purpose.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from contextlib import contextmanager
from types import SimpleNamespace

import paramiko
import pytest
from paramiko.sftp import CMD_DATA, CMD_STATUS, CMD_WRITE

from pipeline.sftp_io import _Drain, iter_remote, write_exclusive, write_size


class Handle:
    handle = b"h"


class ShuffledShortServer:
    """Answers pending reads in random order; every third answer is cut short."""

    def __init__(self, data: bytes, seed: int) -> None:
        self.data = data
        self.rng = random.Random(seed)
        self.queue: list[tuple[object, int, int, int]] = []
        self.next = 0
        self.count = 0

    def _async_request(self, fileobj, t, handle, offset, length):
        num = self.next
        self.next += 1
        self.queue.append((fileobj, num, int(offset), int(length)))
        return num

    def _read_response(self):
        fileobj, num, offset, length = self.queue.pop(self.rng.randrange(len(self.queue)))
        self.count += 1
        if self.count % 3 == 0 and length > 1:
            length = self.rng.randrange(1, length)
        msg = paramiko.Message()
        msg.add_string(self.data[offset : offset + length])
        msg.rewind()
        fileobj._async_response(CMD_DATA, msg, num)

    def _convert_status(self, msg):  # pragma: no cover - never sent here
        raise AssertionError("no status replies in this test")


def test_out_of_order_and_short_replies_reassemble_in_order():
    data = os.urandom(1_000_003)
    for seed in range(3):
        server = ShuffledShortServer(data, seed)
        got = b"".join(
            iter_remote(server, Handle(), len(data), read_size=32768, read_ahead=7 * 32768)
        )
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


class CappedServer(ShuffledShortServer):
    """Answers in order, never more than ``cap`` bytes per read (as some servers do)."""

    def __init__(self, data: bytes, cap: int) -> None:
        super().__init__(data, 0)
        self.cap = cap
        self.asked: list[int] = []

    def _async_request(self, fileobj, t, handle, offset, length):
        self.asked.append(int(length))
        return super()._async_request(fileobj, t, handle, offset, length)

    def _read_response(self):
        fileobj, num, offset, length = self.queue.pop(0)
        msg = paramiko.Message()
        msg.add_string(self.data[offset : offset + min(length, self.cap)])
        msg.rewind()
        fileobj._async_response(CMD_DATA, msg, num)


def test_requests_shrink_to_the_servers_maximum_read():
    data = os.urandom(3_000_001)
    server = CappedServer(data, 65536)
    got = iter_remote(server, Handle(), len(data), read_size=262144, read_ahead=4 * 262144)
    assert b"".join(got) == data
    # only the first read-ahead (4 requests and the follow-ups that complete them) asks more
    assert len([n for n in server.asked if n > 65536]) <= 4 * 4
    assert max(server.asked[-10:]) <= 65536 and len(server.asked) < 80


class WriteServer:
    """Enough of SFTPClient and its channel for write_exclusive: parses the raw write
    requests sent to the channel, checks their framing, answers statuses out of order."""

    def __init__(self, fail_at: int | None = None, *, max_packet: int = 32768) -> None:
        self.files: dict[str, bytearray] = {}
        self.replies: list[tuple[int, bool]] = []
        self.packets: list[int] = []
        self.fail_at = fail_at
        self.max_packet = max_packet
        self.request_number = 0
        self._expecting: dict[int, object] = {}
        self._lock = threading.Lock()
        self._achpipe_limits = (65536, 200_000)  # as if the server had answered limits@
        self.stream = bytearray()

    def get_channel(self):
        return SimpleNamespace(out_max_packet_size=self.max_packet, send=self._channel_send)

    def _channel_send(self, piece):
        self.packets.append(len(piece))
        self.stream += piece
        while len(self.stream) >= 4:
            length = int.from_bytes(self.stream[:4], "big")
            if len(self.stream) < 4 + length:
                break
            message, self.stream = bytes(self.stream[4 : 4 + length]), self.stream[4 + length :]
            kind, num, hlen = message[0], int.from_bytes(message[1:5], "big"), message[5:9]
            hlen = int.from_bytes(hlen, "big")
            handle = message[9 : 9 + hlen]
            offset = int.from_bytes(message[9 + hlen : 17 + hlen], "big")
            size = int.from_bytes(message[17 + hlen : 21 + hlen], "big")
            data = message[21 + hlen :]
            assert kind == CMD_WRITE and handle == b"abcd" and size == len(data)
            buf = self.files[self.current]
            assert offset == len(buf)
            buf += data
            self.replies.append((num, num == self.fail_at))
        return len(piece)

    @contextmanager
    def open(self, path, mode):
        assert mode == "wxb" and path not in self.files
        self.files[path] = bytearray()
        self.current = path
        yield SimpleNamespace(handle=b"abcd")

    def _read_response(self):
        num, fail = self.replies.pop(random.randrange(len(self.replies)))
        msg = paramiko.Message()
        msg.add_int(4 if fail else 0)
        msg.rewind()
        self._expecting.pop(num)._async_response(CMD_STATUS, msg, num)

    def _convert_status(self, msg):
        if msg.get_int() != 0:
            raise OSError("Failure")


@pytest.mark.parametrize("max_write", [0, 200_000])
def test_writes_fill_whole_channel_packets_and_all_statuses_are_checked(max_write):
    data = os.urandom(1_000_003)
    server = WriteServer()
    server._achpipe_limits = (65536, max_write)
    write_exclusive(server, "inbox/f", data, window=5)
    assert bytes(server.files["inbox/f"]) == data
    room = 32768 - 64
    assert max(server.packets) <= room and not server.replies and not server._expecting
    # every request but the last fills its packets exactly: no runt packets
    assert sum(1 for n in server.packets if n < room) <= 1
    per_request = write_size(server, b"abcd", max_write) + 25 + 4
    assert per_request % room == 0 and per_request <= max(room, max_write + 29)
    failing = WriteServer(fail_at=3)
    with pytest.raises(OSError, match="Failure"):
        write_exclusive(failing, "inbox/g", data, window=5)


def test_drain_hashes_and_writes_every_chunk_in_order(tmp_path):
    chunks = [os.urandom(random.randint(1, 70_000)) for _ in range(300)]
    sink = tmp_path / "out.bin"
    drain = _Drain(sink, depth=4)
    for chunk in chunks:
        drain.put(chunk)
    drain.finish(ok=True)
    data = b"".join(chunks)
    assert sink.read_bytes() == data
    assert drain.digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert drain.size == len(data)


class _FullDisk:
    def write(self, _data):
        raise OSError(28, "No space left on device")

    def flush(self):
        pass

    def fileno(self):
        raise AssertionError("never fsynced after a failed write")

    def close(self):
        pass


def test_drain_write_error_reaches_the_reader_without_blocking(tmp_path):
    drain = _Drain(tmp_path / "out.bin", depth=2)
    drain._out.close()
    drain._out = _FullDisk()
    with pytest.raises(OSError, match="No space left"):
        for _ in range(1000):  # far more than the queue holds: must fail, never hang
            drain.put(b"x" * 1024)
        drain.finish(ok=True)
    drain.finish(ok=False)
