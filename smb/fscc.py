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
# [MS-SMB2] 2.2.13.1 access masks (the standard and generic bits are [MS-DTYP] 2.4.3;
# smb.security_descriptors and smb.smb2.constants re-export them from here)
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
    return bytes(mv[start:start + length]).decode("utf-16-le", "surrogatepass")


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


def _walk(buf, st, what, limit=None):
    """Yield (unpacked header, name) for each entry of a NextEntryOffset chain.

    The chain ends at a NextEntryOffset of 0, at a NextEntryOffset landing exactly on the
    end of the buffer (SMB1 servers may point the last entry past itself), or after
    ``limit`` entries (SMB1 SearchCount)."""
    mv = memoryview(buf)
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    end = len(mv)
    hdr = st.size
    unpack = st.unpack_from
    offset = 0
    if end == 0 or limit == 0:
        return
    count = 0
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
        count += 1
        offset += next_offset  # strictly increasing (next_offset >= hdr > 0): no loops
        if not next_offset or offset == end or count == limit:
            return


def _short(fields, what):
    sn_len = fields[11]
    if sn_len > 24 or sn_len & 1:
        raise ProtocolError("%s: bad ShortNameLength %d" % (what, sn_len))
    return fields[12][:sn_len].decode("utf-16-le", "surrogatepass") if sn_len else ""


def parse_both_directory_information(buf, limit=None):
    """FileBothDirectoryInformation entries (class 3, [MS-FSCC] 2.4.8; the same layout as
    SMB1 SMB_FIND_FILE_BOTH_DIRECTORY_INFO) -> list of :class:`DirectoryEntry`.
    ``limit``: stop after that many entries (SMB1 SearchCount)."""
    what = "FileBothDirectoryInformation"
    out = []
    append = out.append
    for f, name in _walk(buf, _S_BOTH_DIRECTORY, what, limit):
        sn_len = f[11]
        if sn_len > 24 or sn_len & 1:
            raise ProtocolError("%s: bad ShortNameLength %d" % (what, sn_len))
        short = f[12][:sn_len].decode("utf-16-le", "surrogatepass") if sn_len else ""
        append(DirectoryEntry(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[10], short, name, 0))
    return out


def parse_id_both_directory_information(buf, limit=None):
    """FileIdBothDirectoryInformation entries (class 37, [MS-FSCC] 2.4.17)."""
    what = "FileIdBothDirectoryInformation"
    return [DirectoryEntry(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[10], _short(f, what), name, f[13])
            for f, name in _walk(buf, _S_ID_BOTH_DIRECTORY, what, limit)]


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


# ----------------------------------------------------------------------------------------
# query results ([MS-FSCC] 2.4.x, 2.5.x)
# ----------------------------------------------------------------------------------------
BasicInformation = namedtuple(
    "BasicInformation", "creation_time last_access_time last_write_time change_time file_attributes")
StandardInformation = namedtuple(
    "StandardInformation", "allocation_size end_of_file number_of_links delete_pending directory")
NetworkOpenInformation = namedtuple(
    "NetworkOpenInformation",
    "creation_time last_access_time last_write_time change_time allocation_size end_of_file file_attributes")
AllInformation = namedtuple(
    "AllInformation",
    "creation_time last_access_time last_write_time change_time file_attributes "
    "allocation_size end_of_file number_of_links delete_pending directory "
    "index_number ea_size access_flags current_byte_offset mode alignment_requirement file_name")
AttributeTagInformation = namedtuple("AttributeTagInformation", "file_attributes reparse_tag")
StreamInformation = namedtuple("StreamInformation", "stream_name stream_size stream_allocation_size")
FsVolumeInformation = namedtuple(
    "FsVolumeInformation", "volume_creation_time volume_serial_number supports_objects volume_label")
FsSizeInformation = namedtuple(
    "FsSizeInformation", "total_allocation_units available_allocation_units "
    "sectors_per_allocation_unit bytes_per_sector")
FsFullSizeInformation = namedtuple(
    "FsFullSizeInformation", "total_allocation_units caller_available_allocation_units "
    "actual_available_allocation_units sectors_per_allocation_unit bytes_per_sector")
FsAttributeInformation = namedtuple(
    "FsAttributeInformation", "file_system_attributes maximum_component_name_length file_system_name")
FsDeviceInformation = namedtuple("FsDeviceInformation", "device_type characteristics")

_S_BASIC_SHORT = struct.Struct("<4qI")  # 36 (+4 Reserved, which some SMB1 servers omit)
_S_STANDARD = struct.Struct("<qqIBB")  # 22 (+2 reserved)
_S_Q = struct.Struct("<Q")
_S_q = struct.Struct("<q")
_S_I = struct.Struct("<I")
_S_II = struct.Struct("<II")
_S_NETWORK_OPEN = struct.Struct("<4q2qI4x")  # 56
# FileAllInformation fixed part: Basic(40) Standard(24) Internal(8) Ea(4) Access(4)
# Position(8) Mode(4) Alignment(4) FileNameLength(4) = 100
_S_ALL = struct.Struct("<4qI4x" "qqIBB2x" "Q" "I" "I" "q" "I" "I" "I")
_S_STREAM = struct.Struct("<IIqq")  # 24
_S_FS_VOLUME = struct.Struct("<qIIB")  # 17 (+1 reserved)
_S_FS_SIZE = struct.Struct("<qqII")  # 24
_S_FS_FULL_SIZE = struct.Struct("<qqqII")  # 32
_S_FS_ATTRIBUTE = struct.Struct("<IiI")  # 12


def parse_basic_information(buf) -> BasicInformation:
    """FileBasicInformation ([MS-FSCC] 2.4.7)."""
    _need(buf, _S_BASIC_SHORT.size, "FileBasicInformation")
    return BasicInformation(*_S_BASIC_SHORT.unpack_from(buf, 0))


def parse_standard_information(buf) -> StandardInformation:
    """FileStandardInformation ([MS-FSCC] 2.4.41)."""
    _need(buf, _S_STANDARD.size, "FileStandardInformation")
    a, e, n, dp, d = _S_STANDARD.unpack_from(buf, 0)
    return StandardInformation(a, e, n, bool(dp), bool(d))


def parse_internal_information(buf) -> int:
    """FileInternalInformation ([MS-FSCC] 2.4.22) -> IndexNumber."""
    _need(buf, 8, "FileInternalInformation")
    return _S_Q.unpack_from(buf, 0)[0]


def parse_ea_information(buf) -> int:
    """FileEaInformation ([MS-FSCC] 2.4.12) -> EaSize."""
    _need(buf, 4, "FileEaInformation")
    return _S_I.unpack_from(buf, 0)[0]


def parse_network_open_information(buf) -> NetworkOpenInformation:
    """FileNetworkOpenInformation ([MS-FSCC] 2.4.29)."""
    _need(buf, _S_NETWORK_OPEN.size, "FileNetworkOpenInformation")
    return NetworkOpenInformation(*_S_NETWORK_OPEN.unpack_from(buf, 0))


def parse_file_name_information(buf) -> str:
    """FileNameInformation / FileAlternateNameInformation ([MS-FSCC] 2.4.27, 2.4.5)."""
    _need(buf, 4, "FileNameInformation")
    n = _S_I.unpack_from(buf, 0)[0]
    _need(buf, 4 + n, "FileNameInformation")
    return _utf16(memoryview(buf), 4, n, "FileNameInformation")


def parse_all_information(buf) -> AllInformation:
    """FileAllInformation ([MS-FSCC] 2.4.2). A name cut short by the output buffer
    (STATUS_BUFFER_OVERFLOW) is returned truncated, never read past the data."""
    what = "FileAllInformation"
    _need(buf, _S_ALL.size, what)
    f = _S_ALL.unpack_from(buf, 0)
    name_len = f[16]
    avail = min(name_len, len(buf) - _S_ALL.size) & ~1
    name = _utf16(memoryview(buf), _S_ALL.size, avail, what)
    return AllInformation(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], bool(f[8]), bool(f[9]),
                          f[10], f[11], f[12], f[13], f[14], f[15], name)


def parse_attribute_tag_information(buf) -> AttributeTagInformation:
    """FileAttributeTagInformation ([MS-FSCC] 2.4.6)."""
    _need(buf, 8, "FileAttributeTagInformation")
    return AttributeTagInformation(*_S_II.unpack_from(buf, 0))


def parse_stream_information(buf):
    """FileStreamInformation ([MS-FSCC] 2.4.43) -> list of StreamInformation."""
    what = "FileStreamInformation"
    mv = memoryview(buf)
    end = len(mv)
    out = []
    offset = 0
    hdr = _S_STREAM.size
    while end:
        if offset + hdr > end:
            raise ProtocolError("%s: entry at offset %d overruns the buffer" % (what, offset))
        nxt, nlen, size, alloc = _S_STREAM.unpack_from(mv, offset)
        if offset + hdr + nlen > end or (nxt and nxt < hdr + nlen):
            raise ProtocolError("%s: bad stream entry at offset %d" % (what, offset))
        out.append(StreamInformation(_utf16(mv, offset + hdr, nlen, what), size, alloc))
        if not nxt:
            break
        offset += nxt
    return out


def parse_fs_volume_information(buf) -> FsVolumeInformation:
    """FileFsVolumeInformation ([MS-FSCC] 2.5.9); a label cut short by the output buffer is
    returned truncated."""
    what = "FileFsVolumeInformation"
    _need(buf, 18, what)
    t, serial, label_len, objs = _S_FS_VOLUME.unpack_from(buf, 0)
    avail = min(label_len, len(buf) - 18) & ~1
    return FsVolumeInformation(t, serial, bool(objs), _utf16(memoryview(buf), 18, avail, what))


def parse_fs_size_information(buf) -> FsSizeInformation:
    """FileFsSizeInformation ([MS-FSCC] 2.5.8)."""
    _need(buf, _S_FS_SIZE.size, "FileFsSizeInformation")
    return FsSizeInformation(*_S_FS_SIZE.unpack_from(buf, 0))


def parse_fs_full_size_information(buf) -> FsFullSizeInformation:
    """FileFsFullSizeInformation ([MS-FSCC] 2.5.4)."""
    _need(buf, _S_FS_FULL_SIZE.size, "FileFsFullSizeInformation")
    return FsFullSizeInformation(*_S_FS_FULL_SIZE.unpack_from(buf, 0))


def parse_fs_attribute_information(buf) -> FsAttributeInformation:
    """FileFsAttributeInformation ([MS-FSCC] 2.5.1)."""
    what = "FileFsAttributeInformation"
    _need(buf, 12, what)
    attrs, max_len, name_len = _S_FS_ATTRIBUTE.unpack_from(buf, 0)
    avail = min(name_len, len(buf) - 12) & ~1
    return FsAttributeInformation(attrs, max_len, _utf16(memoryview(buf), 12, avail, what))


def parse_fs_device_information(buf) -> FsDeviceInformation:
    """FileFsDeviceInformation ([MS-FSCC] 2.5.10)."""
    _need(buf, 8, "FileFsDeviceInformation")
    return FsDeviceInformation(*_S_II.unpack_from(buf, 0))


# ----------------------------------------------------------------------------------------
# set buffers
# ----------------------------------------------------------------------------------------
_S_BASIC_SET = struct.Struct("<4qII")
_S_RENAME_WIDE = struct.Struct("<B7xQI")  # 20: SMB2 layout (64-bit RootDirectory)
_S_RENAME_NARROW = struct.Struct("<B3xII")  # 12: SMB1 passthrough layout (32-bit RootDirectory)


def basic_information(creation_time=0, last_access_time=0, last_write_time=0, change_time=0,
                      file_attributes=0) -> bytes:
    """FileBasicInformation for SET_INFO ([MS-FSCC] 2.4.7): 40 bytes. A time of 0 leaves it
    unchanged (-1 / -2 are the spec's "stop / resume updating" values); attributes 0 leave
    the attributes unchanged."""
    return _S_BASIC_SET.pack(creation_time, last_access_time, last_write_time, change_time,
                             file_attributes, 0)


def disposition_information(delete=True) -> bytes:
    """FileDispositionInformation ([MS-FSCC] 2.4.11): DeletePending, 1 byte."""
    return b"\x01" if delete else b"\x00"


def end_of_file_information(size) -> bytes:
    """FileEndOfFileInformation ([MS-FSCC] 2.4.13): EndOfFile, 8 bytes."""
    return _S_q.pack(size)


def allocation_information(size) -> bytes:
    """FileAllocationInformation ([MS-FSCC] 2.4.4): AllocationSize, 8 bytes."""
    return _S_q.pack(size)


def rename_information(new_path, replace_if_exists=False, wide_root=True) -> bytes:
    """FileRenameInformation ([MS-FSCC] 2.4.37), RootDirectory 0, FileName the full new path
    relative to the share (UTF-16LE, no terminating NUL).

    ``wide_root=True`` (SMB2, 2.4.37.2): ReplaceIfExists(1) Reserved(7) RootDirectory(8)
    FileNameLength(4) FileName. ``wide_root=False`` (SMB1 passthrough, 2.4.37.1):
    ReplaceIfExists(1) Reserved(3) RootDirectory(4) FileNameLength(4) FileName. The buffer
    is zero-padded to the size of the C structure (24 / 16 bytes) for one-character names,
    as servers check the buffer against that minimum; FileNameLength excludes the padding.
    """
    name = new_path.encode("utf-16-le", "surrogatepass")
    if wide_root:
        out = _S_RENAME_WIDE.pack(1 if replace_if_exists else 0, 0, len(name)) + name
        minimum = 24
    else:
        out = _S_RENAME_NARROW.pack(1 if replace_if_exists else 0, 0, len(name)) + name
        minimum = 16
    if len(out) < minimum:
        out += b"\x00" * (minimum - len(out))
    return out


_S_PIPE_WAIT = struct.Struct("<qIB")


def pipe_wait_request(pipe_name, timeout=None) -> bytes:
    """FSCTL_PIPE_WAIT input ([MS-FSCC] 2.3.31): Timeout(8) NameLength(4) TimeoutSpecified(1)
    Padding(1) Name. ``timeout`` in seconds (sent as negative relative 100 ns units)."""
    name = pipe_name.encode("utf-16-le")
    t = 0 if timeout is None else -int(timeout * _HUNDREDS_OF_NS)
    return _S_PIPE_WAIT.pack(t, len(name), 0 if timeout is None else 1) + b"\x00" + name


# ----------------------------------------------------------------------------------------
# [MS-SMB2] 2.2.32.2 SRV_SNAPSHOT_ARRAY
# ----------------------------------------------------------------------------------------
_S_SNAPSHOT_HDR = struct.Struct("<III")
_GMT_RE = re.compile(r"@GMT-(\d{4})\.(\d{2})\.(\d{2})-(\d{2})\.(\d{2})\.(\d{2})\Z")


def snapshot_array_sizes(buf):
    """(NumberOfSnapShots, NumberOfSnapShotsReturned, SnapShotArraySize) of a
    SRV_SNAPSHOT_ARRAY; a client retries with a 12 + SnapShotArraySize output buffer when
    fewer were returned than exist."""
    _need(buf, 12, "SRV_SNAPSHOT_ARRAY")
    return _S_SNAPSHOT_HDR.unpack_from(buf, 0)


class SnapshotArray(list):
    """The names of a SRV_SNAPSHOT_ARRAY (a list of str) with its header counts:
    ``total`` (NumberOfSnapShots), ``returned`` (NumberOfSnapShotsReturned) and
    ``array_size`` (SnapShotArraySize: the bytes needed for all names when none were
    returned). ``names`` is the list itself."""

    __slots__ = ("total", "returned", "array_size")
    total: int
    returned: int
    array_size: int

    @property
    def names(self):
        return self


def parse_snapshot_array(buf) -> SnapshotArray:
    """SRV_SNAPSHOT_ARRAY -> list of "@GMT-YYYY.MM.DD-HH.MM.SS" names (NUL-separated,
    double-NUL terminated UTF-16LE). Empty when the server returned none because the output
    buffer was too small: retry with ``12 + result.array_size`` bytes (or more)."""
    what = "SRV_SNAPSHOT_ARRAY"
    total, returned, size = snapshot_array_sizes(buf)
    out = SnapshotArray()
    out.total, out.returned, out.array_size = total, returned, size
    if returned == 0:
        return out
    if returned > total:
        raise ProtocolError("%s: %d returned of %d snapshots" % (what, returned, total))
    if 12 + size > len(buf):
        raise ProtocolError("%s: SnapShotArraySize %d overruns the %d-byte buffer" % (what, size, len(buf)))
    text = _utf16(memoryview(buf), 12, size & ~1, what)
    out.extend(n for n in text.split("\x00") if n)
    if len(out) != returned:
        raise ProtocolError("%s: %d names for NumberOfSnapShotsReturned %d" % (what, len(out), returned))
    return out


def snapshot_to_datetime(name) -> datetime:
    """"@GMT-2024.01.02-03.04.05" -> naive datetime in UTC (as pysmb's listSnapshots returns)."""
    m = _GMT_RE.match(name)
    if not m:
        raise ProtocolError("bad snapshot name %r" % (name,))
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError as e:
        raise ProtocolError("bad snapshot name %r (%s)" % (name, e))


def datetime_to_snapshot(dt) -> str:
    """Naive-UTC (or aware) datetime -> "@GMT-YYYY.MM.DD-HH.MM.SS"."""
    if dt.tzinfo is not None:
        from datetime import timezone

        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.strftime("@GMT-%Y.%m.%d-%H.%M.%S")


# ----------------------------------------------------------------------------------------
# client-side wildcard matching (DOS '*' and '?', case-insensitive)
# ----------------------------------------------------------------------------------------
_PATTERN_CACHE: dict[str, re.Pattern] = {}


def _compile_pattern(pattern):
    rx = _PATTERN_CACHE.get(pattern)
    if rx is None:
        if pattern in ("*", "*.*"):
            rx = re.compile(r".*", re.S)
        else:
            parts = []
            for ch in pattern:
                parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
            rx = re.compile("".join(parts), re.S | re.I)
        if len(_PATTERN_CACHE) > 256:
            _PATTERN_CACHE.clear()
        _PATTERN_CACHE[pattern] = rx
    return rx


def match_pattern(name, pattern) -> bool:
    """True when ``name`` matches the DOS-style wildcard ``pattern`` ('*' any run, '?' one
    character; case-insensitive; "*" and "*.*" match every name)."""
    return _compile_pattern(pattern).fullmatch(name) is not None
