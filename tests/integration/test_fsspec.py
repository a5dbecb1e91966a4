"""The fsspec filesystem (issue 15.3) against the private Samba: fsspec's own abstract test
suites (copy, get, put, open, pipe) and a smoke test through ``fsspec.open`` and the
``smbpy://`` entry point, checked on the server's disk."""

import itertools
import os
import posixpath
import shutil
import threading

import pytest

fsspec = pytest.importorskip("fsspec")
from fsspec.tests import abstract  # noqa: E402

from smb.smbfs import SMBFileSystem  # noqa: E402

pytestmark = pytest.mark.integration

_folders = itertools.count()


def _filesystem(info):
    return SMBFileSystem(info.host, port=info.port, username=info.user, password=info.password,
                         server_name=info.server_name, timeout=30, skip_instance_cache=True)


class SMBFixtures(abstract.AbstractFixtures):
    @pytest.fixture
    def fs(self, samba):
        fs = _filesystem(samba)
        yield fs
        fs.close()

    @pytest.fixture
    def fs_join(self):
        return posixpath.join

    @pytest.fixture
    def fs_path(self, fs, samba):
        name = "fsspec-%d-%d" % (os.getpid(), next(_folders))
        local = os.path.join(samba.share_path, name)
        os.makedirs(local)
        os.chmod(local, 0o777)
        yield "%s/%s" % (samba.share, name)
        shutil.rmtree(local, ignore_errors=True)


class TestSMBCopy(abstract.AbstractCopyTests, SMBFixtures):
    pass


class TestSMBGet(abstract.AbstractGetTests, SMBFixtures):
    pass


class TestSMBPut(abstract.AbstractPutTests, SMBFixtures):
    pass


class TestSMBOpen(abstract.AbstractOpenTests, SMBFixtures):
    pass


class TestSMBPipe(abstract.AbstractPipeTests, SMBFixtures):
    pass


def test_fsspec_open_by_url_and_the_disk(samba):
    """``fsspec.open("smbpy://user:pw@host:port/share/...")`` writes and reads; the bytes
    are those on the server's disk; ls/info/rm/mv/makedirs agree with the disk."""
    base = "smbpy://%s:%s@%s:%d/%s" % (samba.user, samba.password, samba.host, samba.port, samba.share)
    local = os.path.join(samba.share_path, "fsspec-smoke")
    os.makedirs(local, exist_ok=True)
    os.chmod(local, 0o777)
    data = os.urandom(3 * (4 << 20) + 123)  # several 4 MiB blocks and a tail
    with fsspec.open(base + "/fsspec-smoke/a.bin", "wb", server_name=samba.server_name) as f:
        for k in range(0, len(data), 1 << 20):
            f.write(data[k:k + (1 << 20)])
    with open(os.path.join(local, "a.bin"), "rb") as f:
        assert f.read() == data
    with fsspec.open(base + "/fsspec-smoke/a.bin", "rb", server_name=samba.server_name) as f:
        assert f.read(10) == data[:10]
        f.seek(5 << 20)
        assert f.read(100) == data[5 << 20:(5 << 20) + 100]
        f.seek(0)
        assert f.read() == data
    with fsspec.open(base + "/fsspec-smoke/t.txt", "wt", encoding="utf-8",
                     server_name=samba.server_name) as f:
        f.write("zwölf Boxkämpfer\n")
    with open(os.path.join(local, "t.txt"), encoding="utf-8") as f:
        assert f.read() == "zwölf Boxkämpfer\n"
    with fsspec.open(base + "/fsspec-smoke/t.txt", "ab", server_name=samba.server_name) as f:
        f.write(b"more\n")
    with open(os.path.join(local, "t.txt"), "rb") as f:
        assert f.read() == "zwölf Boxkämpfer\nmore\n".encode()

    fs = fsspec.filesystem("smbpy", host=samba.host, port=samba.port, username=samba.user,
                           password=samba.password, server_name=samba.server_name)
    assert isinstance(fs, SMBFileSystem)
    root = samba.share + "/fsspec-smoke"
    assert sorted(fs.ls(root, detail=False)) == [root + "/a.bin", root + "/t.txt"]
    assert fs.info(root + "/a.bin")["size"] == len(data) and fs.isdir(root)
    assert fs.cat_file(root + "/a.bin", start=-5) == data[-5:]
    assert samba.share in fs.ls("", detail=False)
    with pytest.raises(FileNotFoundError):
        fs.info(root + "/missing")
    with pytest.raises(FileNotFoundError):
        fs.cat_file(root + "/missing")
    fs.makedirs(root + "/x/y/z")
    assert os.path.isdir(os.path.join(local, "x", "y", "z"))
    fs.mv(root + "/t.txt", root + "/x/y/t2.txt")
    assert os.path.exists(os.path.join(local, "x", "y", "t2.txt")) and not os.path.exists(os.path.join(local, "t.txt"))
    fs.copy(root + "/a.bin", root + "/x/a-copy.bin")
    with open(os.path.join(local, "x", "a-copy.bin"), "rb") as f:
        assert f.read() == data
    fs.rm(root, recursive=True)
    assert not os.path.exists(local)
    fs.close()


def test_one_connection_many_threads(samba):
    """Calls from many threads share the filesystem's one connection."""
    fs = _filesystem(samba)
    local = os.path.join(samba.share_path, "fsspec-threads")
    os.makedirs(local, exist_ok=True)
    os.chmod(local, 0o777)
    errors = []

    def work(k):
        try:
            for i in range(5):
                path = "%s/fsspec-threads/%d-%d.bin" % (samba.share, k, i)
                fs.pipe_file(path, b"%d" % (k * 100 + i) * 1000)
                assert fs.cat_file(path) == b"%d" % (k * 100 + i) * 1000
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:2]
    assert len(os.listdir(local)) == 40
    conn = fs.conn
    assert fs.conn is conn  # one connection throughout
    fs.rm(samba.share + "/fsspec-threads", recursive=True)
    fs.close()
