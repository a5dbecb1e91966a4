"""Remote files as Python file objects: ``SMBConnection.openFile`` (issue 13).

``openFile(service_name, path, mode)`` opens the file with one NT CREATE ([MS-SMB2] 3.2.4.3;
[MS-CIFS] NT_CREATE_ANDX 2.2.4.64) and returns what the built-in :func:`open` would for
the same mode: the raw :class:`SMBRawFile` (an :class:`io.RawIOBase`) wrapped in a
``BufferedReader`` / ``BufferedWriter`` / ``BufferedRandom`` and, for text modes, an
``io.TextIOWrapper``; ``buffering=0`` gives the raw file itself. The wrappers are the
standard ``io`` classes with two methods added, :meth:`SMBRawFile.lock` and
:meth:`SMBRawFile.unlock` (byte-range locks: [MS-SMB2] 2.2.26 LOCK, [MS-CIFS] 2.2.4.32
LOCKING_ANDX; the engines' ``lock`` / ``unlock``).

Modes map onto CreateDisposition ([MS-SMB2] 2.2.13): ``r`` FILE_OPEN, ``w`` FILE_OVERWRITE_IF,
``a`` FILE_OPEN_IF (every write at the end of the file as this client knows it), ``x``
FILE_CREATE; ``+`` asks for both read and write access. Reads read ahead when sequential and
writes are written behind (:mod:`smb.streaming`); truncate is SET_INFO
FileEndOfFileInformation and a seek from the end asks the server for the size
(FileStandardInformation, [MS-FSCC] 2.4.48 / 2.4.41).

Failures are :mod:`smb.oserrors` exceptions: both ``OperationFailure`` (with the NTSTATUS)
and the ``OSError`` subclass Python code expects (``FileNotFoundError``,
``PermissionError``, ``FileExistsError``, ``IsADirectoryError``, ``BlockingIOError`` for a
refused lock, ``TimeoutError`` for a lock wait that ran out). A closed file raises
ValueError, as Python's do; closing the connection closes its files (their pending writes
are written first).
"""

from __future__ import annotations

import io
import locale
import threading
import warnings
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

from smb import fscc, oserrors
from smb import ntstatus as S
from smb.engine import INFO_FILE, Timeout
from smb.errors import OperationFailure, ProtocolError
from smb.operations import normalize_path
from smb.streaming import ReadAhead, WriteBehind

_READ = fscc.FILE_READ_DATA | fscc.FILE_READ_ATTRIBUTES | fscc.SYNCHRONIZE
_WRITE = (fscc.FILE_WRITE_DATA | fscc.FILE_APPEND_DATA | fscc.FILE_WRITE_ATTRIBUTES
          | fscc.FILE_READ_ATTRIBUTES | fscc.SYNCHRONIZE)
#: the default share access of an open: others may read and write, not delete (as Python's
#: open() on Windows)
DEFAULT_SHARE_ACCESS = fscc.FILE_SHARE_READ | fscc.FILE_SHARE_WRITE
#: the statuses of a lock wait that ran out (SMB2 after CANCEL; SMB1 from the server)
_LOCK_WAIT_OVER = (S.STATUS_CANCELLED, S.STATUS_FILE_LOCK_CONFLICT, S.STATUS_LOCK_NOT_GRANTED)


@dataclass(frozen=True)
class Mode:
    """What an ``open()`` mode string asks for."""

    readable: bool
    writable: bool
    appending: bool   # 'a': every write at the end of the file
    creating: bool    # 'x': the file must not exist
    truncating: bool  # 'w': the file is emptied (or created)
    text: bool

    @property
    def updating(self) -> bool:
        return self.readable and self.writable

    @property
    def disposition(self) -> int:
        """NT create CreateDisposition ([MS-SMB2] 2.2.13)."""
        if self.creating:
            return fscc.FILE_CREATE
        if self.truncating:
            return fscc.FILE_OVERWRITE_IF
        if self.appending:
            return fscc.FILE_OPEN_IF
        return fscc.FILE_OPEN

    @property
    def access(self) -> int:
        """NT create DesiredAccess."""
        return (_READ if self.readable else 0) | (_WRITE if self.writable else 0)

    @property
    def raw_mode(self) -> str:
        """``FileIO.mode`` for this mode ('rb', 'wb', 'xb', 'ab', 'rb+', 'xb+', 'ab+')."""
        if self.creating:
            base = "xb"
        elif self.appending:
            base = "ab"
        else:
            base = "rb" if self.readable else "wb"
        return base + ("+" if self.updating else "")


def parse_mode(mode) -> Mode:
    """Check ``mode`` as :func:`open` does (ValueError/TypeError with its messages)."""
    if not isinstance(mode, str):
        raise TypeError("open() argument 'mode' must be str, not %s" % type(mode).__name__)
    modes = set(mode)
    if modes - set("axrwb+t") or len(mode) > len(modes):
        raise ValueError("invalid mode: %r" % mode)
    creating, reading, writing, appending = ("x" in modes, "r" in modes, "w" in modes, "a" in modes)
    updating, text, binary = "+" in modes, "t" in modes, "b" in modes
    if text and binary:
        raise ValueError("can't have text and binary mode at once")
    if creating + reading + writing + appending != 1:
        raise ValueError("must have exactly one of create/read/write/append mode")
    return Mode(readable=reading or updating, writable=writing or appending or creating or updating,
                appending=appending, creating=creating, truncating=writing, text=not binary)


class SMBRawFile(io.RawIOBase):
    """An open remote file: unbuffered reads and writes at a position, with read-ahead and
    write-behind. Made by :func:`open_file`; ``name`` is the path as given, ``mode`` the
    ``FileIO``-style mode ('rb', 'wb', 'rb+', 'ab', 'xb'...)."""

    def __init__(self, engine, tree, opened, *, name, service, mode: Mode, timeout: Timeout):
        super().__init__()
        self.name = name
        self.mode = mode.raw_mode
        self._engine, self._tree, self._fid = engine, tree, opened.file_id
        self._service = service
        self._mode = mode
        self._timeout = timeout
        self._lock = threading.RLock()
        self._size = opened.end_of_file
        self._pos = self._size if mode.appending else 0
        self._reader = ReadAhead(engine, tree, opened.file_id, timeout)
        self._reader.expect = self._pos  # reading from where the file opens is sequential
        self._writer = WriteBehind(engine, tree, opened.file_id, timeout)

    def __repr__(self):
        return "<%s name=%r mode=%r%s>" % (type(self).__name__, self.name, self.mode,
                                            " closed" if self.closed else "")

    # --- io.RawIOBase --------------------------------------------------------------------
    def readable(self) -> bool:
        self._check_open()
        return self._mode.readable

    def writable(self) -> bool:
        self._check_open()
        return self._mode.writable

    def seekable(self) -> bool:
        self._check_open()
        return True

    def readinto(self, b) -> int:
        with self._lock:
            self._check_open()
            if not self._mode.readable:
                raise io.UnsupportedOperation("File not open for reading")
            with self._call("read"):
                self._writer.drain()
                n = self._reader.readinto(self._pos, b, self._size)
            self._pos += n
            return n

    def readall(self) -> bytes:
        """Everything from the position to the end of the file (read ahead)."""
        parts = []
        piece = max(self._engine.read_chunk, io.DEFAULT_BUFFER_SIZE)
        while True:
            buf = bytearray(piece)
            n = self.readinto(buf)
            if not n:
                break
            del buf[n:]
            parts.append(buf)
        return b"".join(parts)

    def write(self, b) -> int:
        with self._lock:
            self._check_open()
            if not self._mode.writable:
                raise io.UnsupportedOperation("File not open for writing")
            n = memoryview(b).nbytes
            offset = self._size if self._mode.appending else self._pos
            with self._call("write"):
                self._reader.reset()
                self._writer.write(offset, b)
            self._pos = offset + n
            self._size = max(self._size, self._pos)
            return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with self._lock:
            self._check_open()
            offset = offset.__index__()
            if whence == io.SEEK_SET:
                base = 0
            elif whence == io.SEEK_CUR:
                base = self._pos
            elif whence == io.SEEK_END:
                base = self._server_size()
            else:
                raise ValueError("invalid whence (%r, should be 0, 1 or 2)" % (whence,))
            if base + offset < 0:
                raise oserrors.os_failure("Invalid seek to %d in '%s'" % (base + offset, self.name),
                                          self.name, errno=oserrors.E.EINVAL)
            self._pos = base + offset
            return self._pos

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def truncate(self, size: Optional[int] = None) -> int:
        with self._lock:
            self._check_open()
            if not self._mode.writable:
                raise io.UnsupportedOperation("File not open for writing")
            size = self._pos if size is None else size.__index__()
            if size < 0:
                raise oserrors.os_failure("Invalid size %d for '%s'" % (size, self.name), self.name,
                                          errno=oserrors.E.EINVAL)
            with self._call("truncate"):
                self._writer.drain()
                self._reader.reset()
                self._engine.set_info(self._tree, self._fid, INFO_FILE, fscc.FileEndOfFileInformation,
                                      fscc.end_of_file_information(size), self._timeout)
            self._size = size
            return size

    def flush(self) -> None:
        """Wait until every write is on the server; raises a failure of any of them."""
        with self._lock:
            self._check_open()
            if not self._writer.idle:
                with self._call("write"):
                    self._writer.drain()

    def close(self) -> None:
        """Write what is pending, then CLOSE the handle (also when that write fails; the
        first failure is raised). Closing twice does nothing."""
        if self.closed:
            return
        with self._lock:
            if self.closed:
                return
            error = None
            try:
                super().close()  # flush(), then closed
            except BaseException as e:  # noqa: B036 - re-raised below, after the CLOSE
                error = e
            try:
                self._release()
            except BaseException as e:  # noqa: B036
                error = error or e
            if error is not None:
                raise error

    # --- byte-range locks ------------------------------------------------------------------
    def lock(self, offset: int, length: int, exclusive: bool = True, wait: bool = False,
             timeout: Optional[float] = None) -> None:
        """Lock ``length`` bytes at ``offset`` against the other opens of the file (on this
        or any client), ``exclusive`` or shared. Without ``wait`` a conflicting lock raises
        ``BlockingIOError`` (STATUS_LOCK_NOT_GRANTED or STATUS_FILE_LOCK_CONFLICT); with
        ``wait`` the call blocks until the range is granted, or raises ``TimeoutError``
        after ``timeout`` seconds (None: no limit). Both are also OperationFailure.
        Pending writes are written first."""
        offset, length = self._range(offset, length)
        wait_for = 0.0 if not wait else (None if timeout is None else max(0.0, float(timeout)))
        with self._lock:
            self.flush()
            with self._call("lock a range of", oserrors.LOCK_ERRNO):
                try:
                    self._engine.lock(self._tree, self._fid, offset, length, exclusive=exclusive,
                                      wait=wait_for, timeout=self._timeout)
                except OperationFailure as e:
                    if wait and wait_for != 0 and e.status in _LOCK_WAIT_OVER:
                        raise oserrors.os_failure(
                            "Timed out waiting %ss for the lock on %d bytes at %d of '%s' on share '%s'"
                            % (timeout, length, offset, self.name, self._service), self.name,
                            e.status, e.smb_messages, errno=oserrors.E.ETIMEDOUT) from None
                    raise

    def unlock(self, offset: int, length: int) -> None:
        """Release the lock on exactly that range (pending writes are written first)."""
        offset, length = self._range(offset, length)
        with self._lock:
            self.flush()
            with self._call("unlock a range of"):
                self._engine.unlock(self._tree, self._fid, offset, length, self._timeout)

    # --- internals ------------------------------------------------------------------------
    @staticmethod
    def _range(offset, length):
        offset, length = offset.__index__(), length.__index__()
        if offset < 0 or length < 0 or offset + length > 0xFFFFFFFFFFFFFFFF:
            raise ValueError("invalid byte range: offset %d, length %d" % (offset, length))
        return offset, length

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    @contextmanager
    def _call(self, what: str, errnos=None):
        """One operation on the file: the engine contract (malformed server data breaks the
        connection; transport buffers are released) and failures as OSError."""
        engine = self._engine
        try:
            yield
        except ProtocolError as e:
            raise engine.abort(e)
        except OperationFailure as e:
            if isinstance(e, OSError):
                raise
            raise oserrors.from_failure(e, "Failed to %s '%s' on share '%s'" % (what, self.name, self._service),
                                        self.name, errnos) from None
        finally:
            engine.end_of_operation()

    def _server_size(self) -> int:
        with self._call("get the size of"):
            self._writer.drain()
            info = self._engine.query_info(self._tree, self._fid, INFO_FILE, fscc.FileStandardInformation,
                                           self._timeout)
            self._size = fscc.parse_standard_information(info).end_of_file
        return self._size

    def _release(self) -> None:
        """Drop what was read ahead and CLOSE the handle (nothing to do on a connection that
        is gone: the server closed it)."""
        engine = self._engine
        try:
            self._reader.reset()
        except Exception:  # the connection broke: nothing to drop
            pass
        self._writer.discard()
        if engine.broken:
            return
        with self._call("close"):
            engine.close_file(self._tree, self._fid, self._timeout)


class _Locking:
    """What the ``io`` wrappers of an :class:`SMBRawFile` add: ``flush`` also waits for the
    raw file's writes (``io`` buffers do not call ``raw.flush()``: a write that failed on
    the server is reported by ``flush``), and ``lock`` / ``unlock``, which flush first so
    that written data reaches the server before the lock changes."""

    def flush(self):
        super().flush()
        raw = self._smb_raw()
        if not raw.closed:
            raw.flush()

    def lock(self, offset, length, exclusive=True, wait=False, timeout=None):
        self.flush()
        self._smb_raw().lock(offset, length, exclusive, wait, timeout)

    def unlock(self, offset, length):
        self.flush()
        self._smb_raw().unlock(offset, length)

    lock.__doc__ = SMBRawFile.lock.__doc__
    unlock.__doc__ = SMBRawFile.unlock.__doc__

    def _smb_raw(self) -> SMBRawFile:
        return self.raw  # type: ignore[attr-defined]  # the io.Buffered* class it is mixed into


class SMBBufferedReader(_Locking, io.BufferedReader):
    """``io.BufferedReader`` over an :class:`SMBRawFile`, with ``lock`` / ``unlock``."""


class SMBBufferedWriter(_Locking, io.BufferedWriter):
    """``io.BufferedWriter`` over an :class:`SMBRawFile`, with ``lock`` / ``unlock``."""


class SMBBufferedRandom(_Locking, io.BufferedRandom):
    """``io.BufferedRandom`` over an :class:`SMBRawFile`, with ``lock`` / ``unlock``."""


class SMBTextFile(_Locking, io.TextIOWrapper):
    """``io.TextIOWrapper`` over a buffered :class:`SMBRawFile`, with ``lock`` / ``unlock``."""

    def _smb_raw(self) -> SMBRawFile:
        return self.buffer.raw  # type: ignore[attr-defined]  # a buffered SMB file: it has raw


def _text_encoding(encoding):
    text_encoding = getattr(io, "text_encoding", None)
    if text_encoding is not None:
        return text_encoding(encoding, 4)
    return encoding or locale.getpreferredencoding(False)


def _check_arguments(mode: Mode, buffering, encoding, errors, newline):
    if not isinstance(buffering, int):
        raise TypeError("buffering must be an integer, not %s" % type(buffering).__name__)
    if not mode.text:
        for value, what in ((encoding, "an encoding"), (errors, "an errors"), (newline, "a newline")):
            if value is not None:
                raise ValueError("binary mode doesn't take %s argument" % what)
    elif buffering == 0:
        raise ValueError("can't have unbuffered text I/O")


def open_file(conn, service_name, path, mode="rb", buffering=-1, encoding=None, errors=None,
              newline=None, share_access=None, timeout=30):
    """``SMBConnection.openFile``: see the module docstring."""
    m = parse_mode(mode)
    _check_arguments(m, buffering, encoding, errors, newline)
    if buffering == 1 and not m.text:
        warnings.warn("line buffering (buffering=1) isn't supported in binary mode, the default "
                      "buffer size will be used", RuntimeWarning, 3)
    wait = Timeout(timeout)
    npath = normalize_path(path)
    engine = conn._need_engine()
    share = DEFAULT_SHARE_ACCESS if share_access is None else share_access
    try:
        tree = conn._tree(service_name, wait)
        opened = engine.create(tree, npath, desired_access=m.access, share_access=share,
                               create_disposition=m.disposition,
                               create_options=fscc.FILE_NON_DIRECTORY_FILE, timeout=wait)
    except ProtocolError as e:
        raise engine.abort(e)
    except OperationFailure as e:
        raise oserrors.from_failure(e, "Failed to open '%s' on share '%s'" % (path, service_name),
                                    path) from None
    try:
        raw = SMBRawFile(engine, tree, opened, name=path, service=service_name, mode=m, timeout=wait)
        result = _wrap(raw, m, buffering, encoding, errors, newline, mode)
    except BaseException:
        engine.close_after_failure(tree, opened.file_id, wait)
        raise
    files = conn.__dict__.setdefault("_open_files", weakref.WeakSet())
    files.add(result)
    return result


def _wrap(raw: SMBRawFile, m: Mode, buffering: int, encoding, errors, newline, mode: str):
    line_buffering = buffering == 1
    if buffering == 0:
        return raw
    if buffering < 0 or buffering == 1:
        buffering = io.DEFAULT_BUFFER_SIZE
    buffered: io.BufferedIOBase
    if m.updating:
        buffered = SMBBufferedRandom(raw, buffering)
    elif m.writable:
        buffered = SMBBufferedWriter(raw, buffering)
    else:
        buffered = SMBBufferedReader(raw, buffering)
    if not m.text:
        return buffered
    text = SMBTextFile(buffered, _text_encoding(encoding), errors, newline, line_buffering)
    text.mode = mode  # type: ignore[misc]  # TextIOWrapper.mode is a plain attribute, as open() sets it
    return text


def close_files(files) -> None:
    """Close every file object still open in ``files`` (``SMBConnection.close``); failures
    are not raised: the connection is going away."""
    for f in list(files):
        try:
            f.close()  # marks it closed even when the last writes or the CLOSE fail
        except Exception:
            pass
    files.clear()
