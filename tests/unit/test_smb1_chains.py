"""SMB1 AndX chains (issue 12, smb.smb1.chains): the layout of the chained requests
([MS-CIFS] 2.2.3.4) and the handling of chained responses -- cascaded failures, a server
that stops a chain short, and forged or malformed chains (ProtocolError, the connection
broken) -- against an in-memory fake server."""

import struct

import pytest

from smb import fscc
from smb.errors import NotConnectedError, OperationFailure, ProtocolError
from smb.smb1 import header as H
from smb.smb1 import messages as M
from smb.smb1 import signing
from smb.smb1.chains import CHAINED_FID, MAX_CHAINED_READ
from tests.unit.test_smb1_connection import FOREVER, KEY, TREE, FakeServer, engine_for

FID = 0x4242
CONTENT = bytes((i * 5) & 0xFF for i in range(3000))
READ_OPEN = {"desired_access": fscc.FILE_READ_DATA, "share_access": 1}
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_INVALID_HANDLE = 0xC0000008

_CREATE_RESP = struct.Struct("<BBHBHIQQQQIQQHHB")
_READ_RESP = struct.Struct("<BBHHHHHHH8s")
_WRITE_RESP = struct.Struct("<BBHHHHH")


def _block(words, data):
    return bytes([len(words) // 2]) + words + struct.pack("<H", len(data)) + data


class ChainServer(FakeServer):
    """Answers an AndX chain as Samba does (one block per request, 4-byte aligned), after
    ``mutate(response)`` (before signing) and ``forge(response)`` (after); ``stop_after``:
    the requests it processes, ``fail``: ``(block, status)`` a request that fails (the chain
    stops there)."""

    def __init__(self, content=CONTENT, *, key=None, mutate=None, forge=None, stop_after=None,
                 fail=None, create_status=0):
        super().__init__(content, key=key)
        self.mutate, self.forge = mutate or (lambda r: r), forge or (lambda r: r)
        self.stop_after, self.fail, self.create_status = stop_after, fail, create_status
        self.chains = []  # the parsed chained requests
        self.closed_fids = []
        self.open_fids = set()

    def send(self, *bufs, deadline=None):
        msg = b"".join(bytes(b) for b in bufs)
        if msg[4] == H.SMB_COM_NT_CREATE_ANDX:
            return self._answer(msg, self._chain(msg))
        if msg[4] == H.SMB_COM_CLOSE:
            fid = struct.unpack_from("<H", msg, 33)[0]
            self.closed_fids.append(fid)
            status = 0 if fid in self.open_fids else STATUS_INVALID_HANDLE
            self.open_fids.discard(fid)
            return self._answer(msg, self._resp(H.SMB_COM_CLOSE, _mid(msg), b"", b"", status=status))
        return super().send(*bufs, deadline=deadline)

    def _answer(self, msg, resp):
        self.sent.append(msg)
        seq = 0
        if self.key is not None:
            seq = self.seq
            assert signing.verify(self.key, seq, msg), "client signature wrong"
            self.seq += 2
        resp = bytearray(self.mutate(bytes(resp)))
        if self.key is not None:
            signing.sign(self.key, seq + 1, [resp])
        self.out.append(bytes(self.forge(bytes(resp))))

    def _chain(self, msg):
        req = H.parse_response(msg)
        self.chains.append(req)
        out = bytearray(self._resp(H.SMB_COM_NT_CREATE_ANDX, _mid(msg), b"", b"")[:32])
        status, link = 0, -1
        for i, (cmd, words, _data, _off) in enumerate(req.blocks):
            if self.stop_after is not None and i >= self.stop_after:
                break
            if i:
                out += bytes(-len(out) % 4)
                struct.pack_into("<BBH", out, link, cmd, 0, len(out))
            link = len(out) + 1
            failing = (i == 0 and self.create_status) or (self.fail and self.fail[0] == i)
            if failing:
                status = self.create_status if i == 0 else self.fail[1]
                out += _block(b"", b"")
                break
            out += self._answer_block(cmd, bytes(words), msg, len(out))
        struct.pack_into("<I", out, 5, status)
        return out

    def _answer_block(self, cmd, words, msg, at):
        if cmd == H.SMB_COM_NT_CREATE_ANDX:
            self.open_fids.add(FID)
            return _block(_CREATE_RESP.pack(0xFF, 0, 0, 0, FID, 1, 1, 2, 3, 4, 0x20, 4096,
                                            len(self.file), 0, 0, 0), b"")
        if cmd == H.SMB_COM_READ_ANDX:
            _a, _r, _o, fid, lo, cnt, _mn, hi, _rem, ohi = struct.unpack("<BBHHIHHIHI", words)
            assert fid == CHAINED_FID
            off, count = lo | (ohi << 32), cnt | ((hi & 0xFFFF) << 16)
            data = bytes(self.file[off:off + count])
            doff = at + 1 + 24 + 2 + 1
            return _block(_READ_RESP.pack(0xFF, 0, 0, 0xFFFF, 0, 0, len(data), doff, 0, bytes(8)),
                          b"\0" + data)
        if cmd == H.SMB_COM_WRITE_ANDX:
            f = struct.unpack("<BBHHIIHHHHHI", words)
            assert f[3] == CHAINED_FID
            off, n, doff = f[4] | (f[11] << 32), f[9] | (f[8] << 16), f[10]
            if len(self.file) < off + n:
                self.file.extend(bytes(off + n - len(self.file)))
            self.file[off:off + n] = msg[doff:doff + n]
            return _block(_WRITE_RESP.pack(0xFF, 0, 0, n & 0xFFFF, 0, n >> 16, 0), b"")
        assert cmd == H.SMB_COM_CLOSE
        self.open_fids.discard(FID)
        return _block(b"", b"")


def _mid(msg):
    return struct.unpack_from("<H", msg, 30)[0]


def _engine(server, signed=False):
    eng = engine_for(server, signed)
    eng.conn.max_request = 16644
    return eng


@pytest.mark.parametrize("signed", [False, True])
def test_read_chain_layout_and_answer(signed):
    srv = ChainServer(key=KEY if signed else None)
    eng = _engine(srv, signed)
    opened, data = eng.open_read_close(TREE, "dir\\f.bin", 0, 1 << 20, timeout=FOREVER, **READ_OPEN)
    assert data == CONTENT and opened.end_of_file == len(CONTENT) and opened.file_id == FID
    [req] = srv.chains
    assert [b[0] for b in req.blocks] == [H.SMB_COM_NT_CREATE_ANDX, H.SMB_COM_READ_ANDX, H.SMB_COM_CLOSE]
    assert all((b[3] - 3 - len(b[1])) % 4 == 0 for b in req.blocks[1:])  # WordCount 4-byte aligned
    read_words = bytes(req.blocks[1][1])
    assert struct.unpack_from("<H", read_words, 4)[0] == CHAINED_FID
    asked = struct.unpack_from("<H", read_words, 10)[0] | (struct.unpack_from("<H", read_words, 14)[0] << 16)
    assert asked == MAX_CHAINED_READ  # the whole chained answer fits 64 KiB
    assert struct.unpack_from("<H", bytes(req.blocks[2][1]), 0)[0] == CHAINED_FID
    assert len(srv.sent) == 1 and not srv.open_fids and eng.conn.outstanding == 0


@pytest.mark.parametrize("signed", [False, True])
def test_write_chain_places_the_data(signed):
    srv = ChainServer(b"", key=KEY if signed else None)
    eng = _engine(srv, signed)
    payload = bytes(range(256)) * 40
    _o, n = eng.open_write_close(TREE, "w.bin", 7, payload, timeout=FOREVER, desired_access=2)
    assert n == len(payload) and bytes(srv.file[7:]) == payload
    assert [b[0] for b in srv.chains[0].blocks] == [H.SMB_COM_NT_CREATE_ANDX, H.SMB_COM_WRITE_ANDX,
                                                    H.SMB_COM_CLOSE]
    # an upload that does not fit the server's MaxBufferSize goes as separate requests
    srv.file = bytearray()
    _o, n = eng.open_write_close(TREE, "w.bin", 0, payload * 2, timeout=FOREVER, desired_access=2)
    assert len(srv.chains) == 2 and [b[0] for b in srv.chains[1].blocks] == [H.SMB_COM_NT_CREATE_ANDX]
    assert n == 2 * len(payload) and bytes(srv.file) == payload * 2 and srv.closed_fids == [FID]


def test_a_failed_create_raises_its_status_and_sends_nothing_else():
    srv = ChainServer(create_status=STATUS_OBJECT_NAME_NOT_FOUND)
    eng = _engine(srv)
    with pytest.raises(OperationFailure) as e:
        eng.open_read_close(TREE, "missing.bin", 0, 100, timeout=FOREVER, **READ_OPEN)
    assert e.value.status == STATUS_OBJECT_NAME_NOT_FOUND and "missing.bin" in str(e.value)
    assert len(srv.sent) == 1 and not eng.broken


def test_a_failed_read_closes_the_file_then_raises():
    srv = ChainServer(fail=(1, STATUS_ACCESS_DENIED))
    eng = _engine(srv)
    with pytest.raises(OperationFailure) as e:
        eng.open_read_close(TREE, "f.bin", 0, 100, timeout=FOREVER, **READ_OPEN)
    assert e.value.status == STATUS_ACCESS_DENIED and "READ_ANDX" in str(e.value)
    assert srv.closed_fids == [FID] and not srv.open_fids and not eng.broken


def test_a_chain_processed_in_part_is_finished_request_by_request():
    """A server that does not chain answers the NT_CREATE_ANDX alone: the READ and the
    CLOSE follow on their own, and no chain is sent on that connection again."""
    srv = ChainServer(stop_after=1)
    eng = _engine(srv)
    _o, data = eng.open_read_close(TREE, "f.bin", 0, 100, timeout=FOREVER, **READ_OPEN)
    assert data == CONTENT[:100] and srv.closed_fids == [FID] and eng.chaining is False
    assert [m[4] for m in srv.sent] == [H.SMB_COM_NT_CREATE_ANDX, H.SMB_COM_READ_ANDX, H.SMB_COM_CLOSE]
    eng.open_close(TREE, "f.bin", timeout=FOREVER, **READ_OPEN)
    assert len(srv.chains) == 2 and len(srv.chains[1].blocks) == 1  # a plain NT_CREATE_ANDX


def _put_block_field(resp, block, fmt, at, value):
    r = H.parse_response(resp)
    out = bytearray(resp)
    struct.pack_into(fmt, out, r.blocks[block][3] - 2 - len(r.blocks[block][1]) + at, value)
    return bytes(out)


def _reorder(resp):
    """The READ block announced as a CLOSE block."""
    return _put_block_field(resp, 0, "<B", 0, H.SMB_COM_CLOSE)


def _longer_read(resp):
    """The READ block claims 100 bytes more than were asked for (the bytes are there)."""
    r = H.parse_response(resp)
    length = struct.unpack_from("<H", r.blocks[1][1], 10)[0]
    return _put_block_field(resp, 1, "<H", 10, length + 100) + bytes(100)


def _read_outside(resp):
    return _put_block_field(resp, 1, "<H", 12, len(resp) - 10)


def _short_create(resp):
    """The NT_CREATE_ANDX block with 20 words instead of 34."""
    r = H.parse_response(resp)
    words_at = r.blocks[0][3] - 2 - len(r.blocks[0][1])
    out = bytearray(resp)
    out[words_at - 1] = 20
    return bytes(out)


def _backwards(resp):
    return _put_block_field(resp, 0, "<H", 2, 40)


def _repeated(resp):
    """The READ block says another READ follows it (at the CLOSE block)."""
    r = H.parse_response(resp)
    return _put_block_field(_put_block_field(resp, 1, "<B", 0, H.SMB_COM_READ_ANDX), 1, "<H", 2,
                            r.blocks[2][3] - 3 + 0)


def _cut(resp):
    return resp[:len(resp) - 40]


@pytest.mark.parametrize("mutate", [_reorder, _longer_read, _read_outside, _short_create, _backwards,
                                    _repeated, _cut])
@pytest.mark.parametrize("signed", [False, True])
def test_a_malformed_chained_response_is_a_protocol_error(mutate, signed):
    """Signed by the server or not, a chained answer that does not answer the chain sent
    (blocks missing, out of order or repeated, a READ longer than asked or outside the
    message, a truncated NT_CREATE_ANDX) breaks the connection; no data is returned."""
    srv = ChainServer(key=KEY if signed else None, mutate=mutate)
    eng = _engine(srv, signed)
    with pytest.raises(ProtocolError):
        eng.open_read_close(TREE, "f.bin", 0, 1000, timeout=FOREVER, **READ_OPEN)
    assert eng.broken
    with pytest.raises(NotConnectedError):
        eng.open_close(TREE, "f.bin", timeout=FOREVER, **READ_OPEN)


def test_a_forged_chained_response_fails_the_signature():
    """On a signed session the signature covers the whole chain: a READ block rewritten on
    the way (here: other data) is a ProtocolError, never data."""
    def forge(resp):
        out = bytearray(resp)
        out[-5] ^= 0xFF
        return bytes(out)
    srv = ChainServer(key=KEY, forge=forge)
    eng = _engine(srv, True)
    with pytest.raises(ProtocolError, match="signature"):
        eng.open_read_close(TREE, "f.bin", 0, 1000, timeout=FOREVER, **READ_OPEN)
    assert eng.broken


def test_chain_assembly_rules():
    read = M.read_andx(CHAINED_FID, 0, 10)
    with pytest.raises(ValueError):  # CLOSE is no AndX command: nothing may follow it
        M.assemble(M.Chain([M.close(1), read]))
    with pytest.raises(ValueError):  # a later block beyond the 16-bit AndXOffset
        M.assemble(M.Chain([M.write_andx(1, 0, bytes(70000)), read]))
    chain = M.Chain([M.nt_create("\\a", desired_access=1), M.write_andx(CHAINED_FID, 0, b"xyz"),
                     M.close(CHAINED_FID)])
    msg = b"".join(bytes(b) for b in M.assemble(chain))
    assert len(msg) == M.message_size(chain)
    r = H.parse_response(msg)
    write_words = bytes(r.blocks[1][1])
    data_offset = struct.unpack_from("<H", write_words, 22)[0]
    assert msg[data_offset:data_offset + 3] == b"xyz"
