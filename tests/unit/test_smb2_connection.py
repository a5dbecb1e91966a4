"""Connection bookkeeping: message ids, credits, the request table, interim responses,
cancel on timeout, compounds and HMAC-SHA256 signing ([MS-SMB2] 3.2.4.1, 3.2.5.1)."""

import struct
import time

import pytest

from smb.errors import NotConnectedError, ProtocolError, SMBTimeout
from smb.smb2 import constants as C
from smb.smb2.connection import Connection
from smb.smb2.header import parse_header, request_header, split_compound
from smb.smb2.session import HmacSha256Signer

# A signed exchange recorded from the private Samba "signing" variant (dialect 2.1,
# server signing = mandatory): TREE_CONNECT and ECHO requests and responses, and the
# session key of that session.
KEY = b"\x00\xe3\x1e\x9e\x1a\xe40s\xee\xd1La\x86\xa4<i"
TREE_REQ = bytes.fromhex(
    "fe534d424000010000000000030001000800000000000000040000000000000000000000000000005a25d740"
    "000000006a2910b7e23e59717707f430d1c7f18e09000000480024005c005c0053004d004200500059005400"
    "4500530054005c007000750062006c0069006300")
TREE_RSP = bytes.fromhex(
    "fe534d424000010000000000030001000900000000000000040000000000000000000000cafcfa815a25d740"
    "0000000038d50886eea38dba30ce254a07a628c0100001000000000000000000ff011f00")
ECHO_REQ = bytes.fromhex(
    "fe534d4240000100000000000d0001000800000000000000050000000000000000000000000000005a25d740"
    "00000000fea74608f517b17b11c6319ed488e95c04000000")
ECHO_RSP = bytes.fromhex(
    "fe534d4240000100000000000d0001000900000000000000050000000000000000000000000000005a25d740"
    "000000005233484141ce7882b90df576f73e4b2f04000000")
SESSION_ID = 0x40D7255A


class FakeTransport:
    def __init__(self):
        self.sent = []
        self.replies = []  # bytes or callables(sent_list) -> bytes
        self.closed = False

    def send(self, *buffers, deadline=None):
        self.sent.append(b"".join(bytes(b) for b in buffers))

    def recv(self, deadline=None):
        if self.closed:
            raise NotConnectedError("closed")
        if not self.replies:
            raise SMBTimeout("no reply scripted")
        r = self.replies.pop(0)
        if callable(r):
            r = r(self.sent)
        return memoryview(bytearray(r))

    def close(self):
        self.closed = True


def response(command, mid, status=0, credits=1, flags=0, async_id=None, body=b"\x04\x00\x00\x00",
             session_id=0, next_command=0):
    h = bytearray(request_header(command, message_id=mid, credit_request=credits, session_id=session_id,
                                 async_id=async_id, next_command=next_command))
    struct.pack_into("<I", h, 8, status)
    f = struct.unpack_from("<I", h, 16)[0] | C.FLAGS_SERVER_TO_REDIR | flags
    struct.pack_into("<I", h, 16, f)
    return bytes(h) + body


def deadline(s=5.0):
    return time.monotonic() + s


def test_message_ids_and_credits():
    t = FakeTransport()
    c = Connection(t, target_credits=64)
    assert (c.next_message_id, c.credits) == (0, 1)
    [r] = c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], deadline=deadline())
    h = parse_header(t.sent[0])
    assert h.message_id == 0 and h.credit_charge == 0  # single-credit dialect
    assert h.credits == 64  # credit request grows the window towards the target
    assert c.credits == 0
    t.replies.append(response(C.ECHO, 0, credits=40))
    c.wait(r, deadline())
    assert r.done and r.status == 0 and c.credits == 40 and not c.outstanding
    # multi-credit request: charge 3 takes MessageIds 1..3
    c.multi_credit = True
    [r2] = c.send([(C.READ, b"x", None, 3)], deadline=deadline())
    h = parse_header(t.sent[1])
    assert (h.message_id, h.credit_charge) == (1, 3)
    assert c.next_message_id == 4 and c.credits == 37
    t.replies.append(response(C.READ, 1, credits=3))
    c.wait(r2, deadline())
    assert c.credits == 40


def test_waits_for_credits_instead_of_failing():
    t = FakeTransport()
    c = Connection(t)
    [a] = c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], deadline=deadline())
    assert c.credits == 0
    t.replies.append(response(C.ECHO, 0, credits=1))
    [b] = c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], deadline=deadline())  # receives first
    assert a.done and parse_header(t.sent[1]).message_id == 1
    t.replies.append(response(C.ECHO, 1, credits=0))
    c.wait(b, deadline())
    with pytest.raises(ProtocolError):  # nothing outstanding and no credits: cannot progress
        c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], deadline=deadline())


def test_out_of_order_responses_matched_by_message_id():
    t = FakeTransport()
    c = Connection(t)
    c.credits = 10
    reqs = [c.send([(C.READ, b"r%d" % i, None, 1)], deadline=deadline())[0] for i in range(3)]
    t.replies += [response(C.READ, 2, body=b"two"), response(C.READ, 0, body=b"zero"),
                  response(C.READ, 1, body=b"one")]
    c.wait(reqs[0], deadline())
    assert reqs[2].done and reqs[0].done and not reqs[1].done
    c.wait(reqs[1], deadline())
    # responses that were not released were copied before the transport buffer was reused
    assert bytes(reqs[2].response[64:]) == b"two" and isinstance(reqs[2].response, bytes)
    assert bytes(reqs[1].response[64:]) == b"one"


def test_interim_pending_then_final():
    t = FakeTransport()
    c = Connection(t)
    [r] = c.send([(C.CHANGE_NOTIFY, b"n", None, 1)], deadline=deadline())
    t.replies += [response(C.CHANGE_NOTIFY, 0, status=C.STATUS_PENDING, async_id=0x77, credits=1),
                  response(C.CHANGE_NOTIFY, 0, async_id=0x77, credits=0, body=b"done")]
    c.wait(r, deadline())
    assert r.async_id == 0x77 and r.status == 0 and c.credits == 1


def test_timeout_sends_cancel_with_async_id_and_drops_late_response():
    t = FakeTransport()
    c = Connection(t)
    [r] = c.send([(C.CHANGE_NOTIFY, b"n", None, 1)], session=None, deadline=deadline())
    t.replies.append(response(C.CHANGE_NOTIFY, 0, status=C.STATUS_PENDING, async_id=0x1234))
    with pytest.raises(SMBTimeout):
        c.wait(r, deadline(0.2))
    cancel = parse_header(t.sent[-1])
    assert cancel.command == C.CANCEL and cancel.is_async and cancel.async_id == 0x1234
    assert t.sent[-1][64:] == b"\x04\x00\x00\x00"
    # the late STATUS_CANCELLED response is consumed silently, credits counted
    t.replies.append(response(C.CHANGE_NOTIFY, 0, status=C.STATUS_CANCELLED, async_id=0x1234))
    [e] = c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], deadline=deadline())
    t.replies.append(response(C.ECHO, 1))
    c.wait(e, deadline())
    assert e.done and not c.outstanding


def test_sync_cancel_uses_message_id():
    t = FakeTransport()
    c = Connection(t)
    [r] = c.send([(C.READ, b"x", None, 1)], deadline=deadline())
    with pytest.raises(SMBTimeout):
        c.wait(r, deadline(0.1))
    h = parse_header(t.sent[-1])
    assert h.command == C.CANCEL and not h.is_async and h.message_id == 0


def test_related_compound_layout():
    t = FakeTransport()
    c = Connection(t)
    c.credits = 8
    reqs = c.send([(C.CREATE, b"A" * 57, None, 1), (C.QUERY_INFO, b"B" * 41, None, 1),
                   (C.CLOSE, b"C" * 24, None, 1)], deadline=deadline(), related=True)
    data = t.sent[0]
    spans = list(split_compound(data))
    assert spans == [(0, 128), (128, 240), (240, 328)]
    hs = [parse_header(data[a:b]) for a, b in spans]
    assert [h.message_id for h in hs] == [0, 1, 2]
    assert [bool(h.flags & C.FLAGS_RELATED_OPERATIONS) for h in hs] == [False, True, True]
    assert data[64 + 57:128] == bytes(7)  # padding to 8
    # compound response, answered in one transport message
    r1 = response(C.CREATE, 0, next_command=72)
    r2 = response(C.QUERY_INFO, 1, next_command=72)
    r3 = response(C.CLOSE, 2)
    t.replies.append(r1 + bytes(4) + r2 + bytes(4) + r3)
    c.wait_all(reqs, deadline())
    assert all(r.done for r in reqs)


def test_unknown_message_id_breaks_connection():
    t = FakeTransport()
    c = Connection(t)
    [r] = c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], deadline=deadline())
    t.replies.append(response(C.ECHO, 99))
    with pytest.raises(ProtocolError):
        c.wait(r, deadline())
    assert t.closed
    with pytest.raises(NotConnectedError):
        c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], deadline=deadline())


def test_garbage_and_mismatched_command_raise_protocol_error():
    for reply in (b"\xfeSMB" + bytes(10), b"junk" * 20, response(C.READ, 0)):
        t = FakeTransport()
        c = Connection(t)
        [r] = c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], deadline=deadline())
        t.replies.append(reply)
        with pytest.raises(ProtocolError):
            c.wait(r, deadline())


# --- HMAC-SHA256 signing over the recorded exchange --------------------------------------
def test_hmac_sha256_signature_of_recorded_requests_and_responses():
    signer = HmacSha256Signer(KEY)
    for msg in (TREE_REQ, TREE_RSP, ECHO_REQ, ECHO_RSP):
        assert signer.verify(msg)
        unsigned = msg[:48] + bytes(16) + msg[64:]
        assert signer.sign([unsigned[:64], unsigned[64:]]) == msg[48:64]
    tampered = bytearray(TREE_RSP)
    tampered[-1] ^= 1
    assert not signer.verify(bytes(tampered))


class _Session:
    def __init__(self, signer):
        self.session_id = SESSION_ID
        self.signer = signer
        self.signing_required = True


def _signed_conn():
    t = FakeTransport()
    c = Connection(t)
    s = _Session(HmacSha256Signer(KEY))
    c.sessions[SESSION_ID] = s
    c.next_message_id = 4
    c.credits = 8
    return t, c, s


def test_connection_signs_like_the_recorded_client():
    t, c, s = _signed_conn()
    body = TREE_REQ[64:]
    c.send([(C.TREE_CONNECT, body, None, 1)], session=s, deadline=deadline())
    sent = t.sent[0]
    # same header fields as the recorded request except the credit request
    assert parse_header(sent).flags & C.FLAGS_SIGNED
    assert HmacSha256Signer(KEY).verify(sent)


def test_recorded_signed_response_accepted_and_tampered_rejected():
    t, c, s = _signed_conn()
    [r] = c.send([(C.TREE_CONNECT, TREE_REQ[64:], None, 1)], session=s, deadline=deadline())
    t.replies.append(TREE_RSP)
    c.wait(r, deadline())
    assert r.status == 0 and r.header.tree_id == 0x81FAFCCA

    t, c, s = _signed_conn()
    [r] = c.send([(C.TREE_CONNECT, TREE_REQ[64:], None, 1)], session=s, deadline=deadline())
    bad = bytearray(TREE_RSP)
    bad[70] ^= 0x01  # one byte of the body
    t.replies.append(bytes(bad))
    with pytest.raises(ProtocolError):
        c.wait(r, deadline())
    assert c.broken is not None and t.closed


def test_unsigned_response_on_signed_session_rejected():
    t, c, s = _signed_conn()
    c.next_message_id = 5
    [r] = c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], session=s, deadline=deadline())
    unsigned = bytearray(ECHO_RSP)
    struct.pack_into("<I", unsigned, 16, C.FLAGS_SERVER_TO_REDIR)
    unsigned[48:64] = bytes(16)
    t.replies.append(bytes(unsigned))
    with pytest.raises(ProtocolError):
        c.wait(r, deadline())


def test_recorded_echo_response_verifies_through_connection():
    t, c, s = _signed_conn()
    c.next_message_id = 5
    [r] = c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], session=s, deadline=deadline())
    t.replies.append(ECHO_RSP)
    c.wait(r, deadline())
    assert r.done


# --- the crypto worker (smb.mux offload) ----------------------------------------------------

def _signed_echo(signer, mid, tamper=False):
    msg = bytearray(response(C.ECHO, mid, flags=C.FLAGS_SIGNED, session_id=SESSION_ID))
    msg[48:64] = signer.sign([bytes(msg)])  # the Signature field is zero while signing
    if tamper:
        msg[-1] ^= 1
    return bytes(msg)


def _worker_conn():
    t, c, s = _signed_conn()
    c.offload_min = 64  # every signed message goes to the worker (no 2-core gate here)
    processed = []
    real = c._process_offloaded

    def counting(data):
        processed.append(bytes(data[24:32]))
        return real(data)

    c._process_offloaded = counting
    return t, c, s, processed


def test_worker_checks_signatures_and_delivers_in_order():
    t, c, s, processed = _worker_conn()
    reqs = [c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], session=s, deadline=deadline())[0]
            for _ in range(3)]
    t.replies += [_signed_echo(s.signer, r.message_id) for r in reqs]
    for r in reqs:
        assert c.wait(r, deadline()).status == 0 and r.response is not None
    assert len(processed) == 3 and c.broken is None
    assert c.credits == 8  # each response gave its credit back, once
    c.close()
    assert c._worker is None or not c._worker.is_alive()


def test_worker_bad_signature_breaks_connection_and_delivers_nothing_of_it():
    t, c, s, processed = _worker_conn()
    reqs = [c.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], session=s, deadline=deadline())[0]
            for _ in range(3)]
    t.replies += [_signed_echo(s.signer, reqs[0].message_id),
                  _signed_echo(s.signer, reqs[1].message_id, tamper=True),
                  _signed_echo(s.signer, reqs[2].message_id)]
    assert c.wait(reqs[0], deadline()).status == 0
    with pytest.raises(ProtocolError, match="signature"):
        c.wait(reqs[1], deadline())
    assert not reqs[1].done and reqs[1].response is None and reqs[1].header is None
    assert not reqs[2].done and reqs[2].response is None  # after the bad one: never dispatched
    assert c.broken is not None and t.closed
    with pytest.raises(NotConnectedError):  # reported once; then the connection is just gone
        c.wait(reqs[2], deadline())
    c.close()


def test_worker_only_with_cores_to_spare(monkeypatch):
    from smb.smb2 import connection as conn_mod

    for cores, expected in ((1, None), (2, None), (3, None), (4, conn_mod.OFFLOAD_MIN), (16, conn_mod.OFFLOAD_MIN)):
        monkeypatch.setattr(conn_mod, "_cores", lambda n=cores: n)
        assert Connection(FakeTransport()).offload_min == expected
