"""The 64-byte SMB2 packet header ([MS-SMB2] 2.2.1.1 ASYNC and 2.2.1.2 SYNC), the framing of
a request chain (3.2.4.1.4 compounding: NextCommand, 8-byte alignment,
SMB2_FLAGS_RELATED_OPERATIONS; 3.2.4.1.1 signing each message, padding included) and the
splitting of compounded responses ([MS-SMB2] 3.2.5.1.9 / 3.3.5.2.7: NextCommand chains).

Pure functions: no I/O. The header is packed with one precompiled ``struct.Struct``.
Bytes 32..39 hold Reserved+TreeId (sync) or AsyncId (async); both are read as one
little-endian 64-bit value (TreeId = high half).
"""

from __future__ import annotations

import struct

from smb.errors import ProtocolError
from typing import NamedTuple

from smb.smb2.constants import (CREATE, FLAGS_ASYNC_COMMAND, FLAGS_DFS_OPERATIONS,
                                FLAGS_RELATED_OPERATIONS, FLAGS_SERVER_TO_REDIR, FLAGS_SIGNED,
                                HEADER_SIZE, SMB2_MAGIC)

# ProtocolId, StructureSize, CreditCharge, Status/ChannelSequence, Command, CreditReq/Resp,
# Flags, NextCommand, MessageId, (Reserved,TreeId)|AsyncId, SessionId, Signature
HEADER = struct.Struct("<4sHHIHHIIQQQ16s")
HEADER_NOSIG = struct.Struct("<4sHHIHHIIQQQ")  # first 48 bytes
SIGNATURE_OFFSET = 48
FLAGS_OFFSET = 16
NEXT_COMMAND_OFFSET = 20
ZERO_SIGNATURE = bytes(16)
_U32 = struct.Struct("<I")

assert HEADER.size == HEADER_SIZE and HEADER_NOSIG.size == SIGNATURE_OFFSET


def pack_request_header(buf, offset: int, command: int, credit_charge: int, credit_request: int,
                        flags: int, next_command: int, message_id: int, tree_id: int,
                        session_id: int, async_id: int | None = None) -> None:
    """Write a request header (signature zero) into ``buf`` at ``offset``."""
    if async_id is not None:
        flags |= FLAGS_ASYNC_COMMAND
        mid_field = async_id
    else:
        mid_field = (tree_id & 0xFFFFFFFF) << 32
    HEADER.pack_into(buf, offset, SMB2_MAGIC, HEADER_SIZE, credit_charge, 0, command,
                     credit_request, flags, next_command, message_id, mid_field, session_id,
                     ZERO_SIGNATURE)


def request_header(command: int, *, message_id: int, credit_charge: int = 0,
                   credit_request: int = 1, flags: int = 0, next_command: int = 0,
                   tree_id: int = 0, session_id: int = 0, async_id: int | None = None) -> bytearray:
    """A new 64-byte request header."""
    buf = bytearray(HEADER_SIZE)
    pack_request_header(buf, 0, command, credit_charge, credit_request, flags, next_command,
                        message_id, tree_id, session_id, async_id)
    return buf


class Header:
    """A parsed response header (also usable for requests in tests)."""

    __slots__ = ("credit_charge", "status", "command", "credits", "flags", "next_command",
                 "message_id", "async_id", "tree_id", "session_id")

    def __init__(self, credit_charge, status, command, credits, flags, next_command,
                 message_id, async_id, tree_id, session_id):
        self.credit_charge = credit_charge
        self.status = status
        self.command = command
        self.credits = credits
        self.flags = flags
        self.next_command = next_command
        self.message_id = message_id
        self.async_id = async_id
        self.tree_id = tree_id
        self.session_id = session_id

    @property
    def is_async(self) -> bool:
        return bool(self.flags & FLAGS_ASYNC_COMMAND)

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAGS_SERVER_TO_REDIR)

    def __repr__(self):
        return ("<SMB2 Header cmd=0x%02X status=0x%08X mid=%d flags=0x%X credits=%d tid=%d sid=0x%X>"
                % (self.command, self.status, self.message_id, self.flags, self.credits,
                   self.tree_id, self.session_id))


def parse_header(data, offset: int = 0) -> Header:
    """Parse the header at ``data[offset:]``; ProtocolError when short or not SMB2."""
    if len(data) - offset < HEADER_SIZE:
        raise ProtocolError("SMB2 message shorter than its header (%d bytes)" % (len(data) - offset))
    (magic, size, charge, status, command, credits, flags, next_cmd, mid, x,
     sid) = HEADER_NOSIG.unpack_from(data, offset)
    if magic != SMB2_MAGIC:
        raise ProtocolError("not an SMB2 message (protocol id %r)" % bytes(magic))
    if size != HEADER_SIZE:
        raise ProtocolError("bad SMB2 header StructureSize %d" % size)
    if flags & FLAGS_ASYNC_COMMAND:
        async_id, tree_id = x, 0
    else:
        async_id, tree_id = 0, x >> 32
    return Header(charge, status, command, credits, flags, next_cmd, mid, async_id, tree_id, sid)


_PADS = [bytes(i) for i in range(8)]


class RequestItem(NamedTuple):
    """One request of a chain: its body, an optional payload sent after the body as a
    separate buffer (never copied), and its CreditCharge."""

    command: int
    body: bytes
    payload: object = None
    credit_charge: int = 1


def frame_chain(items, message_ids, *, tree_id: int, session_id: int, related: bool,
                signer, multi_credit: bool, credit_request: int, async_ids=None,
                dfs: bool = False) -> list:
    """The buffers of each request message of a chain (pure).

    ``message_ids[i]`` is item i's MessageId; ``credit_request`` goes to the last message
    (the others ask for their own charge); ``signer`` (or None) signs each message over its
    bytes and padding; later messages of a ``related`` chain carry
    SMB2_FLAGS_RELATED_OPERATIONS; with ``dfs`` (a tree in DFS) each CREATE carries
    SMB2_FLAGS_DFS_OPERATIONS ([MS-SMB2] 3.2.4.3: its name is a full DFS path). Returns one
    list of buffers per message; the header is a fresh bytearray, body and payload are
    passed through."""
    n = len(items)
    messages = []
    for i, (command, body, payload, charge) in enumerate(items):
        charge = max(1, charge)
        length = HEADER_SIZE + len(body) + (len(payload) if payload is not None else 0)
        last = i == n - 1
        pad = 0 if last else (8 - (length & 7)) & 7
        flags = FLAGS_RELATED_OPERATIONS if related and i else 0
        if dfs and command == CREATE:
            flags |= FLAGS_DFS_OPERATIONS
        if signer is not None:
            flags |= FLAGS_SIGNED
        hdr = bytearray(HEADER_SIZE)
        pack_request_header(hdr, 0, command, charge if multi_credit else 0,
                            credit_request if last else charge, flags, 0 if last else length + pad,
                            message_ids[i], tree_id, session_id,
                            None if async_ids is None else async_ids[i])
        parts = [hdr, body]
        if payload is not None:
            parts.append(payload)
        if pad:
            parts.append(_PADS[pad])
        if signer is not None:
            hdr[SIGNATURE_OFFSET:HEADER_SIZE] = signer.sign(parts)
        messages.append(parts)
    return messages


def split_compound(data):
    """Yield ``(offset, end)`` of each SMB2 message in a (possibly compounded) transport
    payload. Each NextCommand must be 8-byte aligned, at least a header long and inside the
    payload; otherwise ProtocolError."""
    total = len(data)
    offset = 0
    while True:
        if total - offset < HEADER_SIZE:
            raise ProtocolError("truncated SMB2 message in compound (%d bytes)" % (total - offset))
        nxt = _U32.unpack_from(data, offset + NEXT_COMMAND_OFFSET)[0]
        if nxt == 0:
            yield offset, total
            return
        if nxt < HEADER_SIZE or nxt & 7 or offset + nxt > total:
            raise ProtocolError("bad NextCommand %d in compounded response" % nxt)
        yield offset, offset + nxt
        offset += nxt
