"""File system control codecs shared by the SMB1 and SMB2/3 engines.

Implements:

* [MS-DTYP] 2.3.3 FILETIME (100 ns intervals since 1601-01-01 UTC).
* [MS-FSCC] 2.4 file information classes: directory enumeration (2.4.10 FileDirectory,
  2.4.14 FileFullDirectory, 2.4.8 FileBothDirectory, 2.4.17 FileIdBothDirectory,
  2.4.18 FileIdFullDirectory, 2.4.28 FileNames), queries (2.4.7 Basic, 2.4.41 Standard,
  2.4.22 Internal, 2.4.12 Ea, 2.4.1 Access, 2.4.35 Position, 2.4.26 Mode, 2.4.3 Alignment,
  2.4.27 Name, 2.4.2 All, 2.4.29 NetworkOpen, 2.4.6 AttributeTag, 2.4.43 Stream) and set
  buffers (2.4.7 Basic, 2.4.11 Disposition, 2.4.13 EndOfFile, 2.4.4 Allocation,
  2.4.37 Rename).
* [MS-FSCC] 2.5 file system information: 2.5.9 FsVolume, 2.5.8 FsSize, 2.5.4 FsFullSize,
  2.5.1 FsAttribute, 2.5.10 FsDevice.
* [MS-FSCC] 2.3 FSCTL codes; 2.3.31 FSCTL_PIPE_WAIT request.
* [MS-SMB2] 2.2.13 access masks, share access, create dispositions and options;
  2.2.32.2 SRV_SNAPSHOT_ARRAY (FSCTL_SRV_ENUMERATE_SNAPSHOTS output).

Pure functions: no sockets. Malformed input raises :class:`smb.errors.ProtocolError`.
The directory parsers are a hot path: one ``unpack_from`` per entry over a memoryview.
"""

from __future__ import annotations

import re
import struct
from collections import namedtuple
from datetime import datetime

from smb.errors import ProtocolError

# ----------------------------------------------------------------------------------------
# [MS-DTYP] 2.3.3 FILETIME
# ----------------------------------------------------------------------------------------
#: FILETIME of 1970-01-01 00:00:00 UTC
EPOCH_AS_FILETIME = 116444736000000000
_HUNDREDS_OF_NS = 10000000


def filetime_to_epoch(ft: int) -> float:
    """FILETIME (100 ns units since 1601) -> seconds since the Unix epoch (may be negative)."""
    return (ft - EPOCH_AS_FILETIME) / _HUNDREDS_OF_NS


def epoch_to_filetime(t: float) -> int:
    """Seconds since the Unix epoch -> FILETIME (100 ns units since 1601)."""
    return int(round(t * _HUNDREDS_OF_NS)) + EPOCH_AS_FILETIME


# ----------------------------------------------------------------------------------------
# [MS-FSCC] 2.4 file information classes
# ----------------------------------------------------------------------------------------
FileDirectoryInformation = 1
FileFullDirectoryInformation = 2
FileBothDirectoryInformation = 3
FileBasicInformation = 4
FileStandardInformation = 5
FileInternalInformation = 6
FileEaInformation = 7
FileAccessInformation = 8
FileNameInformation = 9
FileRenameInformation = 10
FileLinkInformation = 11
FileNamesInformation = 12
FileDispositionInformation = 13
FilePositionInformation = 14
FileFullEaInformation = 15
FileModeInformation = 16
FileAlignmentInformation = 17
FileAllInformation = 18
FileAllocationInformation = 19
FileEndOfFileInformation = 20
FileAlternateNameInformation = 21
FileStreamInformation = 22
FilePipeInformation = 23
FilePipeLocalInformation = 24
FilePipeRemoteInformation = 25
FileMailslotQueryInformation = 26
FileMailslotSetInformation = 27
FileCompressionInformation = 28
FileObjectIdInformation = 29
FileMoveClusterInformation = 31
FileQuotaInformation = 32
FileReparsePointInformation = 33
FileNetworkOpenInformation = 34
FileAttributeTagInformation = 35
FileTrackingInformation = 36
FileIdBothDirectoryInformation = 37
FileIdFullDirectoryInformation = 38
FileValidDataLengthInformation = 39
FileShortNameInformation = 40
FileSfioReserveInformation = 44
FileSfioVolumeInformation = 45
FileHardLinkInformation = 46
FileNormalizedNameInformation = 48
FileIdGlobalTxDirectoryInformation = 50
FileStandardLinkInformation = 54

# [MS-FSCC] 2.5 file system information classes
FileFsVolumeInformation = 1
FileFsLabelInformation = 2
FileFsSizeInformation = 3
FileFsDeviceInformation = 4
FileFsAttributeInformation = 5
FileFsControlInformation = 6
FileFsFullSizeInformation = 7
FileFsObjectIdInformation = 8
FileFsDriverPathInformation = 9
FileFsVolumeFlagsInformation = 10
FileFsSectorSizeInformation = 11

# SMB1 passthrough: information level = SMB_INFO_PASSTHROUGH + class ([MS-SMB] 2.2.2.3.5)
SMB_INFO_PASSTHROUGH = 0x03E8

# ----------------------------------------------------------------------------------------
# FSCTL / IOCTL codes ([MS-FSCC] 2.3, [MS-SMB2] 2.2.31)
# ----------------------------------------------------------------------------------------
FSCTL_DFS_GET_REFERRALS = 0x00060194
FSCTL_DFS_GET_REFERRALS_EX = 0x000601B0
FSCTL_PIPE_PEEK = 0x0011400C
FSCTL_PIPE_WAIT = 0x00110018
FSCTL_PIPE_TRANSCEIVE = 0x0011C017
FSCTL_SRV_COPYCHUNK = 0x001440F2
FSCTL_SRV_COPYCHUNK_WRITE = 0x001480F2
FSCTL_SRV_ENUMERATE_SNAPSHOTS = 0x00144064
FSCTL_SRV_REQUEST_RESUME_KEY = 0x00140078
FSCTL_SRV_READ_HASH = 0x001441BB
FSCTL_LMR_REQUEST_RESILIENCY = 0x001401D4
FSCTL_QUERY_NETWORK_INTERFACE_INFO = 0x001401FC
FSCTL_VALIDATE_NEGOTIATE_INFO = 0x00140204
FSCTL_GET_REPARSE_POINT = 0x000900A8
FSCTL_SET_REPARSE_POINT = 0x000900A4
FSCTL_SET_SPARSE = 0x000900C4
FSCTL_SET_ZERO_DATA = 0x000980C8
FSCTL_QUERY_ALLOCATED_RANGES = 0x000940CF

# ----------------------------------------------------------------------------------------
# [MS-SMB2] 2.2.13.1 access masks
# ----------------------------------------------------------------------------------------
FILE_READ_DATA = 0x00000001
FILE_LIST_DIRECTORY = 0x00000001
FILE_WRITE_DATA = 0x00000002
FILE_ADD_FILE = 0x00000002
FILE_APPEND_DATA = 0x00000004
FILE_ADD_SUBDIRECTORY = 0x00000004
FILE_READ_EA = 0x00000008
FILE_WRITE_EA = 0x00000010
FILE_EXECUTE = 0x00000020
FILE_TRAVERSE = 0x00000020
FILE_DELETE_CHILD = 0x00000040
FILE_READ_ATTRIBUTES = 0x00000080
FILE_WRITE_ATTRIBUTES = 0x00000100
DELETE = 0x00010000
READ_CONTROL = 0x00020000
WRITE_DAC = 0x00040000
WRITE_OWNER = 0x00080000
SYNCHRONIZE = 0x00100000
ACCESS_SYSTEM_SECURITY = 0x01000000
MAXIMUM_ALLOWED = 0x02000000
GENERIC_ALL = 0x10000000
GENERIC_EXECUTE = 0x20000000
GENERIC_WRITE = 0x40000000
GENERIC_READ = 0x80000000

# share access ([MS-SMB2] 2.2.13 ShareAccess)
FILE_SHARE_READ = 0x00000001
FILE_SHARE_WRITE = 0x00000002
FILE_SHARE_DELETE = 0x00000004

# create dispositions
FILE_SUPERSEDE = 0
FILE_OPEN = 1
FILE_CREATE = 2
FILE_OPEN_IF = 3
FILE_OVERWRITE = 4
FILE_OVERWRITE_IF = 5

# create actions ([MS-SMB2] 2.2.14 CreateAction)
FILE_SUPERSEDED = 0
FILE_OPENED = 1
FILE_CREATED = 2
FILE_OVERWRITTEN = 3

# create options
FILE_DIRECTORY_FILE = 0x00000001
FILE_WRITE_THROUGH = 0x00000002
FILE_SEQUENTIAL_ONLY = 0x00000004
FILE_NO_INTERMEDIATE_BUFFERING = 0x00000008
FILE_SYNCHRONOUS_IO_ALERT = 0x00000010
FILE_SYNCHRONOUS_IO_NONALERT = 0x00000020
FILE_NON_DIRECTORY_FILE = 0x00000040
FILE_COMPLETE_IF_OPLOCKED = 0x00000100
FILE_NO_EA_KNOWLEDGE = 0x00000200
FILE_OPEN_REMOTE_INSTANCE = 0x00000400
FILE_RANDOM_ACCESS = 0x00000800
FILE_DELETE_ON_CLOSE = 0x00001000
FILE_OPEN_BY_FILE_ID = 0x00002000
FILE_OPEN_FOR_BACKUP_INTENT = 0x00004000
FILE_NO_COMPRESSION = 0x00008000
FILE_OPEN_REQUIRING_OPLOCK = 0x00010000
FILE_DISALLOW_EXCLUSIVE = 0x00020000
FILE_RESERVE_OPFILTER = 0x00100000
FILE_OPEN_REPARSE_POINT = 0x00200000
FILE_OPEN_NO_RECALL = 0x00400000
FILE_OPEN_FOR_FREE_SPACE_QUERY = 0x00800000

# file attributes ([MS-FSCC] 2.6), the ones the codecs themselves look at
FILE_ATTRIBUTE_READONLY = 0x00000001
FILE_ATTRIBUTE_HIDDEN = 0x00000002
FILE_ATTRIBUTE_SYSTEM = 0x00000004
FILE_ATTRIBUTE_DIRECTORY = 0x00000010
FILE_ATTRIBUTE_ARCHIVE = 0x00000020
FILE_ATTRIBUTE_NORMAL = 0x00000080
FILE_ATTRIBUTE_REPARSE_POINT = 0x00000400

# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------


def _utf16(mv, start, length, what):
    if length & 1:
        raise ProtocolError("%s: odd UTF-16 name length %d" % (what, length))
    try:
        return bytes(mv[start:start + length]).decode("utf-16-le", "surrogatepass")
    except UnicodeDecodeError as e:  # pragma: no cover - surrogatepass accepts all pairs
        raise ProtocolError("%s: undecodable name (%s)" % (what, e))


def _need(buf, size, what):
    if len(buf) < size:
        raise ProtocolError("%s: %d bytes, at least %d needed" % (what, len(buf), size))


# ----------------------------------------------------------------------------------------
# directory enumeration ([MS-FSCC] 2.4.8, 2.4.10, 2.4.14, 2.4.17, 2.4.18, 2.4.28)
# ----------------------------------------------------------------------------------------
DirectoryEntry = namedtuple(
    "DirectoryEntry",
    "file_index creation_time last_access_time last_write_time change_time end_of_file "
    "allocation_size file_attributes ea_size short_name file_name file_id",
)
DirectoryEntry.__doc__ = """One directory entry; times are FILETIME ints, ``file_id`` is 0
when the information class carries none, ``short_name`` '' when absent."""

# NextEntryOffset, FileIndex, 4 times, EndOfFile, AllocationSize, FileAttributes, FileNameLength
_DIR_HDR = "<II4Q2QII"
_S_DIRECTORY = struct.Struct(_DIR_HDR)  # 64
_S_FULL_DIRECTORY = struct.Struct(_DIR_HDR + "I")  # + EaSize: 68
_S_BOTH_DIRECTORY = struct.Struct(_DIR_HDR + "IBx24s")  # + EaSize, ShortNameLength, ShortName: 94
_S_ID_BOTH_DIRECTORY = struct.Struct(_DIR_HDR + "IBx24s2xQ")  # + Reserved2, FileId: 104
_S_ID_FULL_DIRECTORY = struct.Struct(_DIR_HDR + "I4xQ")  # + EaSize, Reserved, FileId: 80
_S_NAMES = struct.Struct("<III")  # NextEntryOffset, FileIndex, FileNameLength: 12


def _walk(buf, st, what):
    """Yield (offset, unpacked header, name) for each entry of a NextEntryOffset chain."""
    mv = memoryview(buf)
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    end = len(mv)
    hdr = st.size
    unpack = st.unpack_from
    offset = 0
    if end == 0:
        return
    while True:
        if offset + hdr > end:
            raise ProtocolError("%s: entry at offset %d overruns the %d-byte buffer" % (what, offset, end))
        fields = unpack(mv, offset)
        next_offset = fields[0]
        name_len = fields[9] if st is not _S_NAMES else fields[2]
        name_end = offset + hdr + name_len
        if name_end > end:
            raise ProtocolError("%s: file name at offset %d overruns the buffer" % (what, offset))
        if next_offset and next_offset < hdr + name_len:
            raise ProtocolError("%s: NextEntryOffset %d at offset %d overlaps the entry"
                                % (what, next_offset, offset))
        if name_len & 1:
            raise ProtocolError("%s: odd UTF-16 name length %d" % (what, name_len))
        name = bytes(mv[offset + hdr:name_end]).decode("utf-16-le", "surrogatepass")
        yield fields, name
        if not next_offset:
            return
        offset += next_offset  # strictly increasing (next_offset >= hdr > 0): no loops


def _short(fields, what):
    sn_len = fields[11]
    if sn_len > 24 or sn_len & 1:
        raise ProtocolError("%s: bad ShortNameLength %d" % (what, sn_len))
    return fields[12][:sn_len].decode("utf-16-le", "surrogatepass") if sn_len else ""


def parse_both_directory_information(buf):
    """FileBothDirectoryInformation entries (class 3, [MS-FSCC] 2.4.8; the same layout as
    SMB1 SMB_FIND_FILE_BOTH_DIRECTORY_INFO) -> list of :class:`DirectoryEntry`."""
    what = "FileBothDirectoryInformation"
    out = []
    append = out.append
    for f, name in _walk(buf, _S_BOTH_DIRECTORY, what):
        sn_len = f[11]
        if sn_len > 24 or sn_len & 1:
            raise ProtocolError("%s: bad ShortNameLength %d" % (what, sn_len))
        short = f[12][:sn_len].decode("utf-16-le", "surrogatepass") if sn_len else ""
        append(DirectoryEntry(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[10], short, name, 0))
    return out


def parse_id_both_directory_information(buf):
    """FileIdBothDirectoryInformation entries (class 37, [MS-FSCC] 2.4.17)."""
    what = "FileIdBothDirectoryInformation"
    return [DirectoryEntry(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[10], _short(f, what), name, f[13])
            for f, name in _walk(buf, _S_ID_BOTH_DIRECTORY, what)]


def parse_directory_information(buf):
    """FileDirectoryInformation entries (class 1, [MS-FSCC] 2.4.10)."""
    return [DirectoryEntry(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], 0, "", name, 0)
            for f, name in _walk(buf, _S_DIRECTORY, "FileDirectoryInformation")]


def parse_full_directory_information(buf):
    """FileFullDirectoryInformation entries (class 2, [MS-FSCC] 2.4.14)."""
    return [DirectoryEntry(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[10], "", name, 0)
            for f, name in _walk(buf, _S_FULL_DIRECTORY, "FileFullDirectoryInformation")]


def parse_id_full_directory_information(buf):
    """FileIdFullDirectoryInformation entries (class 38, [MS-FSCC] 2.4.18)."""
    return [DirectoryEntry(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[10], "", name, f[11])
            for f, name in _walk(buf, _S_ID_FULL_DIRECTORY, "FileIdFullDirectoryInformation")]


def parse_names_information(buf):
    """FileNamesInformation entries (class 12, [MS-FSCC] 2.4.28) -> list of (file_index, name)."""
    return [(f[1], name) for f, name in _walk(buf, _S_NAMES, "FileNamesInformation")]


DIRECTORY_PARSERS = {
    FileDirectoryInformation: parse_directory_information,
    FileFullDirectoryInformation: parse_full_directory_information,
    FileBothDirectoryInformation: parse_both_directory_information,
    FileIdBothDirectoryInformation: parse_id_both_directory_information,
    FileIdFullDirectoryInformation: parse_id_full_directory_information,
}
