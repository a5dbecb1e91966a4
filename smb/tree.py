"""Directory-tree helpers over one :class:`smb.SMBConnection.SMBConnection`.

``walk`` (like :func:`os.walk`), ``makedirs``, ``deleteTree``, ``uploadTree`` and
``downloadTree``. They are written over the connection's public operations (listPath,
createDirectory, storeFile, retrieveFile, deleteFiles, deleteDirectory), so that they work
on SMB1 and SMB2/3 alike. Files are moved several at a time: the engine multiplexes
requests from many threads over the one connection ([MS-SMB2] 3.2.4: a client may have
many requests outstanding, within its credits; [MS-CIFS] 3.2.4 within MaxMpxCount), so a
small pool of worker threads keeps several CREATE/READ/WRITE/CLOSE exchanges in flight.

Every directory is listed once (one CREATE + QUERY_DIRECTORY sequence per directory).
When one file fails, the files already in flight are finished, those not yet started are
not, and a single :class:`OperationFailure` names every file that was not transferred; a
file left partly written is removed (locally for downloads, on the server for uploads).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, List, Optional, Tuple

from smb.base import OperationFailure, SharedFile
from smb.ntstatus import (
    STATUS_ACCESS_DENIED,
    STATUS_FILE_IS_A_DIRECTORY,
    STATUS_OBJECT_NAME_COLLISION,
    STATUS_OBJECT_PATH_NOT_FOUND,
    STATUS_SHARING_VIOLATION,
)
from smb.operations import Progress

#: statuses of a CREATE that opened nothing (no partial file of ours to remove)
_OPEN_REFUSED = (STATUS_ACCESS_DENIED, STATUS_FILE_IS_A_DIRECTORY, STATUS_SHARING_VIOLATION,
                 STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_PATH_NOT_FOUND)

#: files in flight at once in uploadTree / downloadTree / deleteTree
WORKERS = 4


def _join(parent: str, name: str) -> str:
    parent = parent.replace("\\", "/").rstrip("/")
    return parent + "/" + name if parent else name


def walk(conn, service_name: str, top: str, topdown: bool = True,
         timeout: float = 30) -> Iterator[Tuple[str, List[SharedFile], List[SharedFile]]]:
    """Yield ``(dirpath, dirnames, filenames)`` for ``top`` and every folder below it.

    Unlike :func:`os.walk`, ``dirnames`` and ``filenames`` are lists of
    :class:`smb.base.SharedFile` (the listing already carries sizes, times and attributes,
    so no further request is needed to know them); their ``filename`` is the name.
    ``dirpath`` is ``top`` joined with '/' separators. With ``topdown``, removing entries
    from ``dirnames`` in place prunes the walk, as with os.walk. '.' and '..' are left out.
    """
    entries = [f for f in conn.listPath(service_name, top, timeout=timeout)
               if f.filename not in (".", "..")]
    dirs = [f for f in entries if f.isDirectory]
    files = [f for f in entries if not f.isDirectory]
    if topdown:
        yield top, dirs, files
    for d in dirs:
        yield from walk(conn, service_name, _join(top, d.filename), topdown, timeout)
    if not topdown:
        yield top, dirs, files


def makedirs(conn, service_name: str, path: str, exist_ok: bool = False, timeout: float = 30) -> None:
    """Create the folder ``path`` and any missing parent (like :func:`os.makedirs`).

    :raise OperationFailure: STATUS_OBJECT_NAME_COLLISION when ``path`` exists and not
        ``exist_ok`` (or exists and is not a folder)
    """
    path = path.replace("\\", "/").strip("/")
    try:
        conn.createDirectory(service_name, path, timeout=timeout)
    except OperationFailure as e:
        if e.status == STATUS_OBJECT_PATH_NOT_FOUND and "/" in path:
            makedirs(conn, service_name, path.rsplit("/", 1)[0], True, timeout)
            makedirs(conn, service_name, path, exist_ok, timeout)
            return
        if e.status != STATUS_OBJECT_NAME_COLLISION or not exist_ok:
            raise
        if not conn.getAttributes(service_name, path, timeout=timeout).isDirectory:
            raise


class _Batch:
    """A pool of worker threads running one kind of file operation, one shared progress bar
    (bytes), and the failures, reported together at the end."""

    def __init__(self, what: str, show_progress: bool, total: Optional[int], description: str):
        self.what = what
        self.progress = Progress(show_progress, total, description)
        self._lock = threading.Lock()
        self.failures: List[Tuple[str, BaseException]] = []
        self.skipped: List[str] = []
        self.nbytes = 0
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="smb-tree")
        self._futures: list = []

    def advance(self, n: int) -> None:
        with self._lock:
            self.nbytes += n
            callback = self.progress.callback
            if callback is not None:
                callback(n)

    def submit(self, name: str, fn, *args) -> None:
        self._futures.append(self._pool.submit(self._run, name, fn, *args))

    def _run(self, name, fn, *args):
        if self.failures:  # do not start new files once one has failed
            with self._lock:
                self.skipped.append(name)
            return
        try:
            fn(*args)
        except BaseException as e:  # reported by finish()
            with self._lock:
                self.failures.append((name, e))

    def finish(self) -> None:
        """Wait for every file started; raise one OperationFailure naming what failed."""
        try:
            self._pool.shutdown(wait=True)
        finally:
            self.progress.close()
        if not self.failures:
            return
        name, first = self.failures[0]
        if not isinstance(first, OperationFailure):
            raise first
        names = [n for n, _ in self.failures]
        message = "Failed to %s %s" % (self.what, ", ".join("'%s'" % n for n in names))
        if self.skipped:
            message += " (%d more files not transferred: %s)" % (
                len(self.skipped), ", ".join("'%s'" % n for n in self.skipped))
        message += ": " + str(first.args[0] if first.args else first)
        raise OperationFailure(message, first.smb_messages, status=first.status) from first


class _CountingReader:
    def __init__(self, f, advance):
        self._f, self._advance = f, advance

    def read(self, n=-1):
        data = self._f.read(n)
        self._advance(len(data))
        return data


class _CountingWriter:
    def __init__(self, f, advance):
        self._f, self._advance = f, advance

    def write(self, data):
        n = self._f.write(data)
        self._advance(len(data))
        return n


def uploadTree(conn, service_name: str, local_dir: str, remote_dir: str,
               show_progress: bool = False, timeout: float = 30) -> int:
    """Copy the local folder ``local_dir`` (files, sub-folders, empty ones too) into
    ``remote_dir`` on the share, created with its parents when missing; existing remote
    files are replaced. Symbolic links are followed for files, not for folders.

    :return: the number of bytes uploaded
    """
    remote_dir = remote_dir.replace("\\", "/").strip("/")
    plan = []  # (local path, remote path, size)
    folders = []
    for root, dirs, files in os.walk(local_dir):
        dirs.sort()
        rel = os.path.relpath(root, local_dir)
        rdir = remote_dir if rel == "." else _join(remote_dir, rel.replace(os.sep, "/"))
        folders.append(rdir)
        for name in sorted(files):
            local = os.path.join(root, name)
            plan.append((local, _join(rdir, name), os.path.getsize(local)))
    for rdir in folders:
        if rdir:  # '' is the share's root
            makedirs(conn, service_name, rdir, exist_ok=True, timeout=timeout)
    batch = _Batch("upload", show_progress, sum(p[2] for p in plan), os.path.basename(local_dir))

    def upload(local, remote):
        with open(local, "rb") as f:
            try:
                conn.storeFile(service_name, remote, _CountingReader(f, batch.advance), timeout=timeout)
            except OperationFailure as e:
                _remove_partial_remote(conn, service_name, remote, e, timeout)
                raise

    for local, remote, _ in plan:
        batch.submit(remote, upload, local, remote)
    batch.finish()
    return batch.nbytes


def _remove_partial_remote(conn, service_name, remote, failure, timeout):
    """After a failed upload, delete the file when the failure happened after it was opened
    (the open itself failing leaves nothing of ours behind)."""
    if failure.status in _OPEN_REFUSED:
        return
    try:
        conn.deleteFiles(service_name, remote, timeout=timeout)
    except Exception:  # noqa: BLE001  (the upload's failure is the one reported)
        pass


def downloadTree(conn, service_name: str, remote_dir: str, local_dir: str,
                 show_progress: bool = False, timeout: float = 30) -> int:
    """Copy the folder ``remote_dir`` of the share (files, sub-folders, empty ones too) into
    the local folder ``local_dir`` (created when missing); existing local files are
    replaced. A file whose download fails is removed, never left half written.

    :return: the number of bytes downloaded
    """
    plan = []  # (remote path, local path)
    total = 0
    rtop = remote_dir.replace("\\", "/").strip("/")
    for dirpath, dirs, files in walk(conn, service_name, rtop, timeout=timeout):
        rel = dirpath[len(rtop):].strip("/")
        ldir = os.path.join(local_dir, *rel.split("/")) if rel else local_dir
        os.makedirs(ldir, exist_ok=True)
        for f in files:
            _check_local_name(f.filename)
            plan.append((_join(dirpath, f.filename), os.path.join(ldir, f.filename)))
            total += f.file_size
        for d in dirs:
            _check_local_name(d.filename)
    batch = _Batch("download", show_progress, total, os.path.basename(rtop) or service_name)

    def download(remote, local):
        try:
            with open(local, "wb") as f:
                conn.retrieveFile(service_name, remote, _CountingWriter(f, batch.advance),
                                  timeout=timeout)
        except BaseException:
            try:
                os.remove(local)
            except OSError:
                pass
            raise

    for remote, local in plan:
        batch.submit(remote, download, remote, local)
    batch.finish()
    return batch.nbytes


def _check_local_name(name: str) -> None:
    """A server's name must not climb out of the local folder."""
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name or \
            (os.sep != "/" and os.sep in name):
        raise OperationFailure("Refusing the server's file name %r" % name, [])


def deleteTree(conn, service_name: str, path: str, timeout: float = 30) -> None:
    """Delete the folder ``path`` and everything in it (files deleted several at a time)."""
    for dirpath, dirs, files in walk(conn, service_name, path, topdown=False, timeout=timeout):
        batch = _Batch("delete", False, None, "")
        for f in files:
            target = _join(dirpath, f.filename)
            batch.submit(target, conn.deleteFiles, service_name, target, False, timeout)
        batch.finish()
        conn.deleteDirectory(service_name, dirpath, timeout=timeout)
