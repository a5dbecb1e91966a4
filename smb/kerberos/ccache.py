"""MIT credential cache files (the ``FILE:`` ccache type; MIT krb5 "ccache file format"
documentation, versions 3 and 4) and keytab files (MIT "keytab file format", version 0x0502).

ccache v4: ``05 04``, a header of tagged fields (tag 1 = KDC time offset), the default
principal, then credentials: client and server principal, keyblock (16-bit enctype, 32-bit
length), authtime/starttime/endtime/renew_till (32-bit), is_skey, ticket flags, addresses,
authdata, ticket and second ticket (32-bit counted). Principals: name type, component count,
realm and components (32-bit counted). Entries whose server realm is ``X-CACHECONF:`` are
MIT configuration entries: kept when rewriting, never used as tickets. v3 is v4 without header.

keytab v2: ``05 02``, then records of a signed 32-bit size (negative: a hole), component
count (16-bit, realm excluded), realm and components (16-bit counted), name type, timestamp,
8-bit kvno, keyblock (16-bit enctype, 16-bit counted key) and an optional 32-bit kvno.

``KRB5CCNAME`` names the default ccache (``FILE:path`` or a bare path); other ccache types
(KEYRING:, KCM:, DIR:, MEMORY:) are refused with a message. Files are written atomically with
mode 0600. Malformed files raise :class:`smb.kerberos.errors.KerberosError`.
"""

from __future__ import annotations

import os
import struct
import tempfile
from typing import Dict, List, Optional

from smb.kerberos.creds import Credential, Principal
from smb.kerberos.crypto import Key
from smb.kerberos.errors import KerberosError

CONF_REALM = "X-CACHECONF:"
MAX_FIELD = 1 << 20


def ccache_path(name: Optional[str] = None) -> Optional[str]:
    """The file path of a ccache name (``FILE:path`` or ``path``), ``name`` defaulting to
    ``$KRB5CCNAME``; None when neither names one."""
    name = name if name else os.environ.get("KRB5CCNAME", "")
    if not name:
        return None
    kind, sep, rest = name.partition(":")
    if sep and kind.upper() == "FILE":
        return rest
    if sep and kind.isalpha() and len(kind) > 1:
        raise KerberosError("credential cache type %s: is not supported (only FILE: caches)" % kind.upper())
    return name


class _Reader:
    def __init__(self, data: bytes, what: str, big_counts: bool = True):
        self.data, self.pos, self.what, self.big = data, 0, what, big_counts

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise KerberosError("%s is truncated or corrupt (at byte %d)" % (self.what, self.pos))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def counted(self) -> bytes:
        n = self.u32() if self.big else self.u16()
        if n > MAX_FIELD:
            raise KerberosError("%s: field of %d bytes is not plausible" % (self.what, n))
        return self.take(n)

    def text(self) -> str:
        return self.counted().decode("utf-8", "replace")

    @property
    def done(self) -> bool:
        return self.pos >= len(self.data)


def _w32(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


# --- ccache -------------------------------------------------------------------------------------

class CCache:
    """An in-memory credential cache, loaded from and saved to an MIT FILE: ccache."""

    def __init__(self, principal: Optional[Principal] = None):
        self.principal = principal
        self.credentials: List[Credential] = []
        self._conf_entries: List[bytes] = []  # raw MIT config entries, kept as they were

    @classmethod
    def load(cls, path: str) -> "CCache":
        try:
            with open(path, "rb") as f:
                data = f.read(64 * MAX_FIELD)
        except OSError as e:
            raise KerberosError("cannot read the credential cache %s: %s" % (path, e.strerror or e)) from None
        return cls.parse(data, path)

    @classmethod
    def parse(cls, data: bytes, what: str = "ccache") -> "CCache":
        r = _Reader(bytes(data), "credential cache %s" % what)
        version = r.u16()
        if version not in (0x0503, 0x0504):
            raise KerberosError("credential cache %s: unsupported format version 0x%04X" % (what, version))
        if version == 0x0504:
            r.take(r.u16())  # header tags (KDC time offset): not needed
        cache = cls(_read_principal(r))
        while not r.done:
            start = r.pos
            cred = _read_credential(r)
            if cred is None:
                cache._conf_entries.append(r.data[start:r.pos])
            else:
                cache.credentials.append(cred)
        return cache

    def to_bytes(self) -> bytes:
        if self.principal is None:
            raise KerberosError("cannot write a credential cache without a default principal")
        out = [struct.pack(">HH", 0x0504, 12), struct.pack(">HHii", 1, 8, 0, 0), _principal(self.principal)]
        out += self._conf_entries
        out += [_credential(c) for c in self.credentials]
        return b"".join(out)

    def save(self, path: str) -> None:
        """Write atomically (temporary file + rename), mode 0600."""
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".ccache-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.to_bytes())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def find(self, server: Principal, client: Optional[Principal] = None, now: Optional[float] = None):
        """A still-valid credential for ``server`` (and ``client``), newest first."""
        for cred in reversed(self.credentials):
            if cred.server.same_name(server) and (client is None or cred.client.same_name(client)) \
                    and cred.valid(now):
                return cred
        return None

    def add(self, cred: Credential) -> None:
        """Store ``cred``, replacing an older one for the same client and server."""
        self.credentials = [c for c in self.credentials
                            if not (c.server.same_name(cred.server) and c.client.same_name(cred.client))]
        self.credentials.append(cred)


def _read_principal(r: _Reader) -> Principal:
    name_type, count = r.u32(), r.u32()
    if count > 64:
        raise KerberosError("%s: principal with %d components" % (r.what, count))
    realm = r.text()
    return Principal(tuple(r.text() for _ in range(count)), realm, name_type)


def _principal(p: Principal) -> bytes:
    out = struct.pack(">II", p.name_type, len(p.components)) + _w32(p.realm.encode())
    return out + b"".join(_w32(c.encode()) for c in p.components)


def _read_credential(r: _Reader) -> Optional[Credential]:
    client, server = _read_principal(r), _read_principal(r)
    etype = r.u16()
    key = r.counted()
    authtime, starttime, endtime, renew_till = (r.u32() for _ in range(4))
    r.u8()  # is_skey
    flags = r.u32()
    for _ in range(r.u32()):  # addresses
        r.u16()
        r.counted()
    for _ in range(r.u32()):  # authdata
        r.u16()
        r.counted()
    ticket = r.counted()
    r.counted()  # second ticket
    if server.realm == CONF_REALM:
        return None
    return Credential(client, server, Key(etype, key), ticket, authtime, starttime, endtime, renew_till, flags)


def _credential(c: Credential) -> bytes:
    return b"".join([
        _principal(c.client), _principal(c.server), struct.pack(">H", c.key.etype), _w32(c.key.contents),
        struct.pack(">IIIIBI", c.authtime, c.starttime, c.endtime, c.renew_till, 0, c.flags),
        struct.pack(">II", 0, 0), _w32(c.ticket), _w32(b"")])


# --- keytab -------------------------------------------------------------------------------------

def load_keytab(path: str, principal: Principal) -> Dict[int, Key]:
    """The keys of ``principal`` in a keytab file: etype -> Key of the highest kvno."""
    if path.upper().startswith("FILE:"):
        path = path[5:]
    elif path.upper().startswith("WRFILE:"):
        path = path[7:]
    try:
        with open(path, "rb") as f:
            data = f.read(64 * MAX_FIELD)
    except OSError as e:
        raise KerberosError("cannot read the keytab %s: %s" % (path, e.strerror or e)) from None
    r = _Reader(data, "keytab %s" % path, big_counts=False)
    if r.u16() != 0x0502:
        raise KerberosError("keytab %s: unsupported format (only version 0x0502)" % path)
    best: Dict[int, tuple] = {}
    while not r.done:
        size = struct.unpack(">i", r.take(4))[0]
        if size <= 0:
            r.take(-size)
            continue
        rec = _Reader(r.take(size), r.what, big_counts=False)
        count = rec.u16()
        realm = rec.text()
        comps = tuple(rec.text() for _ in range(count))
        rec.u32()  # name type
        rec.u32()  # timestamp
        kvno = rec.u8()
        etype = rec.u16()
        key = rec.counted()
        if len(rec.data) - rec.pos >= 4:
            kvno = rec.u32() or kvno
        if Principal(comps, realm).same_name(principal) and kvno >= best.get(etype, (-1,))[0]:
            best[etype] = (kvno, Key(etype, key))
    return {etype: key for etype, (_kvno, key) in best.items()}
