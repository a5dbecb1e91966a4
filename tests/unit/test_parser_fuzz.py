"""Seeded fuzzing of every pure parser that sees server data.

Each parser gets valid samples (built here field by field from the specifications, or with
the library's own encoders) and, derived from them: every truncation of short samples, a
sample of truncations of long ones, byte flips, little-endian fields overwritten with
boundary values (0, 1, 0xFF.., lengths around the buffer size), and random buffers. The
project rule: malformed server data raises :class:`smb.errors.ProtocolError` -- never
struct.error, IndexError, KeyError, ValueError, UnicodeDecodeError, TypeError, OverflowError,
MemoryError... -- and never takes long. A few parsers have a documented second outcome
(SPNEGO rejection, an RPC fault, a server error code): listed per target.
"""

from __future__ import annotations

import random
import struct
import time
import zlib

import pytest

from nmb import framing
from smb import fscc, ntlm, securityblob
from smb.dcerpc import rpce, srvsvc
from smb.errors import ProtocolError
from smb.security_descriptors import ACE, ACL, SID, SecurityDescriptor
from smb.smb1 import header as H1
from smb.smb1 import messages as M1
from smb.smb1 import trans as T1
from smb.smb2 import header as H2
from smb.smb2 import messages as M2
from smb.smb2 import transform

SEED = 424242
MUTANTS = 60  # flips / field lies per sample
RANDOM = 40  # random buffers per target
SLOW = 0.25  # seconds: one parse taking longer is a failure (quadratic or looping parsers)

_BOUNDS = (0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)


def mutants(sample: bytes, rng: random.Random):
    """Truncations, flips and boundary-value field lies of ``sample``."""
    n = len(sample)
    cuts = range(n) if n <= 160 else sorted({rng.randrange(n) for _ in range(60)} | set(range(0, n, max(1, n // 40))))
    for L in cuts:
        yield sample[:L]
    yield sample + b"\0"
    yield sample + bytes(rng.randrange(256) for _ in range(9))
    for _ in range(MUTANTS):
        b = bytearray(sample)
        if not b:
            break
        kind = rng.randrange(3)
        pos = rng.randrange(n)
        if kind == 0:
            b[pos] ^= rng.randrange(1, 256)
        else:
            fmt = "<H" if kind == 1 else "<I"
            size = struct.calcsize(fmt)
            if pos + size > n:
                pos = max(0, n - size)
            if pos + size <= n:
                val = rng.choice(_BOUNDS + (n, n + 1, n - 1, pos, rng.randrange(1 << 16)))
                struct.pack_into(fmt, b, pos, val & ((1 << (8 * size)) - 1))
        yield bytes(b)


def random_buffers(rng: random.Random, prefix: bytes = b""):
    for _ in range(RANDOM):
        yield prefix + bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 3, 8, 20, 40, 64, 100, 300))))


def fuzz(parse, samples, *, prefix=b"", also=(), seed=0):
    """Feed ``parse`` every sample, mutant and random buffer; ProtocolError (or one of
    ``also``) is the only exception allowed."""
    rng = random.Random(SEED + seed)
    failures = []
    inputs = []
    for s in samples:
        s = bytes(s)
        inputs.append(s)
        inputs.extend(mutants(s, rng))
    inputs.extend(random_buffers(rng, prefix))
    for data in inputs:
        t0 = time.perf_counter()
        try:
            parse(data)
        except (ProtocolError,) + tuple(also):
            pass
        except Exception as e:  # the rule under test: any other exception is a bug
            failures.append("%s on %s: %r" % (type(e).__name__, data[:80].hex(), e))
        if time.perf_counter() - t0 > SLOW:
            failures.append("slow (%.2fs) on %d bytes" % (time.perf_counter() - t0, len(data)))
    assert not failures, "%d of %d inputs broke the rule, e.g.:\n%s" % (
        len(failures), len(inputs), "\n".join(failures[:8]))
    return len(inputs)


# --- SMB2 ([MS-SMB2] 2.2) ------------------------------------------------------------------------------
def smb2(command, body, status=0, *, mid=1, flags=1, next_command=0):
    return H2.HEADER.pack(b"\xfeSMB", 64, 0, status, command, 1, flags, next_command, mid, 0, 0x11,
                          bytes(16)) + body


def _neg_ctx(ctype, data):
    return struct.pack("<HHI", ctype, len(data), 0) + data


def negotiate_response(dialect=0x0311):
    sec = securityblob.encode_neg_token_init([securityblob.NTLMSSP_OID])
    ctxs = b""
    count = 0
    if dialect == 0x0311:
        parts = [_neg_ctx(1, struct.pack("<HHH", 1, 32, 1) + bytes(range(32))),
                 _neg_ctx(2, struct.pack("<HH", 1, 2)), _neg_ctx(8, struct.pack("<HH", 1, 2))]
        count = len(parts)
        for i, p in enumerate(parts):
            ctxs += p + (bytes((-len(p)) % 8) if i < len(parts) - 1 else b"")
    sec_off = 128
    ctx_off = (sec_off + len(sec) + 7) & ~7 if ctxs else 0
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, 1, dialect, count, b"G" * 16, 0x2F, 1 << 20, 1 << 20,
                       1 << 20, 1, 2, sec_off, len(sec), ctx_off) + sec
    if ctxs:
        body += bytes(ctx_off - 64 - len(body)) + ctxs
    return smb2(0, body)


def both_entries(names):
    out = b""
    for i, name in enumerate(names):
        n = name.encode("utf-16-le")
        short = "S%d" % i
        s = short.encode("utf-16-le")
        e = struct.pack("<IIQQQQqqIIIBx24s", 0, i, 1, 2, 3, 4, 100 * i, 4096, 0x20, len(n), 0, len(s),
                        s.ljust(24, b"\0")) + n
        if i < len(names) - 1:
            e = e.ljust((len(e) + 7) & ~7, b"\0")
            e = struct.pack("<I", len(e)) + e[4:]
        out += e
    return out


DIR_LISTING = both_entries([".", "..", "data.bin", "a much longer file name.txt"])


def smb2_samples():
    ctx = M2.encode_create_contexts([(b"MxAc", struct.pack("<II", 0, 0x1F01FF)), (b"QFid", bytes(32))])
    create = struct.pack("<HBBIQQQQQQII16sII", 89, 0, 0, 1, 1, 2, 3, 4, 4096, 70000, 0x20, 0,
                         bytes(range(16)), 152, len(ctx)) + ctx
    data = bytes(range(200))
    pipe = bytes(range(64))
    return {
        "negotiate": [negotiate_response(0x0311), negotiate_response(0x0210)],
        "session_setup": [smb2(1, struct.pack("<HHHH", 9, 0, 72, 5) + b"token", 0xC0000016)],
        "tree_connect": [smb2(3, struct.pack("<HBBIII", 16, 1, 0, 0x30, 0, 0x1F01FF))],
        "create": [smb2(5, create)],
        "close": [smb2(6, struct.pack("<HHIQQQQQQI", 60, 1, 0, 1, 2, 3, 4, 4096, 70000, 0x20))],
        "read": [smb2(8, struct.pack("<HBBIII", 17, 80, 0, len(data), 0, 0) + data)],
        "write": [smb2(9, struct.pack("<HHIIHH", 17, 0, 5000, 0, 0, 0))],
        "ioctl": [smb2(11, struct.pack("<HHI16sIIIIII", 49, 0, 0x11C017, bytes(16), 112, 0, 112,
                                       len(pipe), 0, 0) + pipe)],
        "query_directory": [smb2(14, struct.pack("<HHI", 9, 72, len(DIR_LISTING)) + DIR_LISTING)],
        "query_info": [smb2(16, struct.pack("<HHI", 9, 72, 40) + bytes(range(40)))],
        "error": [smb2(16, struct.pack("<HBBI", 9, 0, 0, 4) + struct.pack("<I", 300), 0xC0000023)],
        "simple": [smb2(2, struct.pack("<HH", 4, 0))],
    }


SMB2_PARSERS = {
    "negotiate": lambda d: M2.parse_negotiate_response(d),
    "session_setup": M2.parse_session_setup_response,
    "tree_connect": M2.parse_tree_connect_response,
    "create": M2.parse_create_response,
    "close": M2.parse_close_response,
    "read": M2.parse_read_response,
    "write": M2.parse_write_response,
    "ioctl": M2.parse_ioctl_response,
    "query_directory": M2.parse_query_directory_response,
    "query_info": M2.parse_query_info_response,
    "error": M2.parse_error,
    "simple": lambda d: M2.parse_simple_response(d, "LOGOFF"),
}


@pytest.mark.parametrize("name", sorted(SMB2_PARSERS))
def test_smb2_response_parsers(name):
    samples = smb2_samples()[name]
    fuzz(SMB2_PARSERS[name], samples, prefix=samples[0][:64], seed=zlib.crc32(name.encode()))


def test_smb2_header_and_compound_split():
    one = smb2(5, b"\x59\0" + bytes(86))
    chain = smb2(5, b"\x59\0" + bytes(86), next_command=152) + bytes(152 - len(one)) + one

    def parse(d):
        for start, end in H2.split_compound(d):
            H2.parse_header(d, start)
    fuzz(parse, [one, chain], prefix=b"\xfeSMB")


def test_smb2_transform_header():
    key = bytes(range(16))
    msg = bytes(transform.encrypt(2, key, 0x11, smb2(8, b"\x11\0" + bytes(14)), bytes(12)))

    def parse(d):
        transform.parse_transform_header(d)
        transform.decrypt(2, key, d)
    fuzz(parse, [msg], prefix=b"\xfdSMB")


# --- SMB1 ([MS-CIFS] 2.2) ---------------------------------------------------------------------------------
def smb1(command, words=b"", data=b"", *, status=0, flags2=H1.DEFAULT_FLAGS2, bytecount=None):
    hdr = H1.HEADER.pack(b"\xffSMB", command, status, 0x98, flags2, 0, bytes(8), 0, 5, 1234, 100, 7)
    bc = len(data) if bytecount is None else bytecount
    return hdr + bytes([len(words) // 2]) + words + struct.pack("<H", bc) + data


def _trans_response(params, data, nt=False):
    nwords = 18 if nt else 10
    base = 32 + 1 + 2 * nwords + 2
    po = base + 1
    do = po + len(params) + 1
    body = b"\0" + params + b"\0" + data
    if nt:
        words = struct.pack("<3sIIIIIIIIB", bytes(3), len(params), len(data), len(params), po, 0,
                            len(data), do, 0, 0) + b"\0"
        return smb1(0xA0, words, body)
    words = struct.pack("<HHHHHHHHHBB", len(params), len(data), 0, len(params), po, 0, len(data), do, 0, 0, 0)
    return smb1(0x32, words, body)


def smb1_samples():
    neg_words = struct.pack("<HBHHIIIIQhB", 0, 3, 50, 1, 65536, 65536, 0, 0x8000F3FD, 1, 0, 0)
    neg_ext = smb1(0x72, neg_words, b"G" * 16 + securityblob.encode_neg_token_init([securityblob.NTLMSSP_OID]))
    neg_words_ch = struct.pack("<HBHHIIIIQhB", 0, 3, 50, 1, 65536, 65536, 0, 0x0000F3FD, 1, 0, 8)
    neg_ch = smb1(0x72, neg_words_ch, b"CHALLNGE" + "WORKGROUP\0SERVER\0".encode("utf-16-le"))
    blob = b"\xa1\x07\x30\x05\xa0\x03\x0a\x01\x00"
    sess = smb1(0x73, struct.pack("<BBHHH", 0xFF, 0, 0, 0, len(blob)), blob + "Unix\0Samba\0".encode("utf-16-le"))
    tree = smb1(0x75, struct.pack("<BBHH", 0xFF, 0, 0, 1), b"A:\0" + "NTFS\0".encode("utf-16-le"))
    create = smb1(0xA2, struct.pack("<BBHBHIQQQQIQQHHB", 0xFF, 0, 0, 0, 0x4000, 1, 1, 2, 3, 4, 0x20, 4096,
                                    70000, 0, 7, 0))
    data = bytes(range(100))
    read = smb1(0x2E, struct.pack("<BBHHHHHHH8s", 0xFF, 0, 0, 0xFFFF, 0, 0, len(data), 60, 0, bytes(8)),
                b"\0" + data)
    write = smb1(0x2F, struct.pack("<BBHHHHH", 0xFF, 0, 0, 5000, 0xFFFF, 0, 0))
    echo = smb1(0x2B, struct.pack("<H", 1), b"ping")
    # an AndX chain: SESSION_SETUP_ANDX followed by TREE_CONNECT_ANDX
    first = struct.pack("<BBHHH", 0x75, 0, 0, 0, 0)
    chained = smb1(0x73, first, b"")
    second = struct.pack("<BBHH", 0xFF, 0, 0, 1)
    off = len(chained)
    chained = chained[:33] + struct.pack("<BBH", 0x75, 0, off) + chained[37:]
    chained += bytes([2]) + second + struct.pack("<H", 3) + b"A:\0"
    find = _trans_response(struct.pack("<HHHHH", 1, 4, 1, 0, 0), DIR_LISTING)
    return {
        "negotiate": [neg_ext, neg_ch],
        "session_setup": [sess, chained],
        "tree_connect": [tree],
        "nt_create": [create],
        "read_andx": [read],
        "write_andx": [write],
        "echo": [echo],
        "trans": [find, _trans_response(b"\0\0", bytes(range(40)))],
        "nt_trans": [_trans_response(b"\0\0\0\0", bytes(range(40)), nt=True)],
    }


def _find_first(d):
    asm = T1.Assembler(False, 10, 65535)
    if asm.feed(H1.parse_response(d)):
        _sid, count, _eos, _ea, _last = T1.parse_find_first2(asm.params)
        end, _index, _name = T1.terminate_entries(asm.data, count)
        fscc.parse_both_directory_information(memoryview(asm.data)[:end], limit=count)


SMB1_PARSERS = {
    "negotiate": lambda d: M1.parse_negotiate(H1.parse_response(d)),
    "session_setup": lambda d: M1.parse_session_setup(H1.parse_response(d)),
    "tree_connect": lambda d: M1.parse_tree_connect(H1.parse_response(d)),
    "nt_create": lambda d: M1.parse_nt_create(H1.parse_response(d)),
    "read_andx": lambda d: M1.parse_read_andx(H1.parse_response(d)),
    "write_andx": lambda d: M1.parse_write_andx(H1.parse_response(d)),
    "echo": lambda d: M1.parse_echo(H1.parse_response(d)),
    "trans": _find_first,
    "nt_trans": lambda d: T1.Assembler(True, 8, 65535).feed(H1.parse_response(d)),
}


@pytest.mark.parametrize("name", sorted(SMB1_PARSERS))
def test_smb1_parsers(name):
    samples = smb1_samples()[name]
    fuzz(SMB1_PARSERS[name], samples, prefix=b"\xffSMB", seed=zlib.crc32(name.encode()))


def test_smb1_chained_blocks_and_strings():
    def parse(d):
        r = H1.parse_response(d)
        for i in range(len(r.blocks)):
            if r.blocks[i][0] == 0x75:
                M1.parse_tree_connect(r, i)
        H1.decode_string(d, 33, True, end=len(d))
        H1.decode_string(d, 33, False)
    fuzz(parse, smb1_samples()["session_setup"] + smb1_samples()["tree_connect"], prefix=b"\xffSMB")


def test_smb1_find_next_and_entries():
    def parse(d):
        T1.parse_find_next2(d[:8])
        T1.terminate_entries(bytearray(d), 3)
    fuzz(parse, [struct.pack("<HHHH", 3, 1, 0, 0) + DIR_LISTING])


# --- FSCC ([MS-FSCC] 2.4, 2.5) --------------------------------------------------------------------------------
def _stream_info():
    a = "::$DATA".encode("utf-16-le")
    b = ":extra:$DATA".encode("utf-16-le")
    e1 = struct.pack("<IIqq", 0, len(a), 10, 4096) + a
    e1 = e1.ljust((len(e1) + 7) & ~7, b"\0")
    e1 = struct.pack("<I", len(e1)) + e1[4:]
    return e1 + struct.pack("<IIqq", 0, len(b), 3, 8) + b


def _directory_classes():
    n = "name.txt".encode("utf-16-le")
    plain = struct.pack("<IIQQQQqqII", 0, 1, 1, 2, 3, 4, 5, 6, 0x20, len(n)) + n
    full = struct.pack("<IIQQQQqqIII", 0, 1, 1, 2, 3, 4, 5, 6, 0x20, len(n), 0) + n
    id_full = struct.pack("<IIQQQQqqIII4xQ", 0, 1, 1, 2, 3, 4, 5, 6, 0x20, len(n), 0, 99) + n

    def chain(e):
        first = e.ljust((len(e) + 7) & ~7, b"\0")
        return struct.pack("<I", len(first)) + first[4:] + e
    return {"directory": (fscc.parse_directory_information, chain(plain)),
            "full": (fscc.parse_full_directory_information, chain(full)),
            "id_full": (fscc.parse_id_full_directory_information, chain(id_full))}


FSCC_SAMPLES = {
    "both": (fscc.parse_both_directory_information, DIR_LISTING),
    "id_both": (fscc.parse_id_both_directory_information,
                struct.pack("<IIQQQQqqIIIBx24s2xQ", 0, 1, 1, 2, 3, 4, 5, 6, 0x20, 4, 0, 0, bytes(24), 9) + b"a\0b\0"),
    "names": (fscc.parse_names_information, struct.pack("<III", 0, 1, 4) + b"a\0b\0"),
    "basic": (fscc.parse_basic_information, struct.pack("<4qII", 1, 2, 3, 4, 0x20, 0)),
    "standard": (fscc.parse_standard_information, struct.pack("<qqIBBxx", 4096, 100, 1, 0, 0)),
    "internal": (fscc.parse_internal_information, struct.pack("<Q", 77)),
    "ea": (fscc.parse_ea_information, struct.pack("<I", 0)),
    "network_open": (fscc.parse_network_open_information, struct.pack("<4q2qI4x", 1, 2, 3, 4, 5, 6, 7)),
    "name": (fscc.parse_file_name_information, struct.pack("<I", 8) + "\\a\\b".encode("utf-16-le")),
    "all": (fscc.parse_all_information, bytes(96) + struct.pack("<I", 6) + "abc".encode("utf-16-le")),
    "attribute_tag": (fscc.parse_attribute_tag_information, struct.pack("<II", 0x20, 0)),
    "stream": (fscc.parse_stream_information, _stream_info()),
    "fs_volume": (fscc.parse_fs_volume_information, struct.pack("<qIIBx", 1, 2, 6, 0) + "VOL".encode("utf-16-le")),
    "fs_size": (fscc.parse_fs_size_information, struct.pack("<qqII", 1, 2, 3, 4)),
    "fs_full_size": (fscc.parse_fs_full_size_information, struct.pack("<qqqII", 1, 2, 3, 4, 5)),
    "fs_attribute": (fscc.parse_fs_attribute_information, struct.pack("<IiI", 1, 255, 8) + "NTFS".encode("utf-16-le")),
    "fs_device": (fscc.parse_fs_device_information, struct.pack("<II", 7, 0)),
    "snapshots": (lambda d: [fscc.snapshot_to_datetime(n) for n in fscc.parse_snapshot_array(d)],
                  struct.pack("<III", 2, 2, 100) + "@GMT-2024.01.02-03.04.05\0@GMT-2025.06.07-08.09.10\0\0".encode("utf-16-le")),
}
FSCC_SAMPLES.update({k: v for k, v in _directory_classes().items()})


@pytest.mark.parametrize("name", sorted(FSCC_SAMPLES))
def test_fscc_parsers(name):
    parse, sample = FSCC_SAMPLES[name]
    fuzz(parse, [sample], seed=zlib.crc32(name.encode()))


# --- DCE/RPC and SRVSVC ([C706] 12.6, [MS-RPCE] 2.2.2, [MS-SRVS] 2.2.4.24) ---------------------------------
def _rpc_header(ptype, flags, frag_len, call_id, auth_len=0):
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, flags, b"\x10\0\0\0", frag_len, auth_len, call_id)


def _u32(v):
    return struct.pack("<I", v)


def _ndr_wstr(s):
    raw = (s + "\0").encode("utf-16-le")
    n = len(s) + 1
    out = _u32(n) + _u32(0) + _u32(n) + raw
    return out + bytes((-len(out)) % 4)


def share_enum_stub(shares=(("public", 0, "Public files"), ("IPC$", 0x80000003, "IPC Service"))):
    out = _u32(1) + _u32(1) + _u32(0x20000) + _u32(len(shares)) + _u32(0x20004) + _u32(len(shares))
    for i, (_n, t, _r) in enumerate(shares):
        out += _u32(0x20008 + 8 * i) + _u32(t) + _u32(0x2000C + 8 * i)
    for n, _t, r in shares:
        out += _ndr_wstr(n) + _ndr_wstr(r)
    return out + _u32(len(shares)) + _u32(0x20100) + _u32(0) + _u32(0)


def rpc_response(call_id, stub, flags=3):
    body = struct.pack("<IHBB", len(stub), 0, 0, 0) + stub
    return _rpc_header(2, flags, 16 + len(body), call_id) + body


def bind_ack(call_id=1):
    addr = b"\\PIPE\\srvsvc\0"
    body = struct.pack("<HHI", 4280, 4280, 0x1234) + struct.pack("<H", len(addr)) + addr
    body += bytes((-(16 + len(body))) % 4)
    body += struct.pack("<B3x", 1) + struct.pack("<HH16sI", 0, 0, bytes(16), 2)
    return _rpc_header(12, 3, 16 + len(body), call_id) + body


def test_dcerpc_bind_ack():
    fuzz(lambda d: rpce.parse_bind_ack(d, 1), [bind_ack()], also=(rpce.RPCBindError,))


def test_dcerpc_response_assembly():
    stub = share_enum_stub()
    one = rpc_response(2, stub)
    two = rpc_response(2, stub[:40], flags=1) + rpc_response(2, stub[40:], flags=2)
    fault = _rpc_header(3, 3, 32, 2) + struct.pack("<IHBBI4x", 0, 0, 0, 0, 0x1C010002)

    def parse(d):
        a = rpce.ResponseAssembler(2)
        for i in range(0, len(d), 37):  # fed in pieces, as pipe reads deliver it
            if a.feed(d[i:i + 37]):
                break
        return a.stub
    fuzz(parse, [one, two, fault], also=(rpce.RPCFault,))


def test_srvsvc_share_enum_decoder():
    fuzz(srvsvc.decode_netr_share_enum_response, [share_enum_stub(), share_enum_stub(())],
         also=(srvsvc.SRVSVCError,))


# --- security descriptors ([MS-DTYP] 2.4.2 - 2.4.6) -------------------------------------------------------
def security_descriptor():
    owner = SID.from_string("S-1-5-21-1-2-3-1000").to_bytes()
    group = SID.from_string("S-1-5-32-544").to_bytes()
    aces = [ACE(0, 0x03, 0x1F01FF, SID.from_string("S-1-1-0")),
            ACE(1, 0, 0x10000, SID.from_string("S-1-5-21-1-2-3-500")),
            ACE(5, 0, 0x100, SID.from_string("S-1-5-11"), {"flags": 1, "object_type": "00000000-0000-0000-0000-000000000001",
                                                           "inherited_object_type": None})]
    dacl = ACL(2, aces).to_bytes()
    off_owner = 20
    off_group = off_owner + len(owner)
    off_dacl = off_group + len(group)
    hdr = struct.pack("<BBHIIII", 1, 0, 0x8004, off_owner, off_group, 0, off_dacl)
    return hdr + owner + group + dacl


def test_security_descriptor_from_bytes():
    sd = security_descriptor()

    def parse(d):
        SecurityDescriptor.from_bytes(d)
        SID.from_bytes(d[20:])
        ACL.from_bytes(d[48:])
    fuzz(parse, [sd])


# --- NTLM ([MS-NLMP] 2.2.1.2) and SPNEGO ([MS-SPNG], RFC 4178) -----------------------------------------------
def challenge_message():
    info = ntlm.encode_av_pairs([(ntlm.MsvAvNbDomainName, "DOM".encode("utf-16-le")),
                                 (ntlm.MsvAvNbComputerName, "SRV".encode("utf-16-le")),
                                 (ntlm.MsvAvTimestamp, struct.pack("<Q", 133000000000000000))])
    name = "DOM".encode("utf-16-le")
    flags = 0xE28A8215
    head = struct.pack("<8sI", b"NTLMSSP\0", 2)
    off = 56
    return (head + struct.pack("<HHI", len(name), len(name), off) + struct.pack("<I", flags) + b"CHALLNGE"
            + bytes(8) + struct.pack("<HHI", len(info), len(info), off + len(name)) + bytes(8) + name + info)


def test_ntlm_challenge():
    def parse(d):
        msg = ntlm.parse_challenge_message(d)
        (msg.nb_computer_name, msg.nb_domain_name, msg.dns_computer_name, msg.timestamp, msg.av_flags)
        auth = ntlm.NTLMAuthenticator("user", "pw", "DOM", "WS")
        auth.negotiate_message()
        auth.authenticate_message(d)
    fuzz(parse, [challenge_message()], prefix=b"NTLMSSP\0\x02\0\0\0")


def test_spnego_tokens():
    resp = securityblob.encode_neg_token_resp(1, securityblob.NTLMSSP_OID, challenge_message())
    init = securityblob.encode_neg_token_init([securityblob.NTLMSSP_OID, "1.2.840.48018.1.2.2"])

    def parse(d):
        try:
            securityblob.decode_neg_token_resp(d)
        finally:
            securityblob.decode_neg_token_init(d)
    fuzz(parse, [resp, init])

    def respond(d):
        auth = securityblob.SPNEGOAuthenticator(ntlm.NTLMAuthenticator("user", "pw", "DOM", "WS"))
        auth.initial_token(None)
        auth.respond(d)
    fuzz(respond, [resp], also=(securityblob.AuthenticationRejected,))


# --- NetBIOS session framing (RFC 1002 4.3) -----------------------------------------------------------------
def test_netbios_framing():
    def parse(d):
        for direct in (True, False):
            framing.decode_header(d, direct)
        framing.negative_response_code(d[4:])
        framing.decode_retarget(d[4:])
    fuzz(parse, [framing.encode_retarget("10.0.0.1", 139), framing.encode_negative(0x82),
                 framing.POSITIVE_RESPONSE_PACKET, framing.KEEPALIVE_PACKET])
