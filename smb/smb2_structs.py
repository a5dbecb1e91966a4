"""pysmb's ``smb.smb2_structs`` names: :class:`SMB2Message` (the SMB2 record of
``OperationFailure.smb_messages``) and, through ``import *``, the constants of
:mod:`smb.smb_constants` and :mod:`smb.smb2_constants`."""

from smb.errors import ProtocolError  # noqa: F401
from smb.records import SMB2Message  # noqa: F401
from smb.smb2_constants import *  # noqa: F401,F403
from smb.smb_constants import *  # noqa: F401,F403
from smb.utils import convertFILETIMEtoEpoch  # noqa: F401
