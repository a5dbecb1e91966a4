"""SMB2/3 request bodies and response parsers (everything after the 64-byte header).

Implements the wire layouts of [MS-SMB2]:
2.2.2 ERROR, 2.2.3/2.2.4 NEGOTIATE (with 2.2.3.1 negotiate contexts), 2.2.5/2.2.6
SESSION_SETUP, 2.2.7/2.2.8 LOGOFF, 2.2.9/2.2.10 TREE_CONNECT, 2.2.11/2.2.12
TREE_DISCONNECT, 2.2.13/2.2.14 CREATE (2.2.13.2 create contexts), 2.2.15/2.2.16 CLOSE,
2.2.17/2.2.18 FLUSH, 2.2.19/2.2.20 READ, 2.2.21/2.2.22 WRITE, 2.2.28/2.2.29 ECHO,
2.2.30 CANCEL, 2.2.31/2.2.32 IOCTL, 2.2.33/2.2.34 QUERY_DIRECTORY, 2.2.37/2.2.38
QUERY_INFO, 2.2.39/2.2.40 SET_INFO.

Request encoders return the body bytes (header excluded). Response parsers take the whole
message (a bytes-like starting at its SMB2 header, since every SMB2 buffer offset counts from
the header) and return plain tuples / small slotted objects; malformed input raises
:class:`smb.errors.ProtocolError`. Returned buffers are memoryview slices of the input.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from smb.errors import ProtocolError
from smb.smb2 import constants as C

H = C.HEADER_SIZE

# --- precompiled layouts ----------------------------------------------------------
_NEG_REQ = struct.Struct("<HHHHI16sIHH")          # 36 bytes + dialects
_NEG_RSP = struct.Struct("<HHHH16sIIIIQQHHI")     # 64 bytes
_NEG_CTX = struct.Struct("<HHI")                  # context header, 8 bytes
_SESS_REQ = struct.Struct("<HBBIIHHQ")            # 24
_SESS_RSP = struct.Struct("<HHHH")                # 8
_SIMPLE = struct.Struct("<HH")                    # 4 (logoff, tree disconnect, echo, cancel, flush rsp)
_TREE_REQ = struct.Struct("<HHHH")                # 8
_TREE_RSP = struct.Struct("<HBBIII")              # 16
_CREATE_REQ = struct.Struct("<HBBIQQIIIIIHHII")   # 56
_CREATE_RSP = struct.Struct("<HBBIQQQQQQII16sII")  # 88
_CREATE_CTX = struct.Struct("<IHHHHI")            # 16
_CLOSE_REQ = struct.Struct("<HHI16s")             # 24 (also FLUSH)
_CLOSE_RSP = struct.Struct("<HHIQQQQQQI")         # 60
READ_REQ = struct.Struct("<HBBIQ16sIIIHHB")       # 48 + 1 buffer byte
READ_RSP = struct.Struct("<HBBIII")               # 16
WRITE_REQ = struct.Struct("<HHIQ16sIIHHI")        # 48
WRITE_RSP = struct.Struct("<HHIIHH")              # 16
_IOCTL_REQ = struct.Struct("<HHI16sIIIIIIII")     # 56
_IOCTL_RSP = struct.Struct("<HHI16sIIIIII")       # 48
_QDIR_REQ = struct.Struct("<HBBI16sHHI")          # 32
_QDIR_RSP = struct.Struct("<HHI")                 # 8 (also QUERY_INFO response)
_QINFO_REQ = struct.Struct("<HBBIHHIII16s")       # 40
_SINFO_REQ = struct.Struct("<HBBIHHI16s")         # 32
_ERROR_RSP = struct.Struct("<HBBI")               # 8
_U16 = struct.Struct("<H")

RELATED_FILE_ID = b"\xff" * 16
WRITE_DATA_OFFSET = H + WRITE_REQ.size  # 112


def align8(n: int) -> int:
    return (n + 7) & ~7


def _check(msg, fixed: int, structure_size: int, what: str) -> None:
    if len(msg) < H + fixed:
        raise ProtocolError("%s response too short (%d bytes)" % (what, len(msg)))
    size = _U16.unpack_from(msg, H)[0]
    if size != structure_size:
        raise ProtocolError("%s response has StructureSize %d, expected %d" % (what, size, structure_size))


def _slice(msg, offset: int, length: int, what: str):
    """The buffer at ``offset`` (from the header) of ``length`` bytes, bounds-checked."""
    mv = memoryview(msg)
    if length == 0:
        return mv[0:0]
    if offset < H or offset + length > len(mv):
        raise ProtocolError("%s buffer (offset %d, length %d) outside the %d-byte message"
                            % (what, offset, length, len(mv)))
    return mv[offset:offset + length]


# --- ERROR (2.2.2) ------------------------------------------------------------------
def parse_error(msg):
    """(error_context_count, error_data) of an ERROR response; tolerant of short bodies."""
    if len(msg) < H + _ERROR_RSP.size:
        return 0, memoryview(b"")
    _size, count, _r, nbytes = _ERROR_RSP.unpack_from(msg, H)
    data = memoryview(msg)[H + 8:H + 8 + nbytes]
    return count, data


# --- NEGOTIATE (2.2.3, 2.2.4) ---------------------------------------------------------
def negotiate_context(ctype: int, data: bytes) -> tuple:
    return ctype, bytes(data)


def preauth_integrity_context(salt: bytes, hashes=(C.HASH_SHA_512,)) -> tuple:
    data = struct.pack("<HH%dH" % len(hashes), len(hashes), len(salt), *hashes) + bytes(salt)
    return C.PREAUTH_INTEGRITY_CAPABILITIES, data


def encryption_context(ciphers) -> tuple:
    return C.ENCRYPTION_CAPABILITIES, struct.pack("<H%dH" % len(ciphers), len(ciphers), *ciphers)


def signing_context(algorithms) -> tuple:
    return C.SIGNING_CAPABILITIES, struct.pack("<H%dH" % len(algorithms), len(algorithms), *algorithms)


def encode_negotiate_contexts(contexts) -> bytes:
    """Contexts laid out 8-byte aligned one after the other (no padding after the last)."""
    out = bytearray()
    for i, (ctype, data) in enumerate(contexts):
        if i:
            out += bytes(align8(len(out)) - len(out))
        out += _NEG_CTX.pack(ctype, len(data), 0)
        out += data
    return bytes(out)


def negotiate_request(dialects, security_mode: int, capabilities: int, client_guid: bytes,
                      contexts=()) -> bytes:
    """NEGOTIATE request body; ``contexts`` (list of (type, data)) only with 3.1.1 offered."""
    n = len(dialects)
    dial = struct.pack("<%dH" % n, *dialects)
    if contexts:
        ctx_offset = align8(H + _NEG_REQ.size + len(dial))
        pad = ctx_offset - (H + _NEG_REQ.size + len(dial))
        blob = encode_negotiate_contexts(contexts)
        fixed = _NEG_REQ.pack(36, n, security_mode, 0, capabilities, client_guid, ctx_offset,
                              len(contexts), 0)
        return fixed + dial + bytes(pad) + blob
    return _NEG_REQ.pack(36, n, security_mode, 0, capabilities, client_guid, 0, 0, 0) + dial


class NegotiateResponse:
    __slots__ = ("security_mode", "dialect", "server_guid", "capabilities", "max_transact_size",
                 "max_read_size", "max_write_size", "system_time", "server_start_time",
                 "security_buffer", "contexts", "preauth_hash_id", "preauth_salt", "cipher_id",
                 "signing_algorithm_id")
    security_mode: int
    dialect: int
    server_guid: bytes
    capabilities: int
    max_transact_size: int
    max_read_size: int
    max_write_size: int
    system_time: int
    server_start_time: int
    security_buffer: bytes
    contexts: list[tuple[int, bytes]]
    preauth_hash_id: int | None
    preauth_salt: bytes
    cipher_id: int | None
    signing_algorithm_id: int | None

    def __repr__(self):
        return "<NegotiateResponse dialect=0x%04X mode=%d caps=0x%X>" % (
            self.dialect, self.security_mode, self.capabilities)


def parse_negotiate_contexts(msg, offset: int, count: int) -> list:
    """List of (type, data-bytes) read from ``offset`` (from the header)."""
    out = []
    mv = memoryview(msg)
    for _ in range(count):
        offset = align8(offset)
        if offset < H or offset + 8 > len(mv):
            raise ProtocolError("negotiate context outside the message")
        ctype, dlen, _r = _NEG_CTX.unpack_from(mv, offset)
        if offset + 8 + dlen > len(mv):
            raise ProtocolError("negotiate context 0x%04X data overruns the message" % ctype)
        out.append((ctype, bytes(mv[offset + 8:offset + 8 + dlen])))
        offset += 8 + dlen
    return out


def parse_negotiate_response(msg) -> NegotiateResponse:
    _check(msg, _NEG_RSP.size, 65, "NEGOTIATE")
    (_s, mode, dialect, ctx_count, guid, caps, max_trans, max_read, max_write, systime,
     starttime, sec_off, sec_len, ctx_off) = _NEG_RSP.unpack_from(msg, H)
    r = NegotiateResponse()
    r.security_mode = mode
    r.dialect = dialect
    r.server_guid = bytes(guid)
    r.capabilities = caps
    r.max_transact_size = max_trans
    r.max_read_size = max_read
    r.max_write_size = max_write
    r.system_time = systime
    r.server_start_time = starttime
    r.security_buffer = bytes(_slice(msg, sec_off, sec_len, "NEGOTIATE security"))
    r.contexts = []
    r.preauth_hash_id = None
    r.preauth_salt = b""
    r.cipher_id = None
    r.signing_algorithm_id = None
    if dialect == C.DIALECT_3_1_1:
        r.contexts = parse_negotiate_contexts(msg, ctx_off, ctx_count)
        for ctype, data in r.contexts:
            try:
                if ctype == C.PREAUTH_INTEGRITY_CAPABILITIES:
                    nh, nsalt = struct.unpack_from("<HH", data)
                    if nh != 1:
                        raise ProtocolError("server selected %d preauth hash algorithms" % nh)
                    r.preauth_hash_id = struct.unpack_from("<H", data, 4)[0]
                    r.preauth_salt = data[6:6 + nsalt]
                elif ctype == C.ENCRYPTION_CAPABILITIES:
                    n = struct.unpack_from("<H", data)[0]
                    if n != 1:
                        raise ProtocolError("server selected %d ciphers" % n)
                    r.cipher_id = struct.unpack_from("<H", data, 2)[0]
                elif ctype == C.SIGNING_CAPABILITIES:
                    n = struct.unpack_from("<H", data)[0]
                    if n != 1:
                        raise ProtocolError("server selected %d signing algorithms" % n)
                    r.signing_algorithm_id = struct.unpack_from("<H", data, 2)[0]
            except struct.error:
                raise ProtocolError("truncated negotiate context 0x%04X" % ctype) from None
    return r


# --- SESSION_SETUP (2.2.5, 2.2.6) -----------------------------------------------------
def session_setup_request(token: bytes, security_mode: int, capabilities: int = 0,
                          flags: int = 0, previous_session_id: int = 0) -> bytes:
    return _SESS_REQ.pack(25, flags, security_mode, capabilities, 0, H + _SESS_REQ.size,
                          len(token), previous_session_id) + bytes(token)


def parse_session_setup_response(msg):
    """(session_flags, security_token_bytes)."""
    _check(msg, _SESS_RSP.size, 9, "SESSION_SETUP")
    _s, flags, off, length = _SESS_RSP.unpack_from(msg, H)
    return flags, bytes(_slice(msg, off, length, "SESSION_SETUP security"))


# --- simple 4-byte bodies (LOGOFF, TREE_DISCONNECT, ECHO, CANCEL) ---------------------
SIMPLE_BODY = _SIMPLE.pack(4, 0)


def parse_simple_response(msg, what: str, structure_size: int = 4) -> None:
    _check(msg, 2, structure_size, what)


# --- TREE_CONNECT (2.2.9, 2.2.10) -----------------------------------------------------
def tree_connect_request(path: str, flags: int = 0) -> bytes:
    p = path.encode("utf-16-le")
    return _TREE_REQ.pack(9, flags, H + _TREE_REQ.size, len(p)) + p


def parse_tree_connect_response(msg):
    """(share_type, share_flags, capabilities, maximal_access)."""
    _check(msg, _TREE_RSP.size, 16, "TREE_CONNECT")
    _s, stype, _r, sflags, caps, access = _TREE_RSP.unpack_from(msg, H)
    return stype, sflags, caps, access


# --- CREATE (2.2.13, 2.2.14) ----------------------------------------------------------
def encode_create_contexts(contexts) -> bytes:
    """``contexts``: list of (name bytes e.g. b'MxAc', data bytes) -> chained blob."""
    out = bytearray()
    n = len(contexts)
    for i, (name, data) in enumerate(contexts):
        name = bytes(name)
        data = bytes(data)
        data_off = align8(16 + len(name)) if data else 0
        length = (data_off + len(data)) if data else 16 + len(name)
        nxt = align8(length) if i < n - 1 else 0
        out += _CREATE_CTX.pack(nxt, 16, len(name), 0, data_off, len(data))
        out += name
        if data:
            out += bytes(data_off - 16 - len(name)) + data
        if nxt:
            out += bytes(nxt - length)
    return bytes(out)


def parse_create_contexts(msg, offset: int, length: int) -> list:
    """List of (name bytes, data bytes) from a CREATE response's context chain."""
    blob = _slice(msg, offset, length, "CREATE contexts")
    out = []
    pos = 0
    while length:
        if pos + 16 > length:
            raise ProtocolError("truncated create context")
        nxt, noff, nlen, _r, doff, dlen = _CREATE_CTX.unpack_from(blob, pos)
        end = length if nxt == 0 else pos + nxt
        if (nxt and (nxt < 16 or nxt & 7)) or end > length or pos + noff + nlen > end \
                or (dlen and pos + doff + dlen > end):
            raise ProtocolError("malformed create context")
        name = bytes(blob[pos + noff:pos + noff + nlen])
        data = bytes(blob[pos + doff:pos + doff + dlen]) if dlen else b""
        out.append((name, data))
        if nxt == 0:
            break
        pos += nxt
    return out


def create_request(path: str, *, desired_access: int, file_attributes: int = 0,
                   share_access: int = 7, create_disposition: int = 1, create_options: int = 0,
                   oplock_level: int = C.OPLOCK_LEVEL_NONE,
                   impersonation: int = C.IMPERSONATION_IMPERSONATION, contexts=()) -> bytes:
    name = path.encode("utf-16-le")
    name_off = H + _CREATE_REQ.size  # 120
    if contexts:
        blob = encode_create_contexts(contexts)
        ctx_off = align8(name_off + len(name))
        pad = bytes(ctx_off - name_off - len(name))
    else:
        blob, ctx_off, pad = b"", 0, b""
    fixed = _CREATE_REQ.pack(57, 0, oplock_level, impersonation, 0, 0, desired_access,
                             file_attributes, share_access, create_disposition, create_options,
                             name_off, len(name), ctx_off, len(blob))
    body = fixed + name + pad + blob
    if not name and not blob:
        body += b"\0"  # the variable part is never empty
    return body


class CreateResponse:
    __slots__ = ("oplock_level", "flags", "create_action", "creation_time", "last_access_time",
                 "last_write_time", "change_time", "allocation_size", "end_of_file",
                 "file_attributes", "file_id", "contexts")
    oplock_level: int
    flags: int
    create_action: int
    creation_time: int
    last_access_time: int
    last_write_time: int
    change_time: int
    allocation_size: int
    end_of_file: int
    file_attributes: int
    file_id: bytes
    contexts: list[tuple[bytes, bytes]]


def parse_create_response(msg) -> CreateResponse:
    _check(msg, _CREATE_RSP.size, 89, "CREATE")
    r = CreateResponse()
    (_s, r.oplock_level, r.flags, r.create_action, r.creation_time, r.last_access_time,
     r.last_write_time, r.change_time, r.allocation_size, r.end_of_file, r.file_attributes,
     _r2, fid, ctx_off, ctx_len) = _CREATE_RSP.unpack_from(msg, H)
    r.file_id = bytes(fid)
    r.contexts = parse_create_contexts(msg, ctx_off, ctx_len) if ctx_len else []
    return r


# --- CLOSE (2.2.15, 2.2.16), FLUSH (2.2.17, 2.2.18) -----------------------------------
def close_request(file_id: bytes, flags: int = 0) -> bytes:
    return _CLOSE_REQ.pack(24, flags, 0, file_id)


def parse_close_response(msg):
    """(flags, creation, last_access, last_write, change, allocation, eof, attributes)."""
    _check(msg, _CLOSE_RSP.size, 60, "CLOSE")
    t = _CLOSE_RSP.unpack_from(msg, H)
    return (t[1],) + t[3:]


def flush_request(file_id: bytes) -> bytes:
    return _CLOSE_REQ.pack(24, 0, 0, file_id)


# --- READ (2.2.19, 2.2.20) ------------------------------------------------------------
def read_request(file_id: bytes, offset: int, length: int, minimum: int = 0,
                 flags: int = 0) -> bytes:
    return READ_REQ.pack(49, 0x50, flags, length, offset, file_id, minimum, 0, 0, 0, 0, 0)


def parse_read_response(msg):
    """(data memoryview, data_remaining)."""
    if len(msg) < H + READ_RSP.size:
        raise ProtocolError("READ response too short (%d bytes)" % len(msg))
    size, off, _r, length, remaining, _r2 = READ_RSP.unpack_from(msg, H)
    if size != 17:
        raise ProtocolError("READ response has StructureSize %d" % size)
    return _slice(msg, off, length, "READ data"), remaining


# --- WRITE (2.2.21, 2.2.22) -----------------------------------------------------------
def write_request(file_id: bytes, offset: int, length: int, flags: int = 0) -> bytes:
    """The 48-byte fixed part; the ``length`` data bytes follow it on the wire."""
    return WRITE_REQ.pack(49, WRITE_DATA_OFFSET, length, offset, file_id, 0, 0, 0, 0, flags)


def parse_write_response(msg) -> int:
    """Count of bytes written."""
    if len(msg) < H + WRITE_RSP.size:
        raise ProtocolError("WRITE response too short (%d bytes)" % len(msg))
    size, _r, count, _rem, _o, _l = WRITE_RSP.unpack_from(msg, H)
    if size != 17:
        raise ProtocolError("WRITE response has StructureSize %d" % size)
    return count


# --- IOCTL (2.2.31, 2.2.32) -----------------------------------------------------------
def ioctl_request(file_id: bytes, ctl_code: int, input_data: bytes, max_output: int,
                  flags: int = C.IOCTL_IS_FSCTL, max_input: int = 0) -> bytes:
    data = bytes(input_data)
    in_off = H + _IOCTL_REQ.size if data else 0
    fixed = _IOCTL_REQ.pack(57, 0, ctl_code, file_id, in_off, len(data), max_input, 0, 0,
                            max_output, flags, 0)
    return fixed + (data or b"\0")


class IoctlResponse(NamedTuple):
    ctl_code: int
    file_id: bytes
    output: memoryview


def parse_ioctl_response(msg) -> IoctlResponse:
    _check(msg, _IOCTL_RSP.size, 49, "IOCTL")
    _s, _r, code, fid, _ioff, _icount, ooff, ocount, _f, _r2 = _IOCTL_RSP.unpack_from(msg, H)
    return IoctlResponse(code, bytes(fid), _slice(msg, ooff, ocount, "IOCTL output"))


# --- VALIDATE_NEGOTIATE_INFO (2.2.31.4, 2.2.32.6) ---------------------------------------
_VALIDATE_NEG = struct.Struct("<I16sHH")


class ValidateNegotiateInfo(NamedTuple):
    capabilities: int
    guid: bytes
    security_mode: int
    dialect: int


def validate_negotiate_request(capabilities: int, client_guid: bytes, security_mode: int,
                               dialects) -> bytes:
    """The FSCTL input: what the client sent in its NEGOTIATE request."""
    return (_VALIDATE_NEG.pack(capabilities, client_guid, security_mode, len(dialects))
            + struct.pack("<%dH" % len(dialects), *dialects))


def parse_validate_negotiate_response(out) -> ValidateNegotiateInfo:
    """The FSCTL output: what the server sent in its NEGOTIATE response."""
    if len(out) < _VALIDATE_NEG.size:
        raise ProtocolError("VALIDATE_NEGOTIATE_INFO output of %d bytes (24 expected)" % len(out))
    caps, guid, mode, dialect = _VALIDATE_NEG.unpack_from(out)
    return ValidateNegotiateInfo(caps, bytes(guid), mode, dialect)


# --- QUERY_DIRECTORY (2.2.33, 2.2.34) -------------------------------------------------
def query_directory_request(file_id: bytes, pattern: str, info_class: int, flags: int,
                            output_length: int, file_index: int = 0) -> bytes:
    name = pattern.encode("utf-16-le")
    return _QDIR_REQ.pack(33, info_class, flags, file_index, file_id, H + _QDIR_REQ.size,
                          len(name), output_length) + (name or b"\0")


def parse_query_directory_response(msg):
    """The output buffer (memoryview)."""
    _check(msg, _QDIR_RSP.size, 9, "QUERY_DIRECTORY")
    _s, off, length = _QDIR_RSP.unpack_from(msg, H)
    return _slice(msg, off, length, "QUERY_DIRECTORY output")


# --- QUERY_INFO (2.2.37, 2.2.38) ------------------------------------------------------
def query_info_request(file_id: bytes, info_type: int, info_class: int, output_length: int,
                       additional_information: int = 0, flags: int = 0,
                       input_data: bytes = b"") -> bytes:
    data = bytes(input_data)
    in_off = H + _QINFO_REQ.size if data else 0
    return _QINFO_REQ.pack(41, info_type, info_class, output_length, in_off, 0, len(data),
                           additional_information, flags, file_id) + (data or b"\0")


def parse_query_info_response(msg):
    _check(msg, _QDIR_RSP.size, 9, "QUERY_INFO")
    _s, off, length = _QDIR_RSP.unpack_from(msg, H)
    return _slice(msg, off, length, "QUERY_INFO output")


# --- SET_INFO (2.2.39, 2.2.40) --------------------------------------------------------
def set_info_request(file_id: bytes, info_type: int, info_class: int, data: bytes,
                     additional_information: int = 0) -> bytes:
    data = bytes(data)
    return _SINFO_REQ.pack(33, info_type, info_class, len(data), H + _SINFO_REQ.size, 0,
                           additional_information, file_id) + (data or b"\0")
