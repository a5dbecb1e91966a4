"""Pipelined SMB2 transfers and directory listing.

Pipelined READ / WRITE ([MS-SMB2] 3.2.4.7, 3.2.4.8) with several requests outstanding at
once (3.2.4.1.5 multi-credit requests, 3.2.5.1.4 credits granted), delivering data in file
order with bounded memory; QUERY_DIRECTORY (3.2.4.17) sent as a related compound with the
CREATE of the directory (3.2.4.1.4), SMB2_RESTART_SCANS on the first page, paging until
STATUS_NO_MORE_FILES.

Memory: at most ``WINDOW`` requests of ``CHUNK`` bytes are in flight (8 MiB). In-order READ
responses are handed to the sink straight from the transport buffer; only responses that
arrive ahead of their turn are copied. WRITE payloads go to the transport as separate buffers.
A short READ marks the end of file: READs already in flight beyond it deliver nothing,
whatever they carry, so the output never has a hole.
"""

from __future__ import annotations

from collections import deque

from smb.errors import OperationFailure, ProtocolError, SMBTimeout
from smb.records import smb2_failure
from smb.smb2 import constants as C
from smb.smb2 import messages as M

CHUNK = 1024 * 1024
WINDOW = 8
_read_request = M.read_request
_write_request = M.write_request
_parse_read = M.parse_read_response
_parse_write = M.parse_write_response


def _window(engine, chunk: int) -> int:
    """Requests in flight: at most WINDOW, and no more than the credit target allows."""
    per = engine.charge(chunk)
    return max(1, min(WINDOW, engine.conn.target_credits // (2 * per)))


def _abandon(conn, inflight, session) -> None:
    """After an error or early stop: responses still to come are discarded on arrival."""
    for item in inflight:
        req = item[0]
        if not req.done:
            req.abandoned = True  # its response is dropped when it arrives


def _wait_head(conn, req, inflight, deadline, session) -> None:
    try:
        conn.wait(req, deadline, session)
    except SMBTimeout:
        for item in inflight:
            if not item[0].done:
                conn.cancel(item[0], session)
        raise


def read_to(engine, tree, file_id, offset, length, sink, deadline, progress=None,
            size_hint=None) -> int:
    conn = engine.conn
    session = engine.session
    chunk = min(engine.max_read_size, CHUNK)
    if 0 <= length < chunk:
        chunk = max(1, length)
    window = _window(engine, chunk)
    encrypt = engine._encrypt(tree)
    tree_id = tree.tree_id
    end = offset + length if length >= 0 else None
    next_off = offset
    inflight = deque()
    delivered = 0
    eof = False
    send = conn.send
    try:
        while True:
            while not eof and len(inflight) < window and (end is None or next_off < end):
                size = chunk if end is None else min(chunk, end - next_off)
                charge = engine.charge(size)
                if inflight and conn.credits < charge:
                    break
                [req] = send([(C.READ, _read_request(file_id, next_off, size), None, charge)],
                             session=session, tree_id=tree_id, deadline=deadline, encrypt=encrypt)
                inflight.append((req, next_off, size))
                next_off += size
            if not inflight:
                break
            req, off, size = inflight[0]
            if not req.done:
                _wait_head(conn, req, inflight, deadline, session)
            inflight.popleft()
            status = req.header.status
            if status == C.STATUS_END_OF_FILE:
                eof = True
                req.release()
                continue
            if status != C.STATUS_SUCCESS:
                raise smb2_failure("READ failed", req)
            data, _rem = _parse_read(req.response)
            n = len(data)
            if n > size:
                raise ProtocolError("READ returned %d bytes for a %d-byte request" % (n, size))
            if eof:
                # a READ beyond a short one, which marked the end of file: delivering its data
                # would leave a hole in the output ([MS-SMB2] 3.3.5.12: reads stop at EOF)
                req.release()
                continue
            if n:
                sink(data)
            req.release()
            delivered += n
            if progress is not None and n:
                progress(n)
            if n < size and size_hint is not None and off + n < size_hint:
                # short before the size the open reported: a shrinking file, or a server
                # losing data. Read the rest of the range: only an empty read ends the file
                extra = _complete_short_read(engine, tree, file_id, off + n,
                                             min(size - n, size_hint - off - n), sink, deadline,
                                             progress)
                delivered += extra
                n += extra
            if n < size:
                eof = True
    finally:
        _abandon(conn, inflight, session)
    return delivered


def _complete_short_read(engine, tree, file_id, offset, length, sink, deadline, progress) -> int:
    """Read ``offset .. offset+length`` one READ at a time after a short read; returns the bytes
    delivered (fewer at the end of file)."""
    got = 0
    while got < length:
        data = engine.read(tree, file_id, offset + got, length - got, deadline)
        if not data:
            break
        if len(data) > length - got:
            raise ProtocolError("READ returned %d bytes for a %d-byte request" % (len(data), length - got))
        sink(memoryview(data))
        got += len(data)
        if progress is not None:
            progress(len(data))
    return got


def write_from(engine, tree, file_id, offset, source, deadline, progress=None) -> int:
    conn = engine.conn
    session = engine.session
    chunk = min(engine.max_write_size, CHUNK)
    window = _window(engine, chunk)
    encrypt = engine._encrypt(tree)
    tree_id = tree.tree_id
    next_off = offset
    inflight = deque()
    written = 0
    exhausted = False
    pending = None  # data read from the source but not yet sent
    send = conn.send
    try:
        while True:
            while not exhausted and len(inflight) < window:
                data = pending if pending is not None else source(chunk)
                pending = None
                if not data:
                    exhausted = True
                    break
                mv = memoryview(data)
                if len(mv) > chunk:  # a source returning more than asked: split
                    pending, mv = mv[chunk:], mv[:chunk]
                charge = engine.charge(len(mv))
                if inflight and conn.credits < charge:
                    pending = mv if pending is None else bytes(mv) + bytes(pending)
                    break
                [req] = send([(C.WRITE, _write_request(file_id, next_off, len(mv)), mv, charge)],
                             session=session, tree_id=tree_id, deadline=deadline, encrypt=encrypt)
                inflight.append((req, next_off, mv))
                next_off += len(mv)
            if not inflight:
                break
            req, off, mv = inflight[0]
            if not req.done:
                _wait_head(conn, req, inflight, deadline, session)
            inflight.popleft()
            h = req.header
            if h.status != C.STATUS_SUCCESS:
                raise smb2_failure("WRITE failed", req)
            count = _parse_write(req.response)
            req.release()
            if count > len(mv):
                raise conn.fail(ProtocolError("WRITE response claims %d bytes of %d" % (count, len(mv))))
            while count < len(mv):  # short write: finish this range synchronously
                if count == 0:
                    raise smb2_failure("WRITE wrote 0 bytes", req, status=0)
                written += count
                if progress is not None:
                    progress(count)
                off += count
                mv = mv[count:]
                count = engine.write(tree, file_id, off, mv, deadline)
            written += count
            if progress is not None and count:
                progress(count)
    finally:
        _abandon(conn, inflight, session)
    return written


def list_directory(engine, tree, path, pattern, deadline, page):
    """Generator of FileIdBothDirectoryInformation buffers, one per QUERY_DIRECTORY response."""
    try:
        yield from _list_directory(engine, tree, path, pattern, deadline, page)
    except ProtocolError as e:
        raise engine.conn.fail(e)


def _list_directory(engine, tree, path, pattern, deadline, page):
    access = C.FILE_LIST_DIRECTORY | C.FILE_READ_ATTRIBUTES | C.SYNCHRONIZE
    create = M.create_request(path, desired_access=access, share_access=7,
                              create_disposition=C.FILE_OPEN, create_options=C.FILE_DIRECTORY_FILE)
    charge = engine.charge(page)
    query = M.query_directory_request(M.RELATED_FILE_ID, pattern, C.FILE_ID_BOTH_DIRECTORY_INFORMATION,
                                      C.RESTART_SCANS, page)
    creq, qreq = engine._compound([(C.CREATE, create, None, 1), (C.QUERY_DIRECTORY, query, None, charge)],
                                  tree, deadline)
    engine._check(creq, "CREATE (directory) %s" % path)
    file_id = M.parse_create_response(creq.response).file_id
    creq.release()
    ahead = None  # the next page's request, in flight while the caller parses this page
    try:
        req = qreq
        while True:
            status = req.header.status
            if status == C.STATUS_NO_MORE_FILES:
                break
            engine._check(req, "QUERY_DIRECTORY %s" % path)
            out = M.parse_query_directory_response(req.response)
            buf = memoryview(bytes(out))
            req.release()
            if not len(buf):
                break
            body = M.query_directory_request(file_id, pattern, C.FILE_ID_BOTH_DIRECTORY_INFORMATION, 0, page)
            ahead = engine._send(C.QUERY_DIRECTORY, body, tree, deadline, charge=charge)
            yield buf
            req, ahead = engine.conn.wait(ahead, deadline, engine.session), None
    except BaseException:
        # failed, or abandoned by the caller (GeneratorExit): close, keeping the original
        # exception the one raised; the page in flight is dropped when it arrives
        if ahead is not None:
            ahead.abandoned = True
        engine.close_after_failure(tree, file_id)
        raise
    # a listing that completed: a failing CLOSE (e.g. a forged, badly signed answer) is the
    # caller's error too
    engine.close_file(tree, file_id, deadline)
