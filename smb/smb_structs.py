"""Module-level switches and pysmb's ``smb.smb_structs`` names.

``SUPPORT_SMB2`` (read at connect time): when False, only SMB1 (NT LM 0.12) is offered.
``SUPPORT_SMB2x``: when False, SMB2 is limited to 2.0.2 (as in pysmb).
``SUPPORT_EXTENDED_SECURITY``: when False, SMB1 session setup uses the non-extended
form (LM/NT challenge responses) instead of SPNEGO.

The exceptions (``OperationFailure``, ``ProtocolError``, ``UnsupportedFeature``) and the
message records of ``OperationFailure.smb_messages`` (``SMBMessage``, ``SMBError``) are
re-exported here, where pysmb code imports them from; ``from smb.smb_structs import *``
also brings the constants of :mod:`smb.smb_constants`, as pysmb's does.
"""

from smb.errors import OperationFailure, ProtocolError, UnsupportedFeature  # noqa: F401
from smb.records import SMBError, SMBMessage  # noqa: F401
from smb.smb_constants import *  # noqa: F401,F403
from smb.strategy import DataFaultToleranceStrategy  # noqa: F401

SUPPORT_SMB2 = True
SUPPORT_SMB2x = True
SUPPORT_EXTENDED_SECURITY = True

#: the SMB1 dialect strings of the NEGOTIATE request ([MS-CIFS] 2.2.4.52.1), and the SMB2
#: one a multi-protocol NEGOTIATE adds ([MS-SMB2] 3.2.4.2.2.1); the index constants are
#: their positions in that request
DIALECTS = [b"NT LM 0.12"]
DIALECTS2 = [b"SMB 2.002"]
NT_LAN_MANAGER_DIALECT = 0
SMB2_DIALECT = 1


class SMB2ProtocolHeaderError(ProtocolError):
    """pysmb's signal that an SMB2 message arrived where SMB1 was expected."""

    def __init__(self):
        super().__init__("Packet header belongs to SMB2")
