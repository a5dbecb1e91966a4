"""SPNEGO (RFC 4178 / RFC 2743 framing / [MS-SPNG] NegTokenInit2) tokens and the
SPNEGOAuthenticator flow against a simulated server."""

import struct

import pytest

from smb import ntlm
from smb import ntlm_crypto as c
from smb import securityblob as sb
from smb.errors import ProtocolError, UnsupportedFeature


def h(text):
    return bytes.fromhex("".join(text.split()))


def tlv(tag, content):
    """Hand-rolled DER TLV, independent of the code under test."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = b"\x81" + bytes([n])
    else:
        length = b"\x82" + struct.pack(">H", n)
    return bytes([tag]) + length + content


OID_SPNEGO = h("06 06 2b 06 01 05 05 02")
OID_NTLMSSP = h("06 0a 2b 06 01 04 01 82 37 02 02 0a")
OID_KRB5 = h("06 09 2a 86 48 86 f7 12 01 02 02")
OID_MS_KRB5 = h("06 09 2a 86 48 82 f7 12 01 02 02")
OID_NEGOEX = h("06 0a 2b 06 01 04 01 82 37 02 02 1e")
MECH_LIST_NTLM = h("30 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a")


def neg_token_init2(mech_oids, hint=b"not_defined_in_RFC4178@please_ignore"):
    """A server NegTokenInit2 as Windows / Samba put in the SMB NEGOTIATE response."""
    mechs = tlv(0xA0, tlv(0x30, b"".join(mech_oids)))
    hints = tlv(0xA3, tlv(0x30, tlv(0xA0, tlv(0x1B, hint))))
    return tlv(0x60, OID_SPNEGO + tlv(0xA0, tlv(0x30, mechs + hints)))


class TestEncoding:
    def test_negotiate_blob_exact_bytes(self):
        token = b"NTLMSSP\x00\x01\x00\x00\x00"
        expected = tlv(0x60, OID_SPNEGO + tlv(0xA0, tlv(0x30, tlv(0xA0, MECH_LIST_NTLM) + tlv(0xA2, tlv(0x04, token)))))
        assert sb.generateNegotiateSecurityBlob(token) == expected

    def test_auth_blob_exact_bytes(self):
        token = b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(100)
        assert sb.generateAuthSecurityBlob(token) == tlv(0xA1, tlv(0x30, tlv(0xA2, tlv(0x04, token))))

    def test_long_token_lengths(self):
        token = bytes(range(256)) * 3
        blob = sb.generateNegotiateSecurityBlob(token)
        assert sb.decode_neg_token_init(blob)["mechToken"] == token

    def test_mech_type_list_der(self):
        assert sb.encode_mech_type_list([sb.NTLMSSP_OID]) == MECH_LIST_NTLM

    def test_accept_completed_exact_bytes(self):
        assert sb.encode_neg_token_resp(neg_state=0) == h("a1 07 30 05 a0 03 0a 01 00")

    def test_resp_exact_bytes(self):
        got = sb.encode_neg_token_resp(1, sb.NTLMSSP_OID, b"tok", b"mic")
        assert got == tlv(0xA1, tlv(0x30, tlv(0xA0, h("0a 01 01")) + tlv(0xA1, OID_NTLMSSP)
                                    + tlv(0xA2, tlv(0x04, b"tok")) + tlv(0xA3, tlv(0x04, b"mic"))))


class TestRoundTrip:
    def test_init(self):
        blob = sb.encode_neg_token_init([sb.NTLMSSP_OID, sb.KRB5_OID], mech_token=b"abc", mech_list_mic=b"m")
        got = sb.decode_neg_token_init(blob)
        assert got["mechTypes"] == [sb.NTLMSSP_OID, sb.KRB5_OID]
        assert got["mechToken"] == b"abc" and got["mechListMIC"] == b"m"
        assert got["reqFlags"] is None and got["hintName"] is None

    @pytest.mark.parametrize("fields", [
        dict(neg_state=0),
        dict(neg_state=1, supported_mech=sb.NTLMSSP_OID, response_token=b"NTLMSSP\x00\x02"),
        dict(response_token=b"x" * 300, mech_list_mic=bytes(16)),
        dict(neg_state=2),
        dict(neg_state=3, mech_list_mic=b"\x01" * 16),
    ])
    def test_resp(self, fields):
        got = sb.decode_neg_token_resp(sb.encode_neg_token_resp(**fields))
        assert got == {
            "negState": fields.get("neg_state"),
            "supportedMech": fields.get("supported_mech"),
            "responseToken": fields.get("response_token"),
            "mechListMIC": fields.get("mech_list_mic"),
        }

    def test_pysmb_decoders(self):
        blob = sb.encode_neg_token_resp(1, sb.NTLMSSP_OID, b"challenge")
        assert sb.decodeChallengeSecurityBlob(blob) == (sb.RESULT_ACCEPT_INCOMPLETE, b"challenge")
        assert sb.decodeAuthResponseSecurityBlob(h("a1 07 30 05 a0 03 0a 01 00")) == sb.RESULT_ACCEPT_COMPLETED
        assert sb.decodeAuthResponseSecurityBlob(sb.encode_neg_token_resp(2)) == sb.RESULT_REJECT
        assert (sb.RESULT_ACCEPT_COMPLETED, sb.RESULT_ACCEPT_INCOMPLETE, sb.RESULT_REJECT) == (0, 1, 2)


class TestServerHint:
    def test_windows_style_hint(self):
        blob = neg_token_init2([OID_MS_KRB5, OID_KRB5, OID_NEGOEX, OID_NTLMSSP])
        assert sb.parse_negotiate_hint(blob) == [sb.MS_KRB5_OID, sb.KRB5_OID, sb.NEGOEX_OID, sb.NTLMSSP_OID]
        assert sb.decode_neg_token_init(blob)["hintName"] == "not_defined_in_RFC4178@please_ignore"

    def test_empty_hint(self):
        assert sb.parse_negotiate_hint(b"") == []
        assert sb.parse_negotiate_hint(None) == []

    def test_rfc4178_init_as_hint(self):
        assert sb.parse_negotiate_hint(sb.generateNegotiateSecurityBlob(b"t")) == [sb.NTLMSSP_OID]

    def test_kerberos_only_server_refused_clearly(self):
        spnego = sb.SPNEGOAuthenticator(ntlm.NTLMAuthenticator("u", "p"))
        with pytest.raises(UnsupportedFeature, match="NTLMSSP"):
            spnego.initial_token(neg_token_init2([OID_MS_KRB5, OID_KRB5]))


class TestMalformed:
    GOOD_INIT = sb.generateNegotiateSecurityBlob(b"NTLMSSP\x00\x01\x00\x00\x00")
    GOOD_RESP = sb.encode_neg_token_resp(1, sb.NTLMSSP_OID, b"NTLMSSP\x00\x02", bytes(16))

    def test_every_truncation(self):
        for n in range(len(self.GOOD_INIT)):
            with pytest.raises(ProtocolError):
                sb.decode_neg_token_init(self.GOOD_INIT[:n])
        for n in range(len(self.GOOD_RESP)):
            with pytest.raises(ProtocolError):
                sb.decode_neg_token_resp(self.GOOD_RESP[:n])

    def test_wrong_oid(self):
        kerberos_framed = tlv(0x60, OID_KRB5 + self.GOOD_INIT[2 + len(OID_SPNEGO):])
        with pytest.raises(ProtocolError, match="not SPNEGO"):
            sb.decode_neg_token_init(kerberos_framed)

    def test_wrong_tags(self):
        with pytest.raises(ProtocolError):
            sb.decode_neg_token_init(b"\x61" + self.GOOD_INIT[1:])
        with pytest.raises(ProtocolError):
            sb.decode_neg_token_resp(b"\xa2" + self.GOOD_RESP[1:])
        with pytest.raises(ProtocolError, match="negTokenResp"):
            sb.decode_neg_token_resp(tlv(0xA0, tlv(0x30, tlv(0xA0, MECH_LIST_NTLM))))
        with pytest.raises(ProtocolError, match="negTokenInit"):
            sb.decode_neg_token_init(tlv(0x60, OID_SPNEGO + self.GOOD_RESP))

    def test_bad_lengths(self):
        too_long = bytearray(self.GOOD_RESP)
        too_long[1] += 5
        with pytest.raises(ProtocolError):
            sb.decode_neg_token_resp(bytes(too_long))
        inner = bytearray(self.GOOD_RESP)
        inner[3] -= 3  # SEQUENCE shorter than its content
        with pytest.raises(ProtocolError):
            sb.decode_neg_token_resp(bytes(inner))
        with pytest.raises(ProtocolError):
            sb.decode_neg_token_resp(b"\xa1\x84\xff\xff\xff\xff\x30\x00")

    def test_trailing_bytes(self):
        with pytest.raises(ProtocolError, match="trailing"):
            sb.decode_neg_token_resp(self.GOOD_RESP + b"\x00")

    def test_not_bytes_and_empty(self):
        with pytest.raises(ProtocolError):
            sb.decode_neg_token_resp(b"")
        with pytest.raises(ProtocolError):
            sb.decode_neg_token_resp("a1")

    def test_challenge_blob_without_token(self):
        with pytest.raises(ProtocolError, match="no NTLM challenge"):
            sb.decodeChallengeSecurityBlob(sb.encode_neg_token_resp(1))

    def test_fuzz_only_protocol_errors(self):
        import random
        rng = random.Random(99)
        for base in (self.GOOD_INIT, self.GOOD_RESP, neg_token_init2([OID_KRB5, OID_NTLMSSP])):
            for _ in range(1500):
                data = bytearray(base)
                for _ in range(rng.randrange(1, 4)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
                try:
                    sb.decode_neg_token_init(bytes(data))
                except ProtocolError:
                    pass
                try:
                    sb.decode_neg_token_resp(bytes(data))
                except ProtocolError:
                    pass


# --- the authenticator against a simulated server ------------------------------------------------

SERVER_CHALLENGE = h("01 23 45 67 89 ab cd ef")


def _challenge_message(with_timestamp=True, flags=0xE28A8215):
    pairs = [(ntlm.MsvAvNbDomainName, "DOM".encode("utf-16-le")),
             (ntlm.MsvAvNbComputerName, "SRV".encode("utf-16-le"))]
    if with_timestamp:
        pairs.append((ntlm.MsvAvTimestamp, struct.pack("<Q", 0x01DA000000000000)))
    info = ntlm.encode_av_pairs(pairs)
    name = "DOM".encode("utf-16-le")
    return (b"NTLMSSP\x00" + struct.pack("<I", 2) + struct.pack("<HHI", len(name), len(name), 56)
            + struct.pack("<I", flags) + SERVER_CHALLENGE + bytes(8)
            + struct.pack("<HHI", len(info), len(info), 56 + len(name)) + bytes(8) + name + info)


def _server_security(client):
    return c.SessionSecurity(client.ntlm.flags, client.session_key, client=False)


class TestSPNEGOAuthenticator:
    def _run_to_auth(self, with_timestamp=True):
        spnego = sb.SPNEGOAuthenticator(ntlm.NTLMAuthenticator("alice", "pw", "DOM", "WS"))
        init = sb.decode_neg_token_init(spnego.initial_token(neg_token_init2([OID_KRB5, OID_NTLMSSP])))
        assert init["mechTypes"] == [sb.NTLMSSP_OID]
        assert init["mechToken"][:12] == b"NTLMSSP\x00\x01\x00\x00\x00"
        challenge = sb.encode_neg_token_resp(1, sb.NTLMSSP_OID, _challenge_message(with_timestamp))
        return spnego, sb.decode_neg_token_resp(spnego.respond(challenge))

    def test_full_exchange_with_mech_list_mic(self):
        spnego, resp = self._run_to_auth()
        auth = ntlm.parse_authenticate_message(resp["responseToken"])
        assert auth["user"] == "alice" and auth["mic"] is not None
        assert resp["negState"] is None
        # the server checks our mechListMIC with the client-to-server keys, sequence 0
        server = _server_security(spnego)
        assert server.verify(MECH_LIST_NTLM, resp["mechListMIC"])
        # and answers with its own over the same list
        final = sb.encode_neg_token_resp(0, mech_list_mic=server.sign(MECH_LIST_NTLM))
        spnego.finish(final)
        assert spnego.completed and len(spnego.session_key) == 16
        assert spnego.session_key == spnego.ntlm.session_key

    def test_forged_server_mech_list_mic(self):
        spnego, _ = self._run_to_auth()
        with pytest.raises(ProtocolError, match="mechListMIC"):
            spnego.finish(sb.encode_neg_token_resp(0, mech_list_mic=b"\x01\x00\x00\x00" + bytes(12)))

    def test_no_mic_without_timestamp(self):
        spnego, resp = self._run_to_auth(with_timestamp=False)
        assert resp["mechListMIC"] is None and not spnego.mic_sent
        spnego.finish(h("a1 07 30 05 a0 03 0a 01 00"))
        spnego2, _ = self._run_to_auth(with_timestamp=False)
        spnego2.finish(None)
        assert spnego2.completed

    def test_reject(self):
        spnego, _ = self._run_to_auth()
        with pytest.raises(sb.AuthenticationRejected):
            spnego.finish(sb.encode_neg_token_resp(2))
        spnego2 = sb.SPNEGOAuthenticator(ntlm.NTLMAuthenticator("a", "b"))
        spnego2.initial_token()
        with pytest.raises(sb.AuthenticationRejected):
            spnego2.respond(sb.encode_neg_token_resp(2))

    def test_unexpected_states_and_mechs(self):
        spnego = sb.SPNEGOAuthenticator(ntlm.NTLMAuthenticator("a", "b"))
        spnego.initial_token()
        with pytest.raises(ProtocolError, match="not NTLMSSP"):
            spnego.respond(sb.encode_neg_token_resp(1, sb.KRB5_OID, _challenge_message()))
        with pytest.raises(ProtocolError, match="no NTLM challenge"):
            spnego.respond(sb.encode_neg_token_resp(1))
        with pytest.raises(ProtocolError, match="negState"):
            spnego.respond(sb.encode_neg_token_resp(0, sb.NTLMSSP_OID, _challenge_message()))
        spnego2, _ = self._run_to_auth()
        with pytest.raises(ProtocolError, match="negState"):
            spnego2.finish(sb.encode_neg_token_resp(1))

    def test_malformed_ntlm_inside_spnego(self):
        spnego = sb.SPNEGOAuthenticator(ntlm.NTLMAuthenticator("a", "b"))
        spnego.initial_token()
        with pytest.raises(ProtocolError):
            spnego.respond(sb.encode_neg_token_resp(1, sb.NTLMSSP_OID, b"NTLMSSP\x00\x02\x00"))

    def test_anonymous(self):
        spnego = sb.SPNEGOAuthenticator(ntlm.NTLMAuthenticator("", ""))
        spnego.initial_token()
        resp = sb.decode_neg_token_resp(spnego.respond(sb.encode_neg_token_resp(1, sb.NTLMSSP_OID,
                                                                                _challenge_message())))
        assert resp["mechListMIC"] is None
        auth = ntlm.parse_authenticate_message(resp["responseToken"])
        assert auth["nt_response"] == b"" and auth["lm_response"] == b"\x00"
        spnego.finish(h("a1 07 30 05 a0 03 0a 01 00"))
        assert spnego.session_key == bytes(16)


def test_long_lived_decoder_matches_pyasn1_across_threads():
    """The SingleItemDecoder kept between tokens (its tag caches reused) decodes every token
    as pyasn1's own one-shot decode does, from several threads at once."""
    import os
    import threading

    from pyasn1.codec.ber import decoder

    tokens = [sb.encode_neg_token_resp(neg_state=i % 3, supported_mech=sb.NTLMSSP_OID if i % 2 else None,
                                       response_token=os.urandom(20 + i), mech_list_mic=os.urandom(16))
              for i in range(40)]
    expected = [decoder.decode(t, asn1Spec=sb.NegotiationToken())[0] for t in tokens]
    errors = []

    def work():
        try:
            for _ in range(5):
                for t, e in zip(tokens, expected):
                    assert sb._ber_decode(t, sb.NegotiationToken()) == (e, b"")
                    assert sb.decode_neg_token_resp(t)["responseToken"] == bytes(
                        e.getComponent()["responseToken"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
