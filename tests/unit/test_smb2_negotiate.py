"""The multi-protocol NEGOTIATE and the SMB2 NEGOTIATE exchange against scripted replies."""

import hashlib
import struct

import pytest

from smb.engine import ClientConfig
from smb.errors import ProtocolError, SMBTimeout, UnsupportedFeature
from smb.negotiate import open_engine, smb1_dialects, smb1_negotiate_request
from smb.smb2 import constants as C
from smb.smb2.header import parse_header, request_header


class Scripted:
    def __init__(self, *replies):
        self.replies = list(replies)
        self.sent = []
        self.closed = False

    def send(self, *buffers, deadline=None):
        self.sent.append(b"".join(bytes(b) for b in buffers))

    def recv(self, deadline=None):
        if not self.replies:
            raise SMBTimeout("nothing scripted")
        r = self.replies.pop(0)
        return memoryview(bytearray(r(self.sent) if callable(r) else r))

    def close(self):
        self.closed = True


def neg_response(dialect, mid, contexts=b"", ctx_count=0, mode=1, credits=1):
    h = bytearray(request_header(C.NEGOTIATE, message_id=mid, credit_request=credits))
    struct.pack_into("<I", h, 16, C.FLAGS_SERVER_TO_REDIR)
    sec = b"\x60\x00"
    ctx_off = 136 if contexts else 0
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, mode, dialect, ctx_count, b"G" * 16, 7, 8 << 20,
                       8 << 20, 8 << 20, 0, 0, 128, len(sec), ctx_off) + sec
    if contexts:
        body += bytes(ctx_off - 64 - len(body)) + contexts
    return bytes(h) + body


CTX_311 = (b"\x01\x00\x26\x00\x00\x00\x00\x00" b"\x01\x00\x20\x00\x01\x00" + b"s" * 32 + bytes(2)
           + b"\x02\x00\x04\x00\x00\x00\x00\x00" b"\x01\x00\x02\x00" + bytes(4)
           + b"\x08\x00\x04\x00\x00\x00\x00\x00" b"\x01\x00\x02\x00")


def cfg(**kw):
    return ClientConfig(username="u", password="p", **kw)


def test_smb1_negotiate_request_layout():
    req = smb1_negotiate_request(["NT LM 0.12", "SMB 2.002", "SMB 2.???"], True, pid=0x12345)
    assert req[:5] == b"\xffSMB\x72"
    (_p, cmd, status, flags, flags2, pid_hi, _sec, _r, tid, pid_lo, uid, mid) = struct.unpack_from(
        "<4sBIBHH8sHHHHH", req)
    assert (status, tid, uid, mid, pid_hi, pid_lo) == (0, 0, 0, 0, 1, 0x2345)
    assert flags2 & 0x8000 and flags2 & 0x4000 and flags2 & 0x0800
    assert req[32] == 0  # WordCount
    data = b"\x02NT LM 0.12\x00\x02SMB 2.002\x00\x02SMB 2.???\x00"
    assert struct.unpack_from("<H", req, 33)[0] == len(data) and req[35:] == data
    assert not struct.unpack_from("<H", smb1_negotiate_request(["NT LM 0.12"], False), 10)[0] & 0x0800


def test_smb1_dialect_choice():
    # "NT LM 0.12" only when SMB1 is allowed (opt-in) or asked for alone (SUPPORT_SMB2 = False)
    assert smb1_dialects(cfg()) == ["SMB 2.002", "SMB 2.???"]
    assert smb1_dialects(cfg(allow_smb1=True)) == ["NT LM 0.12", "SMB 2.002", "SMB 2.???"]
    assert smb1_dialects(cfg(support_smb2=False)) == ["NT LM 0.12"]
    assert smb1_dialects(cfg(allow_smb1=True, support_smb2x=False)) == ["NT LM 0.12", "SMB 2.002"]
    assert smb1_dialects(cfg(allow_smb1=True, dialects=(0x0311,))) == ["NT LM 0.12", "SMB 2.???"]


def _check_311_request(req, mid):
    h = parse_header(req)
    assert req[:4] == b"\xfeSMB" and h.command == C.NEGOTIATE and h.message_id == mid
    count, mode, _r, caps = struct.unpack_from("<HHHI", req, 66)
    assert count == 5 and mode == C.NEGOTIATE_SIGNING_ENABLED
    assert struct.unpack_from("<5H", req, 100) == (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
    ctx_off, ctx_count = struct.unpack_from("<IH", req, 92)
    assert ctx_count == 3 and ctx_off % 8 == 0
    ctype, dlen = struct.unpack_from("<HH", req, ctx_off)
    assert (ctype, dlen) == (C.PREAUTH_INTEGRITY_CAPABILITIES, 38)
    assert struct.unpack_from("<HHH", req, ctx_off + 8) == (1, 32, C.HASH_SHA_512)


def test_default_is_a_plain_smb2_negotiate():
    """No SMB1 on the wire unless asked for: one SMB2 NEGOTIATE, MessageId 0."""
    rsp = neg_response(0x0311, 0, CTX_311, 3)
    t = Scripted(rsp)
    e = open_engine(t, cfg(), 1e12)
    assert e.dialect == 0x0311 and e.is_smb2 and len(t.sent) == 1
    _check_311_request(t.sent[0], 0)
    assert e.state.preauth_hash == hashlib.sha512(hashlib.sha512(bytes(64) + t.sent[0]).digest()
                                                  + rsp).digest()
    assert e.conn.next_message_id == 1


def test_wildcard_then_311_with_contexts_and_preauth_hash():
    t = Scripted(neg_response(0x02FF, 0), neg_response(0x0311, 1, CTX_311, 3))
    e = open_engine(t, cfg(allow_smb1=True), 1e12)
    assert t.sent[0][:4] == b"\xffSMB" and b"NT LM 0.12" in t.sent[0]
    assert e.dialect == 0x0311 and e.is_smb2
    assert e.max_read_size == 8 << 20 and e.cipher_id == C.CIPHER_AES_128_GCM
    req = t.sent[1]
    _check_311_request(req, 1)
    rsp = neg_response(0x0311, 1, CTX_311, 3)
    expected = hashlib.sha512(hashlib.sha512(bytes(64) + req).digest() + rsp).digest()
    assert e.state.preauth_hash == expected
    # the SMB1 request consumed MessageId 0
    assert e.conn.next_message_id == 2


def test_direct_0202_answer():
    t = Scripted(neg_response(0x0202, 0, mode=3))
    e = open_engine(t, cfg(allow_smb1=True), 1e12)
    assert e.dialect == 0x0202 and e.max_read_size == 65536 and e.server_requires_signing
    assert len(t.sent) == 1


def test_restricted_dialects_and_bad_choices():
    t = Scripted(neg_response(0x0210, 0))
    e = open_engine(t, cfg(dialects=(0x0202, 0x0210)), 1e12)
    assert e.dialect == 0x0210
    assert struct.unpack_from("<H", t.sent[0], 66)[0] == 2
    t = Scripted(neg_response(0x0300, 0))
    with pytest.raises(ProtocolError):  # 3.0 was not offered
        open_engine(t, cfg(dialects=(0x0202, 0x0210)), 1e12)
    assert t.closed
    t = Scripted(neg_response(0x0311, 0))  # no preauth context
    with pytest.raises(ProtocolError):
        open_engine(t, cfg(), 1e12)
    t = Scripted(neg_response(0x0202, 0, mode=3))
    with pytest.raises(UnsupportedFeature):  # server requires signing, client says never
        open_engine(t, cfg(sign_options=0), 1e12)
    t = Scripted(neg_response(0x02FF, 0))  # the wildcard answers only an SMB1 NEGOTIATE
    with pytest.raises(ProtocolError):
        open_engine(t, cfg(), 1e12)


@pytest.mark.parametrize("reply", [b"\x00\x01\x02\x03garbage", b"\xfeSMB" + bytes(20),
                                   neg_response(0x02FF, 0)[:100]])
def test_malformed_answers(reply):
    with pytest.raises(ProtocolError):
        open_engine(Scripted(reply), cfg(), 1e12)


def test_smb1_answer_to_an_smb2_negotiate_is_rejected():
    t = Scripted(b"\xffSMB\x72" + bytes(40))
    with pytest.raises(ProtocolError):
        open_engine(t, cfg(), 1e12)
    assert t.closed
