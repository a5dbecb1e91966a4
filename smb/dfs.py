"""DFS: referral codec, referral cache and the facade's transparent following of links.

[MS-DFSC] 2.2.2 REQ_GET_DFS_REFERRAL, 2.2.4 RESP_GET_DFS_REFERRAL, 2.2.5.1-2.2.5.4
DFS_REFERRAL_V1..V4; sent as FSCTL_DFS_GET_REFERRALS on IPC$ ([MS-SMB2] 3.2.4.20.3) or
TRANS2_GET_DFS_REFERRAL ([MS-CIFS] 2.2.6.16). A CREATE answered STATUS_PATH_NOT_COVERED
([MS-SMB2] 3.2.5.1, [MS-DFSC] 3.1.5.1) means the path crosses a DFS link: the client asks
the server for the referral, connects to the target (a second connection with the same
credentials and the same security settings, never weaker) and retries there.

Bounds: the cache holds at most :data:`CACHE_SIZE` referrals, each for its TimeToLive
(capped at :data:`MAX_TTL`); a chain of referrals longer than :data:`MAX_HOPS` (a loop)
raises OperationFailure(STATUS_PATH_NOT_COVERED).
"""

from __future__ import annotations

import copy
import functools
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Optional, Tuple

from smb.errors import OperationFailure, ProtocolError
from smb.ntstatus import STATUS_PATH_NOT_COVERED

#: the highest referral version asked for ([MS-DFSC] 2.2.2 MaxReferralLevel)
MAX_REFERRAL_LEVEL = 4
#: referrals a connection remembers
CACHE_SIZE = 128
#: longest time a referral is trusted, whatever TimeToLive the server gave (seconds)
MAX_TTL = 3600
#: longest chain of referrals followed for one operation
MAX_HOPS = 8
#: largest referral response accepted
MAX_RESPONSE = 16384
#: [MS-DFSC] 2.2.5.3 ReferralEntryFlags NameListReferral (a domain referral: no target path)
NAME_LIST_REFERRAL = 0x0002

_RESP_HEADER = struct.Struct("<HHI")
_ENTRY_HEADER = struct.Struct("<HHHH")  # VersionNumber, Size, ServerType, ReferralEntryFlags


@dataclass(frozen=True)
class Referral:
    """One referral entry: ``dfs_path`` (the link, '\\server\\share\\link') is served by
    ``target`` ('\\server\\share[\\path]')."""

    version: int
    dfs_path: str
    target: str
    ttl: int
    flags: int = 0


@dataclass(frozen=True)
class ReferralResponse:
    path_consumed: int  # in characters of the request path
    header_flags: int
    referrals: Tuple[Referral, ...]


def encode_request(path: str, max_level: int = MAX_REFERRAL_LEVEL) -> bytes:
    """REQ_GET_DFS_REFERRAL ([MS-DFSC] 2.2.2)."""
    return struct.pack("<H", max_level) + (path + "\0").encode("utf-16-le")


def _string_at(data: bytes, start: int, end_limit: int) -> str:
    """A null-terminated UTF-16 string at ``start`` (within ``data[:end_limit]``)."""
    if start < 0 or start >= end_limit:
        raise ProtocolError("DFS referral string offset out of range")
    i = start
    while i + 1 < end_limit:
        if data[i] == 0 and data[i + 1] == 0:
            return data[start:i].decode("utf-16-le", errors="strict")
        i += 2
    raise ProtocolError("DFS referral string not terminated")


def decode_response(data: bytes, request_path: str) -> ReferralResponse:
    """RESP_GET_DFS_REFERRAL ([MS-DFSC] 2.2.4) with V1-V4 entries (2.2.5)."""
    data = bytes(data)
    if len(data) < _RESP_HEADER.size:
        raise ProtocolError("DFS referral response too short")
    consumed, count, flags = _RESP_HEADER.unpack_from(data)
    pos = _RESP_HEADER.size
    referrals = []
    try:
        for _ in range(count):
            version, size, _server_type, entry_flags = _ENTRY_HEADER.unpack_from(data, pos)
            if size < _ENTRY_HEADER.size or pos + size > len(data):
                raise ProtocolError("DFS referral entry size out of range")
            referrals.append(_entry(data, pos, version, entry_flags, request_path))
            pos += size
    except struct.error:
        raise ProtocolError("DFS referral entry truncated") from None
    except UnicodeDecodeError:
        raise ProtocolError("DFS referral string is not UTF-16") from None
    # PathConsumed counts bytes of the UTF-16 request name ([MS-DFSC] 2.2.4)
    chars = min(consumed // 2, len(request_path))
    return ReferralResponse(chars, flags, tuple(r for r in referrals if r is not None))


def _entry(data: bytes, pos: int, version: int, flags: int, request_path: str) -> Optional[Referral]:
    if version == 1:  # ShareName inline after the 8-byte header
        target = _string_at(data, pos + 8, len(data))
        return Referral(1, request_path, target, 0, flags)
    if version == 2:
        _p, ttl, dfs_off, _alt, net_off = struct.unpack_from("<IIHHH", data, pos + 8)
    elif version in (3, 4):
        ttl, = struct.unpack_from("<I", data, pos + 8)
        if flags & NAME_LIST_REFERRAL:
            return None  # a domain / DC referral: no share target
        dfs_off, _alt, net_off = struct.unpack_from("<HHH", data, pos + 12)
    else:
        raise ProtocolError("DFS referral version %d unknown" % version)
    return Referral(version, _string_at(data, pos + dfs_off, len(data)),
                    _string_at(data, pos + net_off, len(data)), ttl, flags)


def split_unc(path: str) -> Tuple[str, str, str]:
    """'\\server\\share\\rest' -> (server, share, rest with '\\')."""
    parts = path.strip("\\").split("\\", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ProtocolError("DFS referral target %r is not \\\\server\\share" % path)
    return parts[0], parts[1], parts[2] if len(parts) > 2 else ""


class ReferralCache:
    """DFS path prefix -> target, longest prefix on component boundaries, bounded in size
    (least recently used dropped) and in time (each entry's TTL, at most MAX_TTL)."""

    def __init__(self, size: int = CACHE_SIZE, clock=time.monotonic):
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: "OrderedDict[str, Tuple[str, float]]" = OrderedDict()

    def __len__(self):
        return len(self._entries)

    def add(self, prefix: str, target: str, ttl: int) -> None:
        if ttl <= 0:
            return
        key = prefix.rstrip("\\").lower()
        with self._lock:
            self._entries[key] = (target, self._clock() + min(ttl, MAX_TTL))
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def lookup(self, path: str) -> Optional[Tuple[str, str]]:
        """(target, rest of path) for the longest cached prefix of ``path``, or None."""
        low = path.lower()
        now = self._clock()
        with self._lock:
            best = None
            for key in list(self._entries):
                target, expires = self._entries[key]
                if expires <= now:
                    del self._entries[key]
                    continue
                if (low == key or low.startswith(key + "\\")) and (best is None or len(key) > len(best)):
                    best = key
            if best is None:
                return None
            self._entries.move_to_end(best)
            return self._entries[best][0], path[len(best):].lstrip("\\")


def resolve_response(resp: ReferralResponse, request_path: str) -> Tuple[Referral, str]:
    """The referral to use and the rest of ``request_path`` after the link."""
    if not resp.referrals:
        raise OperationFailure("DFS: no usable referral for '%s'" % request_path, [],
                               status=STATUS_PATH_NOT_COVERED)
    ref = resp.referrals[0]
    low = request_path.lower()
    link = ref.dfs_path.rstrip("\\").lower()
    if ref.version > 1 and (low == link or low.startswith(link + "\\")):
        consumed = len(link)
    else:
        consumed = resp.path_consumed
    return ref, request_path[consumed:].lstrip("\\")


# ---------------------------------------------------------------- following links (facade)

#: SMBConnection methods whose first two arguments are (service_name, path) and whose path
#: may cross a DFS link
FOLLOWED = ("listPath", "listSnapshots", "getAttributes", "getSecurity", "retrieveFileFromOffset",
            "storeFileFromOffset", "createDirectory", "deleteDirectory", "deleteFiles",
            "resetFileAttributes", "setLastWriteTime")

_hops = threading.local()


class Resolver:
    """A connection's DFS state: the referral cache and the connections to link targets
    (keyed by server name; the referring connection itself serves its own server)."""

    def __init__(self):
        self.cache = ReferralCache()
        self._lock = threading.Lock()
        self.targets = {}

    def close(self) -> None:
        with self._lock:
            targets, self.targets = self.targets, {}
        for c in targets.values():
            c.close()

    def connection(self, conn, server: str, timeout):
        """``conn`` itself when ``server`` is the host it is connected to, else a second
        connection made with the same credentials and security settings."""
        host, port, family = conn._dfs_address
        if server.lower() in (host.lower(), conn.remote_name.lower()):
            return conn
        with self._lock:
            target = self.targets.get(server.lower())
            if target is None:
                target = _clone(conn, server)
                if not target.connect(server, port, family, timeout):
                    raise OperationFailure("DFS: authentication refused by the link target '%s'"
                                           % server, [])
                self.targets[server.lower()] = target
        return target

    def referral(self, conn, service_name: str, path: str, timeout) -> str:
        """Ask ``conn``'s server where '\\server\\service\\path' is; returns the target UNC
        path with the rest of ``path`` joined, and caches the link."""
        from smb.engine import Timeout

        host = conn._dfs_address[0]
        request = "\\%s\\%s\\%s" % (host, service_name, path)
        wait = Timeout(timeout)
        with conn._failure("get the DFS referral of", service_name, path):
            data = conn._need_engine().get_dfs_referral(conn._tree("IPC$", wait), request, wait)
        resp = decode_response(data, request)
        ref, rest = resolve_response(resp, request)
        self.cache.add(request[:len(request) - len(rest)], ref.target, ref.ttl)
        return _join(ref.target, rest)


def _join(target: str, rest: str) -> str:
    return target.rstrip("\\") + ("\\" + rest if rest else "")


def _clone(conn, server: str):
    """An unconnected copy of ``conn``: the same user, password, security settings
    (signing, encryption, SMB1, guest, Kerberos...), for another server."""
    clone = copy.copy(conn)
    clone._dfs = Resolver()  # its own targets (connect() closes them); the hop bound is shared
    clone._engine = None
    clone._trees = {}
    clone._tree_lock = threading.Lock()
    clone._tree_locks = {}
    clone.auth_result = None
    clone.remote_name = server.split(".")[0].upper()[:15]
    clone._mirror_state(None)
    return clone


def resolver(conn) -> Resolver:
    r = conn.__dict__.get("_dfs")
    if r is None:
        r = conn.__dict__.setdefault("_dfs", Resolver())
    return r


def _follow(method):
    name = method.__name__

    @functools.wraps(method)
    def followed(self, service_name, path, *args, **kwargs):
        timeout = kwargs.get("timeout", 30)
        res = resolver(self)
        host = self._dfs_address[0] if getattr(self, "_dfs_address", None) else None
        if host is not None:
            hit = res.cache.lookup("\\%s\\%s\\%s" % (host, service_name, _backslashes(path)))
            if hit is not None:
                return _retry(self, res, name, hit[0], hit[1], args, kwargs, timeout)
        try:
            return method(self, service_name, path, *args, **kwargs)
        except OperationFailure as e:
            if e.status != STATUS_PATH_NOT_COVERED or host is None:
                raise
        target = res.referral(self, service_name, _backslashes(path), timeout)
        return _retry(self, res, name, target, "", args, kwargs, timeout)

    return followed


def _retry(conn, res, name, target, rest, args, kwargs, timeout):
    depth = getattr(_hops, "depth", 0)
    if depth >= MAX_HOPS:
        raise OperationFailure("DFS: more than %d referrals (a loop?) at '%s'" % (MAX_HOPS, target),
                               [], status=STATUS_PATH_NOT_COVERED)
    server, share, path = split_unc(_join(target, rest))
    other = res.connection(conn, server, timeout)
    _hops.depth = depth + 1
    try:
        return getattr(other, name)(share, path, *args, **kwargs)
    finally:
        _hops.depth = depth


def _backslashes(path: str) -> str:
    return path.replace("/", "\\").strip("\\")


def install(cls) -> None:
    """Make ``cls``'s path operations follow DFS links."""
    for name in FOLLOWED:
        setattr(cls, name, _follow(getattr(cls, name)))
