"""Tests for smb.smb2.crypto (KDF, keys, signing, preauth) and smb.smb2.transform (encryption).

Vector data and provenance (published Microsoft Open Specifications vectors and
self-generated, cross-checked ones): :mod:`tests.unit.smb3_vectors`.
"""

import hashlib
import struct
import threading

import pytest
from Crypto.Cipher import AES
from Crypto.Hash import HMAC as PyHMAC
from Crypto.Hash import SHA256

from smb.errors import ProtocolError, UnsupportedFeature
from smb.smb2 import crypto as C
from smb.smb2 import transform as T
from tests.unit.smb3_vectors import (
    AES256_SELF, ANAT30_CHANNEL2_SESSION_KEY, ANAT30_CHANNEL2_SIGNING_KEY, ANAT30_KEYS,
    ANAT30_SESSION_KEY, ANAT311_BIND_CHANNEL_SIGNING_KEY, ANAT311_BIND_PREAUTH,
    ANAT311_BIND_SESSION_KEY, ANAT311_KEYS, ANAT311_PREAUTH, ANAT311_SESSION_KEY,
    CCM_APPLICATIONKEY, CCM_DECRYPTIONKEY, CCM_ENCRYPTIONKEY, CCM_H5, CCM_SESSIONKEY,
    CCM_SIGNINGKEY, CCM_SS_RESP2, CCM_SS_RESP2_SIG, CMAC_PUBLISHED, DECRYPT_PUBLISHED,
    ENCRYPT_PUBLISHED, GCM_APPLICATIONKEY, GCM_DECRYPTIONKEY, GCM_ENCRYPTIONKEY, GCM_H1, GCM_H2,
    GCM_H3, GCM_H4, GCM_H5, GCM_NEG_REQ, GCM_NEG_RESP, GCM_READ_REQ_PLAIN, GCM_READ_RESP_PLAIN,
    GCM_READ_RESP_TX, GCM_SESSIONID, GCM_SESSIONKEY, GCM_SIGNINGKEY, GCM_SS_REQ1, GCM_SS_REQ2,
    GCM_SS_RESP1, GCM_SS_RESP2, GCM_SS_RESP2_SIG, GCM_WRITE_REQ_PLAIN, GCM_WRITE_REQ_TX,
    GCM_WRITE_RESP_PLAIN, S30_APPLICATIONKEY, S30_DECRYPTIONKEY, S30_ENCRYPTIONKEY,
    S30_READ_REQ_TRANSFORMED, S30_READ_RESP_TRANSFORMED, S30_SESSIONKEY, S30_SIGNINGKEY,
    SELF_AES256_KEYS, SELF_FULL_SESSION_KEY, SELF_GMAC_WRITE_REQ_SIG, SELF_GMAC_WRITE_RESP_SIG,
    SELF_HMAC_WRITE_REQ_SIG,
)

try:  # independent implementation used for cross-checks only (not a runtime dependency)
    from cryptography.hazmat.primitives import hashes as _c_hashes
    from cryptography.hazmat.primitives import hmac as _c_hmac
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM as _CAESCCM
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM as _CAESGCM
    from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFHMAC, Mode
    HAVE_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAVE_CRYPTOGRAPHY = False


def zero_sig(msg):
    b = bytearray(msg)
    b[48:64] = bytes(16)
    return bytes(b)


# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

def test_constants():
    assert (C.DIALECT_2_0_2, C.DIALECT_2_1, C.DIALECT_3_0, C.DIALECT_3_0_2, C.DIALECT_3_1_1) == (
        0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
    assert (C.CIPHER_AES_128_CCM, C.CIPHER_AES_128_GCM, C.CIPHER_AES_256_CCM,
            C.CIPHER_AES_256_GCM) == (1, 2, 3, 4)
    assert (C.SIGNING_HMAC_SHA256, C.SIGNING_AES_CMAC, C.SIGNING_AES_GMAC) == (0, 1, 2)
    assert T.TRANSFORM_PROTOCOL_ID == b"\xfdSMB" and T.TRANSFORM_HEADER_SIZE == 52
    assert C.PREAUTH_INITIAL_HASH == bytes(64)


def test_constants_agree_with_smb2_constants_module():
    consts = pytest.importorskip("smb.smb2.constants")
    for name in ("DIALECT_2_0_2", "DIALECT_2_1", "DIALECT_3_0", "DIALECT_3_0_2", "DIALECT_3_1_1",
                 "CIPHER_AES_128_CCM", "CIPHER_AES_128_GCM", "CIPHER_AES_256_CCM",
                 "CIPHER_AES_256_GCM", "SIGNING_HMAC_SHA256", "SIGNING_AES_CMAC",
                 "SIGNING_AES_GMAC"):
        if hasattr(consts, name):
            assert getattr(consts, name) == getattr(C, name), name
    if hasattr(consts, "TRANSFORM_MAGIC"):
        assert consts.TRANSFORM_MAGIC == T.TRANSFORM_PROTOCOL_ID


# ---------------------------------------------------------------------------
# KDF and key derivation (published)
# ---------------------------------------------------------------------------

def test_kdf_smb30_labels_published():
    assert C.kdf(S30_SESSIONKEY, b"SMB2AESCMAC\x00", b"SmbSign\x00") == S30_SIGNINGKEY
    assert C.kdf(S30_SESSIONKEY, b"SMB2AESCCM\x00", b"ServerIn \x00") == S30_ENCRYPTIONKEY
    assert C.kdf(S30_SESSIONKEY, b"SMB2AESCCM\x00", b"ServerOut\x00") == S30_DECRYPTIONKEY
    assert C.kdf(S30_SESSIONKEY, b"SMB2APP\x00", b"SmbRpc\x00") == S30_APPLICATIONKEY


@pytest.mark.parametrize("dialect", [C.DIALECT_3_0, C.DIALECT_3_0_2])
def test_derive_keys_30_published(dialect):
    keys = C.derive_keys(dialect, S30_SESSIONKEY)
    assert keys == C.SessionKeys(S30_SIGNINGKEY, S30_ENCRYPTIONKEY, S30_DECRYPTIONKEY,
                                 S30_APPLICATIONKEY)
    assert C.derive_keys(dialect, S30_SESSIONKEY, cipher_id=C.CIPHER_AES_128_CCM) == keys
    assert C.derive_keys(dialect, ANAT30_SESSION_KEY) == ANAT30_KEYS
    assert C.derive_keys(dialect, ANAT30_CHANNEL2_SESSION_KEY).signing_key == \
        ANAT30_CHANNEL2_SIGNING_KEY


def test_derive_keys_311_published():
    assert C.derive_keys(C.DIALECT_3_1_1, GCM_SESSIONKEY, GCM_H5, C.CIPHER_AES_128_GCM) == \
        C.SessionKeys(GCM_SIGNINGKEY, GCM_ENCRYPTIONKEY, GCM_DECRYPTIONKEY, GCM_APPLICATIONKEY)
    assert C.derive_keys(C.DIALECT_3_1_1, CCM_SESSIONKEY, CCM_H5, C.CIPHER_AES_128_CCM) == \
        C.SessionKeys(CCM_SIGNINGKEY, CCM_ENCRYPTIONKEY, CCM_DECRYPTIONKEY, CCM_APPLICATIONKEY)
    assert C.derive_keys(C.DIALECT_3_1_1, ANAT311_SESSION_KEY, ANAT311_PREAUTH,
                         C.CIPHER_AES_128_GCM) == ANAT311_KEYS
    # No cipher negotiated: 128-bit keys as well.
    assert C.derive_keys(C.DIALECT_3_1_1, ANAT311_SESSION_KEY, ANAT311_PREAUTH) == ANAT311_KEYS
    # Session binding: the channel signing key comes from the binding exchange's own
    # session key and preauth hash.
    assert C.derive_keys(C.DIALECT_3_1_1, ANAT311_BIND_SESSION_KEY, ANAT311_BIND_PREAUTH,
                         C.CIPHER_AES_128_GCM).signing_key == ANAT311_BIND_CHANNEL_SIGNING_KEY


@pytest.mark.parametrize("dialect", [C.DIALECT_2_0_2, C.DIALECT_2_1])
def test_derive_keys_smb2_signing_key_is_session_key(dialect):
    assert C.derive_keys(dialect, S30_SESSIONKEY) == C.SessionKeys(S30_SESSIONKEY, None, None, None)
    # Session.SessionKey = first 16 bytes, right-padded with zeros.
    assert C.derive_keys(dialect, bytes(range(32))).signing_key == bytes(range(16))
    assert C.derive_keys(dialect, b"\x01" * 8).signing_key == b"\x01" * 8 + bytes(8)


def test_derive_keys_argument_errors():
    with pytest.raises(ValueError):
        C.derive_keys(C.DIALECT_3_1_1, GCM_SESSIONKEY)  # preauth hash missing
    with pytest.raises(ValueError):
        C.derive_keys(C.DIALECT_3_1_1, GCM_SESSIONKEY, bytes(32))
    with pytest.raises(ValueError):
        C.derive_keys(0x0222, GCM_SESSIONKEY)
    with pytest.raises(ValueError):
        C.derive_keys(C.DIALECT_3_0, GCM_SESSIONKEY, cipher_id=C.CIPHER_AES_128_GCM)
    with pytest.raises(ValueError):
        C.derive_keys(C.DIALECT_3_0, b"")
    with pytest.raises(UnsupportedFeature):
        C.derive_keys(C.DIALECT_3_1_1, GCM_SESSIONKEY, GCM_H5, 9)
    with pytest.raises(ValueError):
        C.kdf(GCM_SESSIONKEY, b"x\x00", b"y\x00", 12)


# ---------------------------------------------------------------------------
# AES-256 key derivation (self-generated, cross-checked)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cipher_id", [C.CIPHER_AES_256_CCM, C.CIPHER_AES_256_GCM])
def test_derive_keys_aes256_full_session_key(cipher_id):
    keys = C.derive_keys(C.DIALECT_3_1_1, SELF_FULL_SESSION_KEY, GCM_H5, cipher_id)
    assert keys == SELF_AES256_KEYS
    assert len(keys.encryption_key) == 32 and len(keys.decryption_key) == 32
    assert len(keys.signing_key) == 16 and len(keys.application_key) == 16
    # Signing and application keys use Session.SessionKey (first 16 bytes) with L = 128.
    k128 = C.derive_keys(C.DIALECT_3_1_1, SELF_FULL_SESSION_KEY[:16], GCM_H5)
    assert (keys.signing_key, keys.application_key) == (k128.signing_key, k128.application_key)
    # Cipher keys: the full key, L = 256 (not a truncation of the 128-bit derivation).
    assert keys.encryption_key == C.kdf(SELF_FULL_SESSION_KEY, b"SMBC2SCipherKey\x00", GCM_H5, 256)
    assert keys.decryption_key == C.kdf(SELF_FULL_SESSION_KEY, b"SMBS2CCipherKey\x00", GCM_H5, 256)
    assert keys.encryption_key[:16] != k128.encryption_key
    # Explicit full_session_key parameter: same result when the caller passes the
    # truncated Session.SessionKey plus the full key separately.
    assert C.derive_keys(C.DIALECT_3_1_1, SELF_FULL_SESSION_KEY[:16], GCM_H5, cipher_id,
                         full_session_key=SELF_FULL_SESSION_KEY) == keys
    # A 16-byte NTLM key: FullSessionKey == SessionKey.
    nk = C.derive_keys(C.DIALECT_3_1_1, GCM_SESSIONKEY, GCM_H5, cipher_id)
    assert nk.signing_key == GCM_SIGNINGKEY
    assert nk.encryption_key == C.kdf(GCM_SESSIONKEY, b"SMBC2SCipherKey\x00", GCM_H5, 256)


def _independent_kdf_hmac(key, label, context, nbytes):
    # Second path: SP800-108 counter mode written from the spec with pycryptodome's HMAC.
    out = b""
    i = 1
    while len(out) < nbytes:
        m = PyHMAC.new(key, digestmod=SHA256)
        m.update(struct.pack(">I", i) + label + b"\x00" + context + struct.pack(">I", nbytes * 8))
        out += m.digest()
        i += 1
    return out[:nbytes]


def test_kdf_cross_check_independent_paths():
    for key, label, ctx, n in [(SELF_FULL_SESSION_KEY, b"SMBC2SCipherKey\x00", GCM_H5, 32),
                               (SELF_FULL_SESSION_KEY[:16], b"SMBSigningKey\x00", GCM_H5, 16),
                               (S30_SESSIONKEY, b"SMB2AESCCM\x00", b"ServerIn \x00", 16),
                               (b"k" * 20, b"L\x00", b"ctx", 48)]:
        assert C.kdf(key, label, ctx, n * 8) == _independent_kdf_hmac(key, label, ctx, n)
        if HAVE_CRYPTOGRAPHY:
            ref = KBKDFHMAC(algorithm=_c_hashes.SHA256(), mode=Mode.CounterMode, length=n,
                            rlen=4, llen=4, location=CounterLocation.BeforeFixed, label=label,
                            context=ctx, fixed=None).derive(key)
            assert C.kdf(key, label, ctx, n * 8) == ref


def test_cipher_key_size_and_default_signing_algorithm():
    assert [C.cipher_key_size(c) for c in (1, 2, 3, 4)] == [16, 16, 32, 32]
    with pytest.raises(UnsupportedFeature):
        C.cipher_key_size(0)
    assert C.default_signing_algorithm(C.DIALECT_2_1) == C.SIGNING_HMAC_SHA256
    assert C.default_signing_algorithm(C.DIALECT_3_0_2) == C.SIGNING_AES_CMAC
    assert C.default_signing_algorithm(C.DIALECT_3_1_1) == C.SIGNING_AES_CMAC
    assert C.default_signing_algorithm(C.DIALECT_3_1_1, C.SIGNING_AES_GMAC) == C.SIGNING_AES_GMAC
    with pytest.raises(UnsupportedFeature):
        C.default_signing_algorithm(C.DIALECT_3_1_1, 7)


# ---------------------------------------------------------------------------
# Preauth integrity (published, [ENC311] A.1)
# ---------------------------------------------------------------------------

def test_preauth_integrity_chain_published():
    hv = C.PREAUTH_INITIAL_HASH
    for msg, expected in [(GCM_NEG_REQ, GCM_H1), (GCM_NEG_RESP, GCM_H2), (GCM_SS_REQ1, GCM_H3),
                          (GCM_SS_RESP1, GCM_H4), (GCM_SS_REQ2, GCM_H5)]:
        hv = C.preauth_update(hv, msg)
        assert hv == expected
    # The final hash feeds key derivation.
    assert C.derive_keys(C.DIALECT_3_1_1, GCM_SESSIONKEY, hv, C.CIPHER_AES_128_GCM).signing_key == \
        GCM_SIGNINGKEY
    assert C.preauth_update(bytearray(GCM_H4), memoryview(GCM_SS_REQ2)) == GCM_H5
    assert C.preauth_update(GCM_H4, GCM_SS_REQ2) == hashlib.sha512(GCM_H4 + GCM_SS_REQ2).digest()
    with pytest.raises(ValueError):
        C.preauth_update(bytes(32), GCM_SS_REQ2)


# ---------------------------------------------------------------------------
# Signing: AES-CMAC (published)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("key,msg", CMAC_PUBLISHED)
def test_aes_cmac_signature_published(key, msg):
    sig = msg[48:64]
    assert C.sign(C.SIGNING_AES_CMAC, key, msg) == sig
    assert C.sign(C.SIGNING_AES_CMAC, key, zero_sig(msg)) == sig
    assert C.verify(C.SIGNING_AES_CMAC, key, msg)
    assert C.verify(C.SIGNING_AES_CMAC, key, memoryview(msg))
    buf = bytearray(zero_sig(msg))
    assert C.sign_in_place(C.SIGNING_AES_CMAC, key, buf) == sig
    assert bytes(buf) == msg
    assert C.verify_in_place(C.SIGNING_AES_CMAC, key, buf)


def test_published_signatures_match_ss_resp2_fields():
    assert GCM_SS_RESP2[48:64] == GCM_SS_RESP2_SIG
    assert CCM_SS_RESP2[48:64] == CCM_SS_RESP2_SIG


# ---------------------------------------------------------------------------
# Signing: HMAC-SHA256 and AES-GMAC (self-generated, cross-checked)
# ---------------------------------------------------------------------------

def test_hmac_sha256_signature():
    msg = GCM_WRITE_REQ_PLAIN
    sig = C.sign(C.SIGNING_HMAC_SHA256, GCM_SESSIONKEY, msg)
    assert sig == SELF_HMAC_WRITE_REQ_SIG
    ref = PyHMAC.new(GCM_SESSIONKEY, zero_sig(msg), digestmod=SHA256).digest()[:16]
    assert sig == ref
    if HAVE_CRYPTOGRAPHY:
        m = _c_hmac.HMAC(GCM_SESSIONKEY, _c_hashes.SHA256())
        m.update(zero_sig(msg))
        assert sig == m.finalize()[:16]
    signed = bytearray(msg)
    C.sign_in_place(C.SIGNING_HMAC_SHA256, GCM_SESSIONKEY, signed)
    assert C.verify(C.SIGNING_HMAC_SHA256, GCM_SESSIONKEY, bytes(signed))
    assert not C.verify(C.SIGNING_HMAC_SHA256, GCM_SIGNINGKEY, bytes(signed))


def _gmac_reference(key, msg, nonce):
    # Second path: GMAC == GCM tag with empty plaintext, built as a decrypt-side object.
    c = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=16)
    c.update(zero_sig(msg))
    tag = c.digest()
    v = AES.new(key, AES.MODE_GCM, nonce=nonce)
    v.update(zero_sig(msg))
    v.verify(tag)
    if HAVE_CRYPTOGRAPHY:
        assert _CAESGCM(key).encrypt(nonce, b"", zero_sig(msg)) == tag
    return tag


def test_aes_gmac_signature():
    req, resp = GCM_WRITE_REQ_PLAIN, GCM_WRITE_RESP_PLAIN  # MessageId 5 in both headers
    key = GCM_SIGNINGKEY
    s_req = C.sign(C.SIGNING_AES_GMAC, key, req)
    s_resp = C.sign(C.SIGNING_AES_GMAC, key, resp)
    assert s_req == SELF_GMAC_WRITE_REQ_SIG
    assert s_resp == SELF_GMAC_WRITE_RESP_SIG
    # Nonce: MessageId (8 bytes LE) || 4 bytes: bit 0 = server, bit 1 = CANCEL request.
    assert s_req == _gmac_reference(key, req, struct.pack("<QI", 5, 0))
    assert s_resp == _gmac_reference(key, resp, struct.pack("<QI", 5, 1))
    # Explicit arguments override what the header says.
    assert C.sign(C.SIGNING_AES_GMAC, key, req, message_id=5, is_response=False) == s_req
    assert C.sign(C.SIGNING_AES_GMAC, key, req, message_id=6) == \
        _gmac_reference(key, req, struct.pack("<QI", 6, 0))
    assert C.sign(C.SIGNING_AES_GMAC, key, req, is_response=True) == \
        _gmac_reference(key, req, struct.pack("<QI", 5, 1))
    assert C.sign(C.SIGNING_AES_GMAC, key, req, is_cancel=True) == \
        _gmac_reference(key, req, struct.pack("<QI", 5, 2))


def test_aes_gmac_cancel_request_nonce_from_header():
    cancel = bytearray(68)
    struct.pack_into("<4sHHIHHIIQQQ16sHH", cancel, 0, b"\xfeSMB", 64, 1, 0, 0x000C, 0, 0x8, 0,
                     77, 0x1234, 0x100000000025, bytes(16), 4, 0)
    key = GCM_SIGNINGKEY
    sig = C.sign(C.SIGNING_AES_GMAC, key, cancel)
    assert sig == _gmac_reference(key, bytes(cancel), struct.pack("<QI", 77, 2))
    C.sign_in_place(C.SIGNING_AES_GMAC, key, cancel)
    assert C.verify(C.SIGNING_AES_GMAC, key, bytes(cancel))
    # The same bytes verified as a non-cancel message fail.
    assert not C.verify(C.SIGNING_AES_GMAC, key, bytes(cancel), is_cancel=False)


def test_prepared_gmac_objects_give_the_same_signatures_once_each():
    """Signer.prepare makes the AES-GMAC object of a (MessageId, role) ahead: signing and
    verifying with it gives exactly what a fresh object gives, it is used once, and a
    prepared object never makes a tampered or misattributed message verify."""
    key = GCM_SIGNINGKEY
    req, resp = GCM_WRITE_REQ_PLAIN, GCM_WRITE_RESP_PLAIN  # MessageId 5
    signer = C.Signer(C.SIGNING_AES_GMAC, key)
    signer.prepare(5, False)
    signer.prepare(5, True)
    signer.prepare(5, False, is_cancel=True)
    assert len(signer._ready) == 3
    assert signer.sign(req) == SELF_GMAC_WRITE_REQ_SIG and (5, 0) not in signer._ready
    assert signer.sign(resp) == SELF_GMAC_WRITE_RESP_SIG and (5, 1) not in signer._ready
    assert signer.sign(req) == SELF_GMAC_WRITE_REQ_SIG  # again, without a prepared object
    signer.prepare(5, False, is_cancel=True)  # already there: kept, not doubled
    assert list(signer._ready) == [(5, 2)]
    signed = _signed(C.SIGNING_AES_GMAC, key, resp)
    for i in (0, 20, 48, 63, 64, len(signed) - 1):
        bad = bytearray(signed)
        bad[i] ^= 0x01
        signer.prepare(5, True)
        assert not signer.verify(bytes(bad)), i
    signer.prepare(5, False)  # the request's object must not verify the response
    assert not signer.verify(signed, is_response=False)
    signer.prepare(5, True)
    assert signer.verify(signed)


def test_prepared_objects_are_bounded_and_only_for_gmac():
    signer = C.Signer(C.SIGNING_AES_GMAC, GCM_SIGNINGKEY)
    for mid in range(C.PREPARED_MAX + 40):
        signer.prepare(mid, True)
    assert len(signer._ready) == C.PREPARED_MAX
    assert (0, 1) not in signer._ready and (C.PREPARED_MAX + 39, 1) in signer._ready  # oldest dropped
    for alg, key in ((C.SIGNING_AES_CMAC, GCM_SIGNINGKEY), (C.SIGNING_HMAC_SHA256, GCM_SESSIONKEY)):
        other = C.Signer(alg, key)
        other.prepare(5, True)  # nothing to make ahead
        assert other._ready is None and other.sign(GCM_WRITE_REQ_PLAIN) == C.sign(alg, key, GCM_WRITE_REQ_PLAIN)


def test_prepared_objects_shared_by_threads():
    """Threads preparing and using objects of one Signer at once: every signature right."""
    signer = C.Signer(C.SIGNING_AES_GMAC, GCM_SIGNINGKEY)
    msgs = []
    for mid in range(200):
        b = bytearray(GCM_WRITE_REQ_PLAIN)
        struct.pack_into("<Q", b, 24, mid)
        msgs.append(bytes(b))
    want = [C.sign(C.SIGNING_AES_GMAC, GCM_SIGNINGKEY, m) for m in msgs]
    got, errors = {}, []

    def work(k):
        try:
            for mid in range(k, 200, 4):
                signer.prepare(mid, False)
                signer.prepare((mid + 1) % 200, False)  # also another thread's
                got[mid] = signer.sign(msgs[mid])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and [got[m] for m in range(200)] == want


# ---------------------------------------------------------------------------
# Signing: tamper detection, compound chains, malformed input
# ---------------------------------------------------------------------------

def _signed(alg, key, msg):
    b = bytearray(msg)
    C.sign_in_place(alg, key, b)
    return bytes(b)


@pytest.mark.parametrize("alg,key", [(C.SIGNING_HMAC_SHA256, GCM_SESSIONKEY),
                                     (C.SIGNING_AES_CMAC, GCM_SIGNINGKEY),
                                     (C.SIGNING_AES_GMAC, GCM_SIGNINGKEY)])
def test_signature_tampering_every_byte_detected(alg, key):
    signed = _signed(alg, key, GCM_WRITE_REQ_PLAIN)
    signer = C.Signer(alg, key)
    assert signer.verify(signed)
    for i in range(len(signed)):
        for bit in (0x01, 0x80):
            bad = bytearray(signed)
            bad[i] ^= bit
            assert not signer.verify(bytes(bad)), (i, bit)
    assert not signer.verify(signed + b"\x00")   # appended byte
    assert not signer.verify(signed[:-1])        # removed byte
    wrong_key = bytes(x ^ 0xFF for x in key)
    assert not C.verify(alg, wrong_key, signed)


@pytest.mark.parametrize("alg", [C.SIGNING_HMAC_SHA256, C.SIGNING_AES_CMAC, C.SIGNING_AES_GMAC])
def test_compound_chain_signed_part_by_part(alg):
    key = GCM_SIGNINGKEY
    part1 = bytearray(GCM_WRITE_REQ_PLAIN) + bytearray(8 - len(GCM_WRITE_REQ_PLAIN) % 8)  # padded
    struct.pack_into("<I", part1, 20, len(part1))  # NextCommand
    part2 = bytearray(GCM_READ_REQ_PLAIN)
    chain = bytearray(part1 + part2)
    off2 = len(part1)
    s1 = C.sign_in_place(alg, key, chain, 0, off2)
    s2 = C.sign_in_place(alg, key, memoryview(chain), off2)
    assert s1 == C.sign(alg, key, bytes(chain[:off2]))  # padding included
    assert s2 == C.sign(alg, key, bytes(chain[off2:]))
    assert chain[48:64] == s1 and chain[off2 + 48:off2 + 64] == s2
    ro = bytes(chain)
    assert C.verify_in_place(alg, key, ro, 0, off2)
    assert C.verify_in_place(alg, key, ro, off2)
    tampered = bytearray(chain)
    tampered[-1] ^= 1
    assert C.verify_in_place(alg, key, tampered, 0, off2)
    assert not C.verify_in_place(alg, key, tampered, off2)
    tampered = bytearray(chain)
    tampered[off2 - 1] ^= 1  # the padding of part 1 is covered
    assert not C.verify_in_place(alg, key, tampered, 0, off2)


@pytest.mark.parametrize("alg", [C.SIGNING_HMAC_SHA256, C.SIGNING_AES_CMAC, C.SIGNING_AES_GMAC])
def test_sign_parts_equals_signing_the_joined_message(alg):
    """A message signed part by part (header, body, payload: never joined) gets the
    signature of the whole; odd part sizes cross the 16-byte blocks of CMAC/GMAC, and the
    CMAC template copied per message carries nothing from one message to the next."""
    signer = C.Signer(alg, GCM_SIGNINGKEY)
    for payload_size in (0, 1, 15, 17, 4096 + 3, 300001):
        header = bytearray(GCM_WRITE_REQ_PLAIN[:64])
        header[48:64] = bytes(16)
        struct.pack_into("<Q", header, 24, payload_size)  # MessageId: a fresh GMAC nonce each
        body = GCM_WRITE_REQ_PLAIN[64:64 + 49]
        payload = bytes(i & 0xFF for i in range(payload_size))
        parts = [header, body, memoryview(payload), b"\x00" * 3]
        whole = bytes(header) + body + payload + b"\x00" * 3
        assert signer.sign_parts(parts) == signer.sign(whole) == C.sign(alg, GCM_SIGNINGKEY, whole)
        signed = bytearray(whole)
        signed[48:64] = signer.sign_parts(parts)
        assert signer.verify(bytes(signed))
        signed[-1] ^= 1
        assert not signer.verify(bytes(signed))
    with pytest.raises(ProtocolError):
        signer.sign_parts([b"\xfeSMB" + bytes(20), bytes(100)])  # header split across parts


def test_signing_malformed_input_raises_protocol_error():
    signer = C.Signer(C.SIGNING_AES_CMAC, GCM_SIGNINGKEY)
    with pytest.raises(ProtocolError):
        signer.verify(b"\xfeSMB" + bytes(40))
    with pytest.raises(ProtocolError):
        signer.verify_in_place(GCM_WRITE_REQ_PLAIN, 100)
    with pytest.raises(ProtocolError):
        signer.verify_in_place(GCM_WRITE_REQ_PLAIN, 0, len(GCM_WRITE_REQ_PLAIN) + 1)
    with pytest.raises(ProtocolError):
        signer.verify_in_place(GCM_WRITE_REQ_PLAIN, len(GCM_WRITE_REQ_PLAIN) + 5)
    with pytest.raises(ProtocolError):
        signer.sign_in_place(bytearray(10))
    with pytest.raises(TypeError):
        signer.sign_in_place(GCM_WRITE_REQ_PLAIN)  # read-only
    with pytest.raises(ValueError):
        C.Signer(C.SIGNING_AES_CMAC, bytes(32))
    with pytest.raises(ValueError):
        C.Signer(C.SIGNING_HMAC_SHA256, b"")
    with pytest.raises(UnsupportedFeature):
        C.Signer(3, GCM_SIGNINGKEY)


# ---------------------------------------------------------------------------
# Encryption: published vectors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cipher,key,sid,plain,tx", ENCRYPT_PUBLISHED)
def test_encrypt_published(cipher, key, sid, plain, tx):
    nonce_field = tx[20:36]
    # The whole 16-byte Nonce field as sent (Windows 8 left non-zero bytes in the reserved
    # part of the 3.0 vectors; they are authenticated as AAD).
    assert T.encrypt(cipher, key, sid, plain, nonce_field) == tx
    if nonce_field[T.nonce_size(cipher):] == bytes(16 - T.nonce_size(cipher)):
        # 3.1.1 vectors: the bare 11/12-byte cipher nonce gives the same message.
        assert T.encrypt(cipher, key, sid, plain, nonce_field[:T.nonce_size(cipher)]) == tx
    # The client's encryption key is the server's decryption key.
    assert T.decrypt(cipher, key, tx) == (sid, plain)


@pytest.mark.parametrize("cipher,key,sid,tx,plain", DECRYPT_PUBLISHED)
def test_decrypt_published(cipher, key, sid, tx, plain):
    session_id, out = T.decrypt(cipher, key, tx)
    assert session_id == sid and out == plain
    assert T.decrypt(cipher, key, memoryview(tx)) == (sid, plain)
    assert T.decrypt(cipher, key, bytearray(tx)) == (sid, plain)
    hdr = T.parse_transform_header(tx)
    assert hdr == T.TransformHeader(tx[4:20], tx[20:36], len(plain), 1, sid)
    # The server side re-encrypts to the identical bytes.
    assert T.encrypt(cipher, key, sid, plain, hdr.nonce) == tx


def test_published_keys_decrypt_with_derived_keys():
    keys = C.derive_keys(C.DIALECT_3_0, S30_SESSIONKEY)
    assert T.decrypt(C.CIPHER_AES_128_CCM, keys.decryption_key, S30_READ_RESP_TRANSFORMED)[1] \
        .endswith(b"Smb3 encryption testing")
    keys = C.derive_keys(C.DIALECT_3_1_1, GCM_SESSIONKEY, GCM_H5, C.CIPHER_AES_128_GCM)
    assert T.decrypt(C.CIPHER_AES_128_GCM, keys.decryption_key, GCM_READ_RESP_TX)[1] \
        .endswith(b"Smb3 encryption testing")


# ---------------------------------------------------------------------------
# Encryption: AES-256 (self-generated, cross-checked)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cipher,nonce,tx", AES256_SELF)
def test_aes256_encrypt_fixed_vector(cipher, nonce, tx):
    key = SELF_AES256_KEYS.encryption_key
    plain = GCM_WRITE_REQ_PLAIN
    out = T.encrypt(cipher, key, GCM_SESSIONID, plain, nonce)
    assert out == tx
    aad, tag, ct = tx[20:52], tx[4:20], tx[52:]
    assert aad == nonce.ljust(16, b"\x00") + struct.pack("<IHHQ", len(plain), 0, 1, GCM_SESSIONID)
    # Independent path 1: a differently-constructed pycryptodome object (one-shot API,
    # no declared lengths) decrypts and verifies.
    mode = AES.MODE_GCM if cipher == C.CIPHER_AES_256_GCM else AES.MODE_CCM
    d = AES.new(key, mode, nonce=nonce, mac_len=16)
    d.update(aad)
    assert d.decrypt_and_verify(ct, tag) == plain
    # Independent path 2: the ``cryptography`` package.
    if HAVE_CRYPTOGRAPHY:
        aead = _CAESGCM(key) if cipher == C.CIPHER_AES_256_GCM else _CAESCCM(key, tag_length=16)
        assert aead.encrypt(nonce, plain, aad) == ct + tag
        assert aead.decrypt(nonce, ct + tag, aad) == plain
    assert T.decrypt(cipher, key, tx) == (GCM_SESSIONID, plain)
    # The server decrypts with the same key (its DecryptionKey = our EncryptionKey),
    # and a message from the server is decrypted with our decryption key.
    srv = T.encrypt(cipher, SELF_AES256_KEYS.decryption_key, GCM_SESSIONID, GCM_READ_RESP_PLAIN,
                    nonce)
    assert T.decrypt(cipher, SELF_AES256_KEYS.decryption_key, srv) == (GCM_SESSIONID,
                                                                       GCM_READ_RESP_PLAIN)


# ---------------------------------------------------------------------------
# Encryption: tampering, malformed input, large messages
# ---------------------------------------------------------------------------

ALL_CIPHERS = [(C.CIPHER_AES_128_CCM, 16), (C.CIPHER_AES_128_GCM, 16),
               (C.CIPHER_AES_256_CCM, 32), (C.CIPHER_AES_256_GCM, 32)]


@pytest.mark.parametrize("cipher,ksize", ALL_CIPHERS)
def test_encrypted_tampering_every_byte_detected(cipher, ksize):
    key = bytes(range(ksize))
    nonce = T.NonceGenerator(cipher).next()
    tx = bytes(T.encrypt(cipher, key, 0x1122334455667788, GCM_WRITE_REQ_PLAIN, nonce))
    assert T.decrypt(cipher, key, tx)[1] == GCM_WRITE_REQ_PLAIN
    for i in range(len(tx)):  # ProtocolId, tag, nonce/AAD, ciphertext
        for bit in (0x01, 0x80):
            bad = bytearray(tx)
            bad[i] ^= bit
            with pytest.raises(ProtocolError):
                T.decrypt(cipher, key, bad)
    for region in (range(4, 20), range(20, 52), range(52, len(tx))):  # tag, AAD, ciphertext
        i = region[len(region) // 2]
        bad = bytearray(tx)
        bad[i] ^= 0x10
        if i < 36 or i >= 52:  # not size/flags: reaches the AEAD check
            with pytest.raises(ProtocolError, match="^decryption failed"):
                T.decrypt(cipher, key, bad)
    bad = bytearray(tx)
    bad[44:52] = struct.pack("<Q", 0x1122334455667789)  # SessionId is authenticated
    with pytest.raises(ProtocolError, match="^decryption failed"):
        T.decrypt(cipher, key, bad)
    with pytest.raises(ProtocolError, match="^decryption failed"):
        T.decrypt(cipher, bytes(ksize), tx)  # wrong key


@pytest.mark.parametrize("cipher,ksize", ALL_CIPHERS)
def test_decrypt_malformed_raises_protocol_error(cipher, ksize):
    key = bytes(ksize)
    tx = bytes(T.encrypt(cipher, key, 7, GCM_READ_REQ_PLAIN, T.NonceGenerator(cipher).next()))
    cases = {
        "empty": b"",
        "short header": tx[:30],
        "header only": tx[:52],
        "truncated": tx[:-1],
        "extra byte": tx + b"\x00",
        "protocol id": b"\xfeSMB" + tx[4:],
        "size too big": tx[:36] + struct.pack("<I", len(tx) - 51) + tx[40:],
        "size too small": tx[:36] + struct.pack("<I", len(tx) - 53) + tx[40:],
        "flags 0": tx[:42] + b"\x00\x00" + tx[44:],
        "flags 2": tx[:42] + b"\x02\x00" + tx[44:],
    }
    for name, buf in cases.items():
        with pytest.raises(ProtocolError):
            T.decrypt(cipher, key, buf)
        if name not in ("truncated", "extra byte", "size too big", "size too small"):
            continue
        with pytest.raises(ProtocolError, match="OriginalMessageSize"):
            T.parse_transform_header(buf)
    # Reserved is not checked (Windows sends zero; spec says ignore on receipt).
    res = bytearray(tx)
    res[40:42] = b"\x01\x00"
    with pytest.raises(ProtocolError, match="^decryption failed"):  # ...but it is in the AAD
        T.decrypt(cipher, key, res)


@pytest.mark.parametrize("cipher,ksize", ALL_CIPHERS)
@pytest.mark.parametrize("size", [68, 70000, 2 * 1024 * 1024 + 3])
def test_decrypt_in_place(cipher, ksize, size):
    """in_place: the plaintext is written over the ciphertext and returned as a view of
    it; a tampered message raises and leaves only zeros where the body was; a read-only
    input is decrypted into a new buffer."""
    key = bytes(range(ksize))
    plain = GCM_READ_REQ_PLAIN + bytes(range(256)) * ((size - len(GCM_READ_REQ_PLAIN)) // 256 + 1)
    plain = plain[:size]
    tx = bytes(T.encrypt(cipher, key, 7, plain, T.NonceGenerator(cipher).next()))
    buf = bytearray(b"\xaa" * 5 + tx)  # not at the start of its buffer
    view = memoryview(buf)[5:]
    sid, out = T.decrypt(cipher, key, view, in_place=True)
    assert sid == 7 and bytes(out) == plain
    assert isinstance(out, memoryview) and out.obj is buf and bytes(buf[5 + 52:]) == plain
    assert bytes(buf[:5]) == b"\xaa" * 5 and bytes(buf[5:5 + 52]) == tx[:52]  # header kept
    for offset in (4, 60, len(tx) - 1):
        bad = bytearray(tx)
        bad[offset] ^= 1
        with pytest.raises(ProtocolError, match="^decryption failed"):
            T.decrypt(cipher, key, bad, in_place=True)
        assert bytes(bad[52:]) == bytes(len(tx) - 52)  # no plaintext left behind
    sid, out = T.decrypt(cipher, key, tx, in_place=True)  # bytes: read-only
    assert isinstance(out, bytearray) and bytes(out) == plain


@pytest.mark.parametrize("cipher,ksize", ALL_CIPHERS)
def test_encrypt_parts_into_a_given_buffer(cipher, ksize):
    """``out``: every byte of the result is written (nothing of what the buffer held
    before shows), the same bytes as a fresh encryption; too small a buffer is refused."""
    key = bytes(range(ksize))
    nonce = T.NonceGenerator(cipher).next()
    parts = [GCM_READ_REQ_PLAIN, bytes(range(256)) * 300]
    fresh = T.encrypt_parts(cipher, key, 9, parts, nonce)
    out = bytearray(b"\xaa" * (len(fresh) + 100))
    got = T.encrypt_parts(cipher, key, 9, parts, nonce, out=out)
    assert isinstance(got, memoryview) and got.obj is out and bytes(got) == bytes(fresh)
    assert bytes(out[len(fresh):]) == b"\xaa" * 100
    with pytest.raises(ValueError):
        T.encrypt_parts(cipher, key, 9, parts, nonce, out=bytearray(len(fresh) - 1))


def test_is_transform_header():
    assert T.is_transform_header(GCM_WRITE_REQ_TX)
    assert T.is_transform_header(memoryview(S30_READ_REQ_TRANSFORMED))
    assert T.is_transform_header(b"\xfdSMB")
    assert not T.is_transform_header(GCM_WRITE_REQ_PLAIN)
    assert not T.is_transform_header(b"\xfdSM")
    assert not T.is_transform_header(b"")
    assert not T.is_transform_header(b"\xfcSMB" + bytes(60))


def test_encrypt_argument_errors():
    with pytest.raises(ValueError):
        T.encrypt(C.CIPHER_AES_128_GCM, bytes(16), 1, b"x" * 64, bytes(11))  # GCM needs 12
    with pytest.raises(ValueError):
        T.encrypt(C.CIPHER_AES_128_CCM, bytes(16), 1, b"x" * 64, bytes(12))  # CCM needs 11
    with pytest.raises(ValueError):
        T.encrypt(C.CIPHER_AES_256_GCM, bytes(16), 1, b"x" * 64, bytes(12))  # key size
    with pytest.raises(ValueError):
        T.encrypt(C.CIPHER_AES_128_GCM, bytes(32), 1, b"x" * 64, bytes(12))
    with pytest.raises(ValueError):
        T.encrypt(C.CIPHER_AES_128_GCM, bytes(16), 1, b"", bytes(12))
    with pytest.raises(UnsupportedFeature):
        T.encrypt(5, bytes(16), 1, b"x" * 64, bytes(12))
    with pytest.raises(UnsupportedFeature):
        T.decrypt(0, bytes(16), GCM_WRITE_REQ_TX)
    assert T.nonce_size(C.CIPHER_AES_128_CCM) == T.nonce_size(C.CIPHER_AES_256_CCM) == 11
    assert T.nonce_size(C.CIPHER_AES_128_GCM) == T.nonce_size(C.CIPHER_AES_256_GCM) == 12


@pytest.mark.parametrize("cipher,ksize", ALL_CIPHERS)
def test_large_message_round_trip(cipher, ksize):
    key = bytes(range(ksize))
    plain = bytearray(8 * 1024 * 1024 + 64)
    plain[:64] = GCM_WRITE_REQ_PLAIN[:64]
    plain[-5:] = b"tail!"
    gen = T.NonceGenerator(cipher)
    tx = T.encrypt(cipher, key, 42, memoryview(plain), gen.next())
    assert isinstance(tx, bytearray) and len(tx) == 52 + len(plain)
    sid, out = T.decrypt(cipher, key, memoryview(tx))
    assert sid == 42 and out == plain
    tx[len(tx) // 2] ^= 1
    with pytest.raises(ProtocolError, match="^decryption failed"):
        T.decrypt(cipher, key, tx)


@pytest.mark.parametrize("cipher,ksize", ALL_CIPHERS)
def test_encrypt_parts_equals_encrypting_the_joined_message(cipher, ksize):
    """The parts of a message are encrypted straight into place (no join first): the same
    bytes as encrypting the whole, for part sizes that do not fall on AES blocks."""
    key = bytes(range(ksize))
    nonce = bytes(range(T.nonce_size(cipher)))
    parts = [GCM_WRITE_REQ_PLAIN[:64], b"", bytearray(b"x" * 49), memoryview(bytes(100003)), b"\x07" * 7]
    whole = b"".join(bytes(p) for p in parts)
    tx = T.encrypt_parts(cipher, key, 7, parts, nonce)
    assert tx == T.encrypt(cipher, key, 7, whole, nonce)
    assert T.decrypt(cipher, key, tx) == (7, bytearray(whole))
    with pytest.raises(ValueError):
        T.encrypt_parts(cipher, key, 7, [b"", b""], nonce)


# ---------------------------------------------------------------------------
# NonceGenerator
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cipher,size", [(1, 11), (2, 12), (3, 11), (4, 12)])
def test_nonce_generator_sizes_and_uniqueness(cipher, size):
    gen = T.NonceGenerator(cipher)
    nonces = [gen.next() for _ in range(5000)]
    assert all(len(n) == size for n in nonces)
    assert len(set(nonces)) == len(nonces)
    assert next(iter(gen)) not in nonces
    # Independent generators (same cipher) start from random salts and counters.
    assert len({T.NonceGenerator(cipher).next() for _ in range(20)}) == 20


def test_nonce_generator_layout_wrap_and_exhaustion():
    gen = T.NonceGenerator(C.CIPHER_AES_128_GCM, salt=b"\xAA\xBB\xCC\xDD", start=0x0102)
    assert gen.next() == struct.pack("<Q", 0x0102) + b"\xAA\xBB\xCC\xDD"
    assert gen.next() == struct.pack("<Q", 0x0103) + b"\xAA\xBB\xCC\xDD"
    # The counter wraps modulo 2**64 (the default start is random).
    gen = T.NonceGenerator(C.CIPHER_AES_128_CCM, salt=b"\x01\x02\x03", start=(1 << 64) - 1)
    assert gen.next() == b"\xff" * 8 + b"\x01\x02\x03"
    assert gen.next() == bytes(8) + b"\x01\x02\x03"
    # After ``limit`` nonces (2**64 - 1 by default) the generator refuses to continue.
    gen = T.NonceGenerator(C.CIPHER_AES_128_CCM, limit=3)
    issued = {gen.next() for _ in range(3)}
    assert len(issued) == 3
    with pytest.raises(RuntimeError):
        gen.next()
    with pytest.raises(RuntimeError):  # stays exhausted
        gen.next()
    with pytest.raises(ValueError):
        T.NonceGenerator(C.CIPHER_AES_128_CCM, salt=b"\x00" * 4)
    with pytest.raises(ValueError):
        T.NonceGenerator(C.CIPHER_AES_128_GCM, start=-1)
    with pytest.raises(ValueError):
        T.NonceGenerator(C.CIPHER_AES_128_GCM, start=1 << 64)
    with pytest.raises(ValueError):
        T.NonceGenerator(C.CIPHER_AES_128_GCM, limit=0)
    with pytest.raises(UnsupportedFeature):
        T.NonceGenerator(0)


def test_nonce_generator_thread_safe():
    gen = T.NonceGenerator(C.CIPHER_AES_128_GCM)
    results = []

    def worker():
        results.extend(gen.next() for _ in range(2000))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 16000 and len(set(results)) == 16000
