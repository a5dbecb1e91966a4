"""The Kerberos 5 messages of RFC 4120 section 5 as pyasn1 types, with DER helpers.

Section 5.2 (PrincipalName 5.2.2, KerberosTime 5.2.3, EncryptedData/EncryptionKey/Checksum
5.2.9, PA-DATA 5.2.7 with PA-ENC-TS-ENC 5.2.7.2 and ETYPE-INFO2 5.2.7.5), 5.3 (Ticket),
5.4 (KDC-REQ, KDC-REP, EncKDCRepPart), 5.5 (AP-REQ, Authenticator, AP-REP, EncAPRepPart),
5.9.1 (KRB-ERROR) and 5.9.3 (METHOD-DATA). Only what an SMB client needs; the ticket is
kept as opaque DER.
"""

from __future__ import annotations

import datetime
from typing import Any, overload

from pyasn1.codec.der import decoder, encoder
from pyasn1.type import char, namedtype, tag, univ, useful

from smb.kerberos.errors import KerberosError

# message types (RFC 4120 7.5.7)
AS_REQ, AS_REP, TGS_REQ, TGS_REP, AP_REQ, AP_REP, KRB_ERROR = 10, 11, 12, 13, 14, 15, 30
# padata types (7.5.2)
PA_TGS_REQ, PA_ENC_TIMESTAMP, PA_ETYPE_INFO, PA_ETYPE_INFO2, PA_PAC_REQUEST = 1, 2, 11, 19, 128
# principal name types (6.2)
NT_PRINCIPAL, NT_SRV_INST, NT_SRV_HST, NT_ENTERPRISE = 1, 2, 3, 10
# key usages (7.5.1)
KU_PA_ENC_TS, KU_TICKET, KU_AS_REP_ENC, KU_TGS_REQ_AUTH_CKSUM, KU_TGS_REQ_AUTH = 1, 2, 3, 6, 7
KU_TGS_REP_ENC_SESSION, KU_TGS_REP_ENC_SUBKEY, KU_AP_REQ_AUTH, KU_AP_REP_ENC = 8, 9, 11, 12


def _c(n: int) -> tag.Tag:
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, n)


def _app(n: int):
    return tag.Tag(tag.tagClassApplication, tag.tagFormatConstructed, n)


def _f(name: str, typ, n: int, optional: bool = False):
    cls = namedtype.OptionalNamedType if optional else namedtype.NamedType
    return cls(name, typ.subtype(explicitTag=_c(n)))


class KerberosString(char.GeneralString):
    pass


class KerberosTime(useful.GeneralizedTime):
    pass


class Int32(univ.Integer):
    pass


class KerberosFlags(univ.BitString):
    pass


class PrincipalName(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _f("name-type", Int32(), 0),
        _f("name-string", univ.SequenceOf(componentType=KerberosString()), 1))


class EncryptedData(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _f("etype", Int32(), 0), _f("kvno", univ.Integer(), 1, True), _f("cipher", univ.OctetString(), 2))


class EncryptionKey(univ.Sequence):
    componentType = namedtype.NamedTypes(_f("keytype", Int32(), 0), _f("keyvalue", univ.OctetString(), 1))


class Checksum(univ.Sequence):
    componentType = namedtype.NamedTypes(_f("cksumtype", Int32(), 0), _f("checksum", univ.OctetString(), 1))


class PAData(univ.Sequence):
    componentType = namedtype.NamedTypes(_f("padata-type", Int32(), 1), _f("padata-value", univ.OctetString(), 2))


class MethodData(univ.SequenceOf):
    componentType = PAData()


class PAEncTsEnc(univ.Sequence):
    componentType = namedtype.NamedTypes(_f("patimestamp", KerberosTime(), 0),
                                         _f("pausec", univ.Integer(), 1, True))


class EtypeInfo2Entry(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _f("etype", Int32(), 0), _f("salt", KerberosString(), 1, True), _f("s2kparams", univ.OctetString(), 2, True))


class EtypeInfo2(univ.SequenceOf):
    componentType = EtypeInfo2Entry()


class EtypeInfoEntry(univ.Sequence):
    componentType = namedtype.NamedTypes(_f("etype", Int32(), 0), _f("salt", univ.OctetString(), 1, True))


class EtypeInfo(univ.SequenceOf):
    componentType = EtypeInfoEntry()


class PAPacRequest(univ.Sequence):  # [MS-KILE] 2.2.3 KERB-PA-PAC-REQUEST
    componentType = namedtype.NamedTypes(_f("include-pac", univ.Boolean(), 0))


class HostAddresses(univ.SequenceOf):
    componentType = univ.Sequence(componentType=namedtype.NamedTypes(
        _f("addr-type", Int32(), 0), _f("address", univ.OctetString(), 1)))


class AuthorizationData(univ.SequenceOf):
    componentType = univ.Sequence(componentType=namedtype.NamedTypes(
        _f("ad-type", Int32(), 0), _f("ad-data", univ.OctetString(), 1)))


class Ticket(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_app(1))
    componentType = namedtype.NamedTypes(
        _f("tkt-vno", univ.Integer(), 0), _f("realm", KerberosString(), 1), _f("sname", PrincipalName(), 2),
        _f("enc-part", EncryptedData(), 3))


class KDCReqBody(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _f("kdc-options", KerberosFlags(), 0), _f("cname", PrincipalName(), 1, True),
        _f("realm", KerberosString(), 2), _f("sname", PrincipalName(), 3, True),
        _f("from", KerberosTime(), 4, True), _f("till", KerberosTime(), 5), _f("rtime", KerberosTime(), 6, True),
        _f("nonce", univ.Integer(), 7), _f("etype", univ.SequenceOf(componentType=Int32()), 8),
        _f("addresses", HostAddresses(), 9, True), _f("enc-authorization-data", EncryptedData(), 10, True),
        _f("additional-tickets", univ.SequenceOf(componentType=Ticket()), 11, True))


def _kdc_req(app: int):
    class KDCReq(univ.Sequence):
        tagSet = univ.Sequence.tagSet.tagExplicitly(_app(app))
        componentType = namedtype.NamedTypes(
            _f("pvno", univ.Integer(), 1), _f("msg-type", univ.Integer(), 2),
            _f("padata", MethodData(), 3, True), _f("req-body", KDCReqBody(), 4))
    return KDCReq


def _kdc_rep(app: int):
    class KDCRep(univ.Sequence):
        tagSet = univ.Sequence.tagSet.tagExplicitly(_app(app))
        componentType = namedtype.NamedTypes(
            _f("pvno", univ.Integer(), 0), _f("msg-type", univ.Integer(), 1),
            _f("padata", MethodData(), 2, True), _f("crealm", KerberosString(), 3),
            _f("cname", PrincipalName(), 4), _f("ticket", Ticket(), 5), _f("enc-part", EncryptedData(), 6))
    return KDCRep


ASReq, TGSReq = _kdc_req(AS_REQ), _kdc_req(TGS_REQ)
ASRep, TGSRep = _kdc_rep(AS_REP), _kdc_rep(TGS_REP)


class LastReq(univ.SequenceOf):
    componentType = univ.Sequence(componentType=namedtype.NamedTypes(
        _f("lr-type", Int32(), 0), _f("lr-value", KerberosTime(), 1)))


def _enc_kdc_rep_part(app: int):
    class EncKDCRepPart(univ.Sequence):
        tagSet = univ.Sequence.tagSet.tagExplicitly(_app(app))
        componentType = namedtype.NamedTypes(
            _f("key", EncryptionKey(), 0), _f("last-req", LastReq(), 1), _f("nonce", univ.Integer(), 2),
            _f("key-expiration", KerberosTime(), 3, True), _f("flags", KerberosFlags(), 4),
            _f("authtime", KerberosTime(), 5), _f("starttime", KerberosTime(), 6, True),
            _f("endtime", KerberosTime(), 7), _f("renew-till", KerberosTime(), 8, True),
            _f("srealm", KerberosString(), 9), _f("sname", PrincipalName(), 10),
            _f("caddr", HostAddresses(), 11, True), _f("encrypted-pa-data", MethodData(), 12, True))
    return EncKDCRepPart


EncASRepPart, EncTGSRepPart = _enc_kdc_rep_part(25), _enc_kdc_rep_part(26)


class APReq(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_app(AP_REQ))
    componentType = namedtype.NamedTypes(
        _f("pvno", univ.Integer(), 0), _f("msg-type", univ.Integer(), 1), _f("ap-options", KerberosFlags(), 2),
        _f("ticket", Ticket(), 3), _f("authenticator", EncryptedData(), 4))


class Authenticator(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_app(2))
    componentType = namedtype.NamedTypes(
        _f("authenticator-vno", univ.Integer(), 0), _f("crealm", KerberosString(), 1),
        _f("cname", PrincipalName(), 2), _f("cksum", Checksum(), 3, True), _f("cusec", univ.Integer(), 4),
        _f("ctime", KerberosTime(), 5), _f("subkey", EncryptionKey(), 6, True),
        _f("seq-number", univ.Integer(), 7, True), _f("authorization-data", AuthorizationData(), 8, True))


class APRep(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_app(AP_REP))
    componentType = namedtype.NamedTypes(
        _f("pvno", univ.Integer(), 0), _f("msg-type", univ.Integer(), 1), _f("enc-part", EncryptedData(), 2))


class EncAPRepPart(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_app(27))
    componentType = namedtype.NamedTypes(
        _f("ctime", KerberosTime(), 0), _f("cusec", univ.Integer(), 1),
        _f("subkey", EncryptionKey(), 2, True), _f("seq-number", univ.Integer(), 3, True))


class KRBError(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_app(KRB_ERROR))
    componentType = namedtype.NamedTypes(
        _f("pvno", univ.Integer(), 0), _f("msg-type", univ.Integer(), 1), _f("ctime", KerberosTime(), 2, True),
        _f("cusec", univ.Integer(), 3, True), _f("stime", KerberosTime(), 4), _f("susec", univ.Integer(), 5),
        _f("error-code", Int32(), 6), _f("crealm", KerberosString(), 7, True),
        _f("cname", PrincipalName(), 8, True), _f("realm", KerberosString(), 9),
        _f("sname", PrincipalName(), 10), _f("e-text", KerberosString(), 11, True),
        _f("e-data", univ.OctetString(), 12, True))


# --- helpers ------------------------------------------------------------------------------------

def encode(value) -> bytes:
    return encoder.encode(value)


def decode(data, spec, what: str):
    """DER-decode ``data`` as ``spec``; KerberosError (not a pyasn1 exception) when malformed."""
    try:
        value, rest = decoder.decode(bytes(data), asn1Spec=spec)
    except Exception as e:  # pyasn1 raises PyAsn1Error and, on odd input, others
        raise KerberosError("malformed %s: %s" % (what, str(e)[:200])) from None
    if rest:
        raise KerberosError("malformed %s: %d trailing bytes" % (what, len(rest)))
    return value


def message_type(data) -> int:
    """The APPLICATION tag number of a Kerberos message (first byte 0x60 | n for n < 31)."""
    if not data or data[0] & 0xE0 != 0x60:
        raise KerberosError("not a Kerberos message (first byte 0x%02X)" % (data[0] if data else 0))
    return data[0] & 0x1F


def opt(seq, name):
    """A component's value if present, else None."""
    comp = seq.getComponentByName(name)
    return comp if comp is not None and comp.isValue else None


def principal(name_type: int, components) -> dict:
    """A PrincipalName value for :func:`build`."""
    return {"name-type": name_type, "name-string": list(components)}


def principal_components(p) -> tuple:
    return tuple(_text(x) for x in p["name-string"])


def _text(value) -> str:
    return bytes(value.asOctets()).decode("utf-8", "replace")


@overload
def text(value: None) -> None: ...
@overload
def text(value: Any) -> str: ...
def text(value: Any) -> str | None:
    """A KerberosString as str (None stays None)."""
    return None if value is None else _text(value)


def kerberos_time(ts: float) -> str:
    """A KerberosTime string (UTC, whole seconds, 'YYYYmmddHHMMSSZ') for a POSIX time."""
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime("%Y%m%d%H%M%SZ")


def from_kerberos_time(value) -> int:
    """POSIX seconds of a KerberosTime."""
    s = str(value)
    try:
        dt = datetime.datetime.strptime(s[:14], "%Y%m%d%H%M%S").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise KerberosError("malformed KerberosTime %r" % s[:30]) from None
    return int(dt.timestamp())


def flags(*bits: int, size: int = 32) -> tuple:
    """KerberosFlags value (a bit tuple) with the given bit numbers (bit 0 first) set."""
    return tuple(1 if i in bits else 0 for i in range(size))


def flags_to_int(value) -> int:
    """KerberosFlags as the 32-bit integer MIT stores in a ccache (bit 0 = MSB)."""
    bits = list(value)[:32] + [0] * max(0, 32 - len(value))
    out = 0
    for b in bits:
        out = out << 1 | int(b)
    return out


def encrypted_data(etype: int, cipher: bytes, kvno: int | None = None) -> dict:
    """An EncryptedData value for :func:`build`."""
    return {"etype": etype, "kvno": kvno, "cipher": cipher}


def build(spec, value):
    """A value of ``spec`` from nested dicts (SEQUENCE, by field name; None = absent), lists
    (SEQUENCE OF), Python scalars or pyasn1 values of the same type with other tags."""
    if isinstance(spec, univ.SequenceOf):
        out = spec.clone()
        for i, v in enumerate(value):
            out.setComponentByPosition(i, build(spec.componentType, v))
        return out
    if isinstance(spec, univ.Sequence):
        out = spec.clone()
        for nt in spec.componentType.namedTypes:
            if isinstance(value, dict):
                v = value.get(nt.name)
            else:
                v = value.getComponentByName(nt.name)
                v = v if v is not None and v.isValue else None
            if v is not None:
                out.setComponentByName(nt.name, build(nt.asn1Object, v))
        return out
    return spec.clone(value)
