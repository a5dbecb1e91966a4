"""Message records: what ``OperationFailure.smb_messages`` holds, with pysmb's attribute names.

:class:`SMBMessage` (SMB1, [MS-CIFS] 2.2.3.1 header) and :class:`SMB2Message` (SMB2/3,
[MS-SMB2] 2.2.1 header) describe one message of the failed operation: ``command``,
``status``, ``flags``, ``mid``, ``tid``, ``uid`` / ``session_id``, ``raw_data`` (the message
as received, header first), ``payload`` and the rest of pysmb's fields. An SMB1 ``status`` is
an :class:`SMBError` (``internal_value``, ``is_ntstatus``, as in pysmb); an SMB2 one an int.

The engines build failures with :func:`smb1_failure` and :func:`smb2_failure`: the history is
the request (its header fields; the bytes sent are not kept) followed by the response.
``raw_data`` and ``data`` are capped at :data:`RAW_DATA_LIMIT` bytes, so a failure never
pins a large read buffer.

These classes are records, not a codec: :meth:`decode` parses a header with the protocol
codecs (:mod:`smb.smb1.header`, :mod:`smb.smb2.header`) and :meth:`encode` re-serialises
the recorded fields.
"""

from __future__ import annotations

import logging
import struct

from smb.errors import OperationFailure, ProtocolError
from smb.smb_constants import SMB_COMMAND_NAMES, SMB_FLAGS2_EXTENDED_SECURITY, SMB_FLAGS2_NT_STATUS, \
    SMB_FLAGS_REPLY

#: largest number of bytes of a message kept in ``raw_data`` / ``data``
RAW_DATA_LIMIT = 64 * 1024

_SMB2_ASYNC = 0x00000002  # [MS-SMB2] 2.2.1.2 SMB2_FLAGS_ASYNC_COMMAND
_SMB2_REPLY = 0x00000001  # SMB2_FLAGS_SERVER_TO_REDIR


def _capped(data) -> bytes:
    return bytes(data[:RAW_DATA_LIMIT])


class SMBError:
    """The status of an SMB1 message: an NTSTATUS, or a DOS error class/code pair
    (``internal_value`` holds the header's 32 bits either way)."""

    def __init__(self, internal_value: int = 0, is_ntstatus: bool = True):
        self.internal_value = internal_value
        self.is_ntstatus = is_ntstatus

    def reset(self) -> None:
        self.internal_value = 0
        self.is_ntstatus = True

    @property
    def hasError(self) -> bool:
        return self.internal_value != 0

    def __eq__(self, other):
        if isinstance(other, SMBError):
            return (self.internal_value, self.is_ntstatus) == (other.internal_value, other.is_ntstatus)
        if isinstance(other, int):
            return self.internal_value == other
        return NotImplemented

    def __hash__(self):
        return hash(self.internal_value)

    def __int__(self):
        return self.internal_value

    def __str__(self):
        if self.is_ntstatus:
            return "NTSTATUS=0x%08X" % self.internal_value
        return "ErrorClass=0x%02X ErrorCode=0x%04X" % (self.internal_value & 0xFF,
                                                      self.internal_value >> 16)

    __repr__ = __str__


class _Record:
    """What both records share: pysmb's constructor and the fields common to both headers."""

    def __init__(self, payload=None):
        self.reset()
        self.payload = payload

    def reset(self) -> None:
        self.raw_data = b""
        self.command = 0
        self.status: int | SMBError = 0  # an SMBError on SMB1 messages
        self.flags = 0
        self.flags2 = 0  # SMB1 only (always 0 on SMB2, as in pysmb)
        self.pid = 0
        self.tid = 0
        self.uid = 0  # SMB1 only
        self.mid = 0
        self.security = 0  # SMB1 only
        self.parameters_data = b""  # SMB1 only
        self.data = b""
        self.payload = None

    def __repr__(self):
        return str(self)


class SMBMessage(_Record):
    """One SMB1 message of an operation's history."""

    status: SMBError
    #: the 32-byte header plus WordCount ([MS-CIFS] 2.2.3.1), as one struct format
    HEADER_STRUCT_FORMAT = "<4sBIBHHQxxHHHHB"
    HEADER_STRUCT_SIZE = struct.calcsize(HEADER_STRUCT_FORMAT)
    log = logging.getLogger("SMB.SMBMessage")
    protocol = 1

    def reset(self) -> None:
        super().reset()
        self.status = SMBError()

    @property
    def isAsync(self) -> bool:
        return False  # SMB1 has no asynchronous header

    @property
    def isReply(self) -> bool:
        return bool(self.flags & SMB_FLAGS_REPLY)

    @property
    def hasExtendedSecurity(self) -> bool:
        return bool(self.flags2 & SMB_FLAGS2_EXTENDED_SECURITY)

    def decode(self, buf) -> int:
        """Fill the record from the SMB1 message in ``buf``; returns the bytes it spans."""
        from smb.smb1.header import parse_response

        r = parse_response(memoryview(bytes(buf)))
        self.reset()
        self.command, self.flags, self.flags2 = r.command, r.flags, r.flags2
        self.pid, self.tid, self.uid, self.mid = r.pid, r.tid, r.uid, r.mid
        self.security = int.from_bytes(r.signature, "little")
        self.status = SMBError(struct.unpack_from("<I", r.raw, 5)[0],
                               bool(r.flags2 & SMB_FLAGS2_NT_STATUS))
        _cmd, words, data, dstart = r.blocks[0]
        self.parameters_data = bytes(words)
        self.data = _capped(data)
        self.raw_data = _capped(r.raw)
        return dstart + len(data)

    def encode(self) -> bytes:
        """The recorded fields as an SMB1 message (header, parameter words, data)."""
        from smb.smb1.header import HEADER, PROTOCOL

        if len(self.parameters_data) & 1:
            raise ProtocolError("SMB1 parameter words must be an even number of bytes")
        head = HEADER.pack(PROTOCOL, self.command, self.status.internal_value, self.flags,
                           self.flags2, (self.pid >> 16) & 0xFFFF,
                           self.security.to_bytes(8, "little"), 0, self.tid, self.pid & 0xFFFF,
                           self.uid, self.mid)
        return (head + bytes((len(self.parameters_data) // 2,)) + self.parameters_data
                + struct.pack("<H", len(self.data)) + self.data)

    def __str__(self):
        return ("SMB1 %s (0x%02X) status=%s flags=0x%02X flags2=0x%04X tid=%d uid=%d mid=%d "
                "pid=%d, %d parameter bytes, %d data bytes"
                % (SMB_COMMAND_NAMES.get(self.command, "<unknown>"), self.command, self.status,
                   self.flags, self.flags2, self.tid, self.uid, self.mid, self.pid,
                   len(self.parameters_data), len(self.data)))


class SMB2Message(_Record):
    """One SMB2/3 message of an operation's history."""

    #: the parts of the 64-byte header ([MS-SMB2] 2.2.1): common, async tail, sync tail
    HEADER_STRUCT_FORMAT = "<4sHHIHHI"
    HEADER_STRUCT_SIZE = struct.calcsize(HEADER_STRUCT_FORMAT)
    ASYNC_HEADER_STRUCT_FORMAT = "<IQQQ16s"
    ASYNC_HEADER_STRUCT_SIZE = struct.calcsize(ASYNC_HEADER_STRUCT_FORMAT)
    SYNC_HEADER_STRUCT_FORMAT = "<IQIIQ16s"
    SYNC_HEADER_STRUCT_SIZE = struct.calcsize(SYNC_HEADER_STRUCT_FORMAT)
    HEADER_SIZE = 64
    log = logging.getLogger("SMB.SMB2Message")
    protocol = 2

    def reset(self) -> None:
        super().reset()
        self.next_command_offset = 0
        self.session_id = 0
        self.signature = bytes(16)
        self.async_id = 0
        self.credit_charge = 0
        self.credit_re = 0

    @property
    def isAsync(self) -> bool:
        return bool(self.flags & _SMB2_ASYNC)

    @property
    def isReply(self) -> bool:
        return bool(self.flags & _SMB2_REPLY)

    def decode(self, buf) -> int:
        """Fill the record from the SMB2 message at the start of ``buf`` (one message of a
        compound); returns the bytes it spans."""
        from smb.smb2.header import SIGNATURE_OFFSET, parse_header

        h = parse_header(buf)
        self.reset()
        end = h.next_command if h.next_command else len(buf)
        self.command, self.status, self.flags = h.command, h.status, h.flags
        self.next_command_offset, self.mid, self.session_id = h.next_command, h.message_id, h.session_id
        self.async_id, self.tid = h.async_id, h.tree_id
        self.credit_charge, self.credit_re = h.credit_charge, h.credits
        if not h.is_async:
            self.pid = struct.unpack_from("<I", buf, 32)[0]
        self.signature = bytes(buf[SIGNATURE_OFFSET:SIGNATURE_OFFSET + 16])
        self.raw_data = _capped(buf[:end])
        self.data = _capped(buf[self.HEADER_SIZE:end])
        if self.status and len(self.data) >= 8:
            self.payload = ErrorResponse.decode(self.data)
        return end

    def encode(self) -> bytes:
        """The recorded fields as an SMB2 message (header and body)."""
        from smb.smb2.header import HEADER, SMB2_MAGIC

        x = self.async_id if self.isAsync else (self.tid << 32) | (self.pid & 0xFFFFFFFF)
        return HEADER.pack(SMB2_MAGIC, self.HEADER_SIZE, self.credit_charge, self.status,
                           self.command, self.credit_re, self.flags, self.next_command_offset,
                           self.mid, x, self.session_id, self.signature) + self.data

    def __str__(self):
        from smb.smb2.constants import COMMAND_NAMES

        return ("SMB2 %s (0x%02X) status=0x%08X flags=0x%X mid=%d tid=%d session_id=0x%X, "
                "%d data bytes" % (COMMAND_NAMES.get(self.command, "<unknown>"), self.command,
                                   self.status, self.flags, self.mid, self.tid, self.session_id,
                                   len(self.data)))


class ErrorResponse:
    """The payload of an SMB2 error response ([MS-SMB2] 2.2.2): ``error_context_count``,
    ``byte_count`` and ``error_data``."""

    def __init__(self, error_context_count: int, byte_count: int, error_data: bytes):
        self.error_context_count = error_context_count
        self.byte_count = byte_count
        self.error_data = error_data

    @classmethod
    def decode(cls, body) -> "ErrorResponse":
        _size, count, _reserved, byte_count = struct.unpack_from("<HBBI", body, 0)
        return cls(count, byte_count, bytes(body[8:8 + byte_count]))

    def __repr__(self):
        return "<SMB2 ERROR response: %d error bytes>" % len(self.error_data)


# --- builders used by the engines ----------------------------------------------------------

def _smb1_request(response: SMBMessage) -> SMBMessage:
    """The request a response answers, from the fields they share ([MS-CIFS] 3.2.5.1)."""
    req = SMBMessage()
    req.command, req.mid, req.tid, req.uid, req.pid = (response.command, response.mid,
                                                        response.tid, response.uid, response.pid)
    req.flags = response.flags & ~SMB_FLAGS_REPLY
    req.flags2 = response.flags2
    return req


def smb1_failure(message: str, response_raw, status: int) -> OperationFailure:
    """OperationFailure for the SMB1 response ``response_raw`` (its NTSTATUS ``status``)."""
    resp = SMBMessage()
    resp.decode(response_raw)
    return OperationFailure(message, [_smb1_request(resp), resp], status=status)


def smb2_failure(message: str, req, status=None) -> OperationFailure:
    """OperationFailure for an answered SMB2 request (``smb.smb2.connection.Request``)."""
    request = SMB2Message()
    request.command, request.mid, request.tid = req.command, req.message_id, req.tree_id or 0
    request.session_id, request.credit_charge = req.session_id or 0, req.credit_charge
    response = SMB2Message()
    if req.response is not None:
        response.decode(req.response)
    else:
        h = req.header
        response.command, response.status, response.flags, response.mid = (h.command, h.status,
                                                                            h.flags, h.message_id)
        response.tid, response.session_id = h.tree_id, h.session_id
    return OperationFailure(message, [request, response],
                            status=req.header.status if status is None else status)


def smb2_failure_from_bytes(message: str, data) -> OperationFailure:
    """OperationFailure for an SMB2 response known only by its bytes (the answer to SMB1's
    multi-protocol NEGOTIATE)."""
    response = SMB2Message()
    response.decode(data)
    request = SMB2Message()
    request.command, request.mid = response.command, response.mid
    return OperationFailure(message, [request, response], status=response.status)
