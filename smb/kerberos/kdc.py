"""Talking to a KDC: RFC 4120 section 7.2.1 (UDP: one message per datagram) and 7.2.2 (TCP:
each message preceded by its 4-byte big-endian length, the high bit reserved).

Transport choice follows RFC 4120 7.2.1 and MIT's ``udp_preference_limit``: a request small
enough goes over UDP first and TCP second, a larger one TCP first; a KRB_ERR_RESPONSE_TOO_BIG
answer over UDP is retried over TCP. A ``tcp/`` or ``udp/`` prefix on a KDC address pins the
transport. Every attempt is bounded by the caller's deadline; when no KDC answers,
:class:`smb.kerberos.errors.KDCUnreachable` says which addresses were tried and how each failed.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import List, Optional, Sequence, Tuple

from smb.kerberos import asn1
from smb.kerberos.errors import KRB_ERR_RESPONSE_TOO_BIG, KDCUnreachable, KerberosError

MAX_REPLY = 1 << 20  # a KDC reply larger than 1 MiB is refused (memory bound)
UDP_TRY_SECONDS = 2.0  # one UDP try before moving on to TCP / the next KDC


class KDCClient:
    """The KDCs of one realm. ``kdcs``: (transport '' / 'tcp' / 'udp', host, port)."""

    def __init__(self, realm: str, kdcs: Sequence[Tuple[str, str, int]], udp_preference_limit: int = 1465):
        self.realm = realm
        self.kdcs = list(kdcs)
        self.udp_preference_limit = udp_preference_limit

    def send(self, request: bytes, deadline: float) -> bytes:
        """One request, one reply (raw DER of a KDC-REP or KRB-ERROR)."""
        if not self.kdcs:
            raise KDCUnreachable("no KDC known for realm %s: pass kdc=... or list it in krb5.conf "
                                 "([realms] %s = { kdc = HOST })" % (self.realm, self.realm))
        failures: List[str] = []
        for transport, host, port in self.kdcs:
            for proto in self._order(transport, len(request)):
                if time.monotonic() >= deadline:
                    break
                try:
                    reply = (_udp if proto == "udp" else _tcp)(host, port, request, deadline)
                except (OSError, KerberosError) as e:
                    failures.append("%s/%s:%d (%s)" % (proto, host, port, _why(e)))
                    continue
                if proto == "udp" and _too_big(reply):
                    failures.append("udp/%s:%d (response too big)" % (host, port))
                    continue
                return reply
        raise KDCUnreachable("no KDC reachable for realm %s: tried %s" % (
            self.realm, ", ".join(failures) or "nothing before the timeout"))

    def _order(self, transport: str, size: int) -> List[str]:
        if transport:
            return [transport]
        return ["udp", "tcp"] if size <= self.udp_preference_limit else ["tcp", "udp"]


def _why(e: Exception) -> str:
    if isinstance(e, socket.timeout):
        return "timed out"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, socket.gaierror):
        return "host name not resolved"
    return str(e) or type(e).__name__


def _too_big(reply: bytes) -> bool:
    try:
        if asn1.message_type(reply) != asn1.KRB_ERROR:
            return False
        err = asn1.decode(reply, asn1.KRBError(), "KRB-ERROR")
        return int(err["error-code"]) == KRB_ERR_RESPONSE_TOO_BIG
    except KerberosError:
        return False


def _remaining(deadline: float, cap: Optional[float] = None) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("timed out")
    return min(left, cap) if cap else left


def _udp(host: str, port: int, request: bytes, deadline: float) -> bytes:
    family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect(addr)
        s.settimeout(_remaining(deadline, UDP_TRY_SECONDS))
        s.send(request)
        return s.recv(65535)


def _tcp(host: str, port: int, request: bytes, deadline: float) -> bytes:
    with socket.create_connection((host, port), timeout=_remaining(deadline, 10.0)) as s:
        s.settimeout(_remaining(deadline))
        s.sendall(struct.pack(">I", len(request)) + request)
        (length,) = struct.unpack(">I", _recv_exact(s, 4, deadline))
        if length & 0x80000000 or length > MAX_REPLY:
            raise KerberosError("KDC reply length 0x%08X over TCP is not acceptable" % length)
        return _recv_exact(s, length, deadline)


def _recv_exact(s: socket.socket, n: int, deadline: float) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        s.settimeout(_remaining(deadline))
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionResetError("the KDC closed the connection")
        buf += chunk
    return bytes(buf)
