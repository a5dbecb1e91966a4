"""NetBIOS name service client with pysmb's API (RFC 1002 4.2, procedures RFC 1001 15).

``NetBIOS(broadcast=True, listen_port=0)`` owns one IPv4 UDP socket.
``queryName`` sends a NAME QUERY REQUEST (RFC 1002 4.2.12) and returns the addresses of the
first positive answer (4.2.13); ``queryIPForName`` sends a NODE STATUS REQUEST (4.2.17) and
returns the server-service (type 0x20) names of the answer (4.2.18). Both return None when no
usable answer arrives in time.

Transaction ids come from :mod:`secrets`; only responses carrying the id of the pending
request count, and a name query's answer must name the queried name. With ``broadcast=True``
(the default, as in pysmb) answers are accepted from any address, so that a query sent to a
subnet broadcast address (``queryName(name, '192.168.1.255')``) gets its answers; with
``broadcast=False`` only answers from the queried address count. Other datagrams are
ignored. A response with the right id from the queried host that cannot be decoded raises
:class:`smb.errors.ProtocolError`; malformed datagrams from elsewhere are ignored.
"""

from __future__ import annotations

import logging
import secrets
import socket
import time
from typing import Callable, List, Optional, Union

from smb.errors import NotConnectedError, ProtocolError
from nmb import nmb_structs as ns
from nmb.base import NBNS
from nmb.nmb_constants import NETBIOS_NS_PORT, TYPE_CLIENT, TYPE_SERVER, TYPE_WORKSTATION  # noqa: F401
from nmb.utils import split_name

log = logging.getLogger("NMB.NetBIOS")

_MAX_DATAGRAM = 0xFFFF


class NetBIOS(NBNS):
    """Name queries over UDP (blocking)."""

    log = log

    def __init__(self, broadcast: bool = True, listen_port: int = 0):
        self.broadcast = broadcast
        self.sock: Optional[socket.socket] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if broadcast:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            if listen_port:
                self.sock.bind(("", listen_port))
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        """Close the socket; later queries raise NotConnectedError."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> "NetBIOS":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, data: bytes, ip: str, port: int) -> None:
        if self.sock is None:
            raise NotConnectedError("NetBIOS socket is closed")
        try:
            self.sock.sendto(data, (ip, port))
        except OSError as e:
            raise NotConnectedError("cannot send NetBIOS name service packet to %s:%d: %s" % (ip, port, e)) from e

    # --- queries -------------------------------------------------------------------
    def queryName(self, name: Union[str, bytes], ip: str = "", port: int = NETBIOS_NS_PORT,
                  timeout: float = 30) -> Optional[List[str]]:
        """IPv4 addresses (dotted strings) registered for ``name`` (type 0x20), or None.

        With ``ip`` empty the query is broadcast (``broadcast=True`` required); otherwise it
        is sent to ``ip`` only.
        """
        trn_id = self._new_trn_id()
        broadcast = not ip
        if broadcast:
            if not self.broadcast:
                log.warning("queryName: no ip given and broadcast disabled; the query may not go anywhere")
            ip = "<broadcast>"
        packet = ns.build_name_query(trn_id, name, ns.TYPE_SERVER, broadcast=broadcast)
        source = self._expected_source(ip, broadcast)
        self.write(packet, ip, port)
        wanted = (name.decode("latin-1") if isinstance(name, bytes) else name)[:15].upper()

        def accept(pkt: ns.NameServicePacket):
            if pkt.opcode == ns.OPCODE_WACK:
                return None  # wait for acknowledgement: keep listening
            if pkt.rcode:
                if broadcast:
                    return None
                log.debug("negative name query response for %r: %s", name, ns.RCODE_NAMES.get(pkt.rcode, pkt.rcode))
                return []
            for rr in pkt.answers:
                if rr.rr_type == ns.TYPE_NB:
                    if split_name(rr.name)[0].upper() != wanted.rstrip():
                        return None  # an answer about another name: not ours
                    return [addr for _flags, addr in ns.name_query_addresses(rr.rdata)]
            raise ProtocolError("name query response without an NB record")

        found = self._wait_for(trn_id, source, timeout, accept)
        return found if found else None

    def queryIPForName(self, ip: str, port: int = NETBIOS_NS_PORT,
                       timeout: float = 30) -> Optional[List[str]]:
        """Server names (type 0x20, padding stripped) registered on the node at ``ip``, or None."""
        trn_id = self._new_trn_id()
        source = self._expected_source(ip, False)
        self.write(ns.build_node_status_request(trn_id), ip, port)

        def accept(pkt: ns.NameServicePacket):
            if pkt.rcode:
                return []
            for rr in pkt.answers:
                if rr.rr_type == ns.TYPE_NBSTAT:
                    names = []
                    for entry in ns.node_status_names(rr.rdata):
                        if entry.name_type == ns.TYPE_SERVER and entry.name not in names:
                            names.append(entry.name)
                    return names
            raise ProtocolError("node status response without an NBSTAT record")

        found = self._wait_for(trn_id, source, timeout, accept)
        return found if found else None

    # --- internals -------------------------------------------------------------------
    @staticmethod
    def _new_trn_id() -> int:
        return 1 + secrets.randbelow(0xFFFF)

    def _expected_source(self, ip: str, broadcast: bool):
        """``(target, only_target)``: the queried address (None for a broadcast) and whether
        answers must come from it (not for broadcasts, nor for a ``broadcast=True`` instance,
        whose ``ip`` may be a subnet broadcast address)."""
        target = None if broadcast else self._resolve(ip)
        return target, not (broadcast or self.broadcast)

    @staticmethod
    def _resolve(ip: str) -> Optional[str]:
        try:
            return str(socket.getaddrinfo(ip, None, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0])
        except (OSError, IndexError):
            return None

    def _wait_for(self, trn_id: int, source, timeout: float,
                  accept: Callable[[ns.NameServicePacket], Optional[list]]) -> Optional[list]:
        """Receive until ``accept`` returns a list for a response to ``trn_id``, or time runs out
        (``source``: see :meth:`_expected_source`)."""
        source, only_source = source
        if self.sock is None:
            raise NotConnectedError("NetBIOS socket is closed")
        deadline = time.monotonic() + (timeout if timeout is not None else 0)
        sock = self.sock
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            sock.settimeout(remaining)
            try:
                data, addr = sock.recvfrom(_MAX_DATAGRAM)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                if source is not None:
                    return None  # ICMP port unreachable: no name service at the queried host
                continue
            except OSError as e:
                raise NotConnectedError("NetBIOS name service socket error: %s" % e) from e
            if len(data) < 2 or int.from_bytes(data[:2], "big") != trn_id:
                continue
            from_target = source is not None and addr[0] == source
            if only_source and not from_target:
                log.debug("ignoring name service response from %s (queried %s)", addr[0], source)
                continue
            try:
                pkt = ns.parse_packet(data)
                if not pkt.is_response:
                    continue
                result = accept(pkt)
            except ProtocolError as e:
                if from_target:
                    raise ProtocolError("malformed NetBIOS name service response from %s: %s"
                                        % (addr[0], e.message), data) from None
                log.debug("ignoring malformed name service datagram from %s: %s", addr[0], e)
                continue
            if result is not None:
                return result
