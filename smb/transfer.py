"""Pipelined reads and writes, written once for both engines.

READ / WRITE requests ([MS-SMB2] 3.2.4.7 / 3.2.4.8; [MS-CIFS] READ_ANDX / WRITE_ANDX
2.2.4.42 / 2.2.4.43) are kept in flight up to the engine's window, and their answers taken
in file order, so that the output never has a hole and memory stays within the window
whatever the file size. The dialect part is the engine's small submit/complete interface
(:class:`smb.engine.Engine`: ``submit_read``, ``complete_read``, ``submit_write``,
``complete_write``, ``release``, ``abandon``, ``can_submit`` and the chunk/window sizes).

Rules:

* reads: a READ that returns fewer bytes than asked is completed by reading the rest of its
  range; only an empty read (or STATUS_END_OF_FILE) ends the file, and READs already in
  flight beyond that end deliver nothing, whatever they carry. A READ carrying more than it
  asked for is malformed (ProtocolError).
* READ sizes: when the rest of a short READ brings data, the server caps READs at what the
  short one returned (SMB1 servers answer at most what fits a 17-bit NetBIOS length):
  :meth:`smb.engine.Engine.cap_reads` makes later READs of the connection ask that much,
  more of them in flight (:func:`capped_sizes`, shared with :mod:`smb.streaming`). While an
  engine does not know whether a READ of ``read_chunk`` bytes is answered in full
  (``read_chunk_honoured``), its first READ goes alone, so no READ in flight is cut short.
* writes: a short WRITE is re-sent from where the server stopped; a WRITE that makes no
  progress is an OperationFailure; one that claims more than was sent is malformed.
* every wait is one response's wait (``timeout``); on a timeout the requests in flight are
  cancelled, on any other error they are abandoned (their answers dropped on arrival).
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Optional

from smb.errors import NotConnectedError, OperationFailure, ProtocolError, SMBTimeout


def _worth_waiting(after: BaseException) -> bool:
    """After ``after``, are the answers to the requests in flight still coming (and
    worth waiting for)? Not after a timeout, a broken or malformed connection or an
    interrupt."""
    return isinstance(after, Exception) and not isinstance(
        after, (SMBTimeout, NotConnectedError, ProtocolError))


def drop(engine, handles, complete, timeout, after: Optional[BaseException] = None) -> None:
    """Wait for the requests ``handles`` and ignore their answers, so that the server
    never sees the file's CLOSE while they are outstanding (Samba 4.17's SMB1 server
    crashes on that). After a timeout, a broken or malformed connection or an interrupt
    (``after``) they are abandoned instead -- cancelled after a timeout. Waiting after
    ``after`` raises nothing; with no ``after``, a broken connection or a timeout met
    while waiting is raised."""
    if not handles:
        return
    if after is not None and not _worth_waiting(after):
        engine.abandon(handles, isinstance(after, SMBTimeout))
        return
    for i, handle in enumerate(handles):
        try:
            complete(handle, timeout)
        except OperationFailure:
            pass
        except BaseException as e:
            engine.abandon(handles[i + 1:], isinstance(e, SMBTimeout))
            if after is None:
                raise
            if isinstance(e, ProtocolError):
                engine.abort(e)
            return
        finally:
            engine.release(handle)


#: READ sizes a server's cap may lower the chunk to, at least; READs in flight at most then
MIN_CHUNK = 4096
MAX_WINDOW = 32


def capped_sizes(chunk: int, window: int, honoured: int):
    """``(chunk, window)`` once a server answered ``honoured`` bytes to a READ of
    ``chunk`` bytes in a file that went on: READs ask that much, more of them in flight (as
    many bytes as before, at most :data:`MAX_WINDOW` READs)."""
    new = max(MIN_CHUNK, min(chunk, honoured))
    return new, max(1, min(MAX_WINDOW, max(window, chunk * window // new)))


def read_to(engine, tree, file_id, offset: int, length: int, sink: Callable[[memoryview], object],
            timeout, progress: Optional[Callable[[int], object]] = None) -> int:
    end = offset + length if length >= 0 else None
    next_off = offset
    inflight: deque = deque()  # (handle, offset, size, after_short)
    short = 0  # the length of a short READ whose rest is read next, alone
    delivered = 0
    eof = False
    try:
        while True:
            chunk, window = engine.read_chunk, engine.read_window
            if short or not engine.read_chunk_honoured:
                window = 1  # the server's cap on READs is being found out
            if 0 <= length < chunk:
                chunk = max(1, length)
            while not eof and len(inflight) < window and (end is None or next_off < end):
                size = chunk if end is None else min(chunk, end - next_off)
                if inflight and not engine.can_submit(size):
                    break
                inflight.append((engine.submit_read(tree, file_id, next_off, size, timeout),
                                 next_off, size, short))
                next_off += size
                short = 0
            if not inflight:
                break
            handle, off, size, after_short = inflight.popleft()
            data = engine.complete_read(handle, timeout)
            if data is None or eof:
                # the end of the file, or a READ beyond it: delivering its data would leave
                # a hole in the output
                engine.release(handle)
                eof = True
                continue
            n = len(data)
            if n > size:
                raise ProtocolError("READ returned %d bytes for a %d-byte request" % (n, size))
            if n:
                sink(data)
            engine.release(handle)
            delivered += n
            if progress is not None and n:
                progress(n)
            if n and after_short:
                engine.cap_reads(after_short)  # the file went on: the server caps READs
            elif n == size == engine.read_chunk:
                engine.read_chunk_honoured = True
            if n < size:
                # short: a shrinking file, or a server that caps READs. Only an empty read
                # ends the file: the rest of the range is read next
                if inflight:
                    extra = _read_rest(engine, tree, file_id, off + n, size - n, sink, timeout, progress)
                    delivered += extra
                    eof = n + extra < size
                else:  # nothing beyond it in flight: read on from its end, learning the cap
                    next_off, short = off + n, n
    except BaseException as exc:
        drop(engine, [item[0] for item in inflight], engine.complete_read, timeout, exc)
        raise
    return delivered


def _read_rest(engine, tree, file_id, offset, length, sink, timeout, progress) -> int:
    """Read ``offset .. offset + length`` one READ at a time; fewer bytes at end of file."""
    got = 0
    while got < length:
        handle = engine.submit_read(tree, file_id, offset + got, length - got, timeout)
        try:
            data = engine.complete_read(handle, timeout)
            if not data:
                break
            n = len(data)
            if n > length - got:
                raise ProtocolError("READ returned %d bytes for a %d-byte request" % (n, length - got))
            sink(data)
        except BaseException as exc:
            engine.abandon([handle], isinstance(exc, SMBTimeout))  # answered or failed itself
            raise
        finally:
            engine.release(handle)
        got += n
        if progress is not None:
            progress(n)
    return got


def write_from(engine, tree, file_id, offset: int, source: Callable[[int], bytes], timeout,
               progress: Optional[Callable[[int], object]] = None) -> int:
    chunk = engine.write_chunk
    window = engine.write_window
    pos = offset
    written = 0
    inflight: deque = deque()  # (handle, offset, data)
    pending: deque = deque()   # (offset, data) not sent yet: splits of a large source read, short-write tails
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
                    mv = memoryview(data).cast("B")
                    for i in range(0, len(mv), chunk):
                        piece = mv[i:i + chunk]
                        pending.append((pos, piece))
                        pos += len(piece)
                off, piece = pending[0]
                if inflight and not engine.can_submit(len(piece)):
                    break
                pending.popleft()
                inflight.append((engine.submit_write(tree, file_id, off, piece, timeout), off, piece))
            if not inflight:
                break
            handle, off, piece = inflight.popleft()
            n = engine.complete_write(handle, timeout)
            if n > len(piece):
                raise ProtocolError("WRITE response claims %d bytes of %d" % (n, len(piece)))
            if n == 0:
                raise OperationFailure("WRITE at offset %d made no progress" % off, status=0)
            if n < len(piece):
                pending.appendleft((off + n, piece[n:]))
            written += n
            if progress is not None:
                progress(n)
    except BaseException as exc:
        drop(engine, [item[0] for item in inflight], engine.complete_write, timeout, exc)
        raise
    return written
