"""Transport tests against fake servers on loopback (threads speaking raw bytes)."""

import hashlib
import random
import socket
import struct
import threading
import time
import tracemalloc

import pytest

from smb.errors import NotConnectedError, ProtocolError, SMBTimeout
from nmb import framing
from nmb.transport import DEFAULT_RECV_BUFFER, Transport, connect, session_request
from nmb.utils import first_level_decode


def recv_exact(conn, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("client closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def read_message(conn, direct_tcp):
    ptype, length = framing.decode_header(recv_exact(conn, 4), direct_tcp)
    return ptype, recv_exact(conn, length)


def accept_session(conn):
    """Read a SESSION REQUEST, answer POSITIVE, return (called raw16, calling raw16)."""
    ptype, body = read_message(conn, False)
    assert ptype == framing.SESSION_REQUEST and len(body) == 68
    conn.sendall(framing.POSITIVE_RESPONSE_PACKET)
    return first_level_decode(body[1:33]), first_level_decode(body[35:67])


class FakeServer:
    """Accepts connections and runs ``handler(conn, server)`` for each, in one thread."""

    def __init__(self, handler, family=socket.AF_INET, host="127.0.0.1", connections=1):
        self.handler = handler
        self.lsock = socket.socket(family, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(4)
        self.host = host
        self.port = self.lsock.getsockname()[1]
        self.connections = connections
        self.errors = []
        self.data = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for _ in range(self.connections):
                conn, _ = self.lsock.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with conn:
                    self.handler(conn, self)
        except Exception as e:  # reported by stop()
            self.errors.append(e)
        finally:
            self.done.set()

    def stop(self):
        self.thread.join(10)
        self.lsock.close()
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def serve():
    servers = []

    def start(handler, **kw):
        s = FakeServer(handler, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


# --- basic exchange -----------------------------------------------------------------------------
def test_direct_tcp_roundtrip_multiple_buffers(serve):
    def handler(conn, srv):
        header = recv_exact(conn, 4)
        srv.data["header"] = header
        body = recv_exact(conn, struct.unpack(">I", header)[0])
        conn.sendall(framing.encode_header(len(body), True) + body[::-1])

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=True, timeout=5) as t:
        t.send(b"abc", bytearray(b"def"), memoryview(b"ghi"), deadline=time.monotonic() + 5)
        assert bytes(t.recv(deadline=time.monotonic() + 5)) == b"ihgfedcba"
        assert t.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    srv.stop()
    assert srv.data["header"] == b"\x00\x00\x00\x09"


def test_netbios_session_request_defaults(serve):
    def handler(conn, srv):
        srv.data["names"] = accept_session(conn)
        ptype, body = read_message(conn, False)
        srv.data["msg"] = (ptype, body)

    srv = serve(handler)
    t = connect(srv.host, srv.port, direct_tcp=False, my_name="myhost", timeout=5)
    t.send(b"hello")
    t.close()
    srv.stop()
    called, calling = srv.data["names"]
    assert called == b"*SMBSERVER     \x20"
    assert calling == b"MYHOST         \x00"
    assert srv.data["msg"] == (0, b"hello")


def test_messages_split_byte_by_byte(serve):
    payloads = [b"x" * 7, b"", b"hello world", bytes(range(256)) * 3]

    def handler(conn, srv):
        accept_session(conn)
        stream = b"".join(framing.encode_header(len(p), False) + p for p in payloads)
        for i in range(len(stream)):
            conn.sendall(stream[i:i + 1])
            if i % 50 == 0:
                time.sleep(0.001)

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=False, remote_name="SRV", timeout=5) as t:
        got = [bytes(t.recv(deadline=time.monotonic() + 5)) for _ in payloads]
    assert got == payloads


def test_netbios_17_bit_lengths_both_ways(serve):
    big = random.Random(1).randbytes(100000)

    def handler(conn, srv):
        accept_session(conn)
        header = recv_exact(conn, 4)
        srv.data["header"] = header
        body = recv_exact(conn, 100000)
        srv.data["ok"] = body == big
        conn.sendall(b"\x00\x01\x86\xa0" + big)  # 100000 = 0x186A0: extension bit set

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=False, timeout=5) as t:
        t.send(big)
        assert t.recv() == big
    srv.stop()
    assert srv.data["header"] == b"\x00\x01\x86\xa0" and srv.data["ok"]


def test_netbios_messages_above_17_bits_use_24_bit_lengths(serve):
    big = random.Random(4).randbytes(0x30001)

    def handler(conn, srv):
        accept_session(conn)
        header = recv_exact(conn, 4)
        srv.data["header"] = header
        srv.data["ok"] = recv_exact(conn, 0x30001) == big
        conn.sendall(b"\x00\x03\x00\x01" + big)

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=False, timeout=5) as t:
        t.send(big)
        assert t.recv() == big
        with pytest.raises(ProtocolError, match="24-bit"):
            t.send(b"\0" * 0x1000000)
        assert not t.closed  # nothing was sent
    srv.stop()
    assert srv.data["header"] == b"\x00\x03\x00\x01" and srv.data["ok"]


def test_direct_tcp_24_bit_length_large_message(serve):
    big = random.Random(2).randbytes(5 * 1024 * 1024 + 3)

    def handler(conn, srv):
        ptype, body = read_message(conn, True)
        srv.data["digest"] = hashlib.sha256(body).digest()
        conn.sendall(framing.encode_header(len(big), True))
        view = memoryview(big)
        for i in range(0, len(big), 70000):
            conn.sendall(view[i:i + 70000])

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=True, timeout=10) as t:
        t.send(memoryview(big)[:1000], memoryview(big)[1000:])
        got = t.recv()
        assert len(got) == len(big) and hashlib.sha256(got).digest() == hashlib.sha256(big).digest()
    srv.stop()
    assert srv.data["digest"] == hashlib.sha256(big).digest()


def test_many_mixed_messages_random_chunking(serve):
    rnd = random.Random(3)
    payloads = [bytes([i % 251]) * rnd.choice([0, 1, 3, 100, 5000, 70000, 300000]) for i in range(200)]

    def handler(conn, srv):
        stream = b"".join(framing.encode_header(len(p), True) + p for p in payloads)
        view, pos = memoryview(stream), 0
        while pos < len(stream):
            n = rnd.choice([1, 2, 3, 4, 5, 1000, 65536, 200000, 1 << 20])
            conn.sendall(view[pos:pos + n])
            pos += n
        recv_exact(conn, 1)  # wait for the client to finish

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=True, timeout=10) as t:
        for i, p in enumerate(payloads):
            got = t.recv()
            assert len(got) == len(p) and got == p, "message %d" % i
        t.send(b"")
        # the buffer grew once for the largest message, it is reused otherwise
        assert len(t._buf) < 2 * 300004 + DEFAULT_RECV_BUFFER


def test_recv_reuses_buffer(serve):
    def handler(conn, srv):
        conn.sendall(b"".join(framing.encode_header(3, True) + b"m%02d" % i for i in range(20))[:-1])
        recv_exact(conn, 1)

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=True, timeout=5) as t:
        first = t.recv()
        assert first == b"m00"
        owners = {id(t.recv().obj) for _ in range(18)}
        assert owners == {id(first.obj)}
        with pytest.raises(SMBTimeout):
            t.recv(deadline=time.monotonic() + 0.1)  # last message is one byte short
        t.send(b"x")


def test_detach_buffer_keeps_views_and_reuses_free_buffers(serve):
    """After detach_buffer() the views received so far keep their bytes while later
    messages arrive (read-ahead bytes move to the new buffer); a detached buffer is read
    into again only once no view of it is left."""
    msgs = [bytes([i]) * (1000 + i) for i in range(12)]

    def handler(conn, srv):
        conn.sendall(b"".join(framing.encode_header(len(m), True) + m for m in msgs))
        recv_exact(conn, 1)

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=True, timeout=5) as t:
        kept = []
        for i in range(6):  # every view kept: each detach needs a new buffer
            kept.append(t.recv())
            t.detach_buffer()
        assert [bytes(v) for v in kept] == msgs[:6]
        assert len({id(v.obj) for v in kept}) == 6
        remembered = {id(b) for b in t._detached}
        assert len(remembered) == 3  # at most _MAX_DETACHED, the newest
        v = t.recv()
        assert id(v.obj) not in {id(k.obj) for k in kept}
        free = kept.pop()  # the newest detached buffer: no view of it left once dropped
        free_id = id(free.obj)
        del free
        t.detach_buffer()  # takes the freed buffer for the next message
        assert bytes(v) == msgs[6]
        w = t.recv()
        assert id(w.obj) == free_id and bytes(w) == msgs[7]
        assert [bytes(k) for k in kept] == msgs[:5]  # nothing kept was overwritten
        for i in range(8, 12):
            assert bytes(t.recv()) == msgs[i]
        t.send(b"x")


def test_keepalives_are_skipped(serve):
    def handler(conn, srv):
        accept_session(conn)
        ka = framing.KEEPALIVE_PACKET
        conn.sendall(ka + ka + framing.encode_header(2, False) + b"m1" + ka + framing.encode_header(2, False) + b"m2")
        recv_exact(conn, 1)

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=False, timeout=5) as t:
        assert t.recv() == b"m1"
        assert t.recv() == b"m2"
        t.send(b"")


def test_unexpected_session_packet_after_setup(serve):
    def handler(conn, srv):
        accept_session(conn)
        conn.sendall(framing.POSITIVE_RESPONSE_PACKET)
        recv_exact(conn, 0)

    srv = serve(handler)
    t = connect(srv.host, srv.port, direct_tcp=False, timeout=5)
    with pytest.raises(ProtocolError, match="unexpected NetBIOS POSITIVE SESSION RESPONSE"):
        t.recv()
    assert t.closed


# --- malformed / hostile input ---------------------------------------------------------------
def test_oversize_length_raises_before_allocating(serve):
    def handler(conn, srv):
        conn.sendall(b"\x00\xff\xff\xff")
        time.sleep(0.5)

    srv = serve(handler)
    t = connect(srv.host, srv.port, direct_tcp=True, timeout=5, max_message_size=1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="16777215 bytes, above max_message_size 1048576"):
            t.recv()
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024
    assert len(t._buf) == DEFAULT_RECV_BUFFER
    assert t.closed
    with pytest.raises(NotConnectedError):
        t.recv()


def test_garbage_direct_tcp_header(serve):
    srv = serve(lambda conn, srv: conn.sendall(b"HTTP/1.1 400\r\n") or time.sleep(0.3))
    t = connect(srv.host, srv.port, direct_tcp=True, timeout=5)
    with pytest.raises(ProtocolError, match="first byte must be zero"):
        t.recv()
    assert t.closed


@pytest.mark.parametrize("data,match", [
    (b"", "connection closed by"),
    (b"\x00\x00", r"middle of a message header \(2 of 4 bytes\)"),
    (b"\x00\x00\x00\x64" + b"0123456789", r"middle of a message \(10 of 100 bytes\)"),
])
def test_peer_closes(serve, data, match):
    srv = serve(lambda conn, srv: conn.sendall(data))
    t = connect(srv.host, srv.port, direct_tcp=True, timeout=5)
    with pytest.raises(NotConnectedError, match=match):
        t.recv(deadline=time.monotonic() + 5)
    assert t.closed
    with pytest.raises(NotConnectedError, match="closed"):
        t.recv()
    with pytest.raises(NotConnectedError, match="closed"):
        t.send(b"x")
    t.close()
    t.close()


def test_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(NotConnectedError, match="could not connect to 127.0.0.1:%d" % port):
        connect("127.0.0.1", port, direct_tcp=True, timeout=5)


def test_unresolvable_host():
    with pytest.raises(NotConnectedError, match="cannot resolve"):
        connect("no-such-host.invalid", 445, direct_tcp=True, timeout=5)


# --- timeouts ---------------------------------------------------------------------------------------
def test_recv_timeout_keeps_partial_message(serve):
    go = threading.Event()

    def handler(conn, srv):
        conn.sendall(b"\x00\x00\x00\x08abc")
        go.wait(5)
        conn.sendall(b"defgh")
        recv_exact(conn, 1)

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=True, timeout=5) as t:
        t0 = time.monotonic()
        with pytest.raises(SMBTimeout):
            t.recv(deadline=t0 + 0.2)
        assert 0.15 <= time.monotonic() - t0 < 2
        assert not t.closed
        go.set()
        assert t.recv(deadline=time.monotonic() + 5) == b"abcdefgh"
        t.send(b"")


def test_expired_deadline_times_out_immediately(serve):
    srv = serve(lambda conn, srv: time.sleep(0.5))
    with connect(srv.host, srv.port, direct_tcp=True, timeout=5) as t:
        with pytest.raises(SMBTimeout):
            t.recv(deadline=time.monotonic() - 1)


def test_default_timeout_applies_without_deadline(serve):
    srv = serve(lambda conn, srv: time.sleep(1))
    t = connect(srv.host, srv.port, direct_tcp=True, timeout=0.2)
    t0 = time.monotonic()
    with pytest.raises(SMBTimeout):
        t.recv()
    assert time.monotonic() - t0 < 0.9
    t.close()


def test_session_setup_timeout(serve):
    srv = serve(lambda conn, srv: time.sleep(1))
    t0 = time.monotonic()
    with pytest.raises(SMBTimeout):
        connect(srv.host, srv.port, direct_tcp=False, timeout=0.2)
    assert time.monotonic() - t0 < 0.9


def test_send_timeout_after_partial_write_closes(serve):
    stop = threading.Event()
    srv = serve(lambda conn, srv: stop.wait(5))  # never reads
    t = connect(srv.host, srv.port, direct_tcp=True, timeout=5)
    payload = memoryview(bytearray(12 * 1024 * 1024))
    with pytest.raises(SMBTimeout, match="partial message"):
        t.send(payload[:8 << 20], payload[8 << 20:], deadline=time.monotonic() + 0.3)
    assert t.closed
    stop.set()


def test_large_send_with_partial_writes(serve):
    data = bytearray(random.Random(5).randbytes(4 << 20))

    def handler(conn, srv):
        time.sleep(0.2)  # let the client fill the socket buffers
        ptype, body = read_message(conn, True)
        srv.data["ok"] = body == bytes(data) * 2

    srv = serve(handler)
    with connect(srv.host, srv.port, direct_tcp=True, timeout=10) as t:
        t.send(data, memoryview(data), deadline=time.monotonic() + 10)
    srv.stop()
    assert srv.data["ok"]


# --- NetBIOS session responses -----------------------------------------------------------------------
def name_checking_server(expected_called):
    def handler(conn, srv):
        ptype, body = read_message(conn, False)
        called = first_level_decode(body[1:33])
        if called[:15].rstrip() != expected_called:
            conn.sendall(framing.encode_negative(framing.CALLED_NAME_NOT_PRESENT))
            return
        conn.sendall(framing.POSITIVE_RESPONSE_PACKET)
        ptype, msg = read_message(conn, False)
        conn.sendall(framing.encode_header(len(msg), False) + msg)
    return handler


def test_wrong_called_name_is_refused(serve):
    srv = serve(name_checking_server(b"FILESRV"))
    with pytest.raises(NotConnectedError,
                       match=r"NetBIOS session refused: called name not present \(0x82\): check remote_name"):
        connect(srv.host, srv.port, direct_tcp=False, remote_name="OTHER", timeout=5)


def test_right_called_name_is_accepted(serve):
    srv = serve(name_checking_server(b"FILESRV"))
    with connect(srv.host, srv.port, direct_tcp=False, remote_name="filesrv", timeout=5) as t:
        t.send(b"ping")
        assert t.recv() == b"ping"


@pytest.mark.parametrize("code,text", [(0x80, "not listening on called name"),
                                       (0x81, "not listening for calling name"),
                                       (0x83, "insufficient resources"), (0x8F, "unspecified error")])
def test_negative_codes(serve, code, text):
    srv = serve(lambda conn, srv: read_message(conn, False) and conn.sendall(framing.encode_negative(code)))
    with pytest.raises(NotConnectedError, match=r"%s \(0x%02X\)" % (text, code)):
        connect(srv.host, srv.port, direct_tcp=False, timeout=5)


def test_malformed_negative_response(serve):
    srv = serve(lambda conn, srv: read_message(conn, False) and conn.sendall(b"\x83\x00\x00\x00"))
    with pytest.raises(ProtocolError, match="1 byte"):
        connect(srv.host, srv.port, direct_tcp=False, timeout=5)


def test_positive_response_with_payload_is_rejected(serve):
    srv = serve(lambda conn, srv: read_message(conn, False) and conn.sendall(b"\x82\x00\x00\x01x"))
    with pytest.raises(ProtocolError, match="POSITIVE SESSION RESPONSE with 1 payload"):
        connect(srv.host, srv.port, direct_tcp=False, timeout=5)


def test_session_message_instead_of_response(serve):
    srv = serve(lambda conn, srv: read_message(conn, False) and conn.sendall(b"\x00\x00\x00\x01x"))
    with pytest.raises(ProtocolError, match="unexpected NetBIOS SESSION MESSAGE in answer"):
        connect(srv.host, srv.port, direct_tcp=False, timeout=5)


def test_retarget_followed_once(serve):
    def final(conn, srv):
        srv.data["names"] = accept_session(conn)
        ptype, msg = read_message(conn, False)
        conn.sendall(framing.encode_header(len(msg), False) + msg.upper())

    target = serve(final)

    def first(conn, srv):
        read_message(conn, False)
        conn.sendall(framing.encode_retarget("127.0.0.1", target.port))

    srv = serve(first)
    with connect(srv.host, srv.port, direct_tcp=False, remote_name="FS", my_name="me", timeout=5) as t:
        assert (t.host, t.port) == ("127.0.0.1", target.port)
        t.send(b"abc")
        assert t.recv() == b"ABC"
    target.stop()
    assert target.data["names"] == (b"FS             \x20", b"ME             \x00")


def test_second_retarget_is_an_error(serve):
    def retarget_to(port):
        def handler(conn, srv):
            read_message(conn, False)
            conn.sendall(framing.encode_retarget("127.0.0.1", port))
        return handler

    third = serve(name_checking_server(b"X"), connections=0)
    second = serve(retarget_to(third.port))
    srv = serve(retarget_to(second.port))
    with pytest.raises(NotConnectedError, match="retargeted twice"):
        connect(srv.host, srv.port, direct_tcp=False, timeout=5)


def test_low_level_session_request_returns_raw_answer(serve):
    def handler(conn, srv):
        ptype, body = read_message(conn, False)
        srv.data["calling"] = first_level_decode(body[35:67])
        conn.sendall(framing.encode_negative(0x82))

    srv = serve(handler)
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        assert session_request(s, "SRV", "WS", calling_type=0x52) == (framing.NEGATIVE_SESSION_RESPONSE, b"\x82")
    srv.stop()
    assert srv.data["calling"] == b"WS             R"


# --- IPv6 ----------------------------------------------------------------------------------------------
def _has_ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this host")
@pytest.mark.parametrize("direct_tcp", [True, False])
def test_ipv6_loopback(serve, direct_tcp):
    def handler(conn, srv):
        if not direct_tcp:
            accept_session(conn)
        ptype, msg = read_message(conn, direct_tcp)
        conn.sendall(framing.encode_header(2 * len(msg), direct_tcp) + msg * 2)

    srv = serve(handler, family=socket.AF_INET6, host="::1")
    with Transport.connect("::1", srv.port, direct_tcp=direct_tcp, sock_family=socket.AF_INET6, timeout=5) as t:
        assert t.sock.family == socket.AF_INET6
        t.send(b"v6")
        assert t.recv() == b"v6v6"


def test_close_from_another_thread_wakes_recv(serve):
    release = threading.Event()
    srv = serve(lambda conn, srv: release.wait(5))
    t = connect(srv.host, srv.port, direct_tcp=True, timeout=5)
    threading.Timer(0.2, t.close).start()
    t0 = time.monotonic()
    with pytest.raises(NotConnectedError, match="is closed"):
        t.recv(deadline=time.monotonic() + 5)
    assert time.monotonic() - t0 < 2
    release.set()


def test_invalid_max_message_size():
    with socket.socket() as s, pytest.raises(ValueError):
        Transport(s, direct_tcp=True, max_message_size=0)
