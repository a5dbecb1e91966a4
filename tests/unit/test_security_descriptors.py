"""smb.security_descriptors: [MS-DTYP] 2.4.2 SID, 2.4.4 ACE, 2.4.5 ACL, 2.4.6
SECURITY_DESCRIPTOR (self-relative), with pysmb's public names."""

import struct
import uuid

import pytest

from smb import security_descriptors as sd
from smb.errors import ProtocolError


def sid_bytes(revision, authority, subs):
    return (struct.pack("<BB", revision, len(subs))      # Revision, SubAuthorityCount
            + authority.to_bytes(6, "big")               # IdentifierAuthority (big-endian)
            + b"".join(struct.pack("<I", s) for s in subs))  # SubAuthority[] (little-endian)


OWNER = sid_bytes(1, 5, [21, 1, 2, 3, 1000])    # S-1-5-21-1-2-3-1000, 28 bytes
GROUP = sid_bytes(1, 5, [32, 545])              # S-1-5-32-545, 16 bytes
EVERYONE = sid_bytes(1, 1, [0])                 # S-1-1-0, 12 bytes

ACE_ALLOW = (struct.pack("<BBH", 0x00, 0x03, 8 + len(EVERYONE))  # AceType ALLOWED, OI|CI, AceSize 20
             + struct.pack("<I", 0x001F01FF) + EVERYONE)          # Mask (full control), Sid
ACE_DENY = (struct.pack("<BBH", 0x01, 0x00, 8 + len(OWNER))       # AceType DENIED, no flags, AceSize 36
            + struct.pack("<I", 0x00010000) + OWNER)              # Mask DELETE, Sid
DACL = (struct.pack("<BxHHxx", 2, 8 + len(ACE_ALLOW) + len(ACE_DENY), 2)  # AclRevision, Sbz1, AclSize 64, AceCount, Sbz2
        + ACE_ALLOW + ACE_DENY)
SD_BYTES = (struct.pack("<BxH", 1, 0x8004)       # Revision, Sbz1, Control: SELF_RELATIVE | DACL_PRESENT
            + struct.pack("<I", 20)              # OffsetOwner
            + struct.pack("<I", 48)              # OffsetGroup (20 + 28)
            + struct.pack("<I", 0)               # OffsetSacl: absent
            + struct.pack("<I", 64)              # OffsetDacl (48 + 16)
            + OWNER + GROUP + DACL)


def test_sid_parse_and_str():
    s = sd.SID.from_bytes(OWNER)
    assert (s.revision, s.identifier_authority, s.subauthorities) == (1, 5, [21, 1, 2, 3, 1000])
    assert str(s) == "S-1-5-21-1-2-3-1000"
    assert repr(s) == "SID('S-1-5-21-1-2-3-1000')"
    assert s.to_bytes() == OWNER
    assert sd.SID.from_bytes(EVERYONE) == sd.SID_EVERYONE == "S-1-1-0"
    assert sd.SID.from_string("S-1-5-32-545").to_bytes() == GROUP
    big = sd.SID(1, 0x010203040506, [7])
    assert str(big) == "S-1-0x10203040506-7"  # pysmb's form of [MS-DTYP] 2.4.2.1's hex authority
    assert str(sd.SID(1, 2 ** 32 + 3, [])) == "S-1-0x100000003"
    assert sd.SID.from_string(str(big)) == big == sd.SID.from_string("S-1-0x010203040506-7")
    sid, tail = sd.SID.from_bytes(EVERYONE + b"rest", return_tail=True)
    assert sid == sd.SID(1, 1, [0]) and tail == b"rest"
    assert {sd.SID(1, 1, [0]), sd.SID.from_bytes(EVERYONE)} == {sd.SID(1, 1, [0])}


def test_well_known_constants():
    assert sd.SID_NULL == "S-1-0-0" and sd.SID_CREATOR_OWNER == "S-1-3-0"
    assert sd.SID_SYSTEM == sd.SID_LOCAL_SYSTEM == "S-1-5-18"
    assert sd.SID_ADMINISTRATORS == sd.SID_BUILTIN_ADMINISTRATORS == "S-1-5-32-544"
    assert sd.SID_USERS == "S-1-5-32-545" and sd.SID_AUTHENTICATED_USERS == "S-1-5-11"
    assert (sd.ACE_TYPE_ACCESS_ALLOWED, sd.ACE_TYPE_ACCESS_DENIED, sd.ACE_TYPE_SYSTEM_AUDIT) == (0, 1, 2)
    assert (sd.ACE_FLAG_OBJECT_INHERIT, sd.ACE_FLAG_CONTAINER_INHERIT, sd.ACE_FLAG_NO_PROPAGATE_INHERIT,
            sd.ACE_FLAG_INHERIT_ONLY, sd.ACE_FLAG_INHERITED, sd.ACE_FLAG_SUCCESSFUL_ACCESS,
            sd.ACE_FLAG_FAILED_ACCESS) == (0x01, 0x02, 0x04, 0x08, 0x10, 0x40, 0x80)
    assert (sd.SE_OWNER_DEFAULTED, sd.SE_DACL_PRESENT, sd.SE_SACL_PRESENT, sd.SE_SELF_RELATIVE) == \
        (0x0001, 0x0004, 0x0010, 0x8000)


def test_security_descriptor_parse_every_field():
    d = sd.SecurityDescriptor.from_bytes(SD_BYTES)
    assert d.flags == 0x8004
    assert str(d.owner) == "S-1-5-21-1-2-3-1000"
    assert str(d.group) == "S-1-5-32-545" == sd.SID_USERS
    assert d.sacl is None
    assert d.dacl.revision == 2 and len(d.dacl.aces) == 2
    allow, deny = d.dacl.aces
    assert allow.type == sd.ACE_TYPE_ACCESS_ALLOWED
    assert allow.flags == sd.ACE_FLAG_OBJECT_INHERIT | sd.ACE_FLAG_CONTAINER_INHERIT
    assert allow.mask == 0x001F01FF
    assert str(allow.sid) == sd.SID_EVERYONE
    assert allow.additional_data == {}
    assert not allow.isInheritOnly and not allow.isInherited and allow.propagates
    assert deny.type == sd.ACE_TYPE_ACCESS_DENIED and deny.flags == 0 and deny.mask == sd.DELETE
    assert deny.sid == d.owner
    assert "mask=0x00010000" in repr(deny)


def test_round_trip():
    d = sd.SecurityDescriptor.from_bytes(SD_BYTES)
    assert d.to_bytes() == SD_BYTES
    assert d.dacl.to_bytes() == DACL
    assert d.dacl.aces[0].to_bytes() == ACE_ALLOW
    assert sd.SecurityDescriptor.from_bytes(d.to_bytes()) == d


def test_inherited_and_inherit_only_flags():
    ace = sd.ACE(0, sd.ACE_FLAG_INHERIT_ONLY | sd.ACE_FLAG_INHERITED, 1, sd.SID(1, 1, [0]), {})
    assert ace.isInheritOnly and ace.isInherited and not ace.propagates


def test_windows_layout_dacl_first_and_null_dacl():
    # Windows puts the DACL first and the SIDs after it; parsing goes by the offsets.
    raw = struct.pack("<BxHIIII", 1, 0x8004, 20 + len(DACL), 20 + len(DACL) + len(OWNER), 0, 20) + DACL + OWNER + GROUP
    d = sd.SecurityDescriptor.from_bytes(raw)
    assert str(d.owner) == "S-1-5-21-1-2-3-1000" and len(d.dacl.aces) == 2
    # DACL_PRESENT with offset 0: a NULL DACL (no protection), distinct from no DACL
    null = sd.SecurityDescriptor.from_bytes(struct.pack("<BxHIIII", 1, 0x8004, 0, 0, 0, 0))
    assert null.dacl is None and null.owner is None and null.flags & sd.SE_DACL_PRESENT


def test_sacl_and_object_and_callback_aces():
    guid = uuid.UUID("bf967aba-0de6-11d0-a285-00aa003049e2")
    obj_body = struct.pack("<II", 0x00000100, 0x1) + guid.bytes_le + EVERYONE   # Mask, Flags (ObjectType present), ObjectType, Sid
    obj_ace = struct.pack("<BBH", 0x05, 0x00, 4 + len(obj_body)) + obj_body
    cb_body = struct.pack("<I", 0x1) + EVERYONE + b"artx\x00\x00\x00\x00"         # Mask, Sid, ApplicationData
    cb_ace = struct.pack("<BBH", 0x09, 0x00, 4 + len(cb_body)) + cb_body
    audit = struct.pack("<BBHI", 0x02, 0xC0, 20, 0x1F01FF) + EVERYONE
    sacl = struct.pack("<BxHHxx", 2, 8 + len(audit), 1) + audit
    dacl = struct.pack("<BxHHxx", 4, 8 + len(obj_ace) + len(cb_ace), 2) + obj_ace + cb_ace
    raw = struct.pack("<BxHIIII", 1, 0x8014, 0, 0, 20, 20 + len(sacl)) + sacl + dacl
    d = sd.SecurityDescriptor.from_bytes(raw)
    (a,) = d.sacl.aces
    assert a.type == sd.ACE_TYPE_SYSTEM_AUDIT and a.flags == sd.ACE_FLAG_SUCCESSFUL_ACCESS | sd.ACE_FLAG_FAILED_ACCESS
    o, c = d.dacl.aces
    assert o.type == sd.ACE_TYPE_ACCESS_ALLOWED_OBJECT and o.mask == 0x100
    assert o.additional_data == {"flags": 1, "object_type": guid, "inherited_object_type": None}
    assert str(o.sid) == sd.SID_EVERYONE
    assert c.additional_data == {"application_data": b"artx\x00\x00\x00\x00"}
    assert d.to_bytes() == raw


@pytest.mark.parametrize("cut", [0, 7, 19, 30, 50, 63, 70, len(SD_BYTES) - 1])
def test_truncated_descriptor(cut):
    with pytest.raises(ProtocolError):
        sd.SecurityDescriptor.from_bytes(SD_BYTES[:cut])


def test_malformed_descriptor():
    bad = bytearray(SD_BYTES)
    bad[16:20] = struct.pack("<I", 5000)                 # DACL offset beyond the buffer
    with pytest.raises(ProtocolError):
        sd.SecurityDescriptor.from_bytes(bytes(bad))
    bad = bytearray(SD_BYTES)
    bad[0] = 2                                            # revision
    with pytest.raises(ProtocolError):
        sd.SecurityDescriptor.from_bytes(bytes(bad))
    bad = bytearray(SD_BYTES)
    bad[64 + 2:64 + 4] = struct.pack("<H", 500)          # AclSize overruns
    with pytest.raises(ProtocolError):
        sd.SecurityDescriptor.from_bytes(bytes(bad))
    bad = bytearray(SD_BYTES)
    bad[64 + 4:64 + 6] = struct.pack("<H", 3)            # AceCount: a third ACE that is not there
    with pytest.raises(ProtocolError):
        sd.SecurityDescriptor.from_bytes(bytes(bad))
    bad = bytearray(SD_BYTES)
    bad[72 + 2:72 + 4] = struct.pack("<H", 200)          # first AceSize overruns the ACL
    with pytest.raises(ProtocolError):
        sd.SecurityDescriptor.from_bytes(bytes(bad))
    bad = bytearray(SD_BYTES)
    bad[72 + 2:72 + 4] = struct.pack("<H", 12)           # AceSize too small for its SID
    with pytest.raises(ProtocolError):
        sd.SecurityDescriptor.from_bytes(bytes(bad))
    bad = bytearray(SD_BYTES)
    bad[20 + 1] = 15                                      # owner SubAuthorityCount overruns
    with pytest.raises(ProtocolError):
        sd.SecurityDescriptor.from_bytes(bytes(bad[:60]))
    bad = bytearray(SD_BYTES)
    bad[20 + 1] = 16                                      # more than 15 sub-authorities
    with pytest.raises(ProtocolError):
        sd.SecurityDescriptor.from_bytes(bytes(bad))
