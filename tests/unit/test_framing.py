"""Pure codec tests: session headers (RFC 1002 4.3, direct TCP) and name encoding (RFC 1001 14)."""

import struct

import pytest

from smb.errors import ProtocolError
from nmb import framing
from nmb.utils import decode_name, decode_name_at, encode_name, first_level_decode, split_name


# --- headers -----------------------------------------------------------------------------
def test_netbios_header_small():
    assert framing.encode_header(0x1234, False) == b"\x00\x00\x12\x34"
    assert framing.decode_header(b"\x00\x00\x12\x34", False) == (0x00, 0x1234)


def test_netbios_header_17_bit_length_uses_extension_flag():
    h = framing.encode_header(0x1FFFF, False)
    assert h == b"\x00\x01\xff\xff"
    assert framing.decode_header(h, False) == (framing.SESSION_MESSAGE, 0x1FFFF)
    assert framing.decode_header(b"\x00\x01\x00\x00", False) == (0, 0x10000)


def test_netbios_session_message_large_length_extension():
    # above 17 bits the remaining flag bits carry the high length bits (Samba on port 139)
    assert framing.encode_header(0x20000, False) == b"\x00\x02\x00\x00"
    assert framing.decode_header(b"\x00\x12\x34\x56", False) == (0, 0x123456)
    with pytest.raises(ValueError):
        framing.encode_header(0x1000000, False)
    with pytest.raises(ValueError, match="17-bit"):
        framing.encode_header(0x20000, False, framing.SESSION_REQUEST)


def test_netbios_header_reserved_flag_bits_are_protocol_error():
    with pytest.raises(ProtocolError, match="reserved flag"):
        framing.decode_header(b"\x85\x02\x00\x00", False)
    with pytest.raises(ProtocolError, match="reserved flag"):
        framing.decode_header(b"\x82\x80\x00\x00", False)


def test_netbios_unknown_packet_type():
    with pytest.raises(ProtocolError, match="unknown NetBIOS session packet type 0x42"):
        framing.decode_header(b"\x42\x00\x00\x00", False)


def test_direct_tcp_24_bit_length():
    h = framing.encode_header(0xABCDEF, True)
    assert h == b"\x00\xab\xcd\xef"
    assert framing.decode_header(h, True) == (0, 0xABCDEF)
    with pytest.raises(ValueError):
        framing.encode_header(0x1000000, True)


def test_direct_tcp_nonzero_first_byte():
    with pytest.raises(ProtocolError, match="first byte must be zero"):
        framing.decode_header(b"\x01\x00\x00\x10", True)
    # a zero-length keep-alive is tolerated on port 445
    assert framing.decode_header(b"\x85\x00\x00\x00", True) == (framing.SESSION_KEEPALIVE, 0)


def test_decode_header_truncated_and_offset():
    with pytest.raises(ProtocolError, match="truncated"):
        framing.decode_header(b"\x00\x00", True)
    assert framing.decode_header(b"xx\x85\x00\x00\x00", False, 2) == (framing.SESSION_KEEPALIVE, 0)


def test_packet_types():
    assert framing.KEEPALIVE_PACKET == b"\x85\x00\x00\x00"
    assert framing.POSITIVE_RESPONSE_PACKET == b"\x82\x00\x00\x00"
    assert framing.encode_negative(0x82) == b"\x83\x00\x00\x01\x82"
    assert framing.encode_retarget("10.1.2.3", 139) == b"\x84\x00\x00\x06\x0a\x01\x02\x03\x00\x8b"


# --- session request -----------------------------------------------------------------------
def test_session_request_layout():
    pkt = framing.session_request("server", "client")
    assert len(pkt) == 4 + 68
    assert pkt[:4] == b"\x81\x00\x00\x44"
    called, calling = pkt[4:38], pkt[38:72]
    assert called[0] == 0x20 and called[33] == 0 and calling[0] == 0x20 and calling[33] == 0
    # RFC 1001 14.1: 'S' = 0x53 -> 'F','D'; space = 0x20 -> 'C','A'; type 0x20 -> 'C','A'
    assert called[1:3] == b"FD"
    raw = first_level_decode(called[1:33])
    assert raw == b"SERVER         \x20"
    assert first_level_decode(calling[1:33]) == b"CLIENT         \x00"


def test_session_request_name_types_and_truncation():
    pkt = framing.session_request("a-very-long-server-name", b"ws", called_type=0x21, calling_type=0x52)
    assert first_level_decode(pkt[5:37]) == b"A-VERY-LONG-SER\x21"
    assert first_level_decode(pkt[39:71]) == b"WS             R"


def test_negative_response_helpers():
    assert framing.negative_response_code(b"\x82") == 0x82
    with pytest.raises(ProtocolError):
        framing.negative_response_code(b"")
    assert framing.negative_response_message(0x82) == (
        "NetBIOS session refused: called name not present (0x82): check remote_name")
    assert "not listening for calling name (0x81): check my_name" in framing.negative_response_message(0x81)
    assert "unspecified error (0x8F)" in framing.negative_response_message(0x8F)
    assert "unknown error (0x12)" in framing.negative_response_message(0x12)


def test_decode_retarget():
    assert framing.decode_retarget(b"\x7f\x00\x00\x01\x01\xbd") == ("127.0.0.1", 445)
    with pytest.raises(ProtocolError, match="6 bytes"):
        framing.decode_retarget(b"\x7f\x00\x00\x01")


# --- name encoding -----------------------------------------------------------------------------
def test_encode_name_rfc_example():
    # RFC 1001 14.1 example: "FRED" padded with spaces -> EGFCEFEECACACACACACACACACACACACA
    enc = encode_name("FRED", 0x20)
    assert enc == b"\x20EGFCEFEECACACACACACACACACACACACA\x00"
    assert decode_name(enc) == (34, "FRED           \x20", "")


def test_encode_name_wildcard_and_scope():
    enc = encode_name("*", 0x00, "corp.example")
    assert enc[1:3] == b"CK"  # '*' = 0x2A
    assert enc[3:33] == b"A" * 30  # NUL padding
    assert enc[33:] == b"\x04corp\x07example\x00"
    off, name, scope = decode_name(enc)
    assert (off, scope) == (len(enc), "corp.example")
    assert split_name(name.encode("latin-1")) == ("*", 0)


def test_encode_name_keeps_case():
    assert first_level_decode(encode_name("abc", 0x20)[1:33]) == b"abc            \x20"


def test_decode_name_malformed():
    with pytest.raises(ProtocolError, match="label length must be 32"):
        decode_name(b"\x10" + b"A" * 33)
    with pytest.raises(ProtocolError, match="truncated"):
        decode_name(b"\x20" + b"A" * 10)
    with pytest.raises(ProtocolError, match="invalid character"):
        decode_name(b"\x20" + b"Z" * 32 + b"\x00")
    with pytest.raises(ProtocolError, match="not terminated"):
        decode_name(b"\x20" + b"A" * 32 + b"\x02ab")
    with pytest.raises(ProtocolError, match="scope label truncated"):
        decode_name(b"\x20" + b"A" * 32 + b"\x03ab")
    with pytest.raises(ProtocolError, match="label length"):
        decode_name_at(b"\x20" + b"A" * 32 + b"\x50", 0)


def test_struct_sanity_of_header_codec():
    # 17-bit and 24-bit decoding against an independent struct computation
    for n in (0, 1, 255, 256, 65535, 65536, 131071):
        t, ln = framing.decode_header(framing.encode_header(n, False), False)
        assert ln == n and t == 0
        assert struct.unpack(">I", framing.encode_header(n, True))[0] == n
