"""The start of a connection: the dialect negotiation, and which engine runs the session.

SMB1 is offered only when the caller asks for it, as Samba (since 4.11) and Windows do:

* by default a plain SMB2 NEGOTIATE ([MS-SMB2] 3.2.4.2.2.2, see :mod:`smb.smb2.negotiation`)
  is sent, with no SMB1 dialect a man in the middle could select. A server that closes the
  connection in answer is probed once more, without credentials, with an SMB1 NEGOTIATE
  offering only the SMB2 dialect strings: an SMB1-only server answers DialectIndex 0xFFFF
  ([MS-CIFS] 2.2.4.52.2) and the error names the switch that allows SMB1;
* with ``ClientConfig.allow_smb1`` the multi-protocol SMB_COM_NEGOTIATE of [MS-CIFS]
  2.2.4.52.1 offers "NT LM 0.12", "SMB 2.002" and "SMB 2.???" ([MS-SMB2] 3.2.4.2.1,
  3.2.4.2.2.1); an SMB2 answer is processed as in 3.2.5.2 (dialect 0x0202 directly, or the
  wildcard 0x02FF followed by a real SMB2 NEGOTIATE), an "NT LM 0.12" answer goes to the SMB1
  engine;
* with ``ClientConfig.support_smb2`` False (pysmb's ``smb_structs.SUPPORT_SMB2 = False``)
  only "NT LM 0.12" is offered.
"""

from __future__ import annotations

import os

from smb.errors import NotConnectedError, ProtocolError, UnsupportedFeature
from smb.records import smb2_failure_from_bytes
from smb.smb1 import header as SMB1_H
from smb.smb1 import messages as SMB1_M
from smb.smb2 import constants as C

DIALECT_NT_LM = "NT LM 0.12"
DIALECT_SMB2_002 = "SMB 2.002"
DIALECT_SMB2_WILDCARD = "SMB 2.???"


SMB1_SWITCH = ("SMBConnection(..., allow_smb1=True) for SMB1 or SMB2, whichever the server "
               "speaks, or smb.smb_structs.SUPPORT_SMB2 = False for SMB1 only")


def smb1_dialects(config) -> list:
    """Dialect strings of an SMB1 NEGOTIATE for this config ("NT LM 0.12" only when SMB1 is
    allowed)."""
    names = [DIALECT_NT_LM] if (config.allow_smb1 or not config.support_smb2) else []
    if config.support_smb2:
        allowed = config.dialects
        if allowed is None or C.DIALECT_2_0_2 in allowed:
            names.append(DIALECT_SMB2_002)
        if getattr(config, "support_smb2x", True) and (
                allowed is None or any(d > C.DIALECT_2_0_2 for d in allowed)):
            names.append(DIALECT_SMB2_WILDCARD)
    return names


def smb1_negotiate_request(dialects, extended_security: bool = True, pid: int | None = None) -> bytes:
    """An SMB_COM_NEGOTIATE request ([MS-CIFS] 2.2.4.52.1) with MID 0 (the SMB1 codec's, with
    the Unicode / NT status / long names flags and, as asked, extended security)."""
    flags2 = SMB1_H.DEFAULT_FLAGS2
    if extended_security:
        flags2 |= SMB1_H.SMB_FLAGS2_EXTENDED_SECURITY
    return SMB1_M.negotiate_request(dialects, flags2, os.getpid() if pid is None else pid)


def open_engine(transport, config, deadline: float):
    """Negotiate on a fresh transport and return the engine for the dialect chosen."""
    from smb.smb2.connection import Connection

    conn = Connection(transport)
    if config.support_smb2 and not config.allow_smb1:
        return _smb2_only(conn, config, deadline)
    names = smb1_dialects(config)
    request = smb1_negotiate_request(names, config.extended_security)
    conn.consume_message_id(1)  # the SMB1 NEGOTIATE counts as SMB2 MessageId 0
    try:
        transport.send(request, deadline=deadline)
        data = transport.recv(deadline)
    except Exception:
        conn.fail(ProtocolError("negotiation aborted"))
        raise
    magic = bytes(data[:4])
    if magic == C.SMB1_MAGIC:
        from smb.smb1.engine import SMB1Engine

        return SMB1Engine.from_negotiate_response(transport, config, bytes(data))
    if magic != C.SMB2_MAGIC:
        raise conn.fail(ProtocolError("server answered NEGOTIATE with protocol id %r" % magic))
    if not config.support_smb2:
        raise conn.fail(ProtocolError("server answered an SMB1-only NEGOTIATE in SMB2"))
    try:
        return _smb2_after_multiprotocol(conn, config, data, deadline)
    except ProtocolError as e:
        raise conn.fail(e)
    except Exception:
        conn.fail(ProtocolError("negotiation failed"))
        raise


def _smb2_only(conn, config, deadline: float):
    """SMB2 NEGOTIATE straight away: no SMB1 dialect on the wire (and one round trip less
    than the multi-protocol start for SMB 2.1 and later)."""
    from smb.smb2.engine import SMB2Engine
    from smb.smb2.negotiation import negotiate

    try:
        return SMB2Engine(conn, config, negotiate(conn, config, deadline))
    except NotConnectedError as e:
        conn.fail(e)
        if _speaks_only_smb1(conn.transport, config, deadline):
            raise UnsupportedFeature("the server speaks only SMB1 (NT LM 0.12), which is not offered "
                                     "unless asked for: " + SMB1_SWITCH) from None
        raise
    except BaseException as e:
        conn.fail(e)
        raise


def _speaks_only_smb1(transport, config, deadline: float) -> bool:
    """After a server closed the connection on an SMB2 NEGOTIATE: does it answer an SMB1
    NEGOTIATE offering only the SMB2 dialect strings with "none of these" (DialectIndex
    0xFFFF)? No credentials are sent; this only chooses the error message."""
    import time

    from nmb import transport as nmb_transport

    try:
        probe = nmb_transport.connect(
            transport.host, transport.port, direct_tcp=transport.direct_tcp,
            my_name=config.my_name, remote_name=config.remote_name,
            sock_family=transport.sock.family, timeout=max(0.5, min(5.0, deadline - time.monotonic())))
    except Exception:
        return False
    try:
        probe.send(smb1_negotiate_request([DIALECT_SMB2_002, DIALECT_SMB2_WILDCARD],
                                          config.extended_security), deadline=deadline)
        data = bytes(probe.recv(deadline))
        resp = SMB1_H.parse_response(data)
        return (resp.command == SMB1_H.SMB_COM_NEGOTIATE and len(resp.words) >= 2
                and resp.words[:2] == b"\xff\xff")
    except Exception:
        return False
    finally:
        probe.close()


def _smb2_after_multiprotocol(conn, config, data, deadline):
    from smb.smb2 import messages as M
    from smb.smb2.engine import SMB2Engine
    from smb.smb2.header import parse_header
    from smb.smb2.negotiation import NegotiateState, check_response, client_security_mode, negotiate

    hdr = parse_header(data)
    if hdr.command != C.NEGOTIATE or not hdr.flags & C.FLAGS_SERVER_TO_REDIR or hdr.message_id != 0:
        raise ProtocolError("unexpected SMB2 message in answer to the SMB1 NEGOTIATE: %r" % hdr)
    conn.credits += hdr.credits
    if hdr.status != C.STATUS_SUCCESS:
        raise smb2_failure_from_bytes("NEGOTIATE failed", data)
    neg = M.parse_negotiate_response(data)
    if neg.dialect == C.DIALECT_WILDCARD:
        state = negotiate(conn, config, deadline)
        return SMB2Engine(conn, config, state)
    if neg.dialect == C.DIALECT_2_0_2 and DIALECT_SMB2_002 in smb1_dialects(config):
        check_response(neg, (C.DIALECT_2_0_2,), config)
        state = NegotiateState(neg, (C.DIALECT_2_0_2,), bytes(16), client_security_mode(config), 0, None)
        return SMB2Engine(conn, config, state)
    raise ProtocolError("server selected SMB2 dialect 0x%04X in answer to the SMB1 NEGOTIATE" % neg.dialect)
