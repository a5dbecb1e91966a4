"""``OSError`` views of server failures, for the file objects of :mod:`smb.fileobj`.

Python code that works with files catches ``FileNotFoundError``, ``PermissionError``,
``FileExistsError``... This module turns an :class:`smb.errors.OperationFailure` into an
exception that is BOTH an ``OperationFailure`` (``status`` and ``smb_messages`` kept, the
message naming the operation and the path) and the ``OSError`` subclass a local file system
would raise for the same condition, with ``errno``, ``strerror`` and ``filename`` set.

The NTSTATUS values are those of [MS-ERREF] 2.3; the errno chosen for each follows what
POSIX calls return for the equivalent condition (``open(2)``, ``write(2)``, ``fcntl(2)``
locks) and what CPython's Windows error table gives for the matching Win32 error.
"""

from __future__ import annotations

import errno as E
import os

from smb import ntstatus as S
from smb.errors import OperationFailure

#: NTSTATUS -> errno, for every failure of a file object (lock calls add :data:`LOCK_ERRNO`)
STATUS_ERRNO = {
    S.STATUS_NO_SUCH_FILE: E.ENOENT,
    S.STATUS_OBJECT_NAME_NOT_FOUND: E.ENOENT,
    S.STATUS_OBJECT_PATH_NOT_FOUND: E.ENOENT,
    S.STATUS_NOT_FOUND: E.ENOENT,
    S.STATUS_DELETE_PENDING: E.ENOENT,
    S.STATUS_FILE_DELETED: E.ENOENT,
    S.STATUS_BAD_NETWORK_NAME: E.ENOENT,
    S.STATUS_ACCESS_DENIED: E.EACCES,
    S.STATUS_NETWORK_ACCESS_DENIED: E.EACCES,
    S.STATUS_SHARING_VIOLATION: E.EACCES,
    S.STATUS_PRIVILEGE_NOT_HELD: E.EPERM,
    S.STATUS_CANNOT_DELETE: E.EACCES,
    # a WRITE or READ into a range another open has locked (Win32 ERROR_LOCK_VIOLATION)
    S.STATUS_FILE_LOCK_CONFLICT: E.EACCES,
    S.STATUS_OBJECT_NAME_COLLISION: E.EEXIST,
    S.STATUS_FILE_IS_A_DIRECTORY: E.EISDIR,
    S.STATUS_NOT_A_DIRECTORY: E.ENOTDIR,
    S.STATUS_DIRECTORY_NOT_EMPTY: E.ENOTEMPTY,
    S.STATUS_DISK_FULL: E.ENOSPC,
    S.STATUS_QUOTA_EXCEEDED: E.EDQUOT,
    S.STATUS_MEDIA_WRITE_PROTECTED: E.EROFS,
    S.STATUS_OBJECT_NAME_INVALID: E.EINVAL,
    S.STATUS_OBJECT_PATH_INVALID: E.EINVAL,
    S.STATUS_OBJECT_PATH_SYNTAX_BAD: E.EINVAL,
    S.STATUS_INVALID_PARAMETER: E.EINVAL,
    S.STATUS_NAME_TOO_LONG: E.ENAMETOOLONG,
    S.STATUS_TOO_MANY_OPENED_FILES: E.EMFILE,
    S.STATUS_NOT_SUPPORTED: E.EOPNOTSUPP,
    S.STATUS_INVALID_DEVICE_REQUEST: E.EOPNOTSUPP,
    S.STATUS_RANGE_NOT_LOCKED: E.ENOLCK,
    S.STATUS_LOCK_NOT_GRANTED: E.EAGAIN,
    S.STATUS_IO_TIMEOUT: E.ETIMEDOUT,
    S.STATUS_INVALID_HANDLE: E.EBADF,
    S.STATUS_FILE_CLOSED: E.EBADF,
}

#: what a refused byte-range lock means to ``lock()``: another open holds the range (EAGAIN,
#: ``BlockingIOError``, as ``fcntl.lockf(..., LOCK_NB)`` raises)
LOCK_ERRNO = {
    S.STATUS_LOCK_NOT_GRANTED: E.EAGAIN,
    S.STATUS_FILE_LOCK_CONFLICT: E.EAGAIN,
}

#: the errno of a failure without a better match
DEFAULT_ERRNO = E.EIO

_OS_CLASSES = {
    E.ENOENT: FileNotFoundError,
    E.EACCES: PermissionError,
    E.EPERM: PermissionError,
    E.EEXIST: FileExistsError,
    E.EISDIR: IsADirectoryError,
    E.ENOTDIR: NotADirectoryError,
    E.EAGAIN: BlockingIOError,
    E.ETIMEDOUT: TimeoutError,
}

_CLASSES: dict = {}


def _init(self, errno, message, filename, smb_messages, status):
    OSError.__init__(self, errno, os.strerror(errno), filename)
    self.message = message
    self.smb_messages = list(smb_messages or [])
    self.status = status


def failure_class(errno: int) -> type:
    """The class (made once) that is both OperationFailure and the OSError subclass of
    ``errno`` (``OSError`` itself when Python has no subclass for it)."""
    cls = _CLASSES.get(errno)
    if cls is None:
        os_class = _OS_CLASSES.get(errno, OSError)
        name = os_class.__name__ if os_class is not OSError else "OSFailure"
        cls = type(name, (OperationFailure, os_class), {
            "__module__": __name__, "__init__": _init,
            "__doc__": "An OperationFailure that is also a %s (errno %s)."
                       % (os_class.__name__, E.errorcode.get(errno, errno))})
        _CLASSES[errno] = cls
    return cls


def errno_for(status, table=None) -> int:
    if table and status in table:
        return table[status]
    return STATUS_ERRNO.get(status, DEFAULT_ERRNO)


def os_failure(message: str, filename=None, status=None, smb_messages=None, errno=None):
    """A new OperationFailure + OSError for ``status`` (or the given ``errno``)."""
    if errno is None:
        errno = errno_for(status)
    return failure_class(errno)(errno, message, filename, smb_messages, status)


def from_failure(exc: OperationFailure, message: str, filename=None, table=None):
    """``exc`` (an engine's OperationFailure) as an OperationFailure + OSError."""
    return os_failure(message, filename, exc.status, exc.smb_messages, errno_for(exc.status, table))
