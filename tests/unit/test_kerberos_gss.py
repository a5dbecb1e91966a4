"""The GSS-API Kerberos initiator and the SPNEGO authenticator, against an acceptor written here
from the RFC 4120 / RFC 4121 rules (decrypt the authenticator with the ticket's session key,
answer with an AP-REP carrying an acceptor subkey, sign the mechListMIC)."""

import struct

import pytest

from smb import securityblob as sb
from smb.errors import ProtocolError, UnsupportedFeature
from smb.kerberos import asn1, crypto, gss
from smb.kerberos.creds import Credential, Principal
from smb.kerberos.errors import KDCUnreachable, KerberosError
from smb.kerberos.spnego import KerberosSPNEGOAuthenticator

CLIENT = Principal(("alice",), "EXAMPLE.ORG")
SERVER = Principal(("cifs", "fs1"), "EXAMPLE.ORG", 2)


def make_cred(etype=crypto.AES256_CTS_HMAC_SHA1_96):
    key = crypto.get_etype(etype).random_key()
    ticket = asn1.encode(asn1.build(asn1.Ticket(), {
        "tkt-vno": 5, "realm": "EXAMPLE.ORG", "sname": asn1.principal(2, ["cifs", "fs1"]),
        "enc-part": asn1.encrypted_data(etype, b"opaque to the client", 3)}))
    return Credential(CLIENT, SERVER, key, ticket, endtime=2**31 - 1)


class Acceptor:
    """The service side, enough to answer an AP-REQ (RFC 4120 3.2.3-3.2.4, RFC 4121 4.1)."""

    def __init__(self, cred, subkey=True, echo_time=True, reply_key=None):
        self.cred = cred
        self.subkey = crypto.get_etype(cred.key.etype).random_key() if subkey else None
        self.echo_time = echo_time
        self.reply_key = reply_key or cred.key
        self.seq = 0x1234

    def accept(self, token):
        tok_id, body = gss.unframe(token)
        assert tok_id == gss.TOK_AP_REQ
        ap_req = asn1.decode(body, asn1.APReq(), "AP-REQ")
        self.ap_options = asn1.flags_to_int(ap_req["ap-options"])
        plain = self.cred.key.decrypt(asn1.KU_AP_REQ_AUTH, bytes(ap_req["authenticator"]["cipher"]))
        self.auth = asn1.decode(plain, asn1.Authenticator(), "Authenticator")
        self.initiator_subkey = crypto.Key(int(self.auth["subkey"]["keytype"]), bytes(self.auth["subkey"]["keyvalue"]))
        part = {"ctime": self.auth["ctime"] if self.echo_time else "19990101000000Z",
                "cusec": int(self.auth["cusec"]), "seq-number": self.seq}
        if self.subkey:
            part["subkey"] = {"keytype": self.subkey.etype, "keyvalue": self.subkey.contents}
        enc = self.reply_key.encrypt(asn1.KU_AP_REP_ENC, asn1.encode(asn1.build(asn1.EncAPRepPart(), part)))
        rep = asn1.build(asn1.APRep(), {"pvno": 5, "msg-type": asn1.AP_REP,
                                        "enc-part": asn1.encrypted_data(self.reply_key.etype, enc)})
        return gss.frame(gss.TOK_AP_REP, asn1.encode(rep))

    def mic(self, message):
        header = gss.TOK_MIC_CFX + bytes([0x01 | (0x04 if self.subkey else 0)]) + b"\xff" * 5 + struct.pack(">Q", self.seq)
        key = self.subkey or self.initiator_subkey
        return header + key.checksum(gss.KG_USAGE_ACCEPTOR_SIGN, message + header)


def test_ap_req_carries_the_gss_checksum_and_a_subkey():
    cred = make_cred()
    ctx = gss.InitiatorContext(cred)
    token = ctx.initial_token()
    assert token[0] == 0x60
    acc = Acceptor(cred)
    acc.accept(token)
    assert acc.ap_options == 1 << 29  # bit 2: mutual-required
    cksum = acc.auth["cksum"]
    assert int(cksum["cksumtype"]) == 0x8003
    lgth, bnd, flags = struct.unpack("<I16sI", bytes(cksum["checksum"]))
    assert (lgth, bnd) == (16, bytes(16))
    assert flags & gss.GSS_C_MUTUAL_FLAG and flags & gss.GSS_C_INTEG_FLAG
    assert acc.initiator_subkey.etype == cred.key.etype
    assert asn1.principal_components(acc.auth["cname"]) == ("alice",)


@pytest.mark.parametrize("etype", [crypto.AES256_CTS_HMAC_SHA1_96, crypto.AES128_CTS_HMAC_SHA1_96,
                                   crypto.RC4_HMAC])
def test_mutual_authentication_and_session_key(etype):
    cred = make_cred(etype)
    ctx = gss.InitiatorContext(cred)
    acc = Acceptor(cred)
    ctx.step(acc.accept(ctx.initial_token()))
    assert ctx.complete
    assert ctx.session_key == acc.subkey  # [MS-KILE] 3.1.1.2: the acceptor subkey wins


def test_session_key_without_acceptor_subkey_is_the_initiator_subkey():
    cred = make_cred()
    ctx = gss.InitiatorContext(cred)
    acc = Acceptor(cred, subkey=False)
    ctx.step(acc.accept(ctx.initial_token()))
    assert ctx.session_key == acc.initiator_subkey != cred.key


def test_forged_ap_rep_is_refused():
    cred = make_cred()
    ctx = gss.InitiatorContext(cred)
    forger = Acceptor(cred, reply_key=crypto.get_etype(cred.key.etype).random_key())
    with pytest.raises(ProtocolError, match="mutual authentication failed"):
        ctx.step(forger.accept(ctx.initial_token()))
    ctx = gss.InitiatorContext(cred)
    with pytest.raises(ProtocolError, match="echo"):
        ctx.step(Acceptor(cred, echo_time=False).accept(ctx.initial_token()))


def test_krb_error_token_raises_with_its_code():
    err = asn1.build(asn1.KRBError(), {
        "pvno": 5, "msg-type": asn1.KRB_ERROR, "stime": "20300101000000Z", "susec": 0,
        "error-code": 37, "realm": "EXAMPLE.ORG", "sname": asn1.principal(2, ["cifs", "fs1"])})
    ctx = gss.InitiatorContext(make_cred())
    ctx.initial_token()
    with pytest.raises(KerberosError, match="clock skew") as e:
        ctx.step(gss.frame(gss.TOK_ERROR, asn1.encode(err)))
    assert e.value.code == 37


def test_cfx_mic_tokens():
    cred = make_cred()
    ctx = gss.InitiatorContext(cred)
    acc = Acceptor(cred)
    ctx.step(acc.accept(ctx.initial_token()))
    msg = sb.encode_mech_type_list([gss.KRB5_OID])
    assert ctx.verify_mic(msg, acc.mic(msg))
    assert not ctx.verify_mic(msg + b"x", acc.mic(msg))
    bad = bytearray(acc.mic(msg))
    bad[-1] ^= 1
    assert not ctx.verify_mic(msg, bytes(bad))
    mine = ctx.get_mic(msg)  # initiator token: key usage 25, AcceptorSubkey flag, our sequence number
    assert mine[:2] == b"\x04\x04" and mine[2] == 0x04
    header = mine[:16]
    assert acc.subkey.checksum(gss.KG_USAGE_INITIATOR_SIGN, msg + header) == mine[16:]


def test_mic_flagging_an_acceptor_subkey_the_server_never_sent_is_refused():
    cred = make_cred()
    ctx = gss.InitiatorContext(cred)
    acc = Acceptor(cred, subkey=False)
    ctx.step(acc.accept(ctx.initial_token()))
    assert ctx.acceptor_subkey is None
    # SentByAcceptor | AcceptorSubkey (RFC 4121 4.2.2) with no subkey in the AP-REP
    header = gss.TOK_MIC_CFX + bytes([0x05]) + b"\xff" * 5 + struct.pack(">Q", acc.seq)
    with pytest.raises(ProtocolError, match="acceptor subkey"):
        ctx.verify_mic(b"message", header + bytes(12))


# --- SPNEGO -------------------------------------------------------------------------------------

def spnego_reply(state, token=None, mic=None, mech=gss.KRB5_OID):
    return sb.encode_neg_token_resp(neg_state=state, supported_mech=mech, response_token=token, mech_list_mic=mic)


def kerberos_auth(cred, **kw):
    return KerberosSPNEGOAuthenticator(lambda: cred, clock=__import__("time").time, **kw)


def test_spnego_one_round_trip_with_acceptor_mic():
    cred = make_cred()
    auth = kerberos_auth(cred)
    init = sb.decode_neg_token_init(auth.initial_token(None))
    assert init["mechTypes"] == [gss.KRB5_OID]
    acc = Acceptor(cred)
    ap_rep = acc.accept(init["mechToken"])
    auth.finish(spnego_reply(0, ap_rep, acc.mic(sb.encode_mech_type_list([gss.KRB5_OID]))))
    assert auth.completed and auth.mic_verified
    assert auth.session_key == acc.subkey.contents and not auth.is_anonymous


def test_spnego_request_mic_leg():
    cred = make_cred()
    auth = kerberos_auth(cred)
    acc = Acceptor(cred)
    ap_rep = acc.accept(sb.decode_neg_token_init(auth.initial_token(None))["mechToken"])
    out = sb.decode_neg_token_resp(auth.respond(spnego_reply(3, ap_rep)))
    assert out["mechListMIC"][:2] == b"\x04\x04" and auth.mic_sent
    auth.finish(spnego_reply(0))
    assert auth.completed


def test_spnego_refuses_missing_ap_rep_and_bad_mic():
    cred = make_cred()
    auth = kerberos_auth(cred)
    auth.initial_token(None)
    with pytest.raises(ProtocolError, match="no AP-REP"):
        auth.finish(spnego_reply(0))
    auth = kerberos_auth(cred)
    acc = Acceptor(cred)
    ap_rep = acc.accept(sb.decode_neg_token_init(auth.initial_token(None))["mechToken"])
    with pytest.raises(ProtocolError, match="mechListMIC"):
        auth.finish(spnego_reply(0, ap_rep, acc.mic(b"another mech list")))
    with pytest.raises(ProtocolError, match="not Kerberos"):
        kerberos_auth(cred).finish(spnego_reply(0, ap_rep, mech=sb.NTLMSSP_OID))


def _ntlm():
    from smb import ntlm

    return ntlm.NTLMAuthenticator("u", "p", "D", "C")


def _unreachable():
    raise KDCUnreachable("no KDC reachable for realm EXAMPLE.ORG: tried udp/127.0.0.1:1 (refused)")


def _wrong_password():
    raise KerberosError("wrong password", 24)


def test_ntlm_fallback_only_when_asked_and_only_for_missing_tickets():
    auth = KerberosSPNEGOAuthenticator(_unreachable, clock=lambda: 0, ntlm_factory=_ntlm)
    init = sb.decode_neg_token_init(auth.initial_token(None))
    assert init["mechTypes"] == [sb.NTLMSSP_OID] and init["mechToken"].startswith(b"NTLMSSP\0")
    assert "no KDC reachable" in auth.fallback_reason
    with pytest.raises(KDCUnreachable):
        KerberosSPNEGOAuthenticator(_unreachable, clock=lambda: 0).initial_token(None)
    with pytest.raises(KerberosError, match="wrong password"):  # not hidden behind NTLM
        KerberosSPNEGOAuthenticator(_wrong_password, clock=lambda: 0, ntlm_factory=_ntlm).initial_token(None)


def test_server_without_kerberos():
    hint = sb.encode_neg_token_init([sb.NTLMSSP_OID])
    with pytest.raises(UnsupportedFeature, match="does not offer Kerberos"):
        kerberos_auth(make_cred()).initial_token(hint)
    auth = kerberos_auth(make_cred(), ntlm_factory=_ntlm)
    assert sb.decode_neg_token_init(auth.initial_token(hint))["mechTypes"] == [sb.NTLMSSP_OID]
