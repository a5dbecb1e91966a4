"""SMB1 signing, MID multiplexing, NT_CANCEL on timeout and the pipelined transfers, against
an in-memory fake server (no sockets)."""

import hashlib
import struct

import pytest

from smb.errors import NotConnectedError, OperationFailure, ProtocolError, SMBTimeout
from smb.smb1 import header as H
from smb.smb1 import messages as M
from smb.engine import ClientConfig, Timeout, Tree
from smb.smb1 import signing
from smb.smb1.connection import Connection

KEY = bytes(range(16)) + b"N" * 24
FOREVER = Timeout(None)
EXPIRED = Timeout(1e-9)  # every wait is over before it starts
TREE = Tree(tree_id=1, share_name="share")


def test_signature_known_answer():
    msg = bytearray(b"".join(bytes(b) for b in M.assemble(M.echo(b"abc"), mid=3)))
    expected = hashlib.md5(KEY + bytes(msg[:14]) + struct.pack("<Q", 6) + bytes(msg[22:])).digest()[:8]
    signing.sign(KEY, 6, [msg])
    assert bytes(msg[14:22]) == expected
    assert signing.verify(KEY, 6, msg)
    assert not signing.verify(KEY, 7, msg)
    assert not signing.verify(KEY[::-1], 6, msg)
    # several buffers give the same result as one
    bufs = M.assemble(M.write_andx(1, 0, b"payload" * 10))
    signing.sign(KEY, 10, bufs)
    joined = b"".join(bytes(b) for b in bufs)
    assert signing.verify(KEY, 10, joined)


class FakeServer:
    """A transport answering SMB1 requests from an in-memory file.

    ``lifo``: answer the most recent request first (responses out of order)."""

    def __init__(self, content=b"", *, key=None, lifo=False, short_read=None, short_write=None,
                 silent=False, corrupt=False):
        self.file = bytearray(content)
        self.key = key
        self.lifo = lifo
        self.short_read = short_read
        self.short_write = short_write
        self.silent = silent
        self.corrupt = corrupt
        self.out = []
        self.sent = []
        self.seq = 2
        self.host = "fake"
        self.direct_tcp = True
        self.closed = False

    def close(self):
        self.closed = True

    def send(self, *bufs, deadline=None):
        msg = b"".join(bytes(b) for b in bufs)
        self.sent.append(msg)
        cmd = msg[4]
        mid = struct.unpack_from("<H", msg, 30)[0]
        if self.key is not None:
            seq = self.seq
            assert signing.verify(self.key, seq, msg), "client signature wrong"
            self.seq += 1 if cmd == H.SMB_COM_NT_CANCEL else 2
        else:
            seq = 0
        if cmd == H.SMB_COM_NT_CANCEL or self.silent:
            return
        wc = msg[32]
        words = msg[33:33 + 2 * wc]
        if cmd == H.SMB_COM_READ_ANDX:
            _a, _r, _o, _fid, lo, cnt, _mn, hi, _rem, ohi = struct.unpack("<BBHHIHHIHI", words)
            off, count = lo | (ohi << 32), cnt | (hi << 16)
            if self.short_read and count > self.short_read:
                count = self.short_read
            data = bytes(self.file[off:off + count])
            doff = 32 + 1 + 24 + 2
            rw = struct.pack("<BBHHHHHHH8s", 0xFF, 0, 0, 0, 0, 0, len(data) & 0xFFFF, doff, len(data) >> 16,
                             bytes(8))
            resp = self._resp(cmd, mid, rw, data)
        elif cmd == H.SMB_COM_WRITE_ANDX:
            f = struct.unpack("<BBHHIIHHHHHI", words)
            off = f[4] | (f[11] << 32)
            n = f[9] | (f[8] << 16)
            doff = f[10]
            data = msg[doff:doff + n]
            if self.short_write:
                data = data[:self.short_write]
            end = off + len(data)
            if len(self.file) < end:
                self.file.extend(bytes(end - len(self.file)))
            self.file[off:end] = data
            resp = self._resp(cmd, mid, struct.pack("<BBHHHHH", 0xFF, 0, 0, len(data) & 0xFFFF, 0,
                                                    len(data) >> 16, 0), b"")
        elif cmd == H.SMB_COM_ECHO:
            resp = self._resp(cmd, mid, b"\x01\x00", msg[35 + 2 * wc:])
        else:
            resp = self._resp(cmd, mid, b"", b"", status=0xC0000022)
        resp = bytearray(resp)
        if self.key is not None:
            signing.sign(self.key, seq + 1, [resp])
        if self.corrupt:
            resp[-1] ^= 1
        self.out.append(bytes(resp))

    @staticmethod
    def _resp(cmd, mid, words, data, status=0):
        hdr = struct.pack("<4sBIBHH8sHHHHH", b"\xffSMB", cmd, status, 0x98, H.DEFAULT_FLAGS2, 0,
                          bytes(8), 0, 1, 0, 1, mid)
        return hdr + bytes([len(words) // 2]) + words + struct.pack("<H", len(data) & 0xFFFF) + data

    def recv(self, deadline=None):
        if not self.out:
            raise SMBTimeout("nothing to receive")
        return memoryview(self.out.pop() if self.lifo else self.out.pop(0))


def conn_for(server, signed=False):
    c = Connection(server, max_mpx=50)
    if signed:
        c.activate_signing(KEY, 2)
    return c


@pytest.mark.parametrize("signed", [False, True])
def test_mid_matching_out_of_order(signed):
    srv = FakeServer(key=KEY if signed else None, lifo=True)
    c = conn_for(srv, signed)
    m1 = c.send(M.echo(b"one"), 0)
    m2 = c.send(M.echo(b"two"), 0)
    assert m1 != m2
    r1 = c.receive(m1, None)  # the answer to m2 arrives first and is kept
    assert M.parse_echo(r1)[1] == b"one"
    c.done(m1)
    assert M.parse_echo(c.receive(m2, None))[1] == b"two"
    c.done(m2)


def test_bad_signature_is_protocol_error_then_unusable():
    srv = FakeServer(key=KEY, corrupt=True)
    c = conn_for(srv, True)
    with pytest.raises(ProtocolError):
        c.request(M.echo(b"x"), 0, FOREVER)
    assert srv.closed
    with pytest.raises(NotConnectedError):
        c.request(M.echo(b"x"), 0, FOREVER)


def test_unsigned_response_rejected_when_signing():
    srv = FakeServer(key=None)
    c = conn_for(srv, False)
    c.activate_signing(KEY, 2)
    srv.key = None
    with pytest.raises(ProtocolError):
        c.request(M.echo(b"x"), 0, FOREVER)


def test_timeout_sends_cancel_and_discards_late_response():
    srv = FakeServer(key=KEY, silent=True)
    c = conn_for(srv, True)
    with pytest.raises(SMBTimeout):
        c.request(M.echo(b"slow"), 7, EXPIRED)
    echo_req, cancel = srv.sent
    assert cancel[4] == H.SMB_COM_NT_CANCEL
    assert cancel[30:32] == echo_req[30:32]            # same MID
    assert cancel[24:26] == echo_req[24:26] == b"\x07\x00"  # same TID
    assert srv.seq == 2 + 2 + 1                          # cancel used one sequence number
    # the late answer to the cancelled request is dropped; the next request works
    late_mid = struct.unpack_from("<H", echo_req, 30)[0]
    late = bytearray(FakeServer._resp(H.SMB_COM_ECHO, late_mid, b"\x01\x00", b"slow"))
    signing.sign(KEY, 3, [late])
    srv.silent = False
    srv.out.append(bytes(late))
    assert M.parse_echo(c.request(M.echo(b"next"), 0, FOREVER))[1] == b"next"


def test_error_status_raises_operation_failure():
    c = conn_for(FakeServer())
    with pytest.raises(OperationFailure) as ei:
        c.request(M.close(1), 0, FOREVER)
    assert ei.value.status == 0xC0000022
    assert ei.value.smb_messages[0].command == H.SMB_COM_CLOSE


def test_garbage_from_server():
    srv = FakeServer()
    c = conn_for(srv)
    mid = c.send(M.echo(b"x"), 0)
    srv.out = [b"\xfeSMB" + bytes(60)]
    with pytest.raises(ProtocolError):
        c.receive(mid, None)


def engine_for(server, signed=False, chunk=4096, window=8):
    """An SMB1Engine over ``server`` with small transfer chunks (the transfer logic itself
    is smb.transfer, shared with SMB2)."""
    from smb.smb1.engine import NETBIOS_READ_FIT, SMB1Engine

    caps = (H.CAP_EXTENDED_SECURITY | H.CAP_UNICODE | H.CAP_NT_SMBS | H.CAP_LARGE_READX
            | H.CAP_LARGE_WRITEX | H.CAP_INFOLEVEL_PASSTHRU)
    eng = SMB1Engine.from_negotiate_response(server, ClientConfig(username="u", password="p"),
                                             _negotiate_response(caps))
    if signed:
        eng.conn.activate_signing(KEY, 2)
    eng.read_chunk = eng.write_chunk = chunk
    eng.read_window = eng.write_window = window
    eng.read_chunk_honoured = chunk <= NETBIOS_READ_FIT
    return eng


@pytest.mark.parametrize("lifo", [False, True])
@pytest.mark.parametrize("short", [None, 3000])
@pytest.mark.parametrize("signed", [False, True])
def test_read_to_in_order(lifo, short, signed):
    content = bytes((i * 7) & 0xFF for i in range(100000))
    srv = FakeServer(content, lifo=lifo, short_read=short, key=KEY if signed else None)
    eng = engine_for(srv, signed)
    chunks = []
    progress = []
    n = eng.read_to(TREE, 5, 0, -1, lambda mv: chunks.append(bytes(mv)), FOREVER, progress.append)
    assert n == len(content) and b"".join(chunks) == content and sum(progress) == n
    assert eng.conn.outstanding == 0
    part = []
    assert eng.read_to(TREE, 5, 99000, 5000, lambda mv: part.append(bytes(mv)), FOREVER) == 1000
    assert b"".join(part) == content[99000:]


@pytest.mark.parametrize("signed", [False, True])
def test_read_to_learns_the_servers_read_cap(signed):
    """A server answering at most 5000 bytes per READ (Samba: 131,011 on SMB1): the first
    READ goes alone, its rest too; from then on READs ask 5000 bytes, pipelined, so that no
    READ is cut short and no tail is read on its own -- on the next transfer too."""
    content = bytes((i * 11) & 0xFF for i in range(100000))
    srv = FakeServer(content, short_read=5000, key=KEY if signed else None)
    eng = engine_for(srv, signed, chunk=16384)
    eng.read_chunk_honoured = False  # as for 1 MiB READs on an unsigned session
    chunks = []
    assert eng.read_to(TREE, 5, 0, -1, lambda mv: chunks.append(bytes(mv)), FOREVER) == len(content)
    assert b"".join(chunks) == content and eng.conn.outstanding == 0
    reads = [(_read_offset(m), _read_count(m)) for m in srv.sent if m[4] == H.SMB_COM_READ_ANDX]
    assert [n for _o, n in reads[:2]] == [16384, 16384] and {n for _o, n in reads[2:]} == {5000}
    # one READ per 5000 bytes of the file (and some beyond its end, read to the end)
    assert [o for o, _n in reads if o < len(content)] == list(range(0, len(content), 5000))
    assert (eng.read_chunk, eng.read_chunk_honoured) == (5000, True) and eng.read_window > 8
    del srv.sent[:]
    chunks = []
    assert eng.read_to(TREE, 5, 0, 50000, lambda mv: chunks.append(bytes(mv)), FOREVER) == 50000
    assert b"".join(chunks) == content[:50000]
    assert [_read_count(m) for m in srv.sent if m[4] == H.SMB_COM_READ_ANDX] == [5000] * 10


def _read_offset(message):
    return struct.unpack_from("<I", message, 33 + 6)[0]


def _read_count(message):
    """MaxCountOfBytesToReturn (+ MaxCountHigh) of a READ_ANDX request ([MS-CIFS] 2.2.4.42.1)."""
    low, high = struct.unpack_from("<H", message, 33 + 10)[0], struct.unpack_from("<H", message, 33 + 14)[0]
    return low | (high << 16)


@pytest.mark.parametrize("short", [None, 1000])
def test_write_from(short):
    data = bytes((i * 13) & 0xFF for i in range(50000))
    srv = FakeServer(short_write=short, lifo=True)
    eng = engine_for(srv, window=4)
    pos = [0]

    def source(k):
        b = data[pos[0]:pos[0] + k]
        pos[0] += len(b)
        return b

    assert eng.write_from(TREE, 5, 10, source, FOREVER) == len(data)
    assert bytes(srv.file[10:]) == data
    assert eng.conn.outstanding == 0


def test_read_to_timeout_cancels_all():
    srv = FakeServer(b"x" * 100000, silent=True)
    eng = engine_for(srv, window=4)
    with pytest.raises(SMBTimeout):
        eng.read_to(TREE, 5, 0, -1, lambda mv: None, Timeout(0.05))
    cancels = [m for m in srv.sent if m[4] == H.SMB_COM_NT_CANCEL]
    assert len(cancels) == 4 and eng.conn.outstanding == 0


def _negotiate_response(caps, mode=0x03, data=bytes(16)):
    words = struct.pack("<HBHHIIIIQhB", 0, mode, 50, 1, 16644, 65536, 0, caps, 0, 0, 0)
    return FakeServer._resp(H.SMB_COM_NEGOTIATE, 0, words, data)


def test_engine_from_negotiate_response_sizes():
    from smb.engine import ClientConfig
    from smb.smb1.engine import SMB1Engine

    cfg = ClientConfig(username="u", password="p")
    caps = (H.CAP_EXTENDED_SECURITY | H.CAP_UNICODE | H.CAP_NT_SMBS | H.CAP_LARGE_READX
            | H.CAP_LARGE_WRITEX | H.CAP_INFOLEVEL_PASSTHRU)
    eng = SMB1Engine.from_negotiate_response(FakeServer(), cfg, _negotiate_response(caps))
    assert eng.is_smb2 is False and eng.dialect == 0x0001
    assert eng.max_read_size > 0xFFFF and eng.max_write_size > 0xFFFF
    assert eng.read_window >= 1 and eng.max_mpx == 50 and eng.passthrough
    small = SMB1Engine.from_negotiate_response(FakeServer(), cfg, _negotiate_response(H.CAP_NT_SMBS))
    assert small.max_read_size <= 16644 and small.max_write_size <= 16644
    assert not small.unicode and not small.passthrough
    with pytest.raises(ProtocolError):
        SMB1Engine.from_negotiate_response(FakeServer(), cfg, _negotiate_response(caps)[:40])
    with pytest.raises(ProtocolError):
        SMB1Engine.from_negotiate_response(FakeServer(), cfg, _negotiate_response(caps, data=b"short"))
