"""NetBIOS constants under the module name pysmb uses (``nmb.nmb_constants``).

Name types ([MS-NBTE] / RFC 1001 16-byte names: the 16th byte), name-service packet fields
(RFC 1002 4.2) and session-service packet types (RFC 1002 4.3). The values live in
:mod:`nmb.nmb_structs` and :mod:`nmb.framing`; this module re-exports them.
"""

from nmb.framing import (  # noqa: F401
    RETARGET_SESSION_RESPONSE as REGTARGET_SESSION_RESPONSE,  # pysmb's spelling
    CALLED_NAME_NOT_PRESENT,
    INSUFFICIENT_RESOURCES,
    NEGATIVE_SESSION_RESPONSE,
    NOT_LISTENING_FOR_CALLING_NAME,
    NOT_LISTENING_ON_CALLED_NAME,
    POSITIVE_SESSION_RESPONSE,
    RETARGET_SESSION_RESPONSE,
    SESSION_KEEPALIVE,
    SESSION_MESSAGE,
    SESSION_REQUEST,
    UNSPECIFIED_ERROR,
)
from nmb.nmb_structs import (  # noqa: F401
    CLASS_IN,
    TYPE_BROWSER,
    TYPE_CLIENT,
    TYPE_DOMAIN_MASTER,
    TYPE_MASTER_BROWSER,
    TYPE_NB,
    TYPE_NBSTAT,
    TYPE_SERVER,
    TYPE_WORKSTATION,
)

#: UDP port of the name service and TCP port of the session service (RFC 1002 4.2.1, 4.3.1)
NETBIOS_NS_PORT = 137
NETBIOS_SESSION_PORT = 139

# owner node types of NB_FLAGS ONT (RFC 1002 4.2.1.3), with pysmb's values
NODE_B = 0x00
NODE_P = 0x01
NODE_M = 0x10
NODE_RESERVED = 0x11

#: pysmb's extra name type
TYPE_UNKNOWN = 0x01
#: name type -> description
TYPE_NAMES = {
    TYPE_UNKNOWN: "Unknown", TYPE_WORKSTATION: "Workstation", TYPE_CLIENT: "Client",
    TYPE_SERVER: "Server", TYPE_MASTER_BROWSER: "Master Browser", TYPE_BROWSER: "Browser Server",
    TYPE_DOMAIN_MASTER: "Domain Master",
}
