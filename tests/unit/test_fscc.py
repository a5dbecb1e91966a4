"""smb.fscc: [MS-FSCC] 2.4 / 2.5 information classes, FILETIME, snapshots, wildcards."""

import struct
import time
from datetime import datetime, timezone

import pytest

from smb import fscc
from smb.errors import ProtocolError

T1, T2, T3, T4 = 132000000000000001, 132000000000000002, 132000000000000003, 132000000000000004


def both_entry(name, short="", next_offset=None, file_index=7, eof=1234, alloc=4096, attrs=0x20,
               ea=0, pad_to=8):
    """One FileBothDirectoryInformation entry laid out field by field ([MS-FSCC] 2.4.8)."""
    n = name.encode("utf-16-le")
    s = short.encode("utf-16-le")
    body = (
        struct.pack("<I", file_index)          # FileIndex
        + struct.pack("<Q", T1)                # CreationTime
        + struct.pack("<Q", T2)                # LastAccessTime
        + struct.pack("<Q", T3)                # LastWriteTime
        + struct.pack("<Q", T4)                # ChangeTime
        + struct.pack("<q", eof)               # EndOfFile
        + struct.pack("<q", alloc)             # AllocationSize
        + struct.pack("<I", attrs)             # FileAttributes
        + struct.pack("<I", len(n))            # FileNameLength
        + struct.pack("<I", ea)                # EaSize
        + struct.pack("<B", len(s))            # ShortNameLength
        + b"\x00"                              # Reserved
        + s.ljust(24, b"\x00")                 # ShortName (24 bytes)
        + n                                    # FileName
    )
    size = 4 + len(body)
    assert size == 94 + len(n)
    if next_offset is None:
        return struct.pack("<I", 0) + body
    if next_offset == "auto":
        next_offset = (size + pad_to - 1) // pad_to * pad_to
    return (struct.pack("<I", next_offset) + body).ljust(next_offset, b"\x00")


def test_filetime_conversions():
    assert fscc.filetime_to_epoch(116444736000000000) == 0.0
    assert fscc.epoch_to_filetime(0) == 116444736000000000
    assert fscc.epoch_to_filetime(1.5) == 116444736015000000
    assert fscc.filetime_to_epoch(116444736015000000) == 1.5
    now = time.time()
    assert abs(fscc.filetime_to_epoch(fscc.epoch_to_filetime(now)) - now) < 1e-6


def test_class_and_code_constants():
    assert (fscc.FileDirectoryInformation, fscc.FileFullDirectoryInformation, fscc.FileBothDirectoryInformation,
            fscc.FileBasicInformation, fscc.FileStandardInformation, fscc.FileInternalInformation) == (1, 2, 3, 4, 5, 6)
    assert fscc.FileRenameInformation == 10 and fscc.FileDispositionInformation == 13
    assert fscc.FileAllInformation == 18 and fscc.FileEndOfFileInformation == 20
    assert fscc.FileNetworkOpenInformation == 34 and fscc.FileIdBothDirectoryInformation == 37
    assert (fscc.FileFsVolumeInformation, fscc.FileFsSizeInformation, fscc.FileFsAttributeInformation,
            fscc.FileFsFullSizeInformation) == (1, 3, 5, 7)
    assert fscc.FSCTL_PIPE_TRANSCEIVE == 0x0011C017
    assert fscc.FSCTL_SRV_ENUMERATE_SNAPSHOTS == 0x00144064
    assert fscc.FSCTL_VALIDATE_NEGOTIATE_INFO == 0x00140204
    assert fscc.FSCTL_DFS_GET_REFERRALS == 0x00060194
    assert fscc.FSCTL_PIPE_WAIT == 0x00110018
    assert (fscc.FILE_SUPERSEDE, fscc.FILE_OPEN, fscc.FILE_CREATE, fscc.FILE_OPEN_IF, fscc.FILE_OVERWRITE,
            fscc.FILE_OVERWRITE_IF) == (0, 1, 2, 3, 4, 5)
    assert fscc.FILE_DIRECTORY_FILE == 1 and fscc.FILE_NON_DIRECTORY_FILE == 0x40
    assert fscc.FILE_DELETE_ON_CLOSE == 0x1000 and fscc.FILE_OPEN_REPARSE_POINT == 0x200000
    assert fscc.GENERIC_READ == 0x80000000 and fscc.MAXIMUM_ALLOWED == 0x02000000
    assert fscc.DELETE == 0x10000 and fscc.SYNCHRONIZE == 0x100000 and fscc.READ_CONTROL == 0x20000


def test_parse_both_directory_information_chain():
    buf = (both_entry(".", next_offset="auto", attrs=0x10)
           + both_entry("Long file name.txt", short="LONGFI~1.TXT", next_offset="auto")
           + both_entry("\u00e9t\u00e9 \U0001F600.doc", eof=2 ** 40, ea=12))
    entries = fscc.parse_both_directory_information(buf)
    assert [e.file_name for e in entries] == [".", "Long file name.txt", "\u00e9t\u00e9 \U0001F600.doc"]
    e = entries[1]
    assert e.file_index == 7
    assert (e.creation_time, e.last_access_time, e.last_write_time, e.change_time) == (T1, T2, T3, T4)
    assert e.end_of_file == 1234 and e.allocation_size == 4096
    assert e.file_attributes == 0x20 and e.ea_size == 0
    assert e.short_name == "LONGFI~1.TXT"
    assert entries[0].file_attributes == 0x10 and entries[0].short_name == ""
    assert entries[2].end_of_file == 2 ** 40 and entries[2].ea_size == 12
    # memoryview input works too, and the result is a tuple-like record
    assert fscc.parse_both_directory_information(memoryview(buf)) == entries
    assert tuple(entries[1])[10] == "Long file name.txt"


def test_parse_both_directory_information_empty_buffer():
    assert fscc.parse_both_directory_information(b"") == []


def test_last_entry_pointing_at_buffer_end_and_limit():
    # SMB1 servers may give the last entry a NextEntryOffset that lands on the buffer end
    buf = both_entry("a", next_offset="auto") + both_entry("b", next_offset="auto")
    assert [e.file_name for e in fscc.parse_both_directory_information(buf)] == ["a", "b"]
    # SearchCount bounds the walk (padding / garbage after the counted entries is ignored)
    assert [e.file_name for e in fscc.parse_both_directory_information(buf + b"\xff" * 10, limit=2)] == ["a", "b"]
    assert fscc.parse_both_directory_information(buf, limit=0) == []
    with pytest.raises(ProtocolError):
        fscc.parse_both_directory_information(buf + b"\xff" * 10)


def test_parse_id_both_directory_information():
    n = "file.bin".encode("utf-16-le")
    entry = (struct.pack("<IIQQQQqqII", 0, 3, T1, T2, T3, T4, 10, 4096, 0x80, len(n))
             + struct.pack("<IBx", 0, 0) + b"\x00" * 24   # EaSize, ShortNameLength, Reserved1, ShortName
             + b"\x00\x00"                              # Reserved2
             + struct.pack("<Q", 0x1122334455667788)   # FileId
             + n)
    (e,) = fscc.parse_id_both_directory_information(entry)
    assert e.file_name == "file.bin" and e.file_id == 0x1122334455667788 and e.end_of_file == 10


def test_parse_directory_and_full_and_names():
    n = "a".encode("utf-16-le")
    d = struct.pack("<IIQQQQqqII", 0, 1, T1, T2, T3, T4, 5, 8, 0x20, len(n)) + n
    (e,) = fscc.parse_directory_information(d)
    assert e.file_name == "a" and e.end_of_file == 5
    f = struct.pack("<IIQQQQqqIII", 0, 1, T1, T2, T3, T4, 5, 8, 0x20, len(n), 99) + n
    (e,) = fscc.parse_full_directory_information(f)
    assert e.ea_size == 99
    names = struct.pack("<III", 16, 1, 2) + n + b"\x00\x00" + struct.pack("<III", 0, 2, 4) + "bc".encode("utf-16-le")
    assert fscc.parse_names_information(names) == [(1, "a"), (2, "bc")]


def test_directory_malformed():
    good = both_entry("abc")
    with pytest.raises(ProtocolError):
        fscc.parse_both_directory_information(good[:50])  # truncated header
    with pytest.raises(ProtocolError):
        fscc.parse_both_directory_information(good[:-1])  # name overruns
    looping = bytearray(both_entry("abc", next_offset="auto"))
    looping[0:4] = struct.pack("<I", 0)
    assert len(fscc.parse_both_directory_information(bytes(looping))) == 1
    # NextEntryOffset pointing inside the entry (would loop / overlap)
    bad = bytearray(both_entry("abc", next_offset="auto") + good)
    bad[0:4] = struct.pack("<I", 8)
    with pytest.raises(ProtocolError):
        fscc.parse_both_directory_information(bytes(bad))
    # NextEntryOffset beyond the buffer
    bad = bytearray(both_entry("abc", next_offset="auto"))
    bad[0:4] = struct.pack("<I", 0x10000)
    with pytest.raises(ProtocolError):
        fscc.parse_both_directory_information(bytes(bad))
    # ShortNameLength > 24
    bad = bytearray(good)
    bad[68] = 26
    with pytest.raises(ProtocolError):
        fscc.parse_both_directory_information(bytes(bad))
    # odd FileNameLength
    bad = bytearray(good)
    bad[60:64] = struct.pack("<I", 5)
    with pytest.raises(ProtocolError):
        fscc.parse_both_directory_information(bytes(bad))


def test_directory_parsing_of_a_large_page():
    """6,000 entries in one buffer (its speed is measured in benchmarks/, not here)."""
    one = both_entry("some_reasonably_long_file_name_0000.dat", short="SOME_R~1.DAT", next_offset="auto")
    buf = one * 5999 + both_entry("last.dat")
    entries = fscc.parse_both_directory_information(buf)
    assert len(entries) == 6000 and entries[-1].file_name == "last.dat"
    assert entries[0].short_name == "SOME_R~1.DAT" and entries[0] == entries[5998]


def test_basic_standard_internal_ea_network_open():
    basic = struct.pack("<qqqqII", T1, T2, T3, T4, 0x21, 0)
    b = fscc.parse_basic_information(basic)
    assert b == (T1, T2, T3, T4, 0x21) and b.file_attributes == 0x21
    st = fscc.parse_standard_information(struct.pack("<qqIBBxx", 4096, 100, 1, 0, 1))
    assert st.allocation_size == 4096 and st.end_of_file == 100 and st.number_of_links == 1
    assert st.delete_pending is False and st.directory is True
    assert fscc.parse_internal_information(struct.pack("<Q", 42)) == 42
    assert fscc.parse_ea_information(struct.pack("<I", 9)) == 9
    no = fscc.parse_network_open_information(struct.pack("<qqqqqqII", T1, T2, T3, T4, 8192, 5000, 0x80, 0))
    assert no.allocation_size == 8192 and no.end_of_file == 5000 and no.file_attributes == 0x80
    for f, size in ((fscc.parse_basic_information, 35), (fscc.parse_standard_information, 21),
                    (fscc.parse_network_open_information, 55), (fscc.parse_internal_information, 7)):
        with pytest.raises(ProtocolError):
            f(b"\x00" * size)


def test_all_information():
    name = "\\dir\\f.txt".encode("utf-16-le")
    buf = (struct.pack("<qqqqI4x", T1, T2, T3, T4, 0x20)      # Basic (40)
           + struct.pack("<qqIBB2x", 4096, 10, 1, 0, 0)          # Standard (24)
           + struct.pack("<Q", 77)                               # Internal
           + struct.pack("<I", 0)                                # Ea
           + struct.pack("<I", 0x12019F)                         # Access
           + struct.pack("<q", 0)                                # Position
           + struct.pack("<I", 0)                                # Mode
           + struct.pack("<I", 0)                                # Alignment
           + struct.pack("<I", len(name)) + name)                # Name
    a = fscc.parse_all_information(buf)
    assert a.end_of_file == 10 and a.index_number == 77 and a.access_flags == 0x12019F
    assert a.file_name == "\\dir\\f.txt" and a.directory is False
    # cut short by the output buffer: name truncated, never read beyond
    assert fscc.parse_all_information(buf[:-3]).file_name == "\\dir\\f.t"
    with pytest.raises(ProtocolError):
        fscc.parse_all_information(buf[:99])


def test_fs_information():
    label = "DATA".encode("utf-16-le")
    v = fscc.parse_fs_volume_information(struct.pack("<qIIBx", T1, 0xDEADBEEF, len(label), 0) + label)
    assert v == (T1, 0xDEADBEEF, False, "DATA")
    s = fscc.parse_fs_size_information(struct.pack("<qqII", 1000, 250, 8, 512))
    assert s.total_allocation_units == 1000 and s.available_allocation_units == 250
    assert s.sectors_per_allocation_unit == 8 and s.bytes_per_sector == 512
    fs = fscc.parse_fs_full_size_information(struct.pack("<qqqII", 1000, 200, 250, 8, 512))
    assert fs.caller_available_allocation_units == 200 and fs.actual_available_allocation_units == 250
    fsname = "NTFS".encode("utf-16-le")
    at = fscc.parse_fs_attribute_information(struct.pack("<IiI", 0x00C700FF, 255, len(fsname)) + fsname)
    assert at == (0x00C700FF, 255, "NTFS")
    with pytest.raises(ProtocolError):
        fscc.parse_fs_full_size_information(b"\x00" * 31)
    with pytest.raises(ProtocolError):
        fscc.parse_fs_attribute_information(b"\x00" * 11)


def test_stream_information():
    n1 = "::$DATA".encode("utf-16-le")
    n2 = ":ads:$DATA".encode("utf-16-le")
    e1 = struct.pack("<IIqq", 40, len(n1), 10, 4096) + n1 + b"\x00\x00"
    e2 = struct.pack("<IIqq", 0, len(n2), 3, 8) + n2
    out = fscc.parse_stream_information(e1 + e2)
    assert out == [("::$DATA", 10, 4096), (":ads:$DATA", 3, 8)]
    with pytest.raises(ProtocolError):
        fscc.parse_stream_information(struct.pack("<IIqq", 8, len(n1), 10, 4096) + n1)


def test_set_buffers():
    assert fscc.basic_information() == b"\x00" * 40
    b = fscc.basic_information(creation_time=T1, last_write_time=-1, file_attributes=0x80)
    assert b == struct.pack("<qqqqII", T1, 0, -1, 0, 0x80, 0)
    assert fscc.disposition_information() == b"\x01"
    assert fscc.disposition_information(False) == b"\x00"
    assert fscc.end_of_file_information(0x0102030405) == bytes.fromhex("0504030201000000")
    assert fscc.allocation_information(4096) == struct.pack("<q", 4096)


def test_rename_information_smb2_layout():
    buf = fscc.rename_information("dir\\new.txt", replace_if_exists=True)
    name = "dir\\new.txt".encode("utf-16-le")
    assert buf == (b"\x01"                       # ReplaceIfExists
                   + b"\x00" * 7                 # Reserved
                   + b"\x00" * 8                 # RootDirectory (64-bit)
                   + struct.pack("<I", 22)       # FileNameLength
                   + name)
    assert fscc.rename_information("x.txt")[0] == 0


def test_rename_information_smb1_layout():
    buf = fscc.rename_information("new.txt", wide_root=False)
    assert buf == (b"\x00" + b"\x00" * 3 + b"\x00" * 4 + struct.pack("<I", 14) + "new.txt".encode("utf-16-le"))


def test_rename_information_padded_to_struct_size():
    assert fscc.rename_information("a") == b"\x00" * 16 + struct.pack("<I", 2) + b"a\x00" + b"\x00\x00"
    assert len(fscc.rename_information("a", wide_root=False)) == 16


def test_pipe_wait_request():
    assert fscc.pipe_wait_request("srvsvc") == (struct.pack("<qIBx", 0, 12, 0) + "srvsvc".encode("utf-16-le"))
    assert fscc.pipe_wait_request("p", timeout=1)[:13] == struct.pack("<qIB", -10000000, 2, 1)


def snapshot_buffer(names, total=None):
    arr = "".join(n + "\x00" for n in names).encode("utf-16-le") + b"\x00\x00"
    return struct.pack("<III", total if total is not None else len(names), len(names), len(arr)) + arr


def test_snapshot_array():
    names = ["@GMT-2024.01.02-03.04.05", "@GMT-2023.12.31-23.59.59"]
    buf = snapshot_buffer(names)
    snap = fscc.parse_snapshot_array(buf)
    assert snap == names and snap.names == names
    assert (snap.total, snap.returned, snap.array_size) == (2, 2, len(buf) - 12)
    assert fscc.snapshot_array_sizes(buf)[:2] == (2, 2)
    assert fscc.snapshot_to_datetime(names[0]) == datetime(2024, 1, 2, 3, 4, 5)
    assert fscc.snapshot_to_datetime(names[0]).tzinfo is None
    assert fscc.datetime_to_snapshot(datetime(2024, 1, 2, 3, 4, 5)) == names[0]
    assert fscc.datetime_to_snapshot(datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == names[0]
    # too small an output buffer: counts only, SnapShotArraySize = needed size
    snap = fscc.parse_snapshot_array(struct.pack("<III", 2, 0, 100))
    assert snap == [] and (snap.total, snap.returned, snap.array_size) == (2, 0, 100)
    assert fscc.parse_snapshot_array(struct.pack("<III", 0, 0, 2) + b"\x00\x00") == []


def test_snapshot_array_malformed():
    buf = snapshot_buffer(["@GMT-2024.01.02-03.04.05"])
    with pytest.raises(ProtocolError):
        fscc.parse_snapshot_array(buf[:-4])  # size overruns
    with pytest.raises(ProtocolError):
        fscc.parse_snapshot_array(buf[:8])
    with pytest.raises(ProtocolError):
        fscc.parse_snapshot_array(snapshot_buffer(["@GMT-2024.01.02-03.04.05"], total=0))
    with pytest.raises(ProtocolError):
        fscc.snapshot_to_datetime("@GMT-2024.13.02-03.04.05")
    with pytest.raises(ProtocolError):
        fscc.snapshot_to_datetime("GMT-2024.01.02")


def test_match_pattern():
    m = fscc.match_pattern
    assert m("anything", "*") and m("no_dot", "*.*") and m("", "*")
    assert m("Report.TXT", "*.txt") and not m("report.txt.bak", "*.txt")
    assert m("a1.doc", "a?.doc") and not m("a12.doc", "a?.doc")
    assert m("x[1].c", "x[1].c") and m("a+b", "A+B")
    assert not m("abc", "ab")
