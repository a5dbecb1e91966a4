"""The library's exceptions, in one place.

pysmb's names are kept and re-exported where pysmb has them:
``smb.base`` (NotReadyError, NotConnectedError, SMBTimeout, OperationFailure) and
``smb.smb_structs`` (ProtocolError, UnsupportedFeature).
"""


class NotReadyError(Exception):
    """The connection is not authenticated yet (or authentication failed)."""


class NotConnectedError(Exception):
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


class SMBMessageRecord:
    """A minimal record of one SMB response, as carried in ``OperationFailure.smb_messages``.

    pysmb users read ``.status`` (the NTSTATUS) and sometimes ``.command``.
    """

    __slots__ = ("command", "status", "mid")

    def __init__(self, command, status, mid=0):
        self.command = command
        self.status = status
        self.mid = mid

    def __repr__(self):
        return "<SMB message command=0x%02X status=0x%08X mid=%d>" % (self.command, self.status, self.mid)


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
