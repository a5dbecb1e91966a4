"""Codecs of issue 13 items 3-5, on canned bytes: FILE_NOTIFY_INFORMATION ([MS-FSCC] 2.7.1),
CHANGE_NOTIFY ([MS-SMB2] 2.2.35/2.2.36), NT_TRANSACT_NOTIFY_CHANGE ([MS-CIFS] 2.2.7.4),
SRV_COPYCHUNK_COPY / SRV_COPYCHUNK_RESPONSE / SRV_REQUEST_RESUME_KEY ([MS-SMB2] 2.2.31.1,
2.2.32.1, 2.2.32.3), NT_TRANSACT_SET_SECURITY_DESC ([MS-CIFS] 2.2.7.3), and the encoding of
security descriptors ([MS-DTYP] 2.4.6) round-tripping with the decoding."""

import random
import struct
import uuid

import pytest

from smb import copy as smb_copy
from smb import notify
from smb import security_descriptors as sd
from smb.acl import access_for
from smb.errors import OperationFailure, ProtocolError
from smb.smb1 import notify as notify1
from smb.smb1 import security as security1
from smb.smb2 import constants as C
from smb.smb2 import copychunk, notify as notify2
from smb.smb2.header import HEADER_SIZE


def fni(action, name, pad=0, last=False):
    raw = name.encode("utf-16-le")
    size = 12 + len(raw) + pad
    return struct.pack("<III", 0 if last else size, action, len(raw)) + raw + bytes(pad)


# --- FILE_NOTIFY_INFORMATION ---------------------------------------------------------------

def test_notify_information_chain():
    buf = (fni(notify.FILE_ACTION_RENAMED_OLD_NAME, "a.txt", pad=2)
           + fni(notify.FILE_ACTION_RENAMED_NEW_NAME, "sub\\b.txt")
           + fni(notify.FILE_ACTION_REMOVED, "c", last=True))
    got = notify.parse_notify_information(buf)
    assert got == [(4, "a.txt"), (5, "sub\\b.txt"), (2, "c")]
    assert [c.action_name for c in got] == ["renamed_old_name", "renamed_new_name", "removed"]
    assert notify.parse_notify_information(b"") == []
    assert notify.RESCAN.action_name == "rescan"


@pytest.mark.parametrize("buf", [
    fni(1, "abc", last=True)[:-1],                                  # name cut short
    fni(1, "a", last=True)[:11],                                    # header cut short
    struct.pack("<III", 0, 1, 3) + b"abc",                          # odd name length
    struct.pack("<III", 12, 1, 4) + "ab".encode("utf-16-le") + fni(1, "c", last=True),  # overlap
    fni(1, "a") + struct.pack("<III", 2 ** 32 - 16, 1, 2) + b"b\0",  # points back (a loop)
    fni(1, "", last=True), fni(1, "..\\x", last=True), fni(1, "a\\", last=True),
    fni(1, "a\0b", last=True), fni(1, "a/b", last=True), fni(1, "\\abs", last=True),
])
def test_notify_information_malformed(buf):
    with pytest.raises(ProtocolError):
        notify.parse_notify_information(buf)


def test_notify_information_is_bounded_by_the_buffer():
    # a hostile 64 KiB answer of the smallest entries: as many changes as fit, no more
    entry = fni(1, "x")
    count = 65536 // len(entry)
    buf = entry * (count - 1) + fni(1, "x", last=True)
    assert len(notify.parse_notify_information(buf)) == count


# --- CHANGE_NOTIFY (SMB2) and NT_TRANSACT_NOTIFY_CHANGE (SMB1) -------------------------------

def test_change_notify_request_layout():
    fid = bytes(range(16))
    body = notify2.change_notify_request(fid, 0x17, True, 65536)
    assert body == struct.pack("<HHI", 32, 1, 65536) + fid + struct.pack("<II", 0x17, 0)
    assert notify2.change_notify_request(fid, 1, False, 10)[2:4] == b"\0\0"


def _response(structure, off, length, payload):
    return bytes(HEADER_SIZE) + struct.pack("<HHI", structure, off, length) + payload


def test_change_notify_response():
    payload = fni(1, "new", last=True)
    msg = _response(9, HEADER_SIZE + 8, len(payload), payload)
    assert bytes(notify2.parse_change_notify_response(msg, 1024)) == payload
    with pytest.raises(ProtocolError):  # more than the client asked for
        notify2.parse_change_notify_response(msg, len(payload) - 1)
    with pytest.raises(ProtocolError):  # outside the message
        notify2.parse_change_notify_response(_response(9, HEADER_SIZE + 8, 999, payload), 4096)
    with pytest.raises(ProtocolError):
        notify2.parse_change_notify_response(_response(17, HEADER_SIZE + 8, 0, b""), 4096)


def test_nt_transact_notify_change_layout():
    command, words, body, _ = notify1.notify_change_request(0x4001, 0x13, True, 4096)
    assert command == 0xA0  # SMB_COM_NT_TRANSACT
    # 19 fixed words then 4 setup words: CompletionFilter, FID, WatchTree, Reserved
    assert struct.unpack_from("<I", words, 11)[0] == 4096  # MaxParameterCount
    assert words[-8:] == struct.pack("<IHBB", 0x13, 0x4001, 1, 0)
    assert struct.unpack_from("<BH", words, 35) == (4, notify1.NT_TRANSACT_NOTIFY_CHANGE)


def test_nt_transact_set_security_desc_layout():
    captured = {}

    class Conn:
        def transact(self, req, tid, timeout, **kw):
            captured.update(req=req, tid=tid, kw=kw)

    eng = security1.SetSecurity()
    eng.conn = Conn()

    class Tree:
        tree_id = 7
    descriptor = sd.SecurityDescriptor(0, sd.SID.from_string("S-1-1-0"), None, None, None).to_bytes()
    eng.set_security(Tree(), 0x2A, descriptor, 0x4, None)
    command, words, body, _ = captured["req"]
    assert command == 0xA0 and captured["tid"] == 7 and captured["kw"]["nt"]
    assert struct.unpack_from("<BH", words, 35) == (0, 3)  # no setup, NT_TRANSACT_SET_SECURITY_DESC
    assert struct.pack("<HHI", 0x2A, 0, 4) in body and body.endswith(descriptor)


def test_access_for_security_information():
    assert access_for(0x4) & sd.WRITE_DAC and not access_for(0x4) & sd.WRITE_OWNER
    assert access_for(0x3) & sd.WRITE_OWNER and not access_for(0x3) & sd.WRITE_DAC
    assert access_for(0x8) & sd.ACCESS_SYSTEM_SECURITY


# --- copy-chunk ---------------------------------------------------------------------------------

def test_copychunk_request_layout():
    key = bytes(range(24))
    body = copychunk.copychunk_request(key, [(0, 10, 5), (5, 15, 7)])
    assert body == (key + struct.pack("<II", 2, 0) + struct.pack("<QQII", 0, 10, 5, 0)
                    + struct.pack("<QQII", 5, 15, 7, 0))
    with pytest.raises(ValueError):
        copychunk.copychunk_request(b"short", [])


def test_copychunk_response_and_resume_key():
    r = copychunk.parse_copychunk_response(struct.pack("<III", 16, 0, 16 << 20))
    assert r == (16, 0, 16 << 20, False)
    lim = copychunk.parse_copychunk_response(struct.pack("<III", 256, 1 << 20, 16 << 20), limits=True)
    assert lim.limits and lim.chunk_bytes_written == 1 << 20
    with pytest.raises(ProtocolError):
        copychunk.parse_copychunk_response(b"\0" * 11)
    key = bytes(range(24))
    assert copychunk.parse_resume_key(key + struct.pack("<I", 0)) == key
    with pytest.raises(ProtocolError):
        copychunk.parse_resume_key(key)
    assert C.STATUS_INVALID_PARAMETER == 0xC000000D


# --- security descriptor encoding: property round trips ------------------------------------------

def _random_sid(rng):
    return sd.SID(1, rng.choice([0, 1, 5, 16, 2 ** 40]), [rng.randrange(2 ** 32) for _ in range(rng.randrange(16))])


def _random_ace(rng):
    kind = rng.choice(["plain", "object", "callback", "trailing"])
    extra = {}
    if kind == "object":
        type_ = rng.choice([sd.ACE_TYPE_ACCESS_ALLOWED_OBJECT, sd.ACE_TYPE_SYSTEM_AUDIT_OBJECT])
        flags = rng.randrange(4)
        extra = {"flags": flags,
                 "object_type": uuid.UUID(int=rng.getrandbits(128)) if flags & 1 else None,
                 "inherited_object_type": uuid.UUID(int=rng.getrandbits(128)) if flags & 2 else None}
    elif kind == "callback":
        type_ = sd.ACE_TYPE_ACCESS_ALLOWED_CALLBACK
        extra = {"application_data": bytes(rng.randrange(256) for _ in range(4 * rng.randrange(1, 5)))}
    elif kind == "trailing":
        type_ = sd.ACE_TYPE_ACCESS_DENIED
        extra = {"trailing_data": bytes(rng.randrange(1, 256) for _ in range(4 * rng.randrange(1, 3)))}
    else:
        type_ = rng.choice([sd.ACE_TYPE_ACCESS_ALLOWED, sd.ACE_TYPE_ACCESS_DENIED, sd.ACE_TYPE_SYSTEM_AUDIT])
    return sd.ACE(type_, rng.randrange(256), rng.randrange(2 ** 32), _random_sid(rng), extra)


def _random_descriptor(rng):
    def acl():
        return sd.ACL(rng.choice([2, 4]), [_random_ace(rng) for _ in range(rng.randrange(6))])
    sacl, dacl = (acl() if rng.random() < 0.6 else None), (acl() if rng.random() < 0.8 else None)
    flags = sd.SE_SELF_RELATIVE | rng.choice([0, sd.SE_DACL_PROTECTED, sd.SE_DACL_AUTO_INHERITED])
    flags |= (sd.SE_SACL_PRESENT if sacl else 0) | (sd.SE_DACL_PRESENT if dacl else 0)
    return sd.SecurityDescriptor(flags, _random_sid(rng) if rng.random() < 0.8 else None,
                                 _random_sid(rng) if rng.random() < 0.8 else None, dacl, sacl)


@pytest.mark.parametrize("seed", range(200))
def test_descriptor_round_trip_property(seed):
    rng = random.Random(seed)
    d = _random_descriptor(rng)
    raw = d.to_bytes()
    back = sd.SecurityDescriptor.from_bytes(raw)
    assert back == d
    assert back.to_bytes() == raw  # encoding is canonical
    # ACL and ACE sizes are multiples of 4, as [MS-DTYP] 2.4.4.1/2.4.5 require
    for acl in (d.dacl, d.sacl):
        if acl is not None:
            assert len(acl.to_bytes()) % 4 == 0
            assert struct.unpack_from("<H", acl.to_bytes(), 2)[0] == len(acl.to_bytes())


def test_samba_descriptor_round_trips():
    """What Samba's vfs_acl_xattr returned for a file (owner, group, DACL of four ACEs)."""
    owner = sd.SID.from_string("S-1-5-21-2261096544-1016747737-144354252-1000")
    group = sd.SID.from_string("S-1-22-2-1001")
    aces = [sd.ACE(0, 0, 0x001F01FF, owner), sd.ACE(0, 0, 0x001201BF, group),
            sd.ACE(0, 0, 0x001201BF, sd.SID.from_string("S-1-1-0")),
            sd.ACE(0, 0, 0x001F01FF, sd.SID.from_string("S-1-5-18"))]
    d = sd.SecurityDescriptor(0x8004, owner, group, sd.ACL(2, aces), None)
    raw = d.to_bytes()
    # header 20, owner 28, group 16, DACL header 8 + ACEs 36 + 24 + 20 + 20
    assert struct.unpack_from("<BxHIIII", raw) == (1, 0x8004, 20, 48, 0, 64)
    assert len(raw) == 172 and struct.unpack_from("<BxHH", raw, 64) == (2, 108, 4)
    assert sd.SecurityDescriptor.from_bytes(raw) == d


# --- server-side copy against hostile copy-chunk answers ---------------------------------------

class ScriptedEngine:
    """Answers FSCTL_SRV_COPYCHUNK_WRITE from a script (hostile servers' answers)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.asked = []

    def request_resume_key(self, tree, file_id, wait):
        return bytes(24)

    def copy_chunks(self, tree, file_id, key, chunks, wait):
        self.asked.append(list(chunks))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(chunks) if callable(answer) else answer


def _all(chunks):
    return copychunk.CopyChunkResult(len(chunks), 0, sum(c[2] for c in chunks))


def test_server_side_copy_adopts_limits_and_goes_on():
    eng = ScriptedEngine([copychunk.CopyChunkResult(2, 1000, 1500, limits=True)] + [_all] * 10)
    assert smb_copy.server_side_copy(eng, None, None, None, None, 4000, None) == 4000
    assert eng.asked[1] == [(0, 0, 1000), (1000, 1000, 500)]  # 2 chunks, 1000 each, 1500 total
    assert sum(len(a) for a in eng.asked[1:]) == 5


@pytest.mark.parametrize("answer,error", [
    (copychunk.CopyChunkResult(1, 0, 10 ** 9), ProtocolError),  # more than asked
    (copychunk.CopyChunkResult(0, 0, 0), OperationFailure),     # no progress
])
def test_server_side_copy_rejects_bad_answers(answer, error):
    with pytest.raises(error):
        smb_copy.server_side_copy(ScriptedEngine([answer]), None, None, None, None, 100, None)


def test_server_side_copy_falls_back_before_the_first_byte_only():
    refuse = OperationFailure("refused", status=0xC00000BB)
    assert smb_copy.server_side_copy(ScriptedEngine([refuse]), None, None, None, None, 100, None) is None
    same = copychunk.CopyChunkResult(16, 1 << 20, 16 << 20, limits=True)  # limits that do not shrink
    assert smb_copy.server_side_copy(ScriptedEngine([same]), None, None, None, None, 100, None) is None
    shrinking = [copychunk.CopyChunkResult(16, (1 << 20) - k - 1, 16 << 20, limits=True) for k in range(9)]
    assert smb_copy.server_side_copy(ScriptedEngine(shrinking), None, None, None, None, 100, None) is None
    partial = ScriptedEngine([copychunk.CopyChunkResult(1, 0, 50), refuse])
    with pytest.raises(OperationFailure):  # half copied: the failure is the caller's to see
        smb_copy.server_side_copy(partial, None, None, None, None, 100, None)
