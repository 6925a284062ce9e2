"""The windowed reader's reassembly (replies out of order, short reads, foreign replies) and
the writer's framing.

OpenSSH answers in order and in full, so the real-sshd tests never reach these paths; these
stand-ins speak the SFTP wire format on a fake channel and misbehave on purpose.
"""

from __future__ import annotations

import hashlib
import os
import random
import struct
import threading
from contextlib import contextmanager
from types import SimpleNamespace

import paramiko
import pytest
from paramiko.sftp import CMD_DATA, CMD_READ, CMD_STATUS, CMD_WRITE

from pipeline.sftp_io import _Drain, iter_remote, write_exclusive, write_size


class Handle:
    handle = b"h"


class ReadServer:
    """Enough of SFTPClient and its channel for iter_remote, at the wire: parses the raw read
    requests sent to the channel and answers with raw replies, pending reads in random order
    (``shuffle``), every third one cut short (``short``), at most ``cap`` bytes per read,
    and hands the reply stream back in random-sized receives (so headers and data split)."""

    def __init__(self, data: bytes, seed: int, *, shuffle=True, short=True, cap=None) -> None:
        self.data = data
        self.rng = random.Random(seed)
        self.shuffle, self.short, self.cap = shuffle, short, cap
        self.queue: list[tuple[int, int, int]] = []  # (request, offset, length)
        self.asked: list[int] = []
        self.sends = 0
        self.count = 0
        self.inject: list[bytes] = []  # raw replies sent before the next answer
        self.request_number = 0
        self._expecting: dict[int, object] = {}
        self._lock = threading.Lock()
        self.out = bytearray()

    def get_channel(self):
        return SimpleNamespace(sendall=self._sendall, recv=self._recv)

    def _sendall(self, stream: bytes) -> None:
        self.sends += 1
        while stream:
            length, kind, num, hlen = struct.unpack(">IBII", stream[:13])
            assert kind == CMD_READ and stream[13 : 13 + hlen] == b"h"
            offset, size = struct.unpack(">QI", stream[13 + hlen : 25 + hlen])
            assert length == 21 + hlen  # type, id, handle string, offset, length
            self.queue.append((num, offset, size))
            self.asked.append(size)
            stream = stream[4 + length :]

    def _recv(self, n: int) -> bytes:
        if not self.out:
            self._answer()
        take = min(n, len(self.out), self.rng.randint(1, 70_000))
        piece = bytes(self.out[:take])
        del self.out[:take]
        return piece

    def _answer(self) -> None:
        if self.inject:
            self.out += self.inject.pop(0)
            return
        assert self.queue, "the reader waits for a reply to nothing"
        index = self.rng.randrange(len(self.queue)) if self.shuffle else 0
        num, offset, length = self.queue.pop(index)
        self.count += 1
        if self.cap:
            length = min(length, self.cap)
        if self.short and self.count % 3 == 0 and length > 1:
            length = self.rng.randrange(1, length)
        body = self.data[offset : offset + length]
        if not body:  # SSH_FX_EOF
            self.out += struct.pack(">IBIII", 17, CMD_STATUS, num, 1, 0) + b"\0\0\0\0"
            return
        self.out += struct.pack(">IBII", 9 + len(body), CMD_DATA, num, len(body)) + body

    def _convert_status(self, msg):
        code = msg.get_int()
        if code == 1:
            raise EOFError("end of file")
        raise OSError(f"status {code}")


def _read_all(server: ReadServer, total: int, **kwargs) -> bytes:
    return b"".join(b"".join(pieces) for pieces in iter_remote(server, Handle(), total, **kwargs))


def test_out_of_order_and_short_replies_reassemble_in_order():
    data = os.urandom(1_000_003)
    for seed in range(3):
        server = ReadServer(data, seed)
        got = _read_all(server, len(data), read_size=32768, read_ahead=16 * 32768)
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        assert not server.queue
        # requests go out in batches, not one send each (follow-ups of short reads alone)
        assert server.sends < len(server.asked) * 0.6


def test_requests_shrink_to_the_servers_maximum_read():
    data = os.urandom(3_000_001)
    server = ReadServer(data, 0, shuffle=False, short=False, cap=65536)
    got = _read_all(server, len(data), read_size=262144, read_ahead=4 * 262144)
    assert got == data
    # only the first read-ahead (4 requests and the follow-ups that complete them) asks more
    assert len([n for n in server.asked if n > 65536]) <= 4 * 4
    assert max(server.asked[-10:]) <= 65536 and len(server.asked) < 80


def test_a_reply_that_is_not_ours_goes_to_its_waiter():
    data = os.urandom(300_000)
    server = ReadServer(data, 1)
    seen = []
    server._expecting[10_000] = SimpleNamespace(
        _async_response=lambda kind, msg, num: seen.append((kind, num, msg.get_int()))
    )
    server.inject.append(struct.pack(">IBIII", 17, CMD_STATUS, 10_000, 0, 0) + b"\0" * 4)
    assert _read_all(server, len(data), read_size=32768, read_ahead=4 * 32768) == data
    assert seen == [(CMD_STATUS, 10_000, 0)] and 10_000 not in server._expecting


def test_a_file_shorter_than_expected_is_an_eof_error():
    data = os.urandom(100_000)
    server = ReadServer(data, 2, shuffle=False, short=False)
    with pytest.raises(EOFError):
        _read_all(server, len(data) + 50_000, read_size=32768, read_ahead=4 * 32768)


def test_a_dropped_connection_is_an_eof_error():
    server = ReadServer(os.urandom(100_000), 3, shuffle=False, short=False)
    server._recv = lambda n: b""  # the channel was closed
    with pytest.raises(EOFError, match="dropped"):
        _read_all(server, 100_000, read_size=32768, read_ahead=4 * 32768)


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


def test_drain_hashes_and_writes_every_piece_in_order(tmp_path):
    replies = [
        [os.urandom(random.randint(1, 70_000)) for _ in range(random.randint(1, 4))]
        for _ in range(300)
    ]
    sink = tmp_path / "out.bin"
    drain = _Drain(sink, depth=4)
    for pieces in replies:
        drain.put(pieces)
    drain.finish(ok=True)
    data = b"".join(b"".join(pieces) for pieces in replies)
    assert sink.read_bytes() == data
    assert drain.digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert drain.size == len(data)
    with pytest.raises(FileExistsError):  # never writes into a file that is already there
        _Drain(sink)


def test_drain_write_error_reaches_the_reader_without_blocking(tmp_path):
    drain = _Drain(tmp_path / "out.bin", depth=2)
    os.close(drain._fd)
    drain._fd = os.open("/dev/full", os.O_WRONLY)  # every write: ENOSPC
    with pytest.raises(OSError, match="No space left"):
        for _ in range(1000):  # far more than the queue holds: must fail, never hang
            drain.put([b"x" * 1024])
        drain.finish(ok=True)
    drain.finish(ok=False)
