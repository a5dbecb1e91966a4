"""NTLMSSP messages and the client side of the NTLM authentication protocol.

Implements, from [MS-NLMP]:

* 2.2.1.1 NEGOTIATE_MESSAGE, 2.2.1.2 CHALLENGE_MESSAGE (fully parsed, bounds-checked),
  2.2.1.3 AUTHENTICATE_MESSAGE (with Version and MIC).
* 2.2.2.1 AV_PAIR / 2.2.2.2 (MsvAvFlags), 2.2.2.5 NEGOTIATE flags, 2.2.2.10 VERSION.
* 3.1.5.1.1 / 3.1.5.1.2 the client's processing: NTLMv1 (with and without extended
  session security), NTLMv2 with the server's MsvAvTimestamp, the MIC over the three
  messages, key exchange (NTLMSSP_NEGOTIATE_KEY_EXCH), anonymous authentication.

The cryptography lives in :mod:`smb.ntlm_crypto`. pysmb's module-level functions
(``generateNegotiateMessage`` ...) keep their names, signatures and return shapes.
"""

from __future__ import annotations

import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple, Union

from smb import ntlm_crypto as crypto
from smb.errors import ProtocolError
from smb.utils.md4 import MD4  # noqa: F401  (pysmb's ntlm module exposes it)
from smb.utils.rc4 import RC4_encrypt  # noqa: F401

# --- [MS-NLMP] 2.2.2.5 NEGOTIATE flags, with pysmb's names -----------------------------------
NTLM_NegotiateUnicode = 0x00000001
NTLM_NegotiateOEM = 0x00000002
NTLM_RequestTarget = 0x00000004
NTLM_Unknown9 = 0x00000008
NTLM_NegotiateSign = 0x00000010
NTLM_NegotiateSeal = 0x00000020
NTLM_NegotiateDatagram = 0x00000040
NTLM_NegotiateLanManagerKey = 0x00000080
NTLM_Unknown8 = 0x00000100
NTLM_NegotiateNTLM = 0x00000200
NTLM_NegotiateNTOnly = 0x00000400
NTLM_Anonymous = 0x00000800
NTLM_NegotiateOemDomainSupplied = 0x00001000
NTLM_NegotiateOemWorkstationSupplied = 0x00002000
NTLM_Unknown6 = 0x00004000
NTLM_NegotiateAlwaysSign = 0x00008000
NTLM_TargetTypeDomain = 0x00010000
NTLM_TargetTypeServer = 0x00020000
NTLM_TargetTypeShare = 0x00040000
NTLM_NegotiateExtendedSecurity = 0x00080000
NTLM_NegotiateIdentify = 0x00100000
NTLM_Unknown5 = 0x00200000
NTLM_RequestNonNTSessionKey = 0x00400000
NTLM_NegotiateTargetInfo = 0x00800000
NTLM_Unknown4 = 0x01000000
NTLM_NegotiateVersion = 0x02000000
NTLM_Unknown3 = 0x04000000
NTLM_Unknown2 = 0x08000000
NTLM_Unknown1 = 0x10000000
NTLM_Negotiate128 = 0x20000000
NTLM_NegotiateKeyExchange = 0x40000000
NTLM_Negotiate56 = 0x80000000

#: the flags pysmb's NEGOTIATE_MESSAGE carries (this library's are :data:`CLIENT_FLAGS`)
NTLM_FLAGS = (NTLM_NegotiateUnicode | NTLM_RequestTarget | NTLM_NegotiateSign | NTLM_NegotiateNTLM
              | NTLM_NegotiateAlwaysSign | NTLM_NegotiateExtendedSecurity | NTLM_NegotiateTargetInfo
              | NTLM_NegotiateVersion | NTLM_Negotiate128 | NTLM_NegotiateKeyExchange)

# the same, with the names [MS-NLMP] uses
NTLMSSP_NEGOTIATE_UNICODE = NTLM_NegotiateUnicode
NTLMSSP_NEGOTIATE_OEM = NTLM_NegotiateOEM
NTLMSSP_REQUEST_TARGET = NTLM_RequestTarget
NTLMSSP_NEGOTIATE_SIGN = NTLM_NegotiateSign
NTLMSSP_NEGOTIATE_SEAL = NTLM_NegotiateSeal
NTLMSSP_NEGOTIATE_DATAGRAM = NTLM_NegotiateDatagram
NTLMSSP_NEGOTIATE_LM_KEY = NTLM_NegotiateLanManagerKey
NTLMSSP_NEGOTIATE_NTLM = NTLM_NegotiateNTLM
NTLMSSP_NEGOTIATE_ANONYMOUS = NTLM_Anonymous
NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED = NTLM_NegotiateOemDomainSupplied
NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED = NTLM_NegotiateOemWorkstationSupplied
NTLMSSP_NEGOTIATE_ALWAYS_SIGN = NTLM_NegotiateAlwaysSign
NTLMSSP_TARGET_TYPE_DOMAIN = NTLM_TargetTypeDomain
NTLMSSP_TARGET_TYPE_SERVER = NTLM_TargetTypeServer
NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = NTLM_NegotiateExtendedSecurity
NTLMSSP_NEGOTIATE_IDENTIFY = NTLM_NegotiateIdentify
NTLMSSP_REQUEST_NON_NT_SESSION_KEY = NTLM_RequestNonNTSessionKey
NTLMSSP_NEGOTIATE_TARGET_INFO = NTLM_NegotiateTargetInfo
NTLMSSP_NEGOTIATE_VERSION = NTLM_NegotiateVersion
NTLMSSP_NEGOTIATE_128 = NTLM_Negotiate128
NTLMSSP_NEGOTIATE_KEY_EXCH = NTLM_NegotiateKeyExchange
NTLMSSP_NEGOTIATE_56 = NTLM_Negotiate56

#: what this client asks for in its NEGOTIATE_MESSAGE
CLIENT_FLAGS = (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_OEM | NTLMSSP_REQUEST_TARGET
                | NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN
                | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_TARGET_INFO
                | NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_128
                | NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56)

# --- [MS-NLMP] 2.2.2.1 AV_PAIR ids -----------------------------------------------------------
MsvAvEOL = 0x0000
MsvAvNbComputerName = 0x0001
MsvAvNbDomainName = 0x0002
MsvAvDnsComputerName = 0x0003
MsvAvDnsDomainName = 0x0004
MsvAvDnsTreeName = 0x0005
MsvAvFlags = 0x0006
MsvAvTimestamp = 0x0007
MsvAvSingleHost = 0x0008
MsvAvTargetName = 0x0009
MsvAvChannelBindings = 0x000A

#: MsvAvFlags bits
AV_FLAG_ACCOUNT_CONSTRAINED = 0x1
AV_FLAG_MIC_PRESENT = 0x2
AV_FLAG_UNTRUSTED_SPN = 0x4

_STRING_AVS = (MsvAvNbComputerName, MsvAvNbDomainName, MsvAvDnsComputerName,
               MsvAvDnsDomainName, MsvAvDnsTreeName, MsvAvTargetName)

SIGNATURE = b"NTLMSSP\x00"
NEGOTIATE = 1
CHALLENGE = 2
AUTHENTICATE = 3

#: [MS-NLMP] 2.2.2.10 VERSION sent by this client: 10.0, build 0, NTLMSSP_REVISION_W2K3
CLIENT_VERSION = b"\x0a\x00\x00\x00\x00\x00\x00\x0f"

_HEADER = struct.Struct("<8sI")
_FIELD = struct.Struct("<HHI")  # Len, MaxLen, BufferOffset
_NEGOTIATE = struct.Struct("<8sII8s8s")  # header, flags, domain fields, workstation fields
_AUTH_FIXED = struct.Struct("<8sI8s8s8s8s8s8sI")
_AV_HEADER = struct.Struct("<HH")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

_EPOCH_AS_FILETIME = 116444736000000000


def filetime_now() -> int:
    """The current time as a FILETIME (100 ns ticks since 1601-01-01)."""
    return _EPOCH_AS_FILETIME + time.time_ns() // 100


# --- AV pairs ---------------------------------------------------------------------------------

def parse_av_pairs(data: bytes) -> List[Tuple[int, bytes]]:
    """Split a TargetInfo buffer into (AvId, Value) pairs, MsvAvEOL excluded.

    A list that simply ends without MsvAvEOL is accepted; a truncated pair is not."""
    pairs = []
    pos = 0
    end = len(data)
    while pos < end:
        if pos + 4 > end:
            raise ProtocolError("NTLM target info: truncated AV_PAIR header at offset %d" % pos)
        av_id, av_len = _AV_HEADER.unpack_from(data, pos)
        pos += 4
        if av_id == MsvAvEOL:
            break
        if pos + av_len > end:
            raise ProtocolError("NTLM target info: AV_PAIR 0x%04x length %d runs past the end "
                                "of the %d-byte buffer" % (av_id, av_len, end))
        value = bytes(data[pos:pos + av_len])
        if av_id == MsvAvFlags and av_len != 4:
            raise ProtocolError("NTLM target info: MsvAvFlags has length %d, not 4" % av_len)
        if av_id == MsvAvTimestamp and av_len != 8:
            raise ProtocolError("NTLM target info: MsvAvTimestamp has length %d, not 8" % av_len)
        pairs.append((av_id, value))
        pos += av_len
    return pairs


def encode_av_pairs(pairs: List[Tuple[int, bytes]]) -> bytes:
    """The inverse of :func:`parse_av_pairs` (appends MsvAvEOL)."""
    out = bytearray()
    for av_id, value in pairs:
        out += _AV_HEADER.pack(av_id, len(value)) + value
    out += _AV_HEADER.pack(MsvAvEOL, 0)
    return bytes(out)


# --- messages ---------------------------------------------------------------------------------

def _get_field(data: bytes, pos: int, what: str) -> bytes:
    length, _max, offset = _FIELD.unpack_from(data, pos)
    if length == 0:
        return b""
    if offset + length > len(data):
        raise ProtocolError("NTLM %s (offset %d, length %d) lies outside the %d-byte message"
                            % (what, offset, length, len(data)))
    return bytes(data[offset:offset + length])


def _check_header(data: bytes, msg_type: int, min_len: int, name: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError("NTLM %s: expected bytes, got %s" % (name, type(data).__name__))
    if len(data) < min_len:
        raise ProtocolError("NTLM %s too short: %d bytes" % (name, len(data)))
    signature, mtype = _HEADER.unpack_from(data, 0)
    if signature != SIGNATURE:
        raise ProtocolError("NTLM %s: bad signature %r" % (name, bytes(signature)))
    if mtype != msg_type:
        raise ProtocolError("NTLM %s: message type %d, expected %d" % (name, mtype, msg_type))


def _decode_text(raw: bytes, unicode: bool) -> str:
    return raw.decode("utf-16-le", "replace") if unicode else raw.decode("latin-1")


def _encode_text(text: str, unicode: bool) -> bytes:
    return text.encode("utf-16-le") if unicode else text.encode("latin-1", "replace")


def build_negotiate_message(flags: int = CLIENT_FLAGS, version: Optional[bytes] = CLIENT_VERSION) -> bytes:
    """NEGOTIATE_MESSAGE ([MS-NLMP] 2.2.1.1) without domain or workstation."""
    version = version if (flags & NTLMSSP_NEGOTIATE_VERSION and version) else b""
    empty = _FIELD.pack(0, 0, _NEGOTIATE.size + len(version))
    return _NEGOTIATE.pack(SIGNATURE, NEGOTIATE, flags, empty, empty) + version


@dataclass
class ChallengeMessage:
    """A parsed CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2)."""

    flags: int
    server_challenge: bytes
    target_name: str = ""
    target_info: bytes = b""  # the raw AV_PAIR list, as the server sent it
    av_pairs: List[Tuple[int, bytes]] = field(default_factory=list)
    version: Optional[bytes] = None
    raw: bytes = b""

    def av(self, av_id: int) -> Optional[bytes]:
        for k, v in self.av_pairs:
            if k == av_id:
                return v
        return None

    def _av_text(self, av_id: int) -> Optional[str]:
        value = self.av(av_id)
        return None if value is None else value.decode("utf-16-le", "replace")

    @property
    def nb_computer_name(self) -> Optional[str]:
        return self._av_text(MsvAvNbComputerName)

    @property
    def nb_domain_name(self) -> Optional[str]:
        return self._av_text(MsvAvNbDomainName)

    @property
    def dns_computer_name(self) -> Optional[str]:
        return self._av_text(MsvAvDnsComputerName)

    @property
    def dns_domain_name(self) -> Optional[str]:
        return self._av_text(MsvAvDnsDomainName)

    @property
    def dns_tree_name(self) -> Optional[str]:
        return self._av_text(MsvAvDnsTreeName)

    @property
    def av_flags(self) -> Optional[int]:
        value = self.av(MsvAvFlags)
        return None if value is None else _U32.unpack(value)[0]

    @property
    def timestamp(self) -> Optional[int]:
        """The server's MsvAvTimestamp (FILETIME) or None."""
        value = self.av(MsvAvTimestamp)
        return None if value is None else _U64.unpack(value)[0]


def parse_challenge_message(data: bytes) -> ChallengeMessage:
    """Parse and bounds-check a CHALLENGE_MESSAGE; ProtocolError when malformed."""
    data = bytes(data) if not isinstance(data, bytes) else data
    _check_header(data, CHALLENGE, 32, "CHALLENGE_MESSAGE")
    flags, = _U32.unpack_from(data, 20)
    challenge = data[24:32]
    target_name = _get_field(data, 12, "CHALLENGE_MESSAGE TargetName")
    target_info = b""
    version = None
    if len(data) >= 48:
        target_info = _get_field(data, 40, "CHALLENGE_MESSAGE TargetInfo")
        if flags & NTLMSSP_NEGOTIATE_VERSION and len(data) >= 56:
            version = data[48:56]
    return ChallengeMessage(flags=flags, server_challenge=challenge,
                            target_name=_decode_text(target_name, bool(flags & NTLMSSP_NEGOTIATE_UNICODE)),
                            target_info=target_info, av_pairs=parse_av_pairs(target_info),
                            version=version, raw=data)


def build_authenticate_message(flags: int, lm_response: bytes, nt_response: bytes, domain: str,
                               user: str, workstation: str, encrypted_session_key: bytes = b"",
                               version: Optional[bytes] = CLIENT_VERSION,
                               mic: Optional[bytes] = None) -> bytes:
    """AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3).

    The payload holds domain, user, workstation, LM response, NT response and encrypted
    session key in that order (as in the examples of [MS-NLMP] 4.2). ``version`` None leaves
    out the Version field (and then a MIC cannot be carried); ``mic`` reserves the MIC field
    (pass 16 zero bytes, compute, then patch with :func:`set_mic`)."""
    unicode = bool(flags & NTLMSSP_NEGOTIATE_UNICODE)
    if mic is not None and version is None:
        raise ValueError("a MIC needs the Version field")
    header_len = _AUTH_FIXED.size + (len(version) if version is not None else 0) \
        + (16 if mic is not None else 0)
    parts = [_encode_text(domain, unicode), _encode_text(user, unicode),
             _encode_text(workstation, unicode), lm_response, nt_response, encrypted_session_key]
    fields = []
    offset = header_len
    for part in parts:
        fields.append(_FIELD.pack(len(part), len(part), offset))
        offset += len(part)
    lm_f, nt_f, dom_f, user_f, ws_f, key_f = fields[3], fields[4], fields[0], fields[1], fields[2], fields[5]
    out = _AUTH_FIXED.pack(SIGNATURE, AUTHENTICATE, lm_f, nt_f, dom_f, user_f, ws_f, key_f, flags)
    if version is not None:
        out += version
    if mic is not None:
        out += mic
    return out + b"".join(parts)


def parse_authenticate_message(data: bytes) -> dict:
    """Decode an AUTHENTICATE_MESSAGE (for tests and diagnostics): a dict of flags,
    lm_response, nt_response, domain, user, workstation, encrypted_session_key, version and
    mic (the last two None when the header has no room for them)."""
    data = bytes(data)
    _check_header(data, AUTHENTICATE, _AUTH_FIXED.size, "AUTHENTICATE_MESSAGE")
    flags, = _U32.unpack_from(data, 60)
    unicode = bool(flags & NTLMSSP_NEGOTIATE_UNICODE)
    names = ("lm_response", "nt_response", "domain", "user", "workstation", "encrypted_session_key")
    out = {"flags": flags}
    offsets = []
    for i, name in enumerate(names):
        value = _get_field(data, 12 + 8 * i, "AUTHENTICATE_MESSAGE " + name)
        if value:
            offsets.append(_FIELD.unpack_from(data, 12 + 8 * i)[2])
        out[name] = _decode_text(value, unicode) if name in ("domain", "user", "workstation") else value
    payload_start = min(offsets) if offsets else len(data)
    out["version"] = data[64:72] if payload_start >= 72 else None
    out["mic"] = data[72:88] if payload_start >= 88 else None
    return out


MIC_OFFSET = _AUTH_FIXED.size + 8  # after the Version field


def set_mic(authenticate: bytes, mic: bytes) -> bytes:
    return authenticate[:MIC_OFFSET] + mic + authenticate[MIC_OFFSET + 16:]


def compute_mic(exported_session_key: bytes, negotiate: bytes, challenge: bytes,
                authenticate: bytes) -> bytes:
    """MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE) with the
    AUTHENTICATE's MIC field zeroed ([MS-NLMP] 3.1.5.1.2)."""
    return crypto.hmac_md5(exported_session_key,
                           negotiate + challenge + set_mic(authenticate, bytes(16)))


# --- pysmb's module functions -----------------------------------------------------------------

def generateNegotiateMessage() -> bytes:
    return build_negotiate_message()


def decodeChallengeMessage(ntlm_data):
    """Returns (server_challenge, server_flags, server_info) where server_info is the raw
    TargetInfo (AV_PAIR list)."""
    msg = parse_challenge_message(ntlm_data)
    return msg.server_challenge, msg.flags, msg.target_info


def generateAuthenticateMessage(challenge_flags, nt_response, lm_response, request_session_key, user,
                                domain="WORKGROUP", workstation="LOCALHOST"):
    """AUTHENTICATE_MESSAGE for the flags the server chose, and the session key to sign with:
    ``(message, signing_key)``.

    ``request_session_key`` is the key the challenge response produced (the KeyExchangeKey).
    When the server negotiated NTLMSSP_NEGOTIATE_KEY_EXCH, a random exported session key is
    made and sent encrypted under it ([MS-NLMP] 3.1.5.1.2); otherwise ``request_session_key``
    itself is the session key and nothing is sent in the EncryptedRandomSessionKey field.
    """
    flags = _authenticate_flags(challenge_flags)
    if flags & NTLMSSP_NEGOTIATE_KEY_EXCH and request_session_key:
        signing_key = secrets.token_bytes(16)
        encrypted = crypto.rc4(request_session_key, signing_key)
    else:
        signing_key, encrypted = request_session_key, b""
    message = build_authenticate_message(flags, lm_response, nt_response, domain, user, workstation,
                                         encrypted)
    return message, signing_key


def generateChallengeResponseV1(password, server_challenge, has_extended_security=False,
                                client_challenge=None):
    """NTLMv1 responses: (nt_response, lm_response, session_base_key)."""
    if has_extended_security and client_challenge is None:
        client_challenge = secrets.token_bytes(8)
    return crypto.ntlm_v1_responses(_resolve(password), server_challenge,
                                    has_extended_security, client_challenge)


def generateChallengeResponseV2(password, user, server_challenge, server_info, domain="",
                                client_challenge=None, timestamp=None):
    """NTLMv2 responses: (nt_response, lm_response, session_base_key).

    The timestamp is the server's MsvAvTimestamp when ``server_info`` has one (and then the
    LM response is 24 zero bytes, [MS-NLMP] 3.3.2), else ``timestamp`` or the current time."""
    if client_challenge is None:
        client_challenge = secrets.token_bytes(8)
    server_ts = None
    for av_id, value in parse_av_pairs(server_info):
        if av_id == MsvAvTimestamp:
            server_ts = _U64.unpack(value)[0]
    if server_ts is not None:
        timestamp = server_ts
    elif timestamp is None:
        timestamp = filetime_now()
    key = crypto.ntowf_v2(_resolve(password), user, domain)
    nt, lm, base = crypto.ntlm_v2_responses(key, server_challenge, client_challenge, timestamp,
                                            server_info)
    if server_ts is not None:
        lm = bytes(24)
    return nt, lm, base


def MD5(s) -> bytes:
    """MD5 digest of ``s``."""
    return crypto.md5(bytes(s))


def expandDesKey(key) -> bytes:
    """A 7-byte key spread over the 8 bytes of a DES key (parity bits left zero)."""
    return crypto.expand_des_key(bytes(key))


def DESL(K, D) -> bytes:
    """DESL(K, D) of [MS-NLMP] 6: 24 bytes."""
    return crypto.desl(bytes(K), bytes(D))


def _resolve(password) -> str:
    if callable(password):
        password = password()
    if password is None:
        return ""
    if isinstance(password, bytes):
        return password.decode("utf-8")
    return password


def _authenticate_flags(challenge_flags: int, client_flags: int = CLIENT_FLAGS) -> int:
    """The flags of our AUTHENTICATE_MESSAGE: what we asked for and the server granted."""
    flags = challenge_flags & client_flags
    if flags & NTLMSSP_NEGOTIATE_UNICODE:
        flags &= ~NTLMSSP_NEGOTIATE_OEM
    elif not flags & NTLMSSP_NEGOTIATE_OEM:
        flags |= NTLMSSP_NEGOTIATE_UNICODE  # the server chose neither: unicode is the norm
    return flags | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_VERSION


# --- the authenticator used by the engines ----------------------------------------------------

class NTLMAuthenticator:
    """The client side of one NTLM exchange: NEGOTIATE -> CHALLENGE -> AUTHENTICATE.

    ``password`` is a str or a zero-argument callable returning one (called once, when the
    AUTHENTICATE message is built; its result is not kept). Username and password both empty mean an
    anonymous (null session) logon. ``target_spn`` (e.g. ``"cifs/server"``) is sent as
    MsvAvTargetName when given."""

    #: flags of the NEGOTIATE_MESSAGE (a subclass or instance may narrow them)
    negotiate_flags = CLIENT_FLAGS

    def __init__(self, username: str, password: Union[str, Callable[[], str]], domain: str = "",
                 workstation: str = "", use_ntlm_v2: bool = True, target_spn: Optional[str] = None,
                 lanman: bool = False):
        self.username = username or ""
        #: NTLMv1 without extended session security may send the LM response (LM hash)
        self.lanman = lanman
        self._password = password
        self.domain = domain or ""
        self.workstation = workstation or ""
        self.use_ntlm_v2 = use_ntlm_v2
        self.target_spn = target_spn
        self._negotiate: Optional[bytes] = None
        self.challenge: Optional[ChallengeMessage] = None
        self.flags = 0  # negotiated (the AUTHENTICATE message's) flags
        self.mic_sent = False
        self._session_key: Optional[bytes] = None
        self.security: Optional[crypto.SessionSecurity] = None
        self._anonymous: Optional[bool] = None  # known once the AUTHENTICATE message is built

    def __repr__(self):
        return "<NTLMAuthenticator user=%r domain=%r v2=%r>" % (self.username, self.domain,
                                                               self.use_ntlm_v2)

    @property
    def is_anonymous(self) -> bool:
        """True for a null session (empty user name and password)."""
        if self._anonymous is not None:
            return self._anonymous
        if self.username:
            return False
        if callable(self._password):
            return False  # never resolve the password just to answer this
        return not self._password

    def negotiate_message(self) -> bytes:
        self._negotiate = build_negotiate_message(self.negotiate_flags)
        return self._negotiate

    def authenticate_message(self, challenge: bytes) -> bytes:
        if self._negotiate is None:
            raise RuntimeError("negotiate_message() must be called before authenticate_message()")
        msg = parse_challenge_message(challenge)
        self.challenge = msg
        flags = _authenticate_flags(msg.flags, self.negotiate_flags)
        password = _resolve(self._password)
        self._anonymous = not self.username and not password
        if self._anonymous:
            return self._anonymous_message(flags)
        if flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY:
            flags &= ~NTLMSSP_NEGOTIATE_LM_KEY
        mic_wanted = False
        if self.use_ntlm_v2:
            target_info, mic_wanted = self._client_target_info(msg)
            timestamp = msg.timestamp if msg.timestamp is not None else filetime_now()
            key = crypto.ntowf_v2(password, self.username, self.domain)
            nt, lm, base_key = crypto.ntlm_v2_responses(key, msg.server_challenge,
                                                        secrets.token_bytes(8), timestamp, target_info)
            if msg.timestamp is not None:
                lm = bytes(24)
            kx_key = base_key
        else:
            ess = bool(flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)
            nt, lm, base_key = crypto.ntlm_v1_responses(password, msg.server_challenge, ess,
                                                        secrets.token_bytes(8) if ess else None,
                                                        lanman=self.lanman)
            kx_key = crypto.kxkey(flags, base_key, lm, msg.server_challenge,
                                  crypto.lmowf_v1(password))
        del password
        if flags & NTLMSSP_NEGOTIATE_KEY_EXCH:
            exported = secrets.token_bytes(16)
            encrypted = crypto.rc4(kx_key, exported)
        else:
            exported, encrypted = kx_key, b""
        self.flags = flags
        self._session_key = exported
        auth = build_authenticate_message(flags, lm, nt, self.domain, self.username, self.workstation,
                                          encrypted, mic=bytes(16) if mic_wanted else None)
        if mic_wanted:
            auth = set_mic(auth, compute_mic(exported, self._negotiate, msg.raw, auth))
        self.mic_sent = mic_wanted
        self.security = crypto.SessionSecurity(flags, exported, client=True)
        return auth

    def _anonymous_message(self, flags: int) -> bytes:
        # [MS-NLMP] 3.1.5.1.2: empty NT response, one zero byte of LM response; no session key
        flags = (flags | NTLMSSP_NEGOTIATE_ANONYMOUS) & ~NTLMSSP_NEGOTIATE_KEY_EXCH
        self.flags = flags
        self._session_key = crypto.ZERO_KEY
        self.mic_sent = False
        self.security = None
        return build_authenticate_message(flags, b"\x00", b"", "", "", self.workstation)

    def _client_target_info(self, msg: ChallengeMessage) -> Tuple[bytes, bool]:
        """The AV pairs sent back in the NTLMv2 response; (bytes, MIC wanted)."""
        if msg.timestamp is None and self.target_spn is None:
            return msg.target_info, False
        pairs = []
        av_flags = 0
        for av_id, value in msg.av_pairs:
            if av_id == MsvAvFlags:
                av_flags = _U32.unpack(value)[0]
            elif av_id != MsvAvTargetName:
                pairs.append((av_id, value))
        mic = msg.timestamp is not None
        if mic:
            av_flags |= AV_FLAG_MIC_PRESENT
        if av_flags:
            pairs.append((MsvAvFlags, _U32.pack(av_flags)))
        if self.target_spn is not None:
            pairs.append((MsvAvTargetName, self.target_spn.encode("utf-16-le")))
        return encode_av_pairs(pairs), mic

    @property
    def session_key(self) -> bytes:
        """The exported session key (16 bytes); all zero for an anonymous logon."""
        if self._session_key is None:
            raise RuntimeError("no session key before authenticate_message()")
        return self._session_key

    @property
    def key_before_reply(self) -> Optional[bytes]:
        """The exported session key once authenticate_message() chose it (the server's
        answer cannot change it); None before, and for an anonymous logon."""
        if self._session_key is None or self._anonymous:
            return None
        return self._session_key

    # --- message integrity, for the SPNEGO mechListMIC ---------------------------------------
    @property
    def can_sign(self) -> bool:
        return self.security is not None and bool(self.flags & NTLMSSP_NEGOTIATE_SIGN)

    def sign(self, data: bytes) -> bytes:
        """The NTLMSSP_MESSAGE_SIGNATURE of client-to-server ``data`` (sequence number 0 first)."""
        if self.security is None:
            raise RuntimeError("no NTLM session security before authenticate_message()")
        return self.security.sign(data)

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Check a server-to-client signature (the server's own sequence number, 0 first)."""
        if self.security is None:
            raise RuntimeError("no NTLM session security before authenticate_message()")
        return self.security.verify(data, signature)

    make_mic_signature = sign
    verify_mic_signature = verify
