"""SMB1 request multiplexer, safe for many threads: MIDs, signing, NT_CANCEL, transactions.

Several requests may be outstanding at once (up to the server's MaxMpxCount, CIFS 4.1.1,
handed out first come, first served); responses are matched to requests by MID ([MS-CIFS]
3.2.5.1) and may arrive in any order. The reader role, pinned views and the broken state
come from :class:`smb.mux.Multiplexer`. When signing is active ([MS-CIFS] 3.2.4.1.3 /
3.2.5.1.2) each request takes the next sequence number n and its response(s) must be signed
with n + 1; NT_CANCEL (CIFS 4.1.8) takes one number and has no response. Sequence numbers
are taken and the request written under one lock, so the server sees them in order. A
request whose wait times out is cancelled with NT_CANCEL and its late response discarded.
Multi-part transaction responses are reassembled by :class:`smb.smb1.trans.Assembler`.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from collections import deque
from logging import DEBUG
from typing import Dict, Optional

from smb.errors import NotConnectedError, OperationFailure, ProtocolError, SMBTimeout
from smb.mux import Multiplexer
from smb.records import smb1_failure
from smb.smb1 import header as H
from smb.smb1 import messages as M
from smb.smb1 import signing
from smb.smb1 import trans as T

#: pysmb's logger of the SMB layer: one DEBUG record per message sent and received (never a
#: key, signature or payload)
log = logging.getLogger("SMB.SMB")

_MID_AT = struct.Struct("<H")
_STATUS_AT = struct.Struct("<I")
STATUS_BUFFER_OVERFLOW = 0x80000005

COMMAND_NAMES = {v: k[8:] for k, v in vars(H).items() if k.startswith("SMB_COM_")}


class _Pending:
    """One outstanding request: its signing sequence number and the responses that arrived
    for it and were not taken yet."""

    __slots__ = ("mid", "seq", "command", "tid", "owner", "queue")

    def __init__(self, mid, seq, command, tid):
        self.mid = mid
        self.seq = seq
        self.command = command
        self.tid = tid
        self.owner = threading.get_ident()
        self.queue = deque()  # raw responses (views of the reader's own, else bytes)

    def detach(self) -> None:
        """Copy queued responses out of the transport buffer (it is about to be reused)."""
        self.queue = deque(bytes(r) if type(r) is memoryview else r for r in self.queue)


def command_names(commands) -> str:
    """The names of SMB1 commands joined by '+' ('NT_CREATE_ANDX+READ_ANDX+CLOSE'), an
    unknown one in hex: for logs and error messages."""
    return "+".join(COMMAND_NAMES.get(c, "0x%02X" % c) for c in commands)


def _names(req) -> str:
    """The command names of a request or of an AndX chain's requests, for the log."""
    return command_names([r[0] for r in req] if isinstance(req, M.Chain) else [req[0]])


def _received_names(mv) -> str:
    """The command names of the blocks of a received message, for the log (the first
    one's alone when the message does not parse; it is then refused elsewhere)."""
    try:
        return command_names([block[0] for block in H.parse_response(mv).blocks])
    except ProtocolError:
        return command_names([mv[4]])


def failure(resp: H.Response, what: str = "") -> OperationFailure:
    name = command_names([resp.command])
    return smb1_failure("SMB1 %s failed%s" % (name, (": " + what) if what else ""), resp.raw, resp.status)


class Connection(Multiplexer):
    """One SMB1 transport with its session state (UID, signing) and the outstanding requests."""

    name = "SMB1"

    def __init__(self, transport, *, unicode: bool = True, extended_security: bool = True,
                 max_mpx: int = 1):
        super().__init__(transport)
        self.uid = 0
        self.pid = os.getpid() & 0xFFFF
        self.flags2 = H.DEFAULT_FLAGS2 if unicode else H.DEFAULT_FLAGS2 & ~H.SMB_FLAGS2_UNICODE
        if extended_security:
            self.flags2 |= H.SMB_FLAGS2_EXTENDED_SECURITY
        self.unicode = unicode
        self.max_request = 0xFFFF  # the server's MaxBufferSize
        #: requests outstanding at most (the server's MaxMpxCount)
        self.max_mpx = max(1, max_mpx)
        self._next_mid = 1
        self._pending: Dict[int, _Pending] = {}
        self._reserved = 0  # MID slots taken and not yet sent
        self._abandoned: Dict[int, int] = {}
        self.signing_key: Optional[bytes] = None
        self.seq = 0

    def activate_signing(self, key: bytes, next_seq: int = 2) -> None:
        self.signing_key = bytes(key)
        self.seq = next_seq
        self.flags2 |= H.SMB_FLAGS2_SMB_SECURITY_SIGNATURE

    @property
    def outstanding(self) -> int:
        return len(self._pending)

    # --- sending -----------------------------------------------------------------------
    def _alloc_mid(self) -> int:
        for _ in range(0x10000):
            mid = self._next_mid
            self._next_mid = mid + 1 if mid < 0xFFFE else 1
            if mid not in self._pending and mid not in self._abandoned:
                return mid
        raise ProtocolError("no free SMB1 MID")

    def _take_slot(self, deadline: float) -> None:
        """Wait (first come, first served) until fewer than MaxMpxCount requests are out."""
        def take():
            if len(self._pending) + self._reserved < self.max_mpx:
                self._reserved += 1
                return True
            return False

        self.take_turn(take, deadline)

    def send(self, req, tid: int = 0, *, deadline: Optional[float] = None, mid: Optional[int] = None,
             expect_response: bool = True, dfs: bool = False) -> int:
        """Send ``req`` (a messages tuple, or a :class:`smb.smb1.messages.Chain` of them);
        returns its MID. ``dfs``: its path names are DFS paths (SMB_FLAGS2_DFS, [MS-CIFS]
        2.2.3.1)."""
        self.check_usable()
        if deadline is None:
            deadline = time.monotonic() + 60
        slot = expect_response and mid is None
        command = M.command_of(req)
        if slot:
            self.unpin_all()
            self._take_slot(deadline)
        try:
            with self._send_lock:
                with self._cv:
                    self.check_usable()
                    if mid is None:
                        mid = self._alloc_mid()
                    seq = 0
                    if self.signing_key is not None:
                        seq = self.seq
                        self.seq += 2 if expect_response else 1
                    if expect_response:
                        self._pending[mid] = _Pending(mid, seq, command, tid)
                flags2 = self.flags2 | H.SMB_FLAGS2_DFS if dfs else self.flags2
                bufs = M.assemble(req, flags2=flags2, tid=tid, uid=self.uid, mid=mid, pid=self.pid)
                if self.signing_key is not None:
                    signing.sign(self.signing_key, seq, bufs)
                if log.isEnabledFor(DEBUG):
                    log.debug("SMB1 send %s mid=%d tid=%d %d bytes%s", _names(req), mid,
                              tid, sum(len(b) for b in bufs), " signed" if self.signing_key is not None else "")
                try:
                    self.transport.send(*bufs, deadline=deadline)
                except SMBTimeout as e:
                    if self.signing_key is not None or getattr(self.transport, "closed", False):
                        # a sequence number is spent (or half a message written): no way on
                        raise self.fail(e)
                    with self._cv:  # nothing was written
                        self._pending.pop(mid, None)
                    raise
                except (NotConnectedError, ProtocolError, OSError) as e:
                    raise self.fail(e)
        finally:
            if slot:
                with self._cv:
                    self._reserved -= 1
                    self._cv.notify_all()
        return mid

    # --- receiving -----------------------------------------------------------------------
    def _verify(self, p: _Pending, mv) -> None:
        if self.signing_key is None or p.command == H.SMB_COM_SESSION_SETUP_ANDX:
            return
        if not signing.verify(self.signing_key, p.seq + 1, mv):
            raise ProtocolError("bad SMB1 signature on the response to MID %d (%s)"
                                % (p.mid, COMMAND_NAMES.get(p.command, p.command)))

    def _dispatch(self, mv, me) -> None:
        if len(mv) < H.HEADER_SIZE or bytes(mv[:4]) != H.PROTOCOL:
            raise ProtocolError("not an SMB1 message from the server")
        rmid = _MID_AT.unpack_from(mv, 30)[0]
        if log.isEnabledFor(DEBUG):
            log.debug("SMB1 recv %s mid=%d status=0x%08X %d bytes", _received_names(mv), rmid,
                      _STATUS_AT.unpack_from(mv, 5)[0], len(mv))
        q = self._pending.get(rmid)
        if q is None:
            left = self._abandoned.get(rmid)
            if left is not None:
                if left <= 1:
                    del self._abandoned[rmid]
                else:
                    self._abandoned[rmid] = left - 1
            return  # late response to a cancelled request, or an oplock break we never asked for
        if not mv[9] & H.SMB_FLAGS_REPLY:
            return
        self._verify(q, mv)
        self.progressed(q.owner)
        q.queue.append(self.hand_over(q, mv, q.owner, me))

    def receive(self, mid: int, deadline: Optional[float]) -> H.Response:
        """The next response for ``mid`` (still registered: call :meth:`done` when finished).

        The response's memory stays valid until this thread waits again or its operation
        ends."""
        p = self._pending.get(mid)
        if p is None:
            self.check_usable()
            raise ValueError("MID %d is not outstanding" % mid)
        if deadline is None:
            deadline = time.monotonic() + 60
        if time.monotonic() >= deadline and not p.queue:
            raise SMBTimeout("no response to MID %d before the deadline" % mid)
        self.pump(lambda: bool(p.queue), deadline)
        with self._cv:
            raw = p.queue.popleft()
        try:
            return H.parse_response(raw)
        except ProtocolError as e:
            raise self.fail(e)

    def can_send(self) -> bool:
        """Whether a request could be sent now without waiting for a MID slot."""
        return len(self._pending) + self._reserved < self.max_mpx

    def forget(self, mids) -> None:
        """Give up on ``mids`` without cancelling them: their answers are dropped on arrival."""
        with self._cv:
            for mid in mids:
                if self._pending.pop(mid, None) is not None:
                    self._abandoned[mid] = 1
            self._cv.notify_all()

    def done(self, mid: int) -> None:
        """Forget ``mid``. Its last response stays valid (the buffer pinned) until this
        thread waits again or its operation ends (:meth:`unpin_all`)."""
        with self._cv:
            self._pending.pop(mid, None)
            self._cv.notify_all()

    def cancel(self, mids, responses_left: int = 1) -> None:
        """NT_CANCEL every MID in ``mids`` and forget them (their responses are discarded)."""
        for mid in list(mids):
            with self._cv:
                p = self._pending.pop(mid, None)
                if p is None:
                    continue
                self._abandoned[mid] = responses_left
                self._cv.notify_all()
            if self.broken is None:
                try:
                    self.send(M.nt_cancel(), p.tid, mid=mid, expect_response=False,
                              deadline=time.monotonic() + 5)
                except Exception:
                    pass

    def request(self, req, tid: int, timeout, *, ok=(0,), what: str = "", dfs: bool = False) -> H.Response:
        """Send ``req`` and wait for its response (``timeout``: a :class:`smb.engine.Timeout`);
        raise OperationFailure unless the status is in ``ok``."""
        mid = self.send(req, tid, deadline=timeout.deadline(), dfs=dfs)
        try:
            resp = self.receive(mid, timeout.deadline())
        except SMBTimeout:
            self.cancel([mid])
            raise
        finally:
            self.done(mid)
        if resp.status not in ok:
            raise failure(resp, what)
        return resp

    # --- transactions --------------------------------------------------------------------
    def transact(self, req, tid: int, timeout, *, max_param: int, max_data: int,
                 nt: bool = False, what: str = "", ok=(0,), dfs: bool = False):
        """Run one TRANSACTION / TRANSACTION2 / NT_TRANSACT; returns ``(assembler, status)``.

        Statuses in ``ok`` (and STATUS_BUFFER_OVERFLOW, whose data is valid) are accepted;
        each response part gets its own wait of ``timeout``."""
        self._check_size(req)
        mid = self.send(req, tid, deadline=timeout.deadline(), dfs=dfs)
        asm = T.Assembler(nt, max_param, max_data)
        try:
            while True:
                try:
                    resp = self.receive(mid, timeout.deadline())
                except SMBTimeout:
                    self.cancel([mid])
                    raise
                st = resp.status
                if st not in ok and st != STATUS_BUFFER_OVERFLOW:
                    raise failure(resp, what)
                if not len(resp.words):
                    if st == 0 and asm.parts == 0:
                        continue  # interim response
                    raise self.fail(ProtocolError("empty transaction response"))
                try:
                    complete = asm.feed(resp)
                except ProtocolError as e:
                    raise self.fail(e)
                if complete:
                    return asm, st
        finally:
            self.done(mid)

    def _check_size(self, req) -> None:
        size = H.HEADER_SIZE + 3 + len(req[1]) + len(req[2])
        if size > self.max_request:
            raise OperationFailure("SMB1 request of %d bytes exceeds the server's buffer of %d bytes"
                                   % (size, self.max_request))
