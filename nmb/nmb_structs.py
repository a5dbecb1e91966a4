"""NetBIOS name service packets (RFC 1002 4.2), pure codec.

Implemented: the general packet format (4.2.1: header 4.2.1.1, question 4.2.1.2, resource
record 4.2.1.3), NAME QUERY REQUEST (4.2.12), POSITIVE / NEGATIVE NAME QUERY RESPONSE
(4.2.13, 4.2.14), NODE STATUS REQUEST (4.2.17) and NODE STATUS RESPONSE (4.2.18). Names use
the second-level encoding of RFC 1002 4.1 (see :mod:`nmb.utils`); a label-string pointer
(the RFC 883 compression RFC 1002 4.1 allows) is followed once, backwards only.

Responses are also built here, so tests can play a name server.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Tuple, Union

from smb.errors import NMBError, NotConnectedError, ProtocolError  # noqa: F401  (pysmb's names here)
from nmb import framing
from nmb.utils import decode_name_at, encode_scope, first_level_encode, netbios_name_bytes, split_name

# --- header (RFC 1002 4.2.1.1) ---------------------------------------------------------
FLAG_RESPONSE = 0x8000  # R
OPCODE_SHIFT = 11
OPCODE_MASK = 0x7800
OPCODE_QUERY = 0x0
OPCODE_WACK = 0x7
NM_AA = 0x0400
NM_TC = 0x0200
NM_RD = 0x0100
NM_RA = 0x0080
NM_B = 0x0010
RCODE_MASK = 0x000F

RCODE_NAMES = {1: "FMT_ERR", 2: "SRV_ERR", 3: "NAM_ERR", 4: "IMP_ERR", 5: "RFS_ERR", 6: "ACT_ERR", 7: "CFT_ERR"}

# --- question / resource record types and classes (RFC 1002 4.2.1.2-4.2.1.3) ------------
TYPE_NB = 0x0020
TYPE_NBSTAT = 0x0021
TYPE_NULL = 0x000A
CLASS_IN = 0x0001

# --- NB_FLAGS (4.2.2) and NAME_FLAGS (4.2.18) --------------------------------------------
NB_FLAG_GROUP = 0x8000
NB_FLAG_ONT_MASK = 0x6000
NAME_FLAG_GROUP = 0x8000
NAME_FLAG_DRG = 0x1000
NAME_FLAG_CNF = 0x0800
NAME_FLAG_ACT = 0x0400
NAME_FLAG_PRM = 0x0200

# name types (pysmb's nmb_constants names)
TYPE_WORKSTATION = 0x00
TYPE_CLIENT = 0x03
TYPE_SERVER = 0x20
TYPE_DOMAIN_MASTER = 0x1B
TYPE_MASTER_BROWSER = 0x1D
TYPE_BROWSER = 0x1E

WILDCARD_NAME = "*"

_HEADER = struct.Struct(">HHHHHH")
_QTAIL = struct.Struct(">HH")
_RRTAIL = struct.Struct(">HHIH")
_NB_ENTRY = struct.Struct(">H4s")
_NODE_NAME = struct.Struct(">16sH")
_U16 = struct.Struct(">H")
STATISTICS_SIZE = 46  # unit id (6) + counters, RFC 1002 4.2.18


@dataclass
class Question:
    name: bytes  # raw 16 bytes, type in the last byte
    scope: str
    qtype: int
    qclass: int


@dataclass
class ResourceRecord:
    name: bytes  # raw 16 bytes
    scope: str
    rr_type: int
    rr_class: int
    ttl: int
    rdata: bytes


@dataclass
class NameServicePacket:
    trn_id: int
    flags: int
    questions: List[Question] = field(default_factory=list)
    answers: List[ResourceRecord] = field(default_factory=list)
    authority: List[ResourceRecord] = field(default_factory=list)
    additional: List[ResourceRecord] = field(default_factory=list)

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_RESPONSE)

    @property
    def opcode(self) -> int:
        return (self.flags & OPCODE_MASK) >> OPCODE_SHIFT

    @property
    def rcode(self) -> int:
        return self.flags & RCODE_MASK


@dataclass
class NodeName:
    """One entry of a NODE STATUS RESPONSE's NODE_NAME array."""

    name: str  # without padding
    name_type: int
    flags: int

    @property
    def is_group(self) -> bool:
        return bool(self.flags & NAME_FLAG_GROUP)


# --- encoding ----------------------------------------------------------------------------
def encode_nb_name(name: Union[str, bytes], name_type: int, scope: Optional[str] = None) -> bytes:
    """Second-level encoded name, uppercased (the form name queries use)."""
    return b"\x20" + first_level_encode(netbios_name_bytes(name, name_type, upper=True)) + encode_scope(scope)


def _header(trn_id: int, flags: int, qd: int = 0, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return _HEADER.pack(trn_id & 0xFFFF, flags, qd, an, ns, ar)


def build_name_query(trn_id: int, name: Union[str, bytes], name_type: int = TYPE_SERVER, *,
                     broadcast: bool = False, scope: Optional[str] = None) -> bytes:
    """NAME QUERY REQUEST (RFC 1002 4.2.12): RD set, B set when broadcast."""
    flags = (OPCODE_QUERY << OPCODE_SHIFT) | NM_RD | (NM_B if broadcast else 0)
    return _header(trn_id, flags, qd=1) + encode_nb_name(name, name_type, scope) + _QTAIL.pack(TYPE_NB, CLASS_IN)


def build_node_status_request(trn_id: int, scope: Optional[str] = None, *,
                              broadcast: bool = False) -> bytes:
    """NODE STATUS REQUEST (RFC 1002 4.2.17) for the wildcard name ``*`` (B set when broadcast)."""
    flags = (OPCODE_QUERY << OPCODE_SHIFT) | (NM_B if broadcast else 0)
    return (_header(trn_id, flags, qd=1)
            + encode_nb_name(WILDCARD_NAME, 0x00, scope) + _QTAIL.pack(TYPE_NBSTAT, CLASS_IN))


def build_name_query_response(trn_id: int, name: Union[str, bytes], name_type: int,
                              addresses: Iterable[str], *, ttl: int = 300000, nb_flags: int = 0,
                              rcode: int = 0, scope: Optional[str] = None) -> bytes:
    """POSITIVE (``rcode`` 0) or NEGATIVE NAME QUERY RESPONSE (RFC 1002 4.2.13, 4.2.14)."""
    flags = FLAG_RESPONSE | (OPCODE_QUERY << OPCODE_SHIFT) | NM_AA | NM_RD | NM_RA | (rcode & RCODE_MASK)
    rr_name = encode_nb_name(name, name_type, scope)
    if rcode:
        return _header(trn_id, flags, an=0) + rr_name + _RRTAIL.pack(TYPE_NULL, CLASS_IN, 0, 0)
    rdata = b"".join(_NB_ENTRY.pack(nb_flags, socket.inet_aton(ip)) for ip in addresses)
    return _header(trn_id, flags, an=1) + rr_name + _RRTAIL.pack(TYPE_NB, CLASS_IN, ttl, len(rdata)) + rdata


def build_node_status_response(trn_id: int, names: Iterable[Tuple[str, int, int]], *,
                               unit_id: bytes = b"\0" * 6, scope: Optional[str] = None) -> bytes:
    """NODE STATUS RESPONSE (RFC 1002 4.2.18) listing ``(name, type, name_flags)`` entries."""
    names = list(names)
    flags = FLAG_RESPONSE | (OPCODE_QUERY << OPCODE_SHIFT) | NM_AA
    body = bytearray((len(names),))
    for name, ntype, nflags in names:
        body += _NODE_NAME.pack(netbios_name_bytes(name, ntype), nflags)
    body += unit_id[:6].ljust(6, b"\0") + b"\0" * (STATISTICS_SIZE - 6)
    return (_header(trn_id, flags, an=1) + encode_nb_name(WILDCARD_NAME, 0x00, scope)
            + _RRTAIL.pack(TYPE_NBSTAT, CLASS_IN, 0, len(body)) + bytes(body))


# --- decoding ----------------------------------------------------------------------------
def _read_name(data: memoryview, off: int) -> Tuple[int, bytes, str]:
    if off >= len(data):
        raise ProtocolError("name service packet truncated before a name at offset %d" % off)
    if data[off] & 0xC0 == 0xC0:
        if off + 2 > len(data):
            raise ProtocolError("name service packet truncated inside a label pointer")
        target = _U16.unpack_from(data, off)[0] & 0x3FFF
        if target >= off:
            raise ProtocolError("name service label pointer 0x%04X does not point backwards" % target)
        _end, raw, scope = decode_name_at(data, target)
        return off + 2, raw, scope
    return decode_name_at(data, off)


def _read_rrs(data: memoryview, off: int, count: int, out: list) -> int:
    for _ in range(count):
        off, raw, scope = _read_name(data, off)
        if off + _RRTAIL.size > len(data):
            raise ProtocolError("name service resource record truncated")
        rtype, rclass, ttl, rdlen = _RRTAIL.unpack_from(data, off)
        off += _RRTAIL.size
        if off + rdlen > len(data):
            raise ProtocolError("name service RDATA truncated: %d bytes announced, %d left"
                                % (rdlen, len(data) - off))
        out.append(ResourceRecord(raw, scope, rtype, rclass, ttl, bytes(data[off:off + rdlen])))
        off += rdlen
    return off


def parse_packet(data: Union[bytes, bytearray, memoryview]) -> NameServicePacket:
    """Decode a name service packet; malformed input raises ProtocolError."""
    data = memoryview(data)
    if len(data) < _HEADER.size:
        raise ProtocolError("name service packet too short: %d bytes" % len(data), bytes(data))
    trn_id, flags, qd, an, ns, ar = _HEADER.unpack_from(data, 0)
    pkt = NameServicePacket(trn_id, flags)
    off = _HEADER.size
    for _ in range(qd):
        off, raw, scope = _read_name(data, off)
        if off + _QTAIL.size > len(data):
            raise ProtocolError("name service question truncated")
        qtype, qclass = _QTAIL.unpack_from(data, off)
        off += _QTAIL.size
        pkt.questions.append(Question(raw, scope, qtype, qclass))
    off = _read_rrs(data, off, an, pkt.answers)
    off = _read_rrs(data, off, ns, pkt.authority)
    _read_rrs(data, off, ar, pkt.additional)
    return pkt


def name_query_addresses(rdata: bytes) -> List[Tuple[int, str]]:
    """``(nb_flags, ipv4)`` entries of a POSITIVE NAME QUERY RESPONSE's RDATA."""
    if len(rdata) % _NB_ENTRY.size:
        raise ProtocolError("NB RDATA length %d is not a multiple of 6" % len(rdata), rdata)
    return [(f, socket.inet_ntoa(ip)) for f, ip in _NB_ENTRY.iter_unpack(rdata)]


def node_status_names(rdata: bytes) -> List[NodeName]:
    """The NODE_NAME array of a NODE STATUS RESPONSE's RDATA (statistics are ignored)."""
    if not rdata:
        raise ProtocolError("NODE STATUS RESPONSE has empty RDATA")
    count = rdata[0]
    end = 1 + count * _NODE_NAME.size
    if end > len(rdata):
        raise ProtocolError("NODE STATUS RESPONSE announces %d names but carries %d bytes"
                            % (count, len(rdata)), rdata)
    out = []
    for raw, flags in _NODE_NAME.iter_unpack(rdata[1:end]):
        name, ntype = split_name(raw)
        out.append(NodeName(name, ntype, flags))
    return out


# --- session service packets, pysmb's decoder classes (RFC 1002 4.3.1; [MS-SMB2] 2.1) -------
class NMBSessionMessage:
    """One NetBIOS session packet: ``decode(data, offset)`` fills ``type``, ``flags`` and
    ``data`` and returns the bytes used, or 0 while ``data`` holds less than a whole packet;
    a malformed header raises :class:`NMBError`."""

    HEADER_STRUCT_FORMAT = ">BBH"
    HEADER_STRUCT_SIZE = struct.calcsize(HEADER_STRUCT_FORMAT)
    _direct_tcp = False

    def __init__(self):
        self.reset()

    def reset(self):
        self.type = 0
        self.flags = 0
        self.data = b""

    def decode(self, data, offset):
        if len(data) < offset + self.HEADER_STRUCT_SIZE:
            return 0
        try:
            ptype, length = framing.decode_header(data, self._direct_tcp, offset)
        except ProtocolError as e:
            raise NMBError(e.message) from None
        end = offset + self.HEADER_STRUCT_SIZE + length
        if len(data) < end:
            return 0
        self.reset()
        self.type = ptype
        self.flags = 0 if self._direct_tcp else data[offset + 1]
        self.data = bytes(data[offset + self.HEADER_STRUCT_SIZE:end])
        return self.HEADER_STRUCT_SIZE + length


class DirectTCPSessionMessage(NMBSessionMessage):
    """The same for direct TCP (port 445): a zero byte and a 24-bit length."""

    HEADER_STRUCT_FORMAT = ">I"
    HEADER_STRUCT_SIZE = struct.calcsize(HEADER_STRUCT_FORMAT)
    _direct_tcp = True
