"""Connection-oriented DCE/RPC PDUs, as used over SMB named pipes.

Implements [MS-RPCE] 2.2.2 and C706 (DCE 1.1 RPC) chapter 12.6: the common header
(12.6.3.1), bind (12.6.4.3), bind_ack (12.6.4.4), bind_nak (12.6.4.5), request (12.6.4.9)
with fragmentation (12.6.3.7 / [MS-RPCE] 3.3.1.5.7), response (12.6.4.10) with reassembly,
and fault (12.6.4.7). UUIDs use the DCE encoding (C706 appendix A: first three fields in
the sender's byte order, here little-endian). Data representation: little-endian integers,
ASCII characters, IEEE floats (label 0x10 0x00 0x00 0x00).

No authentication verifiers are produced; received ones are skipped.
"""

from __future__ import annotations

import struct
import uuid
from typing import Callable, Optional

from smb.errors import OperationFailure, ProtocolError

# packet types (C706 12.6.3.1)
PTYPE_REQUEST = 0
PTYPE_PING = 1
PTYPE_RESPONSE = 2
PTYPE_FAULT = 3
PTYPE_BIND = 11
PTYPE_BIND_ACK = 12
PTYPE_BIND_NAK = 13
PTYPE_ALTER_CONTEXT = 14
PTYPE_ALTER_CONTEXT_RESP = 15
PTYPE_AUTH3 = 16
PTYPE_SHUTDOWN = 17
PTYPE_CO_CANCEL = 18
PTYPE_ORPHANED = 19

# pfc_flags
PFC_FIRST_FRAG = 0x01
PFC_LAST_FRAG = 0x02
PFC_PENDING_CANCEL = 0x04
PFC_SUPPORT_HEADER_SIGN = 0x04  # bind / bind_ack only ([MS-RPCE] 2.2.2.3)
PFC_CONC_MPX = 0x10
PFC_DID_NOT_EXECUTE = 0x20
PFC_MAYBE = 0x40
PFC_OBJECT_UUID = 0x80

#: NDR data representation: little-endian, ASCII, IEEE
DREP_LE = b"\x10\x00\x00\x00"

#: NDR transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 version 2
NDR_SYNTAX_UUID = "8a885d04-1ceb-11c9-9fe8-08002b104860"
NDR_SYNTAX_VERSION = 2

# p_cont_def_result_t (C706 12.6.3.1)
RESULT_ACCEPTANCE = 0
RESULT_USER_REJECTION = 1
RESULT_PROVIDER_REJECTION = 2
RESULT_NEGOTIATE_ACK = 3

# a few fault codes ([MS-RPCE] 2.2.2.15 / C706 appendix E)
NCA_S_OP_RNG_ERROR = 0x1C010002
NCA_S_UNK_IF = 0x1C010003
NCA_S_PROTO_ERROR = 0x1C01000B
NCA_S_FAULT_CONTEXT_MISMATCH = 0x1C00001A
RPC_S_ACCESS_DENIED = 0x00000005
RPC_X_BAD_STUB_DATA = 0x000006F7

_FAULT_NAMES = {
    NCA_S_OP_RNG_ERROR: "nca_s_op_rng_error",
    NCA_S_UNK_IF: "nca_s_unk_if",
    NCA_S_PROTO_ERROR: "nca_s_proto_error",
    NCA_S_FAULT_CONTEXT_MISMATCH: "nca_s_fault_context_mismatch",
    RPC_S_ACCESS_DENIED: "rpc_s_access_denied",
    RPC_X_BAD_STUB_DATA: "rpc_x_bad_stub_data",
}

DEFAULT_MAX_FRAG = 4280  # the value Windows clients offer over named pipes
MAX_RESPONSE_SIZE = 16 * 1024 * 1024  # reassembly bound: a hostile server cannot grow us forever

# common header: rpc_vers, rpc_vers_minor, PTYPE, pfc_flags, drep[4], frag_length,
# auth_length, call_id (16 bytes)
_S_HDR = struct.Struct("<BBBB4sHHI")
HEADER_SIZE = 16
_S_BIND = struct.Struct("<HHI")  # max_xmit_frag, max_recv_frag, assoc_group_id
_S_CTX_LIST = struct.Struct("<B3x")  # n_context_elem, reserved, reserved2
_S_CTX = struct.Struct("<HBx16sI16sI")  # p_cont_id, n_transfer_syn, reserved, abstract, 1 transfer
_S_REQ = struct.Struct("<IHH")  # alloc_hint, p_cont_id, opnum
_S_RESP = struct.Struct("<IHBx")  # alloc_hint, p_cont_id, cancel_count, reserved
_S_H = struct.Struct("<H")
_S_RESULT = struct.Struct("<HH16sI")  # result, reason, transfer syntax
_S_STATUS = struct.Struct("<I")
REQUEST_HEADER_SIZE = 24
RESPONSE_HEADER_SIZE = 24


class RPCFault(OperationFailure):
    """The server answered with a FAULT PDU; ``status`` is the fault code."""

    def __init__(self, status, message=None):
        name = _FAULT_NAMES.get(status, "0x%08X" % status)
        super().__init__(message or "DCE/RPC fault %s" % name, [], status)
        self.fault_name = name

    def __str__(self):
        return str(self.message)


class RPCBindError(OperationFailure):
    """The server refused the bind (BIND_NAK, or the presentation context was rejected)."""

    def __init__(self, message, reason=None):
        super().__init__(message, [], None)
        self.reason = reason


def uuid_to_bytes(value) -> bytes:
    """DCE UUID encoding: time_low, time_mid, time_hi_and_version little-endian, the rest
    as is ("8a885d04-1ceb-..." -> 04 5d 88 8a eb 1c ...)."""
    if not isinstance(value, uuid.UUID):
        value = uuid.UUID(str(value))
    return value.bytes_le


def uuid_from_bytes(data) -> uuid.UUID:
    return uuid.UUID(bytes_le=bytes(data))


def _header(ptype, flags, frag_length, call_id, auth_length=0):
    return _S_HDR.pack(5, 0, ptype, flags, DREP_LE, frag_length, auth_length, call_id)


def bind(call_id, interface_uuid, interface_version, *, context_id=0,
         max_xmit_frag=DEFAULT_MAX_FRAG, max_recv_frag=DEFAULT_MAX_FRAG, assoc_group_id=0) -> bytes:
    """A BIND PDU with one presentation context: the interface (``interface_version`` is
    ``major`` or ``(major, minor)``) over NDR 2.0."""
    if isinstance(interface_version, tuple):
        major, minor = interface_version
    else:
        major, minor = interface_version, 0
    body = (_S_BIND.pack(max_xmit_frag, max_recv_frag, assoc_group_id)
            + _S_CTX_LIST.pack(1)
            + _S_CTX.pack(context_id, 1, uuid_to_bytes(interface_uuid), (minor << 16) | major,
                          uuid_to_bytes(NDR_SYNTAX_UUID), NDR_SYNTAX_VERSION))
    return _header(PTYPE_BIND, PFC_FIRST_FRAG | PFC_LAST_FRAG, HEADER_SIZE + len(body), call_id) + body


class PDUHeader:
    __slots__ = ("ptype", "flags", "frag_length", "auth_length", "call_id")

    def __init__(self, ptype, flags, frag_length, auth_length, call_id):
        self.ptype = ptype
        self.flags = flags
        self.frag_length = frag_length
        self.auth_length = auth_length
        self.call_id = call_id


def parse_header(data) -> PDUHeader:
    """The common header of the PDU at the start of ``data`` (which must hold all of it)."""
    if len(data) < HEADER_SIZE:
        raise ProtocolError("DCE/RPC: PDU of %d bytes is shorter than its header" % len(data))
    vers, minor, ptype, flags, drep, frag_length, auth_length, call_id = _S_HDR.unpack_from(data, 0)
    if vers != 5 or minor not in (0, 1):
        raise ProtocolError("DCE/RPC: unsupported version %d.%d" % (vers, minor))
    if drep[0] & 0xF0 != 0x10:
        raise ProtocolError("DCE/RPC: big-endian data representation is not supported")
    if frag_length < HEADER_SIZE or frag_length > len(data):
        raise ProtocolError("DCE/RPC: frag_length %d does not fit the %d bytes received"
                            % (frag_length, len(data)))
    if auth_length and auth_length + 8 > frag_length - HEADER_SIZE:
        raise ProtocolError("DCE/RPC: auth_length %d overruns the fragment" % auth_length)
    return PDUHeader(ptype, flags, frag_length, auth_length, call_id)


class BindAck:
    """A parsed BIND_ACK: negotiated fragment sizes and the per-context results."""

    __slots__ = ("max_xmit_frag", "max_recv_frag", "assoc_group_id", "secondary_address", "results")

    def __init__(self, max_xmit_frag, max_recv_frag, assoc_group_id, secondary_address, results):
        self.max_xmit_frag = max_xmit_frag
        self.max_recv_frag = max_recv_frag
        self.assoc_group_id = assoc_group_id
        self.secondary_address = secondary_address
        self.results = results  # list of (result, reason, transfer_syntax_uuid, version)


def parse_bind_ack(data, call_id=None) -> BindAck:
    """Parse a BIND_ACK (or raise :class:`RPCBindError` for a BIND_NAK)."""
    mv = memoryview(data)
    h = parse_header(mv)
    if call_id is not None and h.call_id != call_id:
        raise ProtocolError("DCE/RPC: bind reply for call %d, expected %d" % (h.call_id, call_id))
    end = h.frag_length - (h.auth_length + 8 if h.auth_length else 0)
    if h.ptype == PTYPE_BIND_NAK:
        reason = _S_H.unpack_from(mv, HEADER_SIZE)[0] if end >= HEADER_SIZE + 2 else None
        raise RPCBindError("DCE/RPC bind rejected (reason %s)" % reason, reason)
    if h.ptype != PTYPE_BIND_ACK:
        raise ProtocolError("DCE/RPC: expected BIND_ACK, got packet type %d" % h.ptype)
    off = HEADER_SIZE
    if off + 10 > end:
        raise ProtocolError("DCE/RPC: truncated BIND_ACK")
    xmit, recv, group = _S_BIND.unpack_from(mv, off)
    off += 8
    addr_len = _S_H.unpack_from(mv, off)[0]
    off += 2
    if off + addr_len > end:
        raise ProtocolError("DCE/RPC: BIND_ACK secondary address overruns the PDU")
    addr = bytes(mv[off:off + addr_len]).rstrip(b"\x00").decode("latin-1")
    off += addr_len
    off = (off + 3) & ~3  # align to 4 (offsets from the PDU start)
    if off + 4 > end:
        raise ProtocolError("DCE/RPC: truncated BIND_ACK result list")
    n = mv[off]
    off += 4
    if off + n * _S_RESULT.size > end:
        raise ProtocolError("DCE/RPC: BIND_ACK result list of %d overruns the PDU" % n)
    results = []
    for _ in range(n):
        res, reason, ts, tsv = _S_RESULT.unpack_from(mv, off)
        off += _S_RESULT.size
        results.append((res, reason, uuid_from_bytes(ts), tsv))
    if xmit < REQUEST_HEADER_SIZE + 8 or recv < RESPONSE_HEADER_SIZE + 8:
        raise ProtocolError("DCE/RPC: unusable fragment sizes %d/%d" % (xmit, recv))
    return BindAck(xmit, recv, group, addr, results)


def request(call_id, opnum, stub, *, context_id=0, max_xmit_frag=DEFAULT_MAX_FRAG):
    """REQUEST PDU(s) carrying ``stub``: a list of fragments, each at most ``max_xmit_frag``
    bytes. Every fragment but the last carries a multiple of 8 stub bytes; alloc_hint is the
    stub length still to come, this fragment included."""
    stub = memoryview(stub)
    room = (max_xmit_frag - REQUEST_HEADER_SIZE) & ~7
    if room <= 0:
        raise ValueError("max_xmit_frag %d is too small" % max_xmit_frag)
    total = len(stub)
    frags = []
    pos = 0
    while True:
        chunk = stub[pos:pos + room]
        flags = 0
        if pos == 0:
            flags |= PFC_FIRST_FRAG
        if pos + len(chunk) >= total:
            flags |= PFC_LAST_FRAG
        frags.append(_header(PTYPE_REQUEST, flags, REQUEST_HEADER_SIZE + len(chunk), call_id)
                     + _S_REQ.pack(total - pos, context_id, opnum) + bytes(chunk))
        pos += len(chunk)
        if flags & PFC_LAST_FRAG:
            return frags


def parse_fault(data) -> RPCFault:
    """The RPCFault a FAULT PDU describes (its status at offset 24)."""
    h = parse_header(data)
    if h.ptype != PTYPE_FAULT or h.frag_length < RESPONSE_HEADER_SIZE + 4:
        raise ProtocolError("DCE/RPC: malformed FAULT PDU")
    return RPCFault(_S_STATUS.unpack_from(data, RESPONSE_HEADER_SIZE)[0])


class ResponseAssembler:
    """Reassembles the RESPONSE fragments of one call from a byte stream fed in pieces."""

    def __init__(self, call_id, max_size=MAX_RESPONSE_SIZE):
        self.call_id = call_id
        self.max_size = max_size
        self._buf = bytearray()
        self._stub = bytearray()
        self._first = True
        self.done = False

    def feed(self, data) -> bool:
        """Add received bytes; True once the last fragment is in. Raises RPCFault on a FAULT
        PDU, ProtocolError on anything malformed or unexpected."""
        if self.done:
            if data:
                raise ProtocolError("DCE/RPC: data after the last response fragment")
            return True
        self._buf += data
        while len(self._buf) >= HEADER_SIZE:
            frag_length = _S_H.unpack_from(self._buf, 8)[0]
            if frag_length < HEADER_SIZE:
                raise ProtocolError("DCE/RPC: frag_length %d is shorter than the header" % frag_length)
            if len(self._buf) < frag_length:
                break
            pdu = memoryview(bytes(self._buf[:frag_length]))
            del self._buf[:frag_length]
            self._fragment(pdu)
            if self.done:
                if self._buf:
                    raise ProtocolError("DCE/RPC: %d bytes after the last response fragment" % len(self._buf))
                return True
        return False

    def _fragment(self, pdu):
        h = parse_header(pdu)
        if h.call_id != self.call_id:
            raise ProtocolError("DCE/RPC: response for call %d, expected %d" % (h.call_id, self.call_id))
        if h.ptype == PTYPE_FAULT:
            raise parse_fault(pdu)
        if h.ptype != PTYPE_RESPONSE:
            raise ProtocolError("DCE/RPC: expected RESPONSE, got packet type %d" % h.ptype)
        if h.frag_length < RESPONSE_HEADER_SIZE:
            raise ProtocolError("DCE/RPC: truncated RESPONSE fragment")
        if self._first and not h.flags & PFC_FIRST_FRAG:
            raise ProtocolError("DCE/RPC: first response fragment lacks PFC_FIRST_FRAG")
        if not self._first and h.flags & PFC_FIRST_FRAG:
            raise ProtocolError("DCE/RPC: PFC_FIRST_FRAG in the middle of a response")
        self._first = False
        end = h.frag_length
        if h.auth_length:
            end -= h.auth_length + 8
            end -= pdu[end + 2]  # sec_trailer auth_pad_length
            if end < RESPONSE_HEADER_SIZE:
                raise ProtocolError("DCE/RPC: auth padding overruns the stub")
        if len(self._stub) + end - RESPONSE_HEADER_SIZE > self.max_size:
            raise ProtocolError("DCE/RPC: response exceeds %d bytes" % self.max_size)
        self._stub += pdu[RESPONSE_HEADER_SIZE:end]
        if h.flags & PFC_LAST_FRAG:
            self.done = True

    @property
    def stub(self) -> bytes:
        if not self.done:
            raise ProtocolError("DCE/RPC: response incomplete")
        return bytes(self._stub)


class RPCClient:
    """A transport-agnostic DCE/RPC client over a message pipe.

    ``transact(data) -> bytes`` writes PDUs and returns the reply (the engine's named-pipe
    transceive). ``read_more() -> bytes`` reads further reply data (more fragments); without
    it, a reply must arrive whole from ``transact``. ``write(data)`` (optional) writes without
    reading: used for all but the last fragment of a fragmented request; without it all
    fragments go in one ``transact``.
    """

    def __init__(self, transact: Callable[[bytes], bytes], read_more: Optional[Callable[[], bytes]] = None,
                 write: Optional[Callable[[bytes], object]] = None, max_frag: int = DEFAULT_MAX_FRAG):
        self._transact = transact
        self._read_more = read_more
        self._write = write
        self.max_xmit_frag = max_frag
        self.max_recv_frag = max_frag
        self.context_id = 0
        self._call_id = 1
        self.bound = False

    def _next_call_id(self):
        cid = self._call_id
        self._call_id = (self._call_id + 1) & 0xFFFFFFFF or 1
        return cid

    def _complete(self, first_reply):
        """Read until the reply holds one whole PDU; returns that PDU's bytes."""
        buf = bytearray(first_reply)
        while True:
            if len(buf) >= HEADER_SIZE:
                need = _S_H.unpack_from(buf, 8)[0]
                if need < HEADER_SIZE:
                    raise ProtocolError("DCE/RPC: frag_length %d is shorter than the header" % need)
                if len(buf) >= need:
                    return bytes(buf)
            more = self._more()
            buf += more

    def _more(self):
        if self._read_more is None:
            raise ProtocolError("DCE/RPC: reply incomplete and no way to read more")
        more = self._read_more()
        if not more:
            raise ProtocolError("DCE/RPC: pipe returned no data for an incomplete reply")
        return more

    def bind(self, interface_uuid, version, context_id=0) -> BindAck:
        pdu, call_id = self.bind_pdu(interface_uuid, version, context_id)
        return self.accept_bind_ack(self._transact(pdu), call_id, context_id)

    def call(self, opnum, stub) -> bytes:
        """Send a request and return the reassembled response stub."""
        if not self.bound:
            raise ProtocolError("DCE/RPC: call before bind")
        frags, call_id = self.request_pdus(opnum, stub)
        if self._write is not None:
            for frag in frags[:-1]:
                self._write(frag)
            reply = self._transact(frags[-1])
        else:
            reply = self._transact(b"".join(frags))
        return self.response_stub(reply, call_id)

    # The steps of bind() and call(), for callers that pipeline them (send the BIND and the
    # first REQUEST together, without waiting for the BIND_ACK: the pipe keeps their order).
    def bind_pdu(self, interface_uuid, version, context_id=0):
        """``(BIND PDU, call id)``."""
        call_id = self._next_call_id()
        pdu = bind(call_id, interface_uuid, version, context_id=context_id,
                   max_xmit_frag=self.max_xmit_frag, max_recv_frag=self.max_recv_frag)
        return pdu, call_id

    def accept_bind_ack(self, reply, call_id, context_id=0) -> BindAck:
        """Check the server's answer to :meth:`bind_pdu`; the client is bound after it."""
        ack = parse_bind_ack(self._complete(reply), call_id)
        if not ack.results:
            raise ProtocolError("DCE/RPC: BIND_ACK without a result")
        result, reason = ack.results[0][0], ack.results[0][1]
        if result != RESULT_ACCEPTANCE:
            raise RPCBindError("DCE/RPC presentation context rejected (result %d, reason %d)"
                               % (result, reason), reason)
        # the ack's sizes are the server's: what it transmits is what we receive
        self.max_xmit_frag = min(self.max_xmit_frag, ack.max_recv_frag)
        self.max_recv_frag = min(self.max_recv_frag, ack.max_xmit_frag)
        self.context_id = context_id
        self.bound = True
        return ack

    def request_pdus(self, opnum, stub):
        """``(REQUEST fragments, call id)`` for ``opnum`` with ``stub``."""
        call_id = self._next_call_id()
        return request(call_id, opnum, stub, context_id=self.context_id,
                       max_xmit_frag=self.max_xmit_frag), call_id

    def response_stub(self, reply, call_id) -> bytes:
        """The stub of the response to ``call_id``, reading further fragments as needed."""
        asm = ResponseAssembler(call_id)
        while not asm.feed(reply):
            reply = self._more()
        return asm.stub
