"""Pipelined SMB1 bulk transfers: READ_ANDX / WRITE_ANDX windows (CIFS 4.2.4, 4.2.5).

Up to ``window`` requests are kept in flight (bounded by the server's MaxMpxCount, CIFS
4.1.1); responses are matched by MID and may complete out of order. Reads are delivered to
the sink in file order: a chunk that arrives early is copied and held until the chunks
before it are delivered, so memory stays within ``window`` chunks. A short read is re-issued
for its missing tail; a read returning no data (or STATUS_END_OF_FILE) marks the end of
file. Short writes are re-sent from where the server stopped. On a deadline every
outstanding request is cancelled (NT_CANCEL) before SMBTimeout propagates.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Optional

from smb.errors import ProtocolError, SMBTimeout
from smb.ntstatus import STATUS_END_OF_FILE
from smb.smb1 import messages as M
from smb.smb1.connection import Connection, failure


def read_to(conn: Connection, tid: int, fid: int, offset: int, length: int,
            sink: Callable[[memoryview], object], deadline: float, *, chunk: int, window: int,
            progress: Optional[Callable[[int], object]] = None) -> int:
    end = float("inf") if length is None or length < 0 else offset + length
    eof = float("inf")
    nxt = offset                # next new offset to request
    deliver = offset            # next offset the sink expects
    holes = deque()             # (offset, size) to re-request first (short reads)
    inflight = {}               # mid -> (offset, size)
    held = {}                   # offset -> bytes that arrived ahead of ``deliver``
    try:
        while True:
            while len(inflight) < window:
                if holes:
                    off, size = holes.popleft()
                else:
                    limit = min(end, eof)
                    if nxt >= limit:
                        break
                    off = nxt
                    size = int(min(chunk, limit - nxt))
                    nxt += size
                if off >= eof:
                    continue
                mid = conn.send(M.read_andx(fid, off, size), tid, deadline=deadline)
                inflight[mid] = (off, size)
            if not inflight:
                break
            resp, (off, size) = _oldest_response(conn, inflight, deadline)
            if resp.status == STATUS_END_OF_FILE:
                data = resp.raw[0:0]
            elif resp.status != 0:
                raise failure(resp, "read at offset %d" % off)
            else:
                data = M.parse_read_andx(resp)
            n = len(data)
            if n > size:
                raise conn.fail(ProtocolError("READ_ANDX returned %d bytes for a %d-byte request" % (n, size)))
            if n == 0:
                eof = min(eof, off)
                continue
            if n < size:
                holes.append((off + n, size - n))
            if off == deliver:
                sink(data)
                deliver += n
                if progress is not None:
                    progress(n)
                while deliver in held:
                    piece = held.pop(deliver)
                    sink(memoryview(piece))
                    deliver += len(piece)
                    if progress is not None:
                        progress(len(piece))
            elif off > deliver:
                held[off] = bytes(data)
            # off < deliver cannot happen: every byte range is requested once
    except BaseException as exc:
        _abandon(conn, inflight, deadline, exc)
        raise
    return deliver - offset


def _oldest_response(conn: Connection, inflight: dict, deadline: float):
    """Wait for the oldest request in flight; return (its response, what ``inflight`` held)."""
    mid = next(iter(inflight))
    resp = conn.receive(mid, deadline)
    conn.done(mid)
    return resp, inflight.pop(mid)


def _abandon(conn: Connection, inflight: dict, deadline: float, exc: BaseException) -> None:
    """After ``exc`` ends a transfer: cancel what is in flight on a timeout (NT_CANCEL),
    otherwise collect the outstanding responses so the connection stays in step."""
    if isinstance(exc, SMBTimeout):
        conn.cancel(list(inflight))
    else:
        _drain(conn, inflight, deadline)


def _drain(conn: Connection, inflight: dict, deadline: float) -> None:
    """Collect (and ignore) the responses of requests still outstanding after an error."""
    if conn.error is not None:
        return
    try:
        for mid in list(inflight):
            conn.receive(mid, deadline)
            conn.done(mid)
            inflight.pop(mid, None)
    except SMBTimeout:
        conn.cancel(list(inflight))
    except Exception:
        pass


def write_from(conn: Connection, tid: int, fid: int, offset: int, source: Callable[[int], bytes],
               deadline: float, *, chunk: int, window: int,
               progress: Optional[Callable[[int], object]] = None) -> int:
    pos = offset
    written = 0
    inflight = {}               # mid -> (offset, data)
    pending = deque()           # (offset, data) still to send (splits and short-write tails)
    exhausted = False
    try:
        while True:
            while len(inflight) < window:
                if not pending:
                    if exhausted:
                        break
                    data = source(chunk)
                    if not data:
                        exhausted = True
                        break
                    mv = memoryview(data).cast("B") if not isinstance(data, memoryview) else data.cast("B")
                    for i in range(0, len(mv), chunk):
                        piece = mv[i:i + chunk]
                        pending.append((pos, piece))
                        pos += len(piece)
                off, piece = pending.popleft()
                mid = conn.send(M.write_andx(fid, off, piece), tid, deadline=deadline)
                inflight[mid] = (off, piece)
            if not inflight:
                break
            resp, (off, piece) = _oldest_response(conn, inflight, deadline)
            if resp.status != 0:
                raise failure(resp, "write at offset %d" % off)
            n = M.parse_write_andx(resp)
            if n > len(piece):
                raise conn.fail(ProtocolError("WRITE_ANDX reports %d bytes written of %d" % (n, len(piece))))
            if n == 0 and len(piece):
                raise failure(resp, "write at offset %d made no progress" % off)
            if n < len(piece):
                pending.appendleft((off + n, piece[n:]))
            written += n
            if progress is not None and n:
                progress(n)
    except BaseException as exc:
        _abandon(conn, inflight, deadline, exc)
        raise
    return written
