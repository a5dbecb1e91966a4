"""Copying a file on the server: ``SMBConnection.copyFile``.

Over SMB2/3 the server copies the data itself ([MS-SMB2] 3.2.4.20.1 FSCTL_SRV_REQUEST_RESUME_KEY
on the source, 3.2.4.20.2 FSCTL_SRV_COPYCHUNK_WRITE on the destination: :mod:`smb.smb2.copychunk`),
several chunks per request, within the limits the server states when it answers
STATUS_INVALID_PARAMETER (3.3.5.15.6). When the server refuses copy-chunk (before any byte was
copied), and over SMB1 (no copy-chunk here), the client copies: the source's READs and the
destination's WRITEs are both pipelined (the engines' submit/complete interface,
:mod:`smb.transfer`), with at most a window of each in flight.
"""

from __future__ import annotations

from collections import deque

from smb import fscc
from smb.engine import Timeout
from smb.errors import OperationFailure, ProtocolError, SMBTimeout
from smb.operations import Progress, normalize_path, split_parent

#: what one FSCTL_SRV_COPYCHUNK_WRITE asks for before the server states its limits
#: (Windows' and Samba's defaults: 256 chunks, 1 MiB per chunk, 16 MiB per request)
CHUNK_SIZE = 1024 * 1024
CHUNKS_PER_REQUEST = 16
BYTES_PER_REQUEST = 16 * 1024 * 1024
#: how often a server may lower its limits during one copy
MAX_LIMIT_ANSWERS = 4

_SRC_ACCESS = fscc.FILE_READ_DATA | fscc.FILE_READ_ATTRIBUTES | fscc.SYNCHRONIZE
_DST_ACCESS = (fscc.FILE_READ_DATA | fscc.FILE_WRITE_DATA | fscc.FILE_READ_ATTRIBUTES
               | fscc.FILE_WRITE_ATTRIBUTES | fscc.SYNCHRONIZE)


def copy_file(conn, service_name, src_path, dst_path, dst_service_name=None, show_progress=False,
              tqdm_kwargs=None, timeout=30) -> int:
    """The work of ``SMBConnection.copyFile``; returns the number of bytes copied."""
    wait = Timeout(timeout)
    engine = conn._need_engine()
    src, dst = normalize_path(src_path), normalize_path(dst_path)
    dst_service = dst_service_name or service_name
    if dst_service.upper() == service_name.upper() and src.upper() == dst.upper():
        raise ValueError("copyFile: source and destination are the same file (%r)" % src_path)
    with conn._failure("copy", service_name, src_path):
        stree = conn._tree(service_name, wait)
        with conn._open(stree, src, wait, desired_access=_SRC_ACCESS,
                        share_access=fscc.FILE_SHARE_READ | fscc.FILE_SHARE_WRITE,
                        create_options=fscc.FILE_NON_DIRECTORY_FILE) as s:
            with conn._failure("copy to", dst_service, dst_path):
                dtree = conn._tree(dst_service, wait)
                with conn._open(dtree, dst, wait, desired_access=_DST_ACCESS,
                                share_access=fscc.FILE_SHARE_READ,
                                create_disposition=fscc.FILE_OVERWRITE_IF,
                                create_options=fscc.FILE_NON_DIRECTORY_FILE) as d:
                    size = s.end_of_file
                    if size == 0:
                        return 0
                    progress = Progress(show_progress, size, split_parent(src)[1], tqdm_kwargs)
                    try:
                        copied = None
                        if hasattr(engine, "copy_chunks"):
                            copied = server_side_copy(engine, stree, s.file_id, dtree, d.file_id,
                                                      size, wait, progress.callback)
                        if copied is None:
                            copied = client_side_copy(engine, stree, s.file_id, engine, dtree,
                                                      d.file_id, size, wait, progress.callback)
                    finally:
                        progress.close()
                    return copied


def server_side_copy(engine, stree, src_id, dtree, dst_id, size, wait, progress=None):
    """Copy ``size`` bytes with FSCTL_SRV_COPYCHUNK_WRITE; None when the server refuses
    copy-chunk before anything was copied (the caller copies the data itself)."""
    try:
        key = engine.request_resume_key(stree, src_id, wait)
    except OperationFailure:
        return None
    chunk, per_request, total = CHUNK_SIZE, CHUNKS_PER_REQUEST, BYTES_PER_REQUEST
    offset = 0
    limit_answers = 0
    while offset < size:
        chunks = []
        pos = offset
        budget = min(total, size - offset)
        while budget and len(chunks) < per_request:
            n = min(chunk, budget)
            chunks.append((pos, pos, n))
            pos += n
            budget -= n
        asked = pos - offset
        try:
            r = engine.copy_chunks(dtree, dst_id, key, chunks, wait)
        except OperationFailure:
            if offset == 0:
                return None
            raise
        if r.limits:
            limit_answers += 1
            new = (min(chunk, r.chunk_bytes_written), min(per_request, r.chunks_written),
                   min(total, r.total_bytes_written))
            if limit_answers > MAX_LIMIT_ANSWERS or 0 in new or new == (chunk, per_request, total):
                if offset == 0:
                    return None
                raise OperationFailure("FSCTL_SRV_COPYCHUNK_WRITE refused with limits %r" % (new,),
                                       status=0xC000000D)
            chunk, per_request, total = new
            continue
        n = r.total_bytes_written
        if n > asked:
            raise ProtocolError("FSCTL_SRV_COPYCHUNK_WRITE claims %d bytes of %d" % (n, asked))
        if n == 0:
            raise OperationFailure("FSCTL_SRV_COPYCHUNK_WRITE at offset %d copied nothing" % offset,
                                   status=0)
        offset += n
        if progress is not None:
            progress(n)
    return offset


def client_side_copy(src_engine, stree, src_id, dst_engine, dtree, dst_id, size, wait,
                     progress=None) -> int:
    """Pipelined READs from the source feeding pipelined WRITEs to the destination."""
    inflight: deque = deque()  # (handle, offset, piece)
    state = {"next": 0, "written": 0}
    chunk = dst_engine.write_chunk

    def complete_oldest():
        handle, off, piece = inflight.popleft()
        n = dst_engine.complete_write(handle, wait)
        if n > len(piece):
            raise ProtocolError("WRITE response claims %d bytes of %d" % (n, len(piece)))
        while n < len(piece):  # short write: the rest, one WRITE at a time
            k = dst_engine.write(dtree, dst_id, off + n, piece[n:], wait)
            if k <= 0 or k > len(piece) - n:
                raise OperationFailure("WRITE at offset %d made no progress" % (off + n), status=0)
            n += k
        state["written"] += n
        if progress is not None:
            progress(n)

    def sink(view):
        data = bytes(view)  # the view dies with the next wait
        for i in range(0, len(data), chunk):
            piece = data[i:i + chunk]
            while inflight and (len(inflight) >= dst_engine.write_window
                                or not dst_engine.can_submit(len(piece))):
                complete_oldest()
            off = state["next"]
            inflight.append((dst_engine.submit_write(dtree, dst_id, off, piece, wait), off, piece))
            state["next"] = off + len(piece)

    try:
        src_engine.read_to(stree, src_id, 0, size, sink, wait)
        while inflight:
            complete_oldest()
    except BaseException as exc:
        dst_engine.abandon([item[0] for item in inflight], isinstance(exc, SMBTimeout))
        raise
    return state["written"]
