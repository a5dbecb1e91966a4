"""NetBIOS name encoding (RFC 1001 section 14, RFC 1002 section 4.1).

A NetBIOS name is 16 bytes: up to 15 characters padded with spaces, then a one-byte
name type (the "suffix"; 0x20 = file server service, 0x00 = workstation). The wildcard
name ``*`` is padded with NUL bytes instead (RFC 1002 4.2.18, NODE STATUS REQUEST).

First-level encoding (RFC 1001 14.1) maps each of the 16 bytes to two characters
``'A' + high nibble`` and ``'A' + low nibble``. Second-level encoding (RFC 1001 14.2,
RFC 1002 4.1) writes the 32 characters as one length-prefixed label (``0x20``), then the
scope labels, then a terminating zero-length label: 34 bytes without a scope.

pysmb's helpers keep their names and shapes: ``encode_name(name, type, scope=None)`` and
``decode_name(data) -> (offset_after_name, 16_char_name, scope)``.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

from smb.errors import ProtocolError

NAME_CODEC = "latin-1"  # names travel as OEM bytes; latin-1 round-trips every byte

# byte -> its two first-level characters
_ENCODE = [bytes((0x41 + (b >> 4), 0x41 + (b & 0x0F))) for b in range(256)]
# first-level character -> nibble, -1 when outside 'A'..'P'
_DECODE = [-1] * 256
for _i in range(16):
    _DECODE[0x41 + _i] = _i
del _i


def netbios_name_bytes(name: Union[str, bytes], name_type: int, *, upper: bool = False) -> bytes:
    """The raw 16-byte NetBIOS name: ``name`` truncated to 15 bytes, padded, plus the type.

    ``'*'`` (the wildcard) is padded with NULs, everything else with spaces.
    """
    if not 0 <= name_type <= 0xFF:
        raise ValueError("NetBIOS name type must be a byte, got %r" % (name_type,))
    if isinstance(name, str):
        if upper:
            name = name.upper()
        raw = name.encode(NAME_CODEC, "replace")
    else:
        raw = bytes(name)
        if upper:
            raw = raw.upper()
    if raw == b"*":
        return b"*" + b"\0" * 14 + bytes((name_type,))
    return raw[:15].ljust(15, b" ") + bytes((name_type,))


def first_level_encode(raw16: bytes) -> bytes:
    """The 32-character first-level encoding of a 16-byte name."""
    if len(raw16) != 16:
        raise ValueError("a NetBIOS name is 16 bytes, got %d" % len(raw16))
    return b"".join([_ENCODE[b] for b in raw16])


def first_level_decode(enc: Union[bytes, memoryview]) -> bytes:
    """The 16 raw bytes of a 32-character first-level encoded name."""
    if len(enc) != 32:
        raise ProtocolError("first-level encoded NetBIOS name must be 32 bytes, got %d" % len(enc))
    out = bytearray(16)
    dec = _DECODE
    for i in range(16):
        hi = dec[enc[2 * i]]
        lo = dec[enc[2 * i + 1]]
        if hi < 0 or lo < 0:
            raise ProtocolError("invalid character in first-level encoded NetBIOS name: %r" % bytes(enc))
        out[i] = (hi << 4) | lo
    return bytes(out)


def encode_scope(scope: Optional[str]) -> bytes:
    """Scope labels (``"a.b"`` -> ``\\x01a\\x01b``) followed by the terminating zero label."""
    if not scope:
        return b"\0"
    out = bytearray()
    for label in scope.split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) <= 63:
            raise ValueError("invalid NetBIOS scope label %r" % label)
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def encode_name(name: Union[str, bytes], type: int, scope: Optional[str] = None) -> bytes:  # noqa: A002
    """Compressed (second-level) form of ``name`` with name type ``type``: 34 bytes without scope.

    The name is used as given (no case change); longer names are truncated to 15 bytes.
    """
    return b"\x20" + first_level_encode(netbios_name_bytes(name, type)) + encode_scope(scope)


def decode_name_at(data: Union[bytes, bytearray, memoryview], offset: int = 0) -> Tuple[int, bytes, str]:
    """Decode a second-level name starting at ``offset``.

    Returns ``(offset_after_name, raw16, scope)``. Label-string pointers (RFC 1002 4.1,
    RFC 883 compression) are not followed here; see :mod:`nmb.nmb_structs`.
    """
    data = memoryview(data)
    end = len(data)
    if offset >= end:
        raise ProtocolError("NetBIOS name truncated at offset %d" % offset)
    if data[offset] != 0x20:
        raise ProtocolError("NetBIOS name label length must be 32, got %d" % data[offset])
    if offset + 34 > end:
        raise ProtocolError("NetBIOS name truncated (%d bytes left, need 34)" % (end - offset))
    raw = first_level_decode(data[offset + 1:offset + 33])
    pos = offset + 33
    labels = []
    while True:
        if pos >= end:
            raise ProtocolError("NetBIOS scope not terminated")
        n = data[pos]
        pos += 1
        if n == 0:
            break
        if n > 63:
            raise ProtocolError("invalid NetBIOS scope label length 0x%02X" % n)
        if pos + n > end:
            raise ProtocolError("NetBIOS scope label truncated")
        labels.append(bytes(data[pos:pos + n]).decode("ascii", "replace"))
        pos += n
    return pos, raw, ".".join(labels)


def decode_name(name: Union[bytes, bytearray, memoryview]) -> Tuple[int, str, str]:
    """pysmb-compatible decoder: ``(offset_after_name, 16_char_name, scope)``.

    The 16-character name still carries its padding and its type as the last character.
    """
    pos, raw, scope = decode_name_at(name, 0)
    return pos, raw.decode(NAME_CODEC), scope


def split_name(raw16: bytes) -> Tuple[str, int]:
    """``(name without padding, name type)`` of a raw 16-byte name."""
    return raw16[:15].rstrip(b" \0").decode(NAME_CODEC), raw16[15]
