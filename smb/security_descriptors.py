"""Windows security descriptors, as returned by ``SMBConnection.getSecurity``.

Implements [MS-DTYP] 2.4.2 (SID, binary form 2.4.2.2 and string form 2.4.2.1),
2.4.3 (ACCESS_MASK), 2.4.4 (ACE header 2.4.4.1 and the ACE bodies 2.4.4.2 - 2.4.4.17,
object ACEs included), 2.4.5 (ACL) and 2.4.6 (self-relative SECURITY_DESCRIPTOR,
offsets of 0 meaning "absent"). Public names and object shapes follow pysmb's
``smb.security_descriptors`` module.

Malformed input raises :class:`smb.errors.ProtocolError`.
"""

from __future__ import annotations

import struct
import uuid

from smb.errors import ProtocolError
# access mask bits ([MS-DTYP] 2.4.3) and SECURITY_INFORMATION bits (2.4.7), under pysmb's names:
# defined once in smb.fscc / smb.smb_constants
from smb.smb_constants import (  # noqa: F401
    ACCESS_SYSTEM_SECURITY,
    DACL_SECURITY_INFORMATION,
    DELETE,
    GENERIC_ALL,
    GENERIC_EXECUTE,
    GENERIC_READ,
    GENERIC_WRITE,
    GROUP_SECURITY_INFORMATION,
    MAXIMUM_ALLOWED,
    OWNER_SECURITY_INFORMATION,
    READ_CONTROL,
    SACL_SECURITY_INFORMATION,
    SYNCHRONIZE,
    WRITE_DAC,
    WRITE_OWNER,
)

# --- well-known SIDs ([MS-DTYP] 2.4.2.4), as strings (compare equal to SID objects) -------
SID_NULL = "S-1-0-0"
SID_EVERYONE = "S-1-1-0"
SID_LOCAL = "S-1-2-0"
SID_CONSOLE_LOGON = "S-1-2-1"
SID_CREATOR_OWNER = "S-1-3-0"
SID_CREATOR_GROUP = "S-1-3-1"
SID_OWNER_SERVER = "S-1-3-2"
SID_GROUP_SERVER = "S-1-3-3"
SID_OWNER_RIGHTS = "S-1-3-4"
SID_NT_AUTHORITY = "S-1-5"
SID_DIALUP = "S-1-5-1"
SID_NETWORK = "S-1-5-2"
SID_BATCH = "S-1-5-3"
SID_INTERACTIVE = "S-1-5-4"
SID_SERVICE = "S-1-5-6"
SID_ANONYMOUS = "S-1-5-7"
SID_PROXY = "S-1-5-8"
SID_ENTERPRISE_DOMAIN_CONTROLLERS = "S-1-5-9"
SID_PRINCIPAL_SELF = "S-1-5-10"
SID_AUTHENTICATED_USERS = "S-1-5-11"
SID_RESTRICTED_CODE = "S-1-5-12"
SID_TERMINAL_SERVER_USER = "S-1-5-13"
SID_REMOTE_INTERACTIVE_LOGON = "S-1-5-14"
SID_THIS_ORGANIZATION = "S-1-5-15"
SID_IUSR = "S-1-5-17"
SID_LOCAL_SYSTEM = "S-1-5-18"
SID_LOCAL_SERVICE = "S-1-5-19"
SID_NETWORK_SERVICE = "S-1-5-20"
SID_BUILTIN_ADMINISTRATORS = "S-1-5-32-544"
SID_BUILTIN_USERS = "S-1-5-32-545"
SID_BUILTIN_GUESTS = "S-1-5-32-546"
SID_POWER_USERS = "S-1-5-32-547"
SID_ACCOUNT_OPERATORS = "S-1-5-32-548"
SID_SERVER_OPERATORS = "S-1-5-32-549"
SID_PRINTER_OPERATORS = "S-1-5-32-550"
SID_BACKUP_OPERATORS = "S-1-5-32-551"
SID_REPLICATOR = "S-1-5-32-552"
SID_REMOTE_DESKTOP_USERS = "S-1-5-32-555"
SID_NETWORK_CONFIGURATION_OPS = "S-1-5-32-556"
SID_PERFMON_USERS = "S-1-5-32-558"
SID_PERFLOG_USERS = "S-1-5-32-559"
SID_DISTRIBUTED_COM_USERS = "S-1-5-32-562"
SID_IIS_IUSRS = "S-1-5-32-568"
SID_CRYPTOGRAPHIC_OPERATORS = "S-1-5-32-569"
SID_EVENT_LOG_READERS = "S-1-5-32-573"
SID_REMOTE_MANAGEMENT_USERS = "S-1-5-32-580"
SID_COMPOUNDED_AUTHENTICATION = "S-1-5-21-0-0-0-496"
SID_CLAIMS_VALID = "S-1-5-21-0-0-0-497"
SID_ALIAS_PREW2KCOMPACC = "S-1-5-32-554"
SID_REMOTE_DESKTOP = SID_REMOTE_DESKTOP_USERS
SID_INCOMING_FOREST_TRUST_BUILDERS = "S-1-5-32-557"
SID_WINDOWS_AUTHORIZATION_ACCESS_GROUP = "S-1-5-32-560"
SID_TERMINAL_SERVER_LICENSE_SERVERS = "S-1-5-32-561"
SID_CERTIFICATE_SERVICE_DCOM_ACCESS = "S-1-5-32-574"
SID_RDS_REMOTE_ACCESS_SERVERS = "S-1-5-32-575"
SID_RDS_ENDPOINT_SERVERS = "S-1-5-32-576"
SID_RDS_MANAGEMENT_SERVERS = "S-1-5-32-577"
SID_HYPER_V_ADMINS = "S-1-5-32-578"
SID_ACCESS_CONTROL_ASSISTANCE_OPS = "S-1-5-32-579"
SID_WRITE_RESTRICTED_CODE = "S-1-5-33"
SID_NTLM_AUTHENTICATION = "S-1-5-64-10"
SID_SCHANNEL_AUTHENTICATION = "S-1-5-64-14"
SID_DIGEST_AUTHENTICATION = "S-1-5-64-21"
SID_THIS_ORGANIZATION_CERTIFICATE = "S-1-5-65-1"
SID_NT_SERVICE = "S-1-5-80"
SID_USER_MODE_DRIVERS = "S-1-5-84-0-0-0-0-0"
SID_LOCAL_ACCOUNT = "S-1-5-113"
SID_LOCAL_ACCOUNT_AND_MEMBER_OF_ADMINISTRATORS_GROUP = "S-1-5-114"
SID_OTHER_ORGANIZATION = "S-1-5-1000"
SID_ALL_APP_PACKAGES = "S-1-15-2-1"
# mandatory integrity levels (S-1-16-*)
SID_ML_UNTRUSTED = "S-1-16-0"
SID_ML_LOW = "S-1-16-4096"
SID_ML_MEDIUM = "S-1-16-8192"
SID_ML_MEDIUM_PLUS = "S-1-16-8448"
SID_ML_HIGH = "S-1-16-12288"
SID_ML_SYSTEM = "S-1-16-16384"
SID_ML_PROTECTED_PROCESS = "S-1-16-20480"
# authentication assurance (S-1-18-*)
SID_AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY = "S-1-18-1"
SID_SERVICE_ASSERTED_IDENTITY = "S-1-18-2"
SID_FRESH_PUBLIC_KEY_IDENTITY = "S-1-18-3"
SID_KEY_TRUST_IDENTITY = "S-1-18-4"
SID_KEY_PROPERTY_MFA = "S-1-18-5"
SID_KEY_PROPERTY_ATTESTATION = "S-1-18-6"
# short aliases
SID_SYSTEM = SID_LOCAL_SYSTEM
SID_ADMINISTRATORS = SID_BUILTIN_ADMINISTRATORS
SID_USERS = SID_BUILTIN_USERS
SID_GUESTS = SID_BUILTIN_GUESTS

# --- ACE types ([MS-DTYP] 2.4.4.1) ----------------------------------------------------
ACE_TYPE_ACCESS_ALLOWED = 0x00
ACE_TYPE_ACCESS_DENIED = 0x01
ACE_TYPE_SYSTEM_AUDIT = 0x02
ACE_TYPE_SYSTEM_ALARM = 0x03
ACE_TYPE_ACCESS_ALLOWED_COMPOUND = 0x04
ACE_TYPE_ACCESS_ALLOWED_OBJECT = 0x05
ACE_TYPE_ACCESS_DENIED_OBJECT = 0x06
ACE_TYPE_SYSTEM_AUDIT_OBJECT = 0x07
ACE_TYPE_SYSTEM_ALARM_OBJECT = 0x08
ACE_TYPE_ACCESS_ALLOWED_CALLBACK = 0x09
ACE_TYPE_ACCESS_DENIED_CALLBACK = 0x0A
ACE_TYPE_ACCESS_ALLOWED_CALLBACK_OBJECT = 0x0B
ACE_TYPE_ACCESS_DENIED_CALLBACK_OBJECT = 0x0C
ACE_TYPE_SYSTEM_AUDIT_CALLBACK = 0x0D
ACE_TYPE_SYSTEM_ALARM_CALLBACK = 0x0E
ACE_TYPE_SYSTEM_AUDIT_CALLBACK_OBJECT = 0x0F
ACE_TYPE_SYSTEM_ALARM_CALLBACK_OBJECT = 0x10
ACE_TYPE_SYSTEM_MANDATORY_LABEL = 0x11
ACE_TYPE_SYSTEM_RESOURCE_ATTRIBUTE = 0x12
ACE_TYPE_SYSTEM_SCOPED_POLICY_ID = 0x13

# --- ACE flags ------------------------------------------------------------------------
ACE_FLAG_OBJECT_INHERIT = 0x01
ACE_FLAG_CONTAINER_INHERIT = 0x02
ACE_FLAG_NO_PROPAGATE_INHERIT = 0x04
ACE_FLAG_INHERIT_ONLY = 0x08
ACE_FLAG_INHERITED = 0x10
ACE_FLAG_SUCCESSFUL_ACCESS = 0x40
ACE_FLAG_FAILED_ACCESS = 0x80

# object ACE Flags field ([MS-DTYP] 2.4.4.3)
ACE_OBJECT_TYPE_PRESENT = 0x00000001
ACE_INHERITED_OBJECT_TYPE_PRESENT = 0x00000002


# --- SECURITY_DESCRIPTOR control flags ([MS-DTYP] 2.4.6) ------------------------------
SE_OWNER_DEFAULTED = 0x0001
SE_GROUP_DEFAULTED = 0x0002
SE_DACL_PRESENT = 0x0004
SE_DACL_DEFAULTED = 0x0008
SE_SACL_PRESENT = 0x0010
SE_SACL_DEFAULTED = 0x0020
SE_DACL_TRUSTED = 0x0040
SE_SERVER_SECURITY = 0x0080
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_SACL_AUTO_INHERIT_REQ = 0x0200
SE_DACL_AUTO_INHERITED = 0x0400
SE_SACL_AUTO_INHERITED = 0x0800
SE_DACL_PROTECTED = 0x1000
SE_SACL_PROTECTED = 0x2000
SE_RM_CONTROL_VALID = 0x4000
SE_SELF_RELATIVE = 0x8000
# the same bits under pysmb's names (pysmb swaps DACL_TRUSTED and SERVER_SECURITY; these
# follow [MS-DTYP] 2.4.6)
SECURITY_DESCRIPTOR_OWNER_DEFAULTED = SE_OWNER_DEFAULTED
SECURITY_DESCRIPTOR_GROUP_DEFAULTED = SE_GROUP_DEFAULTED
SECURITY_DESCRIPTOR_DACL_PRESENT = SE_DACL_PRESENT
SECURITY_DESCRIPTOR_DACL_DEFAULTED = SE_DACL_DEFAULTED
SECURITY_DESCRIPTOR_SACL_PRESENT = SE_SACL_PRESENT
SECURITY_DESCRIPTOR_SACL_DEFAULTED = SE_SACL_DEFAULTED
SECURITY_DESCRIPTOR_DACL_TRUSTED = SE_DACL_TRUSTED
SECURITY_DESCRIPTOR_SERVER_SECURITY = SE_SERVER_SECURITY
SECURITY_DESCRIPTOR_DACL_COMPUTED_INHERITANCE_REQUIRED = SE_DACL_AUTO_INHERIT_REQ
SECURITY_DESCRIPTOR_SACL_COMPUTED_INHERITANCE_REQUIRED = SE_SACL_AUTO_INHERIT_REQ
SECURITY_DESCRIPTOR_DACL_AUTO_INHERITED = SE_DACL_AUTO_INHERITED
SECURITY_DESCRIPTOR_SACL_AUTO_INHERITED = SE_SACL_AUTO_INHERITED
SECURITY_DESCRIPTOR_DACL_PROTECTED = SE_DACL_PROTECTED
SECURITY_DESCRIPTOR_SACL_PROTECTED = SE_SACL_PROTECTED
SECURITY_DESCRIPTOR_RM_CONTROL_VALID = SE_RM_CONTROL_VALID
SECURITY_DESCRIPTOR_SELF_RELATIVE = SE_SELF_RELATIVE


_OBJECT_ACE_TYPES = frozenset((
    ACE_TYPE_ACCESS_ALLOWED_OBJECT, ACE_TYPE_ACCESS_DENIED_OBJECT, ACE_TYPE_SYSTEM_AUDIT_OBJECT,
    ACE_TYPE_SYSTEM_ALARM_OBJECT, ACE_TYPE_ACCESS_ALLOWED_CALLBACK_OBJECT,
    ACE_TYPE_ACCESS_DENIED_CALLBACK_OBJECT, ACE_TYPE_SYSTEM_AUDIT_CALLBACK_OBJECT,
    ACE_TYPE_SYSTEM_ALARM_CALLBACK_OBJECT))
_CALLBACK_ACE_TYPES = frozenset((
    ACE_TYPE_ACCESS_ALLOWED_CALLBACK, ACE_TYPE_ACCESS_DENIED_CALLBACK,
    ACE_TYPE_ACCESS_ALLOWED_CALLBACK_OBJECT, ACE_TYPE_ACCESS_DENIED_CALLBACK_OBJECT,
    ACE_TYPE_SYSTEM_AUDIT_CALLBACK, ACE_TYPE_SYSTEM_ALARM_CALLBACK,
    ACE_TYPE_SYSTEM_AUDIT_CALLBACK_OBJECT, ACE_TYPE_SYSTEM_ALARM_CALLBACK_OBJECT))

_S_SID_HDR = struct.Struct("<BB6s")
_S_ACE_HDR = struct.Struct("<BBHI")  # AceType, AceFlags, AceSize, Mask
_S_ACL_HDR = struct.Struct("<BxHHxx")  # AclRevision, Sbz1, AclSize, AceCount, Sbz2
_S_SD_HDR = struct.Struct("<BxHIIII")  # Revision, Sbz1, Control, OffsetOwner/Group/Sacl/Dacl
_S_I = struct.Struct("<I")


class SID(object):
    """A security identifier ([MS-DTYP] 2.4.2)."""

    __slots__ = ("revision", "identifier_authority", "subauthorities")

    def __init__(self, revision, identifier_authority, subauthorities):
        self.revision = revision
        self.identifier_authority = identifier_authority
        self.subauthorities = list(subauthorities)  # a list, as in pysmb

    def __str__(self):
        # 2.4.2.1: authorities >= 2**32 are written in hexadecimal (pysmb's form: 0x1a2b)
        ia = self.identifier_authority
        ia_text = "%d" % ia if ia < 2 ** 32 else "%#x" % ia
        return "S-%d-%s" % (self.revision, ia_text) + "".join("-%d" % s for s in self.subauthorities)

    def __repr__(self):
        return "SID(%r)" % str(self)

    def __eq__(self, other):
        if isinstance(other, SID):
            return (self.revision, self.identifier_authority, list(self.subauthorities)) == \
                (other.revision, other.identifier_authority, list(other.subauthorities))
        if isinstance(other, str):
            return str(self).upper() == other.upper()
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash(str(self))

    @classmethod
    def from_string(cls, text):
        """"S-1-5-21-1-2-3" -> SID."""
        parts = text.strip().split("-")
        if len(parts) < 3 or parts[0].upper() != "S":
            raise ValueError("not a SID string: %r" % (text,))
        try:
            ia = int(parts[2], 16) if parts[2].lower().startswith("0x") else int(parts[2])
            return cls(int(parts[1]), ia, [int(p) for p in parts[3:]])
        except ValueError:
            raise ValueError("not a SID string: %r" % (text,))

    @classmethod
    def from_bytes(cls, data, return_tail=False):
        """Parse a binary SID; with ``return_tail`` return ``(sid, remaining_data)``."""
        if len(data) < 8:
            raise ProtocolError("SID: %d bytes, at least 8 needed" % len(data))
        revision, count, ia = _S_SID_HDR.unpack_from(data, 0)
        if revision != 1:
            raise ProtocolError("SID: unsupported revision %d" % revision)
        if count > 15:
            raise ProtocolError("SID: %d sub-authorities (at most 15)" % count)
        end = 8 + 4 * count
        if len(data) < end:
            raise ProtocolError("SID: %d sub-authorities overrun the %d-byte buffer" % (count, len(data)))
        sid = cls(revision, int.from_bytes(ia, "big"), struct.unpack_from("<%dI" % count, data, 8))
        if return_tail:
            return sid, data[end:]
        return sid

    def to_bytes(self):
        return (_S_SID_HDR.pack(self.revision, len(self.subauthorities), self.identifier_authority.to_bytes(6, "big"))
                + struct.pack("<%dI" % len(self.subauthorities), *self.subauthorities))


class ACE(object):
    """An access control entry ([MS-DTYP] 2.4.4).

    ``additional_data`` is a dict of the type-specific fields: for object ACEs ``flags``,
    ``object_type`` and ``inherited_object_type`` (uuid.UUID or None); for callback ACEs
    ``application_data``; for SYSTEM_RESOURCE_ATTRIBUTE ``attribute_data`` (bytes); bytes
    after the SID of other types in ``trailing_data``.
    """

    __slots__ = ("type", "flags", "mask", "sid", "additional_data")
    #: AceType, AceFlags, AceSize ([MS-DTYP] 2.4.4.1)
    HEADER_FORMAT = "<BBH"

    def __init__(self, type_, flags, mask, sid, additional_data=None):
        self.type = type_
        self.flags = flags
        self.mask = mask
        self.sid = sid
        self.additional_data = additional_data if additional_data is not None else {}

    def __repr__(self):
        return "ACE(type=%#04x, flags=%#04x, mask=%#010x, sid=%s)" % (self.type, self.flags, self.mask, self.sid)

    def __eq__(self, other):
        if not isinstance(other, ACE):
            return NotImplemented
        return (self.type, self.flags, self.mask, self.sid, self.additional_data) == \
            (other.type, other.flags, other.mask, other.sid, other.additional_data)

    __hash__ = None  # type: ignore[assignment]  # unhashable: mutable, compared by value

    @property
    def isInheritOnly(self):
        """The ACE does not apply to the object itself, only to children inheriting it."""
        return bool(self.flags & ACE_FLAG_INHERIT_ONLY)

    @property
    def isInherited(self):
        """The ACE was inherited from the parent container."""
        return bool(self.flags & ACE_FLAG_INHERITED)

    @property
    def propagates(self):
        """Children inherit this ACE (object or container inheritance)."""
        return bool(self.flags & (ACE_FLAG_OBJECT_INHERIT | ACE_FLAG_CONTAINER_INHERIT))

    @classmethod
    def from_bytes(cls, data, return_tail=False):
        """Parse one ACE; with ``return_tail`` return ``(ace, data after AceSize)``."""
        if len(data) < 8:
            raise ProtocolError("ACE: %d bytes, at least 8 needed" % len(data))
        type_, flags, size, mask = _S_ACE_HDR.unpack_from(data, 0)
        if size < 8 or size > len(data):
            raise ProtocolError("ACE: AceSize %d does not fit the %d bytes available" % (size, len(data)))
        body = bytes(data[8:size])
        extra = {}
        if type_ in _OBJECT_ACE_TYPES:
            if len(body) < 4:
                raise ProtocolError("ACE: truncated object ACE")
            oflags = _S_I.unpack_from(body, 0)[0]
            pos = 4
            extra["flags"] = oflags
            for bit, key in ((ACE_OBJECT_TYPE_PRESENT, "object_type"),
                             (ACE_INHERITED_OBJECT_TYPE_PRESENT, "inherited_object_type")):
                if oflags & bit:
                    if pos + 16 > len(body):
                        raise ProtocolError("ACE: object GUID overruns the ACE")
                    extra[key] = uuid.UUID(bytes_le=body[pos:pos + 16])
                    pos += 16
                else:
                    extra[key] = None
            body = body[pos:]
        sid, tail = SID.from_bytes(body, return_tail=True)
        if type_ in _CALLBACK_ACE_TYPES:
            extra["application_data"] = tail
        elif type_ == ACE_TYPE_SYSTEM_RESOURCE_ATTRIBUTE:
            extra["attribute_data"] = tail
        elif tail:
            extra["trailing_data"] = tail
        ace = cls(type_, flags, mask, sid, extra)
        if return_tail:
            return ace, data[size:]
        return ace

    def to_bytes(self):
        extra = self.additional_data or {}
        body = b""
        if self.type in _OBJECT_ACE_TYPES:
            oflags = extra.get("flags", 0)
            body = _S_I.pack(oflags)
            for bit, key in ((ACE_OBJECT_TYPE_PRESENT, "object_type"),
                             (ACE_INHERITED_OBJECT_TYPE_PRESENT, "inherited_object_type")):
                if oflags & bit:
                    body += uuid.UUID(str(extra[key])).bytes_le
        body += _as_sid(self.sid).to_bytes()
        body += (extra.get("application_data") or extra.get("attribute_data") or extra.get("trailing_data") or b"")
        body += b"\x00" * (-len(body) % 4)
        return _S_ACE_HDR.pack(self.type, self.flags, 8 + len(body), self.mask) + body


class ACL(object):
    """An access control list ([MS-DTYP] 2.4.5)."""

    __slots__ = ("revision", "aces")
    #: AclRevision, Sbz1, AclSize, AceCount, Sbz2 ([MS-DTYP] 2.4.5)
    HEADER_FORMAT = "<BBHHH"

    def __init__(self, revision, aces):
        self.revision = revision
        self.aces = list(aces)

    def __repr__(self):
        return "ACL(revision=%d, aces=%r)" % (self.revision, self.aces)

    def __eq__(self, other):
        if not isinstance(other, ACL):
            return NotImplemented
        return self.revision == other.revision and self.aces == other.aces

    __hash__ = None  # type: ignore[assignment]  # unhashable: mutable, compared by value

    @classmethod
    def from_bytes(cls, data):
        if len(data) < 8:
            raise ProtocolError("ACL: %d bytes, at least 8 needed" % len(data))
        revision, size, count = _S_ACL_HDR.unpack_from(data, 0)
        if revision not in (2, 4):
            raise ProtocolError("ACL: unsupported revision %d" % revision)
        if size < 8 or size > len(data):
            raise ProtocolError("ACL: AclSize %d does not fit the %d bytes available" % (size, len(data)))
        if count * 16 > size - 8:  # the smallest ACE (empty SID) is 16 bytes
            raise ProtocolError("ACL: AceCount %d cannot fit in AclSize %d" % (count, size))
        rest = bytes(data[8:size])
        aces = []
        for _ in range(count):
            ace, rest = ACE.from_bytes(rest, return_tail=True)
            aces.append(ace)
        return cls(revision, aces)

    def to_bytes(self):
        body = b"".join(ace.to_bytes() for ace in self.aces)
        return _S_ACL_HDR.pack(self.revision, 8 + len(body), len(self.aces)) + body


def _as_sid(value):
    if value is None or isinstance(value, SID):
        return value
    return SID.from_string(str(value))


class SecurityDescriptor(object):
    """A self-relative security descriptor ([MS-DTYP] 2.4.6). ``owner``/``group`` are SIDs
    and ``dacl``/``sacl`` ACLs, each None when absent."""

    __slots__ = ("flags", "owner", "group", "dacl", "sacl")
    #: Revision, Sbz1, Control, OffsetOwner, OffsetGroup, OffsetSacl, OffsetDacl ([MS-DTYP] 2.4.6)
    HEADER_FORMAT = "<BBHIIII"

    def __init__(self, flags, owner, group, dacl, sacl):
        self.flags = flags
        self.owner = owner
        self.group = group
        self.dacl = dacl
        self.sacl = sacl

    def __repr__(self):
        return "SecurityDescriptor(flags=%#06x, owner=%s, group=%s, dacl=%r, sacl=%r)" % (
            self.flags, self.owner, self.group, self.dacl, self.sacl)

    def __eq__(self, other):
        if not isinstance(other, SecurityDescriptor):
            return NotImplemented
        return (self.flags, self.owner, self.group, self.dacl, self.sacl) == \
            (other.flags, other.owner, other.group, other.dacl, other.sacl)

    __hash__ = None  # type: ignore[assignment]  # unhashable: mutable, compared by value

    @classmethod
    def from_bytes(cls, data):
        data = bytes(data)
        if len(data) < 20:
            raise ProtocolError("SecurityDescriptor: %d bytes, at least 20 needed" % len(data))
        revision, control, o_owner, o_group, o_sacl, o_dacl = _S_SD_HDR.unpack_from(data, 0)
        if revision != 1:
            raise ProtocolError("SecurityDescriptor: unsupported revision %d" % revision)
        for name, off in (("owner", o_owner), ("group", o_group), ("SACL", o_sacl), ("DACL", o_dacl)):
            if off and (off < 20 or off >= len(data)):
                raise ProtocolError("SecurityDescriptor: %s offset %d outside the %d-byte buffer"
                                    % (name, off, len(data)))
        owner = SID.from_bytes(data[o_owner:]) if o_owner else None
        group = SID.from_bytes(data[o_group:]) if o_group else None
        sacl = ACL.from_bytes(data[o_sacl:]) if o_sacl and control & SE_SACL_PRESENT else None
        dacl = ACL.from_bytes(data[o_dacl:]) if o_dacl and control & SE_DACL_PRESENT else None
        return cls(control, owner, group, dacl, sacl)

    def to_bytes(self):
        """Self-relative form: header, then owner, group, SACL, DACL."""
        parts = []
        pos = 20
        offsets = []
        flags = self.flags | SE_SELF_RELATIVE
        for item in (_as_sid(self.owner), _as_sid(self.group), self.sacl, self.dacl):
            if item is None:
                offsets.append(0)
                continue
            raw = item.to_bytes()
            offsets.append(pos)
            parts.append(raw)
            pos += len(raw)
        if self.sacl is not None:
            flags |= SE_SACL_PRESENT
        if self.dacl is not None:
            flags |= SE_DACL_PRESENT
        return _S_SD_HDR.pack(1, flags, offsets[0], offsets[1], offsets[2], offsets[3]) + b"".join(parts)
