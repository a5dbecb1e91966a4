"""An fsspec filesystem over :class:`smb.SMBConnection.SMBConnection` (the optional extra
``fsspec``), registered under the protocol ``smbpy`` -- fsspec's own ``smb`` protocol is
another library's.

Paths are ``share/folder/file`` (the share is the first component; ``""`` is the server,
whose entries are its disk shares); URLs are ``smbpy://[user[:password]@]host[:port]/share/path``::

    import fsspec

    fs = fsspec.filesystem("smbpy", host="fs1.example.com", username="alice", password="...")
    fs.ls("public/reports")
    with fs.open("public/reports/q3.csv", "rb") as f:
        head = f.read(100)
    fs.put("local/folder", "public/backup/", recursive=True)

One filesystem instance holds one connection (SMB 2/3 by default; SMB1 only if asked for
with ``allow_smb1``), shared by every call and every thread -- the connection is
thread-safe -- and reopened when it breaks. fsspec caches instances, so equal arguments give
the same instance and connection. Files are the library's file objects
(``SMBConnection.openFile``: read-ahead, write-behind, locks). Copies on the
server use ``SMBConnection.copyFile`` (a server-side copy) when the library has it.

Errors are ``OSError`` subclasses (``FileNotFoundError`` for missing paths,
``FileExistsError``, ``PermissionError``, ``IsADirectoryError``, ``NotADirectoryError``, and
``OSError`` otherwise) that are also ``OperationFailure`` with the server's NTSTATUS in
``status`` (:mod:`smb.oserrors`).
"""

from __future__ import annotations

import errno
import io
import posixpath
import threading
from typing import Any, Dict, List, Optional

from fsspec.spec import AbstractFileSystem
from fsspec.utils import infer_storage_options

from smb.base import OperationFailure
from smb.oserrors import from_failure
from smb.SMBConnection import SMBConnection
from smb.smb_constants import ATTR_DIRECTORY

def os_error(e: OperationFailure, path: str) -> OSError:
    """The server's refusal as an OSError subclass that is also an OperationFailure
    (:mod:`smb.oserrors`, the mapping the file objects use)."""
    return from_failure(e, "%s (NTSTATUS 0x%08X)" % (e.args[0] if e.args else "SMB error", e.status or 0), path)


class SMBFileSystem(AbstractFileSystem):
    """fsspec filesystem for one SMB server (see the module documentation).

    :param host: the server's name or address
    :param port: 445 (direct TCP) by default; 139 uses the NetBIOS session service
    :param username, password, domain: the credentials (empty: anonymous)
    :param server_name: the server's NetBIOS name (default: the host's first label)
    :param timeout: the longest wait for each response, in seconds
    :param connection_options: more keyword arguments of ``SMBConnection`` (e.g.
        ``require_encryption=True``, ``use_kerberos=True``, ``allow_smb1=True``)
    """

    protocol = ("smbpy",)
    root_marker = ""
    sep = "/"

    def __init__(self, host: str, port: int = 445, username: str = "", password: str = "",
                 domain: str = "", server_name: Optional[str] = None, timeout: float = 60,
                 my_name: str = "FSSPEC", auto_mkdir: bool = True, **storage_options: Any):
        connection_options = dict(storage_options.pop("connection_options", None) or {})
        super().__init__(**storage_options)
        self.host, self.port, self.timeout = host, int(port), timeout
        self.auto_mkdir = auto_mkdir
        is_address = ":" in host or host.replace(".", "").isdigit()
        name = server_name or ("*SMBSERVER" if is_address else host.split(".")[0][:15].upper())
        self._make = lambda: SMBConnection(username, password, my_name, name, domain=domain,
                                           is_direct_tcp=self.port != 139, **connection_options)
        self._lock = threading.Lock()
        self._conn: Optional[SMBConnection] = None

    # --- the connection ---------------------------------------------------------------
    @property
    def conn(self) -> SMBConnection:
        """The shared connection, made (again) when there is none."""
        conn = self._conn
        if conn is not None and conn._engine is not None and not conn._engine.broken:
            return conn
        with self._lock:
            conn = self._conn
            if conn is None or conn._engine is None or conn._engine.broken:
                conn = self._make()
                if not conn.connect(self.host, self.port, timeout=self.timeout):
                    raise PermissionError(errno.EACCES, "authentication failed", self.host)
                self._conn = conn
            return conn

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _call(self, path: str, method: str, *args, **kwargs):
        """``SMBConnection.method(share, rel, ...)`` for ``path``, errors as OSError."""
        share, rel = self._split(path)
        if not share:
            raise PermissionError(errno.EPERM, "not a path on a share", path)
        try:
            return getattr(self.conn, method)(share, rel, *args, **kwargs)
        except OperationFailure as e:
            raise os_error(e, path) from e

    def _write(self, path: str, method: str, *args, **kwargs):
        """A call that creates ``path``: its missing parent folders are made first when the
        server says the path is not found (``auto_mkdir``, as fsspec's tests expect)."""
        try:
            return self._call(path, method, *args, **kwargs)
        except FileNotFoundError:
            parent = self._parent(path)
            if not self.auto_mkdir or not self._split(parent)[0] or self._split(parent)[1] == "/":
                raise
            self.makedirs(parent, exist_ok=True)
            for a in args:  # rewind a source read by the failed attempt
                if hasattr(a, "seek"):
                    a.seek(0)
            return self._call(path, method, *args, **kwargs)

    # --- paths ------------------------------------------------------------------------
    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("smbpy://"):
            path = path[len("smbpy://"):]
            path = path.split("/", 1)[1] if "/" in path else ""
        return path.strip("/")

    @staticmethod
    def _get_kwargs_from_urls(path):
        opts = infer_storage_options(path)
        out: Dict[str, Any] = {"host": opts["host"]}
        for key in ("port", "username", "password"):
            if opts.get(key):
                out[key] = opts[key]
        return out

    def _split(self, path: str):
        path = self._strip_protocol(path)
        share, _, rel = path.partition("/")
        return share, "/" + rel

    def unstrip_protocol(self, name: str) -> str:
        return "smbpy://%s:%d/%s" % (self.host, self.port, name)

    # --- information ------------------------------------------------------------------
    def _entry(self, path: str, f) -> Dict[str, Any]:
        is_dir = bool(f.file_attributes & ATTR_DIRECTORY)
        return {"name": path, "size": 0 if is_dir else f.file_size,
                "type": "directory" if is_dir else "file", "mtime": f.last_write_time,
                "created": f.create_time, "file_attributes": f.file_attributes}

    def ls(self, path, detail=True, **kwargs):
        """The entries of folder ``path`` (dicts with name, size, type, mtime, created;
        names when not ``detail``); the disk shares for ``""``; a file lists itself."""
        path = self._strip_protocol(path)
        share, rel = self._split(path)
        if not share:
            try:
                shares = self.conn.listShares(timeout=self.timeout)
            except OperationFailure as e:
                raise os_error(e, path) from e
            out: List[Dict[str, Any]] = [
                {"name": s.name, "size": 0, "type": "directory"} for s in shares
                if not s.isSpecial and s.type == 0]  # disk shares
        else:
            info = self.info(path)
            if info["type"] != "directory":
                out = [info]
            else:
                entries = self._call(path, "listPath", timeout=self.timeout)
                out = [self._entry(posixpath.join(path, f.filename), f) for f in entries
                       if f.filename not in (".", "..")]
        return out if detail else sorted(o["name"] for o in out)

    def info(self, path, **kwargs):
        """The entry of ``path`` (``FileNotFoundError`` when missing)."""
        path = self._strip_protocol(path)
        share, rel = self._split(path)
        if not share:
            return {"name": "", "size": 0, "type": "directory"}
        if rel == "/":
            try:
                self.conn.listPath(share, "/", pattern=".", timeout=self.timeout)
            except OperationFailure as e:
                raise os_error(e, path) from e
            return {"name": share, "size": 0, "type": "directory"}
        return self._entry(path, self._call(path, "getAttributes", timeout=self.timeout))

    def modified(self, path):
        import datetime

        return datetime.datetime.fromtimestamp(self.info(path)["mtime"], tz=datetime.timezone.utc)

    def created(self, path):
        import datetime

        return datetime.datetime.fromtimestamp(self.info(path)["created"], tz=datetime.timezone.utc)

    # --- folders ----------------------------------------------------------------------
    def mkdir(self, path, create_parents=True, **kwargs):
        """Create the folder ``path`` (and its parents unless ``create_parents`` is False)."""
        path = self._strip_protocol(path)
        if create_parents:
            return self.makedirs(path, exist_ok=True)
        self._call(path, "createDirectory", timeout=self.timeout)

    def makedirs(self, path, exist_ok=False):
        """Create ``path`` and its missing parents."""
        path = self._strip_protocol(path)
        share, rel = self._split(path)
        if rel == "/":
            if not exist_ok:
                raise FileExistsError(errno.EEXIST, "a share exists", path)
            return
        parts = rel.strip("/").split("/")
        for k in range(1, len(parts) + 1):
            sub = share + "/" + "/".join(parts[:k])
            try:
                self._call(sub, "createDirectory", timeout=self.timeout)
            except FileExistsError:
                if k == len(parts) and not exist_ok:
                    raise
                if self.info(sub)["type"] != "directory":
                    raise FileExistsError(errno.EEXIST, "a file is in the way", sub) from None

    def rmdir(self, path):
        """Delete the empty folder ``path``."""
        self._call(path, "deleteDirectory", timeout=self.timeout)

    def _rm(self, path):
        if self.info(path)["type"] == "directory":
            self.rmdir(path)
        else:
            self._call(path, "deleteFiles", timeout=self.timeout)

    # --- data -------------------------------------------------------------------------
    def cat_file(self, path, start=None, end=None, **kwargs):
        """The bytes of ``path`` from ``start`` to ``end`` (negative: from the end)."""
        path = self._strip_protocol(path)
        size = None
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.info(path)["size"]
        start = 0 if start is None else (max(0, size + start) if start < 0 else start)
        if end is not None and end < 0:
            end = max(0, size + end)
        if end is not None and end <= start:
            return b""
        buf = io.BytesIO()
        self._call(path, "retrieveFileFromOffset", buf, start, -1 if end is None else end - start,
                   timeout=self.timeout)
        return buf.getvalue()

    def pipe_file(self, path, value, mode="overwrite", **kwargs):
        """Write ``value`` (bytes) as the whole content of ``path``."""
        path = self._strip_protocol(path)
        if mode == "create" and self.exists(path):
            raise FileExistsError(errno.EEXIST, "exists", path)
        self._write(path, "storeFile", io.BytesIO(bytes(value)), timeout=self.timeout)

    def get_file(self, rpath, lpath, callback=None, outfile=None, **kwargs):
        """Download ``rpath`` to the local path (or file object) ``lpath``."""
        import os

        if hasattr(lpath, "write"):  # a file object
            self._call(rpath, "retrieveFile", lpath, timeout=self.timeout)
            return
        if self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        parent = os.path.dirname(os.fspath(lpath))
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(lpath, "wb") as f:
            self._call(rpath, "retrieveFile", f, timeout=self.timeout)

    def put_file(self, lpath, rpath, callback=None, mode="overwrite", **kwargs):
        """Upload the local file ``lpath`` to ``rpath``."""
        import os

        rpath = self._strip_protocol(rpath)
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        if mode == "create" and self.exists(rpath):
            raise FileExistsError(errno.EEXIST, "exists", rpath)
        with open(lpath, "rb") as f:
            self._write(rpath, "storeFile", f, timeout=self.timeout)

    def cp_file(self, path1, path2, **kwargs):
        """Copy ``path1`` to ``path2`` (server-side when the library can)."""
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        if self.isdir(path1):
            self.makedirs(path2, exist_ok=True)
            return
        share2, rel2 = self._split(path2)
        if not share2:
            raise PermissionError(errno.EPERM, "not a path on a share", path2)
        if self.auto_mkdir:
            self.makedirs(self._parent(path2), exist_ok=True)
        # server-side where the server can, else streamed through this client (smb.copy)
        self._call(path1, "copyFile", rel2, dst_service_name=share2, timeout=self.timeout)

    def mv(self, path1, path2, recursive=False, maxdepth=None, **kwargs):
        """A rename on the server when both paths name one thing on one share and the
        target does not exist; else copy and delete (fsspec's semantics)."""
        if isinstance(path1, str) and isinstance(path2, str):
            p1, p2 = self._strip_protocol(path1), self._strip_protocol(path2)
            (s1, r1), (s2, r2) = self._split(p1), self._split(p2)
            if s1 and s1 == s2 and r1 != "/" and not self.exists(p2) and (recursive or not self.isdir(p1)):
                try:
                    self.conn.rename(s1, r1, r2, timeout=self.timeout)
                    return
                except OperationFailure as e:
                    raise os_error(e, p1) from e
        return super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kwargs):
        """A file object of ``SMBConnection.openFile`` (read-ahead, write-behind, locks);
        ``xb`` raises FileExistsError for an existing file, as ``open()`` does."""
        path = self._strip_protocol(path)
        share, rel = self._split(path)
        if not share:
            raise PermissionError(errno.EPERM, "not a path on a share", path)
        if mode != "rb" and self.auto_mkdir and rel.rstrip("/").count("/") > 1:
            parent = self._parent(path)
            if not self.exists(parent):
                self.makedirs(parent, exist_ok=True)
        return self.conn.openFile(share, rel, mode, timeout=self.timeout)  # OSError on failure
