"""Kerberos 5 encryption and checksum types.

* RFC 3961 section 5.1 (n-fold), 5.3 (the simplified profile: DR/DK key derivation, key usage
  constants Kc/Ke/Ki = usage || 0x99/0xAA/0x55, encrypt = confounder + CBC + truncated HMAC).
* RFC 3962 (aes128-cts-hmac-sha1-96 = 17, aes256-cts-hmac-sha1-96 = 18; PBKDF2-HMAC-SHA1
  string-to-key with the iteration count in s2kparams, default 4096; CBC with ciphertext
  stealing, section 6 / appendix B; checksums hmac-sha1-96-aes128/256 = 15/16).
* RFC 8009 (aes128-cts-hmac-sha256-128 = 19, aes256-cts-hmac-sha384-192 = 20; KDF-HMAC-SHA2
  of section 3, PBKDF2-HMAC-SHA256/384 string-to-key with salt "enctype-name\\0salt",
  encrypt-then-MAC over IV || ciphertext, checksums 19/20).
* RFC 4757 (rc4-hmac = 23: MD4 string-to-key, HMAC-MD5 key usage derivation with the
  Microsoft usage map of section 3, RC4 encryption with an 8-byte confounder; checksum
  hmac-md5 = -138).

Block cipher, hash, HMAC and ARC4 primitives come from pycryptodome and hashlib; ciphertext
stealing is a mode built here on AES-CBC (RFC 3962 section 6). A ciphertext that does not
verify raises :class:`smb.kerberos.errors.KerberosError` with code KRB_AP_ERR_BAD_INTEGRITY.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass, field

from Crypto.Cipher import AES, ARC4
from Crypto.Hash import MD4

from smb.kerberos.errors import KRB_AP_ERR_BAD_INTEGRITY, KerberosError

# encryption types (RFC 3961 8, RFC 3962 7, RFC 4757, RFC 8009 7)
AES128_CTS_HMAC_SHA1_96 = 17
AES256_CTS_HMAC_SHA1_96 = 18
AES128_CTS_HMAC_SHA256_128 = 19
AES256_CTS_HMAC_SHA384_192 = 20
RC4_HMAC = 23

# checksum types
HMAC_SHA1_96_AES128 = 15
HMAC_SHA1_96_AES256 = 16
HMAC_SHA256_128_AES128 = 19
HMAC_SHA384_192_AES256 = 20
HMAC_MD5 = -138

_BLOCK = 16


def _bad_integrity(what: str) -> KerberosError:
    return KerberosError("%s: integrity check failed (wrong key or corrupted data)" % what,
                         KRB_AP_ERR_BAD_INTEGRITY)


# --- RFC 3961 5.1 n-fold ----------------------------------------------------------------------

def nfold(data: bytes, nbytes: int) -> bytes:
    """n-fold(data) to ``nbytes`` bytes: lcm-length concatenation of copies of the input, each
    rotated right by 13 more bits than the previous, added in ones'-complement arithmetic
    ``nbytes`` at a time."""
    inbits = len(data) * 8
    a, b = len(data), nbytes
    while b:
        a, b = b, a % b
    lcm = len(data) * nbytes // a
    value = int.from_bytes(data, "big")
    rotated = []
    for i in range(lcm // len(data)):
        r = (13 * i) % inbits
        rotated.append((value >> r | value << (inbits - r)) & ((1 << inbits) - 1) if r else value)
    big = b"".join(x.to_bytes(len(data), "big") for x in rotated)
    mask = (1 << (nbytes * 8)) - 1
    total = 0
    for off in range(0, lcm, nbytes):
        total += int.from_bytes(big[off:off + nbytes], "big")
    while total > mask:  # end-around carry
        total = (total & mask) + (total >> (nbytes * 8))
    return total.to_bytes(nbytes, "big")


# --- RFC 3962 section 6: AES in CBC mode with ciphertext stealing ------------------------------

def cts_encrypt(key: bytes, plaintext: bytes, iv: bytes = bytes(_BLOCK)) -> bytes:
    """CBC-CS3 as Kerberos uses it: the last two blocks swapped, the final one truncated."""
    n = len(plaintext)
    if n < _BLOCK:
        raise ValueError("CTS needs at least one block")
    if n == _BLOCK:
        return AES.new(key, AES.MODE_CBC, iv).encrypt(plaintext)
    pad = (-n) % _BLOCK
    c = AES.new(key, AES.MODE_CBC, iv).encrypt(plaintext + bytes(pad))
    last = len(c) - _BLOCK
    tail = _BLOCK - pad
    return c[:last - _BLOCK] + c[last:] + c[last - _BLOCK:last - _BLOCK + tail]


def cts_decrypt(key: bytes, ciphertext: bytes, iv: bytes = bytes(_BLOCK)) -> bytes:
    n = len(ciphertext)
    if n < _BLOCK:
        raise _bad_integrity("AES-CTS ciphertext shorter than a block")
    if n == _BLOCK:
        return AES.new(key, AES.MODE_CBC, iv).decrypt(ciphertext)
    tail = n % _BLOCK or _BLOCK
    head = n - tail - _BLOCK  # full blocks before the swapped pair
    last_full = ciphertext[head:head + _BLOCK]  # CBC's final block C(n)
    partial = ciphertext[head + _BLOCK:]  # the first bytes of C(n-1)
    d = AES.new(key, AES.MODE_ECB).decrypt(last_full)
    prev = partial + d[tail:]  # C(n-1) restored
    full = ciphertext[:head] + prev + last_full
    return AES.new(key, AES.MODE_CBC, iv).decrypt(full)[:n]


# --- keys and the encryption-type interface ---------------------------------------------------

@dataclass(frozen=True)
class Key:
    """An encryption key (RFC 4120 5.2.9 EncryptionKey): ``etype`` and the key bytes."""

    etype: int
    contents: bytes = field(repr=False)

    @property
    def profile(self) -> "EncType":
        return get_etype(self.etype)

    def encrypt(self, usage: int, plaintext: bytes, confounder: bytes | None = None) -> bytes:
        return self.profile.encrypt(self.contents, usage, plaintext, confounder)

    def decrypt(self, usage: int, ciphertext: bytes) -> bytes:
        return self.profile.decrypt(self.contents, usage, ciphertext)

    def checksum(self, usage: int, data: bytes) -> bytes:
        return self.profile.checksum(self.contents, usage, data)

    def verify_checksum(self, usage: int, data: bytes, mac: bytes) -> bool:
        return hmac.compare_digest(self.checksum(usage, data), bytes(mac))


class EncType:
    etype = 0
    name = ""
    key_size = 0
    checksum_type = 0
    mac_size = 0
    default_params = b""

    def string_to_key(self, password: str, salt: bytes, params: bytes | None = None) -> Key:
        raise NotImplementedError

    def random_key(self) -> Key:
        return Key(self.etype, os.urandom(self.key_size))

    def encrypt(self, key: bytes, usage: int, plaintext: bytes, confounder: bytes | None = None) -> bytes:
        raise NotImplementedError

    def decrypt(self, key: bytes, usage: int, ciphertext: bytes) -> bytes:
        raise NotImplementedError

    def checksum(self, key: bytes, usage: int, data: bytes) -> bytes:
        raise NotImplementedError


def _usage_constant(usage: int, kind: int) -> bytes:
    return struct.pack(">IB", usage, kind)


class _AesSha1(EncType):
    """RFC 3962: the RFC 3961 simplified profile over AES-CTS and HMAC-SHA1-96."""

    mac_size = 12
    default_params = struct.pack(">I", 4096)

    def derive_random(self, key: bytes, constant: bytes) -> bytes:
        """DR(Key, constant) of RFC 3961 5.1: iterated encryption of n-fold(constant)."""
        block = nfold(constant, _BLOCK) if len(constant) != _BLOCK else constant
        out = b""
        ecb = AES.new(key, AES.MODE_ECB)
        while len(out) < self.key_size:
            block = ecb.encrypt(block)
            out += block
        return out[:self.key_size]

    derive_key = derive_random  # random-to-key is the identity for AES

    def string_to_key(self, password: str, salt: bytes, params: bytes | None = None) -> Key:
        iterations = _iterations(params, self.default_params)
        tkey = hashlib.pbkdf2_hmac("sha1", _utf8(password), salt, iterations, self.key_size)
        return Key(self.etype, self.derive_key(tkey, b"kerberos"))

    def encrypt(self, key, usage, plaintext, confounder=None):
        ke = self.derive_key(key, _usage_constant(usage, 0xAA))
        ki = self.derive_key(key, _usage_constant(usage, 0x55))
        data = (confounder if confounder is not None else os.urandom(_BLOCK)) + bytes(plaintext)
        return cts_encrypt(ke, data) + hmac.new(ki, data, hashlib.sha1).digest()[:self.mac_size]

    def decrypt(self, key, usage, ciphertext):
        ciphertext = bytes(ciphertext)
        if len(ciphertext) < _BLOCK + self.mac_size:
            raise _bad_integrity("%s ciphertext too short" % self.name)
        ke = self.derive_key(key, _usage_constant(usage, 0xAA))
        ki = self.derive_key(key, _usage_constant(usage, 0x55))
        data = cts_decrypt(ke, ciphertext[:-self.mac_size])
        mac = hmac.new(ki, data, hashlib.sha1).digest()[:self.mac_size]
        if not hmac.compare_digest(mac, ciphertext[-self.mac_size:]):
            raise _bad_integrity(self.name)
        return data[_BLOCK:]

    def checksum(self, key, usage, data):
        kc = self.derive_key(key, _usage_constant(usage, 0x99))
        return hmac.new(kc, bytes(data), hashlib.sha1).digest()[:self.mac_size]


class Aes128CtsHmacSha1(_AesSha1):
    etype, name, key_size, checksum_type = AES128_CTS_HMAC_SHA1_96, "aes128-cts-hmac-sha1-96", 16, 15


class Aes256CtsHmacSha1(_AesSha1):
    etype, name, key_size, checksum_type = AES256_CTS_HMAC_SHA1_96, "aes256-cts-hmac-sha1-96", 32, 16


class _AesSha2(EncType):
    """RFC 8009: AES-CTS with HMAC-SHA256/384 (encrypt-then-MAC), KDF-HMAC-SHA2 derivation."""

    hash_name = ""
    default_params = struct.pack(">I", 32768)

    def kdf(self, key: bytes, label: bytes, nbits: int) -> bytes:
        """KDF-HMAC-SHA2(key, label, k) = k-truncate(HMAC(key, 00000001 | label | 00 | k))."""
        msg = struct.pack(">I", 1) + label + b"\x00" + struct.pack(">I", nbits)
        return hmac.new(key, msg, self.hash_name).digest()[:nbits // 8]

    def string_to_key(self, password: str, salt: bytes, params: bytes | None = None) -> Key:
        iterations = _iterations(params, self.default_params)
        saltp = self.name.encode() + b"\x00" + bytes(salt)
        tkey = hashlib.pbkdf2_hmac(self.hash_name, _utf8(password), saltp, iterations, self.key_size)
        return Key(self.etype, self.kdf(tkey, b"kerberos", self.key_size * 8))

    def _keys(self, key, usage):
        ke = self.kdf(key, _usage_constant(usage, 0xAA), self.key_size * 8)
        ki = self.kdf(key, _usage_constant(usage, 0x55), self.mac_size * 8)
        return ke, ki

    def encrypt(self, key, usage, plaintext, confounder=None):
        ke, ki = self._keys(key, usage)
        data = (confounder if confounder is not None else os.urandom(_BLOCK)) + bytes(plaintext)
        c = cts_encrypt(ke, data)
        return c + hmac.new(ki, bytes(_BLOCK) + c, self.hash_name).digest()[:self.mac_size]

    def decrypt(self, key, usage, ciphertext):
        ciphertext = bytes(ciphertext)
        if len(ciphertext) < _BLOCK + self.mac_size:
            raise _bad_integrity("%s ciphertext too short" % self.name)
        ke, ki = self._keys(key, usage)
        c, mac = ciphertext[:-self.mac_size], ciphertext[-self.mac_size:]
        if not hmac.compare_digest(hmac.new(ki, bytes(_BLOCK) + c, self.hash_name).digest()[:self.mac_size], mac):
            raise _bad_integrity(self.name)
        return cts_decrypt(ke, c)[_BLOCK:]

    def checksum(self, key, usage, data):
        kc = self.kdf(key, _usage_constant(usage, 0x99), self.mac_size * 8)
        return hmac.new(kc, bytes(data), self.hash_name).digest()[:self.mac_size]


class Aes128CtsHmacSha256(_AesSha2):
    etype, name, key_size, checksum_type = AES128_CTS_HMAC_SHA256_128, "aes128-cts-hmac-sha256-128", 16, 19
    mac_size, hash_name = 16, "sha256"


class Aes256CtsHmacSha384(_AesSha2):
    etype, name, key_size, checksum_type = AES256_CTS_HMAC_SHA384_192, "aes256-cts-hmac-sha384-192", 32, 20
    mac_size, hash_name = 24, "sha384"


# RFC 4757 section 3: the Microsoft key usage numbers for the RC4 key derivation
_RC4_USAGE = {3: 8, 9: 8, 23: 13}


class Rc4Hmac(EncType):
    """RFC 4757 rc4-hmac: K1 = HMAC-MD5(key, usage), checksum = HMAC-MD5(K1, confounder |
    data), K3 = HMAC-MD5(K1, checksum), ciphertext = checksum | RC4(K3, confounder | data)."""

    etype, name, key_size, checksum_type, mac_size = RC4_HMAC, "rc4-hmac", 16, HMAC_MD5, 16

    def string_to_key(self, password: str, salt: bytes = b"", params: bytes | None = None) -> Key:
        return Key(self.etype, MD4.new(password.encode("utf-16-le")).digest())

    @staticmethod
    def _k1(key, usage):
        return hmac.new(key, struct.pack("<I", _RC4_USAGE.get(usage, usage)), "md5").digest()

    def encrypt(self, key, usage, plaintext, confounder=None):
        k1 = self._k1(key, usage)
        data = (confounder if confounder is not None else os.urandom(8)) + bytes(plaintext)
        cksum = hmac.new(k1, data, "md5").digest()
        k3 = hmac.new(k1, cksum, "md5").digest()
        return cksum + ARC4.new(k3).encrypt(data)

    def decrypt(self, key, usage, ciphertext):
        ciphertext = bytes(ciphertext)
        if len(ciphertext) < 24:
            raise _bad_integrity("rc4-hmac ciphertext too short")
        k1 = self._k1(key, usage)
        cksum = ciphertext[:16]
        data = ARC4.new(hmac.new(k1, cksum, "md5").digest()).decrypt(ciphertext[16:])
        if not hmac.compare_digest(hmac.new(k1, data, "md5").digest(), cksum):
            raise _bad_integrity(self.name)
        return data[8:]

    def checksum(self, key, usage, data):
        ksign = hmac.new(key, b"signaturekey\x00", "md5").digest()
        inner = hashlib.md5(struct.pack("<I", _RC4_USAGE.get(usage, usage)) + bytes(data)).digest()
        return hmac.new(ksign, inner, "md5").digest()


_ETYPES = {cls.etype: cls() for cls in (Aes256CtsHmacSha1, Aes128CtsHmacSha1, Aes128CtsHmacSha256,
                                        Aes256CtsHmacSha384, Rc4Hmac)}

#: the encryption types this client offers, most preferred first
DEFAULT_ETYPES = (AES256_CTS_HMAC_SHA1_96, AES128_CTS_HMAC_SHA1_96, AES256_CTS_HMAC_SHA384_192,
                  AES128_CTS_HMAC_SHA256_128, RC4_HMAC)
ETYPE_NAMES = {p.name: e for e, p in _ETYPES.items()}
ETYPE_NAMES.update({"arcfour-hmac": RC4_HMAC, "arcfour-hmac-md5": RC4_HMAC, "rc4": RC4_HMAC,
                    "aes256-cts": AES256_CTS_HMAC_SHA1_96, "aes128-cts": AES128_CTS_HMAC_SHA1_96,
                    "aes": AES256_CTS_HMAC_SHA1_96})


def get_etype(etype: int) -> EncType:
    try:
        return _ETYPES[etype]
    except KeyError:
        raise KerberosError("unsupported encryption type %d" % etype) from None


def is_supported(etype: int) -> bool:
    return etype in _ETYPES


def string_to_key(etype: int, password: str, salt, params: bytes | None = None) -> Key:
    """The long-term key of ``password`` for ``etype`` with the KDC's salt (str or bytes)."""
    if isinstance(salt, str):
        salt = salt.encode("utf-8")
    return get_etype(etype).string_to_key(password, salt or b"", params)


def _utf8(password) -> bytes:
    return password.encode("utf-8") if isinstance(password, str) else bytes(password)


def _iterations(params, default) -> int:
    params = params if params else default
    if len(params) != 4:
        raise KerberosError("bad string-to-key parameters (%d bytes)" % len(params))
    count = struct.unpack(">I", params)[0]
    if not 1 <= count <= 10_000_000:  # RFC 3962 8: refuse absurd iteration counts (DoS)
        raise KerberosError("refusing a string-to-key iteration count of %d" % count)
    return count
