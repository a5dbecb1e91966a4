"""Session-layer framing: NetBIOS session service and direct TCP (pure codec, no sockets).

NetBIOS session service (RFC 1002 4.3): every packet starts with a 4-byte header
``TYPE (1) | FLAGS (1) | LENGTH (2)``, big-endian; FLAGS bit 0 (the E bit, RFC 1002 4.3.1)
extends LENGTH to 17 bits, the other flag bits are reserved and zero. Packet types
(RFC 1002 4.3.1-4.3.7): SESSION MESSAGE 0x00, SESSION REQUEST 0x81 (called and calling
names, second-level encoded, RFC 1002 4.3.2), POSITIVE SESSION RESPONSE 0x82, NEGATIVE
SESSION RESPONSE 0x83 (one error-code byte, 4.3.4), RETARGET SESSION RESPONSE 0x84 (IPv4
address and port, 4.3.5), SESSION KEEP ALIVE 0x85.

Direct TCP ([MS-SMB2] 2.1, [MS-CIFS] 2.1.1.2): a zero byte then a 24-bit length.

Large messages on NetBIOS: a SESSION MESSAGE above the 17-bit limit carries the high bits of
its length in the remaining FLAGS bits, i.e. a 24-bit length as on direct TCP. Samba's smbd
reads and writes SMB2 and large SMB1 read/write messages on port 139 this way (checked against
Samba 4.17), so both directions accept it; lengths up to 0x1FFFF encode exactly as RFC 1002
says. Every other packet type must keep the reserved flag bits zero.
"""

from __future__ import annotations

import socket
import struct
from typing import Optional, Tuple, Union

from smb.errors import ProtocolError
from nmb.utils import encode_scope, first_level_encode, netbios_name_bytes

SESSION_MESSAGE = 0x00
SESSION_REQUEST = 0x81
POSITIVE_SESSION_RESPONSE = 0x82
NEGATIVE_SESSION_RESPONSE = 0x83
RETARGET_SESSION_RESPONSE = 0x84
SESSION_KEEPALIVE = 0x85

PACKET_TYPE_NAMES = {
    SESSION_MESSAGE: "SESSION MESSAGE",
    SESSION_REQUEST: "SESSION REQUEST",
    POSITIVE_SESSION_RESPONSE: "POSITIVE SESSION RESPONSE",
    NEGATIVE_SESSION_RESPONSE: "NEGATIVE SESSION RESPONSE",
    RETARGET_SESSION_RESPONSE: "RETARGET SESSION RESPONSE",
    SESSION_KEEPALIVE: "SESSION KEEP ALIVE",
}

# NEGATIVE SESSION RESPONSE error codes (RFC 1002 4.3.4)
NOT_LISTENING_ON_CALLED_NAME = 0x80
NOT_LISTENING_FOR_CALLING_NAME = 0x81
CALLED_NAME_NOT_PRESENT = 0x82
INSUFFICIENT_RESOURCES = 0x83
UNSPECIFIED_ERROR = 0x8F

NEGATIVE_RESPONSE_ERRORS = {
    NOT_LISTENING_ON_CALLED_NAME: ("not listening on called name", "check remote_name"),
    NOT_LISTENING_FOR_CALLING_NAME: ("not listening for calling name", "check my_name"),
    CALLED_NAME_NOT_PRESENT: ("called name not present", "check remote_name"),
    INSUFFICIENT_RESOURCES: ("insufficient resources", "the server is busy; retry later"),
    UNSPECIFIED_ERROR: ("unspecified error", None),
}

# Name types used in the SESSION REQUEST
SERVER_NAME_TYPE = 0x20  # file server service
WORKSTATION_NAME_TYPE = 0x00

NETBIOS_MAX_LENGTH = 0x1FFFF  # 17 bits (RFC 1002)
DIRECT_TCP_MAX_LENGTH = 0xFFFFFF  # 24 bits
HEADER_SIZE = 4

_U32 = struct.Struct(">I")
_U8 = struct.Struct(">B")
_RETARGET = struct.Struct(">4sH")
_unpack_u32_from = _U32.unpack_from
_pack_u32 = _U32.pack


def encode_header(length: int, direct_tcp: bool, packet_type: int = SESSION_MESSAGE) -> bytes:
    """The 4-byte header of a packet whose payload is ``length`` bytes."""
    if direct_tcp:
        if packet_type != SESSION_MESSAGE:
            raise ValueError("direct TCP carries only session messages")
        if not 0 <= length <= DIRECT_TCP_MAX_LENGTH:
            raise ValueError("message of %d bytes exceeds the 24-bit direct TCP length" % length)
        return _pack_u32(length)
    limit = DIRECT_TCP_MAX_LENGTH if packet_type == SESSION_MESSAGE else NETBIOS_MAX_LENGTH
    if not 0 <= length <= limit:
        raise ValueError("NetBIOS %s of %d bytes exceeds the %d-bit length field" % (
            PACKET_TYPE_NAMES.get(packet_type, hex(packet_type)), length, limit.bit_length()))
    return _pack_u32((packet_type << 24) | length)  # length bit 16 lands on the E flag


def decode_header(buf: Union[bytes, bytearray, memoryview], direct_tcp: bool,
                  offset: int = 0) -> Tuple[int, int]:
    """``(packet_type, payload_length)`` from the 4 header bytes at ``offset``."""
    if len(buf) - offset < HEADER_SIZE:
        raise ProtocolError("session header truncated: %d of 4 bytes" % max(0, len(buf) - offset))
    word = _unpack_u32_from(buf, offset)[0]
    ptype = word >> 24
    if direct_tcp:
        if ptype == SESSION_MESSAGE:
            return SESSION_MESSAGE, word & 0xFFFFFF
        if ptype == SESSION_KEEPALIVE and word & 0xFFFFFF == 0:
            return SESSION_KEEPALIVE, 0  # tolerated on port 445: some servers send them
        raise ProtocolError("invalid direct TCP header 0x%08X: first byte must be zero" % word,
                            bytes(buf[offset:offset + 4]))
    if ptype == SESSION_MESSAGE:
        return SESSION_MESSAGE, word & 0xFFFFFF  # 17-bit RFC length, or the 24-bit extension
    if word & 0x00FE0000:
        raise ProtocolError("NetBIOS session header 0x%08X has reserved flag bits set" % word,
                            bytes(buf[offset:offset + 4]))
    if ptype not in PACKET_TYPE_NAMES:
        raise ProtocolError("unknown NetBIOS session packet type 0x%02X" % ptype,
                            bytes(buf[offset:offset + 4]))
    return ptype, word & 0x1FFFF


def session_request(called: Union[str, bytes], calling: Union[str, bytes],
                    called_type: int = SERVER_NAME_TYPE, calling_type: int = WORKSTATION_NAME_TYPE,
                    scope: Optional[str] = None) -> bytes:
    """A complete SESSION REQUEST packet (header included).

    Names are uppercased, truncated to 15 characters and space padded; the name types
    go in the 16th byte.
    """
    sc = encode_scope(scope)
    body = b"".join((
        b"\x20", first_level_encode(netbios_name_bytes(called, called_type, upper=True)), sc,
        b"\x20", first_level_encode(netbios_name_bytes(calling, calling_type, upper=True)), sc,
    ))
    return encode_header(len(body), False, SESSION_REQUEST) + body


def negative_response_code(payload: Union[bytes, memoryview]) -> int:
    """The error code of a NEGATIVE SESSION RESPONSE payload."""
    if len(payload) != 1:
        raise ProtocolError("NEGATIVE SESSION RESPONSE must carry 1 byte, got %d" % len(payload),
                            bytes(payload))
    return payload[0]


def negative_response_message(code: int) -> str:
    """A readable message for a NEGATIVE SESSION RESPONSE code."""
    text, hint = NEGATIVE_RESPONSE_ERRORS.get(code, ("unknown error", None))
    msg = "NetBIOS session refused: %s (0x%02X)" % (text, code)
    return msg + ": " + hint if hint else msg


def decode_retarget(payload: Union[bytes, memoryview]) -> Tuple[str, int]:
    """``(ipv4_address, port)`` of a RETARGET SESSION RESPONSE payload."""
    if len(payload) != 6:
        raise ProtocolError("RETARGET SESSION RESPONSE must carry 6 bytes, got %d" % len(payload),
                            bytes(payload))
    ip, port = _RETARGET.unpack(bytes(payload))
    return socket.inet_ntoa(ip), port


def encode_retarget(ip: str, port: int) -> bytes:
    """A complete RETARGET SESSION RESPONSE packet (used by test servers)."""
    return encode_header(6, False, RETARGET_SESSION_RESPONSE) + _RETARGET.pack(socket.inet_aton(ip), port)


def encode_negative(code: int) -> bytes:
    """A complete NEGATIVE SESSION RESPONSE packet (used by test servers)."""
    return encode_header(1, False, NEGATIVE_SESSION_RESPONSE) + _U8.pack(code)


POSITIVE_RESPONSE_PACKET = encode_header(0, False, POSITIVE_SESSION_RESPONSE)
KEEPALIVE_PACKET = encode_header(0, False, SESSION_KEEPALIVE)
