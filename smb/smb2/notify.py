"""Change notification over SMB2/3 (a mixin of :class:`smb.smb2.engine.SMB2Engine`).

[MS-SMB2] 2.2.35 CHANGE_NOTIFY request (StructureSize 32, Flags with SMB2_WATCH_TREE,
OutputBufferLength, FileId, CompletionFilter), 2.2.36 response (StructureSize 9,
OutputBufferOffset, OutputBufferLength: FILE_NOTIFY_INFORMATION entries, [MS-FSCC] 2.7.1),
3.2.4.18 (the request goes asynchronous: an interim STATUS_PENDING carries its AsyncId) and
3.2.4.24 CANCEL. One request is outstanding at a time: the next one is sent as soon as an
answer arrives, before the changes are handed over, so that none is missed in between.
"""

from __future__ import annotations

import struct
from typing import Iterator, Tuple

from smb.engine import Timeout, Tree, _guard
from smb.errors import ProtocolError
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2.mixin import EngineMixin

_NOTIFY_REQ = struct.Struct("<HHI16sII")  # 32
_NOTIFY_RSP = struct.Struct("<HHI")  # 8
SMB2_WATCH_TREE = 0x0001
STATUS_NOTIFY_ENUM_DIR = 0x0000010C
#: the largest change list asked for per response
NOTIFY_BUFFER = 64 * 1024


def change_notify_request(file_id: bytes, completion_filter: int, watch_tree: bool,
                          output_length: int) -> bytes:
    return _NOTIFY_REQ.pack(32, SMB2_WATCH_TREE if watch_tree else 0, output_length, file_id,
                            completion_filter, 0)


def parse_change_notify_response(msg, output_length: int):
    """The FILE_NOTIFY_INFORMATION buffer (a memoryview) of a CHANGE_NOTIFY response."""
    M._check(msg, _NOTIFY_RSP.size, 9, "CHANGE_NOTIFY")
    _s, off, length = _NOTIFY_RSP.unpack_from(msg, M.H)
    out = M._slice(msg, off, length, "CHANGE_NOTIFY output")
    if len(out) > output_length:
        raise ProtocolError("CHANGE_NOTIFY returned %d bytes for a %d-byte buffer"
                            % (len(out), output_length))
    return out


class ChangeNotify(EngineMixin):
    def notify_changes(self, tree: Tree, file_id, completion_filter: int, watch_tree: bool,
                       timeout: Timeout) -> Iterator[Tuple[int, bytes]]:
        """Send the first CHANGE_NOTIFY now; return the iterator of ``(status,
        FILE_NOTIFY_INFORMATION bytes)`` answers (endless). Closing it cancels the request
        outstanding."""
        length = min(NOTIFY_BUFFER, self.max_transact_size)
        body = change_notify_request(file_id, completion_filter, watch_tree, length)
        charge = self.charge(length)
        first = self._send(C.CHANGE_NOTIFY, body, tree, timeout, charge=charge)
        return self._notify_answers(first, tree, body, length, charge, timeout)

    @_guard
    def _notify_answers(self, req, tree, body, length, charge, timeout):
        try:
            while True:
                self.conn.wait(req, timeout.deadline(), self.session)
                status = req.header.status
                if status == C.STATUS_SUCCESS:
                    out = bytes(parse_change_notify_response(req.response, length))
                elif status == STATUS_NOTIFY_ENUM_DIR:
                    out = b""
                else:
                    raise self.failure(req, "CHANGE_NOTIFY")
                req.release()
                req = self._send(C.CHANGE_NOTIFY, body, tree, timeout, charge=charge)
                yield status, out
        finally:
            if not req.done and not req.abandoned:
                self.conn.cancel(req, self.session)
