"""SMB3 encryption policy of the connection and the algorithm choices of the negotiation,
against scripted transports ([MS-SMB2] 3.2.4.1.8, 3.2.5.1.1.1, 2.2.3.1.2, 2.2.3.1.7, 2.2.41)."""

import struct
import time

import pytest

from smb.engine import ClientConfig
from smb.errors import NotConnectedError, ProtocolError, UnsupportedFeature
from smb.negotiate import open_engine
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2 import transform
from smb.smb2.connection import Connection
from smb.smb2.header import request_header
from smb.smb2.negotiation import (CIPHERS, SIGNING_ALGORITHMS, build_request, cipher_for,
                                  offered_ciphers, offered_dialects, offered_signing_algorithms)
from smb.smb2.session import Session, Smb3Encryption
from tests.unit.test_smb2_connection import FakeTransport
from tests.unit.test_smb2_negotiate import CTX_311, Scripted, neg_response

SID = 0x0000100000000041
OTHER_SID = 0x0000100000000099
ECHO_BODY = b"\x04\x00\x00\x00"


def dl():
    return time.monotonic() + 5


def cfg(**kw):
    return ClientConfig(username="u", password="p", **kw)


def make_session(sid=SID, cipher=C.CIPHER_AES_128_GCM):
    s = Session(C.DIALECT_3_1_1, bytes(range(64)))
    s.session_id = sid
    s.establish_keys(bytes(range(16)), C.SIGNING_AES_GMAC, cipher)
    return s


def encrypted_conn(cipher=C.CIPHER_AES_128_GCM):
    t = FakeTransport()
    c = Connection(t)
    c.credits = 64
    s = make_session(cipher=cipher)
    c.sessions[SID] = s
    c.encryption = Smb3Encryption(c, cipher)
    return t, c, s


def response(command, mid, status=0, session_id=SID, body=ECHO_BODY):
    h = bytearray(request_header(command, message_id=mid, credit_request=1, session_id=session_id))
    struct.pack_into("<I", h, 8, status)
    struct.pack_into("<I", h, 16, C.FLAGS_SERVER_TO_REDIR)
    return bytes(h) + body


def server_encrypt(session, plain, cipher=C.CIPHER_AES_128_GCM, sid=None, nonce=b"\x07" * 12):
    """What the server sends: encrypted with the client's decryption key."""
    return bytes(transform.encrypt(cipher, session.decryption_key, session.session_id if sid is None else sid,
                                   plain, nonce[:transform.nonce_size(cipher)]))


# --- refusing clear text ------------------------------------------------------------------

def test_refuses_clear_text_on_a_session_that_requires_encryption():
    t, c, s = encrypted_conn()
    s.encrypt_data = True
    with pytest.raises(ProtocolError, match="refusing to send ECHO in clear"):
        c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl())
    assert t.sent == [] and t.closed
    with pytest.raises(NotConnectedError):
        c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)


def test_refuses_clear_text_on_an_encrypted_tree_only():
    t, c, s = encrypted_conn()
    s.encrypted_trees.add(7)
    c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, tree_id=8, deadline=dl())  # other tree: fine
    assert t.sent[0][:4] == C.SMB2_MAGIC
    c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, tree_id=7, deadline=dl(), encrypt=True)
    assert t.sent[1][:4] == C.TRANSFORM_MAGIC
    sid, plain = transform.decrypt(C.CIPHER_AES_128_GCM, s.encryption_key, t.sent[1])
    assert sid == SID and struct.unpack_from("<I", plain, 36)[0] == 7  # TreeId
    with pytest.raises(ProtocolError, match="in clear"):
        c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, tree_id=7, deadline=dl())
    assert len(t.sent) == 2


def test_session_must_encrypt():
    s = make_session()
    assert not s.must_encrypt(3)
    s.encrypted_trees.add(3)
    assert s.must_encrypt(3) and not s.must_encrypt(4)
    s.encrypt_data = True
    assert s.must_encrypt(4)


# --- receiving ------------------------------------------------------------------------------

def test_encrypted_round_trip_through_the_connection():
    t, c, s = encrypted_conn()
    [r] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)
    t.replies.append(server_encrypt(s, response(C.ECHO, r.message_id)))
    c.wait(r, dl())
    assert r.done and r.header.status == 0


def test_unencrypted_interim_response_to_encrypted_request_rejected():
    t, c, s = encrypted_conn()
    [r] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)
    t.replies.append(response(C.ECHO, r.message_id, status=C.STATUS_PENDING, body=bytes(9)))
    with pytest.raises(ProtocolError, match="unencrypted response"):
        c.wait(r, dl())
    assert t.closed


def test_unencrypted_final_response_to_encrypted_request_rejected():
    t, c, s = encrypted_conn()
    [r] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)
    t.replies.append(response(C.ECHO, r.message_id))
    with pytest.raises(ProtocolError, match="unencrypted response"):
        c.wait(r, dl())


def test_decrypted_message_claiming_another_session_rejected():
    t, c, s = encrypted_conn()
    [r] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)
    t.replies.append(server_encrypt(s, response(C.ECHO, r.message_id, session_id=OTHER_SID)))
    with pytest.raises(ProtocolError, match="inside a TRANSFORM_HEADER"):
        c.wait(r, dl())


def test_response_encrypted_for_another_session_rejected():
    t, c, s = encrypted_conn()
    other = make_session(OTHER_SID)
    other.decryption_key = bytes(16)
    c.sessions[OTHER_SID] = other
    [r] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)
    t.replies.append(server_encrypt(other, response(C.ECHO, r.message_id, session_id=OTHER_SID)))
    with pytest.raises(ProtocolError, match="encrypted for SessionId"):
        c.wait(r, dl())


@pytest.mark.parametrize("offset", [4, 20, 36, 42, 44, 52, -1])
def test_any_flipped_byte_of_an_encrypted_response_is_fatal(offset):
    t, c, s = encrypted_conn()
    [r] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)
    msg = bytearray(server_encrypt(s, response(C.ECHO, r.message_id)))
    msg[offset] ^= 1
    t.replies.append(bytes(msg))
    with pytest.raises(ProtocolError):
        c.wait(r, dl())
    with pytest.raises(NotConnectedError):
        c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)


@pytest.mark.parametrize("cipher", [C.CIPHER_AES_128_CCM, C.CIPHER_AES_128_GCM,
                                    C.CIPHER_AES_256_CCM, C.CIPHER_AES_256_GCM])
def test_nonces_never_repeat_across_messages_and_sessions(cipher):
    t, c, s = encrypted_conn(cipher)
    s2 = make_session(OTHER_SID, cipher)
    c.sessions[OTHER_SID] = s2
    for i in range(600):
        sess = s if i % 2 else s2
        [r] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=sess, deadline=dl(), encrypt=True)
        c.outstanding.pop(r.message_id)
        c.credits += 1
    nonces = [m[20:36] for m in t.sent]
    assert len(set(nonces)) == 600
    n = transform.nonce_size(cipher)
    assert all(x[n:] == bytes(16 - n) for x in nonces)  # unused nonce bytes are zero
    for m in t.sent:
        key = s.encryption_key if struct.unpack_from("<Q", m, 44)[0] == SID else s2.encryption_key
        transform.decrypt(cipher, key, m)  # authentic (prepared cipher objects included)


@pytest.mark.parametrize("cipher", [C.CIPHER_AES_128_CCM, C.CIPHER_AES_128_GCM, C.CIPHER_AES_256_GCM])
def test_next_encryption_is_prepared_while_the_answer_is_awaited(cipher):
    """After an encrypted send, the GCM object of the next message is made ahead (its nonce
    taken from the one generator); the next message uses it and decrypts; a session with
    another key makes its own. CCM needs the length first: nothing is made ahead."""
    t, c, s = encrypted_conn(cipher)
    [r] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)
    ready = c.encryption._ready
    if not transform.prepares(cipher):
        assert ready is None
        return
    assert ready is not None and ready[0] == s.encryption_key
    c.outstanding.pop(r.message_id)
    c.credits += 1
    [r2] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=s, deadline=dl(), encrypt=True)
    assert t.sent[1][20:20 + len(ready[1])] == ready[1]  # the prepared nonce
    sid, plain = transform.decrypt(cipher, s.encryption_key, t.sent[1])
    assert sid == SID and plain[:4] == b"\xfeSMB" and struct.unpack_from("<Q", plain, 24)[0] == r2.message_id
    other = make_session(OTHER_SID, cipher)
    other.encryption_key = bytes(x ^ 0x5A for x in s.encryption_key)
    c.sessions[OTHER_SID] = other
    c.outstanding.pop(r2.message_id)
    c.credits += 1
    [r3] = c.send([(C.ECHO, ECHO_BODY, None, 1)], session=other, deadline=dl(), encrypt=True)
    assert transform.decrypt(cipher, other.encryption_key, t.sent[2])[0] == OTHER_SID
    with pytest.raises(ProtocolError):
        transform.decrypt(cipher, s.encryption_key, t.sent[2])
    nonces = [m[20:36] for m in t.sent]
    assert len(set(nonces)) == 3


# --- algorithm choices ---------------------------------------------------------------------

def test_offered_algorithms_follow_the_config():
    assert offered_ciphers(cfg()) == CIPHERS
    assert offered_signing_algorithms(cfg()) == SIGNING_ALGORITHMS
    assert offered_ciphers(cfg(ciphers=(4, 4, 9, 3))) == (4, 3)
    assert offered_dialects(cfg(signing_algorithms=(C.SIGNING_AES_GMAC,))) == (0x0311,)
    assert offered_dialects(cfg(signing_algorithms=(C.SIGNING_AES_CMAC,))) == (0x0300, 0x0302, 0x0311)
    assert offered_dialects(cfg(signing_algorithms=(C.SIGNING_HMAC_SHA256,))) == (0x0202, 0x0210, 0x0311)
    assert offered_dialects(cfg(ciphers=())) == (0x0202, 0x0210, 0x0300, 0x0302)
    with pytest.raises(UnsupportedFeature):
        offered_dialects(cfg(signing_algorithms=(C.SIGNING_AES_GMAC,), dialects=(0x0300,)))


def test_negotiate_contexts_carry_the_restricted_lists():
    config = cfg(ciphers=(C.CIPHER_AES_256_GCM,), signing_algorithms=(C.SIGNING_AES_CMAC, C.SIGNING_AES_GMAC))
    body, _mode, caps = build_request(config, offered_dialects(config), bytes(16), salt=b"s" * 32)
    assert caps & C.GLOBAL_CAP_ENCRYPTION
    assert b"\x02\x00\x04\x00\x00\x00\x00\x00\x01\x00\x04\x00" in body  # ENCRYPTION: 1 cipher, AES-256-GCM
    assert b"\x08\x00\x06\x00\x00\x00\x00\x00\x02\x00\x01\x00\x02\x00" in body  # SIGNING: CMAC, GMAC


def test_server_choosing_a_cipher_not_offered_is_rejected():
    # CTX_311 selects AES-128-GCM (0x0002) and AES-GMAC
    t = Scripted(neg_response(0x0311, 0, CTX_311, 3))
    with pytest.raises(ProtocolError, match="cipher 0x0002"):
        open_engine(t, cfg(ciphers=(C.CIPHER_AES_256_GCM,)), 1e12)
    t = Scripted(neg_response(0x0311, 0, CTX_311, 3))
    with pytest.raises(ProtocolError, match="signing algorithm 0x0002"):
        open_engine(t, cfg(signing_algorithms=(C.SIGNING_AES_CMAC,)), 1e12)
    t = Scripted(neg_response(0x0311, 0, CTX_311, 3))
    e = open_engine(t, cfg(), 1e12)
    assert e.cipher_id == C.CIPHER_AES_128_GCM


def test_require_encryption_refused_before_session_setup():
    for dialect, name in ((0x0210, "2.1"), (0x0202, "2.0.2")):
        why = name + ", which has no encryption"
        t = Scripted(neg_response(dialect, 0))
        with pytest.raises(UnsupportedFeature, match=why):
            open_engine(t, cfg(require_encryption=True), 1e12)
        assert t.closed and len(t.sent) == 1  # the NEGOTIATE, no SESSION_SETUP
    # 3.0 without SMB2_GLOBAL_CAP_ENCRYPTION (capabilities 7 in neg_response: no 0x40)
    t = Scripted(neg_response(0x0300, 0))
    with pytest.raises(UnsupportedFeature, match="no cipher"):
        open_engine(t, cfg(require_encryption=True), 1e12)


def test_cipher_for_30_needs_aes_128_ccm_in_the_config():
    neg = M.NegotiateResponse.__new__(M.NegotiateResponse)
    neg.dialect, neg.capabilities, neg.cipher_id = 0x0300, C.GLOBAL_CAP_ENCRYPTION, None
    assert cipher_for(neg) == C.CIPHER_AES_128_CCM
    assert cipher_for(neg, cfg(ciphers=(C.CIPHER_AES_128_GCM,))) is None
    neg.capabilities = 0
    assert cipher_for(neg) is None


@pytest.mark.parametrize("cipher", [C.CIPHER_AES_128_CCM, C.CIPHER_AES_128_GCM])
def test_long_messages_share_one_output_buffer_and_each_is_sent_intact(cipher):
    """Long encrypted messages are written into one reused buffer: each one the transport
    sent (FakeTransport copies) decrypts to its own plaintext; short ones get their own."""
    from smb.smb2.session import REUSED_OUTPUT_MIN

    t, c, s = encrypted_conn(cipher)
    payloads = [bytes([i]) * (REUSED_OUTPUT_MIN + 1000 * i) for i in range(1, 4)] + [b"x" * 100]
    for data in payloads:
        [r] = c.send([(C.WRITE, M.write_request(b"\x01" * 16, 0, len(data)), data, 1)], session=s,
                     deadline=dl(), encrypt=True)
        c.outstanding.pop(r.message_id)
        c.credits += 1
    buf = c.encryption._out
    assert len(buf) >= REUSED_OUTPUT_MIN + 3000 + 52
    for data, sent in zip(payloads, t.sent):
        sid, plain = transform.decrypt(cipher, s.encryption_key, sent)
        assert sid == SID and bytes(plain).endswith(data)
