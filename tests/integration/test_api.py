"""SMBConnection round trips against the private Samba, once per profile (see conftest.py).

Results are checked against the server's disk (``disk``) wherever possible.
"""

import datetime
import io
import os
import time

import pytest

from smb import smb_constants
from smb.base import NotConnectedError, NotReadyError, OperationFailure, SharedDevice
from smb.ntstatus import (
    STATUS_BAD_NETWORK_NAME,
    STATUS_DIRECTORY_NOT_EMPTY,
    STATUS_NO_SUCH_FILE,
    STATUS_OBJECT_NAME_COLLISION,
    STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECT_PATH_NOT_FOUND,
)
from smb.security_descriptors import SecurityDescriptor
from tests import sambaserver
from tests.integration.conftest import make_connection

pytestmark = pytest.mark.integration


def names(listing):
    return sorted(f.filename for f in listing)


def test_list_shares(conn):
    shares = {s.name: s for s in conn.listShares()}
    assert isinstance(shares["public"], SharedDevice)
    assert shares["public"].type == SharedDevice.DISK_TREE and not shares["public"].isSpecial
    assert shares["public"].comments == "smbpy test share"
    assert shares["shadow"].comments == "shadow copies"
    assert shares["IPC$"].type == SharedDevice.IPC and shares["IPC$"].isSpecial


def test_nested_and_unicode_names(conn, share, workdir, disk):
    conn.createDirectory(share, workdir + "/sub")
    conn.createDirectory(share, workdir + "/sub/目录")
    name = workdir + "/sub/目录/日本語ファイル_한국어.txt"
    data = "内容 ✓\n".encode("utf-8") * 100
    assert conn.storeFile(share, name, io.BytesIO(data)) == len(data)
    assert disk.read(name) == data
    listing = conn.listPath(share, workdir + "/sub/目录")
    assert names(listing) == [".", "..", "日本語ファイル_한국어.txt"]
    (entry,) = [f for f in listing if f.filename.startswith("日本")]
    assert entry.file_size == len(data) and not entry.isDirectory
    out = io.BytesIO()
    assert conn.retrieveFile(share, name, out)[1] == len(data)
    assert out.getvalue() == data
    dirs = conn.listPath(share, workdir + "/sub")
    assert [f.isDirectory for f in dirs if f.filename == "目录"] == [True]


def test_large_folder_listing(conn, share, workdir, disk):
    for i in range(1100):
        disk.write("%s/file-%04d-with-a-fairly-long-name-to-need-several-pages.dat" % (workdir, i),
                   b"x" * (i % 7))
    listing = conn.listPath(share, workdir)
    assert len(listing) == 1102
    files = [f for f in listing if f.filename.startswith("file-")]
    assert len({f.filename for f in files}) == 1100
    sizes = {f.filename[:9]: f.file_size for f in files}
    assert sizes["file-0013"] == 13 % 7 and sizes["file-1099"] == 1099 % 7


def test_list_pattern_and_search_filter(conn, share, workdir, disk):
    for n in ("a.txt", "b.txt", "c.log"):
        disk.write(workdir + "/" + n, b"1")
    conn.createDirectory(share, workdir + "/d.txt")
    assert names(conn.listPath(share, workdir, pattern="*.txt")) == ["a.txt", "b.txt", "d.txt"]
    assert names(conn.listPath(share, workdir, pattern="?.log")) == ["c.log"]
    no_dirs = conn.listPath(share, workdir, search=smb_constants.SMB_FILE_ATTRIBUTE_READONLY
                            | smb_constants.SMB_FILE_ATTRIBUTE_ARCHIVE
                            | smb_constants.SMB_FILE_ATTRIBUTE_INCL_NORMAL)
    assert names(no_dirs) == ["a.txt", "b.txt", "c.log"]


@pytest.mark.parametrize("size_name", ["0", "1", "max_read", "20MiB"])
def test_store_and_retrieve_sizes(conn, share, workdir, disk, size_name):
    size = {"0": 0, "1": 1, "max_read": conn._engine.max_read_size,
            "20MiB": 20 * 1024 * 1024 + 12345}[size_name]
    data = os.urandom(size)
    path = workdir + "/blob.bin"
    assert conn.storeFile(share, path, io.BytesIO(data)) == size
    assert disk.read(path) == data
    out = io.BytesIO()
    attrs, n = conn.retrieveFile(share, path, out)
    assert n == size and out.getvalue() == data
    assert not attrs & smb_constants.ATTR_DIRECTORY
    assert conn.getAttributes(share, path).file_size == size


def test_ranged_reads(conn, share, workdir, disk):
    data = os.urandom(100_003)
    disk.write(workdir + "/r.bin", data)
    cases = [(0, 10), (1, 0), (7, 12345), (99_999, 10), (100_003, 10), (200_000, 5), (3, -1),
             (65_535, 65_538)]
    for offset, length in cases:
        out = io.BytesIO()
        _, n = conn.retrieveFileFromOffset(share, workdir + "/r.bin", out, offset, length)
        expected = data[offset:] if length < 0 else data[offset:offset + length]
        assert out.getvalue() == expected, (offset, length)
        assert n == len(expected)


def test_store_from_offset(conn, share, workdir, disk):
    path = workdir + "/o.bin"
    disk.write(path, b"0123456789" * 3)
    assert conn.storeFileFromOffset(share, path, io.BytesIO(b"abc"), offset=5) == 8
    assert disk.read(path) == b"01234abc89" + b"0123456789" * 2
    assert conn.storeFileFromOffset(share, path, io.BytesIO(b"XY"), offset=40) == 42
    assert disk.read(path) == b"01234abc89" + b"0123456789" * 2 + b"\0" * 10 + b"XY"
    assert conn.storeFileFromOffset(share, path, io.BytesIO(b"new"), offset=2, truncate=True) == 5
    assert disk.read(path) == b"\0\0new"
    assert conn.storeFileFromOffset(share, workdir + "/fresh.bin", io.BytesIO(b"q"), 3) == 4
    assert disk.read(workdir + "/fresh.bin") == b"\0\0\0q"


def test_store_replaces_existing_file(conn, share, workdir, disk):
    disk.write(workdir + "/f", b"long old contents")
    conn.storeFile(share, workdir + "/f", io.BytesIO(b"new"))
    assert disk.read(workdir + "/f") == b"new"


def test_delete_files_wildcards(conn, share, workdir, disk):
    for n in ("a.tmp", "b.tmp", "keep.txt"):
        disk.write(workdir + "/" + n, b"1")
    conn.createDirectory(share, workdir + "/dir.tmp")
    conn.storeFile(share, workdir + "/dir.tmp/inner.txt", io.BytesIO(b"in"))
    conn.deleteFiles(share, workdir + "/*.tmp")
    assert names(conn.listPath(share, workdir)) == [".", "..", "dir.tmp", "keep.txt"]
    conn.deleteFiles(share, workdir + "/*.tmp", delete_matching_folders=True)
    assert names(conn.listPath(share, workdir)) == [".", "..", "keep.txt"]
    assert not disk.exists(workdir + "/dir.tmp")
    conn.deleteFiles(share, workdir + "/keep.txt")
    assert names(conn.listPath(share, workdir)) == [".", ".."]
    conn.deleteFiles(share, workdir + "/nothing*")  # as in pysmb: no match, no error
    with pytest.raises(OperationFailure) as e:
        conn.deleteFiles(share, workdir + "/nothing")  # an exact name must exist
    assert e.value.status in (STATUS_NO_SUCH_FILE, STATUS_OBJECT_NAME_NOT_FOUND)


def test_rename_file_and_folder(conn, share, workdir, disk):
    disk.write(workdir + "/old.txt", b"payload")
    conn.rename(share, workdir + "/old.txt", workdir + "/new.txt")
    assert disk.read(workdir + "/new.txt") == b"payload" and not disk.exists(workdir + "/old.txt")
    conn.createDirectory(share, workdir + "/d1")
    conn.rename(share, workdir + "/new.txt", workdir + "/d1/moved.txt")
    conn.rename(share, workdir + "/d1", workdir + "/d2")
    assert disk.read(workdir + "/d2/moved.txt") == b"payload"
    disk.write(workdir + "/other.txt", b"o")
    with pytest.raises(OperationFailure) as e:
        conn.rename(share, workdir + "/other.txt", workdir + "/d2/moved.txt")
    assert e.value.status == STATUS_OBJECT_NAME_COLLISION


def test_directories_and_errors(conn, share, workdir, disk):
    conn.createDirectory(share, workdir + "/x")
    assert os.path.isdir(disk.path(workdir + "/x"))
    with pytest.raises(OperationFailure) as e:
        conn.createDirectory(share, workdir + "/x")
    assert e.value.status == STATUS_OBJECT_NAME_COLLISION
    disk.write(workdir + "/x/f", b"1")
    with pytest.raises(OperationFailure) as e:
        conn.deleteDirectory(share, workdir + "/x")
    assert e.value.status == STATUS_DIRECTORY_NOT_EMPTY
    assert workdir + "/x" in str(e.value) and "public" in str(e.value)
    conn.deleteFiles(share, workdir + "/x/f")
    conn.deleteDirectory(share, workdir + "/x")
    assert not disk.exists(workdir + "/x")
    with pytest.raises(OperationFailure) as e:
        conn.retrieveFile(share, workdir + "/missing.txt", io.BytesIO())
    assert e.value.status == STATUS_OBJECT_NAME_NOT_FOUND
    assert "missing.txt" in str(e.value) and e.value.args[1] and e.value.args[1][-1].status == e.value.status
    with pytest.raises(OperationFailure) as e:
        conn.listPath(share, workdir + "/no/such/dir")
    assert e.value.status in (STATUS_OBJECT_PATH_NOT_FOUND, STATUS_OBJECT_NAME_NOT_FOUND)
    with pytest.raises(OperationFailure) as e:
        conn.listPath("nosuchshare", "/")
    assert e.value.status == STATUS_BAD_NETWORK_NAME and "nosuchshare" in str(e.value)


def test_attributes_times_and_security(conn, share, workdir, disk):
    disk.write(workdir + "/a.txt", b"12345")
    attrs = conn.getAttributes(share, workdir + "/a.txt")
    st = os.stat(disk.path(workdir + "/a.txt"))
    assert attrs.filename == "a.txt" and attrs.file_size == 5 and not attrs.isDirectory
    assert abs(attrs.last_write_time - st.st_mtime) < 2
    assert conn.getAttributes(share, workdir).isDirectory
    conn.setLastWriteTime(share, workdir + "/a.txt", 1_000_000_000)
    assert os.stat(disk.path(workdir + "/a.txt")).st_mtime == pytest.approx(1_000_000_000, abs=1)
    assert conn.getAttributes(share, workdir + "/a.txt").last_write_time == pytest.approx(1e9, abs=1)
    conn.resetFileAttributes(share, workdir + "/a.txt", smb_constants.ATTR_HIDDEN | smb_constants.ATTR_READONLY)
    got = conn.getAttributes(share, workdir + "/a.txt")
    assert got.isReadOnly and got.file_attributes & smb_constants.ATTR_HIDDEN
    # pysmb's rule: entries sharing a bit with ``search`` (here read-only) are listed
    assert names(conn.listPath(share, workdir, search=0x10 | 0x01)) == [".", "..", "a.txt"]
    assert names(conn.listPath(share, workdir, search=0x10)) == [".", ".."]
    conn.resetFileAttributes(share, workdir + "/*.txt")
    got = conn.getAttributes(share, workdir + "/a.txt")
    assert not got.isReadOnly and not got.file_attributes & smb_constants.ATTR_HIDDEN
    sd = conn.getSecurity(share, workdir + "/a.txt")
    assert isinstance(sd, SecurityDescriptor)
    assert str(sd.owner).startswith("S-1-") and sd.dacl is not None and len(sd.dacl.aces) >= 1


def test_snapshots(conn, samba_factory, profile):
    info = samba_factory(profile[1])
    if not info.shadow_share:
        pytest.skip("server has no shadow-copy share")
    snaps = conn.listSnapshots(info.shadow_share, "/file.txt")
    expected = sorted(datetime.datetime.strptime(s, "@GMT-%Y.%m.%d-%H.%M.%S")
                      for s in sambaserver.SNAPSHOTS)
    assert sorted(snaps) == expected
    assert conn.listSnapshots(info.shadow_share, "/") and all(s.tzinfo is None for s in snaps)


def test_echo(conn):
    assert conn.echo(b"ping data") == b"ping data"
    assert conn.echo("text") == "text"


def test_wrong_password_and_unknown_user(server, profile):
    _, _, direct, smb1, kwargs, _ = profile
    c, ok = make_connection(server, direct, smb1, password="wrong-password", **dict(kwargs))
    assert ok is False
    with pytest.raises((NotReadyError, NotConnectedError)):
        c.listShares()
    server2 = type(server)(**{**server.__dict__, "user": "nosuchuser"})
    c, ok = make_connection(server2, direct, smb1, **dict(kwargs))
    assert ok is False


def test_close_and_context_manager(server, profile):
    _, _, direct, smb1, kwargs, _ = profile
    c, ok = make_connection(server, direct, smb1, **dict(kwargs))
    assert ok
    with c:
        assert c.listPath(server.share, "/")
    with pytest.raises(NotConnectedError):
        c.listPath(server.share, "/")
    c.close()  # twice is fine


def test_timeout_bounds_each_response_not_the_transfer(conn, share, workdir, disk):
    """pysmb's meaning of ``timeout``: the longest wait for one response. A transfer that
    takes longer than ``timeout`` in all (here a slow sink, 8 x 0.2 s) still succeeds."""
    data = os.urandom(8 << 20)
    disk.write(workdir + "/big.bin", data)
    out = _SlowSink()
    start = time.monotonic()
    attrs, size = conn.retrieveFile(share, workdir + "/big.bin", out, timeout=0.5)
    assert time.monotonic() - start > 0.5
    assert size == len(data) and out.buf.getvalue() == data
    up = _SlowSource(data)
    start = time.monotonic()
    assert conn.storeFile(share, workdir + "/up.bin", up, timeout=0.5) == len(data)
    assert time.monotonic() - start > 0.5
    assert disk.read(workdir + "/up.bin") == data


class _SlowSource:
    def __init__(self, data):
        self.src = io.BytesIO(data)
        self.slow_reads = 4

    def read(self, n=-1):
        if self.slow_reads:  # 4 x 0.2 s: longer in all than the 0.5 s timeout
            self.slow_reads -= 1
            time.sleep(0.2)
        return self.src.read(n)


class _SlowSink:
    def __init__(self):
        self.buf = io.BytesIO()

    def write(self, data):
        time.sleep(0.2)
        return self.buf.write(data)


def test_progress_bars(conn, share, workdir):
    pytest.importorskip("tqdm")
    data = os.urandom(3 << 20)
    bar_out = io.StringIO()
    conn.storeFile(share, workdir + "/p.bin", io.BytesIO(data), show_progress=True,
                   tqdm_kwargs={"file": bar_out, "mininterval": 0, "desc": "up"})
    assert "up" in bar_out.getvalue() and "3.00M" in bar_out.getvalue()
    bar_out = io.StringIO()
    out = io.BytesIO()
    conn.retrieveFile(share, workdir + "/p.bin", out, show_progress=True,
                      tqdm_kwargs={"file": bar_out, "mininterval": 0})
    assert out.getvalue() == data
    text = bar_out.getvalue()
    assert "100%" in text and "p.bin" in text


class _KeepingSink:
    """A pysmb-era sink: it keeps the objects ``write`` gives it."""

    def __init__(self):
        self.chunks = []

    def write(self, data):
        self.chunks.append(data)


def test_a_sink_that_keeps_its_chunks_gets_bytes(conn, share, workdir, disk):
    """pysmb gave ``write`` bytes: a sink may keep them. Only io objects get views."""
    data = os.urandom(3 << 20)
    disk.write(workdir + "/keep.bin", data)
    sink = _KeepingSink()
    assert conn.retrieveFile(share, workdir + "/keep.bin", sink)[1] == len(data)
    assert all(isinstance(c, bytes) for c in sink.chunks)
    assert b"".join(sink.chunks) == data


class _FailingSink:
    """A local file that fails (disk full) at its second write."""

    def __init__(self):
        self.writes = 0

    def write(self, data):
        self.writes += 1
        if self.writes == 2:
            raise OSError(28, "No space left on device")
        return len(data)


def test_a_failing_sink_leaves_the_connection_working(conn, share, workdir, disk):
    """The READs still in flight when the caller's sink fails are waited out before the
    CLOSE (Samba 4.17's SMB1 server crashes on a CLOSE with READs outstanding), and the
    connection goes on: the same file, and another, are read whole afterwards."""
    data = os.urandom(24 << 20)
    disk.write(workdir + "/big.bin", data)
    for _ in range(3):
        with pytest.raises(OSError, match="No space"):
            conn.retrieveFile(share, workdir + "/big.bin", _FailingSink())
    out = io.BytesIO()
    assert conn.retrieveFile(share, workdir + "/big.bin", out)[1] == len(data)
    assert out.getvalue() == data
    conn.storeFile(share, workdir + "/after.bin", io.BytesIO(b"still here"))
    assert disk.read(workdir + "/after.bin") == b"still here"
