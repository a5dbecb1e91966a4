"""Principals and credentials (tickets with their session keys).

A :class:`Principal` is a realm and name components with a name type (RFC 4120 5.2.2,
6.2; the string form ``comp1/comp2@REALM`` with ``\\`` escapes of RFC 1964 2.1.1). A
:class:`Credential` is what the KDC returned for one service ticket: the ticket (DER of the
RFC 4120 5.3 Ticket, opaque to the client), the session key and the times and flags of the
EncKDCRepPart (5.4.2) -- what an MIT credential cache stores (see :mod:`smb.kerberos.ccache`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Tuple

from smb.kerberos.crypto import Key

NT_UNKNOWN, NT_PRINCIPAL, NT_SRV_INST, NT_SRV_HST = 0, 1, 2, 3


@dataclass(frozen=True)
class Principal:
    components: Tuple[str, ...]
    realm: str
    name_type: int = NT_PRINCIPAL

    @classmethod
    def parse(cls, name: str, default_realm: str = "", name_type: int = NT_PRINCIPAL) -> "Principal":
        """``user``, ``user@REALM`` or ``service/host@REALM`` (``\\`` escapes ``/`` and ``@``)."""
        comps, cur, realm, i, in_realm = [], "", None, 0, False
        while i < len(name):
            ch = name[i]
            if ch == "\\" and i + 1 < len(name):
                cur += name[i + 1]
                i += 2
                continue
            if ch == "@" and not in_realm:
                comps.append(cur)
                cur, in_realm = "", True
            elif ch == "/" and not in_realm:
                comps.append(cur)
                cur = ""
            else:
                cur += ch
            i += 1
        if in_realm:
            realm = cur
        else:
            comps.append(cur)
        return cls(tuple(comps), realm if realm is not None else default_realm, name_type)

    @classmethod
    def service(cls, service: str, host: str, realm: str) -> "Principal":
        return cls((service, host), realm, NT_SRV_INST)

    @property
    def name(self) -> str:
        """The components joined by '/', without the realm."""
        return "/".join(c.replace("\\", "\\\\").replace("/", "\\/").replace("@", "\\@")
                        for c in self.components)

    def __str__(self) -> str:
        return "%s@%s" % (self.name, self.realm)

    def same_name(self, other: "Principal") -> bool:
        """Equal components and realm (the name type is advisory, RFC 4120 6.2)."""
        return (tuple(c.lower() for c in self.components) == tuple(c.lower() for c in other.components)
                and self.realm.upper() == other.realm.upper())

    @property
    def is_tgs(self) -> bool:
        return len(self.components) == 2 and self.components[0] == "krbtgt"


@dataclass
class Credential:
    """A ticket and its session key, as a ccache stores it (times are POSIX seconds)."""

    client: Principal
    server: Principal
    key: Key = field(repr=False)
    ticket: bytes = field(repr=False)  # DER of the Ticket
    authtime: int = 0
    starttime: int = 0
    endtime: int = 0
    renew_till: int = 0
    flags: int = 0  # TicketFlags as a 32-bit integer, bit 0 the most significant

    def valid(self, now: Optional[float] = None, margin: int = 60) -> bool:
        """Not expired (with ``margin`` seconds to spare) and already valid."""
        now = time.time() if now is None else now
        start = self.starttime or self.authtime
        return self.endtime > now + margin and start <= now + 300
