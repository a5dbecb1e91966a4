"""smb.smbfs helpers that need no server: paths, URL options, errors."""

import errno

import pytest

pytest.importorskip("fsspec")

from smb import ntstatus  # noqa: E402
from smb.base import OperationFailure  # noqa: E402
from smb.smbfs import SMBFileSystem, os_error  # noqa: E402


def test_paths_and_url_options():
    strip = SMBFileSystem._strip_protocol
    assert strip("smbpy://u:p@host:1445/share/a/b.txt") == "share/a/b.txt"
    assert strip("smbpy://host") == ""
    assert strip("/share/dir/") == "share/dir"
    assert strip(["smbpy://h/s/x", "s/y"]) == ["s/x", "s/y"]
    opts = SMBFileSystem._get_kwargs_from_urls("smbpy://alice:se%40cret@fs1:1445/share/x")
    assert opts["host"] == "fs1" and opts["port"] == 1445 and opts["username"] == "alice"


@pytest.mark.parametrize("status,cls,code", [
    (ntstatus.STATUS_OBJECT_NAME_NOT_FOUND, FileNotFoundError, errno.ENOENT),
    (ntstatus.STATUS_OBJECT_PATH_NOT_FOUND, FileNotFoundError, errno.ENOENT),
    (ntstatus.STATUS_OBJECT_NAME_COLLISION, FileExistsError, errno.EEXIST),
    (ntstatus.STATUS_ACCESS_DENIED, PermissionError, errno.EACCES),
    (ntstatus.STATUS_FILE_IS_A_DIRECTORY, IsADirectoryError, errno.EISDIR),
    (ntstatus.STATUS_NOT_A_DIRECTORY, NotADirectoryError, errno.ENOTDIR),
    (0xC0000001, OSError, errno.EIO),
])
def test_errors_map_to_oserror(status, cls, code):
    err = os_error(OperationFailure("Failed to open 'x'", [], status=status), "share/x")
    assert isinstance(err, cls) and isinstance(err, OperationFailure)
    assert err.errno == code and err.status == status
    assert err.filename == "share/x" and "0x%08X" % status in str(err)
