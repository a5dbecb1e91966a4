"""The AS and TGS exchanges of RFC 4120 (sections 3.1 and 3.3).

AS exchange (3.1, 5.4.1-5.4.2): an AS-REQ for ``krbtgt/REALM`` without pre-authentication;
on KDC_ERR_PREAUTH_REQUIRED the PA-ETYPE-INFO2 (5.2.7.5) or PA-ETYPE-INFO (5.2.7.4) of the
error's METHOD-DATA gives the encryption type, salt and string-to-key parameters, and the
request is sent again with PA-ENC-TIMESTAMP (5.2.7.2, key usage 1). The reply's enc-part
(key usage 3) must decrypt with the client's key and carry the request's nonce (3.1.5).
A PA-PAC-REQUEST ([MS-KILE] 2.2.3) asks for the PAC Windows services expect.

TGS exchange (3.3, 5.4.1): the TGT goes in a PA-TGS-REQ AP-REQ whose authenticator (key usage 7)
holds a keyed checksum of the KDC-REQ-BODY (key usage 6); the reply's enc-part decrypts with
the TGT session key (key usage 8). ``canonicalize`` is set; a referral (a ``krbtgt/OTHER``
ticket, draft-ietf-krb-wg-kerberos-referrals and [MS-KILE] 3.3.5.7.5) is followed to the
other realm's KDC, at most :data:`MAX_REFERRALS` times.

KRB-ERROR replies (5.9.1) become :class:`smb.kerberos.errors.KerberosError` with the code's
meaning in words; a clock skew error also gives the offset seen.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterable, Mapping, Optional

from smb.kerberos import asn1
from smb.kerberos import crypto
from smb.kerberos.creds import NT_PRINCIPAL, NT_SRV_INST, Credential, Principal
from smb.kerberos.errors import (KDC_ERR_ETYPE_NOSUPP, KDC_ERR_PREAUTH_FAILED, KDC_ERR_PREAUTH_REQUIRED,
                                 KRB_AP_ERR_BAD_INTEGRITY, KRB_AP_ERR_SKEW, KerberosError)
from smb.kerberos.kdc import KDCClient

MAX_REFERRALS = 5
TICKET_LIFETIME = 10 * 3600
# KDCOptions bits (RFC 4120 5.4.1)
OPT_FORWARDABLE, OPT_RENEWABLE, OPT_CANONICALIZE, OPT_RENEWABLE_OK = 1, 8, 15, 27

Clock = Callable[[], float]


def _nonce() -> int:
    return int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF


def _request_body(client: Optional[Principal], server: Principal, realm: str, nonce: int,
                  etypes: Iterable[int], now: float, options=(OPT_FORWARDABLE, OPT_RENEWABLE)) -> dict:
    body = {
        "kdc-options": asn1.flags(OPT_CANONICALIZE, *options),
        "realm": realm,
        "sname": asn1.principal(server.name_type, server.components),
        "till": asn1.kerberos_time(now + TICKET_LIFETIME),
        "rtime": asn1.kerberos_time(now + 7 * 86400),
        "nonce": nonce,
        "etype": list(etypes),
    }
    if client is not None:
        body["cname"] = asn1.principal(client.name_type, client.components)
    return body


def raise_krb_error(data: bytes, what: str, clock: Clock = time.time) -> None:
    """Raise the KerberosError a KRB-ERROR message stands for."""
    err = asn1.decode(data, asn1.KRBError(), "KRB-ERROR")
    code = int(err["error-code"])
    e_text = asn1.text(asn1.opt(err, "e-text")) or ""
    exc = KerberosError.from_code(code, what, e_text)
    if code == KRB_AP_ERR_SKEW:
        offset = asn1.from_kerberos_time(err["stime"]) - clock()
        exc = KerberosError("%s (the other side's clock is %+d s from this client's)" % (exc, offset), code)
    raise exc


def _reply(data: bytes, expected: int, what: str, clock: Clock):
    mtype = asn1.message_type(data)
    if mtype == asn1.KRB_ERROR:
        raise_krb_error(data, what, clock)
    if mtype != expected:
        raise KerberosError("%s: unexpected Kerberos message type %d from the KDC" % (what, mtype))
    return asn1.decode(data, asn1.ASRep() if expected == asn1.AS_REP else asn1.TGSRep(), what)


def _decrypt_enc_part(rep, key: crypto.Key, usage: int, what: str, wrong_key_message: str):
    enc = rep["enc-part"]
    if int(enc["etype"]) != key.etype:
        raise KerberosError("%s: reply encrypted with etype %d, the key is etype %d"
                            % (what, int(enc["etype"]), key.etype))
    try:
        plain = key.decrypt(usage, bytes(enc["cipher"]))
    except KerberosError as e:
        if e.code == KRB_AP_ERR_BAD_INTEGRITY:
            raise KerberosError("%s: %s" % (what, wrong_key_message), KDC_ERR_PREAUTH_FAILED) from None
        raise
    # Windows KDCs may tag the AS reply's part as EncTGSRepPart ([APPLICATION 26]): accept both
    spec = asn1.EncASRepPart() if asn1.message_type(plain) == 25 else asn1.EncTGSRepPart()
    return asn1.decode(plain, spec, "%s encrypted part" % what)


def _credential(rep, part, nonce: int, what: str) -> Credential:
    if int(part["nonce"]) != nonce:
        raise KerberosError("%s: the reply's nonce does not match the request (replay?)" % what)
    key = crypto.Key(int(part["key"]["keytype"]), bytes(part["key"]["keyvalue"]))
    crypto.get_etype(key.etype)
    cname = rep["cname"]
    sname = part["sname"]

    def when(name):
        v = asn1.opt(part, name)
        return asn1.from_kerberos_time(v) if v is not None else 0

    return Credential(
        client=Principal(asn1.principal_components(cname), asn1.text(rep["crealm"]), int(cname["name-type"])),
        server=Principal(asn1.principal_components(sname), asn1.text(part["srealm"]), int(sname["name-type"])),
        key=key, ticket=asn1.encode(asn1.build(asn1.Ticket(), rep["ticket"])),
        authtime=when("authtime"), starttime=when("starttime"), endtime=when("endtime"),
        renew_till=when("renew-till"), flags=asn1.flags_to_int(part["flags"]))


# --- AS exchange -------------------------------------------------------------------------------

class _KeySource:
    """The client's long-term key per etype: from a password (string-to-key with the KDC's
    salt) or from a keytab (a dict etype -> Key)."""

    def __init__(self, client: Principal, password: Optional[str], keys: Optional[Mapping[int, crypto.Key]]):
        self.client = client
        self.password = password
        self.keys = dict(keys or {})

    def etypes(self, wanted: Iterable[int]):
        if self.password is not None:
            return [e for e in wanted if crypto.is_supported(e)]
        return [e for e in wanted if e in self.keys]

    def default_salt(self) -> bytes:
        return (self.client.realm + "".join(self.client.components)).encode("utf-8")

    def key(self, etype: int, salt: Optional[bytes], params: Optional[bytes]) -> crypto.Key:
        if self.password is None:
            return self.keys[etype]
        return crypto.string_to_key(etype, self.password, self.default_salt() if salt is None else salt, params)


def _etype_info(method_data: bytes, offered) -> Optional[tuple]:
    """(etype, salt, s2kparams) of the first offered etype in ETYPE-INFO2 / ETYPE-INFO."""
    pas = asn1.decode(method_data, asn1.MethodData(), "METHOD-DATA")
    for pa in pas:
        ptype, value = int(pa["padata-type"]), bytes(pa["padata-value"])
        if ptype == asn1.PA_ETYPE_INFO2:
            entries = [(int(e["etype"]), _salt(asn1.opt(e, "salt")), _bytes(asn1.opt(e, "s2kparams")))
                       for e in asn1.decode(value, asn1.EtypeInfo2(), "ETYPE-INFO2")]
        elif ptype == asn1.PA_ETYPE_INFO:
            entries = [(int(e["etype"]), _bytes(asn1.opt(e, "salt")), None)
                       for e in asn1.decode(value, asn1.EtypeInfo(), "ETYPE-INFO")]
        else:
            continue
        for etype, salt, params in entries:
            if etype in offered:
                return etype, salt, params
    return None


def _salt(v):
    return None if v is None else bytes(v.asOctets())


def _bytes(v):
    return None if v is None else bytes(v)


def _as_request(client: Principal, etypes, nonce: int, now: float, padata=()) -> bytes:
    tgs = Principal(("krbtgt", client.realm), client.realm, NT_SRV_INST)
    pac = asn1.encode(asn1.build(asn1.PAPacRequest(), {"include-pac": True}))
    pas = list(padata) + [{"padata-type": asn1.PA_PAC_REQUEST, "padata-value": pac}]
    return asn1.encode(asn1.build(asn1.ASReq(), {
        "pvno": 5, "msg-type": asn1.AS_REQ, "padata": pas,
        "req-body": _request_body(client, tgs, client.realm, nonce, etypes, now)}))


def get_tgt(client: Principal, kdc: KDCClient, deadline: float, *, password: Optional[str] = None,
            keys: Optional[Mapping[int, crypto.Key]] = None, etypes=crypto.DEFAULT_ETYPES,
            clock: Clock = time.time) -> Credential:
    """The AS exchange: a TGT for ``client`` with a password or keytab keys."""
    what = "getting a ticket-granting ticket for %s" % client
    source = _KeySource(client, password, keys)
    offered = source.etypes(etypes)
    if not offered:
        raise KerberosError("%s: no key for any supported encryption type (the keytab has etypes %s)"
                            % (what, sorted(source.keys)), KDC_ERR_ETYPE_NOSUPP)
    nonce = _nonce()
    reply = kdc.send(_as_request(client, offered, nonce, clock()), deadline)
    info = None
    if asn1.message_type(reply) == asn1.KRB_ERROR:
        err = asn1.decode(reply, asn1.KRBError(), "KRB-ERROR")
        if int(err["error-code"]) != KDC_ERR_PREAUTH_REQUIRED:
            raise_krb_error(reply, what, clock)
        e_data = asn1.opt(err, "e-data")
        info = _etype_info(bytes(e_data), offered) if e_data is not None else None
        etype, salt, params = info if info else (offered[0], None, None)
        key = source.key(etype, salt, params)
        now = clock()
        ts = asn1.encode(asn1.build(asn1.PAEncTsEnc(), {
            "patimestamp": asn1.kerberos_time(now), "pausec": int((now % 1) * 1e6)}))
        pa_ts = asn1.encode(asn1.build(asn1.EncryptedData(), asn1.encrypted_data(
            etype, key.encrypt(asn1.KU_PA_ENC_TS, ts))))
        nonce = _nonce()
        reply = kdc.send(_as_request(client, offered, nonce, now,
                                     [{"padata-type": asn1.PA_ENC_TIMESTAMP, "padata-value": pa_ts}]), deadline)
    rep = _reply(reply, asn1.AS_REP, what, clock)
    etype = int(rep["enc-part"]["etype"])
    if etype not in offered:
        raise KerberosError("%s: the KDC answered with etype %d, which was not offered" % (what, etype))
    padata = asn1.opt(rep, "padata")
    rep_info = _etype_info(asn1.encode(asn1.build(asn1.MethodData(), padata)), [etype]) if padata else None
    if rep_info is not None:
        info = rep_info
    salt, params = (info[1], info[2]) if info and info[0] == etype else (None, None)
    key = source.key(etype, salt, params)
    part = _decrypt_enc_part(rep, key, asn1.KU_AS_REP_ENC, what,
                             "wrong password or key (the KDC's reply does not decrypt)")
    return _credential(rep, part, nonce, what)


# --- TGS exchange ------------------------------------------------------------------------------

def _tgs_request(tgt: Credential, server: Principal, realm: str, nonce: int, etypes, clock: Clock) -> bytes:
    now = clock()
    # ask only for what the TGT allows (TicketFlags bits 1 forwardable, 8 renewable): a KDC
    # answers KDC_ERR_BADOPTION otherwise
    options = [o for o in (OPT_FORWARDABLE, OPT_RENEWABLE) if tgt.flags >> (31 - o) & 1]
    body = asn1.build(asn1.KDCReqBody(), _request_body(None, server, realm, nonce, etypes, now, options))
    cksum = tgt.key.checksum(asn1.KU_TGS_REQ_AUTH_CKSUM, asn1.encode(body))
    auth = asn1.build(asn1.Authenticator(), {
        "authenticator-vno": 5, "crealm": tgt.client.realm,
        "cname": asn1.principal(tgt.client.name_type, tgt.client.components),
        "cksum": {"cksumtype": tgt.key.profile.checksum_type, "checksum": cksum},
        "cusec": int((now % 1) * 1e6), "ctime": asn1.kerberos_time(now)})
    ap_req = asn1.build(asn1.APReq(), {
        "pvno": 5, "msg-type": asn1.AP_REQ, "ap-options": asn1.flags(),
        "ticket": asn1.decode(tgt.ticket, asn1.Ticket(), "ticket"),
        "authenticator": asn1.encrypted_data(tgt.key.etype, tgt.key.encrypt(asn1.KU_TGS_REQ_AUTH, asn1.encode(auth)))})
    return asn1.encode(asn1.build(asn1.TGSReq(), {
        "pvno": 5, "msg-type": asn1.TGS_REQ,
        "padata": [{"padata-type": asn1.PA_TGS_REQ, "padata-value": asn1.encode(ap_req)}],
        "req-body": body}))


def get_service_ticket(tgt: Credential, server: Principal, kdc_for: Callable[[str], KDCClient], deadline: float,
                       *, etypes=crypto.DEFAULT_ETYPES, clock: Clock = time.time) -> Credential:
    """The TGS exchange for ``server`` with ``tgt``, following referrals; ``kdc_for(realm)``
    gives the KDCs of a realm."""
    what = "getting a service ticket for %s" % server
    etypes = [e for e in etypes if crypto.is_supported(e)]
    seen = set()
    for _hop in range(MAX_REFERRALS + 1):
        realm = tgt.server.components[1] if tgt.server.is_tgs else tgt.server.realm
        if realm.upper() in seen:
            raise KerberosError("%s: referral loop through realm %s" % (what, realm))
        seen.add(realm.upper())
        nonce = _nonce()
        reply = kdc_for(realm).send(_tgs_request(tgt, server, realm, nonce, etypes, clock), deadline)
        rep = _reply(reply, asn1.TGS_REP, what, clock)
        part = _decrypt_enc_part(rep, tgt.key, asn1.KU_TGS_REP_ENC_SESSION, what,
                                 "the KDC's reply does not decrypt with the TGT session key")
        cred = _credential(rep, part, nonce, what)
        if cred.server.is_tgs and not server.is_tgs and cred.server.components[1].upper() != realm.upper():
            tgt = cred  # a referral TGT for another realm
            continue
        cred.server = Principal(cred.server.components, cred.server.realm, cred.server.name_type or NT_PRINCIPAL)
        return cred
    raise KerberosError("%s: more than %d referrals" % (what, MAX_REFERRALS))
