"""Writing security descriptors: ``SMBConnection.setSecurity``.

The descriptor is sent self-relative ([MS-DTYP] 2.4.6, encoded by
:mod:`smb.security_descriptors`) with the SECURITY_INFORMATION bits ([MS-DTYP] 2.4.7) naming
the parts to apply: SMB2 SET_INFO InfoType SECURITY ([MS-SMB2] 2.2.39, :mod:`smb.smb2.security`),
SMB1 NT_TRANSACT_SET_SECURITY_DESC ([MS-CIFS] 2.2.7.3, :mod:`smb.smb1.security`). The handle is
opened with the rights each part needs ([MS-SMB2] 3.3.5.21.3: WRITE_OWNER for the owner and
group, WRITE_DAC for the DACL, ACCESS_SYSTEM_SECURITY for the SACL).
"""

from __future__ import annotations

from smb import fscc
from smb.engine import Timeout
from smb.operations import normalize_path
from smb.security_descriptors import (DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION,
                                      OWNER_SECURITY_INFORMATION, SACL_SECURITY_INFORMATION,
                                      SecurityDescriptor)

#: owner, group and DACL: what ``getSecurity`` returns and ``setSecurity`` writes by default
DEFAULT_INFO = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
LABEL_SECURITY_INFORMATION = 0x00000010


def access_for(info: int) -> int:
    """The desired access an open needs to set the parts ``info`` names."""
    access = fscc.SYNCHRONIZE | fscc.READ_CONTROL
    if info & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | LABEL_SECURITY_INFORMATION):
        access |= fscc.WRITE_OWNER
    if info & DACL_SECURITY_INFORMATION:
        access |= fscc.WRITE_DAC
    if info & SACL_SECURITY_INFORMATION:
        access |= fscc.ACCESS_SYSTEM_SECURITY
    return access


def set_security(conn, service_name, path, security_descriptor, info=DEFAULT_INFO, timeout=30) -> None:
    if isinstance(security_descriptor, SecurityDescriptor):
        data = security_descriptor.to_bytes()
    elif isinstance(security_descriptor, (bytes, bytearray, memoryview)):
        data = bytes(security_descriptor)
        SecurityDescriptor.from_bytes(data)  # refuse to send what is not a descriptor
    else:
        raise TypeError("setSecurity needs a SecurityDescriptor or its bytes, not %s"
                        % type(security_descriptor).__name__)
    wait = Timeout(timeout)
    npath = normalize_path(path)
    engine = conn._need_engine()
    with conn._failure("set the security descriptor of", service_name, path):
        tree = conn._tree(service_name, wait)
        with conn._open(tree, npath, wait, desired_access=access_for(info), share_access=7) as o:
            engine.set_security(tree, o.file_id, data, info, wait)
