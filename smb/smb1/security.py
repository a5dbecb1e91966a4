"""Writing security descriptors over SMB1 (a mixin of :class:`smb.smb1.engine.SMB1Engine`).

[MS-CIFS] 2.2.7.3 NT_TRANSACT_SET_SECURITY_DESC: no setup words; parameters FID (2),
Reserved (2), SecurityInformation (4, [MS-DTYP] 2.4.7); data the self-relative security
descriptor ([MS-DTYP] 2.4.6). The response carries neither parameters nor data.
"""

from __future__ import annotations

import struct

from smb.engine import Timeout, Tree
from smb.smb1 import trans as T
from smb.smb1.mixin import EngineMixin

_PARAMS = struct.Struct("<HHI")


class SetSecurity(EngineMixin):
    def set_security(self, tree: Tree, file_id, descriptor: bytes, security_information: int,
                     timeout: Timeout) -> None:
        req = T.nt_transact(T.NT_TRANSACT_SET_SECURITY_DESC, b"",
                            _PARAMS.pack(file_id, 0, security_information), bytes(descriptor),
                            max_param=0, max_data=0)
        self.conn.transact(req, tree.tree_id, timeout, max_param=0, max_data=0, nt=True,
                           what="set security descriptor")
