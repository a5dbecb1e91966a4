"""SMB3 message encryption: the SMB2 TRANSFORM_HEADER and AES-CCM / AES-GCM.

Spec sections implemented here ([MS-SMB2]):

* 2.2.41 SMB2 TRANSFORM_HEADER (52 bytes): ProtocolId 0xFD 'S' 'M' 'B', Signature (16,
  the AEAD tag), Nonce (16: AES_CCM_Nonce = first 11 bytes, AES_GCM_Nonce = first 12
  bytes, the rest reserved), OriginalMessageSize (4), Reserved (2),
  Flags/EncryptionAlgorithm (2; 0x0001 = Encrypted in 3.1.1, AES-128-CCM in 3.0/3.0.2),
  SessionId (8).
* 3.1.4.3 Encrypting the Message: the AAD is the header from the Nonce field to its end
  (32 bytes); the SMB2 message (a compound chain as one unit) is the plaintext; the tag
  is the Signature.  Cipher ids of 2.2.3.1.2 ([RFC4309]/[RFC5084] AES-CCM and AES-GCM,
  128- and 256-bit keys, 16-byte tags).
* 3.2.5.1.1.1 / 3.3.5.2.1.1 Decrypting the Message: size and ProtocolId checks,
  OriginalMessageSize must match, tag verification before the plaintext is used.

Nonces must never repeat under one key ([MS-SMB2] 2.2.41); :class:`NonceGenerator` makes
them from a random salt and a 64-bit counter.  Keys come from
``smb.smb2.crypto.derive_keys``.  Pure functions, no sockets; large messages (up to
8 MiB) are processed with one output allocation and memoryview inputs.
"""

from __future__ import annotations

import os
import struct
import threading
from typing import NamedTuple, Optional, Tuple, Union

from Crypto.Cipher import AES

from smb.errors import ProtocolError, UnsupportedFeature
from smb.smb2.crypto import (CIPHER_AES_128_CCM, CIPHER_AES_128_GCM, JOIN_BELOW,
                             CIPHER_AES_256_CCM, CIPHER_AES_256_GCM)

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "TRANSFORM_PROTOCOL_ID", "TRANSFORM_HEADER_SIZE", "TRANSFORM_FLAG_ENCRYPTED",
    "TransformHeader", "is_transform_header", "parse_transform_header", "nonce_size",
    "encrypt", "encrypt_parts", "decrypt", "NonceGenerator",
]

TRANSFORM_PROTOCOL_ID = b"\xfdSMB"
TRANSFORM_HEADER_SIZE = 52
TRANSFORM_FLAG_ENCRYPTED = 0x0001  # 3.1.1 Flags; equals EncryptionAlgorithm AES-128-CCM in 3.0.x
TAG_SIZE = 16
NONCE_FIELD_SIZE = 16

# ProtocolId, Signature, Nonce, OriginalMessageSize, Reserved, Flags, SessionId
_TRANSFORM = struct.Struct("<4s16s16sIHHQ")
_NONCE_OFFSET = 20
_SIG_OFFSET = 4
assert _TRANSFORM.size == TRANSFORM_HEADER_SIZE

_CCM = (CIPHER_AES_128_CCM, CIPHER_AES_256_CCM)
_GCM = (CIPHER_AES_128_GCM, CIPHER_AES_256_GCM)
_KEY_SIZE = {CIPHER_AES_128_CCM: 16, CIPHER_AES_128_GCM: 16,
             CIPHER_AES_256_CCM: 32, CIPHER_AES_256_GCM: 32}
_MAX_ORIGINAL_SIZE = 0xFFFFFFFF


class TransformHeader(NamedTuple):
    """A parsed SMB2 TRANSFORM_HEADER (2.2.41)."""

    signature: bytes
    nonce: bytes  # the whole 16-byte field
    original_message_size: int
    flags: int
    session_id: int


def nonce_size(cipher_id: int) -> int:
    """Bytes of the Nonce field the cipher uses: 11 for AES-CCM, 12 for AES-GCM."""
    if cipher_id in _CCM:
        return 11
    if cipher_id in _GCM:
        return 12
    raise UnsupportedFeature("unsupported SMB3 cipher id 0x%04X" % cipher_id)


def is_transform_header(buf: Buffer) -> bool:
    """True if ``buf`` starts with the TRANSFORM_HEADER ProtocolId 0xFD 'S' 'M' 'B'."""
    return len(buf) >= 4 and bytes(buf[:4]) == TRANSFORM_PROTOCOL_ID


def parse_transform_header(buf: Buffer) -> TransformHeader:
    """Parse and check the header of a transformed message (the whole message in ``buf``).

    Raises ProtocolError if the message is not longer than the header, the ProtocolId is
    wrong, Flags/EncryptionAlgorithm is not 0x0001, or OriginalMessageSize differs from
    the number of bytes after the header.  The session id lets the caller pick the key.
    """
    n = len(buf)
    if n <= TRANSFORM_HEADER_SIZE:
        raise ProtocolError("transformed message too short: %d bytes" % n, bytes(buf[:64]))
    proto, sig, nonce, size, _reserved, flags, session_id = _TRANSFORM.unpack_from(buf, 0)
    if proto != TRANSFORM_PROTOCOL_ID:
        raise ProtocolError("not a TRANSFORM_HEADER: protocol id %r" % proto, bytes(buf[:64]))
    if flags != TRANSFORM_FLAG_ENCRYPTED:
        raise ProtocolError("unsupported TRANSFORM_HEADER Flags/EncryptionAlgorithm 0x%04X" % flags,
                            bytes(buf[:64]))
    if size != n - TRANSFORM_HEADER_SIZE:
        raise ProtocolError("TRANSFORM_HEADER OriginalMessageSize %d but %d bytes follow"
                            % (size, n - TRANSFORM_HEADER_SIZE), bytes(buf[:64]))
    return TransformHeader(sig, nonce, size, flags, session_id)


def prepares(cipher_id: int) -> bool:
    """Whether a cipher object can be made before the message's length is known (GCM)."""
    return cipher_id in _GCM


def new_cipher(cipher_id: int, key: Buffer, nonce: Buffer, msg_len: int):
    """The pycryptodome object that encrypts or decrypts one message (``msg_len`` matters
    for CCM only); ``nonce`` as :func:`encrypt` takes it."""
    return _cipher(cipher_id, key, nonce, msg_len)


def _cipher(cipher_id: int, key: Buffer, nonce: Buffer, msg_len: int):
    size = _KEY_SIZE.get(cipher_id)
    if size is None:
        raise UnsupportedFeature("unsupported SMB3 cipher id 0x%04X" % cipher_id)
    if len(key) != size:
        raise ValueError("cipher 0x%04X needs a %d-byte key, got %d" % (cipher_id, size, len(key)))
    if cipher_id in _GCM:
        return AES.new(bytes(key), AES.MODE_GCM, nonce=bytes(nonce[:12]), mac_len=TAG_SIZE)
    # Declaring both lengths lets CCM process the data without buffering it. (pycryptodome
    # documents msg_len/assoc_len for MODE_CCM; its type stubs omit them)
    return AES.new(bytes(key), AES.MODE_CCM,  # type: ignore[call-overload]
                   nonce=bytes(nonce[:11]), mac_len=TAG_SIZE, msg_len=msg_len, assoc_len=32)


def encrypt(cipher_id: int, key: Buffer, session_id: int, plaintext: Buffer,
            nonce: Buffer, *, flags: int = TRANSFORM_FLAG_ENCRYPTED) -> bytearray:
    """Encrypt one SMB2 message (or compound chain); return header + ciphertext.

    ``nonce`` is the cipher nonce (11 bytes for CCM, 12 for GCM; zero-padded into the
    16-byte Nonce field) or a whole 16-byte Nonce field, copied as is (only its first
    11/12 bytes feed the cipher).  Use a :class:`NonceGenerator`: a nonce must never be
    reused with the same key.  The result is a new bytearray of 52 + len(plaintext)
    bytes (returned as a bytearray to spare an 8 MiB copy; it is sendable as is).
    """
    out = encrypt_parts(cipher_id, key, session_id, (plaintext,), nonce, flags=flags)
    assert isinstance(out, bytearray)  # no ``out`` given: a new one
    return out


def _byte_view(b: Buffer) -> memoryview:
    mv = memoryview(b)
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    return mv


def encrypt_parts(cipher_id: int, key: Buffer, session_id: int, parts, nonce: Buffer, *,
                  flags: int = TRANSFORM_FLAG_ENCRYPTED, cipher=None,
                  out: Optional[bytearray] = None) -> Union[bytearray, memoryview]:
    """:func:`encrypt` of the message made of the buffers ``parts``: a long message's
    parts are each encrypted straight into their place after the header (never joined
    first); a short one's are joined and encrypted in one call. ``cipher``: the unused
    object :func:`new_cipher` made ahead for this key and ``nonce`` (GCM only). ``out``:
    a buffer of at least 52 + the message's size to write into (every byte of the result
    is written); the result is then a view of its start."""
    need = nonce_size(cipher_id)
    if len(nonce) == need:
        nonce_field = bytes(nonce).ljust(NONCE_FIELD_SIZE, b"\x00")
    elif len(nonce) == NONCE_FIELD_SIZE:
        nonce_field = bytes(nonce)
    else:
        raise ValueError("nonce must be %d or 16 bytes, got %d" % (need, len(nonce)))
    views = [_byte_view(p) for p in parts]
    size = sum(len(v) for v in views)
    if size == 0 or size > _MAX_ORIGINAL_SIZE:
        raise ValueError("cannot encrypt a message of %d bytes" % size)
    if out is None:
        out = bytearray(TRANSFORM_HEADER_SIZE + size)
        result: Union[bytearray, memoryview] = out
        omv = memoryview(out)
    else:
        if len(out) < TRANSFORM_HEADER_SIZE + size:
            raise ValueError("output buffer of %d bytes for a %d-byte message" % (len(out), size))
        omv = result = memoryview(out)[:TRANSFORM_HEADER_SIZE + size]
    _TRANSFORM.pack_into(omv, 0, TRANSFORM_PROTOCOL_ID, b"", nonce_field, size, 0, flags,
                         session_id)
    c = cipher if cipher is not None and cipher_id in _GCM else _cipher(cipher_id, key, nonce_field, size)
    c.update(omv[_NONCE_OFFSET:TRANSFORM_HEADER_SIZE])
    if size < JOIN_BELOW:  # one call for a short message: each call costs more than a join
        views = [memoryview(b"".join(views))]
    pos = TRANSFORM_HEADER_SIZE
    for v in views:
        if v:
            c.encrypt(v, output=omv[pos:pos + len(v)])
            pos += len(v)
    omv[_SIG_OFFSET:_NONCE_OFFSET] = c.digest()
    return result


def decrypt(cipher_id: int, key: Buffer, transformed: Buffer, *,
            in_place: bool = False) -> Tuple[int, Union[bytearray, memoryview]]:
    """Check, authenticate and decrypt a transformed message.

    Returns ``(session_id, plaintext)``: the SMB2 message(s), in a new bytearray; with
    ``in_place`` and a writable ``transformed``, decrypted where the ciphertext was and
    returned as a view of it (no allocation; AES-GCM and CCM hash what they must before
    overwriting it).  Raises ProtocolError for a malformed header (see
    :func:`parse_transform_header`) and ``ProtocolError("decryption failed: ...")`` when
    the tag does not authenticate the header and ciphertext under ``key``; no plaintext
    is returned in that case, and none is left in ``transformed`` (zeroed).
    """
    hdr = parse_transform_header(transformed)
    mv = _byte_view(transformed)
    size = hdr.original_message_size
    c = _cipher(cipher_id, key, hdr.nonce, size)
    c.update(mv[_NONCE_OFFSET:TRANSFORM_HEADER_SIZE])
    body = mv[TRANSFORM_HEADER_SIZE:]
    out: Union[bytearray, memoryview] = body if in_place and not mv.readonly else bytearray(size)
    c.decrypt(body, output=out)
    try:
        c.verify(hdr.signature)
    except ValueError:
        # never hand out (or leave behind) unauthenticated plaintext
        if out is body:
            body[:] = bytes(size)
        else:
            out[:] = b""
        raise ProtocolError("decryption failed: the TRANSFORM_HEADER signature does not match "
                            "(session 0x%016X)" % hdr.session_id) from None
    return hdr.session_id, out


class NonceGenerator:
    """Makes unique TRANSFORM_HEADER nonces for one encryption key.

    A nonce is a 64-bit little-endian counter followed by a salt (3 bytes for CCM's
    11-byte nonce, 4 for GCM's 12).  Salt and counter start are random by default, so
    that two generators that end up with the same key (e.g. per-connection generators of
    one multichannel session) do not collide in practice; still, use one generator per
    session key and share it between the channels bound to that session.  The counter
    wraps modulo 2**64 and no value is issued twice: after ``limit`` nonces (default
    2**64 - 1) :meth:`next` raises RuntimeError and the key must be replaced
    (reauthenticate).  Thread-safe.
    """

    __slots__ = ("cipher_id", "_salt", "_counter", "_remaining", "_lock", "_size")

    _MASK = (1 << 64) - 1

    def __init__(self, cipher_id: int, *, salt: Optional[bytes] = None,
                 start: Optional[int] = None, limit: int = (1 << 64) - 1):
        self._size = nonce_size(cipher_id)
        self.cipher_id = cipher_id
        salt_len = self._size - 8
        if salt is None:
            salt = os.urandom(salt_len)
        if len(salt) != salt_len:
            raise ValueError("salt must be %d bytes" % salt_len)
        if start is None:
            start = int.from_bytes(os.urandom(8), "little")
        if not 0 <= start <= self._MASK:
            raise ValueError("counter start out of range")
        if not 0 < limit <= self._MASK:
            raise ValueError("limit out of range")
        self._salt = bytes(salt)
        self._counter = start
        self._remaining = limit
        self._lock = threading.Lock()

    def next(self) -> bytes:
        """Return the next nonce (11 bytes for CCM, 12 for GCM)."""
        with self._lock:
            if self._remaining <= 0:
                raise RuntimeError("SMB3 nonce space exhausted for this key")
            self._remaining -= 1
            n = self._counter
            self._counter = (n + 1) & self._MASK
        return n.to_bytes(8, "little") + self._salt

    __next__ = next

    def __iter__(self):
        return self
