"""MD4 (RFC 1320) for pysmb users who import ``smb.utils.md4.MD4``.

A thin, hashlib-like wrapper over pycryptodome's ``Crypto.Hash.MD4`` (OpenSSL builds often
lack MD4, so ``hashlib.new('md4')`` cannot be relied on). NTLM's NTOWFv1 ([MS-NLMP] 3.3.1)
is MD4 of the UTF-16LE password.
"""

from __future__ import annotations

from Crypto.Hash import MD4 as _MD4


class MD4:
    """``MD4(data=b'')`` with ``update``, ``digest``, ``hexdigest`` and ``copy`` (alias
    ``make_copy``)."""

    name = "md4"
    digest_size = 16
    block_size = 64

    def __init__(self, data: bytes = b""):
        self._h = _MD4.new()
        if data:
            self.update(data)

    def update(self, str) -> "MD4":  # noqa: A002  (pysmb's parameter name)
        data = str
        if isinstance(data, type("")):
            data = data.encode("latin-1")  # pysmb accepted byte strings as str on Python 2
        self._h.update(bytes(data))
        return self

    def digest(self) -> bytes:
        return self._h.digest()

    def hexdigest(self) -> str:
        return self._h.hexdigest()

    def copy(self) -> "MD4":
        other = MD4.__new__(MD4)
        other._h = self._h.copy()
        return other

    #: pysmb's name for :meth:`copy`
    make_copy = copy


#: ``new(data)`` is a new MD4 object, as in pysmb (where ``new`` is the class itself)
new = MD4
