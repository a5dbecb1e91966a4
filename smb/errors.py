"""The library's exceptions, in one place.

pysmb's names are kept and re-exported where pysmb has them:
``smb.base`` (NotReadyError, NotConnectedError, SMBTimeout, OperationFailure),
``smb.smb_structs`` (ProtocolError, UnsupportedFeature) and ``nmb.nmb_structs`` (NMBError,
NotConnectedError).

Failures of the TCP connect itself keep the standard library's exception types, as pysmb
lets them through: :func:`connect_error` and :func:`connect_timeout` build exceptions that
are both this library's (``NotConnectedError``, ``SMBTimeout``) and the ``OSError`` subclass
the socket raised (``ConnectionRefusedError``, ``socket.gaierror``, ``socket.timeout``...).
"""

import socket


class NotReadyError(Exception):
    """The connection is not authenticated yet (or authentication failed)."""


class NMBError(Exception):
    """A NetBIOS-level failure (pysmb's ``nmb.nmb_structs.NMBError``)."""


class NotConnectedError(NMBError):
    """The connection was refused, reset, or closed by the peer, or it was closed locally."""


class SMBTimeout(Exception):
    """An operation did not complete within its timeout."""


class ProtocolError(Exception):
    """The server sent data that violates the protocol (malformed, forged or unexpected).

    ``ProtocolError(message, data_buf=None, smb_message=None)`` as in pysmb.
    """

    def __init__(self, message, data_buf=None, smb_message=None):
        super().__init__(message, data_buf, smb_message)
        self.message = message
        self.data_buf = data_buf
        self.smb_message = smb_message

    def __str__(self):
        return str(self.message)


class UnsupportedFeature(Exception):
    """The server or the negotiated dialect lacks a feature the operation needs."""


class OperationFailure(Exception):
    """A file operation failed on the server.

    ``args == (message, smb_messages)`` as in pysmb; ``status`` is the NTSTATUS of the
    failing response (an int) or None; ``message`` names the operation and the path.
    """

    def __init__(self, message, smb_messages=None, status=None):
        smb_messages = list(smb_messages or [])
        if status is None and smb_messages:
            status = getattr(smb_messages[-1], "status", None)
        super().__init__(message, smb_messages)
        self.message = message
        self.smb_messages = smb_messages
        self.status = status

    def __str__(self):
        if self.status is None:
            return str(self.message)
        from smb.ntstatus import status_name

        return "%s (%s, 0x%08X)" % (self.message, status_name(self.status), self.status)


_DUAL_CLASSES: dict[tuple[type, type], type] = {}


def _dual(ours, os_class):
    """A subclass of both ``ours`` and ``os_class`` (made once per pair)."""
    cls = _DUAL_CLASSES.get((ours, os_class))
    if cls is None:
        cls = type(os_class.__name__, (ours, os_class), {
            "__module__": __name__,
            "__doc__": "%s that is also a %s." % (ours.__name__, os_class.__name__)})
        _DUAL_CLASSES[(ours, os_class)] = cls
    return cls


def connect_error(message: str, os_error: OSError) -> NotConnectedError:
    """A NotConnectedError that is also ``os_error``'s class (``errno`` kept)."""
    cls = _dual(NotConnectedError, type(os_error))
    if os_error.errno is None:
        return cls(message)
    return cls(os_error.errno, message)


def connect_timeout(message: str) -> SMBTimeout:
    """An SMBTimeout that is also a ``socket.timeout`` (``TimeoutError``)."""
    return _dual(SMBTimeout, socket.timeout)(message)
