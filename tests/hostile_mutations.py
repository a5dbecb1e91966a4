"""Mutations for the hostile fake servers of ``tests/integration/test_hostile_server.py``.

Each mutation takes one recorded server message (an SMB2 message, [MS-SMB2] 2.2.1, or an SMB1
one, [MS-CIFS] 2.2.3) and returns ``(raw bytes to write, CONTINUE | CLOSE | HANG)``:
truncations, flips, boundary values in every length / offset / count field, rewritten header
fields, broken framing ([MS-SMB2] 2.1 direct TCP), silence. Also :func:`run_concurrently`,
the watchdog-guarded runner of the cases.
"""

from __future__ import annotations

import queue
import random
import struct
import threading
import time

from tests.hostile import CLOSE, CONTINUE, HANG, frame

STATUS_PENDING = 0x00000103

# --- mutations -------------------------------------------------------------------------------
def _put(p: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(p)
    size = struct.calcsize(fmt)
    if offset + size > len(b):
        return bytes(b)
    struct.pack_into(fmt, b, offset, value & ((1 << (8 * size)) - 1))
    return bytes(b)


def _get(p: bytes, offset: int, fmt: str) -> int:
    if offset + struct.calcsize(fmt) > len(p):
        return 0
    return struct.unpack_from(fmt, p, offset)[0]


def send(transform):
    """A mutation sending ``transform(payload)`` framed, then following the script."""
    return lambda p: (frame(transform(p)), CONTINUE)


def raw(transform, then=CONTINUE):
    return lambda p: (transform(p), then)


def generic_mutations(p: bytes, hdr: int, rng: random.Random, flips: int, lies: int):
    """(name, mutation) pairs that need no knowledge of the dialect."""
    n = len(p)
    out = []
    for L in sorted({0, 1, 3, 4, 8, hdr - 1, hdr, hdr + 1, hdr + 2, hdr + 8, n // 2, n - 1,
                     rng.randrange(n)}):
        if 0 <= L < n:
            out.append(("truncate@%d" % L, send(lambda p, L=L: p[:L])))
    out.append(("close-mid-message", raw(lambda p: frame(p)[:4 + n // 2], CLOSE)))
    out.append(("close-instead", raw(lambda p: b"", CLOSE)))
    out.append(("zero-length-frame", raw(lambda p: frame(b""))))
    out.append(("duplicate", raw(lambda p: frame(p) + frame(p))))
    out.append(("garbage", send(lambda p, s=rng.randrange(1 << 30): random.Random(s).randbytes(len(p)))))
    out.append(("bad-frame-type", raw(lambda p: b"\x01" + frame(p)[1:])))
    out.append(("keepalive-then", raw(lambda p: b"\x85\x00\x00\x00" + frame(p))))
    out.append(("length-too-long", raw(lambda p: struct.pack(">I", len(p) + 7) + p + b"\0" * 3, CLOSE)))
    for _ in range(flips):
        pos = rng.randrange(min(n, hdr)) if rng.random() < 0.5 else rng.randrange(n)
        x = rng.randrange(1, 256)
        out.append(("flip@%d^%02x" % (pos, x), send(lambda p, pos=pos, x=x: _put(p, pos, "<B", p[pos] ^ x))))
    for _ in range(lies):
        if n <= hdr + 2:
            break
        pos = rng.randrange(hdr, n - 1) & ~1
        fmt = rng.choice(("<H", "<I"))
        val = rng.choice((0, 1, 0xFFFF, 0xFFFFFFFF, n, n + 1, n - hdr, 0x7FFFFFFF, hdr))
        out.append(("lie@%d%s=%#x" % (pos, fmt[1], val), send(lambda p, pos=pos, fmt=fmt, val=val: _put(p, pos, fmt, val))))
    return out


def smb2_mutations(p: bytes, rng: random.Random):
    if p[:4] != b"\xfeSMB":
        return []
    n = len(p)
    cmd = _get(p, 12, "<H")
    flags = _get(p, 16, "<I")
    mid = _get(p, 24, "<Q")
    ss = _get(p, 64, "<H")
    return [
        ("structure-size+1", send(lambda p: _put(p, 64, "<H", ss + 1))),
        ("structure-size=0", send(lambda p: _put(p, 64, "<H", 0))),
        ("header-size=0", send(lambda p: _put(p, 4, "<H", 0))),
        ("credit-response=0", send(lambda p: _put(p, 14, "<H", 0))),
        ("credit-response=max", send(lambda p: _put(p, 14, "<H", 0xFFFF))),
        ("unknown-message-id", send(lambda p: _put(p, 24, "<Q", mid + 1000))),
        ("message-id-unsolicited", send(lambda p: _put(p, 24, "<Q", 0xFFFFFFFFFFFFFFFF))),
        ("other-command", send(lambda p: _put(p, 12, "<H", (cmd + 1) % 19))),
        ("status-pending", send(lambda p: _put(p, 8, "<I", STATUS_PENDING))),
        ("status-pending-async", send(lambda p: _put(_put(p, 8, "<I", STATUS_PENDING), 16, "<I", flags | 2))),
        ("status-access-denied", send(lambda p: _put(p, 8, "<I", 0xC0000022))),
        ("status-buffer-overflow", send(lambda p: _put(p, 8, "<I", 0x80000005))),
        ("status-more-processing", send(lambda p: _put(p, 8, "<I", 0xC0000016))),
        ("next-command=64", send(lambda p: _put(p, 20, "<I", 64))),
        ("next-command=len", send(lambda p: _put(p, 20, "<I", (n + 7) & ~7))),
        ("next-command-unaligned", send(lambda p: _put(p, 20, "<I", 66))),
        ("compound-duplicate", send(lambda p: _put(p, 20, "<I", (n + 7) & ~7) + bytes((-n) % 8) + p)),
        ("not-a-response", send(lambda p: _put(p, 16, "<I", flags & ~1))),
        ("signed-flag-toggled", send(lambda p: _put(p, 16, "<I", flags ^ 8))),
        ("session-id-changed", send(lambda p: _put(p, 40, "<Q", _get(p, 40, "<Q") ^ 0x1234))),
        ("signature-flipped", send(lambda p: _put(p, 50, "<B", _get(p, 50, "<B") ^ 0x40))),
        ("protocol-id", send(lambda p: b"\x00SMB" + p[4:])),
        ("transform-header", send(lambda p: b"\xfdSMB" + p[4:])),
        ("compressed", send(lambda p: b"\xfcSMB" + p[4:])),
        ("huge-length-then-silence", raw(lambda p: b"\x00\xff\xff\xff" + p, HANG)),
        ("silence", raw(lambda p: b"", HANG)),
    ]


def smb1_mutations(p: bytes, rng: random.Random):
    if p[:4] != b"\xffSMB" or len(p) < 35:
        return []
    n = len(p)
    wc = p[32]
    bc_at = 33 + 2 * wc
    out = [
        ("other-mid", send(lambda p: _put(p, 30, "<H", _get(p, 30, "<H") + 77))),
        ("other-command", send(lambda p: _put(p, 4, "<B", p[4] ^ 0x01))),
        ("not-a-reply", send(lambda p: _put(p, 9, "<B", p[9] & ~0x80))),
        ("word-count+1", send(lambda p: _put(p, 32, "<B", wc + 1))),
        ("word-count-1", send(lambda p: _put(p, 32, "<B", max(0, wc - 1)))),
        ("word-count=0", send(lambda p: _put(p, 32, "<B", 0))),
        ("word-count=255", send(lambda p: _put(p, 32, "<B", 255))),
        ("byte-count=max", send(lambda p: _put(p, bc_at, "<H", 0xFFFF))),
        ("byte-count=0", send(lambda p: _put(p, bc_at, "<H", 0))),
        ("no-unicode", send(lambda p: _put(p, 10, "<H", _get(p, 10, "<H") & ~0x8000))),
        ("dos-errors", send(lambda p: _put(p, 10, "<H", _get(p, 10, "<H") & ~0x4000))),
        ("status-access-denied", send(lambda p: _put(p, 5, "<I", 0xC0000022))),
        ("status-buffer-overflow", send(lambda p: _put(p, 5, "<I", 0x80000005))),
        ("status-more-processing", send(lambda p: _put(p, 5, "<I", 0xC0000016))),
        ("signature-flipped", send(lambda p: _put(p, 16, "<B", p[16] ^ 0x20))),
        ("uid-changed", send(lambda p: _put(p, 28, "<H", _get(p, 28, "<H") ^ 0x55))),
        ("huge-length-then-silence", raw(lambda p: b"\x00\xff\xff\xff" + p, HANG)),
        ("silence", raw(lambda p: b"", HANG)),
    ]
    if wc >= 2 and p[33] != 0xFF:  # an AndX chain: lie about AndXOffset
        for off in (0, 33, n, 0xFFFF, bc_at):
            out.append(("andx-offset=%d" % off, send(lambda p, off=off: _put(p, 35, "<H", off))))
    if wc >= 2 and p[4] in (0x2E, 0x2F, 0x73, 0x75, 0xA2):
        out.append(("andx-next-command", send(lambda p: _put(_put(p, 33, "<B", 0x2E), 35, "<H", 33))))
    return out


def build_cases(script, smb1: bool, seed: int, flips: int = 3, lies: int = 3, budget: int = None):
    """Every mutation of every server message, or a seeded sample of ``budget`` of them."""
    rng = random.Random(seed)
    hdr = 32 if smb1 else 64
    cases = []
    for k, p in enumerate(script.server_messages):
        specific = smb1_mutations(p, rng) if smb1 else smb2_mutations(p, rng)
        for name, m in generic_mutations(p, hdr, rng, flips, lies) + specific:
            cases.append(("msg%d/%s" % (k, name), k, m))
    if budget is not None and budget < len(cases):
        keep = set(rng.sample(range(len(cases)), budget))
        cases = [c for i, c in enumerate(cases) if i in keep]
    return cases



def _is_read(p):
    """A READ response, or a CREATE + READ + CLOSE chain (issue 12), whose CREATE's
    EndofFile bounds the download as the READ's length does."""
    return p[:4] == b"\xffSMB" and p[4] == 0x2E or p[:4] == b"\xfeSMB" and (
        8 in [_get(p, base + 12, "<H") for base in _chain_offsets(p)])


def run_concurrently(jobs, workers, limit):
    """Results of ``jobs`` (callables) run on ``workers`` daemon threads. The watchdog: a job
    still running ``limit`` seconds after it started fails the test (a hang), and its
    daemon thread cannot keep the interpreter alive."""
    todo = queue.Queue()
    for i, job in enumerate(jobs):
        todo.put((i, job))
    results = [None] * len(jobs)
    started = {}
    done = threading.Event()
    lock = threading.Lock()
    remaining = [len(jobs)]

    def worker():
        while True:
            try:
                i, job = todo.get_nowait()
            except queue.Empty:
                return
            started[i] = time.monotonic()
            try:
                results[i] = job()
            except BaseException as e:  # a bug in the harness itself
                results[i] = e
            with lock:
                del started[i]
                remaining[0] -= 1
                if not remaining[0]:
                    done.set()

    if not jobs:
        return results
    for _ in range(min(workers, len(jobs))):
        threading.Thread(target=worker, daemon=True).start()
    while not done.wait(0.5):
        now = time.monotonic()
        hung = [i for i, t0 in list(started.items()) if now - t0 > limit]
        assert not hung, "job(s) %s still running after %.0fs: a hang" % (hung, limit)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


# --- targeted lies about lengths, offsets and counts ---------------------------------------------
_SMB2_FIELDS = {  # command -> (name, body offset, format) of its length/offset/count fields
    0: [("SecurityBufferOffset", 56, "<H"), ("SecurityBufferLength", 58, "<H"),
        ("NegotiateContextOffset", 60, "<I"), ("NegotiateContextCount", 6, "<H")],
    1: [("SecurityBufferOffset", 4, "<H"), ("SecurityBufferLength", 6, "<H")],
    5: [("CreateContextsOffset", 80, "<I"), ("CreateContextsLength", 84, "<I"), ("EndofFile", 48, "<Q")],
    8: [("DataOffset", 2, "<B"), ("DataLength", 4, "<I"), ("DataRemaining", 8, "<I")],
    9: [("Count", 4, "<I")],
    11: [("OutputOffset", 32, "<I"), ("OutputCount", 36, "<I"), ("InputOffset", 24, "<I")],
    14: [("OutputBufferOffset", 2, "<H"), ("OutputBufferLength", 4, "<I")],
    16: [("OutputBufferOffset", 2, "<H"), ("OutputBufferLength", 4, "<I")],
}
_SMB1_FIELDS = {  # command -> (name, offset in the parameter words, format)
    0x2E: [("DataLength", 10, "<H"), ("DataOffset", 12, "<H"), ("DataLengthHigh", 14, "<H")],
    0x2F: [("Count", 4, "<H"), ("CountHigh", 8, "<H")],
    0x32: [("TotalParameterCount", 0, "<H"), ("TotalDataCount", 2, "<H"), ("ParameterCount", 6, "<H"),
           ("ParameterOffset", 8, "<H"), ("ParameterDisplacement", 10, "<H"), ("DataCount", 12, "<H"),
           ("DataOffset", 14, "<H"), ("DataDisplacement", 16, "<H"), ("SetupCount", 18, "<B")],
    0x73: [("SecurityBlobLength", 6, "<H")],
}
_SMB1_FIELDS[0x25] = _SMB1_FIELDS[0x32]  # TRANSACTION: the same response words


def _entries(p, start, end):
    """Offsets of the FILE_BOTH_DIR_INFORMATION entries in ``p[start:end]``."""
    out, pos = [], start
    while pos + 94 <= end and len(out) < 64:
        out.append(pos)
        nxt = _get(p, pos, "<I")
        if not nxt:
            break
        pos += nxt
    return out


def _chain_offsets(p):
    """Where each SMB2 message of a (possibly compounded) recorded frame starts."""
    base = 0
    while True:
        yield base
        nxt = _get(p, base + 20, "<I")
        if not nxt or base + nxt + 64 > len(p):
            return
        base += nxt


def lie_cases(script, smb1):
    cases = []
    for k, p in enumerate(script.server_messages):
        n = len(p)
        spots = []
        if smb1 and p[:4] == b"\xffSMB" and len(p) > 35:
            for name, off, fmt in _SMB1_FIELDS.get(p[4], ()):
                spots.append((name, 33 + off, fmt))
            if p[4] == 0x32 and p[32] >= 10:  # a FIND_FIRST2: its entries
                do, dc = _get(p, 47, "<H"), _get(p, 45, "<H")
                spots.append(("SearchCount", _get(p, 41, "<H") + 2, "<H"))
                for e in _entries(p, do, do + dc):
                    spots += [("NextEntryOffset", e, "<I"), ("FileNameLength", e + 60, "<I")]
        elif not smb1 and p[:4] == b"\xfeSMB" and n > 64:
            for base in _chain_offsets(p):  # each message of a compound (issue 12)
                if _get(p, base + 8, "<I") & 0xC0000000:
                    continue
                cmd = _get(p, base + 12, "<H")
                for name, off, fmt in _SMB2_FIELDS.get(cmd, ()):
                    spots.append((name, base + 64 + off, fmt))
                if cmd == 14:
                    off = base + _get(p, base + 66, "<H")
                    for e in _entries(p, off, off + _get(p, base + 68, "<I")):
                        spots += [("NextEntryOffset", e, "<I"), ("FileNameLength", e + 60, "<I"),
                                  ("ShortNameLength", e + 68, "<B")]
        for name, off, fmt in spots:
            cur = _get(p, off, fmt)
            for val in sorted({0, 1, 2, cur - 1, cur + 1, cur + 8, n - 1, n, n + 1, 0xFFFF, 0xFFFFFFFF,
                               1 << (8 * struct.calcsize(fmt) - 1)}):
                if val < 0 or val >= 1 << (8 * struct.calcsize(fmt)) or val == cur:
                    continue
                cases.append(("msg%d/%s@%d=%#x" % (k, name, off, val), k,
                              send(lambda p, off=off, fmt=fmt, val=val: _put(p, off, fmt, val))))
    return cases
