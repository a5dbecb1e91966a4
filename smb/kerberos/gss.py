"""The Kerberos V5 GSS-API mechanism, initiator side.

* RFC 1964 1.1 / RFC 2743 3.1: tokens framed as ``[APPLICATION 0] { mech OID, TOK_ID, body }``
  with TOK_ID 01 00 (AP-REQ), 02 00 (AP-REP), 03 00 (KRB-ERROR).
* RFC 4121 4.1.1: the authenticator checksum of type 0x8003 (Lgth = 16, Bnd = 16 zero bytes:
  no channel bindings, Flags); RFC 4121 4.2 / 4.1: a random initiator subkey and sequence
  number in the authenticator, mutual authentication (ap-options mutual-required, RFC 4120
  5.5.1), the AP-REP's EncAPRepPart (key usage 12) checked against the authenticator's
  ctime/cusec (RFC 4120 3.2.5) and its subkey taken as the acceptor subkey.
* RFC 4121 4.2.6.1: MIC tokens (TOK_ID 04 04, key usage 25 for the initiator's, 23 for the
  acceptor's, AcceptorSubkey flag) for the SPNEGO mechListMIC; RFC 4757 7.2 the rc4-hmac MIC
  (TOK_ID 01 01, SGN_ALG HMAC-MD5, encrypted sequence number).
* [MS-KILE] 3.1.1.2: the context's session key -- what SMB derives its keys from -- is the
  acceptor subkey if the AP-REP has one, else the initiator subkey, else the ticket's key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import time
from typing import Callable, Optional

from Crypto.Cipher import ARC4
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import univ

from smb.kerberos import asn1, crypto
from smb.kerberos.creds import Credential
from smb.errors import ProtocolError
from smb.kerberos.errors import KerberosError

KRB5_OID = "1.2.840.113554.1.2.2"
TOK_AP_REQ, TOK_AP_REP, TOK_ERROR = b"\x01\x00", b"\x02\x00", b"\x03\x00"
TOK_MIC_CFX, TOK_MIC_RC4 = b"\x04\x04", b"\x01\x01"
GSS_C_DELEG_FLAG, GSS_C_MUTUAL_FLAG, GSS_C_REPLAY_FLAG, GSS_C_SEQUENCE_FLAG = 1, 2, 4, 8
GSS_C_CONF_FLAG, GSS_C_INTEG_FLAG = 16, 32
CKSUM_GSSAPI = 0x8003
AP_OPT_MUTUAL_REQUIRED = 2
KG_USAGE_ACCEPTOR_SIGN, KG_USAGE_INITIATOR_SIGN = 23, 25
_FLAG_SENT_BY_ACCEPTOR, _FLAG_ACCEPTOR_SUBKEY = 0x01, 0x04
_RC4_SIGN_USAGE = 15


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def frame(tok_id: bytes, body: bytes) -> bytes:
    """RFC 2743 3.1 InitialContextToken framing around TOK_ID + body."""
    inner = der_encoder.encode(univ.ObjectIdentifier(KRB5_OID)) + tok_id + body
    return b"\x60" + _der_length(len(inner)) + inner


def unframe(token: bytes):
    """(TOK_ID, body) of a framed Kerberos token; an unframed one is returned as-is with
    TOK_ID None (some acceptors send a bare AP-REP / KRB-ERROR)."""
    token = bytes(token)
    if not token or token[0] != 0x60:
        return None, token
    i = 2
    if token[1] & 0x80:
        i = 2 + (token[1] & 0x7F)
    if i > len(token):
        raise KerberosError("truncated GSS-API token")
    try:
        oid, rest = der_decoder.decode(token[i:], asn1Spec=univ.ObjectIdentifier())
    except Exception:
        raise KerberosError("malformed GSS-API token (no mechanism OID)") from None
    if str(oid) != KRB5_OID:
        raise KerberosError("GSS-API token for mechanism %s, not Kerberos 5" % oid)
    if len(rest) < 2:
        raise KerberosError("truncated GSS-API token")
    return bytes(rest[:2]), bytes(rest[2:])


class InitiatorContext:
    """One security context established with a service ticket.

    ``initial_token()`` gives the framed AP-REQ; ``step(token)`` checks the acceptor's AP-REP
    (or raises for a KRB-ERROR); then ``session_key``, ``get_mic`` and ``verify_mic`` work.
    """

    def __init__(self, cred: Credential, *, mutual: bool = True, clock: Callable[[], float] = time.time):
        self.cred = cred
        self.mutual = mutual
        self.clock = clock
        self.flags = GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG
        if mutual:
            self.flags |= GSS_C_MUTUAL_FLAG
        self.subkey = cred.key.profile.random_key()
        self.acceptor_subkey: Optional[crypto.Key] = None
        self.send_seq = int.from_bytes(os.urandom(4), "big") & 0x3FFFFFFF
        self.recv_seq: Optional[int] = None
        self.complete = False
        self._ctime: Optional[tuple[str, int]] = None

    # --- context establishment ------------------------------------------------------------
    def initial_token(self) -> bytes:
        now = self.clock()
        ctime, cusec = asn1.kerberos_time(now), int((now % 1) * 1e6)
        self._ctime = (ctime, cusec)
        cksum = struct.pack("<I", 16) + bytes(16) + struct.pack("<I", self.flags)
        auth = asn1.build(asn1.Authenticator(), {
            "authenticator-vno": 5, "crealm": self.cred.client.realm,
            "cname": asn1.principal(self.cred.client.name_type, self.cred.client.components),
            "cksum": {"cksumtype": CKSUM_GSSAPI, "checksum": cksum},
            "cusec": cusec, "ctime": ctime,
            "subkey": {"keytype": self.subkey.etype, "keyvalue": self.subkey.contents},
            "seq-number": self.send_seq})
        key = self.cred.key
        ap_req = asn1.build(asn1.APReq(), {
            "pvno": 5, "msg-type": asn1.AP_REQ,
            "ap-options": asn1.flags(AP_OPT_MUTUAL_REQUIRED) if self.mutual else asn1.flags(),
            "ticket": asn1.decode(self.cred.ticket, asn1.Ticket(), "ticket"),
            "authenticator": asn1.encrypted_data(key.etype, key.encrypt(asn1.KU_AP_REQ_AUTH, asn1.encode(auth)))})
        if not self.mutual:
            self.complete = True
        return frame(TOK_AP_REQ, asn1.encode(ap_req))

    def step(self, token: bytes) -> None:
        """Process the acceptor's reply: an AP-REP completes the context; a KRB-ERROR raises
        KerberosError; an AP-REP that does not verify raises ProtocolError."""
        from smb.kerberos.exchange import raise_krb_error

        tok_id, body = unframe(token)
        if tok_id == TOK_ERROR or (tok_id is None and body[:1] == b"\x7e"):
            raise_krb_error(body, "the server refused the Kerberos ticket", self.clock)
        if tok_id not in (TOK_AP_REP, None):
            raise KerberosError("unexpected GSS-API token id %s from the server" % tok_id.hex())
        rep = asn1.decode(body, asn1.APRep(), "AP-REP")
        enc = rep["enc-part"]
        key = self.cred.key
        if int(enc["etype"]) != key.etype:
            raise KerberosError("AP-REP encrypted with etype %d, the session key is etype %d"
                                % (int(enc["etype"]), key.etype))
        try:
            plain = key.decrypt(asn1.KU_AP_REP_ENC, bytes(enc["cipher"]))
        except KerberosError:
            raise ProtocolError("Kerberos mutual authentication failed: the server's AP-REP does not "
                                "decrypt with the session key (not the server the ticket is for)") from None
        part = asn1.decode(plain, asn1.EncAPRepPart(), "EncAPRepPart")
        if self._ctime is None or (str(part["ctime"]), int(part["cusec"])) != self._ctime:
            raise ProtocolError("Kerberos mutual authentication failed: the AP-REP does not echo the "
                                "authenticator's time")
        sub = asn1.opt(part, "subkey")
        if sub is not None:
            self.acceptor_subkey = crypto.Key(int(sub["keytype"]), bytes(sub["keyvalue"]))
            crypto.get_etype(self.acceptor_subkey.etype)
        seq = asn1.opt(part, "seq-number")
        self.recv_seq = int(seq) if seq is not None else None
        self.complete = True

    @property
    def session_key(self) -> crypto.Key:
        """[MS-KILE] 3.1.1.2: acceptor subkey, else initiator subkey, else ticket session key."""
        return self.acceptor_subkey or self.subkey or self.cred.key

    @property
    def is_cfx(self) -> bool:
        return self.session_key.etype != crypto.RC4_HMAC

    # --- per-message tokens --------------------------------------------------------------
    def get_mic(self, message: bytes) -> bytes:
        seq = self.send_seq
        self.send_seq = (self.send_seq + 1) & 0xFFFFFFFF
        if self.is_cfx:
            return self._cfx_mic(message, seq, KG_USAGE_INITIATOR_SIGN, 0)
        return self._rc4_mic(message, seq, initiator=True)

    def verify_mic(self, message: bytes, token: bytes) -> bool:
        token = bytes(token)
        if self.recv_seq is None:
            return False
        if self.is_cfx:
            if len(token) < 16 or token[:2] != TOK_MIC_CFX or not token[2] & _FLAG_SENT_BY_ACCEPTOR:
                return False
            seq = struct.unpack(">Q", token[8:16])[0]
            return hmac.compare_digest(
                self._cfx_mic(message, seq, KG_USAGE_ACCEPTOR_SIGN, token[2]), token)
        if len(token) != 32 or token[:2] != TOK_MIC_RC4:
            return False
        return hmac.compare_digest(self._rc4_mic(message, self.recv_seq, initiator=False), token)

    def _cfx_mic(self, message: bytes, seq: int, usage: int, flags: int) -> bytes:
        """RFC 4121 4.2.6.1: header || checksum(message || header)."""
        if self.acceptor_subkey is not None:
            flags |= _FLAG_ACCEPTOR_SUBKEY
        key = self.acceptor_subkey if flags & _FLAG_ACCEPTOR_SUBKEY else (self.subkey or self.cred.key)
        if key is None:  # the server's token claims an acceptor subkey its AP-REP never carried
            raise ProtocolError("Kerberos MIC token flags an acceptor subkey the server never sent")
        header = TOK_MIC_CFX + bytes([flags]) + b"\xff" * 5 + struct.pack(">Q", seq)
        return header + key.checksum(usage, bytes(message) + header)

    def _rc4_mic(self, message: bytes, seq: int, initiator: bool) -> bytes:
        """RFC 4757 7.2: HMAC-MD5 checksum, sequence number encrypted with RC4."""
        key = self.session_key.contents
        header = TOK_MIC_RC4 + b"\x11\x00" + b"\xff" * 4
        ksign = hmac.new(key, b"signaturekey\x00", "md5").digest()
        inner = hashlib.md5(struct.pack("<I", _RC4_SIGN_USAGE) + header + bytes(message)).digest()
        cksum = hmac.new(ksign, inner, "md5").digest()[:8]
        kseq = hmac.new(hmac.new(key, bytes(4), "md5").digest(), cksum, "md5").digest()
        direction = bytes(4) if initiator else b"\xff" * 4
        snd_seq = ARC4.new(kseq).encrypt(struct.pack(">I", seq) + direction)
        return header + snd_seq + cksum
