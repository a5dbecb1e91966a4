"""SMBConnection.openFile against the private Samba: every mode, reads and writes checked on
the server's disk, read-ahead and write-behind, seeks, truncate, text modes, errors as
OSError subclasses, closed files, and files closed with their connection -- over SMB 3.1.1
(plain and encrypted) and SMB1."""

import hashlib
import io
import os
import shutil

import pytest

from smb import ntstatus as S
from smb.errors import OperationFailure
from smb.fileobj import SMBRawFile
from tests.integration.fileprofiles import fconn, fconn2, fdir, fdisk, fprofile, fserver  # noqa: F401

pytestmark = pytest.mark.integration


def p(d, name):
    return d + "\\" + name


class Spy:
    """Records the READs a file object sends (offset, length)."""

    def __init__(self, monkeypatch, engine):
        self.reads = []
        orig = engine.submit_read

        def submit_read(tree, fid, offset, length, timeout):
            self.reads.append((offset, length))
            return orig(tree, fid, offset, length, timeout)

        monkeypatch.setattr(engine, "submit_read", submit_read)


def test_write_then_read_binary(fconn, fserver, fdir, fdisk):
    data = os.urandom(300_000)
    with fconn.openFile(fserver.share, p(fdir, "a.bin"), "wb") as f:
        assert (f.name, f.mode) == (p(fdir, "a.bin"), "wb")
        assert f.writable() and not f.readable() and f.seekable()
        assert f.write(data[:10]) == 10
        assert f.write(memoryview(data)[10:]) == len(data) - 10
        assert f.tell() == len(data)
    assert fdisk.read(p(fdir, "a.bin")) == data
    with fconn.openFile(fserver.share, p(fdir, "a.bin")) as f:
        assert f.mode == "rb" and f.readable() and not f.writable()
        assert f.read(5) == data[:5]
        buf = bytearray(100)
        assert f.readinto(buf) == 100 and bytes(buf) == data[5:105]
        assert f.read() == data[105:]
        assert f.read() == b"" and f.read(10) == b""


def test_large_copy_both_ways(fconn, fserver, fdir, fdisk, tmp_path):
    data = os.urandom(9 * 1024 * 1024 + 12345)
    with fconn.openFile(fserver.share, p(fdir, "big.bin"), "wb") as f:
        shutil.copyfileobj(io.BytesIO(data), f, 1 << 20)
    assert hashlib.sha256(fdisk.read(p(fdir, "big.bin"))).digest() == hashlib.sha256(data).digest()
    out = io.BytesIO()
    with fconn.openFile(fserver.share, p(fdir, "big.bin"), "rb") as f:
        shutil.copyfileobj(f, out, 1 << 20)
    assert out.getvalue() == data
    # small reads all the way (read-ahead serves them) and the file iterated by lines
    with fconn.openFile(fserver.share, p(fdir, "big.bin"), "rb") as f:
        parts = iter(lambda: f.read(7001), b"")
        assert b"".join(parts) == data
    with fconn.openFile(fserver.share, p(fdir, "big.bin"), "rb", buffering=0) as f:
        assert f.readall() == data


def test_random_access_reads_exactly_what_is_asked(fconn, fserver, fdir, fdisk, monkeypatch):
    data = os.urandom(4 * 1024 * 1024)
    fdisk.write(p(fdir, "r.bin"), data)
    spy = Spy(monkeypatch, fconn._engine)
    with fconn.openFile(fserver.share, p(fdir, "r.bin"), "rb", buffering=0) as f:
        f.seek(1_000_000)
        assert f.read(100) == data[1_000_000:1_000_100]
        assert spy.reads == [(1_000_000, 100)]
        f.seek(-50, io.SEEK_END)
        assert f.tell() == len(data) - 50
        assert f.read(10) == data[-50:-40]
        assert spy.reads[1:] == [(len(data) - 50, 10)]
        f.seek(-1000, io.SEEK_CUR)
        assert f.read(1) == data[len(data) - 1040:len(data) - 1039]
        assert spy.reads[2:] == [(len(data) - 1040, 1)]
        # sequential from there: read ahead, never beyond the file
        del spy.reads[:]
        f.seek(0)
        assert f.read(65536) == data[:65536]
        assert f.read(65536) == data[65536:131072]
        ahead_end = max(o + n for o, n in spy.reads)
        assert ahead_end > 131072 and ahead_end <= len(data)
        # a seek drops what was read ahead: the next read is exact again
        del spy.reads[:]
        f.seek(3_000_000)
        assert f.read(4096) == data[3_000_000:3_004_096]
        assert spy.reads == [(3_000_000, 4096)]


def test_update_modes(fconn, fserver, fdir, fdisk):
    data = bytes(range(256)) * 100
    fdisk.write(p(fdir, "u.bin"), data)
    with fconn.openFile(fserver.share, p(fdir, "u.bin"), "r+b") as f:
        assert f.mode == "rb+"
        f.seek(1000)
        f.write(b"XYZ")
        f.seek(998)
        assert f.read(7) == data[998:1000] + b"XYZ" + data[1003:1005]  # sees its own writes
        assert f.truncate(5000) == 5000
        assert f.tell() == 1005
        f.seek(0, io.SEEK_END)
        assert f.tell() == 5000
    expected = bytearray(data[:5000])
    expected[1000:1003] = b"XYZ"
    assert fdisk.read(p(fdir, "u.bin")) == expected
    with fconn.openFile(fserver.share, p(fdir, "u.bin"), "w+b") as f:
        assert f.read() == b""
        f.write(b"fresh")
        f.seek(0)
        assert f.read() == b"fresh"
    assert fdisk.read(p(fdir, "u.bin")) == b"fresh"


def test_append_modes(fconn, fserver, fdir, fdisk):
    fdisk.write(p(fdir, "log.txt"), b"one\n")
    with fconn.openFile(fserver.share, p(fdir, "log.txt"), "ab") as f:
        assert f.mode == "ab" and f.tell() == 4
        f.write(b"two\n")
        f.seek(0)
        f.write(b"three\n")  # still at the end
    assert fdisk.read(p(fdir, "log.txt")) == b"one\ntwo\nthree\n"
    # (buffered, a read after an append may see the read buffer, as with Python's own files)
    with fconn.openFile(fserver.share, p(fdir, "log.txt"), "a+b", buffering=0) as f:
        assert f.mode == "ab+"
        f.seek(0)
        assert f.read(4) == b"one\n"
        f.write(b"four\n")
        assert f.tell() == 19
        f.seek(0)
        assert f.read() == b"one\ntwo\nthree\nfour\n"
    assert fdisk.read(p(fdir, "log.txt")) == b"one\ntwo\nthree\nfour\n"
    with fconn.openFile(fserver.share, p(fdir, "new.txt"), "ab") as f:
        f.write(b"created")
    assert fdisk.read(p(fdir, "new.txt")) == b"created"


def test_exclusive_create(fconn, fserver, fdir, fdisk):
    with fconn.openFile(fserver.share, p(fdir, "x.bin"), "xb") as f:
        assert f.mode == "xb"
        f.write(b"only once")
    assert fdisk.read(p(fdir, "x.bin")) == b"only once"
    with pytest.raises(FileExistsError) as e:
        fconn.openFile(fserver.share, p(fdir, "x.bin"), "xb")
    assert isinstance(e.value, OperationFailure)
    assert e.value.status == S.STATUS_OBJECT_NAME_COLLISION and e.value.errno == 17
    assert fdisk.read(p(fdir, "x.bin")) == b"only once"


def test_text_modes(fconn, fserver, fdir, fdisk):
    with fconn.openFile(fserver.share, p(fdir, "t.txt"), "w", encoding="utf-8", newline="\r\n") as f:
        assert f.mode == "w" and f.encoding == "utf-8"
        f.write("héllo\nwörld\n")
        assert f.name == p(fdir, "t.txt")
    assert fdisk.read(p(fdir, "t.txt")) == "héllo\r\nwörld\r\n".encode("utf-8")
    with fconn.openFile(fserver.share, p(fdir, "t.txt"), "r", encoding="utf-8") as f:
        assert f.readlines() == ["héllo\n", "wörld\n"]
    with fconn.openFile(fserver.share, p(fdir, "t.txt"), "a", encoding="utf-8", newline="") as f:
        print("third", file=f)
    with fconn.openFile(fserver.share, p(fdir, "t.txt"), "r", encoding="latin-1", newline="") as f:
        assert f.read().endswith("third\n")
    with fconn.openFile(fserver.share, p(fdir, "t.txt"), "r", encoding="ascii") as f:
        with pytest.raises(UnicodeDecodeError):
            f.read()
    with pytest.raises(ValueError):
        fconn.openFile(fserver.share, p(fdir, "t.txt"), "r", buffering=0)


def test_errors_are_os_errors(fconn, fconn2, fserver, fdir, fdisk):
    share = fserver.share
    with pytest.raises(FileNotFoundError) as e:
        fconn.openFile(share, p(fdir, "missing.bin"))
    assert isinstance(e.value, OperationFailure) and e.value.errno == 2
    assert e.value.status == S.STATUS_OBJECT_NAME_NOT_FOUND and "missing.bin" in str(e.value)
    with pytest.raises(FileNotFoundError) as e:
        fconn.openFile(share, p(fdir, "no\\such\\dir.bin"), "wb")
    assert e.value.status == S.STATUS_OBJECT_PATH_NOT_FOUND
    fconn.createDirectory(share, p(fdir, "sub"))
    with pytest.raises(IsADirectoryError) as e:
        fconn.openFile(share, p(fdir, "sub"))
    assert e.value.status == S.STATUS_FILE_IS_A_DIRECTORY and e.value.errno == 21
    # another open that shares nothing: PermissionError (STATUS_SHARING_VIOLATION)
    fdisk.write(p(fdir, "locked.bin"), b"x")
    with fconn.openFile(share, p(fdir, "locked.bin"), "rb", share_access=0):
        with pytest.raises(PermissionError) as e:
            fconn2.openFile(share, p(fdir, "locked.bin"), "rb")
        assert e.value.status == S.STATUS_SHARING_VIOLATION and e.value.errno == 13
    with fconn2.openFile(share, p(fdir, "locked.bin"), "rb") as f:
        assert f.read() == b"x"
    # a read-only file on the server's disk
    fdisk.write(p(fdir, "ro.bin"), b"ro")
    os.chmod(fdisk.path(p(fdir, "ro.bin")), 0o444)
    with pytest.raises(PermissionError) as e:
        fconn.openFile(share, p(fdir, "ro.bin"), "r+b")
    assert e.value.status == S.STATUS_ACCESS_DENIED
    with fconn.openFile(share, p(fdir, "ro.bin"), "rb") as f:
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"no")
    with fconn.openFile(share, p(fdir, "w.bin"), "wb") as f:
        with pytest.raises(io.UnsupportedOperation):
            f.read()
    assert fconn.echo(b"still usable") == b"still usable"


def test_closed_files_and_io_protocol(fconn, fserver, fdir):
    f = fconn.openFile(fserver.share, p(fdir, "c.bin"), "w+b", buffering=0)
    assert isinstance(f, SMBRawFile)
    with pytest.raises(io.UnsupportedOperation):
        f.fileno()
    assert not f.isatty()
    f.write(b"abc")
    f.close()
    f.close()  # twice is fine
    assert f.closed
    for call in (lambda: f.read(1), lambda: f.write(b"x"), lambda: f.seek(0), f.tell, f.flush,
                 f.readable, lambda: f.lock(0, 1), lambda: f.truncate(0)):
        with pytest.raises(ValueError):
            call()
    g = fconn.openFile(fserver.share, p(fdir, "c.bin"), "rb")
    with pytest.raises(io.UnsupportedOperation):
        g.fileno()
    g.close()
    with pytest.raises(ValueError):
        g.read()
    with pytest.warns(RuntimeWarning):
        fconn.openFile(fserver.share, p(fdir, "c.bin"), "rb", buffering=1).close()
    with pytest.raises(OSError):
        fconn.openFile(fserver.share, p(fdir, "c.bin"), "rb").seek(-1)


def test_closing_the_connection_closes_its_files(fprofile, fserver, fdir, fdisk):
    from tests.integration.fileprofiles import connect

    c = connect(fserver, fprofile)
    w = c.openFile(fserver.share, p(fdir, "pending.bin"), "wb")
    data = os.urandom(3 * 1024 * 1024 + 7)
    w.write(data)  # buffered and written behind: on its way when the connection closes
    r = c.openFile(fserver.share, p(fdir, "pending.bin"), "rb", buffering=0)
    c.close()
    assert w.closed and r.closed
    assert fdisk.read(p(fdir, "pending.bin")) == data
    with pytest.raises(ValueError):
        w.write(b"more")
    with pytest.raises(ValueError):
        r.read(1)


def test_seek_during_read_ahead_then_close(fconn, fserver, fdir, fdisk):
    """READs read ahead and dropped are answered before the CLOSE (Samba 4.17 crashes when an
    SMB1 CLOSE finds reads outstanding): the connection stays usable."""
    data = os.urandom(6 * 1024 * 1024)
    fdisk.write(p(fdir, "ra.bin"), data)
    for _ in range(3):
        with fconn.openFile(fserver.share, p(fdir, "ra.bin"), "rb") as f:
            for _ in range(4):
                f.read(256 * 1024)
            f.seek(5 * 1024 * 1024)
            assert f.read(10) == data[5 * 1024 * 1024:5 * 1024 * 1024 + 10]
            f.read(200 * 1024)
        with fconn.openFile(fserver.share, p(fdir, "ra.bin"), "rb") as f:
            f.seek(len(data) - 1000)
            assert f.read(5000) == data[-1000:]
            assert f.read(1 << 20) == b""
    assert fconn.echo(b"alive") == b"alive"


def test_reads_see_a_file_grow(fconn, fconn2, fserver, fdir):
    with fconn.openFile(fserver.share, p(fdir, "grow.bin"), "wb") as w:
        w.write(b"a" * 1000)
        w.flush()
        with fconn2.openFile(fserver.share, p(fdir, "grow.bin"), "rb") as r:
            assert r.read() == b"a" * 1000
            w.write(b"b" * 500)
            w.flush()
            assert r.read() == b"b" * 500
            assert r.read() == b""


def test_no_timeout(fconn, fserver, fdir, fdisk):
    """timeout=None: every wait without limit (pysmb's meaning of no timeout)."""
    with fconn.openFile(fserver.share, p(fdir, "n.bin"), "w+b", timeout=None) as f:
        f.write(b"abc" * 1000)
        f.seek(0)
        assert f.read() == b"abc" * 1000
        f.lock(0, 3, wait=True)
    assert fdisk.read(p(fdir, "n.bin")) == b"abc" * 1000


def test_empty_file(fconn, fserver, fdir, fdisk):
    with fconn.openFile(fserver.share, p(fdir, "empty.bin"), "wb"):
        pass
    assert fdisk.read(p(fdir, "empty.bin")) == b""
    with fconn.openFile(fserver.share, p(fdir, "empty.bin"), "rb") as f:
        assert f.read() == b"" and f.read(10) == b"" and f.readline() == b""
