"""One SMBConnection, many threads (issue 11): every public method may be called from any
number of threads at once.

* 16 threads run mixed operations (storeFile, retrieveFile, getAttributes, listPath, rename,
  echo, deleteFiles) on one connection -- SMB 3.1.1 signed, SMB 3.1.1 encrypted, SMB1 signed
  -- and every result is checked against the server's disk;
* one thread times out (its READ answers are held back by a proxy) while the others go on,
  and the connection stays usable;
* a server killed in the middle wakes every thread with NotConnectedError, well within the
  timeout;
* afterwards no thread and no file descriptor is left behind.
"""

import io
import os
import random
import threading
import time

import pytest

from smb import smb_structs
from smb.errors import NotConnectedError, SMBTimeout
from smb.SMBConnection import SMBConnection
from tests import sambaserver
from tests.hostile import MitmProxy

pytestmark = pytest.mark.integration

THREADS = 16
ROUNDS = 6


def _fds():
    return len(os.listdir("/proc/self/fd"))


def _connect(info, port=None, smb1=False, **kwargs):
    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = not smb1
    try:
        c = SMBConnection(info.user, info.password, "THREADS", info.server_name, is_direct_tcp=True,
                          **kwargs)
        assert c.connect(info.host, port or info.port, timeout=30)
    finally:
        smb_structs.SUPPORT_SMB2 = old
    return c


def _run(threads_targets, join_timeout=120):
    errors = []
    results = {}

    def wrap(key, target):
        try:
            results[key] = target()
        except BaseException as e:  # collected and re-raised by the main thread
            errors.append((key, e))

    threads = [threading.Thread(target=wrap, args=(k, t), daemon=True) for k, t in threads_targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(join_timeout)
    assert not any(t.is_alive() for t in threads), "a thread hangs"
    return results, errors


def _mixed_work(conn, info, folder, k):
    """One thread's share of the stress test; every step is checked on the server's disk."""
    rng = random.Random(k)
    share = info.share
    local = os.path.join(info.share_path, folder, "t%02d" % k)
    conn.createDirectory(share, "%s/t%02d" % (folder, k))
    assert os.path.isdir(local)
    for i in range(ROUNDS):
        name = "f%d.bin" % i
        path = "%s/t%02d/%s" % (folder, k, name)
        data = rng.randbytes(rng.choice((0, 1, 4000, 70000, 300000)))
        assert conn.storeFile(share, path, io.BytesIO(data)) == len(data)
        with open(os.path.join(local, name), "rb") as f:
            assert f.read() == data
        buf = io.BytesIO()
        assert conn.retrieveFile(share, path, buf)[1] == len(data)
        assert buf.getvalue() == data
        assert conn.getAttributes(share, path).file_size == len(data)
        listed = {f.filename for f in conn.listPath(share, "%s/t%02d" % (folder, k))} - {".", ".."}
        assert listed == set(os.listdir(local))
        assert conn.echo(b"ping %d/%d" % (k, i)) == b"ping %d/%d" % (k, i)
        conn.rename(share, path, path + ".renamed")
        assert os.path.exists(os.path.join(local, name + ".renamed"))
        assert not os.path.exists(os.path.join(local, name))
        conn.deleteFiles(share, path + ".renamed")
        assert not os.path.exists(os.path.join(local, name + ".renamed"))
    conn.deleteDirectory(share, "%s/t%02d" % (folder, k))
    assert not os.path.exists(local)
    return k


@pytest.mark.parametrize("variant,smb1", [("signing", False), ("encrypt", False), ("signing", True)],
                         ids=["smb311-signed", "smb311-encrypted", "smb1-signed"])
def test_sixteen_threads_one_connection(samba_factory, variant, smb1):
    info = samba_factory(variant)
    folder = "stress-%s-%d" % (variant, smb1)
    os.makedirs(os.path.join(info.share_path, folder), exist_ok=True)
    os.chmod(os.path.join(info.share_path, folder), 0o777)
    threads_before, fds_before = set(threading.enumerate()), _fds()
    conn = _connect(info, smb1=smb1)
    sec = conn.security
    assert sec.signed and (sec.encrypted or variant != "encrypt")
    assert conn.dialect == (0x0001 if smb1 else 0x0311)
    results, errors = _run([(k, lambda k=k: _mixed_work(conn, info, folder, k)) for k in range(THREADS)])
    assert not errors, errors[:3]
    assert sorted(results) == list(range(THREADS))
    assert conn.listPath(info.share, folder, timeout=10)  # the connection is still fine
    conn.close()
    assert not [t for t in threading.enumerate() if t not in threads_before], "a thread is left"
    assert _fds() <= fds_before  # (threads of earlier tests may end meanwhile: only ours count)


def _chain_has_read(p):
    """A compound whose second message is a READ (the one-round-trip small-file read)."""
    nxt = int.from_bytes(p[20:24], "little")
    return 0 < nxt <= len(p) - 64 and p[nxt + 12] == 8


def test_one_thread_times_out_while_the_others_work(samba):
    """The READ answers of one file are held back 3 s: that thread's retrieveFile(timeout=1)
    raises SMBTimeout, the eight others complete their work, and the connection goes on."""
    slow = os.path.join(samba.share_path, "slow-one.bin")
    with open(slow, "wb") as f:
        f.write(b"s" * 50000)
    os.chmod(slow, 0o666)
    folder = "timeout-stress"
    os.makedirs(os.path.join(samba.share_path, folder), exist_ok=True)
    os.chmod(os.path.join(samba.share_path, folder), 0o777)

    name = "slow-one.bin".encode("utf-16-le")

    def on_request(proxy, p):  # CREATE naming the file; READs of its FileId
        st = proxy.state
        if p[:4] == b"\xfeSMB" and p[12] == 5 and name in p:
            st.setdefault("create_mids", set()).add(p[24:32])
            if _chain_has_read(p):
                st.setdefault("read_mids", set()).add(p[24:32])
        elif p[:4] == b"\xfeSMB" and p[12] == 8 and p[64 + 16:64 + 32] == st.get("fid"):
            st.setdefault("read_mids", set()).add(p[24:32])
        return p

    def on_response(proxy, p):  # learn the FileId; hold back the answers to its READs
        st = proxy.state
        if p[:4] == b"\xfeSMB" and p[24:32] in st.get("read_mids", ()) and (
                p[12] == 8 or _chain_has_read(p)):  # a READ, or CREATE + READ + CLOSE
            proxy.to_client(p, delay=3.0)
            return None
        if p[:4] == b"\xfeSMB" and p[12] == 5 and p[24:32] in st.get("create_mids", ()) \
                and p[8:12] == bytes(4):
            st["fid"] = p[64 + 64:64 + 80]
        return p

    with MitmProxy((samba.host, samba.port), on_request=on_request, on_response=on_response) as proxy:
        conn = _connect(samba, proxy.port)

        def slow_reader():
            t0 = time.monotonic()
            with pytest.raises(SMBTimeout):
                conn.retrieveFile(samba.share, "slow-one.bin", io.BytesIO(), timeout=1)
            return time.monotonic() - t0

        targets = [("slow", slow_reader)]
        targets += [(k, lambda k=k: _mixed_work(conn, samba, folder, k)) for k in range(8)]
        results, errors = _run(targets)
        assert not errors, errors[:3]
        assert results["slow"] < 1 + 5 + 2  # its wait, then the CLOSE's own short wait
        assert sorted(k for k in results if k != "slow") == list(range(8))
        time.sleep(2.5)  # the held-back READ answers arrive late and are dropped
        assert conn.echo(b"after", timeout=10) == b"after"
        assert "slow-one.bin" in [f.filename for f in conn.listPath(samba.share, "/", timeout=10)]
        conn.deleteFiles(samba.share, "slow-one.bin", timeout=10)  # its handle was closed
        assert not os.path.exists(slow)
        conn.close()


@pytest.mark.parametrize("smb1", [False, True], ids=["smb2", "smb1"])
def test_server_killed_wakes_every_thread(smb1):
    """smbd dies while eight threads work: each of them gets NotConnectedError, at once."""
    if sambaserver.external_server() is not None:
        pytest.skip("needs a private Samba to kill")
    threads_before, fds_before = set(threading.enumerate()), _fds()
    srv = sambaserver.SambaServer("default")
    info = srv.start()
    try:
        conn = _connect(info, smb1=smb1)
        data = b"k" * 200000
        ended = {}

        def loop(k):
            try:
                while True:
                    conn.storeFile(info.share, "killed-%d.bin" % k, io.BytesIO(data), timeout=20)
                    conn.retrieveFile(info.share, "killed-%d.bin" % k, io.BytesIO(), timeout=20)
            finally:
                ended[k] = time.monotonic()

        threads = [threading.Thread(target=lambda k=k: _swallow(loop, k), daemon=True) for k in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        killed_at = time.monotonic()
        srv.stop()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads)
        assert sorted(ended) == list(range(8))
        assert all(isinstance(e, NotConnectedError) for e in _swallow.errors), _swallow.errors
        assert len(_swallow.errors) == 8
        assert max(ended.values()) - killed_at < 5  # woken at once, not at the 20 s timeout
        conn.close()
    finally:
        srv.stop()
        _swallow.errors = []
    assert not [t for t in threading.enumerate() if t not in threads_before], "a thread is left"
    assert _fds() <= fds_before  # (threads of earlier tests may end meanwhile: only ours count)


def _swallow(func, *args):
    try:
        func(*args)
    except BaseException as e:
        _swallow.errors.append(e)


_swallow.errors = []
