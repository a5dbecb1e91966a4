"""smb.mux.Multiplexer over a scripted transport: the reader role, waking the waiters, the
wait without limit, and pysmb's patience (a message for the waiting thread starts its wait
again; messages for others do not)."""

import queue
import threading
import time

import pytest

from smb.errors import NotConnectedError, SMBTimeout
from smb.mux import Multiplexer


class Transport:
    """recv() returns what the test puts in, at the time it chooses."""

    def __init__(self):
        self.q = queue.Queue()
        self.closed = False

    def recv(self, deadline):
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SMBTimeout("nothing")
            try:
                item = self.q.get(timeout=min(remaining, 0.05))
            except queue.Empty:
                if self.closed:
                    raise NotConnectedError("closed")
                continue
            if item is None:
                raise NotConnectedError("closed")
            return item

    def close(self):
        self.closed = True


class Mux(Multiplexer):
    """Messages are (key, final, owner): ``final`` completes ``key``; either way the owner
    made progress."""

    def __init__(self):
        super().__init__(Transport())
        self.done = set()

    def _dispatch(self, data, me):
        key, final, owner = data
        self.progressed(owner)
        if final:
            self.done.add(key)

    def wait(self, key, seconds):
        self.pump(lambda: key in self.done, time.monotonic() + seconds)


def test_two_threads_one_reader_each_gets_its_answer():
    m = Mux()
    got = []

    def waiter(key):
        m.pump(lambda: key in m.done, float("inf"))  # no limit: must not overflow the wait
        got.append(key)

    threads = [threading.Thread(target=waiter, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    time.sleep(0.1)
    m.transport.q.put(("b", True, threads[1].ident))
    m.transport.q.put(("a", True, threads[0].ident))
    for t in threads:
        t.join(5)
    assert sorted(got) == ["a", "b"]


def test_progress_for_this_thread_restarts_the_wait():
    """Answers (here interim ones) for the waiting thread come every 0.3 s for 1.2 s, then
    the final one: a 0.5 s patience is never exhausted."""
    m = Mux()
    me = threading.get_ident()

    def feed():
        for _ in range(4):
            time.sleep(0.3)
            m.transport.q.put(("x", False, me))
        time.sleep(0.3)
        m.transport.q.put(("x", True, me))

    threading.Thread(target=feed, daemon=True).start()
    t0 = time.monotonic()
    m.wait("x", 0.5)
    assert time.monotonic() - t0 > 1.2


def test_messages_for_others_do_not_extend_the_wait():
    m = Mux()
    other = object()

    def feed():
        for _ in range(20):
            time.sleep(0.1)
            m.transport.q.put(("y", True, other))

    threading.Thread(target=feed, daemon=True).start()
    t0 = time.monotonic()
    with pytest.raises(SMBTimeout):
        m.wait("x", 0.5)
    assert 0.5 <= time.monotonic() - t0 < 1.5


def test_failure_wakes_every_waiter():
    m = Mux()
    errors = []

    def waiter():
        try:
            m.wait("never", 30)
        except NotConnectedError as e:
            errors.append(e)

    threads = [threading.Thread(target=waiter) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    m.transport.q.put(None)
    for t in threads:
        t.join(5)
    assert len(errors) == 4 and not any(t.is_alive() for t in threads)
