"""Read-ahead and write-behind for the remote file objects of :mod:`smb.fileobj`.

Both run over the engines' submit/complete interface (:class:`smb.engine.Engine`:
``submit_read`` / ``complete_read`` / ``submit_write`` / ``complete_write`` / ``release`` /
``abandon`` / ``can_submit``), the one :mod:`smb.transfer` uses, so they work unchanged on
SMB2/3 ([MS-SMB2] 3.2.4.7 READ, 3.2.4.8 WRITE) and SMB1 ([MS-CIFS] READ_ANDX 2.2.4.42,
WRITE_ANDX 2.2.4.43).

:class:`ReadAhead`: a read that starts where the previous one ended is *sequential*; from
the second such read on, READs beyond the requested range are kept in flight, their amount
doubling up to the engine's window (``read_chunk * read_window``) and never beyond the size
the file is known to have. Any other read (after a seek) is *random* and reads exactly the
requested range; what was read ahead is dropped (answers of READs still in flight are
discarded on arrival). A READ carrying more than asked is malformed (ProtocolError); an
empty one (or STATUS_END_OF_FILE) is the end of the file; a short one is followed at once
by a READ of the rest, the others staying in flight, and when that rest comes the server is
taken to cap READs at what the short one returned: later READs ask that much, more of them
in flight (SMB1 servers answer at most what fits a 17-bit NetBIOS length), those of the
connection's later transfers too (:meth:`smb.engine.Engine.cap_reads`).

:class:`WriteBehind`: a write is accepted at once; contiguous small writes are gathered into
one WRITE of up to ``write_chunk`` bytes, and up to ``write_window`` WRITEs are in flight.
Their answers are collected when the window is full and by :meth:`WriteBehind.drain`
(flush, close, and before any read, truncate, seek to the end or lock). A short WRITE is
re-sent from where the server stopped. The first failure is raised by the call that collects
it -- a later ``write``, ``flush`` or ``close`` -- never lost; the data accepted but not yet
written is then dropped.

Neither class is thread-safe: :class:`smb.fileobj.SMBRawFile` serialises the calls. They
leave the engine contract (ProtocolError aborts the connection, pinned transport buffers
released) to their caller.
"""

from __future__ import annotations

from collections import deque
from typing import Optional

from smb.errors import OperationFailure, ProtocolError, SMBTimeout
from smb.transfer import capped_sizes, drop

#: the smallest read-ahead (bytes) once reads are sequential
MIN_AHEAD = 256 * 1024


class ReadAhead:
    """Sequential-read detection and the READs kept in flight for one open file."""

    def __init__(self, engine, tree, file_id, timeout):
        self.engine, self.tree, self.file_id, self.timeout = engine, tree, file_id, timeout
        self.chunk = max(1, engine.read_chunk)
        self.window = max(1, engine.read_window)
        self.max_ahead = self.chunk * self.window
        #: [handle, offset, size, after_short], contiguous, in file order; after_short: the
        #: READ of the rest of a short one that returned that many bytes
        self.inflight = deque()
        self.frontier = 0         # offset just past the last READ in flight
        self.buf = b""            # data read beyond what was asked, at buf_off
        self.buf_off = 0
        self.expect = None        # where a sequential read would start
        self.ahead = 0            # bytes to keep in flight beyond ``expect``
        self.eof_at = None        # a READ of this call found the end of the file here

    # --- the caller's view --------------------------------------------------------------
    def readinto(self, pos: int, b, known_size: int) -> int:
        """Read into ``b`` from ``pos``; fewer bytes only at the end of the file."""
        out = memoryview(b).cast("B")
        n = len(out)
        sequential = pos == self.expect
        if not sequential:
            self.reset()
        self.eof_at = None
        got = 0
        try:
            while got < n:
                off = pos + got
                k = self._from_buffer(off, out[got:])
                if k:
                    got += k
                    continue
                if not self.inflight or self.inflight[0][1] != off:
                    self._drop_inflight()
                    self.buf = b""
                    self.frontier = off
                self._fill(pos + n, known_size)
                k = self._complete_head(out[got:])
                if k is None:
                    break
                got += k
            self.expect = pos + got
            if sequential and got:
                self.ahead = min(self.max_ahead, max(2 * self.ahead, 2 * n, MIN_AHEAD))
                self._top_up(known_size)
        except BaseException as exc:
            self._drop_inflight(exc)
            self.expect = None
            raise
        return got

    def reset(self) -> None:
        """Forget everything read ahead (after a seek, a write or a truncate)."""
        self._drop_inflight()
        self.buf = b""
        self.expect = None
        self.ahead = 0
        self.eof_at = None

    # --- internals ------------------------------------------------------------------------
    def _from_buffer(self, off: int, out) -> int:
        buf = self.buf
        if not buf or not self.buf_off <= off < self.buf_off + len(buf):
            return 0
        start = off - self.buf_off
        k = min(len(out), len(buf) - start)
        out[:k] = buf[start:start + k]  # a memoryview: no copy of the slice
        if start + k == len(buf):
            self.buf = b""
        return k

    def _submit(self, offset: int, size: int) -> None:
        e = self.engine
        self.inflight.append([e.submit_read(self.tree, self.file_id, offset, size, self.timeout),
                              offset, size, 0])
        self.frontier = offset + size

    def _fill(self, end: int, known_size: int) -> None:
        """READs from the frontier up to ``end``, one per chunk, as many as the window
        allows (the rest goes out as answers come in); beyond the size the file is known to
        have, one at a time (the file may have grown; if not, nothing is asked in vain)."""
        e = self.engine
        while self.frontier < end and len(self.inflight) < self.window:
            if self.frontier >= known_size and self.inflight:
                break
            size = min(self.chunk, end - self.frontier)
            if self.inflight and not e.can_submit(size):
                break
            self._submit(self.frontier, size)

    def _top_up(self, known_size: int) -> None:
        """Keep ``ahead`` bytes in flight beyond ``expect``, within the known file size."""
        if self.eof_at is not None:
            return
        if not self.inflight:
            self.frontier = max(self.expect, self.buf_off + len(self.buf) if self.buf else 0)
        self._fill(min(self.expect + self.ahead, known_size), known_size)

    def _complete_head(self, out):
        """Wait for the oldest READ; copy what fits into ``out`` and keep the rest. Returns
        the bytes copied, or None at the end of the file."""
        e = self.engine
        handle, off, size, after_short = self.inflight.popleft()
        try:
            data = e.complete_read(handle, self.timeout)
            n = len(data) if data is not None else 0
            if n > size:
                raise ProtocolError("READ returned %d bytes for a %d-byte request" % (n, size))
            if n == 0:
                self.eof_at = off
                self._drop_inflight()
                return None
            k = min(n, len(out))
            out[:k] = data[:k]
            if k < n:
                self.buf, self.buf_off = memoryview(bytes(data[k:n])), off + k
        finally:
            e.release(handle)
        if after_short:
            # the rest of a short READ came: the server caps READs (SMB1 servers answer at
            # most what fits a 17-bit NetBIOS length); ask that much from now on
            self._set_chunk(after_short)
        if n < size:
            # short: the rest of the range goes out now, ahead of the READs behind it
            self.inflight.appendleft([e.submit_read(self.tree, self.file_id, off + n, size - n,
                                                    self.timeout), off + n, size - n, n])
        return k

    def _set_chunk(self, size: int) -> None:
        self.engine.cap_reads(size)  # later transfers of the connection ask that much too
        self.chunk, self.window = capped_sizes(self.chunk, self.window, size)

    def _drop_inflight(self, after: Optional[BaseException] = None) -> None:
        """Forget the READs in flight: their answers are awaited and dropped (servers must
        not see a CLOSE while READs are outstanding: Samba 4.17 crashes on SMB1), unless
        ``after`` a failure that is not the server's (their requests are then abandoned)."""
        handles = [item[0] for item in self.inflight]
        self.inflight.clear()
        drop(self.engine, handles, self.engine.complete_read, self.timeout, after)


class WriteBehind:
    """WRITEs of one open file in flight, their answers collected later."""

    def __init__(self, engine, tree, file_id, timeout):
        self.engine, self.tree, self.file_id, self.timeout = engine, tree, file_id, timeout
        self.chunk = max(1, engine.write_chunk)
        self.window = max(1, engine.write_window)
        self.inflight = deque()   # (handle, offset, data view)
        self.pending = bytearray()  # gathered small writes, not sent yet, at pending_off
        self.pending_off = 0

    @property
    def idle(self) -> bool:
        return not self.inflight and not self.pending

    def write(self, offset: int, data) -> None:
        """Accept ``data`` (copied) for ``offset``: gathered while contiguous, sent in
        ``write_chunk`` pieces."""
        mv = memoryview(data).cast("B")
        if not len(mv):
            return
        if self.pending and offset != self.pending_off + len(self.pending):
            self._send_pending()
        if self.pending:
            room = self.chunk - len(self.pending)
            self.pending += mv[:room]
            offset += min(room, len(mv))
            mv = mv[room:]
            if len(self.pending) >= self.chunk:
                self._send_pending()
        chunk = self.chunk
        while len(mv) >= chunk:
            self._submit(offset, memoryview(bytes(mv[:chunk])))
            offset += chunk
            mv = mv[chunk:]
        if len(mv):
            self.pending = bytearray(mv)
            self.pending_off = offset

    def drain(self) -> None:
        """Send what is gathered and wait for every WRITE; raises the first failure."""
        self._send_pending()
        while self.inflight:
            self._complete_oldest()

    def discard(self, after: Optional[BaseException] = None) -> None:
        """Drop everything not written yet (after a failure): what is in flight is awaited
        (or abandoned, see :func:`drop`)."""
        self.pending = bytearray()
        handles = [item[0] for item in self.inflight]
        self.inflight.clear()
        drop(self.engine, handles, self.engine.complete_write, self.timeout, after)

    # --- internals ------------------------------------------------------------------------
    def _send_pending(self) -> None:
        if self.pending:
            # the gathered bytearray itself goes out (nothing else refers to it any more)
            data, self.pending = memoryview(self.pending), bytearray()
            self._submit(self.pending_off, data)

    def _submit(self, offset: int, data) -> None:
        e = self.engine
        while self.inflight and (len(self.inflight) >= self.window or not e.can_submit(len(data))):
            self._complete_oldest()
        try:
            handle = e.submit_write(self.tree, self.file_id, offset, data, self.timeout)
        except BaseException as exc:
            self.discard(exc)
            raise
        self.inflight.append((handle, offset, data))

    def _complete_oldest(self) -> None:
        e = self.engine
        handle, off, data = self.inflight.popleft()
        try:
            n = e.complete_write(handle, self.timeout)
            if n > len(data):
                raise ProtocolError("WRITE response claims %d bytes of %d" % (n, len(data)))
            if n == 0:
                raise OperationFailure("WRITE at offset %d made no progress" % off, status=0)
        except BaseException as exc:
            self.discard(exc)
            raise
        if n < len(data):
            # short: the rest goes out next, ahead of everything still waiting
            try:
                handle = e.submit_write(self.tree, self.file_id, off + n, data[n:], self.timeout)
            except BaseException as exc:
                self.discard(exc)
                raise
            self.inflight.appendleft((handle, off + n, data[n:]))
