"""SMB1 transactions: SMB_COM_TRANSACTION, SMB_COM_TRANSACTION2, SMB_COM_NT_TRANSACT.

Request layout ([MS-CIFS] 2.2.4.33.1, 2.2.4.46.1, 2.2.4.62.1): the parameter words, then
Name (TRANSACTION: the pipe name; TRANSACTION2: one null byte), Pad1, Parameters, Pad2, Data,
with parameters and data aligned to 4 bytes from the header start. Responses
(2.2.4.33.2, 2.2.4.46.2, 2.2.4.62.2) may come in several parts, each placing ParameterCount /
DataCount bytes at ParameterDisplacement / DataDisplacement; :class:`Assembler` puts them
back together and validates every offset.

Subcommands, CIFS section 4: TRANS2_QUERY_FS_INFORMATION 4.1.6, TRANS2_QUERY_PATH_INFORMATION
4.2.14, TRANS2_QUERY_FILE_INFORMATION 4.2.15, TRANS2_SET_FILE_INFORMATION 4.2.17,
TRANS2_CREATE_DIRECTORY 4.3.1, TRANS2_FIND_FIRST2 4.3.4 (SMB_FIND_FILE_BOTH_DIRECTORY_INFO
4.3.4.6), TRANS2_FIND_NEXT2 4.3.5, NT_TRANSACT_IOCTL 4.5.1, NT_TRANSACT_QUERY_SECURITY_DESC
4.5.2, and TransactNmPipe ([MS-CIFS] 2.2.5.6) on SMB_COM_TRANSACTION. Information levels
above 0x3E8 are SMB_INFO_PASSTHROUGH + [MS-FSCC] class ([MS-SMB] 2.2.2.3.5).
"""

from __future__ import annotations

import struct

from smb.errors import ProtocolError
from smb.fscc import SMB_INFO_PASSTHROUGH  # noqa: F401  (T.SMB_INFO_PASSTHROUGH)
from smb.smb1 import header as H

TRANS_REQ = struct.Struct("<HHHHBBHIHHHHHBB")        # 14 words + setup
NT_TRANS_REQ = struct.Struct("<BHIIIIIIIIBH")        # 19 words + setup
TRANS_RESP = struct.Struct("<HHHHHHHHHBB")           # 10 words + setup
NT_TRANS_RESP = struct.Struct("<3sIIIIIIIIB")        # 18 words + setup

TRANS2_FIND_FIRST2 = 0x0001
TRANS2_FIND_NEXT2 = 0x0002
TRANS2_QUERY_FS_INFORMATION = 0x0003
TRANS2_QUERY_PATH_INFORMATION = 0x0005
TRANS2_SET_PATH_INFORMATION = 0x0006
TRANS2_QUERY_FILE_INFORMATION = 0x0007
TRANS2_SET_FILE_INFORMATION = 0x0008
TRANS2_CREATE_DIRECTORY = 0x000D

NT_TRANSACT_CREATE = 0x0001
NT_TRANSACT_IOCTL = 0x0002
NT_TRANSACT_SET_SECURITY_DESC = 0x0003
NT_TRANSACT_QUERY_SECURITY_DESC = 0x0006

TRANS_TRANSACT_NMPIPE = 0x0026

SMB_FIND_FILE_BOTH_DIRECTORY_INFO = 0x0104
SMB_FIND_FILE_ID_FULL_DIRECTORY_INFO = 0x0105  # [MS-SMB] 2.2.8.1.2
SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO = 0x0106  # [MS-SMB] 2.2.8.1.3

# FIND_FIRST2 / FIND_NEXT2 flags
SMB_FIND_CLOSE_AFTER_REQUEST = 0x0001
SMB_FIND_CLOSE_AT_EOS = 0x0002
SMB_FIND_RETURN_RESUME_KEYS = 0x0004
SMB_FIND_CONTINUE_FROM_LAST = 0x0008
SMB_FIND_WITH_BACKUP_INTENT = 0x0010

_FIND_FIRST = struct.Struct("<HHHHI")
_FIND_FIRST_RESP = struct.Struct("<HHHHH")
_FIND_NEXT = struct.Struct("<HHHIH")
_FIND_NEXT_RESP = struct.Struct("<HHHH")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_HH = struct.Struct("<HH")
_HHH = struct.Struct("<HHH")
_HI = struct.Struct("<HI")
_HHI = struct.Struct("<HHI")
_IHBB = struct.Struct("<IHBB")
_U8 = struct.Struct("<B")


def _layout(nwords: int, name: bytes, params: bytes, data: bytes):
    """(bytes, param_offset, data_offset) of the SMB_Data of a transaction request."""
    pos = H.data_offset(nwords) + len(name)
    pad1 = (-pos) & 3
    poff = pos + pad1
    pos = poff + len(params)
    pad2 = (-pos) & 3 if data else 0
    doff = pos + pad2
    out = b"".join((name, b"\0" * pad1, params, b"\0" * pad2, data))
    return out, (poff if params else 0), (doff if data else 0)


def transaction(setup: bytes, params: bytes, data: bytes, *, max_param: int, max_data: int,
                name: str = "\\PIPE\\", max_setup: int = 0, flags: int = 0, timeout: int = 0,
                unicode: bool = True):
    """SMB_COM_TRANSACTION request (all parameters and data in the primary request)."""
    nwords = 14 + len(setup) // 2
    name_b = H.encode_string(name, unicode, H.data_offset(nwords))
    body, poff, doff = _layout(nwords, name_b, params, data)
    words = TRANS_REQ.pack(len(params), len(data), max_param, max_data, max_setup, 0, flags,
                           timeout, 0, len(params), poff, len(data), doff, len(setup) // 2, 0) + setup
    return (H.SMB_COM_TRANSACTION, words, body, None)


def trans2(subcommand: int, params: bytes, data: bytes = b"", *, max_param: int, max_data: int,
           max_setup: int = 0, flags: int = 0, timeout: int = 0):
    """SMB_COM_TRANSACTION2 request with one setup word (the subcommand)."""
    nwords = 15
    body, poff, doff = _layout(nwords, b"\0", params, data)
    words = TRANS_REQ.pack(len(params), len(data), max_param, max_data, max_setup, 0, flags,
                           timeout, 0, len(params), poff, len(data), doff, 1, 0) + _U16.pack(subcommand)
    return (H.SMB_COM_TRANSACTION2, words, body, None)


def nt_transact(function: int, setup: bytes, params: bytes, data: bytes = b"", *, max_param: int,
                max_data: int, max_setup: int = 0):
    """SMB_COM_NT_TRANSACT request."""
    nwords = 19 + len(setup) // 2
    body, poff, doff = _layout(nwords, b"", params, data)
    words = NT_TRANS_REQ.pack(max_setup, 0, len(params), len(data), max_param, max_data,
                              len(params), poff, len(data), doff, len(setup) // 2, function) + setup
    return (H.SMB_COM_NT_TRANSACT, words, body, None)


class Assembler:
    """Reassembles the (possibly multi-part) response of one transaction.

    ``feed(response)`` for every response with the transaction's MID; it returns True once
    all parameter and data bytes announced by the totals have arrived. Then ``setup``,
    ``params`` and ``data`` hold the result (bytes / bytearray)."""

    __slots__ = ("nt", "max_param", "max_data", "total_param", "total_data", "got_param",
                 "got_data", "params", "data", "setup", "parts")

    def __init__(self, nt: bool, max_param: int, max_data: int):
        self.nt = nt
        self.max_param = max_param
        self.max_data = max_data
        self.total_param: int | None = None
        self.total_data: int | None = None
        self.got_param = 0
        self.got_data = 0
        self.params = bytearray()
        self.data = bytearray()
        self.setup = b""
        self.parts = 0

    def feed(self, resp: H.Response) -> bool:
        words = resp.words
        raw = resp.raw
        try:
            if self.nt:
                (_r, tpc, tdc, pc, po, pd, dc, do, dd,
                 sc) = NT_TRANS_RESP.unpack_from(words, 0)
                fixed = NT_TRANS_RESP.size
            else:
                (tpc, tdc, _r, pc, po, pd, dc, do, dd, sc,
                 _r2) = TRANS_RESP.unpack_from(words, 0)
                fixed = TRANS_RESP.size
        except struct.error:
            raise ProtocolError("transaction response with %d parameter words" % (len(words) // 2)) from None
        if fixed + 2 * sc > len(words):
            raise ProtocolError("transaction response SetupCount %d exceeds its words" % sc)
        if self.total_param is None:
            if tpc > self.max_param or tdc > self.max_data:
                raise ProtocolError("transaction response totals (%d/%d) exceed the requested maxima"
                                    % (tpc, tdc))
            self.total_param, self.total_data = tpc, tdc
            self.params = bytearray(tpc)
            self.data = bytearray(tdc)
            self.setup = bytes(words[fixed:fixed + 2 * sc])
        else:
            # totals may shrink in later parts, never grow
            if tpc > self.total_param or tdc > self.total_data:
                raise ProtocolError("transaction response totals grew between parts")
            self.total_param, self.total_data = tpc, tdc
        n = len(raw)
        if pc:
            if po < H.HEADER_SIZE or po + pc > n or pd + pc > self.total_param:
                raise ProtocolError("transaction parameters (offset %d, count %d, displacement %d) "
                                    "out of bounds" % (po, pc, pd))
            self.params[pd:pd + pc] = raw[po:po + pc]
            self.got_param += pc
        if dc:
            if do < H.HEADER_SIZE or do + dc > n or dd + dc > self.total_data:
                raise ProtocolError("transaction data (offset %d, count %d, displacement %d) "
                                    "out of bounds" % (do, dc, dd))
            self.data[dd:dd + dc] = raw[do:do + dc]
            self.got_data += dc
        self.parts += 1
        if self.parts > 65536:
            raise ProtocolError("too many transaction response parts")
        done = self.got_param >= self.total_param and self.got_data >= self.total_data
        if done:
            del self.params[self.total_param:]
            del self.data[self.total_data:]
        return done


# --- TRANS2 subcommand parameter blocks ----------------------------------------------------

def _name(text: str, unicode: bool) -> bytes:
    # every name below sits at an even offset from a 4-aligned parameter block
    return H.encode_string(text, unicode, 0)


def find_first2_params(pattern: str, *, search_attributes: int = 0x16, search_count: int = 1024,
                       flags: int = SMB_FIND_CLOSE_AT_EOS,
                       level: int = SMB_FIND_FILE_BOTH_DIRECTORY_INFO, storage_type: int = 0,
                       unicode: bool = True) -> bytes:
    return _FIND_FIRST.pack(search_attributes, search_count, flags, level, storage_type) + _name(pattern, unicode)


def find_next2_params(sid: int, resume_key: int, resume_name: str, *, search_count: int = 1024,
                      flags: int = SMB_FIND_CLOSE_AT_EOS | SMB_FIND_CONTINUE_FROM_LAST,
                      level: int = SMB_FIND_FILE_BOTH_DIRECTORY_INFO, unicode: bool = True) -> bytes:
    return _FIND_NEXT.pack(sid, search_count, level, resume_key, flags) + _name(resume_name, unicode)


def parse_find_first2(params) -> tuple:
    """``(sid, search_count, end_of_search, ea_error_offset, last_name_offset)``."""
    if len(params) < _FIND_FIRST_RESP.size:
        raise ProtocolError("FIND_FIRST2 response parameters too short (%d)" % len(params))
    return _FIND_FIRST_RESP.unpack_from(params, 0)


def parse_find_next2(params) -> tuple:
    """``(search_count, end_of_search, ea_error_offset, last_name_offset)``."""
    if len(params) < _FIND_NEXT_RESP.size:
        raise ProtocolError("FIND_NEXT2 response parameters too short (%d)" % len(params))
    return _FIND_NEXT_RESP.unpack_from(params, 0)


def query_path_info_params(level: int, path: str, *, unicode: bool = True) -> bytes:
    return _HI.pack(level, 0) + _name(path, unicode)


def query_file_info_params(fid: int, level: int) -> bytes:
    return _HH.pack(fid, level)


def set_file_info_params(fid: int, level: int) -> bytes:
    return _HHH.pack(fid, level, 0)


def set_path_info_params(level: int, path: str, *, unicode: bool = True) -> bytes:
    return _HI.pack(level, 0) + _name(path, unicode)


def query_fs_info_params(level: int) -> bytes:
    return _U16.pack(level)


def create_directory_params(path: str, *, unicode: bool = True) -> bytes:
    return _U32.pack(0) + _name(path, unicode)


# --- NT_TRANSACT subcommands ----------------------------------------------------------------

def ioctl_setup(function_code: int, fid: int, is_fsctl: bool = True, is_flags: int = 0) -> bytes:
    return _IHBB.pack(function_code, fid, 1 if is_fsctl else 0, is_flags)


def query_security_params(fid: int, security_information: int) -> bytes:
    return _HHI.pack(fid, 0, security_information)


def transact_nmpipe_setup(fid: int) -> bytes:
    return _HH.pack(TRANS_TRANSACT_NMPIPE, fid)


# --- SMB_FIND_FILE_BOTH_DIRECTORY_INFO chains ---------------------------------------------

BOTH_DIR_FIXED = 94
ID_BOTH_DIR_FIXED = 104  # + Reserved2 and FileId
_ENTRY_HEAD = struct.Struct("<II")
_NAME_LEN_AT = 60


def terminate_entries(buf: bytearray, count: int, unicode: bool = True, fixed: int = BOTH_DIR_FIXED):
    """Validate the NextEntryOffset chain of ``count`` entries at the start of ``buf``.

    Sets the last entry's NextEntryOffset to 0 (in place) and returns
    ``(end, last_file_index, last_name)`` where ``end`` is the end of the last entry.
    Raises ProtocolError for an entry running past the buffer or a chain that loops."""
    n = len(buf)
    pos = 0
    last = None
    seen = 0
    while seen < count:
        if pos + fixed > n:
            raise ProtocolError("directory entry at %d truncated (%d bytes)" % (pos, n))
        nxt, index = _ENTRY_HEAD.unpack_from(buf, pos)
        name_len = _U32.unpack_from(buf, pos + _NAME_LEN_AT)[0]
        end = pos + fixed + name_len
        if end > n:
            raise ProtocolError("directory entry name runs past the buffer")
        last = (pos, index, end)
        seen += 1
        if nxt == 0:
            break
        if nxt < fixed or pos + nxt >= n:
            if seen == count:
                break
            raise ProtocolError("bad NextEntryOffset %d at %d" % (nxt, pos))
        pos += nxt
    if last is None:
        return 0, 0, ""
    pos, index, end = last
    _U32.pack_into(buf, pos, 0)
    raw = bytes(buf[pos + fixed:end])
    name = raw.decode("utf-16-le", "replace") if unicode else raw.decode("latin-1")
    return end, index, name
