"""Helpers of the facade that do not talk to the server: path normalisation, pysmb's
``listPath`` search filter, directory entries to ``SharedFile``, the check of names in a
listing, progress bars.
"""

from __future__ import annotations

import io
from typing import Callable, Optional, Tuple

from smb import fscc
from smb.base import SharedFile
from smb.errors import ProtocolError
from smb.smb_constants import ATTR_NORMAL, SMB_FILE_ATTRIBUTE_INCL_NORMAL, SMB_FILE_ATTRIBUTE_NORMAL


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


def has_wildcard(name: str) -> bool:
    """True when a path component is a pattern (``*`` or ``?``), not a name."""
    return "*" in name or "?" in name


def matches_search(file_attributes: int, search: int) -> bool:
    """pysmb's ``listPath`` filter, applied on the client for every dialect.

    An entry whose low attribute byte is 0 or ATTR_NORMAL (a "normal" entry) is kept when
    ``search`` is SMB_FILE_ATTRIBUTE_NORMAL (0) or includes SMB_FILE_ATTRIBUTE_INCL_NORMAL;
    any other entry when it carries at least one of the ``search`` bits.
    """
    if file_attributes & 0xFF in (0, ATTR_NORMAL):
        return search == SMB_FILE_ATTRIBUTE_NORMAL or bool(search & SMB_FILE_ATTRIBUTE_INCL_NORMAL)
    return bool(file_attributes & search)


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
    (_index, ctime, atime, wtime, chtime, eof, alloc, attrs, _ea, short, name, fid) = entry
    return SharedFile((ctime - _EPOCH) / 1e7, (atime - _EPOCH) / 1e7, (wtime - _EPOCH) / 1e7,
                      (chtime - _EPOCH) / 1e7, eof, alloc, attrs, short, name, fid or None)


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


def sink_for(file_obj) -> Callable:
    """The function that hands received data to ``file_obj``.

    The engines deliver each piece as a memoryview into a buffer they reuse. Python's file
    objects (``io.IOBase``: files, ``BytesIO``, buffered writers...) may only use what
    ``write`` gets during the call -- the io documentation says so -- and get the view
    itself: no copy. Any other object with a ``write`` method gets ``bytes``, as pysmb gave:
    it may keep what it was given (a list of chunks)."""
    write = file_obj.write
    if isinstance(file_obj, io.IOBase) or isinstance(getattr(file_obj, "_file", None), io.IOBase):
        return write  # (tempfile's wrappers keep their file in ``_file``)
    return lambda data: write(bytes(data))
