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
from smb.ntstatus import (STATUS_NOT_FOUND, STATUS_NOT_SAME_DEVICE, STATUS_OBJECT_PATH_NOT_FOUND,
                          STATUS_PATH_NOT_COVERED)

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


#: the smallest Size of an entry of each version: its fixed fields ([MS-DFSC] 2.2.5.1-2.2.5.4;
#: V3/V4 up to the offsets, which a NameListReferral entry ends with)
_MIN_SIZE = {1: 8, 2: 22, 3: 18, 4: 18}


def _string_at(data: bytes, start: int, lo: int, hi: int) -> str:
    """The null-terminated UTF-16 string at ``start``, which must lie in ``data[lo:hi]``."""
    if start < lo or start >= hi:
        raise ProtocolError("DFS referral string offset out of range")
    i = start
    while i + 1 < hi:
        if data[i] == 0 and data[i + 1] == 0:
            return data[start:i].decode("utf-16-le", errors="strict")
        i += 2
    raise ProtocolError("DFS referral string not terminated")


def decode_response(data: bytes, request_path: str) -> ReferralResponse:
    """RESP_GET_DFS_REFERRAL ([MS-DFSC] 2.2.4) with V1-V4 entries (2.2.5). The entries
    follow the header back to back, the strings they point to follow the entries: an entry
    or a string outside its place (truncated, overlapping, out of range) is a ProtocolError."""
    data = bytes(data)
    if len(data) < _RESP_HEADER.size:
        raise ProtocolError("DFS referral response too short")
    consumed, count, flags = _RESP_HEADER.unpack_from(data)
    entries = []
    pos = _RESP_HEADER.size
    for _ in range(count):
        if pos + _ENTRY_HEADER.size > len(data):
            raise ProtocolError("DFS referral entry truncated")
        version, size, _server_type, entry_flags = _ENTRY_HEADER.unpack_from(data, pos)
        if version not in _MIN_SIZE:
            raise ProtocolError("DFS referral version %d unknown" % version)
        if size < _MIN_SIZE[version] or pos + size > len(data):
            raise ProtocolError("DFS referral entry size out of range")
        entries.append((pos, size, version, entry_flags))
        pos += size
    try:
        referrals = [_entry(data, e, pos, request_path) for e in entries]
    except UnicodeDecodeError:
        raise ProtocolError("DFS referral string is not UTF-16") from None
    # PathConsumed counts bytes of the UTF-16 request name ([MS-DFSC] 2.2.4)
    chars = min(consumed // 2, len(request_path))
    return ReferralResponse(chars, flags, tuple(r for r in referrals if r is not None))


def _entry(data: bytes, entry, strings: int, request_path: str) -> Optional[Referral]:
    """One entry; ``strings``: where the string area after the entries starts."""
    pos, size, version, flags = entry
    if version == 1:  # ShareName inside the entry, after its 8-byte header
        return Referral(1, request_path, _string_at(data, pos + 8, pos + 8, pos + size), 0, flags)
    if version == 2:
        _p, ttl, dfs_off, _alt, net_off = struct.unpack_from("<IIHHH", data, pos + 8)
    else:
        ttl, = struct.unpack_from("<I", data, pos + 8)
        if flags & NAME_LIST_REFERRAL:
            return None  # a domain / DC referral: no share target
        dfs_off, _alt, net_off = struct.unpack_from("<HHH", data, pos + 12)
    return Referral(version, _string_at(data, pos + dfs_off, strings, len(data)),
                    _string_at(data, pos + net_off, strings, len(data)), ttl, flags)


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
            "resetFileAttributes", "setLastWriteTime", "openFile", "setSecurity", "watchDirectory")

#: a referral request for a path that crosses no link fails with one of these
_NO_LINK = (STATUS_OBJECT_PATH_NOT_FOUND, STATUS_NOT_FOUND)

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

        request = _unc(conn, service_name, path)
        wait = Timeout(timeout)
        with conn._failure("get the DFS referral of", service_name, path):
            data = conn._need_engine().get_dfs_referral(conn._tree("IPC$", wait), request, wait)
            # a malformed referral (ProtocolError) breaks the connection, as any server data
            ref, rest = resolve_response(decode_response(data, request), request)
        self.cache.add(request[:len(request) - len(rest)], ref.target, ref.ttl)
        return _join(ref.target, rest)

    def locate(self, conn, service_name: str, path: str, timeout) -> Tuple[str, str, str]:
        """(server, share, path) serving ``path`` of ``service_name``: a link's target (from
        the cache, else the server's referral) when it crosses one, else the path itself."""
        hit = self.cache.lookup(_unc(conn, service_name, path))
        if hit is not None:
            return split_unc(_join(*hit))
        try:
            return split_unc(self.referral(conn, service_name, path, timeout))
        except OperationFailure as e:
            if e.status not in _NO_LINK:
                raise
        return conn._dfs_address[0], service_name, path


def _unc(conn, service_name: str, path: str) -> str:
    return "\\%s\\%s\\%s" % (conn._dfs_address[0], service_name, path)


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
    clone.__dict__.pop("_open_files", None)  # the files open on conn stay conn's
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
        if getattr(self, "_dfs_address", None) is None:
            return method(self, service_name, path, *args, **kwargs)
        hit = res.cache.lookup(_unc(self, service_name, _backslashes(path)))
        if hit is not None:
            return _call_at(self, res, name, split_unc(_join(*hit)), (), args, kwargs, timeout)
        kept = _Kept.wrap(self, name, service_name, path, args, kwargs, timeout)
        try:
            return method(self, service_name, path, *kept.args, **kept.kwargs)
        except OperationFailure as e:
            if e.status != STATUS_PATH_NOT_COVERED:
                raise
        target = res.referral(self, service_name, _backslashes(path), timeout)
        args, kwargs = kept.again()
        return _call_at(self, res, name, split_unc(target), (), args, kwargs, timeout)

    return followed


class _Kept:
    """The arguments of a first attempt that may be made again on a link target. A store's
    source file is read before the server answers its CREATE (one compound sends CREATE and
    the first WRITE): what the attempt read is kept, at most ``limit`` bytes (a store reads
    at most two chunks ahead of that answer), and read first by the next attempt."""

    def __init__(self, args, kwargs, source=None, limit=0):
        self.args, self.kwargs, self._source, self._limit = args, kwargs, source, limit
        self._kept = bytearray()
        self._complete = True

    @classmethod
    def wrap(cls, conn, name, service_name, path, args, kwargs, timeout) -> "_Kept":
        if name != "storeFileFromOffset" or not _in_dfs(conn, service_name, path, timeout):
            return cls(args, kwargs)
        engine = conn._need_engine()
        kept = cls(args, kwargs, args[0] if args else kwargs["file_obj"],
                   2 * max(engine.write_chunk, engine.max_write_size))
        if args:
            kept.args = (kept,) + tuple(args[1:])
        else:
            kept.kwargs = dict(kwargs, file_obj=kept)
        return kept

    def read(self, n=-1):
        data = self._source.read(n)
        if self._complete:
            self._kept += data
            if len(self._kept) > self._limit:
                self._kept, self._complete = bytearray(), False
        return data

    def again(self):
        """The arguments for the next attempt."""
        if self._source is None:
            return self.args, self.kwargs
        if not self._complete:  # cannot happen: a store reads less ahead of its CREATE
            raise OperationFailure("DFS: the source read before the referral cannot be read again", [],
                                   status=STATUS_PATH_NOT_COVERED)
        replay = _Replay(bytes(self._kept), self._source)
        if "file_obj" in self.kwargs:
            return self.args, dict(self.kwargs, file_obj=replay)
        return (replay,) + tuple(self.args[1:]), self.kwargs


def _in_dfs(conn, service_name: str, path: str, timeout) -> bool:
    """Whether ``service_name`` is a DFS share (only those answer STATUS_PATH_NOT_COVERED);
    failures as those of the store of ``path``."""
    from smb.engine import Timeout

    with conn._failure("store", service_name, path):
        return bool(conn._tree(service_name, Timeout(timeout)).dfs_prefix)


class _Replay:
    """``read`` giving ``head`` first, then ``source``'s data."""

    def __init__(self, head: bytes, source):
        self._head, self._source = memoryview(head), source

    def read(self, n=-1):
        if not len(self._head):
            return self._source.read(n)
        if n is None or n < 0:
            out, self._head = bytes(self._head) + self._source.read(), memoryview(b"")
            return out
        out, self._head = bytes(self._head[:n]), self._head[n:]
        return out


def _follow_rename(method):
    """rename(service_name, old_path, new_path, ...): both paths must lie on the same target
    (a server and share); a rename from one target to another is refused with
    STATUS_NOT_SAME_DEVICE, as a server refuses a rename across volumes."""

    @functools.wraps(method)
    def rename(self, service_name, old_path, new_path, *args, **kwargs):
        timeout = kwargs.get("timeout", 30)
        res = resolver(self)
        if getattr(self, "_dfs_address", None) is None:
            return method(self, service_name, old_path, new_path, *args, **kwargs)
        old, new = _backslashes(old_path), _backslashes(new_path)
        if res.cache.lookup(_unc(self, service_name, old)) is None \
                and res.cache.lookup(_unc(self, service_name, new)) is None:
            try:
                return method(self, service_name, old_path, new_path, *args, **kwargs)
            except OperationFailure as e:
                if e.status != STATUS_PATH_NOT_COVERED:
                    raise
                failure = e
        else:
            failure = None
        src = res.locate(self, service_name, old, timeout)
        dst = res.locate(self, service_name, new, timeout)
        if (src[0].lower(), src[1].lower()) != (dst[0].lower(), dst[1].lower()):
            raise OperationFailure("DFS: cannot rename '%s' to '%s' on share '%s': they lie on "
                                   "different targets (\\\\%s\\%s and \\\\%s\\%s)"
                                   % ((old_path, new_path, service_name) + src[:2] + dst[:2]), [],
                                   status=STATUS_NOT_SAME_DEVICE)
        if failure is not None and (src[1], src[2], dst[2]) == (service_name, old, new):
            raise failure  # neither path crosses a link: the server's own answer
        return _call_at(self, res, "rename", src[:2], (src[2], dst[2]), args, kwargs, timeout)

    return rename


def _call_at(conn, res, name, location, more_paths, args, kwargs, timeout):
    """``name`` on the connection serving ``location`` (server, share[, path]), one hop more
    (at most MAX_HOPS: a chain of referrals longer than that is a loop)."""
    depth = getattr(_hops, "depth", 0)
    if depth >= MAX_HOPS:
        raise OperationFailure("DFS: more than %d referrals (a loop?) at '\\\\%s'"
                               % (MAX_HOPS, "\\".join(location)), [], status=STATUS_PATH_NOT_COVERED)
    server, share, paths = location[0], location[1], tuple(location[2:]) + tuple(more_paths)
    other = res.connection(conn, server, timeout)
    _hops.depth = depth + 1
    try:
        return getattr(other, name)(share, *paths, *args, **kwargs)
    finally:
        _hops.depth = depth


def _backslashes(path: str) -> str:
    return path.replace("/", "\\").strip("\\")


def install(cls) -> None:
    """Make ``cls``'s path operations follow DFS links."""
    for name in FOLLOWED:
        setattr(cls, name, _follow(getattr(cls, name)))
    cls.rename = _follow_rename(cls.rename)
