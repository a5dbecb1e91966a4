"""Writing security descriptors over SMB2/3 (a mixin of :class:`smb.smb2.engine.SMB2Engine`).

[MS-SMB2] 2.2.39 / 3.2.4.15 SET_INFO with InfoType SMB2_0_INFO_SECURITY, FileInfoClass 0
and AdditionalInformation the SECURITY_INFORMATION bits ([MS-DTYP] 2.4.7) naming the parts
of the self-relative descriptor ([MS-DTYP] 2.4.6) to apply.
"""

from __future__ import annotations

from smb.engine import INFO_SECURITY, Timeout, Tree
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2.mixin import EngineMixin


class SetSecurity(EngineMixin):
    def set_security(self, tree: Tree, file_id, descriptor: bytes, security_information: int,
                     timeout: Timeout) -> None:
        data = bytes(descriptor)
        body = M.set_info_request(file_id, INFO_SECURITY, 0, data, security_information)
        req = self._call(C.SET_INFO, body, tree, timeout, charge=self.charge(len(data)))
        self._check(req, "SET_INFO (security descriptor)")
