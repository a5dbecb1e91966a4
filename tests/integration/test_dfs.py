"""DFS links followed transparently, against a private Samba with an ``msdfs root`` share
(``[dfsroot]``) whose links lead to a second private Samba.

A referral carries no port, so the second server listens on 127.0.0.2 on the same port
numbers as the first one (which binds 127.0.0.1 only). Links (``msdfs:`` symbolic links,
Samba's syntax ``msdfs:server\\share[\\path]``):

* ``remote``  -> ``127.0.0.2\\public``: the second server (a second connection with the
  same credentials and security settings);
* ``remote2`` -> ``127.0.0.2\\public\\sub``: the same share, a folder in it;
* ``link``    -> ``127.0.0.1\\public``: the first server by the address the client used (the
  referring connection serves it);
* ``loop``    -> ``127.0.0.1\\dfsroot\\loop``: a referral to itself (a loop).

The tests assert what lands on each server's disk.
"""

import copy
import io
import os
import pwd
import shutil
import socket
import subprocess
import threading
from collections import namedtuple

import pytest

from smb import dfs, fscc, notify
from smb.base import OperationFailure
from smb.engine import Timeout
from smb.ntstatus import STATUS_NOT_SAME_DEVICE, STATUS_PATH_NOT_COVERED
from tests import sambaserver
from tests.integration.conftest import Disk, make_connection

pytestmark = pytest.mark.integration

SECOND = "127.0.0.2"
LINKS = {"remote": SECOND + "\\public", "remote2": SECOND + "\\public\\sub",
         "link": "127.0.0.1\\public", "loop": "127.0.0.1\\dfsroot\\loop"}
#: where each link's files are: (server index, folder in its [public])
WHERE = {"remote": (1, ""), "remote2": (1, "sub"), "link": (0, "")}

Servers = namedtuple("Servers", "root second root_disk second_disk dfsroot")


class DfsSamba(sambaserver.SambaServer):
    """The default variant plus ``[dfsroot]`` (``msdfs root = yes``) holding LINKS."""

    def _config(self, share, shadow, port, nb_port):
        root = os.path.join(self.base, "dfsroot")
        os.makedirs(root, exist_ok=True)
        pw = pwd.getpwnam(sambaserver.TEST_USER)
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name, target in LINKS.items():
            os.symlink("msdfs:" + target, os.path.join(root, name))
        return super()._config(share, shadow, port, nb_port) + "\n".join([
            "", "[dfsroot]", "    path = %s" % root, "    msdfs root = yes", "    read only = no",
            "    valid users = %s" % sambaserver.TEST_USER, ""])


@pytest.fixture(scope="module")
def dfs_servers():
    try:
        socket.socket().bind((SECOND, 0))
    except OSError as e:
        pytest.skip("cannot bind %s (needs a Linux-style 127/8 loopback): %s" % (SECOND, e))
    root = DfsSamba("default", {"host msdfs": "yes"})
    second = None
    try:
        info = root.start()
        second = sambaserver.SambaServer("default", host=SECOND, ports=(info.port, info.netbios_port))
        info2 = second.start()
        disk2 = Disk(info2)
        os.makedirs(disk2.path("sub"))
        os.chown(disk2.path("sub"), disk2.uid, disk2.gid)
        yield Servers(info, info2, Disk(info), disk2, os.path.join(root.base, "dfsroot"))
    finally:
        if second is not None:
            second.stop()
        root.stop()


@pytest.fixture(params=[("smb311-signed", False, {"require_signing": True}),
                        ("smb311-encrypted", False, {"require_encryption": True}),
                        ("smb1", True, {})], ids=lambda p: p[0])
def dconn(request, dfs_servers):
    c, ok = make_connection(dfs_servers.root, True, request.param[1], **dict(request.param[2]))
    assert ok
    if not request.param[1]:
        assert c.dialect == 0x0311
        assert c.security.signed and (c.security.encrypted or "encrypted" not in request.param[0])
    yield c
    c.close()


def _fresh(disk, name):
    os.makedirs(disk.path(name))
    os.chown(disk.path(name), disk.uid, disk.gid)


@pytest.fixture
def folders(dfs_servers, request):
    """A fresh folder (the same name) in [public] of both servers and in sub/ of the second."""
    name = "dfs-%s" % request.node.name.replace("[", "-").rstrip("]")
    for rel in (name, "sub/" + name):
        _fresh(dfs_servers.second_disk, rel)
    _fresh(dfs_servers.root_disk, name)
    return name


def _disk_of(servers, link, name):
    """(Disk, folder path on it) behind ``link``/``name``."""
    index, sub = WHERE[link]
    return (servers.root_disk, servers.second_disk)[index], (sub + "/" if sub else "") + name


# ------------------------------------------------------------------ DFS paths on the wire

def test_dfs_share_names_paths_in_full(dconn, dfs_servers):
    """[dfsroot] is in DFS: its requests name '127.0.0.1\\dfsroot\\path' with the DFS flag
    (Samba resolves such a name only with the flag); [public] keeps relative names."""
    dconn.storeFile("dfsroot", "plain.txt", io.BytesIO(b"in the root"))
    engine, wait = dconn._engine, Timeout(10)
    tree = dconn._tree("dfsroot", wait)
    assert tree.dfs_prefix == "127.0.0.1\\dfsroot"
    # the same full name without the flag is a relative path the server cannot find
    plain = copy.copy(tree)
    plain.dfs_prefix = ""
    with pytest.raises(OperationFailure):
        engine.create(plain, "127.0.0.1\\dfsroot\\plain.txt", desired_access=fscc.FILE_READ_ATTRIBUTES,
                      timeout=wait)
    opened = engine.create(tree, "plain.txt", desired_access=fscc.FILE_READ_ATTRIBUTES, timeout=wait)
    assert opened.end_of_file == 11
    engine.close_file(tree, opened.file_id, wait)
    assert dconn.listPath("public", "/")  # a share not in DFS
    assert dconn._tree("public", wait).dfs_prefix == ""
    # every kind of path request on the DFS share, checked on its disk
    root = dfs_servers.dfsroot
    with open(os.path.join(root, "plain.txt"), "rb") as f:
        assert f.read() == b"in the root"
    dconn.createDirectory("dfsroot", "d1")
    dconn.rename("dfsroot", "d1", "d2")
    assert os.path.isdir(os.path.join(root, "d2")) and not os.path.exists(os.path.join(root, "d1"))
    assert dconn.getAttributes("dfsroot", "d2").isDirectory
    names = sorted(f.filename for f in dconn.listPath("dfsroot", "/"))
    assert names == sorted([".", "..", "d2", "plain.txt"] + list(LINKS))
    dconn.deleteDirectory("dfsroot", "d2")
    dconn.deleteFiles("dfsroot", "plain.*")
    assert sorted(os.listdir(root)) == sorted(LINKS)
    assert len(dfs.resolver(dconn).cache) == 0


# ------------------------------------------------------------------ operations through links

@pytest.mark.parametrize("link", ["remote", "remote2", "link"])
def test_operations_through_a_link(dconn, dfs_servers, folders, link):
    disk, name = _disk_of(dfs_servers, link, folders)
    disk.write(name + "/server.txt", b"from the server\n" * 100)
    via = "%s/%s" % (link, folders)
    assert sorted(f.filename for f in dconn.listPath("dfsroot", via)) == [".", "..", "server.txt"]
    assert dconn.getAttributes("dfsroot", via + "/server.txt").file_size == 1600
    out = io.BytesIO()
    assert dconn.retrieveFile("dfsroot", via + "/server.txt", out)[1] == 1600
    assert out.getvalue() == b"from the server\n" * 100
    data = os.urandom(200000)
    assert dconn.storeFile("dfsroot", via + "/client.bin", io.BytesIO(data)) == len(data)
    assert disk.read(name + "/client.bin") == data  # on the target share's disk
    dconn.createDirectory("dfsroot", via + "/made")
    assert os.path.isdir(disk.path(name + "/made"))
    dconn.deleteDirectory("dfsroot", via + "/made")
    assert not disk.exists(name + "/made")
    dconn.deleteFiles("dfsroot", via + "/client.*")
    assert not disk.exists(name + "/client.bin")
    assert disk.exists(name + "/server.txt")
    res = dfs.resolver(dconn)
    assert len(res.cache) >= 1
    if link.startswith("remote"):  # a second connection, as protected as the first
        (target,) = res.targets.values()
        assert target is not dconn and target.security is not None
        assert target.require_encryption == dconn.require_encryption
        assert target.security.signed == dconn.security.signed
        assert target.security.encrypted == dconn.security.encrypted
        assert target.security.dialect == dconn.security.dialect or dconn.security.dialect == 1
    else:
        assert res.targets == {}


def test_open_file_through_a_link(dconn, dfs_servers, folders):
    disk = dfs_servers.second_disk
    with dconn.openFile("dfsroot", "remote/%s/f.txt" % folders, "w", encoding="utf-8") as f:
        f.write("written through the link\n" * 1000)
    assert disk.read(folders + "/f.txt") == b"written through the link\n" * 1000
    with dconn.openFile("dfsroot", "remote2/%s/g.bin" % folders, "wb") as f:
        f.write(b"\x01" * 70000)
    assert disk.read("sub/%s/g.bin" % folders) == b"\x01" * 70000
    with dconn.openFile("dfsroot", "remote/%s/f.txt" % folders, "rb") as f:
        f.seek(25 * 10)
        assert f.read(25) == b"written through the link\n"
    with pytest.raises(FileNotFoundError):
        dconn.openFile("dfsroot", "remote/%s/missing" % folders, "rb")


def test_rename_through_a_link(dconn, dfs_servers, folders):
    disk = dfs_servers.second_disk
    disk.write(folders + "/a.txt", b"A")
    # both paths across the same link
    dconn.rename("dfsroot", "remote/%s/a.txt" % folders, "remote/%s/b.txt" % folders)
    assert disk.read(folders + "/b.txt") == b"A" and not disk.exists(folders + "/a.txt")
    # across two links to the same share: a rename within that share
    dconn.rename("dfsroot", "remote/%s/b.txt" % folders, "remote2/%s/c.txt" % folders)
    assert disk.read("sub/%s/c.txt" % folders) == b"A" and not disk.exists(folders + "/b.txt")
    dconn.rename("dfsroot", "remote2/%s" % folders, "remote2/%s-moved" % folders)
    assert disk.read("sub/%s-moved/c.txt" % folders) == b"A"


def test_rename_across_targets_is_refused(dconn, dfs_servers, folders):
    disk2, disk1 = dfs_servers.second_disk, dfs_servers.root_disk
    disk2.write(folders + "/a.txt", b"A")
    # the second server to the first one: two servers, no rename can do that
    with pytest.raises(OperationFailure) as e:
        dconn.rename("dfsroot", "remote/%s/a.txt" % folders, "link/%s/a.txt" % folders)
    assert e.value.status == STATUS_NOT_SAME_DEVICE
    assert "different targets" in str(e.value) and "a.txt" in str(e.value)
    # from a link to the DFS root share itself, and back
    with pytest.raises(OperationFailure) as e:
        dconn.rename("dfsroot", "remote/%s/a.txt" % folders, "a.txt")
    assert e.value.status == STATUS_NOT_SAME_DEVICE
    with open(os.path.join(dfs_servers.dfsroot, "root.txt"), "wb") as f:
        f.write(b"R")
    with pytest.raises(OperationFailure) as e:
        dconn.rename("dfsroot", "root.txt", "remote/%s/root.txt" % folders)
    assert e.value.status == STATUS_NOT_SAME_DEVICE  # the server refused the new name first
    # nothing moved anywhere
    assert disk2.read(folders + "/a.txt") == b"A"
    assert os.listdir(disk1.path(folders)) == [] and os.listdir(disk2.path(folders)) == ["a.txt"]
    assert os.path.exists(os.path.join(dfs_servers.dfsroot, "root.txt"))
    os.remove(os.path.join(dfs_servers.dfsroot, "root.txt"))


def test_tree_helpers_through_a_link(dconn, dfs_servers, folders, tmp_path):
    disk = dfs_servers.second_disk
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "f.txt").write_bytes(b"deep")
    (src / "top.bin").write_bytes(b"\0" * 70000)
    assert dconn.uploadTree("dfsroot", str(src), "remote/%s/up" % folders) == 70004
    assert disk.read(folders + "/up/a/b/f.txt") == b"deep"
    assert disk.read(folders + "/up/top.bin") == b"\0" * 70000
    assert dconn.downloadTree("dfsroot", "remote/%s/up" % folders, str(tmp_path / "back")) == 70004
    assert (tmp_path / "back" / "a" / "b" / "f.txt").read_bytes() == b"deep"
    dconn.deleteTree("dfsroot", "remote/%s/up" % folders)
    assert not disk.exists(folders + "/up")


def test_referral_loop_raises(dconn):
    with pytest.raises(OperationFailure) as e:
        dconn.listPath("dfsroot", "loop/x")
    assert e.value.status == STATUS_PATH_NOT_COVERED
    assert "loop" in str(e.value)


def test_paths_outside_links_are_not_referred(dconn):
    assert sorted(f.filename for f in dconn.listPath("dfsroot", "/")) == sorted([".", ".."] + list(LINKS))
    assert len(dfs.resolver(dconn).cache) == 0


@pytest.mark.skipif(shutil.which("smbclient") is None, reason="needs smbclient")
def test_smbclient_finds_on_the_second_server_what_went_through_the_link(dfs_servers, folders):
    """An independent client, straight to the second server. (smbclient itself cannot follow
    these links: the connections it makes for referrals go to port 445.)"""
    c, ok = make_connection(dfs_servers.root, True, require_signing=True)
    assert ok
    with c:
        c.storeFile("dfsroot", "remote/%s/x.txt" % folders, io.BytesIO(b"cross-check\n"))
    assert dfs_servers.second_disk.read(folders + "/x.txt") == b"cross-check\n"
    second = dfs_servers.second
    out = subprocess.run(
        ["smbclient", "//%s/public" % SECOND, "-p", str(second.port), "-m", "SMB3",
         "-U", "%s%%%s" % (second.user, second.password), "-c", "get %s\\x.txt -" % folders],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert out.stdout.startswith(b"cross-check\n"), out.stdout.decode(errors="replace")


class _Stream:
    """A source that can only be read once (no seek)."""

    def __init__(self, data):
        self._data, self._pos = data, 0

    def read(self, n=-1):
        end = len(self._data) if n is None or n < 0 else self._pos + n
        out, self._pos = self._data[self._pos:end], min(end, len(self._data))
        return out


@pytest.mark.parametrize("size", [12, 200000, 5 * 1024 * 1024 + 7])
def test_store_as_the_first_operation_through_a_link(dconn, dfs_servers, folders, size):
    """The first attempt (on the DFS root, before the referral) reads the source ahead of the
    server's answer to its CREATE: the second attempt, on the target, gets those bytes again."""
    data = os.urandom(size)
    assert dconn.storeFile("dfsroot", "remote/%s/first.bin" % folders, _Stream(data)) == size
    assert dfs_servers.second_disk.read(folders + "/first.bin") == data
    small = os.urandom(100)
    assert dconn.storeFileFromOffset("dfsroot", "link/%s/off.bin" % folders, _Stream(small),
                                     offset=10) == 110
    assert dfs_servers.root_disk.read(folders + "/off.bin") == b"\0" * 10 + small


def test_security_and_watch_through_a_link(dconn, dfs_servers, folders):
    disk = dfs_servers.second_disk
    disk.write(folders + "/acl.txt", b"x")
    via = "remote/%s" % folders
    sd = dconn.getSecurity("dfsroot", via + "/acl.txt")
    assert sd.owner is not None
    dconn.setSecurity("dfsroot", via + "/acl.txt", sd, info=0x4)  # the DACL back as it was
    assert dconn.getSecurity("dfsroot", via + "/acl.txt").dacl is not None
    stop = threading.Event()

    def changes():  # until one is seen: Samba may miss a change made right as a watch arms
        for i in range(40):
            dconn.storeFile("dfsroot", "%s/new%d.txt" % (via, i), io.BytesIO(b"n"))
            if stop.wait(0.5):
                return
    with dconn.watchDirectory("dfsroot", via, timeout=20) as watch:
        t = threading.Thread(target=changes)
        t.start()
        try:
            change = next(iter(watch))
        finally:
            stop.set()
            t.join()
    # added; or, when Samba's notifyd armed the watch just after a creation (it registers the
    # watch after answering), that file's write
    assert change.action in (notify.FILE_ACTION_ADDED, notify.FILE_ACTION_MODIFIED)
    assert change.name.startswith("new")
    assert disk.exists(folders + "/" + change.name)
