"""Whole-file operations of one open in one round trip (a mixin of
:class:`smb.smb2.engine.SMB2Engine`).

Each is one related compound ([MS-SMB2] 3.2.4.1.4): CREATE (3.2.4.3), at most one
operation on the FileId the CREATE opens (0xFF..FF in the later requests of the chain),
and CLOSE (3.2.4.5), so that the handle is closed by the chain whatever happens in it:

* :meth:`open_close`: CREATE + CLOSE (attributes from the CREATE response, a folder
  creation, a delete with FILE_DELETE_ON_CLOSE, [MS-SMB2] 2.2.13 CreateOptions);
* :meth:`open_read_close`: CREATE + READ (3.2.4.7) + CLOSE;
* :meth:`open_write_close`: CREATE + WRITE (3.2.4.8) + CLOSE.

When the CREATE fails, the server fails the related requests after it with the same status
(3.3.5.2.7.2): the CREATE's failure is the one raised. When the CREATE succeeds and the
CLOSE of the chain does not, the handle is closed again on its own
(:meth:`smb.engine.Engine.close_after_failure`) before the failure is raised, so no handle
is left open on a connection that goes on being used.
"""

from __future__ import annotations

from smb.engine import OpenResult, Timeout, Tree
from smb.errors import ProtocolError
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2.fileops import open_result
from smb.smb2.mixin import EngineMixin


class Compounds(EngineMixin):
    """CREATE + [READ | WRITE] + CLOSE as one related compound each."""

    compounds = True

    def open_close(self, tree: Tree, path: str, *, timeout: Timeout, **create_args) -> OpenResult:
        opened, _req = self._open_chain(tree, path, create_args, None, timeout)
        return opened

    def open_read_close(self, tree: Tree, path: str, offset: int, length: int, *,
                        timeout: Timeout, **create_args):
        length = max(0, min(length, self.max_read_size))
        item = (C.READ, M.read_request(M.RELATED_FILE_ID, offset, length), None, self.charge(length))
        opened, req = self._open_chain(tree, path, create_args, item, timeout,
                                       ok=(C.STATUS_SUCCESS, C.STATUS_END_OF_FILE))
        if req.header.status == C.STATUS_END_OF_FILE:
            return opened, b""
        data, _rem = M.parse_read_response(req.response)
        if len(data) > length:
            raise ProtocolError("READ returned %d bytes for a %d-byte request" % (len(data), length))
        return opened, bytes(data)

    def open_write_close(self, tree: Tree, path: str, offset: int, data, *,
                         timeout: Timeout, **create_args):
        data = memoryview(data).cast("B")[:self.max_write_size]
        if not len(data):
            return self.open_close(tree, path, timeout=timeout, **create_args), 0
        item = (C.WRITE, M.write_request(M.RELATED_FILE_ID, offset, len(data)), data,
                self.charge(len(data)))
        opened, req = self._open_chain(tree, path, create_args, item, timeout)
        count = M.parse_write_response(req.response)
        if count > len(data):
            raise ProtocolError("WRITE response claims %d bytes of %d" % (count, len(data)))
        return opened, count

    def _open_chain(self, tree: Tree, path: str, create_args, item, timeout: Timeout,
                    ok=(C.STATUS_SUCCESS,)):
        """Send CREATE [+ item] + CLOSE; returns ``(OpenResult, item's request or None)``
        once every status of the chain is checked (the first failure raised)."""
        items = [(C.CREATE, M.create_request(tree.wire_path(path), **create_args), None, 1)]
        if item is not None:
            items.append(item)
        items.append((C.CLOSE, M.close_request(M.RELATED_FILE_ID), None, 1))
        reqs = self._compound(items, tree, timeout)
        creq, close = reqs[0], reqs[-1]
        self._check(creq, "CREATE %s" % path)
        opened = open_result(M.parse_create_response(creq.response))
        middle = reqs[1] if item is not None else None
        if close.header.status != C.STATUS_SUCCESS:
            self.close_after_failure(tree, opened.file_id, timeout)
        if middle is not None:
            self._check(middle, "%s %s" % (C.COMMAND_NAMES.get(item[0], "?"), path), ok)
        self._check(close, "CLOSE %s" % path)
        return opened, middle
