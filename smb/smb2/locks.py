"""Byte-range locks of the SMB2/3 engine (a mixin of :class:`smb.smb2.engine.SMB2Engine`).

[MS-SMB2] 2.2.26 / 2.2.27 (LOCK request and response, 2.2.26.1 SMB2_LOCK_ELEMENT) and the
client's part of 3.2.4.19 (sending a LOCK) and 3.2.4.24 (CANCEL). A lock that may wait is
sent without SMB2_LOCKFLAG_FAIL_IMMEDIATELY: the server answers with an interim
STATUS_PENDING (handled by :mod:`smb.smb2.connection`, which keeps its AsyncId) and the final
answer once the range is granted. When the caller's wait runs out first, the client sends
CANCEL and then takes the final answer: STATUS_CANCELLED, or success when the grant crossed
the CANCEL (the lock is then held, and reported so). LockSequenceNumber/Index stay 0: they
matter only for resilient and durable handles (3.2.4.19), which this client does not open.
"""

from __future__ import annotations

import struct
import time
from typing import Optional

from smb.engine import Timeout, Tree
from smb.errors import SMBTimeout
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2.mixin import EngineMixin

# SMB2_LOCK_ELEMENT Flags ([MS-SMB2] 2.2.26.1)
LOCKFLAG_SHARED_LOCK = 0x00000001
LOCKFLAG_EXCLUSIVE_LOCK = 0x00000002
LOCKFLAG_UNLOCK = 0x00000004
LOCKFLAG_FAIL_IMMEDIATELY = 0x00000010

_LOCK_REQ = struct.Struct("<HHI16s")   # StructureSize (48), LockCount, LockSequence, FileId
_LOCK_ELEMENT = struct.Struct("<QQII")  # Offset, Length, Flags, Reserved


def lock_request(file_id: bytes, elements) -> bytes:
    """The LOCK body for ``elements``, ``(offset, length, flags)`` tuples (at least one)."""
    elements = list(elements)
    if not elements:
        raise ValueError("a LOCK needs at least one lock element")
    body = bytearray(_LOCK_REQ.pack(48, len(elements), 0, file_id))
    for offset, length, flags in elements:
        body += _LOCK_ELEMENT.pack(offset, length, flags, 0)
    return bytes(body)


def parse_lock_response(msg) -> None:
    """A LOCK response is a bare StructureSize 4 ([MS-SMB2] 2.2.27)."""
    M.parse_simple_response(msg, "LOCK")


class LockOperations(EngineMixin):
    """``lock`` / ``unlock`` of one byte range of an open file."""

    def lock(self, tree: Tree, file_id, offset: int, length: int, *, exclusive: bool = True,
             wait: Optional[float] = 0.0, timeout: Timeout) -> None:
        """Lock ``length`` bytes at ``offset``. ``wait``: 0 fails at once when another open
        holds a conflicting lock (STATUS_LOCK_NOT_GRANTED); a number of seconds waits that
        long for the range, None without limit; a wait that runs out raises the server's
        final status (STATUS_CANCELLED) as OperationFailure."""
        flags = LOCKFLAG_EXCLUSIVE_LOCK if exclusive else LOCKFLAG_SHARED_LOCK
        if wait == 0:
            flags |= LOCKFLAG_FAIL_IMMEDIATELY
        req = self._send(C.LOCK, lock_request(file_id, [(offset, length, flags)]), tree, timeout)
        if wait == 0 or not self._granted_before(req, wait):
            if wait != 0:
                self.conn.cancel(req, self.session, abandon=False)
            self.conn.wait(req, timeout.deadline(), self.session)
        self._check(req, "LOCK")
        parse_lock_response(req.response)
        req.release()

    def unlock(self, tree: Tree, file_id, offset: int, length: int, timeout: Timeout) -> None:
        """Release the lock on exactly that range (STATUS_RANGE_NOT_LOCKED if there is none)."""
        req = self._call(C.LOCK, lock_request(file_id, [(offset, length, LOCKFLAG_UNLOCK)]), tree,
                         timeout)
        self._check(req, "LOCK (unlock)")
        parse_lock_response(req.response)
        req.release()

    def _granted_before(self, req, wait: Optional[float]) -> bool:
        """Wait up to ``wait`` seconds (None: forever) for the answer to a blocking LOCK;
        False when it has not come by then."""
        deadline = float("inf") if wait is None else time.monotonic() + wait
        try:
            self.conn.pump(lambda: req.done, deadline)
        except SMBTimeout:
            return False
        return True
