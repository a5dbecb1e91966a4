"""DFS links followed transparently, against a private Samba with an ``msdfs root`` share.

Links (``msdfs:`` symbolic links, Samba's syntax ``msdfs:server\\share[\\path]``; a referral
carries no port, so targets are reached on the referring connection's port):

* ``link``  -> ``127.0.0.1\\public``: the same server by the address the client used (the
  referring connection serves it);
* ``other`` -> ``localhost\\public``: another server name, so a second connection is made
  with the same credentials and security settings;
* ``loop``  -> ``127.0.0.1\\dfsroot\\loop``: a referral to itself (a loop).
"""

import io
import os
import pwd

import pytest

from smb import dfs
from smb.base import OperationFailure
from smb.ntstatus import STATUS_PATH_NOT_COVERED
from tests import sambaserver
from tests.integration.conftest import Disk, make_connection

pytestmark = pytest.mark.integration

LINKS = {"link": "127.0.0.1\\public", "other": "localhost\\public", "loop": "127.0.0.1\\dfsroot\\loop"}


class DfsSamba(sambaserver.SambaServer):
    """The default variant plus ``[dfsroot]`` (``msdfs root = yes``) holding LINKS."""

    def _config(self, share, shadow, port, nb_port):
        root = os.path.join(self.base, "dfsroot")
        os.makedirs(root, exist_ok=True)
        for name, target in LINKS.items():
            os.symlink("msdfs:" + target, os.path.join(root, name))
        return super()._config(share, shadow, port, nb_port) + "\n".join([
            "", "[dfsroot]", "    path = %s" % root, "    msdfs root = yes", "    read only = no",
            "    valid users = %s" % sambaserver.TEST_USER, ""])


@pytest.fixture(scope="module")
def dfs_server():
    srv = DfsSamba("default", {"host msdfs": "yes"})
    try:
        yield srv.start()
    finally:
        srv.stop()


@pytest.fixture(params=[("smb311", False, {}), ("smb311-encrypted", False, {"require_encryption": True}),
                        ("smb1", True, {})], ids=lambda p: p[0])
def dconn(request, dfs_server):
    c, ok = make_connection(dfs_server, True, request.param[1], **dict(request.param[2]))
    assert ok
    yield c
    c.close()


@pytest.fixture
def remote_dir(dfs_server, request):
    """A fresh folder in [public] (reached through the links), owned by the test user."""
    disk = Disk(dfs_server)
    name = "dfs-%s" % request.node.name.replace("[", "-").rstrip("]")
    os.makedirs(disk.path(name))
    pw = pwd.getpwnam(sambaserver.TEST_USER)
    os.chown(disk.path(name), pw.pw_uid, pw.pw_gid)
    return disk, name


@pytest.mark.parametrize("link", ["link", "other"])
def test_operations_through_a_link(dconn, remote_dir, link):
    disk, name = remote_dir
    disk.write(name + "/server.txt", b"from the server\n" * 100)
    via = "%s/%s" % (link, name)
    # listPath, getAttributes, retrieveFile, storeFile through the link
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
    dconn.deleteFiles("dfsroot", via + "/client.bin")
    assert not disk.exists(name + "/client.bin")
    res = dfs.resolver(dconn)
    assert len(res.cache) >= 1
    if link == "other":  # a second connection, as protected as the first
        (target,) = res.targets.values()
        assert target is not dconn and target.security is not None
        assert target.require_encryption == dconn.require_encryption
        assert target.security.signed == dconn.security.signed
        assert target.security.encrypted == dconn.security.encrypted
        assert target.security.dialect == dconn.security.dialect or dconn.security.dialect == 1
    else:
        assert res.targets == {}


def test_tree_helpers_through_a_link(dconn, remote_dir, tmp_path):
    disk, name = remote_dir
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "f.txt").write_bytes(b"deep")
    (src / "top.bin").write_bytes(b"\0" * 70000)
    assert dconn.uploadTree("dfsroot", str(src), "link/%s/up" % name) == 70004
    assert disk.read(name + "/up/a/b/f.txt") == b"deep"
    assert disk.read(name + "/up/top.bin") == b"\0" * 70000
    assert dconn.downloadTree("dfsroot", "link/%s/up" % name, str(tmp_path / "back")) == 70004
    assert (tmp_path / "back" / "a" / "b" / "f.txt").read_bytes() == b"deep"


def test_referral_loop_raises(dconn):
    with pytest.raises(OperationFailure) as e:
        dconn.listPath("dfsroot", "loop/x")
    assert e.value.status == STATUS_PATH_NOT_COVERED
    assert "loop" in str(e.value)


def test_paths_outside_links_are_not_referred(dconn):
    assert sorted(f.filename for f in dconn.listPath("dfsroot", "/")) == [".", ".."] + sorted(LINKS)
    assert len(dfs.resolver(dconn).cache) == 0
