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

    def must_encrypt(self, tree_id: int) -> bool:
        """Whether a request on this session and tree has to be encrypted ([MS-SMB2] 3.2.4.1.8)."""
        return self.encrypt_data or (tree_id in self.encrypted_trees)

    def update_preauth(self, message) -> None:
        if self.preauth_hash is not None:
            self.preauth_hash = preauth_update(self.preauth_hash, message)

    def establish_keys(self, session_key: bytes, signing_algorithm: int | None = None,
                       cipher_id: int | None = None) -> None:
        """Derive the signing (and SMB3 encryption) keys from the GSS session key."""
        self.session_key = bytes(session_key)
        if self.dialect < C.DIALECT_3_0:
            self.signer = HmacSha256Signer(self.session_key)
            return
        try:
            from smb.smb2 import crypto
        except ImportError:  # pragma: no cover - crypto is part of the package
            raise UnsupportedFeature("SMB 3.x signing needs smb.smb2.crypto") from None
        keys = crypto.derive_keys(self.dialect, self.session_key, self.preauth_hash, cipher_id)
        algorithm = crypto.default_signing_algorithm(self.dialect, signing_algorithm)
        self.signer = Smb3Signer(algorithm, keys.signing_key)
        self.encryption_key = keys.encryption_key
        self.decryption_key = keys.decryption_key
        self.application_key = keys.application_key


class Smb3Encryption:
    """The TRANSFORM_HEADER hook used by :class:`smb.smb2.connection.Connection`."""

    def __init__(self, connection, cipher_id: int):
        from smb.smb2 import transform

        self._transform = transform
        self.connection = connection
        self.cipher_id = cipher_id
        self._nonces = transform.NonceGenerator(cipher_id)

    def encrypt(self, parts, session) -> list:
        if session is None or session.encryption_key is None:
            raise ProtocolError("cannot encrypt: the session has no encryption key")
        return [self._transform.encrypt_parts(self.cipher_id, session.encryption_key,
                                              session.session_id, parts, self._nonces.next())]

    def decrypt(self, data):
        hdr = self._transform.parse_transform_header(data)
        session = self.connection.sessions.get(hdr.session_id)
        if session is None or session.decryption_key is None:
            raise ProtocolError("encrypted message for unknown session 0x%X" % hdr.session_id)
        sid, plain = self._transform.decrypt(self.cipher_id, session.decryption_key, data)
        return plain, sid
