"""pysmb-compatible public objects: :class:`SharedDevice`, :class:`SharedFile` and the
exceptions (``NotReadyError``, ``NotConnectedError``, ``SMBTimeout``, ``OperationFailure``,
plus ``ProtocolError``).

Share types follow [MS-SRVS] 2.2.2.4; file attributes [MS-FSCC] 2.6.
"""

from smb.errors import (  # noqa: F401  (pysmb's names live here)
    NotConnectedError,
    NotReadyError,
    OperationFailure,
    ProtocolError,
    SMBTimeout,
    UnsupportedFeature,
)
from smb.smb_constants import (
    ATTR_DEVICE,
    ATTR_DIRECTORY,
    ATTR_NORMAL,
    ATTR_READONLY,
    ATTR_VOLUME,
)


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
        """True for a regular file: not a folder, a volume label or a device."""
        if self.file_attributes & (ATTR_DIRECTORY | ATTR_VOLUME | ATTR_DEVICE):
            return False
        return True

    @property
    def isNormalAttribute(self):
        """True when the only attribute is ``ATTR_NORMAL`` (or none at all)."""
        return self.file_attributes in (0, ATTR_NORMAL)

    def __str__(self):
        return "Shared file: %s (FileSize:%d bytes, isDirectory:%s)" % (
            self.filename, self.file_size, self.isDirectory)

    __repr__ = __str__
