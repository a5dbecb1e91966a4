"""NTLM against the [MS-NLMP] section 4.2 examples, plus parsing robustness and the
NTLMAuthenticator flow."""

import random
import struct

import pytest

from smb import ntlm
from smb import ntlm_crypto as c
from smb.errors import ProtocolError
from smb.utils import convertEpochToFILETIME, convertEpochtoFILETIME, convertFILETIMEtoEpoch
from smb.utils.md4 import MD4
from smb.utils import md4 as md4_module


def h(text):
    return bytes.fromhex("".join(text.split()))


# --- [MS-NLMP] 4.2.1 common values -------------------------------------------------------------
USER = "User"
DOMAIN = "Domain"
PASSWORD = "Password"
WORKSTATION = "COMPUTER"
RANDOM_SESSION_KEY = b"\x55" * 16
TIME = 0
CLIENT_CHALLENGE = b"\xaa" * 8
SERVER_CHALLENGE = h("01 23 45 67 89 ab cd ef")
SPEC_VERSION = h("05 01 28 0a 00 00 00 0f")  # Windows XP SP2 build 2600, NTLMSSP revision 15
PLAINTEXT = "Plaintext".encode("utf-16-le")

# --- 4.2.2 NTLMv1 --------------------------------------------------------------------------------
V1_CHALLENGE_FLAGS = 0xE2028233
V1_AUTH_FLAGS = 0xE2808235
V1_CHALLENGE_MESSAGE = h("""
4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00 38 00 00 00 33 82 02 e2 01 23 45 67 89 ab cd ef
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
65 00 72 00""")
V1_AUTHENTICATE_MESSAGE = h("""
4e 54 4c 4d 53 53 50 00 03 00 00 00 18 00 18 00 6c 00 00 00 18 00 18 00 84 00 00 00 0c 00 0c 00
48 00 00 00 08 00 08 00 54 00 00 00 10 00 10 00 5c 00 00 00 10 00 10 00 9c 00 00 00 35 82 80 e2
05 01 28 0a 00 00 00 0f 44 00 6f 00 6d 00 61 00 69 00 6e 00 55 00 73 00 65 00 72 00 43 00 4f 00
4d 00 50 00 55 00 54 00 45 00 52 00 98 de f7 b8 7f 88 aa 5d af e2 df 77 96 88 a1 72 de f1 1c 7d
5c cd ef 13 67 c4 30 11 f3 02 98 a2 ad 35 ec e6 4f 16 33 1c 44 bd be d9 27 84 1f 94 51 88 22 b1
b3 f3 50 c8 95 86 82 ec bb 3e 3c b7""")
V1_LMOWF = h("e5 2c ac 67 41 9a 9a 22 4a 3b 10 8f 3f a6 cb 6d")
V1_NTOWF = h("a4 f4 9c 40 65 10 bd ca b6 82 4e e7 c3 0f d8 52")
V1_SESSION_BASE_KEY = h("d8 72 62 b0 cd e4 b1 cb 74 99 be cc cd f1 07 84")
V1_LM_KEY_KXKEY = h("b0 9e 37 9f 7f be cb 1e af 0a fd cb 03 83 c8 a0")
V1_LM_RESPONSE = h("98 de f7 b8 7f 88 aa 5d af e2 df 77 96 88 a1 72 de f1 1c 7d 5c cd ef 13")
V1_NT_RESPONSE = h("67 c4 30 11 f3 02 98 a2 ad 35 ec e6 4f 16 33 1c 44 bd be d9 27 84 1f 94")
V1_ENC_KEY = h("51 88 22 b1 b3 f3 50 c8 95 86 82 ec bb 3e 3c b7")
V1_ENC_KEY_NON_NT = h("74 52 ca 55 c2 25 a1 ca 04 b4 8f ae 32 cf 56 fc")
V1_ENC_KEY_LM_KEY = h("4c d7 bb 57 d6 97 ef 9b 54 9f 02 b8 f9 b3 78 64")
V1_SEALED = h("56 fe 04 d8 61 f9 31 9a f0 d7 23 8a 2e 3b 4d 45 7f b8")
V1_SIGNATURE = h("01 00 00 00 00 00 00 00 09 dc d1 df 2e 45 9d 36")

# --- 4.2.3 NTLMv1 with client challenge (extended session security) ----------------------------
ESS_CHALLENGE_MESSAGE = h("""
4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00 38 00 00 00 33 82 0a 82 01 23 45 67 89 ab cd ef
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
65 00 72 00""")
ESS_AUTH_FLAGS = 0x82088235
ESS_AUTHENTICATE_MESSAGE = h("""
4e 54 4c 4d 53 53 50 00 03 00 00 00 18 00 18 00 6c 00 00 00 18 00 18 00 84 00 00 00 0c 00 0c 00
48 00 00 00 08 00 08 00 54 00 00 00 10 00 10 00 5c 00 00 00 00 00 00 00 9c 00 00 00 35 82 08 82
05 01 28 0a 00 00 00 0f 44 00 6f 00 6d 00 61 00 69 00 6e 00 55 00 73 00 65 00 72 00 43 00 4f 00
4d 00 50 00 55 00 54 00 45 00 52 00 aa aa aa aa aa aa aa aa 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 75 37 f8 03 ae 36 71 28 ca 45 82 04 bd e7 ca f8 1e 97 ed 26 83 26 72 32""")
ESS_LM_RESPONSE = CLIENT_CHALLENGE + bytes(16)
ESS_NT_RESPONSE = h("75 37 f8 03 ae 36 71 28 ca 45 82 04 bd e7 ca f8 1e 97 ed 26 83 26 72 32")
ESS_KXKEY = h("eb 93 42 9a 8b d9 52 f8 b8 9c 55 b8 7f 47 5e dc")
ESS_SEAL_KEY = h("04 dd 7f 01 4d 85 04 d2 65 a2 5c c8 6a 3a 7c 06")
ESS_SIGN_KEY = h("60 e7 99 be 5c 72 fc 92 92 2a e8 eb e9 61 fb 8d")
ESS_SEALED = h("a0 23 72 f6 53 02 73 f3 aa 1e b9 01 90 ce 52 00 c9 9d")
ESS_SIGNATURE = h("01 00 00 00 ff 2a eb 52 f6 81 79 3a 00 00 00 00")

# --- 4.2.4 NTLMv2 --------------------------------------------------------------------------------
# ([MS-NLMP] prints the TargetNameFields Len as 0x03 by a typo; 0x0c is what "Server" takes)
V2_CHALLENGE_MESSAGE = h("""
4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00 38 00 00 00 33 82 8a e2 01 23 45 67 89 ab cd ef
00 00 00 00 00 00 00 00 24 00 24 00 44 00 00 00 06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
65 00 72 00 02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00 01 00 0c 00 53 00 65 00 72 00 76 00
65 00 72 00 00 00 00 00""")
V2_TARGET_INFO = V2_CHALLENGE_MESSAGE[0x44:]
V2_AUTH_FLAGS = 0xE2888235
V2_AUTHENTICATE_MESSAGE = h("""
4e 54 4c 4d 53 53 50 00 03 00 00 00 18 00 18 00 6c 00 00 00 54 00 54 00 84 00 00 00 0c 00 0c 00
48 00 00 00 08 00 08 00 54 00 00 00 10 00 10 00 5c 00 00 00 10 00 10 00 d8 00 00 00 35 82 88 e2
05 01 28 0a 00 00 00 0f 44 00 6f 00 6d 00 61 00 69 00 6e 00 55 00 73 00 65 00 72 00 43 00 4f 00
4d 00 50 00 55 00 54 00 45 00 52 00 86 c3 50 97 ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa
aa aa aa aa 68 cd 0a b8 51 e5 1c 96 aa bc 92 7b eb ef 6a 1c 01 01 00 00 00 00 00 00 00 00 00 00
00 00 00 00 aa aa aa aa aa aa aa aa 00 00 00 00 02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00
01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00 00 00 00 00 00 00 00 00 c5 da d2 54 4f c9 79 90
94 ce 1c e9 0b c9 d0 3e""")
V2_NTOWF = h("0c 86 8a 40 3b fd 7a 93 a3 00 1e f2 2e f0 2e 3f")
V2_SESSION_BASE_KEY = h("8d e4 0c ca db c1 4a 82 f1 5c b0 ad 0d e9 5c a3")
V2_TEMP = h("""
01 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 aa aa aa aa aa aa aa aa 00 00 00 00 02 00 0c 00
44 00 6f 00 6d 00 61 00 69 00 6e 00 01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00 00 00 00 00
00 00 00 00""")
V2_LM_RESPONSE = h("86 c3 50 97 ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa aa aa aa aa")
V2_NT_PROOF = h("68 cd 0a b8 51 e5 1c 96 aa bc 92 7b eb ef 6a 1c")
V2_ENC_KEY = h("c5 da d2 54 4f c9 79 90 94 ce 1c e9 0b c9 d0 3e")
V2_SEAL_KEY = h("59 f6 00 97 3c c4 96 0a 25 48 0a 7c 19 6e 4c 58")
V2_SIGN_KEY = h("47 88 dc 86 1b 47 82 f3 5d 43 fd 98 fe 1a 2d 39")
V2_SEALED = h("54 e5 01 65 bf 19 36 dc 99 60 20 c1 81 1b 0f 06 fb 5f")
V2_SIGNATURE = h("01 00 00 00 7f b3 8e c5 c5 5d 49 76 00 00 00 00")


# ============================== 4.2.2 NTLMv1 ==============================

class TestNTLMv1:
    def test_lmowf_ntowf_session_base_key(self):
        assert c.lmowf_v1(PASSWORD) == V1_LMOWF
        assert c.ntowf_v1(PASSWORD) == V1_NTOWF
        assert c.md4(V1_NTOWF) == V1_SESSION_BASE_KEY

    def test_responses(self):
        nt, lm, key = ntlm.generateChallengeResponseV1(PASSWORD, SERVER_CHALLENGE)
        assert nt == V1_NT_RESPONSE
        assert lm == V1_LM_RESPONSE
        assert key == V1_SESSION_BASE_KEY

    def test_key_exchange_keys_and_encrypted_session_keys(self):
        # plain: KeyExchangeKey = SessionBaseKey
        kx = c.kxkey(V1_CHALLENGE_FLAGS, V1_SESSION_BASE_KEY, V1_LM_RESPONSE, SERVER_CHALLENGE, V1_LMOWF)
        assert kx == V1_SESSION_BASE_KEY
        assert c.rc4(kx, RANDOM_SESSION_KEY) == V1_ENC_KEY
        # NTLMSSP_REQUEST_NON_NT_SESSION_KEY
        kx = c.kxkey(ntlm.NTLMSSP_REQUEST_NON_NT_SESSION_KEY, V1_SESSION_BASE_KEY, V1_LM_RESPONSE,
                     SERVER_CHALLENGE, V1_LMOWF)
        assert c.rc4(kx, RANDOM_SESSION_KEY) == V1_ENC_KEY_NON_NT
        # NTLMSSP_NEGOTIATE_LM_KEY
        kx = c.kxkey(ntlm.NTLMSSP_NEGOTIATE_LM_KEY, V1_SESSION_BASE_KEY, V1_LM_RESPONSE,
                     SERVER_CHALLENGE, V1_LMOWF)
        assert kx == V1_LM_KEY_KXKEY
        assert c.rc4(kx, RANDOM_SESSION_KEY) == V1_ENC_KEY_LM_KEY

    def test_challenge_message_parse(self):
        challenge, flags, info = ntlm.decodeChallengeMessage(V1_CHALLENGE_MESSAGE)
        assert (challenge, flags, info) == (SERVER_CHALLENGE, V1_CHALLENGE_FLAGS, b"")
        msg = ntlm.parse_challenge_message(V1_CHALLENGE_MESSAGE)
        assert msg.target_name == "Server"
        assert msg.version == h("06 00 70 17 00 00 00 0f")
        assert msg.av_pairs == []

    def test_authenticate_message_bytes(self):
        nt, lm, key = ntlm.generateChallengeResponseV1(PASSWORD, SERVER_CHALLENGE)
        msg = ntlm.build_authenticate_message(V1_AUTH_FLAGS, lm, nt, DOMAIN, USER, WORKSTATION,
                                              c.rc4(key, RANDOM_SESSION_KEY), version=SPEC_VERSION)
        assert msg == V1_AUTHENTICATE_MESSAGE

    def test_authenticate_message_parse(self):
        m = ntlm.parse_authenticate_message(V1_AUTHENTICATE_MESSAGE)
        assert m["flags"] == V1_AUTH_FLAGS
        assert (m["domain"], m["user"], m["workstation"]) == (DOMAIN, USER, WORKSTATION)
        assert m["lm_response"] == V1_LM_RESPONSE and m["nt_response"] == V1_NT_RESPONSE
        assert m["encrypted_session_key"] == V1_ENC_KEY
        assert m["version"] == SPEC_VERSION and m["mic"] is None

    def test_gss_wrap_example(self):
        # 4.2.2.4: NTLMSSP_NEGOTIATE_56, no extended session security; SealKey = the key
        flags = ntlm.NTLMSSP_NEGOTIATE_56 | ntlm.NTLMSSP_NEGOTIATE_SIGN | ntlm.NTLMSSP_NEGOTIATE_SEAL
        sec = c.SessionSecurity(flags, RANDOM_SESSION_KEY)
        assert sec.out_seal_key == RANDOM_SESSION_KEY and sec.out_sign_key is None
        assert sec.seal(PLAINTEXT) == (V1_SEALED, V1_SIGNATURE)

    def test_gss_wrap_example_unsealed_by_peer(self):
        flags = ntlm.NTLMSSP_NEGOTIATE_56 | ntlm.NTLMSSP_NEGOTIATE_SIGN | ntlm.NTLMSSP_NEGOTIATE_SEAL
        server = c.SessionSecurity(flags, RANDOM_SESSION_KEY, client=False)
        assert server.unseal(V1_SEALED, V1_SIGNATURE) == PLAINTEXT

    def test_lm_response_falls_back_to_nt_for_long_password(self):
        nt, lm, _ = c.ntlm_v1_responses("x" * 15, SERVER_CHALLENGE, False)
        assert lm == nt


# ============================== 4.2.3 NTLMv1 + ESS ==============================

class TestNTLMv1ExtendedSessionSecurity:
    def test_responses_and_keys(self):
        nt, lm, key = ntlm.generateChallengeResponseV1(PASSWORD, SERVER_CHALLENGE, True, CLIENT_CHALLENGE)
        assert nt == ESS_NT_RESPONSE
        assert lm == ESS_LM_RESPONSE
        assert key == V1_SESSION_BASE_KEY
        kx = c.kxkey(0x820A8233, key, lm, SERVER_CHALLENGE)
        assert kx == ESS_KXKEY

    def test_random_client_challenge_when_none_given(self):
        nt1, lm1, _ = ntlm.generateChallengeResponseV1(PASSWORD, SERVER_CHALLENGE, True)
        nt2, lm2, _ = ntlm.generateChallengeResponseV1(PASSWORD, SERVER_CHALLENGE, True)
        assert lm1[8:] == bytes(16) and lm1 != lm2 and nt1 != nt2

    def test_challenge_message_parse(self):
        challenge, flags, info = ntlm.decodeChallengeMessage(ESS_CHALLENGE_MESSAGE)
        assert (challenge, flags, info) == (SERVER_CHALLENGE, 0x820A8233, b"")

    def test_authenticate_message_bytes(self):
        nt, lm, _ = ntlm.generateChallengeResponseV1(PASSWORD, SERVER_CHALLENGE, True, CLIENT_CHALLENGE)
        msg = ntlm.build_authenticate_message(ESS_AUTH_FLAGS, lm, nt, DOMAIN, USER, WORKSTATION,
                                              version=SPEC_VERSION)
        assert msg == ESS_AUTHENTICATE_MESSAGE

    def test_gss_wrap_example(self):
        flags = (ntlm.NTLMSSP_NEGOTIATE_56 | ntlm.NTLMSSP_NEGOTIATE_SIGN | ntlm.NTLMSSP_NEGOTIATE_SEAL
                 | ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)
        sec = c.SessionSecurity(flags, ESS_KXKEY)
        assert sec.out_seal_key == ESS_SEAL_KEY
        assert sec.out_sign_key == ESS_SIGN_KEY
        assert sec.seal(PLAINTEXT) == (ESS_SEALED, ESS_SIGNATURE)
        server = c.SessionSecurity(flags, ESS_KXKEY, client=False)
        assert server.in_seal_key == ESS_SEAL_KEY and server.in_sign_key == ESS_SIGN_KEY
        assert server.unseal(ESS_SEALED, ESS_SIGNATURE) == PLAINTEXT


# ============================== 4.2.4 NTLMv2 ==============================

class TestNTLMv2:
    def test_ntowfv2(self):
        assert c.ntowf_v2(PASSWORD, USER, DOMAIN) == V2_NTOWF

    def test_temp_and_responses(self):
        assert c.ntlm_v2_temp(TIME, CLIENT_CHALLENGE, V2_TARGET_INFO) == V2_TEMP
        nt, lm, key = ntlm.generateChallengeResponseV2(PASSWORD, USER, SERVER_CHALLENGE, V2_TARGET_INFO,
                                                       DOMAIN, CLIENT_CHALLENGE, timestamp=TIME)
        assert nt == V2_NT_PROOF + V2_TEMP
        assert lm == V2_LM_RESPONSE
        assert key == V2_SESSION_BASE_KEY
        assert c.rc4(key, RANDOM_SESSION_KEY) == V2_ENC_KEY

    def test_challenge_message_parse(self):
        challenge, flags, info = ntlm.decodeChallengeMessage(V2_CHALLENGE_MESSAGE)
        assert (challenge, flags, info) == (SERVER_CHALLENGE, 0xE28A8233, V2_TARGET_INFO)
        msg = ntlm.parse_challenge_message(V2_CHALLENGE_MESSAGE)
        assert msg.target_name == "Server"
        assert msg.av_pairs == [(ntlm.MsvAvNbDomainName, "Domain".encode("utf-16-le")),
                                (ntlm.MsvAvNbComputerName, "Server".encode("utf-16-le"))]
        assert msg.nb_domain_name == "Domain" and msg.nb_computer_name == "Server"
        assert msg.dns_computer_name is None and msg.timestamp is None and msg.av_flags is None

    def test_authenticate_message_bytes(self):
        nt, lm, key = ntlm.generateChallengeResponseV2(PASSWORD, USER, SERVER_CHALLENGE, V2_TARGET_INFO,
                                                       DOMAIN, CLIENT_CHALLENGE, timestamp=TIME)
        msg = ntlm.build_authenticate_message(V2_AUTH_FLAGS, lm, nt, DOMAIN, USER, WORKSTATION,
                                              c.rc4(key, RANDOM_SESSION_KEY), version=SPEC_VERSION)
        assert msg == V2_AUTHENTICATE_MESSAGE

    def test_gss_wrap_example(self):
        flags = (ntlm.NTLMSSP_NEGOTIATE_56 | ntlm.NTLMSSP_NEGOTIATE_128 | ntlm.NTLMSSP_NEGOTIATE_SIGN
                 | ntlm.NTLMSSP_NEGOTIATE_SEAL | ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH
                 | ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)
        sec = c.SessionSecurity(flags, RANDOM_SESSION_KEY)
        assert sec.out_seal_key == V2_SEAL_KEY and sec.out_sign_key == V2_SIGN_KEY
        assert sec.seal(PLAINTEXT) == (V2_SEALED, V2_SIGNATURE)
        server = c.SessionSecurity(flags, RANDOM_SESSION_KEY, client=False)
        assert server.unseal(V2_SEALED, V2_SIGNATURE) == PLAINTEXT

    def test_server_timestamp_used_and_lm_zeroed(self):
        info = ntlm.encode_av_pairs([(ntlm.MsvAvNbComputerName, "S".encode("utf-16-le")),
                                     (ntlm.MsvAvTimestamp, struct.pack("<Q", 0x01D0000000000000))])
        nt, lm, _ = ntlm.generateChallengeResponseV2(PASSWORD, USER, SERVER_CHALLENGE, info, DOMAIN,
                                                     CLIENT_CHALLENGE, timestamp=5)
        assert lm == bytes(24)
        assert nt[16 + 8:16 + 16] == struct.pack("<Q", 0x01D0000000000000)


# ============================== session security details ==============================

class TestSessionSecurity:
    FLAGS = (ntlm.NTLMSSP_NEGOTIATE_128 | ntlm.NTLMSSP_NEGOTIATE_SIGN | ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH
             | ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)

    def test_sequence_numbers_both_directions(self):
        client = c.SessionSecurity(self.FLAGS, RANDOM_SESSION_KEY, client=True)
        server = c.SessionSecurity(self.FLAGS, RANDOM_SESSION_KEY, client=False)
        for i in range(3):
            sig = client.sign(b"msg%d" % i)
            assert sig[12:] == struct.pack("<I", i)
            assert server.verify(b"msg%d" % i, sig)
            back = server.sign(b"reply%d" % i)
            assert client.verify(b"reply%d" % i, back)

    def test_tampered_signature_rejected(self):
        client = c.SessionSecurity(self.FLAGS, RANDOM_SESSION_KEY)
        server = c.SessionSecurity(self.FLAGS, RANDOM_SESSION_KEY, client=False)
        sig = bytearray(client.sign(b"data"))
        sig[5] ^= 1
        assert not server.verify(b"data", bytes(sig))
        assert not server.verify(b"data", b"short")

    def test_without_key_exch_checksum_is_plain_hmac(self):
        flags = self.FLAGS & ~ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH
        sec = c.SessionSecurity(flags, RANDOM_SESSION_KEY)
        sig = sec.sign(b"abc")
        assert sig[4:12] == c.hmac_md5(sec.out_sign_key, bytes(4) + b"abc")[:8]

    def test_ntlm1_shares_stream_and_sequence(self):
        flags = ntlm.NTLMSSP_NEGOTIATE_128 | ntlm.NTLMSSP_NEGOTIATE_SIGN
        client = c.SessionSecurity(flags, RANDOM_SESSION_KEY)
        server = c.SessionSecurity(flags, RANDOM_SESSION_KEY, client=False)
        assert server.verify(b"one", client.sign(b"one"))
        assert client.verify(b"two", server.sign(b"two"))


# ============================== parsing robustness ==============================

def _challenge(flags=0xE28A8233, target_name=b"", target_info=b"", version=b"\x06\x01\xb1\x1d\x00\x00\x00\x0f"):
    off = 48 + len(version)
    return (b"NTLMSSP\x00" + struct.pack("<I", 2)
            + struct.pack("<HHI", len(target_name), len(target_name), off)
            + struct.pack("<I", flags) + SERVER_CHALLENGE + bytes(8)
            + struct.pack("<HHI", len(target_info), len(target_info), off + len(target_name))
            + version + target_name + target_info)


class TestChallengeParsing:
    def test_all_av_pairs(self):
        pairs = [(ntlm.MsvAvNbDomainName, "DOM".encode("utf-16-le")),
                 (ntlm.MsvAvNbComputerName, "SRV".encode("utf-16-le")),
                 (ntlm.MsvAvDnsDomainName, "dom.example".encode("utf-16-le")),
                 (ntlm.MsvAvDnsComputerName, "srv.dom.example".encode("utf-16-le")),
                 (ntlm.MsvAvDnsTreeName, "example".encode("utf-16-le")),
                 (ntlm.MsvAvFlags, struct.pack("<I", 1)),
                 (ntlm.MsvAvTimestamp, struct.pack("<Q", 133000000000000000))]
        msg = ntlm.parse_challenge_message(_challenge(target_name="DOM".encode("utf-16-le"),
                                                      target_info=ntlm.encode_av_pairs(pairs)))
        assert msg.target_name == "DOM"
        assert msg.av_pairs == pairs
        assert msg.nb_domain_name == "DOM" and msg.nb_computer_name == "SRV"
        assert msg.dns_domain_name == "dom.example" and msg.dns_computer_name == "srv.dom.example"
        assert msg.dns_tree_name == "example" and msg.av_flags == 1
        assert msg.timestamp == 133000000000000000

    @pytest.mark.parametrize("data, why", [
        (b"", "too short"),
        (b"NTLMSSP\x00\x02\x00\x00\x00", "too short"),
        (b"NTLMSSQ\x00" + bytes(40), "signature"),
        (b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(40), "message type"),
    ])
    def test_bad_headers(self, data, why):
        with pytest.raises(ProtocolError, match=why):
            ntlm.decodeChallengeMessage(data)

    def test_target_info_outside_buffer(self):
        good = _challenge(target_info=ntlm.encode_av_pairs([(1, b"ab")]))
        bad = good[:40] + struct.pack("<HHI", 200, 200, 56) + good[48:]
        with pytest.raises(ProtocolError, match="TargetInfo"):
            ntlm.decodeChallengeMessage(bad)

    def test_target_name_outside_buffer(self):
        good = _challenge(target_name=b"S\x00")
        bad = good[:12] + struct.pack("<HHI", 2, 2, 0xFFFFFFF0) + good[20:]
        with pytest.raises(ProtocolError, match="TargetName"):
            ntlm.parse_challenge_message(bad)

    def test_truncated_av_pair(self):
        with pytest.raises(ProtocolError, match="AV_PAIR"):
            ntlm.parse_challenge_message(_challenge(target_info=b"\x01\x00\x10\x00abc"))
        with pytest.raises(ProtocolError, match="AV_PAIR"):
            ntlm.parse_challenge_message(_challenge(target_info=b"\x01\x00"))

    def test_bad_timestamp_and_flags_lengths(self):
        with pytest.raises(ProtocolError, match="MsvAvTimestamp"):
            ntlm.parse_challenge_message(_challenge(target_info=ntlm.encode_av_pairs([(7, b"1234")])))
        with pytest.raises(ProtocolError, match="MsvAvFlags"):
            ntlm.parse_challenge_message(_challenge(target_info=ntlm.encode_av_pairs([(6, b"12")])))

    def test_minimal_32_byte_challenge(self):
        msg = ntlm.parse_challenge_message(_challenge()[:32])
        assert msg.server_challenge == SERVER_CHALLENGE and msg.target_info == b""

    def test_fuzz_only_protocol_errors(self):
        rng = random.Random(1234)
        base = V2_CHALLENGE_MESSAGE
        for _ in range(3000):
            data = bytearray(base[:rng.randrange(len(base) + 1)])
            for _ in range(rng.randrange(4)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                ntlm.parse_challenge_message(bytes(data))
            except ProtocolError:
                pass


# ============================== the authenticator ==============================

def _server_challenge_with_timestamp(ts=0x01D9000000000000, flags=0xE28A8215):
    info = ntlm.encode_av_pairs([(ntlm.MsvAvNbDomainName, "DOM".encode("utf-16-le")),
                                 (ntlm.MsvAvNbComputerName, "SRV".encode("utf-16-le")),
                                 (ntlm.MsvAvTimestamp, struct.pack("<Q", ts))])
    return _challenge(flags=flags, target_name="DOM".encode("utf-16-le"), target_info=info)


class TestNTLMAuthenticator:
    def test_v2_with_mic_and_key_exchange(self):
        auth = ntlm.NTLMAuthenticator("alice", "s3cret", "DOM", "WS")
        negotiate = auth.negotiate_message()
        assert negotiate[:12] == b"NTLMSSP\x00\x01\x00\x00\x00"
        assert struct.unpack_from("<I", negotiate, 12)[0] == ntlm.CLIENT_FLAGS
        challenge = _server_challenge_with_timestamp()
        msg = ntlm.parse_authenticate_message(auth.authenticate_message(challenge))
        assert msg["user"] == "alice" and msg["domain"] == "DOM" and msg["workstation"] == "WS"
        assert msg["lm_response"] == bytes(24)
        assert msg["flags"] & ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH
        # server side: recompute the proof with the timestamp the client must have used
        nt = msg["nt_response"]
        temp = nt[16:]
        assert temp[8:16] == struct.pack("<Q", 0x01D9000000000000)
        key = c.ntowf_v2("s3cret", "alice", "DOM")
        assert c.hmac_md5(key, SERVER_CHALLENGE + temp) == nt[:16]
        pairs = ntlm.parse_av_pairs(temp[28:])
        assert (ntlm.MsvAvFlags, struct.pack("<I", ntlm.AV_FLAG_MIC_PRESENT)) in pairs
        base = c.hmac_md5(key, nt[:16])
        exported = c.rc4(base, msg["encrypted_session_key"])
        assert exported == auth.session_key and len(exported) == 16 and exported != base
        # the MIC over the three messages
        assert msg["mic"] is not None and msg["mic"] != bytes(16)
        raw_auth = ntlm.build_authenticate_message(
            msg["flags"], msg["lm_response"], msg["nt_response"], "DOM", "alice", "WS",
            msg["encrypted_session_key"], mic=bytes(16))
        assert ntlm.compute_mic(exported, negotiate, challenge, raw_auth) == msg["mic"]
        assert auth.mic_sent and auth.can_sign

    def test_v2_without_timestamp_has_no_mic_and_sends_lmv2(self):
        auth = ntlm.NTLMAuthenticator("bob", "pw", "", "")
        auth.negotiate_message()
        challenge = ntlm.parse_challenge_message(V2_CHALLENGE_MESSAGE)
        msg = ntlm.parse_authenticate_message(auth.authenticate_message(V2_CHALLENGE_MESSAGE))
        assert msg["mic"] is None and not auth.mic_sent
        key = c.ntowf_v2("pw", "bob", "")
        cc = msg["lm_response"][16:]
        assert msg["lm_response"][:16] == c.hmac_md5(key, challenge.server_challenge + cc)
        assert msg["nt_response"][16 + 28:-4] == V2_TARGET_INFO  # target info echoed as is

    def test_target_spn(self):
        auth = ntlm.NTLMAuthenticator("bob", "pw", target_spn="cifs/srv")
        auth.negotiate_message()
        msg = ntlm.parse_authenticate_message(auth.authenticate_message(V2_CHALLENGE_MESSAGE))
        pairs = ntlm.parse_av_pairs(msg["nt_response"][16 + 28:])
        assert (ntlm.MsvAvTargetName, "cifs/srv".encode("utf-16-le")) in pairs

    def test_v1_with_and_without_ess(self):
        for challenge, ess in ((ESS_CHALLENGE_MESSAGE, True), (V1_CHALLENGE_MESSAGE, False)):
            auth = ntlm.NTLMAuthenticator(USER, PASSWORD, DOMAIN, WORKSTATION, use_ntlm_v2=False)
            auth.negotiate_message()
            msg = ntlm.parse_authenticate_message(auth.authenticate_message(challenge))
            flags = msg["flags"]
            assert bool(flags & ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) == ess
            if ess:
                cc = msg["lm_response"][:8]
                assert msg["lm_response"][8:] == bytes(16)
                assert msg["nt_response"] == c.ntlm_v1_responses(PASSWORD, SERVER_CHALLENGE, True, cc)[0]
            else:
                # no LM hash response unless asked for (lanman): the NT response goes twice
                assert msg["nt_response"] == V1_NT_RESPONSE and msg["lm_response"] == V1_NT_RESPONSE
            # both challenges grant KEY_EXCH only in the plain v1 case
            if flags & ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH:
                assert c.rc4(V1_SESSION_BASE_KEY, msg["encrypted_session_key"]) == auth.session_key
            else:
                kx = c.kxkey(flags, V1_SESSION_BASE_KEY, msg["lm_response"], SERVER_CHALLENGE)
                assert auth.session_key == kx and msg["encrypted_session_key"] == b""

    def test_v1_lm_response_only_when_asked(self):
        """[MS-NLMP] 3.3.1: the LM response (DESL of the LM hash) only with ``lanman=True``."""
        auth = ntlm.NTLMAuthenticator(USER, PASSWORD, DOMAIN, WORKSTATION, use_ntlm_v2=False,
                                      lanman=True)
        auth.negotiate_message()
        msg = ntlm.parse_authenticate_message(auth.authenticate_message(V1_CHALLENGE_MESSAGE))
        assert msg["nt_response"] == V1_NT_RESPONSE and msg["lm_response"] == V1_LM_RESPONSE
        nt, lm, _key = c.ntlm_v1_responses(PASSWORD, SERVER_CHALLENGE, False, lanman=False)
        assert lm == nt == V1_NT_RESPONSE

    def test_anonymous(self):
        auth = ntlm.NTLMAuthenticator("", "", workstation="WS")
        assert auth.is_anonymous
        auth.negotiate_message()
        msg = ntlm.parse_authenticate_message(auth.authenticate_message(_server_challenge_with_timestamp()))
        assert msg["nt_response"] == b"" and msg["lm_response"] == b"\x00"
        assert msg["user"] == "" and msg["domain"] == ""
        assert msg["flags"] & ntlm.NTLMSSP_NEGOTIATE_ANONYMOUS
        assert not msg["flags"] & ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH
        assert auth.session_key == bytes(16) and not auth.can_sign and not auth.mic_sent

    def test_password_callable_is_lazy_and_never_shown(self):
        calls = []

        def secret():
            calls.append(1)
            return "Hunter2!"

        auth = ntlm.NTLMAuthenticator("carol", secret, "D")
        assert not auth.is_anonymous
        auth.negotiate_message()
        assert calls == []
        assert "Hunter2" not in repr(auth) and "Hunter2" not in str(vars(auth))
        msg = ntlm.parse_authenticate_message(auth.authenticate_message(V2_CHALLENGE_MESSAGE))
        assert calls == [1]
        key = c.ntowf_v2("Hunter2!", "carol", "D")
        assert c.hmac_md5(key, SERVER_CHALLENGE + msg["nt_response"][16:]) == msg["nt_response"][:16]

    def test_errors(self):
        auth = ntlm.NTLMAuthenticator("u", "p")
        with pytest.raises(RuntimeError):
            auth.authenticate_message(V2_CHALLENGE_MESSAGE)
        with pytest.raises(RuntimeError):
            auth.session_key
        auth.negotiate_message()
        with pytest.raises(ProtocolError):
            auth.authenticate_message(b"NTLMSSP\x00\x02\x00\x00\x00")

    def test_pysmb_generate_authenticate_message(self):
        nt, lm, key = ntlm.generateChallengeResponseV2(PASSWORD, USER, SERVER_CHALLENGE, V2_TARGET_INFO,
                                                       DOMAIN, CLIENT_CHALLENGE, timestamp=TIME)
        # with key exchange: a random exported key, sent RC4-encrypted under the base key
        raw, signing_key = ntlm.generateAuthenticateMessage(0xE28A8233, nt, lm, key, USER, DOMAIN,
                                                            WORKSTATION)
        msg = ntlm.parse_authenticate_message(raw)
        assert (msg["nt_response"], msg["lm_response"]) == (nt, lm)
        assert len(signing_key) == 16 and signing_key != key
        assert c.rc4(key, msg["encrypted_session_key"]) == signing_key
        assert (msg["user"], msg["domain"], msg["workstation"]) == (USER, DOMAIN, WORKSTATION)
        assert msg["flags"] & ntlm.NTLMSSP_NEGOTIATE_UNICODE and not msg["flags"] & ntlm.NTLMSSP_NEGOTIATE_OEM
        # without: the base key signs and is never sent
        raw, signing_key = ntlm.generateAuthenticateMessage(0xE28A8233 & ~ntlm.NTLM_NegotiateKeyExchange,
                                                            nt, lm, key, USER, DOMAIN, WORKSTATION)
        assert signing_key == key and key not in raw
        assert ntlm.parse_authenticate_message(raw)["encrypted_session_key"] == b""
        assert ntlm.generateNegotiateMessage()[:8] == b"NTLMSSP\x00"

    def test_pysmb_helpers(self):
        assert ntlm.MD5(b"abc") == bytes.fromhex("900150983cd24fb0d6963f7d28e17f72")
        assert ntlm.MD4(b"abc").digest() == bytes.fromhex("a448017aaf21d8525fc10ae87aa6729d")
        assert ntlm.RC4_encrypt(b"Key", ntlm.RC4_encrypt(b"Key", b"Plaintext")) == b"Plaintext"
        assert ntlm.RC4_encrypt(b"Key", b"Plaintext") == bytes.fromhex("bbf316e8d940af0ad3")  # the well-known "Key"/"Plaintext" vector
        assert ntlm.expandDesKey(b"\xff" * 7) == b"\xfe" * 8
        assert ntlm.DESL(bytes(16), bytes(8)) == c.desl(bytes(16), bytes(8)) and len(ntlm.DESL(bytes(16), bytes(8))) == 24

    def test_flag_aliases(self):
        assert ntlm.NTLM_NegotiateUnicode == ntlm.NTLMSSP_NEGOTIATE_UNICODE == 1
        assert ntlm.NTLM_NegotiateExtendedSecurity == 0x00080000
        assert ntlm.NTLM_NegotiateKeyExchange == ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH == 0x40000000


# ============================== smb.utils ==============================

def test_md4_rfc1320_vectors():
    assert MD4().hexdigest() == "31d6cfe0d16ae931b73c59d7e0c089c0"
    assert MD4(b"a").hexdigest() == "bde52cb31de33e46245e05fbdbd6fb24"
    m = md4_module.new()
    m.update(b"message ")
    copy = m.copy()
    m.update(b"digest")
    assert m.hexdigest() == "d9130a8164549fe818874806e1c7014b"
    assert copy.digest() == MD4(b"message ").digest()
    twin = copy.make_copy()  # pysmb's name
    twin.update(str=b"digest")
    assert twin.hexdigest() == m.hexdigest() and copy.digest() == MD4(b"message ").digest()


def test_filetime_conversions():
    assert convertFILETIMEtoEpoch(116444736000000000) == 0.0
    assert convertEpochtoFILETIME(1.5) == 116444736015000000
    assert convertFILETIMEtoEpoch(convertEpochToFILETIME(1700000000.25)) == 1700000000.25
    assert convertEpochtoFILETIME is convertEpochToFILETIME
