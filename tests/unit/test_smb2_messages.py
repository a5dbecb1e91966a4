"""SMB2 message bodies against byte layouts written out from [MS-SMB2] 2.2.x."""

import struct

import pytest

from smb.errors import ProtocolError
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2.header import request_header

FID = bytes(range(16))


def rsp(command, body, status=0):
    """A response message: header (SERVER_TO_REDIR) + body."""
    h = bytearray(request_header(command, message_id=1))
    struct.pack_into("<I", h, 8, status)
    struct.pack_into("<I", h, 16, C.FLAGS_SERVER_TO_REDIR)
    return bytes(h) + body


# --- NEGOTIATE --------------------------------------------------------------------------
def test_negotiate_request_without_contexts():
    body = M.negotiate_request([0x0202, 0x0210], 1, 0, bytes(16))
    assert body == (b"\x24\x00" b"\x02\x00" b"\x01\x00" b"\x00\x00" + bytes(4) + bytes(16)
                    + bytes(8) + b"\x02\x02\x10\x02")


def test_negotiate_request_with_contexts():
    salt = bytes(range(32))
    ctxs = [M.preauth_integrity_context(salt), M.encryption_context([2, 1, 4, 3]),
            M.signing_context([2, 1, 0])]
    body = M.negotiate_request([0x0202, 0x0210, 0x0300, 0x0302, 0x0311], 1, 0x44, b"G" * 16, ctxs)
    ctx_off, ctx_count = struct.unpack_from("<IH", body, 28)
    # 64 header + 36 fixed + 10 dialect bytes = 110 -> aligned to 112
    assert (ctx_off, ctx_count) == (112, 3)
    assert body[36:46] == b"\x02\x02\x10\x02\x00\x03\x02\x03\x11\x03"
    ctx = body[ctx_off - 64:]
    # PREAUTH: type 1, len 38, reserved, count 1, salt 32, SHA-512, salt
    assert ctx[:8] == b"\x01\x00\x26\x00\x00\x00\x00\x00"
    assert ctx[8:14] == b"\x01\x00\x20\x00\x01\x00" and ctx[14:46] == salt
    # next context 8-aligned: 8 + 38 = 46 -> 48
    assert ctx[46:48] == b"\x00\x00"
    assert ctx[48:56] == b"\x02\x00\x0a\x00\x00\x00\x00\x00"
    assert ctx[56:66] == b"\x04\x00\x02\x00\x01\x00\x04\x00\x03\x00"
    assert ctx[66:72] == bytes(6)  # pad to 72
    assert ctx[72:80] == b"\x08\x00\x08\x00\x00\x00\x00\x00"
    assert ctx[80:] == b"\x03\x00\x02\x00\x01\x00\x00\x00"


def _neg_rsp(dialect, contexts=b"", ctx_count=0, sec=b"\x60\x01"):
    fixed_end = 64 + 64
    sec_off = fixed_end
    ctx_off = (sec_off + len(sec) + 7) & ~7 if contexts else 0
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, 3, dialect, ctx_count, b"S" * 16, 0x7, 8 << 20,
                       8 << 20, 8 << 20, 1, 2, sec_off, len(sec), ctx_off)
    body += sec
    if contexts:
        body += bytes(ctx_off - 64 - len(body)) + contexts
    return rsp(C.NEGOTIATE, body)


def test_parse_negotiate_response_311():
    ctx = (b"\x01\x00\x26\x00\x00\x00\x00\x00" b"\x01\x00\x20\x00\x01\x00" + b"s" * 32 + bytes(2)
           + b"\x02\x00\x04\x00\x00\x00\x00\x00" b"\x01\x00\x02\x00" + bytes(4)
           + b"\x08\x00\x04\x00\x00\x00\x00\x00" b"\x01\x00\x01\x00")
    r = M.parse_negotiate_response(_neg_rsp(0x0311, ctx, 3))
    assert r.dialect == 0x0311 and r.security_mode == 3 and r.capabilities == 7
    assert r.max_read_size == 8 << 20 and r.server_guid == b"S" * 16
    assert r.security_buffer == b"\x60\x01"
    assert r.preauth_hash_id == 1 and r.preauth_salt == b"s" * 32
    assert r.cipher_id == C.CIPHER_AES_128_GCM and r.signing_algorithm_id == C.SIGNING_AES_CMAC


def test_parse_negotiate_response_errors():
    good = _neg_rsp(0x0210)
    with pytest.raises(ProtocolError):
        M.parse_negotiate_response(good[:100])
    bad = bytearray(good)
    struct.pack_into("<H", bad, 64 + 56, 500)  # SecurityBufferOffset beyond the message
    with pytest.raises(ProtocolError):
        M.parse_negotiate_response(bad)
    ctx = b"\x01\x00\xff\x00\x00\x00\x00\x00"  # context data length overruns
    with pytest.raises(ProtocolError):
        M.parse_negotiate_response(_neg_rsp(0x0311, ctx, 1))


# --- SESSION_SETUP / TREE_CONNECT / simple ------------------------------------------------
def test_session_setup():
    body = M.session_setup_request(b"TOKEN", 1, 0)
    assert body == struct.pack("<HBBIIHHQ", 25, 0, 1, 0, 0, 88, 5, 0) + b"TOKEN"
    flags, tok = M.parse_session_setup_response(rsp(C.SESSION_SETUP, struct.pack("<HHHH", 9, 1, 72, 3) + b"abc"))
    assert (flags, tok) == (1, b"abc")
    with pytest.raises(ProtocolError):
        M.parse_session_setup_response(rsp(C.SESSION_SETUP, struct.pack("<HHHH", 9, 1, 72, 9) + b"abc"))


def test_tree_connect():
    body = M.tree_connect_request("\\\\srv\\IPC$")
    assert body[:8] == b"\x09\x00\x00\x00\x48\x00\x14\x00"
    assert body[8:] == "\\\\srv\\IPC$".encode("utf-16-le")
    r = rsp(C.TREE_CONNECT, b"\x10\x00\x02\x00" + struct.pack("<III", 0x8000, 0, 0x1F01FF))
    assert M.parse_tree_connect_response(r) == (2, 0x8000, 0, 0x1F01FF)


def test_simple_bodies():
    assert M.SIMPLE_BODY == b"\x04\x00\x00\x00"
    M.parse_simple_response(rsp(C.ECHO, b"\x04\x00\x00\x00"), "ECHO")
    with pytest.raises(ProtocolError):
        M.parse_simple_response(rsp(C.ECHO, b"\x09\x00\x00\x00"), "ECHO")


def test_error_response():
    count, data = M.parse_error(rsp(C.QUERY_INFO, b"\x09\x00\x00\x00\x04\x00\x00\x00\x10\x02\x00\x00",
                                    C.STATUS_BUFFER_TOO_SMALL))
    assert count == 0 and bytes(data) == b"\x10\x02\x00\x00"


# --- CREATE / CLOSE / FLUSH ---------------------------------------------------------------
def test_create_request():
    body = M.create_request("a\\b.txt", desired_access=0x12019F, file_attributes=0x80, share_access=7,
                            create_disposition=5, create_options=0x40)
    name = "a\\b.txt".encode("utf-16-le")
    assert body == struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x12019F, 0x80, 7, 5, 0x40,
                               120, len(name), 0, 0) + name
    assert M.create_request("", desired_access=1)[-1:] == b"\0" and len(M.create_request("", desired_access=1)) == 57


def test_create_contexts_round_trip():
    body = M.create_request("x", desired_access=1, contexts=[(b"MxAc", b""), (b"QFid", b"")])
    off, length = struct.unpack_from("<II", body, 48)
    assert off == 128 and off % 8 == 0
    blob = body[off - 64:]
    assert len(blob) == length
    # first context: Next=24 (16 + 4 name, aligned), NameOffset 16, NameLength 4
    assert struct.unpack_from("<IHHHHI", blob, 0) == (24, 16, 4, 0, 0, 0)
    assert blob[16:20] == b"MxAc"
    ctxs = M.parse_create_contexts(bytes(64) + blob, 64, len(blob))
    assert ctxs == [(b"MxAc", b""), (b"QFid", b"")]


def test_create_response():
    ctx = struct.pack("<IHHHHI", 0, 16, 4, 0, 24, 8) + b"MxAc" + bytes(4) + struct.pack("<II", 0, 0x1F01FF)
    body = struct.pack("<HBBIQQQQQQII16sII", 89, 0, 0, 2, 10, 11, 12, 13, 4096, 5, 0x20, 0, FID,
                       64 + 88, len(ctx)) + ctx
    r = M.parse_create_response(rsp(C.CREATE, body))
    assert (r.create_action, r.creation_time, r.last_access_time, r.last_write_time, r.change_time) == (2, 10, 11, 12, 13)
    assert (r.allocation_size, r.end_of_file, r.file_attributes, r.file_id) == (4096, 5, 0x20, FID)
    assert r.contexts == [(b"MxAc", struct.pack("<II", 0, 0x1F01FF))]
    bad = bytearray(rsp(C.CREATE, body))
    struct.pack_into("<I", bad, 64 + 84, 1000)  # contexts length beyond the message
    with pytest.raises(ProtocolError):
        M.parse_create_response(bad)
    with pytest.raises(ProtocolError):
        M.parse_create_response(rsp(C.CREATE, body[:40]))


def test_close_and_flush():
    assert M.close_request(FID, 1) == b"\x18\x00\x01\x00" + bytes(4) + FID
    assert M.flush_request(FID) == b"\x18\x00\x00\x00" + bytes(4) + FID
    body = struct.pack("<HHIQQQQQQI", 60, 1, 0, 1, 2, 3, 4, 8192, 100, 0x20)
    assert M.parse_close_response(rsp(C.CLOSE, body)) == (1, 1, 2, 3, 4, 8192, 100, 0x20)


# --- READ / WRITE -------------------------------------------------------------------------
def test_read_request():
    body = M.read_request(FID, 0x1000, 65536)
    assert len(body) == 49
    assert body == (b"\x31\x00\x50\x00" + struct.pack("<IQ", 65536, 0x1000) + FID + bytes(12)
                    + bytes(4) + b"\x00")


def test_read_response():
    body = struct.pack("<HBBIII", 17, 80, 0, 5, 0, 0) + b"hello"
    data, rem = M.parse_read_response(rsp(C.READ, body))
    assert bytes(data) == b"hello" and rem == 0
    with pytest.raises(ProtocolError):  # DataLength beyond the message
        M.parse_read_response(rsp(C.READ, struct.pack("<HBBIII", 17, 80, 0, 50, 0, 0) + b"hello"))
    with pytest.raises(ProtocolError):
        M.parse_read_response(rsp(C.READ, b"\x11\x00"))


def test_write():
    body = M.write_request(FID, 7, 3)
    assert body == struct.pack("<HHIQ", 49, 112, 3, 7) + FID + bytes(16)
    assert M.parse_write_response(rsp(C.WRITE, struct.pack("<HHIIHH", 17, 0, 3, 0, 0, 0))) == 3
    with pytest.raises(ProtocolError):
        M.parse_write_response(rsp(C.WRITE, b"\x11\x00\x00"))


# --- IOCTL / QUERY_DIRECTORY / QUERY_INFO / SET_INFO ------------------------------------
def test_ioctl():
    body = M.ioctl_request(FID, C.FSCTL_PIPE_TRANSCEIVE, b"in", 4096)
    assert body == struct.pack("<HHI16sIIIIIIII", 57, 0, 0x0011C017, FID, 120, 2, 0, 0, 0, 4096, 1, 0) + b"in"
    out = struct.pack("<HHI16sIIIIII", 49, 0, 0x0011C017, FID, 112, 0, 112, 3, 0, 0) + b"out"
    code, fid, data = M.parse_ioctl_response(rsp(C.IOCTL, out))
    assert (code, fid, bytes(data)) == (0x0011C017, FID, b"out")


def test_query_directory():
    body = M.query_directory_request(FID, "*", 0x03, C.RESTART_SCANS, 65536)
    assert body == struct.pack("<HBBI16sHHI", 33, 3, 1, 0, FID, 96, 2, 65536) + b"*\x00"
    r = M.parse_query_directory_response(rsp(C.QUERY_DIRECTORY, struct.pack("<HHI", 9, 72, 4) + b"ABCD"))
    assert bytes(r) == b"ABCD"


def test_query_and_set_info():
    body = M.query_info_request(FID, 1, 5, 1024, 0)
    assert body == struct.pack("<HBBIHHIII16s", 41, 1, 5, 1024, 0, 0, 0, 0, 0, FID) + b"\0"
    r = M.parse_query_info_response(rsp(C.QUERY_INFO, struct.pack("<HHI", 9, 72, 2) + b"xy"))
    assert bytes(r) == b"xy"
    body = M.set_info_request(FID, 1, 4, b"DATA")
    assert body == struct.pack("<HBBIHHI16s", 33, 1, 4, 4, 96, 0, 0, FID) + b"DATA"
