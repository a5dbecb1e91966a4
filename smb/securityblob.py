"""SPNEGO security blobs for SMB session setup, carrying NTLMSSP.

Implements:

* RFC 4178 section 4.2 (NegotiationToken, NegTokenInit, NegTokenResp, MechTypeList) and
  section 5 (mechListMIC over the DER encoding of the MechTypeList the initiator sent).
* RFC 2743 section 3.1: the InitialContextToken [APPLICATION 0] framing with the SPNEGO
  mechanism OID 1.3.6.1.5.5.2 around the first token.
* [MS-SPNG] 2.2.1 NegTokenInit2 (the server's hint in the SMB NEGOTIATE response: mechTypes
  and negHints) and 3.3.5.1 (the NTLM mechListMIC, as Windows sends it).

The ASN.1 types are defined with pyasn1 and encoded in DER. Malformed tokens raise
:class:`smb.errors.ProtocolError`; a server's reject raises :class:`AuthenticationRejected`.
pysmb's function names and return shapes are kept.
"""

from __future__ import annotations

import functools
from typing import List, Optional

from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import char, namedtype, namedval, tag, univ

from smb.errors import ProtocolError, UnsupportedFeature

SPNEGO_OID = "1.3.6.1.5.5.2"
NTLMSSP_OID = "1.3.6.1.4.1.311.2.2.10"
KRB5_OID = "1.2.840.113554.1.2.2"
MS_KRB5_OID = "1.2.840.48018.1.2.2"
NEGOEX_OID = "1.3.6.1.4.1.311.2.2.30"

# NegTokenResp negState values (RFC 4178 4.2.2); pysmb's names
RESULT_ACCEPT_COMPLETED = 0
RESULT_ACCEPT_INCOMPLETE = 1
RESULT_REJECT = 2
RESULT_REQUEST_MIC = 3


class BadSecurityBlobError(ProtocolError):
    """A malformed SPNEGO token (pysmb's name; a ProtocolError here)."""


class UnsupportedSecurityProvider(ProtocolError, UnsupportedFeature):
    """The server chose a security mechanism other than NTLMSSP (pysmb's name; a
    ProtocolError, as the exchange cannot go on)."""


class AuthenticationRejected(Exception):
    """The server answered the SPNEGO exchange with negState reject."""


# --- ASN.1 types (RFC 4178 4.2, [MS-SPNG] 2.2.1) ---------------------------------------------

def _ctx(n: int, constructed: bool = True) -> tag.Tag:
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed if constructed else tag.tagFormatSimple, n)


class MechTypeList(univ.SequenceOf):
    componentType = univ.ObjectIdentifier()


class ContextFlags(univ.BitString):
    namedValues = namedval.NamedValues(("delegFlag", 0), ("mutualFlag", 1), ("replayFlag", 2),
                                       ("sequenceFlag", 3), ("anonFlag", 4), ("confFlag", 5),
                                       ("integFlag", 6))


class NegTokenInit(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("mechTypes", MechTypeList().subtype(explicitTag=_ctx(0))),
        namedtype.OptionalNamedType("reqFlags", ContextFlags().subtype(explicitTag=_ctx(1))),
        namedtype.OptionalNamedType("mechToken", univ.OctetString().subtype(explicitTag=_ctx(2))),
        namedtype.OptionalNamedType("mechListMIC", univ.OctetString().subtype(explicitTag=_ctx(3))),
    )


class NegHints(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("hintName", char.GeneralString().subtype(explicitTag=_ctx(0))),
        namedtype.OptionalNamedType("hintAddress", univ.OctetString().subtype(explicitTag=_ctx(1))),
    )


class NegTokenInit2(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("mechTypes", MechTypeList().subtype(explicitTag=_ctx(0))),
        namedtype.OptionalNamedType("reqFlags", ContextFlags().subtype(explicitTag=_ctx(1))),
        namedtype.OptionalNamedType("mechToken", univ.OctetString().subtype(explicitTag=_ctx(2))),
        namedtype.OptionalNamedType("negHints", NegHints().subtype(explicitTag=_ctx(3))),
        namedtype.OptionalNamedType("mechListMIC", univ.OctetString().subtype(explicitTag=_ctx(4))),
    )


class NegState(univ.Enumerated):
    namedValues = namedval.NamedValues(("accept-completed", 0), ("accept-incomplete", 1),
                                       ("reject", 2), ("request-mic", 3))


class NegTokenResp(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("negState", NegState().subtype(explicitTag=_ctx(0))),
        namedtype.OptionalNamedType("supportedMech", univ.ObjectIdentifier().subtype(explicitTag=_ctx(1))),
        namedtype.OptionalNamedType("responseToken", univ.OctetString().subtype(explicitTag=_ctx(2))),
        namedtype.OptionalNamedType("mechListMIC", univ.OctetString().subtype(explicitTag=_ctx(3))),
    )


def _negotiation_token(init_type) -> type:
    class NegotiationToken(univ.Choice):
        componentType = namedtype.NamedTypes(
            namedtype.NamedType("negTokenInit", init_type().subtype(explicitTag=_ctx(0))),
            namedtype.NamedType("negTokenResp", NegTokenResp().subtype(explicitTag=_ctx(1))),
        )
    return NegotiationToken


NegotiationToken = _negotiation_token(NegTokenInit)
NegotiationToken2 = _negotiation_token(NegTokenInit2)


def _initial_context_token(token_type) -> type:
    # RFC 2743 3.1: [APPLICATION 0] IMPLICIT SEQUENCE { thisMech MechType, innerContextToken }
    class InitialContextToken(univ.Sequence):
        tagSet = univ.Sequence.tagSet.tagImplicitly(
            tag.Tag(tag.tagClassApplication, tag.tagFormatConstructed, 0))
        componentType = namedtype.NamedTypes(
            namedtype.NamedType("thisMech", univ.ObjectIdentifier()),
            namedtype.NamedType("innerContextToken", token_type()),
        )
    return InitialContextToken


InitialContextToken = _initial_context_token(NegotiationToken)
InitialContextToken2 = _initial_context_token(NegotiationToken2)

# pysmb's names for the same types (RFC 2478 called NegTokenResp "NegTokenTarg")
NegResultEnumerated = NegState
NegTokenTarg = NegTokenResp
ContextToken = InitialContextToken


# --- decoding helpers -------------------------------------------------------------------------

def _ber_decode(data: bytes, spec):
    """``(value, rest)`` as ``ber_decoder.decode`` gives them, through one long-lived
    SingleItemDecoder (pyasn1 >= 0.5) whose Tag/TagSet caches outlive the call: a fresh
    decoder per token (what ``decode`` makes) rebuilds them every time."""
    if _ITEM_DECODER is None:
        return ber_decoder.decode(data, asn1Spec=spec)
    stream = _as_stream(data)
    value = None
    for value in _ITEM_DECODER(stream, asn1Spec=spec):
        if isinstance(value, _Underrun):
            raise _Underrun("SPNEGO token ends inside its encoding")
    return value, stream.read()


try:  # pyasn1 >= 0.5 (the streaming decoder)
    from pyasn1.codec.streaming import asSeekableStream as _as_stream
    from pyasn1.error import SubstrateUnderrunError as _Underrun

    _ITEM_DECODER = ber_decoder.SingleItemDecoder()
except (ImportError, AttributeError):  # pragma: no cover - pyasn1 0.4
    _ITEM_DECODER = None


def _decode(data, spec, what: str):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BadSecurityBlobError("SPNEGO %s: expected bytes, got %s" % (what, type(data).__name__))
    data = bytes(data)
    if not data:
        raise BadSecurityBlobError("SPNEGO %s is empty" % what)
    try:
        value, rest = _ber_decode(data, spec)
    except Exception as e:  # pyasn1 raises PyAsn1Error and, on odd input, others
        raise BadSecurityBlobError("malformed SPNEGO %s: %s" % (what, e), data) from None
    if rest:
        raise BadSecurityBlobError("SPNEGO %s: %d trailing bytes after the token" % (what, len(rest)), data)
    return value


def _opt(seq, name):
    """A component's value if present, else None."""
    comp = seq.getComponentByName(name)
    if comp is None or not comp.isValue:
        return None
    return comp


def _unwrap_initial(data, what: str, spec_cls):
    token = _decode(data, spec_cls(), what)
    mech = str(token["thisMech"])
    if mech != SPNEGO_OID:
        raise ProtocolError("SPNEGO %s: mechanism OID %s is not SPNEGO (%s)" % (what, mech, SPNEGO_OID))
    inner = token["innerContextToken"]
    if inner.getName() != "negTokenInit":
        raise ProtocolError("SPNEGO %s: expected negTokenInit, got %s" % (what, inner.getName()))
    return inner.getComponent()


#: the schema decode_neg_token_resp decodes against (pyasn1 clones it, never changes it)
_NEGOTIATION_TOKEN = NegotiationToken()


def _decode_resp(data, what: str):
    token = _decode(data, _NEGOTIATION_TOKEN, what)
    if token.getName() != "negTokenResp":
        raise ProtocolError("SPNEGO %s: expected negTokenResp, got %s" % (what, token.getName()))
    return token.getComponent()


# --- encoding / decoding of whole tokens --------------------------------------------------------

def encode_mech_type_list(mechs: List[str]) -> bytes:
    """DER of the MechTypeList: what the mechListMIC covers (RFC 4178 5)."""
    return _encode_mech_type_list(tuple(mechs))


@functools.lru_cache(maxsize=32)
def _encode_mech_type_list(mechs) -> bytes:
    value = MechTypeList()
    for i, oid in enumerate(mechs):
        value.setComponentByPosition(i, univ.ObjectIdentifier(oid))
    return der_encoder.encode(value)


def encode_neg_token_init(mech_types: List[str], mech_token: Optional[bytes] = None,
                          mech_list_mic: Optional[bytes] = None) -> bytes:
    """InitialContextToken(SPNEGO, negTokenInit) in DER."""
    token = None if mech_token is None else bytes(mech_token)
    args = (tuple(mech_types), token, None if mech_list_mic is None else bytes(mech_list_mic))
    if mech_list_mic is None and (token is None or token.startswith(b"NTLMSSP\0\x01\0\0\0")):
        # a client sends the same first token (the same NTLM NEGOTIATE, which holds no
        # secret) on every connection: encode it (pyasn1, ~0.25 ms) once
        return _cached_neg_token_init(*args)
    return _encode_neg_token_init(*args)


@functools.lru_cache(maxsize=16)
def _cached_neg_token_init(mech_types, mech_token, mech_list_mic) -> bytes:
    return _encode_neg_token_init(mech_types, mech_token, mech_list_mic)




def _encode_neg_token_init(mech_types, mech_token, mech_list_mic) -> bytes:
    init = NegTokenInit().subtype(explicitTag=_ctx(0))
    mechs = init.setComponentByName("mechTypes").getComponentByName("mechTypes")
    for i, oid in enumerate(mech_types):
        mechs.setComponentByPosition(i, univ.ObjectIdentifier(oid))
    if mech_token is not None:
        init["mechToken"] = mech_token
    if mech_list_mic is not None:
        init["mechListMIC"] = mech_list_mic
    outer = InitialContextToken()
    outer["thisMech"] = univ.ObjectIdentifier(SPNEGO_OID)
    outer["innerContextToken"].setComponentByName("negTokenInit", init)
    return der_encoder.encode(outer)


def decode_neg_token_init(data) -> dict:
    """Decode an InitialContextToken carrying a NegTokenInit (RFC 4178) or a NegTokenInit2
    ([MS-SPNG]); returns a dict with mechTypes (list of dotted OIDs), reqFlags, mechToken,
    mechListMIC and hintName (None when absent)."""
    try:
        init = _unwrap_initial(data, "NegTokenInit", InitialContextToken2)
        is_init2 = True
    except ProtocolError as first:
        try:
            init = _unwrap_initial(data, "NegTokenInit", InitialContextToken)
        except ProtocolError:
            raise first from None
        is_init2 = False
    mechs = _opt(init, "mechTypes")
    out: dict[str, object] = {
        "mechTypes": [str(m) for m in mechs] if mechs is not None else [],
        "reqFlags": None,
        "mechToken": None,
        "mechListMIC": None,
        "hintName": None,
    }
    flags = _opt(init, "reqFlags")
    if flags is not None:
        out["reqFlags"] = tuple(flags)
    for name in ("mechToken", "mechListMIC"):
        v = _opt(init, name)
        if v is not None:
            out[name] = bytes(v)
    if is_init2:
        hints = _opt(init, "negHints")
        if hints is not None:
            hint = _opt(hints, "hintName")
            if hint is not None:
                out["hintName"] = bytes(hint).decode("latin-1")
    return out


def encode_neg_token_resp(neg_state: Optional[int] = None, supported_mech: Optional[str] = None,
                          response_token: Optional[bytes] = None,
                          mech_list_mic: Optional[bytes] = None) -> bytes:
    """NegotiationToken(negTokenResp) in DER (no InitialContextToken framing)."""
    resp = NegTokenResp().subtype(explicitTag=_ctx(1))
    if neg_state is not None:
        resp["negState"] = neg_state
    if supported_mech is not None:
        resp["supportedMech"] = supported_mech
    if response_token is not None:
        resp["responseToken"] = response_token
    if mech_list_mic is not None:
        resp["mechListMIC"] = mech_list_mic
    token = NegotiationToken()
    token.setComponentByName("negTokenResp", resp)
    return der_encoder.encode(token)


def decode_neg_token_resp(data) -> dict:
    """Decode a NegTokenResp: dict with negState (int), supportedMech (dotted OID),
    responseToken and mechListMIC (None when absent)."""
    resp = _decode_resp(data, "NegTokenResp")
    state = _opt(resp, "negState")
    mech = _opt(resp, "supportedMech")
    token = _opt(resp, "responseToken")
    mic = _opt(resp, "mechListMIC")
    return {
        "negState": int(state) if state is not None else None,
        "supportedMech": str(mech) if mech is not None else None,
        "responseToken": bytes(token) if token is not None else None,
        "mechListMIC": bytes(mic) if mic is not None else None,
    }


def parse_negotiate_hint(data) -> List[str]:
    """The mechanism OIDs of the server's NegTokenInit2 (the SMB NEGOTIATE response's
    security buffer). An empty buffer gives an empty list."""
    if data is None or len(data) == 0:
        return []
    return list(_parse_hint(bytes(data)))


@functools.lru_cache(maxsize=32)
def _initial_token(mech_types: tuple, ntlm_negotiate: bytes) -> bytes:
    # the NTLM NEGOTIATE message is the same on every connection: encode it (pyasn1) once
    return encode_neg_token_init(list(mech_types), mech_token=ntlm_negotiate)


@functools.lru_cache(maxsize=32)
def _parse_hint(data: bytes):
    # a server sends the same hint on every connection: decode it (pyasn1, slow) once
    return tuple(decode_neg_token_init(data)["mechTypes"])


# --- pysmb's functions --------------------------------------------------------------------------

def generateNegotiateSecurityBlob(ntlm_data) -> bytes:
    return encode_neg_token_init([NTLMSSP_OID], mech_token=bytes(ntlm_data))


def generateAuthSecurityBlob(ntlm_data) -> bytes:
    return encode_neg_token_resp(response_token=bytes(ntlm_data))


def decodeChallengeSecurityBlob(data):
    """Returns (result, ntlm_token) from the server's first NegTokenResp."""
    resp = decode_neg_token_resp(data)
    if resp["supportedMech"] is not None and resp["supportedMech"] != NTLMSSP_OID:
        raise UnsupportedSecurityProvider("SPNEGO: server selected mechanism %s, not NTLMSSP"
                                          % resp["supportedMech"])
    if resp["responseToken"] is None and resp["negState"] != RESULT_REJECT:
        raise ProtocolError("SPNEGO: the server's NegTokenResp carries no NTLM challenge")
    return resp["negState"], resp["responseToken"]


def decodeAuthResponseSecurityBlob(data):
    """Returns the negState of the server's final NegTokenResp."""
    return decode_neg_token_resp(data)["negState"]


# --- the authenticator used by the engines ------------------------------------------------------

def _server_resp(token, expected_state: int, rejected: str, where: str) -> dict:
    """Decode the server's NegTokenResp; AuthenticationRejected (``rejected``) for negState
    reject, ProtocolError for a negState other than absent or ``expected_state``."""
    resp = decode_neg_token_resp(token)
    state = resp["negState"]
    if state == RESULT_REJECT:
        raise AuthenticationRejected(rejected)
    if state not in (None, expected_state):
        raise ProtocolError("SPNEGO: unexpected negState %d %s" % (state, where))
    return resp


def ntlm_mechanism(anonymous: bool, v2: bool) -> str:
    return "anonymous" if anonymous else ("NTLMv2" if v2 else "NTLMv1")


class SPNEGOAuthenticator:
    """SPNEGO around an :class:`smb.ntlm.NTLMAuthenticator` (NTLMSSP is the only mechanism)."""

    MECH_TYPES: tuple[str, ...] = (NTLMSSP_OID,)

    def __init__(self, ntlm):
        self.ntlm = ntlm
        self.server_mechs: List[str] = []
        self.mic_sent = False
        self.completed = False

    def initial_token(self, server_hint: Optional[bytes] = None) -> bytes:
        """NegTokenInit with mechTypes [NTLMSSP] and the NTLM NEGOTIATE message."""
        self.server_mechs = parse_negotiate_hint(server_hint)
        if self.server_mechs and NTLMSSP_OID not in self.server_mechs:
            raise UnsupportedFeature("the server does not offer NTLMSSP (it offers %s); this client "
                                     "authenticates with NTLM only" % ", ".join(self.server_mechs))
        return _initial_token(tuple(self.MECH_TYPES), self.ntlm.negotiate_message())

    def respond(self, server_token: bytes) -> bytes:
        """Answer the server's NegTokenResp (accept-incomplete + CHALLENGE) with the
        AUTHENTICATE message and, when the NTLM exchange carried a MIC, a mechListMIC."""
        resp = _server_resp(server_token, RESULT_ACCEPT_INCOMPLETE,
                            "the server rejected the SPNEGO negotiation", "in the server's challenge")
        if resp["supportedMech"] is not None and resp["supportedMech"] != NTLMSSP_OID:
            raise UnsupportedSecurityProvider("SPNEGO: server selected mechanism %s, not NTLMSSP"
                                          % resp["supportedMech"])
        if resp["responseToken"] is None:
            raise ProtocolError("SPNEGO: the server's NegTokenResp carries no NTLM challenge")
        auth = self.ntlm.authenticate_message(resp["responseToken"])
        mic = None
        if self.ntlm.mic_sent and self.ntlm.can_sign:
            mic = self.ntlm.sign(encode_mech_type_list(list(self.MECH_TYPES)))
            self.mic_sent = True
        return encode_neg_token_resp(response_token=auth, mech_list_mic=mic)

    def finish(self, server_token: Optional[bytes]) -> None:
        """Check the server's final NegTokenResp (None or empty: nothing to check)."""
        if server_token is None or len(server_token) == 0:
            self.completed = True
            return
        resp = _server_resp(server_token, RESULT_ACCEPT_COMPLETED,
                            "the server rejected the NTLM authentication", "after authentication")
        if resp["mechListMIC"] is not None and self.ntlm.can_sign:
            if not self.ntlm.verify(encode_mech_type_list(list(self.MECH_TYPES)), resp["mechListMIC"]):
                raise ProtocolError("SPNEGO: the server's mechListMIC does not verify")
        self.completed = True

    @property
    def session_key(self) -> bytes:
        return self.ntlm.session_key

    @property
    def key_before_reply(self) -> Optional[bytes]:
        """The session key, already final once the AUTHENTICATE message is made (NTLM
        chooses it): the engine may derive the SMB keys while the server checks the
        message. None before that, and for an anonymous logon (no keys)."""
        return self.ntlm.key_before_reply

    @property
    def is_anonymous(self) -> bool:
        return self.ntlm.is_anonymous

    @property
    def mechanism(self) -> str:
        """What authenticated: "NTLMv2", "NTLMv1" or "anonymous" (for logs and
        :class:`smb.engine.SessionSecurity`)."""
        return ntlm_mechanism(self.ntlm.is_anonymous, self.ntlm.use_ntlm_v2)
