"""SMB1 (NT LM 0.12) message header, AndX block walking and string encoding.

Implements the 32-byte SMB header of [MS-CIFS] 2.2.3.1 (Protocol, Command, Status, Flags,
Flags2, PIDHigh, SecurityFeatures, TID, PIDLow, UID, MID), the parameter/data block layout
(WordCount, Words, ByteCount, Bytes, [MS-CIFS] 2.2.3.2-2.2.3.3), the AndX chain of
[MS-CIFS] 2.2.3.4 (AndXCommand/AndXOffset, followed for every response), error statuses as
either a 32-bit NTSTATUS (FLAGS2_NT_STATUS) or a DOS class/code pair ([MS-CIFS] 2.2.1.4),
and Unicode/OEM strings with the 16-bit alignment padding of [MS-CIFS] 2.2.1.1 (alignment is
counted from the start of the SMB header). Capability and flag values are those of CIFS
section 4.1.1 and [MS-SMB] 2.2.4.5.2.1.

Pure functions: no sockets.
"""

from __future__ import annotations

import struct

from smb.errors import ProtocolError
# commands ([MS-CIFS] 2.2.2.1), header flags and capabilities: defined once in
# smb.smb_constants, re-exported here
from smb.smb_constants import (  # noqa: F401
    CAP_DFS,
    CAP_EXTENDED_SECURITY,
    CAP_INFOLEVEL_PASSTHRU,
    CAP_LARGE_FILES,
    CAP_LARGE_READX,
    CAP_LARGE_WRITEX,
    CAP_LEVEL_II_OPLOCKS,
    CAP_LOCK_AND_READ,
    CAP_LWIO,
    CAP_MPX_MODE,
    CAP_NT_FIND,
    CAP_NT_SMBS,
    CAP_RAW_MODE,
    CAP_RPC_REMOTE_APIS,
    CAP_STATUS32,
    CAP_UNICODE,
    CAP_UNIX,
    NEGOTIATE_ENCRYPT_PASSWORDS,
    NEGOTIATE_SECURITY_SIGNATURES_ENABLE,
    NEGOTIATE_SECURITY_SIGNATURES_REQUIRE,
    NEGOTIATE_USER_SECURITY,
    SMB_FLAGS2_DFS,
    SMB_FLAGS2_EAS,
    SMB_FLAGS2_EXTENDED_SECURITY,
    SMB_FLAGS2_IS_LONG_NAME,
    SMB_FLAGS2_LONG_NAMES,
    SMB_FLAGS2_NT_STATUS,
    SMB_FLAGS2_PAGING_IO,
    SMB_FLAGS2_SMB_SECURITY_SIGNATURE,
    SMB_FLAGS2_UNICODE,
    SMB_FLAGS_CANONICALIZED_PATHS,
    SMB_FLAGS_CASE_INSENSITIVE,
    SMB_FLAGS_REPLY,
    SMB_TREE_CONNECTX_SUPPORT_DFS,
    SMB_COM_CHECK_DIRECTORY,
    SMB_COM_CLOSE,
    SMB_COM_FLUSH,
    SMB_COM_CREATE_DIRECTORY,
    SMB_COM_DELETE,
    SMB_COM_DELETE_DIRECTORY,
    SMB_COM_ECHO,
    SMB_COM_FIND_CLOSE2,
    SMB_COM_LOCKING_ANDX,
    SMB_COM_LOGOFF_ANDX,
    SMB_COM_NEGOTIATE,
    SMB_COM_NO_ANDX_COMMAND,
    SMB_COM_NT_CANCEL,
    SMB_COM_NT_CREATE_ANDX,
    SMB_COM_NT_TRANSACT,
    SMB_COM_NT_TRANSACT_SECONDARY,
    SMB_COM_OPEN_ANDX,
    SMB_COM_READ_ANDX,
    SMB_COM_RENAME,
    SMB_COM_SESSION_SETUP_ANDX,
    SMB_COM_TRANSACTION,
    SMB_COM_TRANSACTION2,
    SMB_COM_TRANSACTION2_SECONDARY,
    SMB_COM_TRANSACTION_SECONDARY,
    SMB_COM_TREE_CONNECT_ANDX,
    SMB_COM_TREE_DISCONNECT,
    SMB_COM_WRITE_ANDX,
)

PROTOCOL = b"\xffSMB"
HEADER_SIZE = 32

# Protocol(4) Command(1) Status(4) Flags(1) Flags2(2) PIDHigh(2) SecurityFeatures(8)
# Reserved(2) TID(2) PIDLow(2) UID(2) MID(2)
HEADER = struct.Struct("<4sBIBHH8sHHHHH")
_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_ANDX = struct.Struct("<BBH")
SIGNATURE_OFFSET = 14

#: commands whose blocks start with AndXCommand/AndXReserved/AndXOffset
ANDX_COMMANDS = frozenset((SMB_COM_LOCKING_ANDX, SMB_COM_OPEN_ANDX, SMB_COM_READ_ANDX,
                           SMB_COM_WRITE_ANDX, SMB_COM_SESSION_SETUP_ANDX, SMB_COM_LOGOFF_ANDX,
                           SMB_COM_TREE_CONNECT_ANDX, SMB_COM_NT_CREATE_ANDX))

# Flags, Flags2, capabilities and SecurityMode bits are defined in smb.smb_constants
DEFAULT_FLAGS = SMB_FLAGS_CASE_INSENSITIVE | SMB_FLAGS_CANONICALIZED_PATHS
#: TREE_CONNECT_ANDX OptionalSupport: the share is in DFS ([MS-CIFS] 2.2.4.55.2)
SMB_SHARE_IS_IN_DFS = SMB_TREE_CONNECTX_SUPPORT_DFS

DEFAULT_FLAGS2 = (SMB_FLAGS2_LONG_NAMES | SMB_FLAGS2_EAS | SMB_FLAGS2_IS_LONG_NAME
                  | SMB_FLAGS2_NT_STATUS | SMB_FLAGS2_UNICODE)
NEGOTIATE_SECURITY_SIGNATURES_ENABLED = NEGOTIATE_SECURITY_SIGNATURES_ENABLE
NEGOTIATE_SECURITY_SIGNATURES_REQUIRED = NEGOTIATE_SECURITY_SIGNATURES_REQUIRE


def pack_header(command: int, *, flags2: int = DEFAULT_FLAGS2, tid: int = 0, uid: int = 0,
                mid: int = 0, pid: int = 0, flags: int = DEFAULT_FLAGS, status: int = 0) -> bytearray:
    """The 32 header bytes of a request (signature field zero)."""
    buf = bytearray(HEADER_SIZE)
    HEADER.pack_into(buf, 0, PROTOCOL, command, status, flags, flags2, (pid >> 16) & 0xFFFF,
                     b"\0" * 8, 0, tid, pid & 0xFFFF, uid, mid)
    return buf


def message(command: int, words: bytes, data=b"", **header) -> bytearray:
    """A whole single-command request: header, WordCount, words, ByteCount, data."""
    if len(words) & 1 or len(words) > 510 or len(data) > 0xFFFF:
        raise ValueError("bad SMB block sizes")
    buf = pack_header(command, **header)
    buf += _U8.pack(len(words) // 2)
    buf += words
    buf += _U16.pack(len(data))
    buf += data
    return buf


# Offset of the Bytes of a single-command request with ``nwords`` parameter words.
def data_offset(nwords: int) -> int:
    return HEADER_SIZE + 1 + 2 * nwords + 2


class Response:
    """A parsed SMB1 response: header fields plus the AndX blocks (memoryviews into ``raw``).

    ``blocks`` is a list of ``(command, words, data, data_offset)`` (``data_offset``: where
    ``data`` starts in the message); the first block belongs to ``command``. ``raw`` is the whole message (a memoryview; copy it to keep it)."""

    __slots__ = ("command", "status", "flags", "flags2", "tid", "pid", "uid", "mid",
                 "signature", "raw", "blocks", "dos_error")
    command: int
    status: int
    flags: int
    flags2: int
    tid: int
    pid: int
    uid: int
    mid: int
    signature: bytes
    raw: memoryview
    blocks: list[tuple[int, memoryview, memoryview, int]]
    dos_error: tuple[int, int] | None

    def __repr__(self):
        return "<SMB1 response cmd=0x%02X status=0x%08X mid=%d>" % (self.command, self.status, self.mid)

    @property
    def words(self) -> memoryview:
        return self.blocks[0][1]

    @property
    def data(self) -> memoryview:
        return self.blocks[0][2]


def _dos_to_nt(err_class: int, err_code: int) -> int:
    from smb import ntstatus

    return ntstatus.dos_error_to_ntstatus(err_class, err_code)


def _block(mv: memoryview, pos: int, lenient: bool):
    """(words, data, data_start, end) of the block at ``pos``; ``lenient`` tolerates a ByteCount that
    undercounts (large READ_ANDX responses carry only the low 16 bits)."""
    n = len(mv)
    if pos >= n:
        raise ProtocolError("SMB block starts beyond the message (offset %d of %d)" % (pos, n))
    wc = mv[pos]
    wend = pos + 1 + 2 * wc
    if wend + 2 > n:
        raise ProtocolError("SMB parameter block truncated (WordCount %d)" % wc)
    bc = mv[wend] | (mv[wend + 1] << 8)
    dstart = wend + 2
    dend = dstart + bc
    if dend > n:
        if not lenient:
            raise ProtocolError("SMB data block truncated (ByteCount %d, %d available)" % (bc, n - dstart))
        dend = n
    return mv[pos + 1:wend], mv[dstart:dend], dstart, dend


def parse_response(buf) -> Response:
    """Parse a server message: header, status and every block of its AndX chain."""
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    if len(mv) < HEADER_SIZE + 3:
        raise ProtocolError("SMB1 message too short (%d bytes)" % len(mv))
    (proto, command, status, flags, flags2, pid_high, sig, _r, tid, pid_low, uid,
     mid) = HEADER.unpack_from(mv, 0)
    if proto != PROTOCOL:
        raise ProtocolError("not an SMB1 message (protocol %r)" % bytes(proto))
    r = Response()
    r.command = command
    r.flags = flags
    r.flags2 = flags2
    r.tid = tid
    r.pid = (pid_high << 16) | pid_low
    r.uid = uid
    r.mid = mid
    r.signature = sig
    r.raw = mv
    r.dos_error = None
    if flags2 & SMB_FLAGS2_NT_STATUS:
        r.status = status
    else:
        err_class = status & 0xFF
        err_code = status >> 16
        r.dos_error = (err_class, err_code)
        r.status = 0 if err_class == 0 else _dos_to_nt(err_class, err_code)
    blocks = []
    pos = HEADER_SIZE
    cmd = command
    lenient = command == SMB_COM_READ_ANDX
    while True:
        words, data, dstart, end = _block(mv, pos, lenient)
        blocks.append((cmd, words, data, dstart))
        if cmd not in ANDX_COMMANDS or len(words) < 4:
            break
        nxt, _res, off = _ANDX.unpack_from(words, 0)
        if nxt == SMB_COM_NO_ANDX_COMMAND:
            break
        if off < end or off >= len(mv) or len(blocks) >= 16:
            raise ProtocolError("bad AndXOffset %d in SMB response" % off)
        pos = off
        cmd = nxt
        lenient = cmd == SMB_COM_READ_ANDX
    r.blocks = blocks
    return r


# --- strings ------------------------------------------------------------------------

def encode_string(text: str, unicode: bool, offset: int, *, terminate: bool = True) -> bytes:
    """``text`` encoded to be placed at ``offset`` (from the header start): UTF-16LE with a pad
    byte first when ``offset`` is odd, or OEM (latin-1, unencodable characters replaced);
    NUL terminated unless ``terminate`` is False."""
    if unicode:
        raw = text.encode("utf-16-le")
        if terminate:
            raw += b"\0\0"
        return b"\0" + raw if offset & 1 else raw
    raw = text.encode("latin-1", "replace")
    return raw + b"\0" if terminate else raw


def decode_string(mv, pos: int, unicode: bool, *, align_base: int = 0, end: int = -1):
    """Decode a NUL-terminated string from ``mv`` at ``pos``; returns ``(text, next_pos)``.

    For Unicode, ``align_base + pos`` odd means a pad byte precedes the string. A missing
    terminator takes the rest of the buffer."""
    b = bytes(mv) if not isinstance(mv, (bytes, bytearray)) else mv
    if end < 0:
        end = len(b)
    if pos > end:
        raise ProtocolError("string offset beyond buffer")
    if unicode:
        if (align_base + pos) & 1:
            pos += 1
        i = pos
        while i + 1 < end:
            if b[i] == 0 and b[i + 1] == 0:
                return b[pos:i].decode("utf-16-le", "replace"), i + 2
            i += 2
        return b[pos:end - ((end - pos) & 1)].decode("utf-16-le", "replace"), end
    i = b.find(b"\0", pos, end)
    if i < 0:
        return b[pos:end].decode("latin-1"), end
    return b[pos:i].decode("latin-1"), i + 1
