"""pysmb's ``smb.utils.rc4.RC4_encrypt``, backed by pycryptodome's ARC4 (no hand-written
cipher here)."""

from smb.ntlm_crypto import rc4 as _rc4


def RC4_encrypt(key, data):
    """RC4 of ``data`` under ``key`` (encryption and decryption are the same operation)."""
    return _rc4(bytes(key), bytes(data))
