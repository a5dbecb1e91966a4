"""Unit tests of the file-object layer without a server: mode parsing (checked against the
built-in open()), argument checks, the OSError mapping of NTSTATUS values, and the LOCK /
LOCKING_ANDX encoders."""

import errno
import io
import os
import struct

import pytest

from smb import fscc, oserrors
from smb import ntstatus as S
from smb.errors import OperationFailure
from smb.fileobj import _check_arguments, parse_mode
from smb.smb1 import locks as L1
from smb.smb2 import locks as L2

# mode -> (readable, writable, appending, disposition, FileIO-style mode)
MODES = {
    "rb": (True, False, False, fscc.FILE_OPEN, "rb"),
    "wb": (False, True, False, fscc.FILE_OVERWRITE_IF, "wb"),
    "ab": (False, True, True, fscc.FILE_OPEN_IF, "ab"),
    "xb": (False, True, False, fscc.FILE_CREATE, "xb"),
    "r+b": (True, True, False, fscc.FILE_OPEN, "rb+"),
    "w+b": (True, True, False, fscc.FILE_OVERWRITE_IF, "rb+"),
    "a+b": (True, True, True, fscc.FILE_OPEN_IF, "ab+"),
    "x+b": (True, True, False, fscc.FILE_CREATE, "xb+"),
    "br+": (True, True, False, fscc.FILE_OPEN, "rb+"),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_binary_modes(mode, tmp_path):
    m = parse_mode(mode)
    readable, writable, appending, disposition, raw_mode = MODES[mode]
    assert (m.readable, m.writable, m.appending, m.disposition, m.raw_mode) == \
        (readable, writable, appending, disposition, raw_mode)
    assert not m.text
    # the same as what Python's own FileIO reports for that mode
    path = tmp_path / "f"
    if "x" not in mode:
        path.write_bytes(b"")
    with open(path, mode, buffering=0) as f:
        assert f.mode == raw_mode
        assert (f.readable(), f.writable()) == (readable, writable)


@pytest.mark.parametrize("mode", ["r", "w", "a", "x", "r+", "rt", "wt+", "at"])
def test_text_modes(mode):
    m = parse_mode(mode)
    assert m.text
    assert m.readable == ("r" in mode or "+" in mode)
    assert m.writable == (mode[0] in "wax" or "+" in mode)


@pytest.mark.parametrize("mode", ["", "b", "rw", "rr", "rbt", "ra", "r+r", "q", "wx", "+", "bt"])
def test_invalid_modes_fail_like_open(mode, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"")
    with pytest.raises(ValueError) as builtin:
        open(path, mode).close()
    with pytest.raises(ValueError) as ours:
        parse_mode(mode)
    assert type(ours.value) is type(builtin.value)


def test_universal_newline_mode_is_refused():
    for mode in ("U", "rU", "rbU"):  # gone from open() in Python 3.11
        with pytest.raises(ValueError):
            parse_mode(mode)


def test_mode_must_be_a_string():
    with pytest.raises(TypeError):
        parse_mode(b"rb")


def test_access_masks():
    assert parse_mode("rb").access & fscc.FILE_READ_DATA
    assert not parse_mode("rb").access & fscc.FILE_WRITE_DATA
    assert parse_mode("wb").access & fscc.FILE_WRITE_DATA
    assert not parse_mode("wb").access & fscc.FILE_READ_DATA
    assert parse_mode("a+b").access & (fscc.FILE_READ_DATA | fscc.FILE_APPEND_DATA) == \
        fscc.FILE_READ_DATA | fscc.FILE_APPEND_DATA


def test_argument_checks_follow_open():
    binary, text = parse_mode("rb"), parse_mode("r")
    for kwargs in ({"encoding": "utf-8"}, {"errors": "strict"}, {"newline": "\n"}):
        with pytest.raises(ValueError, match="binary mode"):
            _check_arguments(binary, -1, kwargs.get("encoding"), kwargs.get("errors"), kwargs.get("newline"))
    with pytest.raises(ValueError, match="unbuffered text"):
        _check_arguments(text, 0, None, None, None)
    with pytest.raises(TypeError):
        _check_arguments(binary, "8192", None, None, None)
    _check_arguments(text, -1, "utf-8", "strict", "")
    _check_arguments(binary, 0, None, None, None)


# --- errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("status, os_class, code", [
    (S.STATUS_OBJECT_NAME_NOT_FOUND, FileNotFoundError, errno.ENOENT),
    (S.STATUS_OBJECT_PATH_NOT_FOUND, FileNotFoundError, errno.ENOENT),
    (S.STATUS_NO_SUCH_FILE, FileNotFoundError, errno.ENOENT),
    (S.STATUS_ACCESS_DENIED, PermissionError, errno.EACCES),
    (S.STATUS_SHARING_VIOLATION, PermissionError, errno.EACCES),
    (S.STATUS_FILE_LOCK_CONFLICT, PermissionError, errno.EACCES),
    (S.STATUS_OBJECT_NAME_COLLISION, FileExistsError, errno.EEXIST),
    (S.STATUS_FILE_IS_A_DIRECTORY, IsADirectoryError, errno.EISDIR),
    (S.STATUS_NOT_A_DIRECTORY, NotADirectoryError, errno.ENOTDIR),
    (S.STATUS_LOCK_NOT_GRANTED, BlockingIOError, errno.EAGAIN),
    (S.STATUS_DISK_FULL, OSError, errno.ENOSPC),
    (S.STATUS_RANGE_NOT_LOCKED, OSError, errno.ENOLCK),
    (0xC0009999, OSError, errno.EIO),
])
def test_status_to_os_error(status, os_class, code):
    e = oserrors.os_failure("Failed to open 'a\\b.txt' on share 'public'", "a\\b.txt", status)
    assert isinstance(e, os_class) and isinstance(e, OperationFailure) and isinstance(e, OSError)
    assert (e.errno, e.status, e.filename) == (code, status, "a\\b.txt")
    assert e.strerror == os.strerror(code)
    assert "a\\b.txt" in str(e) and "0x%08X" % status in str(e)
    with pytest.raises(os_class):
        raise e


def test_from_failure_keeps_the_messages_and_status():
    original = OperationFailure("READ failed", ["record"], status=S.STATUS_ACCESS_DENIED)
    e = oserrors.from_failure(original, "Failed to read 'x'", "x")
    assert isinstance(e, PermissionError) and e.smb_messages == ["record"]
    assert e.status == S.STATUS_ACCESS_DENIED and e.message == "Failed to read 'x'"


def test_lock_conflicts_are_blocking_io_errors_in_lock_calls():
    for status in (S.STATUS_LOCK_NOT_GRANTED, S.STATUS_FILE_LOCK_CONFLICT):
        e = oserrors.from_failure(OperationFailure("LOCK failed", status=status), "m", "f",
                                  oserrors.LOCK_ERRNO)
        assert isinstance(e, BlockingIOError) and e.errno == errno.EAGAIN


def test_one_class_per_errno():
    assert type(oserrors.os_failure("a", status=S.STATUS_ACCESS_DENIED)) is \
        type(oserrors.os_failure("b", status=S.STATUS_SHARING_VIOLATION))
    assert oserrors.failure_class(errno.ETIMEDOUT).__mro__[2] is TimeoutError


# --- lock request encoders -----------------------------------------------------------

def test_smb2_lock_request_layout():
    fid = bytes(range(16))
    body = L2.lock_request(fid, [(0x1122334455, 0x10, L2.LOCKFLAG_EXCLUSIVE_LOCK | L2.LOCKFLAG_FAIL_IMMEDIATELY)])
    assert len(body) == 48
    assert struct.unpack_from("<HHI", body) == (48, 1, 0)
    assert body[8:24] == fid
    assert struct.unpack_from("<QQII", body, 24) == (0x1122334455, 0x10, 0x12, 0)
    two = L2.lock_request(fid, [(0, 1, L2.LOCKFLAG_UNLOCK), (5, 6, L2.LOCKFLAG_UNLOCK)])
    assert len(two) == 72 and struct.unpack_from("<H", two, 2)[0] == 2
    with pytest.raises(ValueError):
        L2.lock_request(fid, [])


def test_smb1_locking_andx_layout():
    command, words, data, payload = L1.locking_andx(0x4001, 0x1234, locks=[(0x100000000 + 5, 7)],
                                                    shared=True, timeout_ms=1500)
    assert command == 0x24 and payload is None and len(words) == 16
    andx, _r, _o, fid, lock_type, oplock, timeout, nunlocks, nlocks = struct.unpack("<BBHHBBIHH", words)
    assert (andx, fid, lock_type, oplock, timeout, nunlocks, nlocks) == (0xFF, 0x4001, 0x11, 0, 1500, 0, 1)
    assert struct.unpack("<HHIIII", data) == (0x1234, 0, 1, 5, 0, 7)
    _c, words, data, _p = L1.locking_andx(7, 9, unlocks=[(10, 20)], large=False)
    assert struct.unpack("<BBHHBBIHH", words)[4:] == (0, 0, 0, 1, 0)
    assert struct.unpack("<HII", data) == (9, 10, 20)
    with pytest.raises(ValueError):
        L1.locking_andx(7, 9, locks=[(0xFFFFFFFF, 2)], large=False)


def test_smb1_lock_timeout_field():
    assert L1.timeout_field(0) == 0
    assert L1.timeout_field(1.5) == 1500
    assert L1.timeout_field(None) == 0xFFFFFFFF
    assert L1.timeout_field(10 ** 9) == 0xFFFFFFFE


def test_raw_file_api_is_io():
    from smb.fileobj import SMBBufferedRandom, SMBRawFile, SMBTextFile

    assert issubclass(SMBRawFile, io.RawIOBase)
    assert issubclass(SMBBufferedRandom, io.BufferedRandom)
    assert issubclass(SMBTextFile, io.TextIOWrapper)
