"""Module-level switches and pysmb-compatible names.

``SUPPORT_SMB2`` (read at connect time): when False, only SMB1 (NT LM 0.12) is offered.
``SUPPORT_SMB2x``: when False, SMB2 is limited to 2.0.2 (as in pysmb).
``SUPPORT_EXTENDED_SECURITY``: when False, SMB1 session setup uses the non-extended
form (LM/NT challenge responses) instead of SPNEGO.
"""

from smb.errors import ProtocolError, UnsupportedFeature  # noqa: F401  (pysmb names)

SUPPORT_SMB2 = True
SUPPORT_SMB2x = True
SUPPORT_EXTENDED_SECURITY = True
