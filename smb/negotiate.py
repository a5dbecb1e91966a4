"""The multi-protocol start of a connection: pick SMB1 or SMB2/3 like Windows clients do.

Implements [MS-SMB2] 3.2.4.2.1 / 3.2.4.2.2.1 (the SMB_COM_NEGOTIATE of [MS-CIFS] 2.2.4.52.1
offering "NT LM 0.12", "SMB 2.002" and "SMB 2.???"), 3.2.5.2 (an SMB2 NEGOTIATE response to it:
dialect 0x0202 directly, or the wildcard 0x02FF followed by a real SMB2 NEGOTIATE, see
:mod:`smb.smb2.negotiation`), and the hand-over of an SMB1 "NT LM 0.12" answer to the SMB1
engine.
"""

from __future__ import annotations

import os

from smb.errors import ProtocolError, UnsupportedFeature
from smb.records import smb2_failure_from_bytes
from smb.smb1 import header as SMB1_H
from smb.smb1 import messages as SMB1_M
from smb.smb2 import constants as C

DIALECT_NT_LM = "NT LM 0.12"
DIALECT_SMB2_002 = "SMB 2.002"
DIALECT_SMB2_WILDCARD = "SMB 2.???"


def smb1_dialects(config) -> list:
    """Dialect strings of the multi-protocol NEGOTIATE for this config."""
    names = [DIALECT_NT_LM]
    if config.support_smb2:
        allowed = config.dialects
        if allowed is None or C.DIALECT_2_0_2 in allowed:
            names.append(DIALECT_SMB2_002)
        if getattr(config, "support_smb2x", True) and (
                allowed is None or any(d > C.DIALECT_2_0_2 for d in allowed)):
            names.append(DIALECT_SMB2_WILDCARD)
    return names


def smb1_negotiate_request(dialects, extended_security: bool = True, pid: int = None) -> bytes:
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
        try:
            from smb.smb1.engine import SMB1Engine
        except ImportError:
            transport.close()
            raise UnsupportedFeature("server speaks only SMB1 and the SMB1 engine is not available") from None
        return SMB1Engine.from_negotiate_response(transport, config, bytes(data))
    if magic != C.SMB2_MAGIC:
        raise conn.fail(ProtocolError("server answered NEGOTIATE with protocol id %r" % magic))
    try:
        return _smb2_after_multiprotocol(conn, config, data, deadline)
    except ProtocolError as e:
        raise conn.fail(e)
    except Exception:
        conn.fail(ProtocolError("negotiation failed"))
        raise


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
