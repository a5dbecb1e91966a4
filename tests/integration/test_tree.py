"""Tree helpers (smb.tree) against the private Samba, on SMB 3.1.1 and SMB1, checked on the
server's disk byte for byte."""

import io
import itertools
import os
import re
import textwrap

import pytest

from smb.base import OperationFailure
from smb.ntstatus import STATUS_ACCESS_DENIED, STATUS_FILE_IS_A_DIRECTORY, STATUS_OBJECT_NAME_COLLISION
from tests.integration.conftest import Disk, make_connection

pytestmark = pytest.mark.integration

_n = itertools.count()

# name -> bytes (None: a folder); nested, empty folders, empty files, unicode names
TREE = {
    "a.txt": b"alpha\n" * 1000,
    "empty.bin": b"",
    "sub": None,
    "sub/big.bin": bytes(range(256)) * 5000,
    "sub/deeper": None,
    "sub/deeper/目录": None,
    "sub/deeper/目录/日本語_한국어.txt": "内容 ✓".encode("utf-8"),
    "sub/deeper/empty-dir": None,
    "other": None,
    "other/x": b"x",
}


@pytest.fixture(params=[("smb311", False), ("smb1", True)], ids=lambda p: p[0])
def tconn(request, samba_factory):
    info = samba_factory("default")
    if info.share_path is None:
        pytest.skip("needs the private Samba")
    c, ok = make_connection(info, True, request.param[1])
    assert ok
    yield c, info.share, Disk(info)
    c.close()


def make_local(root):
    os.makedirs(root, exist_ok=True)
    for rel, data in TREE.items():
        p = os.path.join(root, *rel.split("/"))
        if data is None:
            os.makedirs(p, exist_ok=True)
        else:
            with open(p, "wb") as f:
                f.write(data)


def snapshot(root):
    """{relative path: bytes or None for folders} of a local folder."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dirs:
            out[os.path.normpath(os.path.join(rel, d)).replace(os.sep, "/")] = None
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                out[os.path.normpath(os.path.join(rel, f)).replace(os.sep, "/")] = fh.read()
    return out


def test_upload_download_walk_delete(tconn, tmp_path):
    conn, share, disk = tconn
    top = "tree%d-%d/deep/dest" % (os.getpid(), next(_n))
    make_local(str(tmp_path / "src"))
    total = sum(len(v) for v in TREE.values() if v is not None)
    assert conn.uploadTree(share, str(tmp_path / "src"), top, show_progress=True) == total
    assert snapshot(disk.path(top)) == TREE  # byte for byte on the server's disk

    walked = list(conn.walk(share, top))
    assert [w[0] for w in walked][0] == top
    found = {}
    for dirpath, dirs, files in walked:
        rel = dirpath[len(top):].strip("/")
        for d in dirs:
            found[(rel + "/" if rel else "") + d.filename] = None
        for f in files:
            found[(rel + "/" if rel else "") + f.filename] = f.file_size
    assert found == {k: (None if v is None else len(v)) for k, v in TREE.items()}
    # bottom-up: every folder comes after its sub-folders
    order = [w[0] for w in conn.walk(share, top, topdown=False)]
    assert order[-1] == top and order.index(top + "/sub/deeper") < order.index(top + "/sub")

    assert conn.downloadTree(share, top, str(tmp_path / "back"), show_progress=True) == total
    assert snapshot(str(tmp_path / "back")) == TREE

    conn.deleteTree(share, top.split("/")[0])
    assert not disk.exists(top.split("/")[0])


def test_walk_prunes_and_lists_each_directory_once(tconn, tmp_path):
    conn, share, disk = tconn
    top = "walk%d-%d" % (os.getpid(), next(_n))
    make_local(str(tmp_path))
    conn.uploadTree(share, str(tmp_path), top)
    seen = []
    for dirpath, dirs, _ in conn.walk(share, top):
        seen.append(dirpath)
        dirs[:] = [d for d in dirs if d.filename != "sub"]
    assert seen == [top, top + "/other"]
    calls = []
    real = conn.listPath
    conn.listPath = lambda *a, **k: calls.append(a[1]) or real(*a, **k)
    try:
        dirs = [w[0] for w in conn.walk(share, top)]
    finally:
        del conn.listPath
    assert sorted(calls) == sorted(dirs) and len(set(calls)) == len(calls) == 6
    conn.deleteTree(share, top)


def test_makedirs(tconn):
    conn, share, disk = tconn
    base = "mk%d-%d" % (os.getpid(), next(_n))
    conn.makedirs(share, base + "/a/b/c")
    assert os.path.isdir(disk.path(base + "/a/b/c"))
    with pytest.raises(OperationFailure) as e:
        conn.makedirs(share, base + "/a/b")
    assert e.value.status == STATUS_OBJECT_NAME_COLLISION
    conn.makedirs(share, base + "/a/b", exist_ok=True)
    conn.storeFile(share, base + "/a/file", io.BytesIO(b"1"))
    with pytest.raises(OperationFailure):
        conn.makedirs(share, base + "/a/file", exist_ok=True)  # a file is not a folder
    conn.deleteTree(share, base)
    assert not disk.exists(base)


def test_upload_failure_names_the_file(tconn, tmp_path):
    conn, share, disk = tconn
    top = "upf%d-%d" % (os.getpid(), next(_n))
    make_local(str(tmp_path))
    # a folder on the server where the tree has the file other/x: the server refuses it
    conn.makedirs(share, top + "/other/x")
    with pytest.raises(OperationFailure) as e:
        conn.uploadTree(share, str(tmp_path), top)
    assert e.value.status == STATUS_FILE_IS_A_DIRECTORY
    assert "'%s/other/x'" % top in str(e.value)
    assert os.path.isdir(disk.path(top + "/other/x"))
    # every file that was transferred is complete
    for rel, data in TREE.items():
        if data is not None and rel != "other/x" and disk.exists(top + "/" + rel):
            assert disk.read(top + "/" + rel) == data
    conn.deleteTree(share, top)


def test_download_failure_names_the_file_and_leaves_no_partial(tconn, tmp_path):
    conn, share, disk = tconn
    top = "dnf%d-%d" % (os.getpid(), next(_n))
    make_local(str(tmp_path / "src"))
    conn.uploadTree(share, str(tmp_path / "src"), top)
    os.chmod(disk.path(top + "/sub/big.bin"), 0)
    try:
        with pytest.raises(OperationFailure) as e:
            conn.downloadTree(share, top, str(tmp_path / "dst"))
        assert e.value.status == STATUS_ACCESS_DENIED
        assert "'%s/sub/big.bin'" % top in str(e.value)
        assert not (tmp_path / "dst" / "sub" / "big.bin").exists()
        got = snapshot(str(tmp_path / "dst"))
        for rel, data in got.items():
            assert TREE[rel] == data
    finally:
        os.chmod(disk.path(top + "/sub/big.bin"), 0o644)
    conn.deleteTree(share, top)


def test_docs_example_runs(samba, capsys):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    text = open(os.path.join(root, "docs", "trees.rst"), encoding="utf-8").read()
    (block,) = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    code = textwrap.dedent(block)
    env = {"HOST": samba.host, "PORT": samba.port, "USER": samba.user,
           "PASSWORD": samba.password, "SERVER_NAME": samba.server_name, "SHARE": samba.share}
    exec(compile(code, "docs/trees.rst", "exec"), env)
    assert capsys.readouterr().out == "backup/2026/src/docs/note.txt 13\n"
