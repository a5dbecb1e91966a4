"""SMB2/SMB3 key derivation, message signing and preauthentication integrity.

Spec sections implemented here ([MS-SMB2]):

* 3.1.4.2 Generating Cryptographic Keys: the SP800-108 counter-mode KDF with
  HMAC-SHA256 (r = 32, L encoded as a 32-bit big-endian integer) and the labels /
  contexts of dialects 3.0, 3.0.2 and 3.1.1; 3.2.5.3.1 for Session.SessionKey (first 16
  bytes of the GSS key, right-padded with zeros) and Session.FullSessionKey (the whole
  GSS key, used with L = 256 for the AES-256 cipher keys).
* 3.1.4.1 Signing An Outgoing Message and 3.1.5.1 Verifying An Incoming Message:
  HMAC-SHA256 (dialects 2.0.2 / 2.1, first 16 bytes of the MAC), AES-128-CMAC
  ([RFC4493]) and AES-128-GMAC ([RFC4543], 12-byte nonce = MessageId || 4 bytes whose
  bit 0 is the sender role (server = 1) and bit 1 marks an SMB2 CANCEL request).  The
  MAC covers the whole message (one part of a compound chain, padding included) with
  the 16-byte Signature field (header bytes 48..63) taken as zero.
* 3.2.5.3.1 / 3.3.5.5 preauthentication integrity: SHA-512 over the previous hash
  value concatenated with the message, starting from 64 zero bytes
  (2.2.3.1.1 SMB2_PREAUTH_INTEGRITY_CAPABILITIES, hash algorithm 0x0001).

The TRANSFORM_HEADER (encryption, 2.2.41, 3.1.4.3, 3.1.5.1) lives in
``smb.smb2.transform``.  Everything here is pure: no sockets, no global state.
Primitives come from pycryptodome (AES, CMAC) and the standard library (hmac, hashlib).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections import OrderedDict
from typing import Any, NamedTuple, Optional, Union

from Crypto.Cipher import AES
from Crypto.Hash import CMAC

from smb.errors import ProtocolError, UnsupportedFeature
# Dialects ([MS-SMB2] 2.2.3), cipher ids (2.2.3.1.2 SMB2_ENCRYPTION_CAPABILITIES), signing
# algorithm ids (2.2.3.1.7 SMB2_SIGNING_CAPABILITIES) and the preauth hash id (2.2.3.1.1)
# live in smb.smb2.constants; re-exported here (see __all__).
from smb.smb2.constants import (
    CIPHER_AES_128_CCM,
    CIPHER_AES_128_GCM,
    CIPHER_AES_256_CCM,
    CIPHER_AES_256_GCM,
    DIALECT_2_0_2,
    DIALECT_2_1,
    DIALECT_3_0,
    DIALECT_3_0_2,
    DIALECT_3_1_1,
    HASH_SHA_512,
    SIGNING_AES_CMAC,
    SIGNING_AES_GMAC,
    SIGNING_HMAC_SHA256,
)

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "DIALECT_2_0_2", "DIALECT_2_1", "DIALECT_3_0", "DIALECT_3_0_2", "DIALECT_3_1_1",
    "CIPHER_AES_128_CCM", "CIPHER_AES_128_GCM", "CIPHER_AES_256_CCM", "CIPHER_AES_256_GCM",
    "SIGNING_HMAC_SHA256", "SIGNING_AES_CMAC", "SIGNING_AES_GMAC",
    "PREAUTH_HASH_SHA512", "PREAUTH_INITIAL_HASH",
    "SessionKeys", "kdf", "derive_keys", "cipher_key_size", "default_signing_algorithm",
    "preauth_update", "Signer", "sign", "verify", "sign_in_place", "verify_in_place",
]

# --- Preauth integrity ([MS-SMB2] 2.2.3.1.1) ---
PREAUTH_HASH_SHA512 = HASH_SHA_512
PREAUTH_INITIAL_HASH = bytes(64)

# --- SMB2 header fields used by signing ([MS-SMB2] 2.2.1) ---
_HEADER_SIZE = 64
_SIGNATURE_OFFSET = 48
_SIGNATURE_END = 64
_ZERO_SIGNATURE = bytes(16)
_FLAGS_SERVER_TO_REDIR = 0x00000001
_COMMAND_CANCEL = 0x000C

# Command (uint16 @12), Flags (uint32 @16), MessageId (uint64 @24)
_HDR_COMMAND = struct.Struct("<H")
_HDR_FLAGS = struct.Struct("<I")
_HDR_MESSAGE_ID = struct.Struct("<Q")
_GMAC_NONCE = struct.Struct("<QI")  # MessageId || role/cancel bits
#: a message shorter than this is joined and MACed or encrypted in one call (each call of
#: pycryptodome costs more than the join); a longer one is fed part by part
JOIN_BELOW = 16384
#: AES-GMAC objects a Signer keeps made ahead (Signer.prepare) at most
PREPARED_MAX = 64
_KDF_U32BE = struct.Struct(">I")

_SMB3_DIALECTS = (DIALECT_3_0, DIALECT_3_0_2, DIALECT_3_1_1)
_SMB2_DIALECTS = (DIALECT_2_0_2, DIALECT_2_1)
_CIPHER_KEY_SIZES = {CIPHER_AES_128_CCM: 16, CIPHER_AES_128_GCM: 16,
                     CIPHER_AES_256_CCM: 32, CIPHER_AES_256_GCM: 32}

# Labels / contexts of [MS-SMB2] 3.1.4.2 (the trailing NUL is part of each string).
_LABELS_30 = {
    "signing": (b"SMB2AESCMAC\x00", b"SmbSign\x00"),
    "encryption": (b"SMB2AESCCM\x00", b"ServerIn \x00"),
    "decryption": (b"SMB2AESCCM\x00", b"ServerOut\x00"),
    "application": (b"SMB2APP\x00", b"SmbRpc\x00"),
}
_LABEL_311_SIGNING = b"SMBSigningKey\x00"
_LABEL_311_C2S = b"SMBC2SCipherKey\x00"
_LABEL_311_S2C = b"SMBS2CCipherKey\x00"
_LABEL_311_APP = b"SMBAppKey\x00"


# ---------------------------------------------------------------------------
# Key derivation ([MS-SMB2] 3.1.4.2, [SP800-108] 5.1)
# ---------------------------------------------------------------------------

def kdf(key: Buffer, label: bytes, context: bytes, length_bits: int = 128) -> bytes:
    """SP800-108 KDF in counter mode, PRF = HMAC-SHA256, r = 32 ([MS-SMB2] 3.1.4.2).

    K(i) = HMAC-SHA256(key, [i]_32be || label || 0x00 || context || [L]_32be); the result
    is the leftmost ``length_bits`` bits of K(1) || K(2) || ...  ``label`` and ``context``
    are passed exactly as [MS-SMB2] spells them, i.e. including their own trailing NUL
    (``b"SMB2AESCMAC\\x00"``); the 0x00 separator byte is added here.
    """
    if length_bits <= 0 or length_bits % 8:
        raise ValueError("length_bits must be a positive multiple of 8")
    key = bytes(key)
    tail = b"\x00" + bytes(context) + _KDF_U32BE.pack(length_bits)
    out = bytearray()
    counter = 1
    while len(out) * 8 < length_bits:
        out += hmac.new(key, _KDF_U32BE.pack(counter) + label + tail, hashlib.sha256).digest()
        counter += 1
    return bytes(out[: length_bits // 8])


class SessionKeys(NamedTuple):
    """The keys of one session (or one bound channel), as seen by the client.

    ``encryption_key`` protects client-to-server messages, ``decryption_key``
    server-to-client ones; both are None for dialects without encryption (2.0.2, 2.1).
    ``application_key`` is None for 2.x.
    """

    signing_key: bytes
    encryption_key: Optional[bytes]
    decryption_key: Optional[bytes]
    application_key: Optional[bytes]


def cipher_key_size(cipher_id: int) -> int:
    """Key length in bytes for a cipher id (16 for AES-128-*, 32 for AES-256-*)."""
    try:
        return _CIPHER_KEY_SIZES[cipher_id]
    except KeyError:
        raise UnsupportedFeature("unsupported SMB3 cipher id 0x%04X" % cipher_id) from None


def _session_key_16(key: bytes) -> bytes:
    # Session.SessionKey: first 16 bytes of the cryptographic key, right-padded with zeros.
    return key[:16].ljust(16, b"\x00")


def derive_keys(dialect: int, session_key: Buffer, preauth_hash: Optional[Buffer] = None,
                cipher_id: Optional[int] = None, *,
                full_session_key: Optional[Buffer] = None) -> SessionKeys:
    """Derive a session's signing, encryption, decryption and application keys.

    ``session_key`` is the cryptographic key of the GSS/NTLM context (any length; 16
    bytes for NTLM, up to 32 for Kerberos AES-256).  Session.SessionKey is its first 16
    bytes (zero-padded); the signing and application keys always derive from that.
    For dialect 3.1.1 with AES-256-CCM/GCM the cipher keys derive, with L = 256, from
    Session.FullSessionKey: ``full_session_key`` if given, else the whole ``session_key``
    ([MS-SMB2] 3.2.5.3.1).  ``preauth_hash`` (64 bytes, Session.PreauthIntegrityHashValue)
    is required for 3.1.1 and ignored otherwise.  ``cipher_id`` None means AES-128.

    For session binding, the channel signing key is ``derive_keys(...).signing_key``
    computed from the binding session setup's own key and preauth hash.
    """
    key = bytes(session_key)
    if not key:
        raise ValueError("empty session key")
    sk16 = _session_key_16(key)
    if dialect in _SMB2_DIALECTS:
        return SessionKeys(sk16, None, None, None)
    if dialect in (DIALECT_3_0, DIALECT_3_0_2):
        if cipher_id not in (None, CIPHER_AES_128_CCM):
            raise ValueError("dialects 3.0 and 3.0.2 only use AES-128-CCM")
        return SessionKeys(*(kdf(sk16, label, ctx) for label, ctx in (
            _LABELS_30["signing"], _LABELS_30["encryption"], _LABELS_30["decryption"],
            _LABELS_30["application"])))
    if dialect == DIALECT_3_1_1:
        if preauth_hash is None or len(preauth_hash) != 64:
            raise ValueError("dialect 3.1.1 needs the 64-byte preauth integrity hash")
        ctx = bytes(preauth_hash)
        size = 16 if cipher_id is None else cipher_key_size(cipher_id)
        if size == 32:
            cipher_ki = bytes(full_session_key) if full_session_key is not None else key
        else:
            cipher_ki = sk16
        return SessionKeys(
            kdf(sk16, _LABEL_311_SIGNING, ctx),
            kdf(cipher_ki, _LABEL_311_C2S, ctx, size * 8),
            kdf(cipher_ki, _LABEL_311_S2C, ctx, size * 8),
            kdf(sk16, _LABEL_311_APP, ctx),
        )
    raise ValueError("unknown SMB2 dialect 0x%04X" % dialect)


def default_signing_algorithm(dialect: int, negotiated: Optional[int] = None) -> int:
    """The signing algorithm a connection uses ([MS-SMB2] 3.1.4.1).

    2.0.2/2.1: HMAC-SHA256.  3.0/3.0.2: AES-CMAC.  3.1.1: the SMB2_SIGNING_CAPABILITIES
    choice ``negotiated`` if the server sent one, else AES-CMAC.
    """
    if dialect in _SMB2_DIALECTS:
        return SIGNING_HMAC_SHA256
    if dialect == DIALECT_3_1_1 and negotiated is not None:
        if negotiated not in (SIGNING_HMAC_SHA256, SIGNING_AES_CMAC, SIGNING_AES_GMAC):
            raise UnsupportedFeature("unsupported signing algorithm id 0x%04X" % negotiated)
        return negotiated
    if dialect in _SMB3_DIALECTS:
        return SIGNING_AES_CMAC
    raise ValueError("unknown SMB2 dialect 0x%04X" % dialect)


# ---------------------------------------------------------------------------
# Preauthentication integrity ([MS-SMB2] 3.2.5.3.1, 3.3.5.4, 3.3.5.5)
# ---------------------------------------------------------------------------

def preauth_update(prev_hash: Buffer, message: Buffer) -> bytes:
    """Return SHA-512(prev_hash || message); start from ``PREAUTH_INITIAL_HASH``."""
    if len(prev_hash) != 64:
        raise ValueError("preauth integrity hash must be 64 bytes")
    h = hashlib.sha512(prev_hash)
    h.update(message)
    return h.digest()


# ---------------------------------------------------------------------------
# Signing ([MS-SMB2] 3.1.4.1, 3.1.5.1)
# ---------------------------------------------------------------------------

def _mac_of_parts(m: Any, parts) -> bytes:
    """The 16-byte MAC ``m`` gives the concatenation of ``parts``: a short message is joined
    and fed in one call (cheaper than several), a long one part by part (pycryptodome
    slices what it is given: never a copy)."""
    if sum(len(p) for p in parts) < JOIN_BELOW:
        m.update(b"".join(parts))
    else:
        for p in parts:
            m.update(memoryview(p))
    return m.digest()[:16]


def _nonce_flags(is_response: bool, is_cancel: bool) -> int:
    """The AES-GMAC nonce's role bits: 1 for a response, 2 for a CANCEL request."""
    return (1 if is_response else 0) | (2 if is_cancel else 0)


class Signer:
    """Signs and verifies SMB2 messages with one algorithm and one key.

    The message passed in is one SMB2 message (one part of a compound chain, including
    its trailing padding).  Its Signature field is treated as zero whatever it holds, so
    read-only received buffers are verified without a copy.  For AES-GMAC the nonce
    needs the MessageId, the sender role and whether the message is a CANCEL request;
    by default they are read from the header (MessageId, Flags SERVER_TO_REDIR,
    Command), and ``message_id`` / ``is_response`` / ``is_cancel`` override them.
    """

    __slots__ = ("algorithm", "_key", "_cmac", "_ready")

    def __init__(self, algorithm: int, key: Buffer):
        key = bytes(key)
        if algorithm == SIGNING_HMAC_SHA256:
            if not key:
                raise ValueError("empty signing key")
        elif algorithm in (SIGNING_AES_CMAC, SIGNING_AES_GMAC):
            if len(key) != 16:
                raise ValueError("AES-CMAC/AES-GMAC signing keys are 16 bytes")
        else:
            raise UnsupportedFeature("unsupported signing algorithm id 0x%04X" % algorithm)
        self.algorithm = algorithm
        self._key = key
        # AES-CMAC: a keyed object copied per message costs a quarter of keying a new one
        self._cmac = CMAC.new(key, ciphermod=AES) if algorithm == SIGNING_AES_CMAC else None
        #: AES-GMAC objects made ahead by prepare(), by (MessageId, nonce flags); each is
        #: used at most once, for the one message with that nonce
        self._ready: Optional[OrderedDict] = OrderedDict() if algorithm == SIGNING_AES_GMAC else None

    def prepare(self, message_id: int, is_response: bool, is_cancel: bool = False) -> None:
        """Make ahead the AES-GMAC object of the message with this MessageId and role, so
        that signing or verifying it later costs no cipher set-up (pycryptodome's GCM
        set-up costs more than MACing a short message). Meant for the time a request
        waits for its answer. Nothing to do for the other algorithms (cheap set-ups).
        At most PREPARED_MAX objects are kept, the oldest dropped first."""
        ready = self._ready
        if ready is None:
            return
        flags = _nonce_flags(is_response, is_cancel)
        if (message_id, flags) in ready:
            return
        ready[(message_id, flags)] = self._gmac(message_id, flags)
        while len(ready) > PREPARED_MAX:
            try:
                ready.popitem(last=False)
            except KeyError:  # emptied meanwhile by other threads
                break

    def _new_mac(self, head: memoryview, message_id: Optional[int], is_response: Optional[bool],
                 is_cancel: Optional[bool]) -> Any:
        """A fresh MAC object for the message whose header is ``head`` (HMAC, CMAC, or GCM
        used as GMAC with the nonce of [MS-SMB2] 3.1.4.1)."""
        if self._cmac is not None:
            return self._cmac.copy()
        if self.algorithm == SIGNING_HMAC_SHA256:
            return hmac.new(self._key, digestmod=hashlib.sha256)
        if message_id is None:
            message_id = _HDR_MESSAGE_ID.unpack_from(head, 24)[0]
        if is_response is None:
            is_response = bool(_HDR_FLAGS.unpack_from(head, 16)[0] & _FLAGS_SERVER_TO_REDIR)
        if is_cancel is None:
            is_cancel = (not is_response) and _HDR_COMMAND.unpack_from(head, 12)[0] == _COMMAND_CANCEL
        flags = _nonce_flags(is_response, is_cancel)
        ready = self._ready.pop((message_id, flags), None) if self._ready else None
        return ready if ready is not None else self._gmac(message_id, flags)

    def _gmac(self, message_id: int, flags: int) -> Any:
        """A new AES-GMAC object: nonce = MessageId || role/cancel bits ([MS-SMB2] 3.1.4.1)."""
        return AES.new(self._key, AES.MODE_GCM, nonce=_GMAC_NONCE.pack(message_id, flags), mac_len=16)

    def _mac(self, mv: memoryview, message_id: Optional[int], is_response: Optional[bool],
             is_cancel: Optional[bool], zero_sig: bool) -> bytes:
        # mv: exactly the message; zero_sig: feed 16 zero bytes in place of bytes 48..63.
        m = self._new_mac(mv, message_id, is_response, is_cancel)
        if zero_sig:
            return _mac_of_parts(m, (mv[:_SIGNATURE_OFFSET], _ZERO_SIGNATURE, mv[_SIGNATURE_END:]))
        m.update(mv)
        return m.digest()[:16]

    def sign_parts(self, parts) -> bytes:
        """The 16-byte signature of the message made of the buffers ``parts``, fed one by
        one (a large payload is never joined to its header). The first part holds at least
        the whole 64-byte header, whose Signature field must already be zero."""
        head = self._view(parts[0], 0, None)
        return _mac_of_parts(self._new_mac(head, None, None, None), parts)

    @staticmethod
    def _view(message: Buffer, offset: int, length: Optional[int]) -> memoryview:
        mv = memoryview(message)
        if mv.ndim != 1 or mv.itemsize != 1:
            mv = mv.cast("B")
        if offset < 0 or offset > len(mv):
            raise ProtocolError("SMB2 message offset %d outside buffer of %d bytes" % (offset, len(mv)))
        end = len(mv) if length is None else offset + length
        if length is not None and (length < 0 or end > len(mv)):
            raise ProtocolError("SMB2 message of %s bytes at offset %d overruns buffer of %d bytes"
                                % (length, offset, len(mv)))
        if end - offset < _HEADER_SIZE:
            raise ProtocolError("SMB2 message too short to be signed: %d bytes" % (end - offset),
                                bytes(mv[offset:end]))
        return mv[offset:end]

    def sign(self, message: Buffer, *, message_id: Optional[int] = None,
             is_response: Optional[bool] = None, is_cancel: Optional[bool] = None) -> bytes:
        """Return the 16-byte signature of ``message`` (its Signature field taken as zero)."""
        return self._mac(self._view(message, 0, None), message_id, is_response, is_cancel, True)

    def verify(self, message: Buffer, *, message_id: Optional[int] = None,
               is_response: Optional[bool] = None, is_cancel: Optional[bool] = None) -> bool:
        """True if the Signature field of ``message`` is its valid signature (constant time)."""
        mv = self._view(message, 0, None)
        expected = self._mac(mv, message_id, is_response, is_cancel, True)
        return hmac.compare_digest(expected, mv[_SIGNATURE_OFFSET:_SIGNATURE_END].tobytes())

    def sign_in_place(self, buf: Union[bytearray, memoryview], offset: int = 0,
                      length: Optional[int] = None, *, message_id: Optional[int] = None,
                      is_response: Optional[bool] = None, is_cancel: Optional[bool] = None) -> bytes:
        """Sign the message at ``buf[offset:offset+length]`` (default: to the end of ``buf``)
        and write the signature into its Signature field; returns the signature.

        For a compound chain, call once per part with that part's offset and length
        (NextCommand, or the rest of the buffer for the last part).  The caller sets the
        SMB2_FLAGS_SIGNED flag before signing.
        """
        mv = self._view(buf, offset, length)
        if mv.readonly:
            raise TypeError("sign_in_place needs a writable buffer")
        mv[_SIGNATURE_OFFSET:_SIGNATURE_END] = _ZERO_SIGNATURE
        sig = self._mac(mv, message_id, is_response, is_cancel, False)
        mv[_SIGNATURE_OFFSET:_SIGNATURE_END] = sig
        return sig

    def verify_in_place(self, buf: Buffer, offset: int = 0, length: Optional[int] = None, *,
                        message_id: Optional[int] = None, is_response: Optional[bool] = None,
                        is_cancel: Optional[bool] = None) -> bool:
        """Verify the message at ``buf[offset:offset+length]`` without modifying or copying it."""
        mv = self._view(buf, offset, length)
        expected = self._mac(mv, message_id, is_response, is_cancel, True)
        return hmac.compare_digest(expected, mv[_SIGNATURE_OFFSET:_SIGNATURE_END].tobytes())


def sign(algorithm: int, key: Buffer, message: Buffer, *, message_id: Optional[int] = None,
         is_response: Optional[bool] = None, is_cancel: Optional[bool] = None) -> bytes:
    """16-byte signature of one SMB2 message; see :class:`Signer`."""
    return Signer(algorithm, key).sign(message, message_id=message_id,
                                       is_response=is_response, is_cancel=is_cancel)


def verify(algorithm: int, key: Buffer, message: Buffer, *, message_id: Optional[int] = None,
           is_response: Optional[bool] = None, is_cancel: Optional[bool] = None) -> bool:
    """True if the message's Signature field is valid; constant-time comparison."""
    return Signer(algorithm, key).verify(message, message_id=message_id,
                                         is_response=is_response, is_cancel=is_cancel)


def sign_in_place(algorithm: int, key: Buffer, buf: Union[bytearray, memoryview], offset: int = 0,
                  length: Optional[int] = None, **nonce_fields) -> bytes:
    """Sign ``buf[offset:offset+length]`` in place; see :meth:`Signer.sign_in_place`."""
    return Signer(algorithm, key).sign_in_place(buf, offset, length, **nonce_fields)


def verify_in_place(algorithm: int, key: Buffer, buf: Buffer, offset: int = 0,
                    length: Optional[int] = None, **nonce_fields) -> bool:
    """Verify ``buf[offset:offset+length]``; see :meth:`Signer.verify_in_place`."""
    return Signer(algorithm, key).verify_in_place(buf, offset, length, **nonce_fields)
