"""PacketPipe: paramiko's BufferedPipe contract (the bytes out are the bytes in, in order;
timeouts; close) over a queue of the fed packets, copying only what a read splits."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

from pipeline.sftp_pipe import PacketPipe

feeds = st.lists(st.binary(max_size=300), max_size=30)
reads = st.lists(st.integers(min_value=1, max_value=700), max_size=60)


@given(feeds, reads)
def test_reads_return_the_fed_bytes_in_order_as_paramikos_pipe_does(chunks, sizes):
    ours, theirs = PacketPipe(), BufferedPipe()
    for chunk in chunks:
        ours.feed(chunk)
        theirs.feed(chunk)
    for size in sizes:
        if not len(ours):
            break
        got = ours.read(size, timeout=0)
        assert 0 < len(got) <= size  # at most one packet's rest: the caller loops
        assert got == theirs.read(len(got), timeout=0)
        assert len(ours) == len(theirs) and ours.read_ready() == theirs.read_ready()
    assert ours.empty() == theirs.empty()
    assert len(ours) == 0 and not ours.read_ready()


def test_a_read_of_a_whole_packet_is_that_packet_and_never_spans_two():
    pipe = PacketPipe()
    first, second = b"a" * 1000, b"b" * 500
    pipe.feed(first)
    pipe.feed(second)
    assert pipe.read(4) == b"aaaa"
    assert pipe.read(996 + 10) == b"a" * 996  # the rest of the first packet only
    pipe.feed(first)
    assert pipe.read(490) == b"b" * 490
    assert pipe.read(100) == b"b" * 10
    assert pipe.read(1000) is first  # no copy
    assert len(pipe) == 0


def test_waits_for_data_times_out_and_ends_when_closed():
    pipe = PacketPipe()
    with pytest.raises(PipeTimeout):
        pipe.read(10, timeout=0.01)
    feeder = threading.Timer(0.05, pipe.feed, args=(b"late",))
    feeder.start()
    assert pipe.read(10, timeout=5) == b"late"
    feeder.join()
    pipe.feed(b"rest")
    pipe.close()
    assert pipe.read(10) == b"rest"
    assert pipe.read(10) == b""  # closed and drained: end of stream


def test_event_follows_the_buffer():
    pipe = PacketPipe()
    event = threading.Event()
    pipe.set_event(event)
    assert not event.is_set()
    pipe.feed(b"x")
    assert event.is_set()
    pipe.read(1)
    assert not event.is_set()
