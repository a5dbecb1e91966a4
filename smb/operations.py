"""Helpers of the facade that do not talk to the server: path normalisation, the SMB1-style
search-attribute filter ([MS-CIFS] 2.2.1.2.4), directory entries to ``SharedFile``, progress
bars and deadlines.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, Tuple

from smb import fscc
from smb.base import SharedFile
from smb.errors import ProtocolError
from smb.smb_constants import (
    ATTR_DIRECTORY,
    ATTR_HIDDEN,
    ATTR_SYSTEM,
)

# Attributes a search mask must name for an entry carrying them to be returned.
_FILTERED = ATTR_HIDDEN | ATTR_SYSTEM | ATTR_DIRECTORY


def normalize_path(path) -> str:
    """``'/a//b/c/'`` or ``'\\\\a\\\\b'`` -> ``'a\\\\b\\\\c'`` (relative to the share)."""
    if isinstance(path, bytes):
        path = path.decode("utf-8")
    parts = [p for p in path.replace("/", "\\").split("\\") if p not in ("", ".")]
    return "\\".join(parts)


def split_parent(path: str) -> Tuple[str, str]:
    """Normalised ``'a\\\\b\\\\c'`` -> ``('a\\\\b', 'c')``."""
    head, _, tail = path.rpartition("\\")
    return head, tail


def join(parent: str, name: str) -> str:
    return parent + "\\" + name if parent else name


def matches_search(file_attributes: int, search: int) -> bool:
    """The SMB1 search-attribute rule, applied on the client for every dialect.

    Hidden, system and directory entries are returned only when ``search`` names those
    attributes; read-only, archive and normal entries always are. The high byte
    (``SMB_SEARCH_ATTRIBUTE_*``) lists attributes an entry *must* carry.
    """
    if file_attributes & _FILTERED & ~search:
        return False
    must = (search >> 8) & 0x37
    return (file_attributes & must) == must


class ListingNames:
    """Checks the names of one directory listing as they arrive: names come from the server,
    and callers build paths from them (``deleteFiles`` deletes what they name).

    A name that is empty, holds a path separator ('\\' or '/') or a NUL, or that repeats
    within the listing ('.' and '..' included: each comes at most once) is malformed server
    data (ProtocolError). Repeats matter beyond names: a server replaying the same pages
    forever would otherwise grow the result without bound."""

    __slots__ = ("_seen",)

    def __init__(self):
        self._seen = set()

    def check(self, name: str) -> None:
        if not name or "\\" in name or "/" in name or "\0" in name:
            raise ProtocolError("directory listing has an invalid name %r" % name[:100])
        if name in self._seen:
            raise ProtocolError("directory listing repeats the name %r" % name[:100])
        self._seen.add(name)


_EPOCH = fscc.EPOCH_AS_FILETIME


def entry_to_shared_file(entry) -> SharedFile:
    """A directory entry (``fscc.DirectoryEntry``) -> SharedFile (times as in
    ``fscc.filetime_to_epoch``, inlined: this runs once per listed entry)."""
    (file_index, ctime, atime, wtime, chtime, eof, alloc, attrs, _ea, short, name, _fid) = entry
    return SharedFile((ctime - _EPOCH) / 1e7, (atime - _EPOCH) / 1e7, (wtime - _EPOCH) / 1e7,
                      (chtime - _EPOCH) / 1e7, eof, alloc, attrs, short, name, file_index or None)


def deadline_after(timeout) -> float:
    if timeout is None or timeout <= 0:
        return float("inf")
    return time.monotonic() + timeout


class Progress:
    """A tqdm bar when asked for and installed; a no-op otherwise."""

    def __init__(self, show: bool, total: Optional[int], description: str, tqdm_kwargs=None):
        self.bar = None
        if show:
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional (extra "progress")
                return
            kwargs = {"total": total, "unit": "B", "unit_scale": True, "unit_divisor": 1024,
                      "desc": description}
            kwargs.update(tqdm_kwargs or {})
            self.bar = tqdm(**kwargs)

    @property
    def callback(self) -> Optional[Callable[[int], object]]:
        return self.bar.update if self.bar is not None else None

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
