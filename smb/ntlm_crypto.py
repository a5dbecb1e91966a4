"""NTLM cryptographic primitives: one-way functions, challenge responses, key derivation
and NTLM session security (signing / sealing).

Implements, from [MS-NLMP]:

* 3.3.1 NTLM v1 authentication: LMOWFv1, NTOWFv1, DESL, the LM / NT responses with and
  without extended session security (NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY).
* 3.3.2 NTLM v2 authentication: NTOWFv2, the NTLMv2_CLIENT_CHALLENGE ("temp"), NTProofStr,
  the LMv2 / NTv2 responses and the session base key.
* 3.4.5.1 KXKEY, 3.4.5.2 SIGNKEY, 3.4.5.3 SEALKEY.
* 3.4.3, 3.4.4 and 2.2.2.9 message integrity / confidentiality: NTLMSSP_MESSAGE_SIGNATURE with
  and without extended session security, sealing with RC4.

Every function is pure except :class:`SessionSecurity`, which keeps the RC4 states and the
sequence numbers of one direction pair. All cryptography comes from pycryptodome.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import zlib
from typing import Optional, Tuple

from Crypto.Cipher import ARC4, DES
from Crypto.Hash import HMAC, MD4, MD5

# Negotiate flags used by the key derivations ([MS-NLMP] 2.2.2.5).
_NEGOTIATE_LM_KEY = 0x00000080
_NEGOTIATE_DATAGRAM = 0x00000040
_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
_NEGOTIATE_128 = 0x20000000
_NEGOTIATE_KEY_EXCH = 0x40000000
_NEGOTIATE_56 = 0x80000000
_REQUEST_NON_NT_SESSION_KEY = 0x00400000

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_SIG = struct.Struct("<I8sI")  # NTLMSSP_MESSAGE_SIGNATURE with extended session security
_SIG_V1 = struct.Struct("<IIII")  # NTLMSSP_MESSAGE_SIGNATURE without it

_LM_MAGIC = b"KGS!@#$%"
_CLIENT_SIGN_MAGIC = b"session key to client-to-server signing key magic constant\x00"
_SERVER_SIGN_MAGIC = b"session key to server-to-client signing key magic constant\x00"
_CLIENT_SEAL_MAGIC = b"session key to client-to-server sealing key magic constant\x00"
_SERVER_SEAL_MAGIC = b"session key to server-to-client sealing key magic constant\x00"

ZERO_KEY = bytes(16)


# --- primitives ---------------------------------------------------------------------------

def md4(data: bytes) -> bytes:
    return MD4.new(data).digest()


def _stdlib_md5() -> bool:
    """hashlib's MD5 (OpenSSL, one C call) when the platform allows it (FIPS builds may not)."""
    try:
        hmac.digest(b"k", b"m", "md5")
        return True
    except (ValueError, TypeError):  # disabled digest
        return False


_STDLIB_MD5 = _stdlib_md5()


def md5(data: bytes) -> bytes:
    if _STDLIB_MD5:
        return hashlib.md5(data).digest()
    return MD5.new(data).digest()


def hmac_md5(key: bytes, data: bytes) -> bytes:
    # stdlib's one-shot HMAC is a single OpenSSL call, ~10x cheaper per call than
    # pycryptodome's pure-Python HMAC wrapper (7 calls per NTLM session set-up)
    if _STDLIB_MD5:
        return hmac.digest(key, data, "md5")
    return HMAC.new(key, data, digestmod=MD5).digest()


def rc4(key: bytes, data: bytes) -> bytes:
    """One-shot RC4 (RC4K in [MS-NLMP] 6)."""
    return ARC4.new(key).encrypt(data)


def expand_des_key(key7: bytes) -> bytes:
    """Spread 56 key bits over 8 bytes (7 bits each, low bit left for parity)."""
    bits = int.from_bytes(key7, "big")
    out = bytearray(8)
    for i in range(8):
        out[i] = ((bits >> (49 - 7 * i)) & 0x7F) << 1
    return bytes(out)


def des_encrypt(key7: bytes, block: bytes) -> bytes:
    """DES of one 8-byte block with a 7-byte key ([MS-NLMP] 6, DES)."""
    return DES.new(expand_des_key(key7), DES.MODE_ECB).encrypt(block)


def desl(key16: bytes, data8: bytes) -> bytes:
    """DESL(K, D) ([MS-NLMP] 6): three DES encryptions of D keyed by K padded to 21 bytes."""
    k = key16 + bytes(5)
    return des_encrypt(k[0:7], data8) + des_encrypt(k[7:14], data8) + des_encrypt(k[14:21], data8)


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


# --- one-way functions ----------------------------------------------------------------------

def lmowf_v1(password: str) -> bytes:
    """LMOWFv1 ([MS-NLMP] 3.3.1): DES of "KGS!@#$%" under the upper-cased OEM password."""
    pw = password.upper().encode("latin-1", "replace")[:14].ljust(14, b"\x00")
    return des_encrypt(pw[:7], _LM_MAGIC) + des_encrypt(pw[7:], _LM_MAGIC)


def ntowf_v1(password: str) -> bytes:
    """NTOWFv1 ([MS-NLMP] 3.3.1): MD4 of the UTF-16LE password."""
    return md4(utf16(password))


def ntowf_v2(password: str, user: str, domain: str) -> bytes:
    """NTOWFv2 = LMOWFv2 ([MS-NLMP] 3.3.2)."""
    return ntowf_v2_from_hash(ntowf_v1(password), user, domain)


def ntowf_v2_from_hash(nt_hash: bytes, user: str, domain: str) -> bytes:
    return hmac_md5(nt_hash, utf16(user.upper() + domain))


# --- NTLM v1 responses ----------------------------------------------------------------------

def ntlm_v1_responses(password: str, server_challenge: bytes, extended_session_security: bool,
                      client_challenge: Optional[bytes] = None,
                      lanman: bool = True) -> Tuple[bytes, bytes, bytes]:
    """[MS-NLMP] 3.3.1: returns (NtChallengeResponse, LmChallengeResponse, SessionBaseKey).

    With extended session security the LM response carries the client challenge; without
    it the LM response is DESL(LMOWFv1) when ``lanman`` allows it and the password fits LM
    (at most 14 characters), and a copy of the NT response otherwise (the NoLMResponseNTLMv1
    behaviour: the weak LM hash never goes on the wire)."""
    nt_key = ntowf_v1(password)
    if extended_session_security:
        if client_challenge is None or len(client_challenge) != 8:
            raise ValueError("extended session security needs an 8-byte client challenge")
        nt = desl(nt_key, md5(server_challenge + client_challenge)[:8])
        lm = client_challenge + bytes(16)
    else:
        nt = desl(nt_key, server_challenge)
        lm = desl(lmowf_v1(password), server_challenge) if lanman and len(password) <= 14 else nt
    return nt, lm, md4(nt_key)


# --- NTLM v2 responses ----------------------------------------------------------------------

def ntlm_v2_temp(timestamp: int, client_challenge: bytes, target_info: bytes) -> bytes:
    """The NTLMv2_CLIENT_CHALLENGE structure ([MS-NLMP] 2.2.2.7) as "temp" in 3.3.2."""
    return (b"\x01\x01" + bytes(6) + _U64.pack(timestamp) + client_challenge + bytes(4)
            + target_info + bytes(4))


def ntlm_v2_responses(response_key_nt: bytes, server_challenge: bytes, client_challenge: bytes,
                      timestamp: int, target_info: bytes) -> Tuple[bytes, bytes, bytes]:
    """[MS-NLMP] 3.3.2: returns (NtChallengeResponse, LMv2 response, SessionBaseKey).

    ``response_key_nt`` is NTOWFv2 (which is also ResponseKeyLM)."""
    temp = ntlm_v2_temp(timestamp, client_challenge, target_info)
    proof = hmac_md5(response_key_nt, server_challenge + temp)
    lm = hmac_md5(response_key_nt, server_challenge + client_challenge) + client_challenge
    return proof + temp, lm, hmac_md5(response_key_nt, proof)


# --- key derivation ([MS-NLMP] 3.4.5) ------------------------------------------------------

def kxkey(flags: int, session_base_key: bytes, lm_response: bytes, server_challenge: bytes,
          lmowf: bytes = b"") -> bytes:
    """KXKEY for NTLM v1 ([MS-NLMP] 3.4.5.1). NTLM v2 uses the session base key as is."""
    if flags & _NEGOTIATE_EXTENDED_SESSIONSECURITY:
        return hmac_md5(session_base_key, server_challenge + lm_response[:8])
    if flags & _NEGOTIATE_LM_KEY:
        return (des_encrypt(lmowf[:7], lm_response[:8])
                + des_encrypt(lmowf[7:8] + b"\xbd" * 6, lm_response[:8]))
    if flags & _REQUEST_NON_NT_SESSION_KEY:
        return lmowf[:8] + bytes(8)
    return session_base_key


def sign_key(flags: int, exported_session_key: bytes, client: bool) -> Optional[bytes]:
    """SIGNKEY ([MS-NLMP] 3.4.5.2); None without extended session security."""
    if not flags & _NEGOTIATE_EXTENDED_SESSIONSECURITY:
        return None
    return md5(exported_session_key + (_CLIENT_SIGN_MAGIC if client else _SERVER_SIGN_MAGIC))


def seal_key(flags: int, exported_session_key: bytes, client: bool) -> bytes:
    """SEALKEY ([MS-NLMP] 3.4.5.3)."""
    if flags & _NEGOTIATE_EXTENDED_SESSIONSECURITY:
        if flags & _NEGOTIATE_128:
            key = exported_session_key
        elif flags & _NEGOTIATE_56:
            key = exported_session_key[:7]
        else:
            key = exported_session_key[:5]
        return md5(key + (_CLIENT_SEAL_MAGIC if client else _SERVER_SEAL_MAGIC))
    if flags & (_NEGOTIATE_LM_KEY | _NEGOTIATE_DATAGRAM):
        if flags & _NEGOTIATE_56:
            return exported_session_key[:7] + b"\xa0"
        return exported_session_key[:5] + b"\xe5\x38\xb0"
    return exported_session_key


# --- session security ([MS-NLMP] 3.4) -------------------------------------------------------

class SessionSecurity:
    """NTLM message integrity and confidentiality for one connection-oriented context.

    ``client=True`` is the client's view: :meth:`sign`/:meth:`seal` use the
    client-to-server keys, :meth:`verify`/:meth:`unseal` the server-to-client keys; with
    extended session security each direction has its own RC4 handle and sequence number,
    both starting at 0. Without it there is one key, and this class runs a single RC4 key
    stream and a single sequence number for both directions, as Samba does (checked against
    smbd's mechListMIC)."""

    def __init__(self, flags: int, exported_session_key: bytes, client: bool = True):
        self.flags = flags
        self._ess = bool(flags & _NEGOTIATE_EXTENDED_SESSIONSECURITY)
        self._key_exch = bool(flags & _NEGOTIATE_KEY_EXCH)
        self.out_sign_key = sign_key(flags, exported_session_key, client)
        self.in_sign_key = sign_key(flags, exported_session_key, not client)
        self.out_seal_key = seal_key(flags, exported_session_key, client)
        self.in_seal_key = seal_key(flags, exported_session_key, not client)
        self._out_rc4 = ARC4.new(self.out_seal_key)
        self._in_rc4 = ARC4.new(self.in_seal_key) if self._ess else self._out_rc4
        self._seq = [0, 0]  # outgoing, incoming (only [0] without extended session security)

    def _next_seq(self, incoming: bool) -> int:
        slot = 1 if (incoming and self._ess) else 0
        seq = self._seq[slot]
        self._seq[slot] = (seq + 1) & 0xFFFFFFFF
        return seq

    # the NTLMSSP_MESSAGE_SIGNATURE computation, shared by both directions
    def _mac(self, rc4_state, key: Optional[bytes], seq: int, message: bytes) -> bytes:
        if self._ess:
            # [MS-NLMP] 3.4.4.2 (sign_key() gives a key whenever extended session security is on)
            checksum = hmac_md5(key, _U32.pack(seq) + message)[:8]  # type: ignore[arg-type]
            if self._key_exch:
                checksum = rc4_state.encrypt(checksum)
            return _SIG.pack(1, checksum, seq)
        # [MS-NLMP] 3.4.4.1: RandomPad, CRC32 checksum and SeqNum pass through RC4; the
        # RandomPad sent is zero.
        rc4_state.encrypt(bytes(4))
        checksum = _U32.unpack(rc4_state.encrypt(_U32.pack(zlib.crc32(message) & 0xFFFFFFFF)))[0]
        seq_field = _U32.unpack(rc4_state.encrypt(bytes(4)))[0] ^ seq
        return _SIG_V1.pack(1, 0, checksum, seq_field)

    def sign(self, message: bytes) -> bytes:
        """The 16-byte signature of an outgoing message (advances the sequence number)."""
        return self._mac(self._out_rc4, self.out_sign_key, self._next_seq(False), message)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Check an incoming message's signature (advances the sequence number)."""
        expected = self._mac(self._in_rc4, self.in_sign_key, self._next_seq(True), message)
        if len(signature) != 16:
            return False
        if not self._ess:
            # the RandomPad field is not covered by the check
            return hmac.compare_digest(expected[:4] + expected[8:], bytes(signature[:4] + signature[8:]))
        return hmac.compare_digest(expected, bytes(signature))

    def seal(self, message: bytes) -> Tuple[bytes, bytes]:
        """Encrypt an outgoing message: returns (sealed message, signature)."""
        sealed = self._out_rc4.encrypt(message)
        return sealed, self.sign(message)

    def unseal(self, sealed: bytes, signature: bytes) -> Optional[bytes]:
        """Decrypt an incoming message; None when the signature does not match."""
        message = self._in_rc4.decrypt(sealed)
        return message if self.verify(message, signature) else None
