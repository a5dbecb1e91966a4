"""Moving file contents for ``get``, ``put``, ``cat`` and ``cp``: in ranged pieces.

Every transfer is a series of ranged reads (``retrieveFileFromOffset``) or writes
(``storeFileFromOffset``) of at most :data:`PIECE` bytes, each with the command's timeout.
So ``--timeout`` bounds how long one piece may take rather than a whole multi-gigabyte file,
``--continue`` resumes at the size already there, and ``cp`` between servers needs only one
piece in memory. Progress bars (tqdm, optional) go to standard error.
"""

from __future__ import annotations

import io
import sys
from typing import Callable, Iterator, List, NamedTuple, Optional

from smb.base import SharedFile
from smb.cli.exitcodes import CLIError, ExitCode
from smb.cli.url import SMBURL

PIECE = 16 * 1024 * 1024


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


NO_BAR = _NoBar()


def progress_bar(enabled: bool, total: Optional[int], description: str, initial: int = 0):
    """A tqdm byte counter on standard error when ``enabled`` and tqdm is installed."""
    if not enabled:
        return NO_BAR
    try:
        from tqdm import tqdm
    except ImportError:  # the optional extra "progress" is not installed
        return NO_BAR
    return tqdm(total=total, initial=initial, desc=description, unit="B", unit_scale=True,
                unit_divisor=1024, file=sys.stderr, dynamic_ncols=True)


class _Sink:
    """A write-only file object that passes bytes on and counts them on a bar."""

    def __init__(self, write: Callable, bar):
        self._write, self._bar = write, bar

    def write(self, data):
        self._write(data)
        self._bar.update(len(data))
        return len(data)


class _Source:
    """A read-only file object giving at most ``limit`` bytes of ``f``, counted on a bar."""

    def __init__(self, f, limit: int, bar):
        self._f, self._left, self._bar = f, limit, bar

    def read(self, n=-1):
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._f.read(n) if n else b""
        self._left -= len(data)
        self._bar.update(len(data))
        return data


def download(conn, url: SMBURL, write: Callable, offset: int, timeout: float, bar) -> int:
    """Read ``url`` from ``offset`` to its end into ``write``; the number of bytes read."""
    start = offset
    while True:
        _, n = conn.retrieveFileFromOffset(url.share, url.path, _Sink(write, bar), offset,
                                           PIECE, timeout=timeout)
        offset += n
        if n < PIECE:
            return offset - start


def upload(conn, f, url: SMBURL, offset: int, truncate: bool, timeout: float, bar) -> int:
    """Write ``f`` (from its position) into ``url`` at ``offset``; the number of bytes written.

    With ``truncate`` the remote file is emptied first (a fresh upload)."""
    start = offset
    while True:
        end = conn.storeFileFromOffset(url.share, url.path, _Source(f, PIECE, bar), offset,
                                       truncate, timeout=timeout)
        truncate = False
        written, offset = end - offset, end
        if written < PIECE:
            return offset - start


def copy_remote(src_conn, src: SMBURL, dst_conn, dst: SMBURL, timeout: float, bar) -> None:
    """Copy one file: server-side when the library offers it for one share, else piece by piece
    through this machine (one piece in memory at a time)."""
    if _server_side_copy(src_conn, src, dst_conn, dst, timeout):
        return
    offset = 0
    while True:
        buf = io.BytesIO()
        _, n = src_conn.retrieveFileFromOffset(src.share, src.path, buf, offset, PIECE,
                                               timeout=timeout)
        buf.seek(0)
        dst_conn.storeFileFromOffset(dst.share, dst.path, buf, offset, offset == 0,
                                     timeout=timeout)
        bar.update(n)
        offset += n
        if n < PIECE:
            return


def _server_side_copy(src_conn, src, dst_conn, dst, timeout) -> bool:
    """Use ``SMBConnection.copyFile(share, src_path, dst_path)`` (server-side copy, FSCTL_SRV_COPYCHUNK)
    when both files are on one share of one connection."""
    if src_conn is not dst_conn or src.share.lower() != dst.share.lower():
        return False
    src_conn.copyFile(src.share, src.path, dst.path, timeout=timeout)
    return True


class Entry(NamedTuple):
    """One file or folder of a remote tree: its path below the tree's root ('/'-joined)."""

    relative: str
    info: SharedFile


def walk_remote(conn, root: SMBURL, timeout: float) -> Iterator[Entry]:
    """The folders (each before its contents) and files below ``root``, recursively
    (:func:`smb.tree.walk`, each folder listed once)."""
    for dirpath, dirs, files in conn.walk(root.share, root.path, timeout=timeout):
        rel = dirpath[len(root.path):].strip("/")
        for f in sorted(dirs + files, key=lambda f: f.filename):
            yield Entry(rel + "/" + f.filename if rel else f.filename, f)


def list_folder(conn, url: SMBURL, timeout: float, pattern: str = "*") -> List[SharedFile]:
    """The entries of the folder ``url`` (without '.' and '..')."""
    return [f for f in conn.listPath(url.share, url.path, pattern=pattern, timeout=timeout)
            if f.filename not in (".", "..")]


def check_resume(local_size: int, remote_size: int, what: str) -> None:
    if local_size > remote_size:
        raise CLIError("cannot continue %s: the partial copy (%d bytes) is larger than the "
                       "source (%d bytes)" % (what, local_size, remote_size), ExitCode.ERROR)
