"""SMB2 header codec ([MS-SMB2] 2.2.1) and compound splitting."""

import struct

import pytest

from smb.errors import ProtocolError
from smb.smb2 import constants as C
from smb.smb2.header import parse_header, request_header, split_compound


def test_request_header_layout():
    h = request_header(C.READ, message_id=0x0102030405060708, credit_charge=3, credit_request=40,
                       flags=C.FLAGS_SIGNED, next_command=0x70, tree_id=0xAABBCCDD,
                       session_id=0x1122334455667788)
    assert len(h) == 64
    assert h[:4] == b"\xfeSMB"
    assert struct.unpack_from("<HHIHHII", h, 4) == (64, 3, 0, 8, 40, 8, 0x70)
    assert struct.unpack_from("<Q", h, 24)[0] == 0x0102030405060708
    assert struct.unpack_from("<II", h, 32) == (0, 0xAABBCCDD)  # Reserved, TreeId
    assert struct.unpack_from("<Q", h, 40)[0] == 0x1122334455667788
    assert h[48:] == bytes(16)


def test_async_header_round_trip():
    h = request_header(C.CANCEL, message_id=0, async_id=0x99887766, session_id=5)
    p = parse_header(h)
    assert p.is_async and p.async_id == 0x99887766 and p.tree_id == 0
    assert p.flags & C.FLAGS_ASYNC_COMMAND
    assert p.command == C.CANCEL and p.session_id == 5


def test_parse_response_header():
    raw = bytearray(request_header(C.CREATE, message_id=7, tree_id=3, session_id=9))
    struct.pack_into("<I", raw, 8, C.STATUS_OBJECT_NAME_NOT_FOUND)
    struct.pack_into("<H", raw, 14, 33)  # CreditResponse
    struct.pack_into("<I", raw, 16, C.FLAGS_SERVER_TO_REDIR)
    h = parse_header(raw)
    assert (h.status, h.command, h.credits, h.message_id, h.tree_id, h.session_id) == (
        C.STATUS_OBJECT_NAME_NOT_FOUND, C.CREATE, 33, 7, 3, 9)
    assert h.is_response and not h.is_async


@pytest.mark.parametrize("raw", [
    b"",
    b"\xfeSMB" + bytes(59),                      # one byte short
    b"\xffSMB" + bytes(60),                      # SMB1 magic
    b"\xfeSMB" + struct.pack("<H", 65) + bytes(58),  # bad StructureSize
])
def test_parse_header_errors(raw):
    with pytest.raises(ProtocolError):
        parse_header(raw)


def _msg(body_len, next_command):
    h = bytearray(request_header(C.CLOSE, message_id=1, next_command=next_command))
    return bytes(h) + bytes(body_len)


def test_split_compound():
    a = _msg(64, 128)   # 128 bytes, next at 128
    b = _msg(20, 88)    # 84 bytes + 4 padding
    c = _msg(8, 0)
    data = a + b + bytes(4) + c
    assert list(split_compound(data)) == [(0, 128), (128, 216), (216, len(data))]


@pytest.mark.parametrize("data", [
    _msg(8, 12) + bytes(64),            # NextCommand below header size
    _msg(8, 76) + bytes(80),            # not 8-aligned
    _msg(8, 400),                       # beyond the payload
    _msg(8, 72) + b"\xfeSMB",           # truncated second message
])
def test_split_compound_errors(data):
    with pytest.raises(ProtocolError):
        list(split_compound(data))
