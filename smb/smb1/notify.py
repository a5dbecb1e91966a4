"""Change notification over SMB1 (a mixin of :class:`smb.smb1.engine.SMB1Engine`).

[MS-CIFS] 2.2.7.4 NT_TRANSACT_NOTIFY_CHANGE: four setup words (CompletionFilter (4), FID (2),
WatchTree (1), Reserved (1)), no parameters or data; the response's parameters are the
FILE_NOTIFY_INFORMATION entries ([MS-FSCC] 2.7.1), at most MaxParameterCount bytes. A
success without entries (or STATUS_NOTIFY_ENUM_DIR) means the server lost track of the
changes. The request waits on the server until something changes; NT_CANCEL (2.2.4.65)
ends it. One request is outstanding at a time: the next one is sent as soon as an answer
arrives, before the changes are handed over.
"""

from __future__ import annotations

import struct
from typing import Iterator, Tuple

from smb.engine import Timeout, Tree, _guard
from smb.errors import ProtocolError, SMBTimeout
from smb.smb1 import trans as T
from smb.smb1.connection import failure
from smb.smb1.mixin import EngineMixin

NT_TRANSACT_NOTIFY_CHANGE = 0x0004
STATUS_NOTIFY_ENUM_DIR = 0x0000010C
_SETUP = struct.Struct("<IHBB")
#: the largest change list asked for per response (MaxParameterCount is 32-bit, but SMB1
#: responses are bounded by the server's buffer)
NOTIFY_BUFFER = 0xFFFF


def notify_change_request(fid: int, completion_filter: int, watch_tree: bool, max_param: int):
    return T.nt_transact(NT_TRANSACT_NOTIFY_CHANGE,
                         _SETUP.pack(completion_filter, fid, 1 if watch_tree else 0, 0), b"",
                         max_param=max_param, max_data=0)


class ChangeNotify(EngineMixin):
    def notify_changes(self, tree: Tree, file_id, completion_filter: int, watch_tree: bool,
                       timeout: Timeout) -> Iterator[Tuple[int, bytes]]:
        """Send the first NOTIFY_CHANGE now; return the iterator of ``(status,
        FILE_NOTIFY_INFORMATION bytes)`` answers (endless). Closing it cancels the request
        outstanding (NT_CANCEL)."""
        req = notify_change_request(file_id, completion_filter, watch_tree, NOTIFY_BUFFER)
        mid = self.conn.send(req, tree.tree_id, deadline=timeout.deadline())
        return self._notify_answers(mid, req, tree, timeout)

    @_guard
    def _notify_answers(self, mid, req, tree, timeout):
        conn = self.conn
        try:
            while True:
                status, out = self._notify_answer(mid, timeout)
                conn.done(mid)
                mid = None
                mid = conn.send(req, tree.tree_id, deadline=timeout.deadline())
                yield status, out
        finally:
            if mid is not None:
                conn.cancel([mid])

    def _notify_answer(self, mid: int, timeout: Timeout):
        """The (possibly multi-part) answer to the NOTIFY_CHANGE ``mid``."""
        asm = T.Assembler(True, NOTIFY_BUFFER, 0)
        while True:
            try:
                resp = self.conn.receive(mid, timeout.deadline())
            except SMBTimeout:
                raise SMBTimeout("timed out waiting for a change notification") from None
            if resp.status == STATUS_NOTIFY_ENUM_DIR:
                return resp.status, b""
            if resp.status != 0:
                raise failure(resp, "notify change")
            if not len(resp.words):
                if asm.parts == 0:
                    continue  # interim response
                raise ProtocolError("empty NT_TRANSACT response")
            if asm.feed(resp):
                return resp.status, bytes(asm.params)
