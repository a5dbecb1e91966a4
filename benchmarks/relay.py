"""A delaying TCP relay: a round-trip time on loopback without root (no ``tc netem``).

    relay = DelayRelay(("127.0.0.1", 445), one_way=0.0005)   # 1 ms round trip
    ... clients connect to ("127.0.0.1", relay.port) ...
    relay.round_trips()   # client turns counted so far, per connection
    relay.close()

Every accepted connection gets a connection to the upstream and two forwarding directions;
each direction is a reader thread and a writer thread joined by a queue: a chunk is written
``one_way`` seconds after it was read, in the order it was read. Nothing is parsed.

Round trips are counted per connection as the client's turns: a chunk from the client that
follows data from the server (or is the first one) starts a new turn; a request the client
pipelines without waiting (a LOGOFF it does not wait for) counts as a turn too.
"""

from __future__ import annotations

import queue
import socket
import threading
import time

_STOP = object()


class _Link:
    """One relayed connection: client <-> upstream, with the turn counter."""

    def __init__(self, client: socket.socket, upstream: socket.socket, one_way: float):
        self.sockets = (client, upstream)
        self.one_way = one_way
        self.turns = 0
        self._last_from_client = False
        self._lock = threading.Lock()
        for src, dst, from_client in ((client, upstream, True), (upstream, client, False)):
            q: queue.SimpleQueue = queue.SimpleQueue()
            for target, args in ((self._read, (src, q, from_client)), (self._write, (dst, q))):
                threading.Thread(target=target, args=args, daemon=True).start()

    def _read(self, src: socket.socket, q: queue.SimpleQueue, from_client: bool) -> None:
        try:
            while True:
                data = src.recv(1 << 20)
                if not data:
                    break
                q.put((time.perf_counter() + self.one_way, data))
                with self._lock:
                    if from_client and not self._last_from_client:
                        self.turns += 1
                    self._last_from_client = from_client
        except OSError:
            pass
        q.put((0.0, _STOP))

    @staticmethod
    def _write(dst: socket.socket, q: queue.SimpleQueue) -> None:
        try:
            while True:
                due, data = q.get()
                if data is _STOP:
                    break
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass


class DelayRelay:
    """Listens on 127.0.0.1 (an ephemeral ``port``) and relays to ``upstream`` with
    ``one_way`` seconds of delay in each direction (round-trip time: twice that)."""

    def __init__(self, upstream, one_way: float = 0.0005):
        self.upstream = upstream
        self.one_way = one_way
        self.links: list[_Link] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.links.append(_Link(client, upstream, self.one_way))

    def round_trips(self) -> list:
        """The client turns of each connection relayed so far."""
        return [link.turns for link in self.links]

    def reset(self) -> None:
        """Forget the connections counted so far (closing them)."""
        links, self.links = self.links, []
        for link in links:
            link.close()

    def close(self) -> None:
        try:
            self._listener.close()
        except OSError:
            pass
        self.reset()


if __name__ == "__main__":  # python benchmarks/relay.py HOST PORT [ONE_WAY_MS]: relay until ^C
    import sys

    r = DelayRelay((sys.argv[1], int(sys.argv[2])), float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.0005)
    print("relaying 127.0.0.1:%d -> %s:%s" % (r.port, sys.argv[1], sys.argv[2]), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        r.close()
