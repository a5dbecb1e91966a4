"""Issue 13 items 3-5 against the private Samba: server-side copy (``copyFile``), change
notification (``watchDirectory``) and writing security descriptors (``setSecurity``), on
SMB 3.1.1 and SMB1, checked on the server's disk and with Samba's ``smbcacls``.
"""

import io
import os
import random
import socket
import subprocess
import threading

import pytest

import smb.copy
from smb import notify
from smb.base import OperationFailure
from smb.errors import SMBTimeout
from smb.ntstatus import STATUS_OBJECT_NAME_NOT_FOUND
from smb.security_descriptors import (ACE, ACE_TYPE_ACCESS_ALLOWED, ACE_TYPE_ACCESS_DENIED,
                                      DACL_SECURITY_INFORMATION, SID, SecurityDescriptor)
from tests.integration.conftest import Disk, make_connection

pytestmark = pytest.mark.integration

DIALECTS = [pytest.param(False, id="smb311"), pytest.param(True, id="smb1")]
_seq = iter(range(10 ** 6))


@pytest.fixture
def info(samba_factory):
    srv = samba_factory("default")
    if srv.share_path is None:
        pytest.skip("needs the private Samba")
    return srv


def _connect(info, smb1):
    c, ok = make_connection(info, True, smb1)
    assert ok
    assert c.dialect == (0x0001 if smb1 else 0x0311)
    return c


@pytest.fixture(params=DIALECTS)
def c(request, info):
    conn = _connect(info, request.param)
    yield conn
    conn.close()


@pytest.fixture
def c3(info):
    conn = _connect(info, False)
    yield conn
    conn.close()


@pytest.fixture
def disk(info):
    return Disk(info)


@pytest.fixture
def folder(c, info):
    name = "adv%d-%d" % (os.getpid(), next(_seq))
    c.createDirectory(info.share, name)
    return name


@pytest.fixture
def d(info):
    """A fresh folder on the share for one test's files (the share's root is shared)."""
    conn = _connect(info, False)
    name = "adv%d-%d" % (os.getpid(), next(_seq))
    conn.createDirectory(info.share, name)
    conn.close()
    return name


def _store(conn, share, path, data):
    conn.storeFile(share, path, io.BytesIO(data))


class Spy:
    """Counts the calls (and keeps the results) of one engine method."""

    def __init__(self, monkeypatch, engine, name):
        self.calls, self.results = 0, []
        real = getattr(engine, name)

        def spy(*args, **kwargs):
            self.calls += 1
            r = real(*args, **kwargs)
            self.results.append(r)
            return r
        monkeypatch.setattr(engine, name, spy)


# --- copyFile ----------------------------------------------------------------------------

def test_copy_is_server_side_on_smb3(c3, info, disk, monkeypatch, d):
    data = os.urandom(5 * 1024 * 1024 + 12345)
    _store(c3, info.share, d + "/cp-src.bin", data)
    chunks = Spy(monkeypatch, c3._engine, "copy_chunks")
    reads = Spy(monkeypatch, c3._engine, "submit_read")
    assert c3.copyFile(info.share, d + "/cp-src.bin", d + "/cp-dst.bin") == len(data)
    assert disk.read(d + "/cp-dst.bin") == data
    assert chunks.calls >= 1 and reads.calls == 0  # the data never came through the client


def test_copy_several_requests_with_progress(c3, info, disk, monkeypatch, d):
    monkeypatch.setattr(smb.copy, "CHUNK_SIZE", 64 * 1024)
    monkeypatch.setattr(smb.copy, "BYTES_PER_REQUEST", 256 * 1024)
    data = os.urandom(1024 * 1024 + 1)
    _store(c3, info.share, d + "/cp-many.bin", data)
    chunks = Spy(monkeypatch, c3._engine, "copy_chunks")
    updates = []

    class Bar:
        def __init__(self, **kw):
            assert kw["total"] == len(data)

        def update(self, n):
            updates.append(n)

        def close(self):
            pass
    pytest.importorskip("tqdm")
    monkeypatch.setattr("tqdm.tqdm", Bar)
    assert c3.copyFile(info.share, d + "/cp-many.bin", d + "/cp-many2.bin", show_progress=True) == len(data)
    assert disk.read(d + "/cp-many2.bin") == data
    assert chunks.calls == 5 and updates == [256 * 1024] * 4 + [1]


def test_copy_adopts_the_servers_limits(c3, info, disk, monkeypatch, d):
    # Samba allows 1 MiB per chunk and 16 MiB per request: 4 MiB chunks are refused with
    # STATUS_INVALID_PARAMETER and the limits, which the copy then uses
    monkeypatch.setattr(smb.copy, "CHUNK_SIZE", 4 * 1024 * 1024)
    monkeypatch.setattr(smb.copy, "CHUNKS_PER_REQUEST", 8)
    monkeypatch.setattr(smb.copy, "BYTES_PER_REQUEST", 32 * 1024 * 1024)
    data = os.urandom(3 * 1024 * 1024 + 7)
    _store(c3, info.share, d + "/cp-lim.bin", data)
    chunks = Spy(monkeypatch, c3._engine, "copy_chunks")
    assert c3.copyFile(info.share, d + "/cp-lim.bin", d + "/cp-lim2.bin") == len(data)
    assert disk.read(d + "/cp-lim2.bin") == data
    first = chunks.results[0]
    assert first.limits and first.chunk_bytes_written == 1024 * 1024
    assert not any(r.limits for r in chunks.results[1:])


def test_copy_to_another_share(c3, info, d):
    data = os.urandom(300000)
    _store(c3, info.share, d + "/cp-x.bin", data)
    assert c3.copyFile(info.share, d + "/cp-x.bin", "copied-%s.bin" % d, dst_service_name=info.extra["acl_share"]) == len(data)
    with open(os.path.join(info.extra["acl_path"], "copied-%s.bin" % d), "rb") as f:
        assert f.read() == data


def test_copy_client_side_fallback(c, info, disk, monkeypatch, d):
    """SMB1 copies through the client; on SMB3 the same path runs when the server refuses
    copy-chunk (forced here)."""
    monkeypatch.setattr(smb.copy, "server_side_copy", lambda *a: None)
    data = os.urandom(3 * 1024 * 1024 + 99)
    _store(c, info.share, d + "/cp-c.bin", data)
    disk.write(d + "/cp-c2.bin", b"x" * (4 * 1024 * 1024))  # replaced, not overwritten in place
    assert c.copyFile(info.share, "/" + d + "/cp-c.bin", d + "/cp-c2.bin") == len(data)
    assert disk.read(d + "/cp-c2.bin") == data


def test_copy_smb1_and_edge_cases(c, info, disk, d):
    data = os.urandom(200001)
    _store(c, info.share, d + "/e-src.bin", data)
    assert c.copyFile(info.share, d + "/e-src.bin", d + "/e-dst.bin") == len(data)
    assert disk.read(d + "/e-dst.bin") == data
    _store(c, info.share, d + "/empty.bin", b"")
    disk.write(d + "/e-dst.bin", b"old contents")
    assert c.copyFile(info.share, d + "/empty.bin", d + "/e-dst.bin") == 0
    assert disk.read(d + "/e-dst.bin") == b""
    with pytest.raises(OperationFailure) as e:
        c.copyFile(info.share, d + "/missing.bin", d + "/e-dst.bin")
    assert e.value.status == STATUS_OBJECT_NAME_NOT_FOUND and d + "/missing.bin" in str(e.value)
    with pytest.raises(ValueError):
        c.copyFile(info.share, d + "/e-src.bin", d + "/E-SRC.bin")
    assert disk.read(d + "/e-src.bin") == data


# --- watchDirectory ------------------------------------------------------------------------

def _in_thread(fn):
    t = threading.Thread(target=fn)
    t.start()
    return t


def _outstanding(conn):
    conn.echo(b"ping")
    out = conn._engine.conn.outstanding
    return len(out) if isinstance(out, dict) else out


def test_watch_reports_changes_made_by_another_thread(c, info, folder):
    share = info.share
    # timeout=None: waits without a deadline, also while other threads read the connection
    watch = c.watchDirectory(share, folder, timeout=None)
    watchdog = threading.Timer(60, c.close)  # a hang becomes a failure
    watchdog.start()

    def changes():  # through the same connection, from another thread
        _store(c, share, folder + "/a.txt", b"one")
        c.rename(share, folder + "/a.txt", folder + "/b.txt")
        c.deleteFiles(share, folder + "/b.txt")
    t = _in_thread(changes)
    seen = []
    for change in watch:
        seen.append(tuple(change))
        if change == (notify.FILE_ACTION_REMOVED, "b.txt"):
            break
    t.join()
    watchdog.cancel()
    # Samba registers a watch with its notifyd asynchronously, after the interim answer that
    # arms it here: under load the creation may come first and only the write be reported
    assert seen[0] in ((notify.FILE_ACTION_ADDED, "a.txt"), (notify.FILE_ACTION_MODIFIED, "a.txt"))
    assert (notify.FILE_ACTION_RENAMED_OLD_NAME, "a.txt") in seen
    assert seen.index((notify.FILE_ACTION_RENAMED_NEW_NAME, "b.txt")) > \
        seen.index((notify.FILE_ACTION_RENAMED_OLD_NAME, "a.txt"))
    del watch  # garbage collection cancels the request and closes the folder
    assert _outstanding(c) == 0


def test_watch_recursive_and_timeout(c, info, folder):
    share = info.share
    c.createDirectory(share, folder + "/sub")
    flat = c.watchDirectory(share, folder, recursive=False, timeout=1.5)
    with c.watchDirectory(share, folder, recursive=True, timeout=20) as deep:
        _store(c, share, folder + "/sub/x.txt", b"x")
        got = next(deep)
        # added; or, when Samba's notifyd armed the watch just after the creation, the write
        assert got in ((notify.FILE_ACTION_ADDED, "sub\\x.txt"), (notify.FILE_ACTION_MODIFIED, "sub\\x.txt"))
        assert got.action_name == ("added" if got.action == notify.FILE_ACTION_ADDED else "modified")
        with pytest.raises(SMBTimeout):
            next(flat)  # a change in a subfolder is no change of the folder itself
        with pytest.raises(StopIteration):
            next(flat)  # a timeout ends the watch
    assert _outstanding(c) == 0
    assert [f.filename for f in c.listPath(share, folder + "/sub")][-1] == "x.txt"


def test_watch_rescan_when_the_server_drops_changes(c, info, folder):
    share = info.share
    watch = c.watchDirectory(share, folder, timeout=20)
    t = _in_thread(lambda: _store(c, share, folder + "/first", b""))
    assert next(watch).name == "first"
    t.join()
    # while the caller does not iterate, more changes than one 64 KiB answer holds
    for i in range(400):
        _store(c, share, "%s/%s-%03d" % (folder, "n" * 150, i), b"")
    for _ in range(1000):
        change = next(watch)
        if change.action == notify.FILE_ACTION_RESCAN:
            break
    assert change == notify.RESCAN
    watch.close()
    watch.close()
    assert _outstanding(c) == 0
    with pytest.raises(StopIteration):
        next(watch)


def test_watch_missing_folder(c, info):
    with pytest.raises(OperationFailure) as e:
        c.watchDirectory(info.share, "no-such-folder")
    assert "no-such-folder" in str(e.value)


# --- setSecurity ---------------------------------------------------------------------------

def _relay(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _smbcacls(info, path):
    """``smbcacls --numeric`` output for ``path`` on the ACL share. smbcacls has no port option:
    it reaches the private smbd through a one-connection relay on port 445 of a loopback
    address of its own."""
    listener = socket.socket()
    for _ in range(20):
        host = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254), random.randint(2, 254))
        try:
            listener.bind((host, 445))
            break
        except OSError:
            continue
    listener.listen(1)

    def serve():
        client, _ = listener.accept()
        up = socket.create_connection((info.host, info.port))
        t = threading.Thread(target=_relay, args=(up, client), daemon=True)
        t.start()
        _relay(client, up)
        t.join(10)
        client.close()
        up.close()
    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        r = subprocess.run(["smbcacls", "//%s/%s" % (host, info.extra["acl_share"]), path,
                            "-U", "%s%%%s" % (info.user, info.password), "--numeric"],
                           capture_output=True, text=True, timeout=60)
    finally:
        listener.close()
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_set_security_adds_an_ace(c, info):
    share = info.extra["acl_share"]
    name = "acl%d.txt" % next(_seq)
    _store(c, share, name, b"protected")
    before = c.getSecurity(share, name)
    users = SID.from_string("S-1-5-32-545")
    assert all(a.sid != users for a in before.dacl.aces)
    sd = SecurityDescriptor.from_bytes(before.to_bytes())
    sd.dacl.aces.append(ACE(ACE_TYPE_ACCESS_ALLOWED, 0, 0x001200A9, users))
    sd.dacl.aces.insert(0, ACE(ACE_TYPE_ACCESS_DENIED, 0, 0x00000002, SID.from_string("S-1-5-32-546")))
    c.setSecurity(share, name, sd, info=DACL_SECURITY_INFORMATION)
    after = c.getSecurity(share, name)
    assert after.dacl.aces == sd.dacl.aces and after.owner == before.owner
    # on the server's disk: vfs_acl_xattr keeps the descriptor in security.NTACL
    assert "security.NTACL" in os.listxattr(os.path.join(info.extra["acl_path"], name))
    out = _smbcacls(info, name)
    # smbcacls --numeric: ACL:sid:type/flags/mask, in the DACL's order
    assert [line for line in out.splitlines() if line.startswith("ACL:")] == \
        ["ACL:%s:%d/0x%x/0x%08x" % (a.sid, a.type, a.flags, a.mask) for a in sd.dacl.aces]
    assert "ACL:S-1-5-32-545:0/0x0/0x001200a9" in out and "ACL:S-1-5-32-546:1/0x0/0x00000002" in out
    assert "OWNER:%s" % before.owner in out
    # writing owner, group and DACL back as read (bytes accepted) changes nothing
    c.setSecurity(share, name, after.to_bytes())
    assert c.getSecurity(share, name) == after


def test_set_security_errors(c, info):
    share = info.extra["acl_share"]
    with pytest.raises(TypeError):
        c.setSecurity(share, "x", "O:BA")
    with pytest.raises(OperationFailure) as e:
        c.setSecurity(share, "missing.txt", SecurityDescriptor(0, None, None, None, None),
                      info=DACL_SECURITY_INFORMATION)
    assert "missing.txt" in str(e.value)
