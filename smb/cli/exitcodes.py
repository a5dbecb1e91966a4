"""The command line's exit codes, in one place, and the mapping from errors to them.

NTSTATUS values ([MS-ERREF] 2.3, :mod:`smb.ntstatus`) of an ``OperationFailure`` choose the
code; local ``OSError`` subclasses map the same way, so ``get`` of a missing remote file and
``put`` of a missing local one both end with :attr:`ExitCode.NOT_FOUND`.
"""

from __future__ import annotations

import enum
from typing import cast

from smb import ntstatus as nt
from smb.errors import (
    NotConnectedError,
    NotReadyError,
    OperationFailure,
    ProtocolError,
    SMBTimeout,
)


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    ACCESS_DENIED = 5
    CONNECTION = 6
    TIMEOUT = 7
    EXISTS = 8
    PROTOCOL = 9
    INTERRUPTED = 130
    BROKEN_PIPE = 141


#: what each exit code means (shown by ``--help`` and in docs/cli.rst)
MEANING = {
    ExitCode.OK: "success",
    ExitCode.ERROR: "any other failure (e.g. removing a folder that is not empty)",
    ExitCode.USAGE: "bad command line or URL, or no way to get a password",
    ExitCode.AUTH: "the server refused the credentials",
    ExitCode.NOT_FOUND: "no such file, folder or share (remote or local)",
    ExitCode.ACCESS_DENIED: "access denied (by the server or the local system)",
    ExitCode.CONNECTION: "the server could not be reached, or the connection broke",
    ExitCode.TIMEOUT: "the server did not answer in time",
    ExitCode.EXISTS: "the target already exists",
    ExitCode.PROTOCOL: "the server sent invalid or forged data (the connection was dropped)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.BROKEN_PIPE: "the reader of standard output went away (as cat does)",
}


class CLIError(Exception):
    """A failure the command line reports in one line, with its exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR):
        super().__init__(message)
        self.code = code


_BY_STATUS = {
    ExitCode.AUTH: (
        nt.STATUS_LOGON_FAILURE, nt.STATUS_WRONG_PASSWORD, nt.STATUS_NO_SUCH_USER,
        nt.STATUS_ACCOUNT_DISABLED, nt.STATUS_ACCOUNT_EXPIRED, nt.STATUS_ACCOUNT_LOCKED_OUT,
        nt.STATUS_ACCOUNT_RESTRICTION, nt.STATUS_PASSWORD_EXPIRED, nt.STATUS_PASSWORD_MUST_CHANGE,
        nt.STATUS_INVALID_LOGON_HOURS, nt.STATUS_INVALID_WORKSTATION,
        nt.STATUS_LOGON_TYPE_NOT_GRANTED, nt.STATUS_USER_SESSION_DELETED,
        nt.STATUS_NETWORK_SESSION_EXPIRED),
    ExitCode.NOT_FOUND: (
        nt.STATUS_OBJECT_NAME_NOT_FOUND, nt.STATUS_OBJECT_PATH_NOT_FOUND, nt.STATUS_NO_SUCH_FILE,
        nt.STATUS_NOT_FOUND, nt.STATUS_BAD_NETWORK_NAME, nt.STATUS_BAD_NETWORK_PATH,
        nt.STATUS_DELETE_PENDING, nt.STATUS_FILE_DELETED),
    ExitCode.ACCESS_DENIED: (
        nt.STATUS_ACCESS_DENIED, nt.STATUS_NETWORK_ACCESS_DENIED, nt.STATUS_PRIVILEGE_NOT_HELD,
        nt.STATUS_CANNOT_DELETE, nt.STATUS_MEDIA_WRITE_PROTECTED),
    ExitCode.EXISTS: (nt.STATUS_OBJECT_NAME_COLLISION, nt.STATUS_OBJECT_NAME_EXISTS),
    ExitCode.CONNECTION: (
        nt.STATUS_CONNECTION_DISCONNECTED, nt.STATUS_CONNECTION_RESET,
        nt.STATUS_CONNECTION_REFUSED, nt.STATUS_HOST_UNREACHABLE, nt.STATUS_NETWORK_NAME_DELETED),
    ExitCode.TIMEOUT: (nt.STATUS_IO_TIMEOUT,),
}
STATUS_EXIT_CODES = {status: code for code, statuses in _BY_STATUS.items() for status in statuses}

# checked in order: the first class the exception is an instance of wins
_BY_CLASS = (
    (CLIError, None),
    (NotReadyError, ExitCode.AUTH),
    (SMBTimeout, ExitCode.TIMEOUT),
    (TimeoutError, ExitCode.TIMEOUT),
    (NotConnectedError, ExitCode.CONNECTION),
    (ConnectionError, ExitCode.CONNECTION),
    (ProtocolError, ExitCode.PROTOCOL),
    (FileNotFoundError, ExitCode.NOT_FOUND),
    (PermissionError, ExitCode.ACCESS_DENIED),
    (FileExistsError, ExitCode.EXISTS),
    (KeyboardInterrupt, ExitCode.INTERRUPTED),
)


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code that reports ``exc``."""
    if isinstance(exc, OperationFailure):
        return STATUS_EXIT_CODES.get(exc.status, ExitCode.ERROR)
    for cls, code in _BY_CLASS:
        if isinstance(exc, cls):
            return cast(CLIError, exc).code if code is None else code  # None: the CLIError row
    return ExitCode.ERROR


def is_status(exc: BaseException, code: ExitCode) -> bool:
    """True when ``exc`` is an ``OperationFailure`` that maps to ``code``."""
    return isinstance(exc, OperationFailure) and STATUS_EXIT_CODES.get(exc.status) is code
