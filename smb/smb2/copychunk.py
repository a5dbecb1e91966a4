"""Server-side copy over SMB2/3 (a mixin of :class:`smb.smb2.engine.SMB2Engine`).

[MS-SMB2] 3.2.4.20.1 / 2.2.32.3: FSCTL_SRV_REQUEST_RESUME_KEY on the source open returns
SRV_REQUEST_RESUME_KEY (ResumeKey (24), ContextLength (4), Context). 3.2.4.20.2 / 2.2.31.1:
FSCTL_SRV_COPYCHUNK_WRITE on the destination open with SRV_COPYCHUNK_COPY (SourceKey (24),
ChunkCount (4), Reserved (4), then ChunkCount SRV_COPYCHUNK entries: SourceOffset (8),
TargetOffset (8), Length (4), Reserved (4)). The answer is SRV_COPYCHUNK_RESPONSE
(2.2.32.1: ChunksWritten, ChunkBytesWritten, TotalBytesWritten); with
STATUS_INVALID_PARAMETER the same three fields carry the server's limits (chunks per
request, bytes per chunk, bytes per request; 3.3.5.15.6), which the caller adopts.
"""

from __future__ import annotations

import struct
from typing import NamedTuple, Sequence, Tuple

from smb import fscc
from smb.engine import Timeout, Tree
from smb.errors import ProtocolError
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2.mixin import EngineMixin

RESUME_KEY_SIZE = 24
_COPY_HDR = struct.Struct("<24sII")
_CHUNK = struct.Struct("<QQII")
_COPY_RSP = struct.Struct("<III")


class CopyChunkResult(NamedTuple):
    """SRV_COPYCHUNK_RESPONSE. ``limits``: the fields are the server's limits
    (STATUS_INVALID_PARAMETER) rather than what was written."""

    chunks_written: int
    chunk_bytes_written: int
    total_bytes_written: int
    limits: bool = False


def copychunk_request(resume_key: bytes, chunks: Sequence[Tuple[int, int, int]]) -> bytes:
    """SRV_COPYCHUNK_COPY for ``chunks`` of ``(source_offset, target_offset, length)``."""
    if len(resume_key) != RESUME_KEY_SIZE:
        raise ValueError("a resume key has %d bytes" % RESUME_KEY_SIZE)
    return _COPY_HDR.pack(resume_key, len(chunks), 0) + b"".join(
        _CHUNK.pack(src, dst, length, 0) for src, dst, length in chunks)


def parse_copychunk_response(out, limits: bool = False) -> CopyChunkResult:
    if len(out) < _COPY_RSP.size:
        raise ProtocolError("SRV_COPYCHUNK_RESPONSE of %d bytes (12 expected)" % len(out))
    chunks, chunk_bytes, total = _COPY_RSP.unpack_from(out)
    return CopyChunkResult(chunks, chunk_bytes, total, limits)


def parse_resume_key(out) -> bytes:
    if len(out) < RESUME_KEY_SIZE + 4:
        raise ProtocolError("SRV_REQUEST_RESUME_KEY of %d bytes" % len(out))
    return bytes(out[:RESUME_KEY_SIZE])


class ServerSideCopy(EngineMixin):
    def request_resume_key(self, tree: Tree, file_id, timeout: Timeout) -> bytes:
        """The 24-byte key naming an open source file to FSCTL_SRV_COPYCHUNK(_WRITE)."""
        return parse_resume_key(self.ioctl(tree, file_id, fscc.FSCTL_SRV_REQUEST_RESUME_KEY, b"",
                                           RESUME_KEY_SIZE + 4 + 256, timeout))

    def copy_chunks(self, tree: Tree, file_id, resume_key: bytes,
                    chunks: Sequence[Tuple[int, int, int]], timeout: Timeout) -> CopyChunkResult:
        """One FSCTL_SRV_COPYCHUNK_WRITE on the destination ``file_id``."""
        data = copychunk_request(resume_key, chunks)
        body = M.ioctl_request(file_id, fscc.FSCTL_SRV_COPYCHUNK_WRITE, data, _COPY_RSP.size)
        req = self._call(C.IOCTL, body, tree, timeout, charge=self.charge(len(data)))
        status = req.header.status
        if status == C.STATUS_INVALID_PARAMETER:
            try:
                out = bytes(M.parse_ioctl_response(req.response).output)
            except ProtocolError:  # an ERROR body: no limits given
                out = b""
            if len(out) >= _COPY_RSP.size:
                return parse_copychunk_response(out, limits=True)
        self._check(req, "IOCTL FSCTL_SRV_COPYCHUNK_WRITE")
        return parse_copychunk_response(M.parse_ioctl_response(req.response).output)
