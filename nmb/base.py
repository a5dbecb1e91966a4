"""pysmb's ``nmb.base`` names: :class:`NBNS` (name-service packet helpers, the base of
:class:`nmb.NetBIOS.NetBIOS`), the exceptions and, through ``import *``, the constants of
:mod:`nmb.nmb_constants`.

Packets are built and parsed by the codec in :mod:`nmb.nmb_structs` (RFC 1002 4.2);
session service constants are those of RFC 1002 4.3 (see :mod:`nmb.framing`).
"""

import logging
import struct

from smb.errors import NMBError, NotConnectedError, ProtocolError, SMBTimeout  # noqa: F401
from nmb import nmb_structs as ns
from nmb.nmb_constants import *  # noqa: F401,F403
from nmb.nmb_structs import DirectTCPSessionMessage, NMBSessionMessage  # noqa: F401
from nmb.utils import encode_name  # noqa: F401


class NBNS:
    """NetBIOS name-service packets with pysmb's method names: ``prepareNameQuery`` /
    ``decodePacket`` (NAME QUERY, RFC 1002 4.2.12-4.2.13) and ``prepareNetNameQuery`` /
    ``decodeIPQueryPacket`` (NODE STATUS, 4.2.17-4.2.18). Subclasses provide ``write``.

    Decoders return ``(trn_id, result)``, result None when the packet is not the expected
    positive answer; malformed packets raise :class:`smb.errors.ProtocolError`."""

    log = logging.getLogger("NMB.NBNS")
    HEADER_STRUCT_FORMAT = ">HHHHHH"
    HEADER_STRUCT_SIZE = struct.calcsize(HEADER_STRUCT_FORMAT)

    def write(self, data, ip, port):
        raise NotImplementedError

    def prepareNameQuery(self, trn_id, name, is_broadcast=True):
        """A NAME QUERY REQUEST for the server name ``name`` (type 0x20)."""
        return ns.build_name_query(trn_id, name, ns.TYPE_SERVER, broadcast=is_broadcast)

    def prepareNetNameQuery(self, trn_id, is_broadcast=True):
        """A NODE STATUS REQUEST (the names registered on a node)."""
        return ns.build_node_status_request(trn_id, broadcast=is_broadcast)

    def decodePacket(self, data):
        """``(trn_id, [address, ...])`` of a positive NAME QUERY RESPONSE."""
        pkt = ns.parse_packet(data)
        if pkt.is_response and pkt.opcode == ns.OPCODE_QUERY and not pkt.rcode:
            for rr in pkt.answers:
                if rr.rr_type == ns.TYPE_NB:
                    return pkt.trn_id, [addr for _flags, addr in ns.name_query_addresses(rr.rdata)]
        return pkt.trn_id, None

    def decodeIPQueryPacket(self, data):
        """``(trn_id, [(name, name_type), ...])`` of a NODE STATUS RESPONSE."""
        pkt = ns.parse_packet(data)
        if pkt.is_response and not pkt.rcode:
            for rr in pkt.answers:
                if rr.rr_type == ns.TYPE_NBSTAT:
                    return pkt.trn_id, [(e.name, e.name_type) for e in ns.node_status_names(rr.rdata)]
        return pkt.trn_id, None
