"""pysmb's ``nmb.base`` names that callers import (the exceptions live in :mod:`smb.errors`).

Session service constants are those of RFC 1002 4.3 (see :mod:`nmb.framing`).
"""

from smb.errors import NotConnectedError, ProtocolError, SMBTimeout  # noqa: F401
from nmb.framing import (  # noqa: F401
    NEGATIVE_SESSION_RESPONSE, POSITIVE_SESSION_RESPONSE, RETARGET_SESSION_RESPONSE,
    SESSION_KEEPALIVE, SESSION_MESSAGE, SESSION_REQUEST)

__all__ = ["NotConnectedError", "ProtocolError", "SMBTimeout", "SESSION_MESSAGE", "SESSION_REQUEST",
           "POSITIVE_SESSION_RESPONSE", "NEGATIVE_SESSION_RESPONSE", "RETARGET_SESSION_RESPONSE",
           "SESSION_KEEPALIVE"]
