"""Byte-range locks of the SMB1 engine (a mixin of :class:`smb.smb1.engine.SMB1Engine`).

SMB_COM_LOCKING_ANDX ([MS-CIFS] 2.2.4.32: request 2.2.4.32.1 with LOCKING_ANDX_RANGE32 /
LOCKING_ANDX_RANGE64, response 2.2.4.32.2; client behaviour 3.2.4.16). The server itself
waits ``Timeout`` milliseconds for a contended range (0: fail at once with
STATUS_LOCK_NOT_GRANTED; 0xFFFFFFFF: without limit) and answers when the lock is granted or
the time is up (STATUS_FILE_LOCK_CONFLICT in Samba and Windows). The client waits for that
answer as long as the server may take plus the operation's own per-response timeout, and
sends NT_CANCEL ([MS-CIFS] 2.2.4.65) if it does not come. A lock belongs to the PID in its
range ([MS-CIFS] 3.3.5.31), this connection's PID for every range this client locks.
"""

from __future__ import annotations

import struct
import time
from typing import Optional

from smb import engine as E
from smb.errors import SMBTimeout
from smb.smb1 import header as H
from smb.smb1.connection import failure
from smb.smb1.mixin import EngineMixin

# LOCKING_ANDX TypeOfLock ([MS-CIFS] 2.2.4.32.1)
SHARED_LOCK = 0x01
OPLOCK_RELEASE = 0x02
CHANGE_LOCKTYPE = 0x04
CANCEL_LOCK = 0x08
LARGE_FILES = 0x10

#: Timeout values: fail immediately, wait without limit
NO_WAIT = 0
WAIT_FOREVER = 0xFFFFFFFF

_LOCKING_ANDX = struct.Struct("<BBHHBBIHH")  # 8 words
_RANGE32 = struct.Struct("<HII")             # PID, ByteOffset, LengthInBytes
_RANGE64 = struct.Struct("<HHIIII")          # PID, Pad, OffsetHigh, OffsetLow, LengthHigh, LengthLow


def locking_andx(fid: int, pid: int, *, unlocks=(), locks=(), shared: bool = False,
                 timeout_ms: int = NO_WAIT, large: bool = True):
    """A LOCKING_ANDX request (a messages tuple) unlocking then locking ``(offset, length)``
    ranges of ``fid``; ``large`` uses 64-bit ranges (the server has CAP_LARGE_FILES)."""
    lock_type = (SHARED_LOCK if shared else 0) | (LARGE_FILES if large else 0)
    words = _LOCKING_ANDX.pack(H.SMB_COM_NO_ANDX_COMMAND, 0, 0, fid, lock_type, 0,
                               timeout_ms & 0xFFFFFFFF, len(unlocks), len(locks))
    data = bytearray()
    for offset, length in list(unlocks) + list(locks):
        if large:
            data += _RANGE64.pack(pid, 0, offset >> 32, offset & 0xFFFFFFFF, length >> 32,
                                  length & 0xFFFFFFFF)
        else:
            if offset + length > 0xFFFFFFFF:
                raise ValueError("a range beyond 4 GiB needs a server with CAP_LARGE_FILES")
            data += _RANGE32.pack(pid, offset, length)
    return (H.SMB_COM_LOCKING_ANDX, words, bytes(data), None)


def timeout_field(wait: Optional[float]) -> int:
    """LOCKING_ANDX Timeout (milliseconds) for a wait of ``wait`` seconds (None: forever)."""
    if wait is None:
        return WAIT_FOREVER
    return min(int(wait * 1000), WAIT_FOREVER - 1)


class LockOperations(EngineMixin):
    """``lock`` / ``unlock`` of one byte range of an open file."""

    def lock(self, tree: E.Tree, file_id, offset: int, length: int, *, exclusive: bool = True,
             wait: Optional[float] = 0.0, timeout: E.Timeout) -> None:
        """As :meth:`smb.smb2.locks.LockOperations.lock`; a wait that runs out raises the
        server's STATUS_FILE_LOCK_CONFLICT (or STATUS_LOCK_NOT_GRANTED) as OperationFailure."""
        req = locking_andx(file_id, self.conn.pid, locks=[(offset, length)], shared=not exclusive,
                           timeout_ms=timeout_field(wait), large=self._large_locks())
        if wait == 0:
            self.conn.request(req, tree.tree_id, timeout, what="lock")
            return
        # the server holds its answer up to ``wait``; then the usual per-response wait
        deadline = float("inf") if wait is None or timeout.seconds is None else \
            time.monotonic() + wait + timeout.seconds
        mid = self.conn.send(req, tree.tree_id, deadline=timeout.deadline())
        try:
            resp = self._answer(mid, deadline)
        finally:
            self.conn.done(mid)
        if resp.status != 0:
            raise failure(resp, "lock")

    def unlock(self, tree: E.Tree, file_id, offset: int, length: int, timeout: E.Timeout) -> None:
        req = locking_andx(file_id, self.conn.pid, unlocks=[(offset, length)], large=self._large_locks())
        self.conn.request(req, tree.tree_id, timeout, what="unlock")

    def _large_locks(self) -> bool:
        return bool(self.capabilities & H.CAP_LARGE_FILES)

    def _answer(self, mid: int, deadline: float):
        try:
            return self.conn.receive(mid, deadline)
        except SMBTimeout:
            self.conn.cancel([mid])
            raise
