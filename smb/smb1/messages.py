"""SMB1 request builders and response parsers for the non-transaction commands.

CIFS section 4 (NT LM 0.12): NEGOTIATE 4.1.1, SESSION_SETUP_ANDX 4.1.2 (extended security
and the LM/NT challenge-response form), LOGOFF_ANDX 4.1.3, TREE_CONNECT_ANDX 4.1.4,
TREE_DISCONNECT 4.1.5, ECHO 4.1.7, NT_CANCEL 4.1.8, NT_CREATE_ANDX 4.2.1, READ_ANDX 4.2.4 and
WRITE_ANDX 4.2.5 (64-bit offsets; CAP_LARGE_READX/WRITEX high count words of [MS-SMB]
2.2.4.2.1 / 2.2.4.3.1), CLOSE 4.2.9, DELETE 4.2.10, RENAME 4.2.11, DELETE_DIRECTORY 4.3.2,
CHECK_DIRECTORY 4.3.3, FIND_CLOSE2 4.3.6 and CREATE_DIRECTORY ([MS-CIFS] 2.2.4.1).

A request is a tuple ``(command, words, data, payload)``: ``words`` are the parameter words,
``data`` the SMB_Data bytes laid out for a block that starts right after the 32-byte header
(string padding depends on that offset), and ``payload`` an optional extra buffer appended
to the data without copying (WRITE_ANDX). :func:`assemble` turns one into the buffers of a
whole message. Parsers take a :class:`smb.smb1.header.Response` (or one of its blocks).

A :class:`Chain` of requests is sent as one batched message ([MS-CIFS] 2.2.3.4, 3.2.4.1.4):
one header, then each request's parameter and data blocks, linked by the AndXCommand /
AndXOffset of every block but the last (each block after the first starts 4-byte aligned).
Only the first request may carry strings (their padding counts from the header); a
WRITE_ANDX's DataOffset is set for its place in the message (its payload is copied into the
message unless it is the last block).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from smb.errors import ProtocolError
from smb.smb1 import header as H
from smb.smb_constants import (  # noqa: F401  (NT_CREATE_ANDX Flags, defined there)
    NT_CREATE_OPEN_TARGET_DIR,
    NT_CREATE_REQUEST_EXTENDED_RESPONSE,
    NT_CREATE_REQUEST_OPBATCH,
    NT_CREATE_REQUEST_OPLOCK,
)

_U16 = struct.Struct("<H")
_U8 = struct.Struct("<B")

NEGOTIATE_RESP = struct.Struct("<HBHHIIIIQhB")            # 17 words
SESSION_SETUP_EXT = struct.Struct("<BBHHHHIHII")          # 12 words
SESSION_SETUP_NTLM = struct.Struct("<BBHHHHIHHII")        # 13 words
SESSION_SETUP_RESP = struct.Struct("<BBHH")               # 3 words (+ SecurityBlobLength)
ANDX_ONLY = struct.Struct("<BBH")                         # 2 words
TREE_CONNECT = struct.Struct("<BBHHH")                    # 4 words
TREE_CONNECT_RESP = struct.Struct("<BBHH")                # 3 words
NT_CREATE = struct.Struct("<BBHBHIIIQIIIIIB")             # 24 words
NT_CREATE_RESP = struct.Struct("<BBHBHIQQQQIQQHHB")       # 34 words
READ_ANDX = struct.Struct("<BBHHIHHIHI")                  # 12 words
READ_ANDX_RESP = struct.Struct("<BBHHHHHHH8s")            # 12 words
WRITE_ANDX = struct.Struct("<BBHHIIHHHHHI")               # 14 words
WRITE_ANDX_RESP = struct.Struct("<BBHHHHH")               # 6 words
CLOSE = struct.Struct("<HI")                              # 3 words
_WRITE_DATA_OFFSET = 22                                   # WRITE_ANDX DataOffset, in the words

NO_ANDX = H.SMB_COM_NO_ANDX_COMMAND

SECURITY_IMPERSONATION = 2

CLIENT_CAPABILITIES = (H.CAP_UNICODE | H.CAP_LARGE_FILES | H.CAP_NT_SMBS | H.CAP_STATUS32
                       | H.CAP_LEVEL_II_OPLOCKS | H.CAP_NT_FIND | H.CAP_LARGE_READX
                       | H.CAP_LARGE_WRITEX)
NATIVE_OS = "Unix"
NATIVE_LANMAN = "smbclient-py"


class Chain(list):
    """Requests (tuples as above) sent as one AndX chain: every one but the last an AndX
    command, the FID of those after the first taken from the open the chain makes."""


def command_of(req) -> int:
    """The command of a request, or of the first request of a :class:`Chain`."""
    return req[0][0] if isinstance(req, Chain) else req[0]


def message_size(req) -> int:
    """The length of the message :func:`assemble` makes of ``req`` (a request or a Chain)."""
    size = H.HEADER_SIZE
    for i, (_command, words, data, payload) in enumerate(req if isinstance(req, Chain) else [req]):
        size += (-size % 4) if i else 0
        size += 3 + len(words) + len(data) + (len(payload) if payload is not None else 0)
    return size


def tree_path(tree, path: str) -> str:
    """The name of ``path`` on ``tree`` (a :class:`smb.engine.Tree`): SMB1 paths are rooted,
    'a\\b' -> '\\a\\b', '' -> '\\'; on a DFS share they are DFS paths,
    '\\server\\share\\a\\b' ([MS-CIFS] 2.2.1.1.2)."""
    return "\\" + tree.wire_path(path.lstrip("\\"))


def assemble(req, **header) -> list:
    """The buffers of one whole message for ``req`` (a request or a :class:`Chain`; header
    fields as :func:`header.pack_header`): the last payload is not copied."""
    reqs = req if isinstance(req, Chain) else (req,)
    if not reqs:
        raise ValueError("an empty AndX chain")
    buf = H.pack_header(reqs[0][0], **header)
    link = -1  # where the previous block's AndX fields are
    payload = None
    for i, (command, words, data, payload) in enumerate(reqs):
        if i < len(reqs) - 1 and command not in H.ANDX_COMMANDS:
            raise ValueError("command 0x%02X cannot be followed in an AndX chain" % command)
        if link >= 0:
            buf += bytes(-len(buf) % 4)
            if len(buf) > 0xFFFF:
                raise ValueError("an AndX chain block beyond the 16-bit AndXOffset")
            ANDX_ONLY.pack_into(buf, link, command, 0, len(buf))
        link = len(buf) + 1
        total = len(data) + (len(payload) if payload is not None else 0)
        if command == H.SMB_COM_WRITE_ANDX:  # DataOffset: where the payload starts
            words = bytearray(words)
            _U16.pack_into(words, _WRITE_DATA_OFFSET, len(buf) + 1 + len(words) + 2 + len(data))
        buf += _U8.pack(len(words) // 2)
        buf += words
        buf += _U16.pack(total & 0xFFFF)
        buf += data
        if i < len(reqs) - 1 and payload is not None:
            buf += payload  # a later block follows it: copied in
    return [buf] if payload is None or not len(payload) else [buf, payload]


def _check_words(block_words, n: int, what: str) -> None:
    if len(block_words) < 2 * n:
        raise ProtocolError("%s response has %d parameter words, expected %d"
                            % (what, len(block_words) // 2, n))


# --- NEGOTIATE --------------------------------------------------------------------------

def negotiate(dialects=("NT LM 0.12",)):
    data = b"".join(b"\x02" + d.encode("ascii") + b"\0" for d in dialects)
    return (H.SMB_COM_NEGOTIATE, b"", data, None)


def negotiate_request(dialects, flags2: int, pid: int = 0) -> bytes:
    """A whole NEGOTIATE message (MID 0) offering ``dialects`` with header ``flags2``."""
    return bytes(assemble(negotiate(dialects), flags2=flags2, pid=pid)[0])


@dataclass
class NegotiateInfo:
    dialect_index: int
    security_mode: int
    max_mpx_count: int
    max_number_vcs: int
    max_buffer_size: int
    max_raw_size: int
    session_key: int
    capabilities: int
    system_time: int
    server_time_zone: int
    challenge: bytes = b""
    domain_name: str = ""
    server_name: str = ""
    server_guid: bytes = b""
    security_blob: bytes = b""

    @property
    def extended_security(self) -> bool:
        return bool(self.capabilities & H.CAP_EXTENDED_SECURITY)

    @property
    def signing_enabled(self) -> bool:
        return bool(self.security_mode & H.NEGOTIATE_SECURITY_SIGNATURES_ENABLED)

    @property
    def signing_required(self) -> bool:
        return bool(self.security_mode & H.NEGOTIATE_SECURITY_SIGNATURES_REQUIRED)


def parse_negotiate(resp: H.Response) -> NegotiateInfo:
    words, data = resp.words, resp.data
    if len(words) == 2:
        raise ProtocolError("server accepted none of the offered dialects (index %d)" % _U16.unpack(words)[0])
    _check_words(words, 17, "NEGOTIATE")
    (idx, mode, mpx, vcs, maxbuf, maxraw, skey, caps, systime, tz,
     keylen) = NEGOTIATE_RESP.unpack_from(words, 0)
    info = NegotiateInfo(idx, mode, mpx, vcs, maxbuf, maxraw, skey, caps, systime, tz)
    d = bytes(data)
    if caps & H.CAP_EXTENDED_SECURITY:
        if len(d) < 16:
            raise ProtocolError("NEGOTIATE response lacks the server GUID")
        info.server_guid = d[:16]
        info.security_blob = d[16:]
    else:
        if keylen > len(d):
            raise ProtocolError("NEGOTIATE challenge longer than the data block")
        info.challenge = d[:keylen]
        unicode = bool(resp.flags2 & H.SMB_FLAGS2_UNICODE)
        # the strings are not padded after the challenge in practice; decode unaligned
        pos = keylen
        if pos < len(d):
            info.domain_name, pos = H.decode_string(d, pos, unicode)
        if pos < len(d):
            info.server_name, pos = H.decode_string(d, pos, unicode)
    return info


# --- SESSION_SETUP_ANDX -----------------------------------------------------------------

def session_setup_extended(blob: bytes, *, max_buffer_size: int = 0xFFFF, max_mpx_count: int = 50,
                           vc_number: int = 0, session_key: int = 0,
                           capabilities: int = CLIENT_CAPABILITIES | H.CAP_EXTENDED_SECURITY):
    words = SESSION_SETUP_EXT.pack(NO_ANDX, 0, 0, max_buffer_size, max_mpx_count, vc_number,
                                   session_key, len(blob), 0, capabilities)
    off = H.data_offset(12) + len(blob)
    data = bytes(blob)
    s = H.encode_string(NATIVE_OS, True, off)
    data += s
    data += H.encode_string(NATIVE_LANMAN, True, off + len(s))
    return (H.SMB_COM_SESSION_SETUP_ANDX, words, data, None)


def session_setup_ntlm(lm_response: bytes, nt_response: bytes, account: str, domain: str, *,
                       unicode: bool = True, max_buffer_size: int = 0xFFFF, max_mpx_count: int = 50,
                       vc_number: int = 0, session_key: int = 0,
                       capabilities: int = CLIENT_CAPABILITIES):
    """The non-extended form: LM (case-insensitive) and NT (case-sensitive) responses."""
    words = SESSION_SETUP_NTLM.pack(NO_ANDX, 0, 0, max_buffer_size, max_mpx_count, vc_number,
                                    session_key, len(lm_response), len(nt_response), 0,
                                    capabilities)
    data = bytearray(lm_response)
    data += nt_response
    base = H.data_offset(13)
    for text in (account, domain, NATIVE_OS, NATIVE_LANMAN):
        data += H.encode_string(text, unicode, base + len(data))
    return (H.SMB_COM_SESSION_SETUP_ANDX, words, bytes(data), None)


def parse_session_setup(resp: H.Response):
    """``(action, security_blob)`` of a SESSION_SETUP_ANDX response (blob b'' if none)."""
    words, data = resp.words, resp.data
    _check_words(words, 3, "SESSION_SETUP_ANDX")
    action = SESSION_SETUP_RESP.unpack_from(words, 0)[3]
    blob = b""
    if len(words) >= 8:
        bloblen = _U16.unpack_from(words, 6)[0]
        if bloblen > len(data):
            raise ProtocolError("SESSION_SETUP_ANDX SecurityBlobLength %d exceeds data %d"
                                % (bloblen, len(data)))
        blob = bytes(data[:bloblen])
    return action, blob


def logoff():
    return (H.SMB_COM_LOGOFF_ANDX, ANDX_ONLY.pack(NO_ANDX, 0, 0), b"", None)


# --- trees ------------------------------------------------------------------------------

def tree_connect(path: str, service: str = "?????", *, unicode: bool = True, password: bytes = b"\0"):
    words = TREE_CONNECT.pack(NO_ANDX, 0, 0, 0, len(password))
    base = H.data_offset(4)
    data = bytearray(password)
    data += H.encode_string(path, unicode, base + len(data))
    data += service.encode("ascii") + b"\0"
    return (H.SMB_COM_TREE_CONNECT_ANDX, words, bytes(data), None)


def parse_tree_connect(resp: H.Response, block: int = 0):
    """``(optional_support, service, native_file_system)``."""
    _cmd, words, data, data_off = resp.blocks[block]
    optional = 0
    if len(words) >= 6:
        optional = TREE_CONNECT_RESP.unpack_from(words, 0)[3]
    d = bytes(data)
    end = d.find(b"\0")
    if end < 0:
        raise ProtocolError("TREE_CONNECT_ANDX response without a Service string")
    service = d[:end].decode("ascii", "replace")
    fs = ""
    if end + 1 < len(d):
        fs, _pos = H.decode_string(d, end + 1, bool(resp.flags2 & H.SMB_FLAGS2_UNICODE),
                                   align_base=data_off)
    return optional, service, fs


def tree_disconnect():
    return (H.SMB_COM_TREE_DISCONNECT, b"", b"", None)


# --- ECHO / NT_CANCEL -----------------------------------------------------------------

def echo(data: bytes, count: int = 1):
    return (H.SMB_COM_ECHO, _U16.pack(count), bytes(data), None)


def parse_echo(resp: H.Response):
    """``(sequence_number, data)``."""
    _check_words(resp.words, 1, "ECHO")
    return _U16.unpack_from(resp.words, 0)[0], bytes(resp.data)


def nt_cancel():
    return (H.SMB_COM_NT_CANCEL, b"", b"", None)


# --- NT_CREATE_ANDX ---------------------------------------------------------------------

def nt_create(name: str, *, desired_access: int, file_attributes: int = 0, share_access: int = 7,
              create_disposition: int = 1, create_options: int = 0, flags: int = 0,
              root_fid: int = 0, allocation_size: int = 0,
              impersonation: int = SECURITY_IMPERSONATION, security_flags: int = 0,
              unicode: bool = True):
    base = H.data_offset(24)
    data = H.encode_string(name, unicode, base)
    name_len = len(name.encode("utf-16-le")) if unicode else len(name.encode("latin-1", "replace"))
    words = NT_CREATE.pack(NO_ANDX, 0, 0, 0, name_len, flags, root_fid, desired_access,
                           allocation_size, file_attributes, share_access, create_disposition,
                           create_options, impersonation, security_flags)
    return (H.SMB_COM_NT_CREATE_ANDX, words, data, None)


@dataclass
class CreateResult:
    oplock_level: int
    fid: int
    create_action: int
    creation_time: int
    last_access_time: int
    last_write_time: int
    change_time: int
    file_attributes: int
    allocation_size: int
    end_of_file: int
    file_type: int
    device_state: int
    directory: bool


def parse_nt_create(resp: H.Response, block: int = 0) -> CreateResult:
    words = resp.blocks[block][1]
    _check_words(words, 34, "NT_CREATE_ANDX")
    v = NT_CREATE_RESP.unpack_from(words, 0)
    return CreateResult(v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13],
                        v[14], bool(v[15]))


# --- READ_ANDX / WRITE_ANDX ----------------------------------------------------------------

def read_andx(fid: int, offset: int, count: int, *, min_count: int = 0):
    """12-word READ_ANDX; ``count`` above 0xFFFF uses the MaxCountHigh word (CAP_LARGE_READX)."""
    words = READ_ANDX.pack(NO_ANDX, 0, 0, fid, offset & 0xFFFFFFFF, count & 0xFFFF,
                           min_count & 0xFFFF, (count >> 16) & 0xFFFF, 0, offset >> 32)
    return (H.SMB_COM_READ_ANDX, words, b"", None)


def parse_read_andx(resp: H.Response, block: int = 0) -> memoryview:
    """The data of a READ_ANDX response, a memoryview into ``resp.raw``."""
    words = resp.blocks[block][1]
    _check_words(words, 12, "READ_ANDX")
    v = READ_ANDX_RESP.unpack_from(words, 0)
    length = v[6] | (v[8] << 16)
    off = v[7]
    if length == 0:
        return resp.raw[0:0]
    if off < H.HEADER_SIZE or off + length > len(resp.raw):
        raise ProtocolError("READ_ANDX DataOffset/DataLength (%d/%d) outside the message of %d bytes"
                            % (off, length, len(resp.raw)))
    return resp.raw[off:off + length]


def write_andx(fid: int, offset: int, data, *, write_mode: int = 0, remaining: int = 0):
    """14-word WRITE_ANDX; the data goes after one pad byte (DataOffset 64, 32-bit aligned) and
    is returned as the payload (not copied)."""
    n = len(data)
    data_off = H.data_offset(14) + 1
    words = WRITE_ANDX.pack(NO_ANDX, 0, 0, fid, offset & 0xFFFFFFFF, 0, write_mode, remaining,
                            (n >> 16) & 0xFFFF, n & 0xFFFF, data_off, offset >> 32)
    return (H.SMB_COM_WRITE_ANDX, words, b"\0", data)


def parse_write_andx(resp: H.Response, block: int = 0) -> int:
    words = resp.blocks[block][1]
    _check_words(words, 6, "WRITE_ANDX")
    v = WRITE_ANDX_RESP.unpack_from(words, 0)
    return v[3] | (v[5] << 16)


# --- CLOSE and path commands --------------------------------------------------------------

def flush(fid: int):
    """SMB_COM_FLUSH ([MS-CIFS] 2.2.4.6): one word, the FID."""
    return (H.SMB_COM_FLUSH, _U16.pack(fid), b"", None)


def close(fid: int, last_write_time: int = 0xFFFFFFFF):
    return (H.SMB_COM_CLOSE, CLOSE.pack(fid, last_write_time), b"", None)


def _path_data(nwords: int, names, unicode: bool) -> bytes:
    base = H.data_offset(nwords)
    data = bytearray()
    for name in names:
        data += b"\x04"
        data += H.encode_string(name, unicode, base + len(data))
    return bytes(data)


def delete(name: str, search_attributes: int = 0x06, *, unicode: bool = True):
    return (H.SMB_COM_DELETE, _U16.pack(search_attributes), _path_data(1, [name], unicode), None)


def rename(old: str, new: str, search_attributes: int = 0x16, *, unicode: bool = True):
    return (H.SMB_COM_RENAME, _U16.pack(search_attributes), _path_data(1, [old, new], unicode), None)


def create_directory(name: str, *, unicode: bool = True):
    return (H.SMB_COM_CREATE_DIRECTORY, b"", _path_data(0, [name], unicode), None)


def delete_directory(name: str, *, unicode: bool = True):
    return (H.SMB_COM_DELETE_DIRECTORY, b"", _path_data(0, [name], unicode), None)


def check_directory(name: str, *, unicode: bool = True):
    return (H.SMB_COM_CHECK_DIRECTORY, b"", _path_data(0, [name], unicode), None)


def find_close2(sid: int):
    return (H.SMB_COM_FIND_CLOSE2, _U16.pack(sid), b"", None)


def share_type(service: str) -> int:
    """TREE_CONNECT_ANDX Service string -> [MS-SMB2] share type (1 disk, 2 pipe, 3 print)."""
    s = service.upper()
    if s.startswith("IPC"):
        return 2
    if s.startswith("LPT"):
        return 3
    return 1
