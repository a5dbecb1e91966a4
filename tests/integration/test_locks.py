"""Byte-range locks on file objects, two connections contending (each its own smbd, its own
lock owner): a held lock refuses the other at once or after a wait, a waiting lock is granted
when the holder unlocks, locks keep the other connection's writes (and reads) out of the
range -- the server's disk shows it -- and shared locks coexist. SMB 3.1.1 LOCK (plain and
encrypted) and SMB1 LOCKING_ANDX."""

import threading
import time

import pytest

from smb import ntstatus as S
from smb.errors import OperationFailure
from tests.integration.fileprofiles import fconn, fconn2, fdir, fdisk, fprofile, fserver  # noqa: F401

pytestmark = pytest.mark.integration

CONFLICT = (S.STATUS_LOCK_NOT_GRANTED, S.STATUS_FILE_LOCK_CONFLICT)


@pytest.fixture
def pair(fconn, fconn2, fserver, fdir, fdisk):
    """The same 4 KiB file opened read-write on both connections."""
    path = fdir + "\\locked.bin"
    fdisk.write(path, bytes(4096))
    a = fconn.openFile(fserver.share, path, "r+b")
    b = fconn2.openFile(fserver.share, path, "r+b")
    yield a, b, path
    for f in (a, b):
        f.close()


def test_conflict_without_wait(pair):
    a, b, _ = pair
    a.lock(0, 100)
    with pytest.raises(BlockingIOError) as e:
        b.lock(50, 10)
    assert isinstance(e.value, OperationFailure) and e.value.status in CONFLICT
    assert e.value.errno == 11
    b.lock(100, 10)  # next to it: granted
    with pytest.raises(BlockingIOError):
        a.lock(105, 1)


def test_wait_times_out(pair, fconn2):
    a, b, _ = pair
    a.lock(0, 100)
    t = time.monotonic()
    with pytest.raises(TimeoutError) as e:
        b.lock(10, 10, wait=True, timeout=0.6)
    assert time.monotonic() - t >= 0.5
    assert isinstance(e.value, OperationFailure)
    assert e.value.status in CONFLICT + (S.STATUS_CANCELLED,)
    # the cancelled wait left nothing behind: the connection works, and the lock can be had
    assert fconn2.echo(b"ok") == b"ok"
    a.unlock(0, 100)
    b.lock(10, 10)


@pytest.mark.parametrize("timeout", [30, None])
def test_waiting_lock_granted_when_released(pair, timeout):
    a, b, _ = pair
    a.lock(0, 100)
    released = []

    def release():
        time.sleep(0.5)
        released.append(time.monotonic())
        a.unlock(0, 100)

    t = threading.Thread(target=release)
    t.start()
    try:
        b.lock(20, 10, wait=True, timeout=timeout)
        granted = time.monotonic()
    finally:
        t.join()
    assert released and granted >= released[0]
    with pytest.raises(BlockingIOError):
        a.lock(25, 1)
    b.unlock(20, 10)
    a.lock(25, 1)


def test_lock_keeps_the_other_connections_writes_out(pair, fdisk):
    a, b, path = pair
    a.lock(1000, 100)
    b.seek(1010)
    b.write(b"intruder")
    with pytest.raises(PermissionError) as e:  # written behind: the failure comes at flush
        b.flush()
    assert isinstance(e.value, OperationFailure)
    assert e.value.status == S.STATUS_FILE_LOCK_CONFLICT and e.value.errno == 13
    assert fdisk.read(path) == bytes(4096)
    b.seek(1010)
    with pytest.raises(PermissionError):  # an exclusive lock keeps reads out too
        b.read(10)
    b.seek(2000)
    b.write(b"outside")
    b.flush()
    a.seek(1010)
    a.write(b"owner")  # the holder itself writes
    a.unlock(1000, 100)  # flushes first: the data is there before the range is released
    expected = bytearray(4096)
    expected[1010:1015] = b"owner"
    expected[2000:2007] = b"outside"
    assert fdisk.read(path) == expected
    b.seek(1010)
    b.write(b"now ok")
    b.flush()
    expected[1010:1016] = b"now ok"
    assert fdisk.read(path) == expected


def test_shared_locks(pair):
    a, b, _ = pair
    a.lock(0, 10, exclusive=False)
    b.lock(0, 10, exclusive=False)
    b.seek(0)
    assert b.read(10) == bytes(10)  # a shared lock lets reads through
    with pytest.raises(BlockingIOError):
        b.lock(5, 1)
    a.unlock(0, 10)
    b.unlock(0, 10)
    b.lock(5, 1)


def test_unlock_what_is_not_locked(pair):
    a, _, _ = pair
    with pytest.raises(OSError) as e:
        a.unlock(0, 10)
    assert isinstance(e.value, OperationFailure) and e.value.status == S.STATUS_RANGE_NOT_LOCKED
    a.lock(0, 10)
    with pytest.raises(OSError):
        a.unlock(0, 5)  # only the exact range unlocks
    a.unlock(0, 10)


def test_close_releases_locks(fconn, fconn2, fserver, fdir, fdisk):
    path = fdir + "\\c.bin"
    fdisk.write(path, bytes(100))
    with fconn.openFile(fserver.share, path, "rb") as a:
        a.lock(0, 100)
        with fconn2.openFile(fserver.share, path, "rb") as b:
            with pytest.raises(BlockingIOError):
                b.lock(0, 1)
    with fconn2.openFile(fserver.share, path, "rb") as b:
        b.lock(0, 1)


def test_locks_on_text_and_raw_files(fconn, fconn2, fserver, fdir, fdisk):
    path = fdir + "\\t.txt"
    with fconn.openFile(fserver.share, path, "w+", encoding="utf-8") as t:
        t.write("héllo")
        t.lock(0, 6)  # flushes first
        assert fdisk.read(path) == "héllo".encode("utf-8")
        with fconn2.openFile(fserver.share, path, "r+b", buffering=0) as raw:
            with pytest.raises(BlockingIOError):
                raw.lock(0, 1)
            raw.lock(6, 4, wait=True, timeout=5)
            raw.unlock(6, 4)
        t.unlock(0, 6)
