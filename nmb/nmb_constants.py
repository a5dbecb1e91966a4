"""NetBIOS constants under the module name pysmb uses (``nmb.nmb_constants``).

Name types ([MS-NBTE] / RFC 1001 16-byte names: the 16th byte), name-service packet fields
(RFC 1002 4.2) and session-service packet types (RFC 1002 4.3). The values live in
:mod:`nmb.nmb_structs` and :mod:`nmb.framing`; this module re-exports them.
"""

from nmb.framing import (  # noqa: F401
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
