"""Downloads and uploads of whole files for the facade (``retrieveFile*`` / ``storeFile*``):
one round trip for a file that fits in one READ or WRITE, the pipelined path of
:mod:`smb.transfer` for the others.

On an engine that chains requests (``engine.compounds``: SMB2 related compounds, [MS-SMB2]
3.2.4.1.4; SMB1 AndX chains, [MS-CIFS] 2.2.3.4), a download starts with CREATE + READ +
CLOSE of one chunk (on SMB1 at most what fits a 64 KiB chained answer). When the file turns
out larger than that READ, the file is opened again and read on with the pipelined path;
the first chunk is kept only if the second open reports the same size and times as the
first (the file did not change in between), otherwise the download starts over from the
second open, so a file changed between the two opens is never delivered as a mix of both.
As with one open, reads stop at the size the (last) open reported.

An upload reads the source up to one WRITE's worth; when the source is then exhausted it
is sent as CREATE + WRITE + CLOSE (CREATE + CLOSE for an empty source), otherwise with
the pipelined path. A WRITE the server completes only in part is continued on a new open
of the file (never truncating again).
"""

from __future__ import annotations

from smb import fscc
from smb.operations import Progress, sink_for, split_parent

READ_ACCESS = fscc.FILE_READ_DATA | fscc.FILE_READ_ATTRIBUTES | fscc.SYNCHRONIZE
WRITE_ACCESS = (fscc.FILE_WRITE_DATA | fscc.FILE_READ_ATTRIBUTES | fscc.FILE_WRITE_ATTRIBUTES
                | fscc.SYNCHRONIZE)
_READ_OPEN = {"desired_access": READ_ACCESS,
              "share_access": fscc.FILE_SHARE_READ | fscc.FILE_SHARE_WRITE,
              "create_options": fscc.FILE_NON_DIRECTORY_FILE}


def _span(opened, offset: int, max_length: int) -> int:
    """Bytes to deliver: up to the size the open reported, as in pysmb (a server cannot
    push more into the caller's file than the file held when it was opened)."""
    remaining = max(0, opened.end_of_file - offset)
    return remaining if max_length < 0 else min(remaining, max_length)


def _same_file(a, b) -> bool:
    return (a.end_of_file, a.last_write_time, a.change_time) == \
        (b.end_of_file, b.last_write_time, b.change_time)


def retrieve(facade, engine, tree, npath, file_obj, offset, max_length, wait, show_progress,
             tqdm_kwargs):
    """``(file_attributes, bytes written to file_obj)`` for ``retrieveFileFromOffset``."""
    head = first = None
    sink = sink_for(file_obj)
    if engine.compounds and max_length != 0:
        ask = engine.read_chunk if max_length < 0 else min(engine.read_chunk, max_length)
        first, head = engine.open_read_close(tree, npath, offset, ask, timeout=wait, **_READ_OPEN)
        total = _span(first, offset, max_length)
        if len(head) >= total:
            progress = Progress(show_progress, total, split_parent(npath)[1], tqdm_kwargs)
            try:
                if total:
                    sink(memoryview(head)[:total])
                    if progress.callback is not None:
                        progress.callback(total)
            finally:
                progress.close()
            return first.file_attributes, total
    with facade._open(tree, npath, wait, **_READ_OPEN) as o:
        if max_length == 0:
            return o.file_attributes, 0
        total = _span(o, offset, max_length)
        if head and not _same_file(first, o):
            head = b""  # changed since the first open: start over from this one
        done = len(head or b"")
        if total == 0:
            return o.file_attributes, 0
        progress = Progress(show_progress, total, split_parent(npath)[1], tqdm_kwargs)
        try:
            if done:
                sink(head)
                if progress.callback is not None:
                    progress.callback(done)
            n = engine.read_to(tree, o.file_id, offset + done, total - done, sink,
                               wait, progress.callback)
        finally:
            progress.close()
        return o.file_attributes, done + n


def store(facade, engine, tree, npath, file_obj, offset, truncate, wait, show_progress,
          tqdm_kwargs) -> int:
    """The offset just past the last byte written, for ``storeFileFromOffset``."""
    disposition = fscc.FILE_OVERWRITE_IF if truncate else fscc.FILE_OPEN_IF
    progress = Progress(show_progress, None, split_parent(npath)[1], tqdm_kwargs)
    try:
        source = file_obj.read
        if engine.compounds:
            chunk = min(engine.write_chunk, engine.max_write_size)
            head = file_obj.read(chunk)
            tail = file_obj.read(chunk) if head else b""
            if not tail:
                _o, n = engine.open_write_close(tree, npath, offset, head, timeout=wait,
                                                **_write_open(disposition))
                if n and progress.callback is not None:
                    progress.callback(n)
                if n == len(head):
                    return offset + n
                # the server wrote only part: the rest on a new open, never truncating again
                offset, disposition = offset + n, fscc.FILE_OPEN_IF
                head, tail = memoryview(head)[n:], b""
            source = _prepend([head, tail], file_obj.read)
        with facade._open(tree, npath, wait, **_write_open(disposition)) as o:
            n = engine.write_from(tree, o.file_id, offset, source, wait, progress.callback)
    finally:
        progress.close()
    return offset + n


def _write_open(disposition):
    return {"desired_access": WRITE_ACCESS, "share_access": fscc.FILE_SHARE_READ,
            "create_disposition": disposition, "create_options": fscc.FILE_NON_DIRECTORY_FILE}


def _prepend(pieces, read):
    """A ``read(n)`` source giving ``pieces`` (already read) first, then ``read``'s data."""
    pending = [p for p in pieces if len(p)]
    pending.reverse()

    def source(n):
        if pending:
            return pending.pop()
        return read(n)
    return source
