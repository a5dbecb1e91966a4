"""The facade's server-independent helpers: paths, the search-attribute rule, SharedFile."""

import pytest

from smb import fscc
from smb.base import SharedDevice, SharedFile
from smb.operations import entry_to_shared_file, join, matches_search, normalize_path, split_parent
from smb.smb_constants import (
    ATTR_ARCHIVE,
    ATTR_DIRECTORY,
    ATTR_HIDDEN,
    ATTR_NORMAL,
    ATTR_READONLY,
    ATTR_SYSTEM,
    SMB_FILE_ATTRIBUTE_DIRECTORY,
    SMB_FILE_ATTRIBUTE_INCL_NORMAL,
    SMB_FILE_ATTRIBUTE_NORMAL,
)
from smb.smb_constants import ATTR_SPARSE, ATTR_TEMPORARY


@pytest.mark.parametrize("given, expected", [
    ("/", ""), ("", ""), ("\\", ""), ("/a/b/c.txt", "a\\b\\c.txt"), ("a//b/", "a\\b"),
    ("\\a\\b", "a\\b"), ("./a/./b", "a\\b"), (b"/x/y", "x\\y"), ("/目录/文件", "目录\\文件"),
])
def test_normalize_path(given, expected):
    assert normalize_path(given) == expected


def test_split_and_join():
    assert split_parent("a\\b\\c") == ("a\\b", "c")
    assert split_parent("c") == ("", "c")
    assert join("", "c") == "c" and join("a\\b", "c") == "a\\b\\c"


def test_search_rule_is_pysmbs():
    default = 0x10037  # pysmb's: READONLY | HIDDEN | SYSTEM | DIRECTORY | ARCHIVE | INCL_NORMAL
    for attrs in (0, ATTR_NORMAL, ATTR_READONLY, ATTR_ARCHIVE, ATTR_HIDDEN, ATTR_SYSTEM, ATTR_DIRECTORY):
        assert matches_search(attrs, default)
    # "normal" entries (low byte 0 or ATTR_NORMAL, whatever the higher bits) need INCL_NORMAL or
    # a search of exactly SMB_FILE_ATTRIBUTE_NORMAL
    for normal in (0, ATTR_NORMAL, ATTR_TEMPORARY, ATTR_NORMAL | ATTR_SPARSE):
        assert not matches_search(normal, 0x37)
        assert matches_search(normal, SMB_FILE_ATTRIBUTE_NORMAL)
        assert matches_search(normal, SMB_FILE_ATTRIBUTE_INCL_NORMAL)
    assert not matches_search(ATTR_ARCHIVE, SMB_FILE_ATTRIBUTE_NORMAL)
    # other entries: any common bit
    plain = ATTR_READONLY | ATTR_ARCHIVE
    assert matches_search(ATTR_ARCHIVE | ATTR_READONLY, plain)
    assert matches_search(ATTR_HIDDEN | ATTR_ARCHIVE, plain)  # pysmb's rule, not SMB1's exclusion
    assert not matches_search(ATTR_HIDDEN, plain)
    assert not matches_search(ATTR_DIRECTORY, plain)
    assert matches_search(ATTR_DIRECTORY | ATTR_HIDDEN, SMB_FILE_ATTRIBUTE_DIRECTORY)
    assert not matches_search(ATTR_ARCHIVE, SMB_FILE_ATTRIBUTE_DIRECTORY)


def test_entry_to_shared_file():
    ft = fscc.epoch_to_filetime(1_700_000_000.5)
    entry = fscc.DirectoryEntry(7, ft, ft + 10_000_000, ft, ft, 1234, 4096, ATTR_ARCHIVE, 0,
                                "SHORT~1.TXT", "a long name.txt", 0x1234567890)
    f = entry_to_shared_file(entry)
    assert isinstance(f, SharedFile)
    assert f.create_time == pytest.approx(1_700_000_000.5) and f.last_access_time == pytest.approx(1_700_000_001.5)
    assert (f.file_size, f.alloc_size, f.short_name, f.filename, f.file_id) == (
        1234, 4096, "SHORT~1.TXT", "a long name.txt", 0x1234567890)  # FileId, not FileIndex
    assert not f.isNormal and not f.isDirectory and not f.isReadOnly  # archive: not "normal"
    f.file_id = None
    for attrs, normal in ((0, True), (ATTR_NORMAL, True), (ATTR_TEMPORARY, True), (ATTR_READONLY, False),
                          (ATTR_DIRECTORY, False), (ATTR_NORMAL | ATTR_HIDDEN, False)):
        f.file_attributes = attrs
        assert f.isNormal is normal, attrs


def test_shared_device_properties():
    ipc = SharedDevice(0x80000003, "IPC$", "IPC Service")
    assert ipc.type == SharedDevice.IPC and ipc.isSpecial and not ipc.isTemporary
    disk = SharedDevice(0, "public", "")
    assert disk.type == SharedDevice.DISK_TREE and not disk.isSpecial
    assert "public" in str(disk)
