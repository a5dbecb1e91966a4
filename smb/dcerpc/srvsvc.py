"""SRVSVC share enumeration: NetrShareEnum at level 1.

Implements [MS-SRVS] 3.1.4.8 (NetrShareEnum, opnum 15), 2.2.4.38 (SHARE_ENUM_STRUCT),
2.2.3.x (SHARE_ENUM_UNION), 2.2.4.33 (SHARE_INFO_1_CONTAINER) and 2.2.4.23 (SHARE_INFO_1),
marshalled with NDR 2.0 (C706 chapter 14; [MS-RPCE] 2.2.5): unique pointers as non-zero
referent ids with their referents deferred after the enclosing structure, conformant
varying strings (maximum count, offset, actual count, elements, NUL included) and 4-byte
alignment of each 32-bit item.

The interface: 4b324fc8-1670-01d3-1278-5a47bf6ee188 version 3.0 over \\PIPE\\srvsvc.
"""

from __future__ import annotations

import struct

from smb.dcerpc.rpce import RPCClient
from smb.errors import OperationFailure, ProtocolError
from smb.smb_constants import (  # noqa: F401  shi1_type values ([MS-SRVS] 2.2.2.4)
    STYPE_CLUSTER_DFS,
    STYPE_CLUSTER_FS,
    STYPE_CLUSTER_SOFS,
    STYPE_DEVICE,
    STYPE_DISKTREE,
    STYPE_IPC,
    STYPE_PRINTQ,
    STYPE_SPECIAL,
    STYPE_TEMPORARY,
)

SRVSVC_UUID = "4b324fc8-1670-01d3-1278-5a47bf6ee188"
SRVSVC_VERSION = (3, 0)
SRVSVC_PIPE = "srvsvc"
OPNUM_NETR_SHARE_ENUM = 15

ERROR_SUCCESS = 0
ERROR_MORE_DATA = 234

_S_I = struct.Struct("<I")
_S_III = struct.Struct("<III")
_MAX_SHARES = 1 << 16  # in one listing, all pages together


class SRVSVCError(OperationFailure):
    """NetrShareEnum returned a non-zero WERROR (in ``status``)."""

    def __init__(self, werror):
        super().__init__("NetrShareEnum failed with WERROR 0x%08X" % werror, [], werror)

    def __str__(self):
        return str(self.message)


# ----------------------------------------------------------------------------------------
# NDR encoding
# ----------------------------------------------------------------------------------------
class _Writer:
    __slots__ = ("buf", "_ref")

    def __init__(self):
        self.buf = bytearray()
        self._ref = 0x00020000

    def align(self, n=4):
        self.buf += b"\x00" * (-len(self.buf) % n)

    def u32(self, v):
        self.align()
        self.buf += _S_I.pack(v)

    def referent(self):
        """A fresh non-zero referent id for a unique pointer."""
        self.u32(self._ref)
        self._ref += 4

    def wstring(self, s):
        """A conformant varying wide string with its terminating NUL."""
        data = (s + "\x00").encode("utf-16-le")
        n = len(data) // 2
        self.align()
        self.buf += _S_III.pack(n, 0, n) + data
        self.align()


def encode_netr_share_enum_request(server_name, level=1, prefered_maximum_length=0xFFFFFFFF,
                                   resume_handle=0) -> bytes:
    """The NetrShareEnum request stub (level 1 only).

    [in, string, unique] ServerName: referent id, then "\\\\server" as a conformant varying
    string; [in, out] InfoStruct (a [ref] pointer: no wire id): Level, the union's switch,
    a unique pointer to an empty SHARE_INFO_1_CONTAINER {EntriesRead 0, Buffer NULL};
    PreferedMaximumLength; [in, out, unique] ResumeHandle: referent id and value.
    """
    if level != 1:
        raise ValueError("only level 1 is implemented")
    w = _Writer()
    if server_name is None:
        w.u32(0)
    else:
        if not server_name.startswith("\\\\"):
            server_name = "\\\\" + server_name
        w.referent()
        w.wstring(server_name)
    w.u32(level)  # SHARE_ENUM_STRUCT.Level
    w.u32(level)  # SHARE_ENUM_UNION switch
    w.referent()  # Level1 -> SHARE_INFO_1_CONTAINER
    w.u32(0)  # EntriesRead
    w.u32(0)  # Buffer (NULL)
    w.u32(prefered_maximum_length)
    w.referent()  # ResumeHandle
    w.u32(resume_handle)
    return bytes(w.buf)


# ----------------------------------------------------------------------------------------
# NDR decoding
# ----------------------------------------------------------------------------------------
class _Reader:
    __slots__ = ("mv", "pos", "end")

    def __init__(self, data):
        self.mv = memoryview(data)
        self.pos = 0
        self.end = len(self.mv)

    def u32(self, what):
        p = (self.pos + 3) & ~3
        if p + 4 > self.end:
            raise ProtocolError("NetrShareEnum response: truncated at %s (offset %d)" % (what, p))
        self.pos = p + 4
        return _S_I.unpack_from(self.mv, p)[0]

    def wstring(self, what):
        max_count = self.u32(what + " max count")
        offset = self.u32(what + " offset")
        actual = self.u32(what + " actual count")
        if offset > max_count or actual > max_count - offset:
            raise ProtocolError("NetrShareEnum response: %s offset %d / count %d exceed max %d"
                                % (what, offset, actual, max_count))
        start = self.pos
        stop = start + actual * 2
        if stop > self.end:
            raise ProtocolError("NetrShareEnum response: %s of %d characters overruns the data"
                                % (what, actual))
        self.pos = stop
        text = bytes(self.mv[start:stop]).decode("utf-16-le", "surrogatepass")
        nul = text.find("\x00")
        return text if nul < 0 else text[:nul]


def decode_netr_share_enum_response(stub):
    """Decode the NetrShareEnum response stub.

    Returns ``(shares, total_entries, resume_handle)`` with ``shares`` a list of
    ``(name, type, remark)``; raises :class:`SRVSVCError` for a non-zero WERROR (other than
    ERROR_MORE_DATA, whose partial list is returned) and ProtocolError for malformed NDR.
    """
    r = _Reader(stub)
    level = r.u32("Level")
    switch = r.u32("union switch")
    if switch != level:
        raise ProtocolError("NetrShareEnum response: union switch %d differs from level %d" % (switch, level))
    shares = []
    if level == 1:
        if r.u32("container pointer"):
            entries = r.u32("EntriesRead")
            if r.u32("Buffer pointer"):
                count = r.u32("array max count")
                if count != entries:
                    raise ProtocolError("NetrShareEnum response: array size %d differs from EntriesRead %d"
                                        % (count, entries))
                if count > _MAX_SHARES or r.pos + count * 12 > r.end:
                    raise ProtocolError("NetrShareEnum response: %d entries overrun the data" % count)
                fixed = [(r.u32("shi1_netname"), r.u32("shi1_type"), r.u32("shi1_remark")) for _ in range(count)]
                for name_ptr, stype, remark_ptr in fixed:
                    name = r.wstring("shi1_netname") if name_ptr else ""
                    remark = r.wstring("shi1_remark") if remark_ptr else ""
                    shares.append((name, stype, remark))
            elif entries:
                raise ProtocolError("NetrShareEnum response: %d entries but a NULL buffer" % entries)
    else:
        raise ProtocolError("NetrShareEnum response: unexpected level %d" % level)
    total = r.u32("TotalEntries")
    resume = r.u32("ResumeHandle value") if r.u32("ResumeHandle pointer") else None
    werror = r.u32("return value")
    if werror not in (ERROR_SUCCESS, ERROR_MORE_DATA):
        raise SRVSVCError(werror)
    return shares, total, resume


def parse_share_enum_response(stub):
    """Just the ``[(name, type, remark), ...]`` of a NetrShareEnum response stub."""
    return decode_netr_share_enum_response(stub)[0]


def net_share_enum(rpc, server_name, read_more=None, first_stub=None):
    """Run NetrShareEnum level 1 over \\PIPE\\srvsvc and return ``[(name, type, remark), ...]``.

    ``rpc`` is an :class:`smb.dcerpc.rpce.RPCClient` (bound to SRVSVC here if it is not yet)
    or a plain ``transact(data) -> bytes`` callable (with an optional ``read_more``) around
    which a client is built. ``first_stub``: the response to the first request when the
    caller already made it (see :func:`pipelined_share_enum`). Follows ERROR_MORE_DATA with
    the resume handle (bounded)."""
    if not isinstance(rpc, RPCClient):
        rpc = RPCClient(rpc, read_more)
    if not rpc.bound:
        rpc.bind(SRVSVC_UUID, SRVSVC_VERSION)
    shares = []
    resume = 0
    stub = first_stub
    for _ in range(1024):
        if stub is None:
            stub = rpc.call(OPNUM_NETR_SHARE_ENUM, encode_netr_share_enum_request(server_name, resume_handle=resume))
        got, total, new_resume = decode_netr_share_enum_response(stub)
        shares.extend(got)
        if len(shares) > _MAX_SHARES:
            raise ProtocolError("NetrShareEnum: more than %d shares" % _MAX_SHARES)
        werror = _S_I.unpack_from(stub, len(stub) - 4)[0]
        if werror != ERROR_MORE_DATA or not got or not new_resume or new_resume == resume:
            return shares
        resume, stub = new_resume, None
    raise ProtocolError("NetrShareEnum: the server keeps answering ERROR_MORE_DATA")


def pipelined_share_enum(exchange, server_name):
    """NetrShareEnum with the BIND and the first REQUEST sent together.

    ``exchange(pdus) -> (replies, transact, read_more)`` sends the PDUs in order on a fresh
    pipe and returns each one's reply plus the pipe's ``transact``/``read_more`` for any
    further traffic (more fragments, ERROR_MORE_DATA paging)."""
    rpc = RPCClient(None)
    bind, bind_id = rpc.bind_pdu(SRVSVC_UUID, SRVSVC_VERSION)
    frags, call_id = rpc.request_pdus(OPNUM_NETR_SHARE_ENUM, encode_netr_share_enum_request(server_name))
    replies, rpc._transact, rpc._read_more = exchange([bind, b"".join(frags)])
    rpc.accept_bind_ack(replies[0], bind_id)
    return net_share_enum(rpc, server_name, first_stub=rpc.response_stub(replies[1], call_id))
