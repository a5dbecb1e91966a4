"""Whole-file operations of one open in one round trip (a mixin of
:class:`smb.smb2.engine.SMB2Engine`).

Each is one related compound ([MS-SMB2] 3.2.4.1.4): CREATE (3.2.4.3), at most one
operation on the FileId the CREATE opens (0xFF..FF in the later requests of the chain),
and CLOSE (3.2.4.5), so that the handle is closed by the chain whatever happens in it:

* :meth:`open_close`: CREATE + CLOSE (attributes from the CREATE response, a folder
  creation, a delete with FILE_DELETE_ON_CLOSE, [MS-SMB2] 2.2.13 CreateOptions);
* :meth:`open_read_close`: CREATE + READ (3.2.4.7) + CLOSE;
* :meth:`open_write_close`: CREATE + WRITE (3.2.4.8) + CLOSE;
* :meth:`list_directory`: CREATE + QUERY_DIRECTORY (3.2.4.17) + QUERY_DIRECTORY + CLOSE: a
  directory whose entries fit the first QUERY_DIRECTORY is listed in one round trip (the
  second one answers STATUS_NO_MORE_FILES, [MS-SMB2] 3.3.5.18); a larger one is listed again
  from its start on a new open, page by page (the chain has closed the first one);
* :meth:`tree_connect_listing`: the same chain after the TREE_CONNECT (3.2.4.2.4) of its
  share, encrypted, on SMB 3.1.1.

When the CREATE fails, the server fails the related requests after it with the same status
(3.3.5.2.7.2): the CREATE's failure is the one raised. When the CREATE succeeds and the
CLOSE of the chain does not, the handle is closed again on its own
(:meth:`smb.engine.Engine.close_after_failure`) before the failure is raised, so no handle
is left open on a connection that goes on being used.
"""

from __future__ import annotations

from typing import Iterator

from smb.engine import OpenResult, Timeout, Tree
from smb.errors import ProtocolError
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2.fileops import listing_open, open_result
from smb.smb2.mixin import EngineMixin

#: the output buffer of the first QUERY_DIRECTORY of a listing compound (with multi-credit
#: requests; 64 KiB without): some 7,000 entries of FileIdBothDirectoryInformation
FIRST_LISTING_PAGE = 1024 * 1024
#: the second QUERY_DIRECTORY only tells whether entries are left (one entry fits)
PROBE_PAGE = 4096
#: a related CREATE after TREE_CONNECT failing so: the server did not carry the TreeId over
_TREE_NOT_CARRIED = (C.STATUS_NETWORK_NAME_DELETED, C.STATUS_INVALID_PARAMETER)


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

    def list_directory(self, tree: Tree, path: str, pattern: str, timeout: Timeout,
                       chained=None) -> Iterator[memoryview]:
        """The entries of ``path`` matching ``pattern``: one related compound of CREATE,
        QUERY_DIRECTORY (SMB2_RESTART_SCANS), a second QUERY_DIRECTORY and CLOSE. When the
        second answers STATUS_NO_MORE_FILES the first had every entry: one round trip. When it
        answers entries, the open the chain closed cannot go on: the listing is made again by
        :meth:`smb.smb2.fileops.FileOperations.list_directory` (CREATE + QUERY_DIRECTORY, one
        QUERY_DIRECTORY per page, CLOSE) and only that listing is yielded. ``chained``:
        ``(requests, first page size)`` of such a chain already answered (sent by
        :meth:`tree_connect_listing`)."""
        if chained is None:
            items, page = self._listing_chain(tree.wire_path(path), pattern)
            reqs = self._compound(items, tree, timeout)
        else:
            reqs, page = chained
        creq, first, probe, close = reqs
        self._check(creq, "CREATE (directory) %s" % path)
        file_id = M.parse_create_response(creq.response).file_id
        if close.header.status != C.STATUS_SUCCESS:
            self.close_after_failure(tree, file_id, timeout)
        if first.header.status == C.STATUS_NO_MORE_FILES:
            self._check(close, "CLOSE %s" % path)
            return
        self._check(first, "QUERY_DIRECTORY %s" % path)
        buf = M.parse_query_directory_response(first.response)
        if len(buf) > page:
            raise ProtocolError("QUERY_DIRECTORY returned %d bytes for a %d-byte buffer" % (len(buf), page))
        done = probe.header.status == C.STATUS_NO_MORE_FILES or not len(buf) or (
            probe.header.status == C.STATUS_SUCCESS and not len(M.parse_query_directory_response(probe.response)))
        if not done:
            self._check(probe, "QUERY_DIRECTORY %s" % path, (C.STATUS_SUCCESS, C.STATUS_BUFFER_OVERFLOW))
        self._check(close, "CLOSE %s" % path)
        if done:
            if len(buf):
                yield memoryview(bytes(buf))
            return
        # mypy cannot see FileOperations, next in SMB2Engine's MRO, from the mixin
        yield from super().list_directory(tree, path, pattern, timeout)  # type: ignore[misc]

    def tree_connect_listing(self, share: str, path: str, pattern: str, timeout: Timeout):
        """TREE_CONNECT and the listing chain of :meth:`list_directory` as one related
        compound ([MS-SMB2] 3.2.4.1.4: the requests after TREE_CONNECT use the TreeId it
        creates), on SMB 3.1.1 sessions with encryption keys only: the whole chain is
        encrypted (3.2.4.1.8), so that its paths never travel in clear to a share that turns
        out to require encryption, and the TREE_CONNECT is protected as 3.1.1 requires
        (signed, or encrypted). A server that does not carry the new TreeId over to the
        CREATE (it fails with STATUS_NETWORK_NAME_DELETED or STATUS_INVALID_PARAMETER) gets
        the listing again on the tree. Other sessions: TREE_CONNECT, then the listing."""
        s = self.session
        if (self.dialect != C.DIALECT_3_1_1 or self.cipher_id is None or s is None
                or s.encryption_key is None):
            return super().tree_connect_listing(share, path, pattern, timeout)  # type: ignore[misc]
        items, page = self._listing_chain(path, pattern)
        items.insert(0, (C.TREE_CONNECT, M.tree_connect_request(self._unc(share)), None, 1))
        self._start_encryption()
        reqs = self.conn.send(items, session=s, tree_id=0, deadline=timeout.deadline(), related=True,
                              encrypt=True)
        tcon, *rest = self.conn.wait_all(reqs, timeout.deadline(), s)
        tree = self._connected_tree(tcon, share, timeout)
        if tree.dfs_prefix or rest[0].header.status in _TREE_NOT_CARRIED:
            # not opened under the new tree, or (a DFS share) not by the DFS name the share
            # wants: the chain's CLOSE closed what it opened; listed again on the tree
            creq, close = rest[0], rest[-1]
            if creq.header.status == C.STATUS_SUCCESS and close.header.status != C.STATUS_SUCCESS:
                self.close_after_failure(tree, M.parse_create_response(creq.response).file_id, timeout)
            return tree, self.list_directory(tree, path, pattern, timeout)
        return tree, self.list_directory(tree, path, pattern, timeout, chained=(rest, page))

    def _listing_chain(self, name: str, pattern: str):
        """The CREATE (of ``name`` as sent), QUERY_DIRECTORY x 2, CLOSE items of a listing;
        and the first page's size."""
        pattern = pattern or "*"
        page = min(FIRST_LISTING_PAGE, self.max_transact_size if self.multi_credit else 65536)
        info = C.FILE_ID_BOTH_DIRECTORY_INFORMATION
        items = [(C.CREATE, listing_open(name), None, 1),
                 (C.QUERY_DIRECTORY, M.query_directory_request(M.RELATED_FILE_ID, pattern, info,
                                                               C.RESTART_SCANS, page), None, self.charge(page)),
                 (C.QUERY_DIRECTORY, M.query_directory_request(M.RELATED_FILE_ID, pattern, info, 0,
                                                               PROBE_PAGE), None, 1),
                 (C.CLOSE, M.close_request(M.RELATED_FILE_ID), None, 1)]
        return items, page

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
