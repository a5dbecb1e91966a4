"""SMB1 MD5 message signing ([MS-CIFS] 3.1.5.1 / 3.2.4.1.3, [MS-SMB] 3.1.4.1).

The signature is the first 8 bytes of MD5(MAC key || message), computed with the
SecuritySignature field (header offset 14) holding the 64-bit little-endian sequence
number. The MAC key is the session key, followed by the NT challenge response when the
session was set up without extended security. The client's request uses sequence number
n and the server's response n + 1; a request without a response (NT_CANCEL) uses one.

Works over several buffers (header plus payload) so large writes and reads are never joined.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from smb.smb1.header import SIGNATURE_OFFSET

_SEQ = struct.Struct("<Q")
_SIG_END = SIGNATURE_OFFSET + 8


def compute(key: bytes, seq: int, buffers) -> bytes:
    """Signature of the message made of ``buffers`` (first buffer holds the whole header)."""
    first = memoryview(buffers[0])
    h = hashlib.md5(key)
    h.update(first[:SIGNATURE_OFFSET])
    h.update(_SEQ.pack(seq))
    h.update(first[_SIG_END:])
    for b in buffers[1:]:
        h.update(b)
    return h.digest()[:8]


def sign(key: bytes, seq: int, buffers) -> None:
    """Write the signature into the header of ``buffers[0]`` (a bytearray) in place."""
    buffers[0][SIGNATURE_OFFSET:_SIG_END] = compute(key, seq, buffers)


def verify(key: bytes, seq: int, message) -> bool:
    """True when ``message`` (one buffer) carries the right signature for ``seq``."""
    mv = memoryview(message)
    if len(mv) < _SIG_END:
        return False
    return hmac.compare_digest(bytes(mv[SIGNATURE_OFFSET:_SIG_END]), compute(key, seq, [mv]))
