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
    SMB_FILE_ATTRIBUTE_HIDDEN,
    SMB_SEARCH_ATTRIBUTE_DIRECTORY,
)


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


def test_search_rule():
    default = 0x37  # READONLY | HIDDEN | SYSTEM | DIRECTORY | ARCHIVE
    for attrs in (0, ATTR_NORMAL, ATTR_READONLY, ATTR_ARCHIVE, ATTR_HIDDEN, ATTR_SYSTEM, ATTR_DIRECTORY):
        assert matches_search(attrs, default)
    plain = ATTR_READONLY | ATTR_ARCHIVE
    assert matches_search(ATTR_ARCHIVE | ATTR_READONLY, plain)
    assert not matches_search(ATTR_HIDDEN, plain)
    assert not matches_search(ATTR_DIRECTORY, plain)
    assert not matches_search(ATTR_SYSTEM | ATTR_ARCHIVE, plain)
    assert matches_search(ATTR_DIRECTORY | ATTR_HIDDEN, SMB_FILE_ATTRIBUTE_DIRECTORY | SMB_FILE_ATTRIBUTE_HIDDEN)
    # exclusive bits: only entries that carry the attribute
    only_dirs = SMB_FILE_ATTRIBUTE_DIRECTORY | SMB_SEARCH_ATTRIBUTE_DIRECTORY
    assert matches_search(ATTR_DIRECTORY, only_dirs)
    assert not matches_search(ATTR_ARCHIVE, only_dirs)


def test_entry_to_shared_file():
    ft = fscc.epoch_to_filetime(1_700_000_000.5)
    entry = fscc.DirectoryEntry(7, ft, ft + 10_000_000, ft, ft, 1234, 4096, ATTR_ARCHIVE, 0,
                                "SHORT~1.TXT", "a long name.txt", 0)
    f = entry_to_shared_file(entry)
    assert isinstance(f, SharedFile)
    assert f.create_time == pytest.approx(1_700_000_000.5) and f.last_access_time == pytest.approx(1_700_000_001.5)
    assert (f.file_size, f.alloc_size, f.short_name, f.filename, f.file_id) == (
        1234, 4096, "SHORT~1.TXT", "a long name.txt", 7)
    assert f.isNormal and not f.isDirectory and not f.isReadOnly


def test_shared_device_properties():
    ipc = SharedDevice(0x80000003, "IPC$", "IPC Service")
    assert ipc.type == SharedDevice.IPC and ipc.isSpecial and not ipc.isTemporary
    disk = SharedDevice(0, "public", "")
    assert disk.type == SharedDevice.DISK_TREE and not disk.isSpecial
    assert "public" in str(disk)
