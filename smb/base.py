"""pysmb-compatible public objects: :class:`SharedDevice`, :class:`SharedFile` and the
exceptions (``NotReadyError``, ``NotConnectedError``, ``SMBTimeout``, ``OperationFailure``,
plus ``ProtocolError``).

As pysmb's ``smb.base`` does, the module also carries the names of ``smb.smb_constants``,
``smb.smb2_constants``, ``smb.smb_structs`` and ``smb.smb2_structs``. ``SMB`` (pysmb's base
class of ``SMBConnection``) is :class:`smb.SMBConnection.SMBConnection` itself.

Share types follow [MS-SRVS] 2.2.2.4; file attributes [MS-FSCC] 2.6.
"""

from smb import ntlm, securityblob  # noqa: F401
from smb.errors import (  # noqa: F401  (pysmb's names live here)
    NotConnectedError,
    NotReadyError,
    OperationFailure,
    ProtocolError,
    SMBTimeout,
    UnsupportedFeature,
)
from smb.security_descriptors import SecurityDescriptor  # noqa: F401
from smb.smb2_constants import *  # noqa: F401,F403
from smb.smb2_structs import *  # noqa: F401,F403
from smb.smb_constants import *  # noqa: F401,F403
from smb.smb_constants import ATTR_DIRECTORY, ATTR_NORMAL, ATTR_READONLY
from smb.smb_structs import *  # noqa: F401,F403
from smb.utils import convertEpochToFILETIME, convertFILETIMEtoEpoch  # noqa: F401


def __getattr__(name):
    # pysmb's SMB class is SMBConnection's base; here SMBConnection plays its part (imported
    # lazily: smb.SMBConnection imports this module)
    if name == "SMB":
        from smb.SMBConnection import SMBConnection

        return SMBConnection
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


class SharedDevice:
    """A share on the server, as returned by ``SMBConnection.listShares``."""

    DISK_TREE = 0x00
    PRINT_QUEUE = 0x01
    COMM_DEVICE = 0x02
    IPC = 0x03

    def __init__(self, type, name, comments):
        self._type = type
        #: The share's name (e.g. ``"public"``, ``"IPC$"``)
        self.name = name
        #: The share's remark (comment), possibly empty
        self.comments = comments

    @property
    def type(self):
        """The share type without the special/temporary bits: one of ``DISK_TREE``,
        ``PRINT_QUEUE``, ``COMM_DEVICE`` or ``IPC``."""
        return self._type & 0xFFFF

    @property
    def isSpecial(self):
        """True for administrative/special shares (``IPC$``, ``ADMIN$``, ``C$``)."""
        return bool(self._type & 0x80000000)

    @property
    def isTemporary(self):
        """True for temporary shares."""
        return bool(self._type & 0x40000000)

    def __str__(self):
        return "Shared device: %s (type:0x%02x comments:%s)" % (self.name, self.type, self.comments)

    __repr__ = __str__


class SharedFile:
    """A file or folder on a share, as returned by ``listPath`` and ``getAttributes``.

    Times are floats, in seconds since the epoch (1970-01-01 00:00:00 UTC).
    """

    def __init__(self, create_time, last_access_time, last_write_time, last_attr_change_time,
                 file_size, alloc_size, file_attributes, short_name, filename, file_id=None):
        self.create_time = create_time  #: creation time
        self.last_access_time = last_access_time  #: last access time
        self.last_write_time = last_write_time  #: last write (modification) time
        self.last_attr_change_time = last_attr_change_time  #: last attribute (metadata) change time
        self.file_size = file_size  #: size in bytes (0 for folders)
        self.alloc_size = alloc_size  #: allocated size on the server, in bytes
        self.file_attributes = file_attributes  #: bitwise-OR of ``smb_constants.ATTR_*``
        self.short_name = short_name  #: 8.3 name, possibly empty
        self.filename = filename  #: the long name
        self.file_id = file_id  #: server file index / id when known, else None

    @property
    def isDirectory(self):
        """True if this is a folder."""
        return bool(self.file_attributes & ATTR_DIRECTORY)

    @property
    def isReadOnly(self):
        """True if the read-only attribute is set."""
        return bool(self.file_attributes & ATTR_READONLY)

    @property
    def isNormal(self):
        """pysmb's "normal" file: the attributes are exactly ATTR_NORMAL, or their low byte
        (read-only, hidden, system, volume, directory, archive, device, normal) is 0; other
        bits (temporary, sparse, compressed, ...) do not count."""
        return self.file_attributes == ATTR_NORMAL or (self.file_attributes & 0xFF) == 0

    @property
    def isNormalAttribute(self):
        """True when the only attribute is ``ATTR_NORMAL`` (or none at all)."""
        return self.file_attributes in (0, ATTR_NORMAL)

    def __str__(self):
        return "Shared file: %s (FileSize:%d bytes, isDirectory:%s)" % (
            self.filename, self.file_size, self.isDirectory)

    __repr__ = __str__
