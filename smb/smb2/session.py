"""SMB2/3 session state: signers, keys, preauth integrity and the encryption hook.

Implements [MS-SMB2] 3.2.1.3 (Session: SessionKey, SigningKey, SigningRequired, EncryptData,
PreauthIntegrityHashValue), 3.1.4.1 / 3.1.5.1 (signing and verifying with HMAC-SHA256 for
2.0.2/2.1; SMB3 AES-CMAC/AES-GMAC through :mod:`smb.smb2.crypto`), 3.2.5.2 / 3.2.5.3.1
(the 3.1.1 preauth integrity hash over NEGOTIATE and SESSION_SETUP exchanges, and the key
derivation after authentication) and the TRANSFORM_HEADER hook of 3.2.4.1.8 / 3.2.5.1.1.1
(ciphers in :mod:`smb.smb2.transform`).

A *signer* is any object with ``sign(parts) -> 16 bytes`` (``parts``: the buffers of one
message, its Signature field zero) and ``verify(message) -> bool``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading

from smb.errors import ProtocolError, UnsupportedFeature
from smb.smb2 import constants as C
from smb.smb2.header import SIGNATURE_OFFSET, ZERO_SIGNATURE

PREAUTH_INITIAL_HASH = bytes(64)


class HmacSha256Signer:
    """SMB 2.0.2 / 2.1 signing: the first 16 bytes of HMAC-SHA256(SessionKey, message)
    ([MS-SMB2] 3.1.4.1); fed part by part, so large payloads are never joined."""

    __slots__ = ("_key",)
    algorithm = C.SIGNING_HMAC_SHA256

    def __init__(self, session_key: bytes):
        self._key = bytes(session_key[:16]).ljust(16, b"\0")

    def sign(self, parts) -> bytes:
        m = hmac.new(self._key, digestmod=hashlib.sha256)
        for p in parts:
            m.update(p)
        return m.digest()[:16]

    def verify(self, msg) -> bool:
        mv = memoryview(msg)
        expected = self.sign((mv[:SIGNATURE_OFFSET], ZERO_SIGNATURE, mv[64:]))
        return hmac.compare_digest(expected, bytes(mv[SIGNATURE_OFFSET:64]))

    def prepare(self, message_id: int, is_response: bool) -> None:
        """Nothing to make ahead for HMAC-SHA256."""


class Smb3Signer:
    """AES-CMAC / AES-GMAC (and 3.1.1 HMAC-SHA256) through :class:`smb.smb2.crypto.Signer`."""

    __slots__ = ("_signer",)

    def __init__(self, algorithm: int, signing_key: bytes):
        from smb.smb2 import crypto

        self._signer = crypto.Signer(algorithm, signing_key)

    @property
    def algorithm(self) -> int:
        """SIGNING_HMAC_SHA256 (0), SIGNING_AES_CMAC (1) or SIGNING_AES_GMAC (2)."""
        return self._signer.algorithm

    def sign(self, parts) -> bytes:
        return self._signer.sign_parts(parts)

    def verify(self, msg) -> bool:
        return self._signer.verify(msg)

    def prepare(self, message_id: int, is_response: bool) -> None:
        """See :meth:`smb.smb2.crypto.Signer.prepare`."""
        self._signer.prepare(message_id, is_response)


def preauth_update(prev: bytes, message) -> bytes:
    """SHA-512(prev || message) ([MS-SMB2] 3.2.5.2, 3.2.5.3.1)."""
    h = hashlib.sha512(prev)
    h.update(message)
    return h.digest()


class Session:
    """One authenticated session ([MS-SMB2] 3.2.1.3)."""

    def __init__(self, dialect: int, preauth_hash: bytes | None = None):
        self.dialect = dialect
        self.session_id = 0
        self.session_key: bytes | None = None
        self.signer: HmacSha256Signer | Smb3Signer | None = None
        self.signing_required = False
        #: Session.EncryptData: every message of the session is encrypted ([MS-SMB2] 3.2.4.1.8)
        self.encrypt_data = False
        #: TreeIds whose TreeConnect.EncryptData is TRUE (SMB2_SHAREFLAG_ENCRYPT_DATA)
        self.encrypted_trees: set[int] = set()
        self.is_guest = False
        self.is_anonymous = False
        self.preauth_hash = preauth_hash
        self.encryption_key: bytes | None = None
        self.decryption_key: bytes | None = None
        self.application_key: bytes | None = None
        self.nonces = None
        #: keys derived by keys_ahead(): (inputs, signer, keys), adopted by establish_keys()
        #: when its inputs are the same
        self._ahead: tuple | None = None

    def must_encrypt(self, tree_id: int) -> bool:
        """Whether a request on this session and tree has to be encrypted ([MS-SMB2] 3.2.4.1.8)."""
        return self.encrypt_data or (tree_id in self.encrypted_trees)

    def update_preauth(self, message) -> None:
        if self.preauth_hash is not None:
            self.preauth_hash = preauth_update(self.preauth_hash, message)

    def establish_keys(self, session_key: bytes, signing_algorithm: int | None = None,
                       cipher_id: int | None = None) -> None:
        """Derive the signing (and SMB3 encryption) keys from the GSS session key (or take
        those :meth:`keys_ahead` derived from the same inputs)."""
        inputs = self._key_inputs(session_key, signing_algorithm, cipher_id)
        ahead, self._ahead = self._ahead, None
        signer, keys = ahead[1:] if ahead is not None and ahead[0] == inputs else \
            self._derive(*inputs)
        self.session_key = inputs[0]
        self.signer = signer
        if keys is not None:
            self.encryption_key = keys.encryption_key
            self.decryption_key = keys.decryption_key
            self.application_key = keys.application_key

    def keys_ahead(self, session_key: bytes, signing_algorithm: int | None, cipher_id: int | None,
                   reply_id: int) -> None:
        """Derive the keys while the server checks the last SESSION_SETUP request (whose
        MessageId is ``reply_id``), and make ahead the MAC object that will verify its
        signed answer; :meth:`establish_keys` takes them when nothing changed meanwhile
        (same key; for 3.1.1 the same preauth hash, which the final answer does not enter,
        [MS-SMB2] 3.2.5.3.1)."""
        inputs = self._key_inputs(session_key, signing_algorithm, cipher_id)
        signer, keys = self._derive(*inputs)
        signer.prepare(reply_id, True)
        self._ahead = (inputs, signer, keys)

    @property
    def encryption_key_ahead(self) -> bytes | None:
        """The encryption key :meth:`keys_ahead` derived, if any."""
        keys = self._ahead[2] if self._ahead is not None else None
        return keys.encryption_key if keys is not None else None

    def forget_ahead(self) -> None:
        """Drop keys :meth:`keys_ahead` derived (a guest or anonymous session has none)."""
        self._ahead = None

    def _key_inputs(self, session_key: bytes, signing_algorithm: int | None, cipher_id: int | None):
        """What the keys derive from: keys_ahead's are taken only when these are the same."""
        return (bytes(session_key), self.preauth_hash, signing_algorithm, cipher_id)

    def _derive(self, session_key: bytes, preauth_hash, signing_algorithm, cipher_id):
        """``(signer, SMB3 keys or None)``."""
        if self.dialect < C.DIALECT_3_0:
            return HmacSha256Signer(session_key), None
        try:
            from smb.smb2 import crypto
        except ImportError:  # pragma: no cover - crypto is part of the package
            raise UnsupportedFeature("SMB 3.x signing needs smb.smb2.crypto") from None
        keys = crypto.derive_keys(self.dialect, session_key, preauth_hash, cipher_id)
        algorithm = crypto.default_signing_algorithm(self.dialect, signing_algorithm)
        return Smb3Signer(algorithm, keys.signing_key), keys


#: a message at least this long is encrypted into Smb3Encryption's reused output buffer
REUSED_OUTPUT_MIN = 64 * 1024


class Smb3Encryption:
    """The TRANSFORM_HEADER hook used by :class:`smb.smb2.connection.Connection`."""

    def __init__(self, connection, cipher_id: int):
        from smb.smb2 import transform

        self._transform = transform
        self.connection = connection
        self.cipher_id = cipher_id
        self._nonces = transform.NonceGenerator(cipher_id)
        #: (key, nonce, cipher object) made ahead by prepare(), taken by the next encrypt()
        #: with that key; every nonce comes from the one generator and is used at most once
        self._ready: tuple | None = None
        self._lock = threading.Lock()
        #: the output buffer of long messages, reused: the connection encrypts and sends
        #: under its send lock, and the transport's send returns once the kernel has the
        #: bytes, so a result is spent before the next encrypt() (the contract of encrypt)
        self._out = bytearray(0)

    def encrypt(self, parts, session) -> list:
        """``parts`` as one TRANSFORM_HEADER message (a list of one buffer). A long
        message's buffer is reused by the next call: send it before calling again."""
        if session is None or session.encryption_key is None:
            raise ProtocolError("cannot encrypt: the session has no encryption key")
        key = session.encryption_key
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is not None and ready[0] == key:
            nonce, cipher = ready[1], ready[2]
        else:
            nonce, cipher = self._nonces.next(), None
        size = sum(memoryview(p).nbytes for p in parts)
        out = None
        if size >= REUSED_OUTPUT_MIN:
            if len(self._out) < size + self._transform.TRANSFORM_HEADER_SIZE:
                self._out = bytearray(size + self._transform.TRANSFORM_HEADER_SIZE)
            out = self._out
        return [self._transform.encrypt_parts(self.cipher_id, key, session.session_id, parts, nonce,
                                              cipher=cipher, out=out)]

    def prepare(self, session) -> None:
        """Make ahead the cipher object of the next message encrypted with ``session``'s key
        (called while a request waits for its answer: an AES-GCM set-up costs more than
        encrypting a short message). Nothing for AES-CCM, which needs the length first."""
        self.prepare_for(session.encryption_key if session is not None else None)

    def prepare_for(self, key: bytes | None) -> None:
        """:meth:`prepare` for the encryption key ``key``."""
        if key is None or not self._transform.prepares(self.cipher_id):
            return
        with self._lock:
            if self._ready is not None and self._ready[0] == key:
                return
        nonce = self._nonces.next()
        cipher = self._transform.new_cipher(self.cipher_id, key, nonce, 0)
        with self._lock:
            self._ready = (key, nonce, cipher)

    def forget_prepared(self) -> None:
        """Drop the cipher object made ahead (its key belongs to a session that has none)."""
        with self._lock:
            self._ready = None

    def decrypt(self, data, in_place: bool = False):
        """``(plaintext, SessionId)``; see :func:`smb.smb2.transform.decrypt`."""
        hdr = self._transform.parse_transform_header(data)
        session = self.connection.sessions.get(hdr.session_id)
        if session is None or session.decryption_key is None:
            raise ProtocolError("encrypted message for unknown session 0x%X" % hdr.session_id)
        sid, plain = self._transform.decrypt(self.cipher_id, session.decryption_key, data,
                                             in_place=in_place)
        return plain, sid
