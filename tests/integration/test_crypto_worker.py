"""Large signed and encrypted responses checked by the connection's crypto worker
(smb.mux: offload, smb.smb2.connection: OFFLOAD_MIN), against the private Samba. The worker
is only on by default with OFFLOAD_MIN_CORES cores; these tests turn it on.

What these tests prove: 1 MiB READ responses really go through the worker (counted), the
data read is the data on the server's disk, for one thread and for several threads on one
connection; one flipped byte in the third large READ response of a pipelined transfer --
payload, signature or ciphertext -- raises ProtocolError in the caller, the sink has then
received only a prefix of the true content (never a byte of the tampered response or of
the ones after it), and the connection refuses any further use. [MS-SMB2] 3.2.5.1.3 (a
signed response is verified before it is used) and 3.2.5.1.1.1 (decryption).
"""

import io
import os
import threading

import pytest

from smb.errors import NotConnectedError, ProtocolError
from smb.smb2 import constants as C
from smb.smb2.connection import OFFLOAD_MIN
from tests.integration.test_smb3_security import (  # noqa: F401 - ``server`` is a fixture
    ENCRYPTED_CASES, RW, SIGNED_CASES, _session, assert_unusable, command_of, dl, is_transform,
    server)

pytestmark = pytest.mark.integration

SIZE = 6 * 1024 * 1024 + 12345  # six 1 MiB READs (three of 2 MiB, signed or encrypted) and a short one
CASES = {c[0]: c[1:] for c in SIGNED_CASES + ENCRYPTED_CASES}


def _count_offloaded(e):
    """Turn the worker on for ``e``'s connection (it is off below OFFLOAD_MIN_CORES cores)
    and count the messages it processes."""
    conn = e.conn
    conn.offload_min = OFFLOAD_MIN
    seen = []
    real = conn._process_offloaded

    def counting(data):
        seen.append(len(data))
        return real(data)

    conn._process_offloaded = counting
    return seen


def _file(e, tree, info, name, size=SIZE):
    content = os.urandom(size)
    with open(os.path.join(info.share_path, name), "wb") as f:
        f.write(content)
    r = e.create(tree, name, desired_access=C.GENERIC_READ, create_disposition=C.FILE_OPEN, timeout=dl())
    return r.file_id, content


@pytest.mark.parametrize("case", ["gmac-3.1.1", "cmac-3.0", "hmac-2.1", "gcm128-3.1.1", "ccm128-3.0"])
def test_large_transfers_through_the_worker(server, case):
    variant, conf, cfg, _dialect, _alg = CASES[case]
    info, e, _tap, tree = _session(server, variant, conf, cfg)
    seen = _count_offloaded(e)
    fid, content = _file(e, tree, info, "big.bin")
    got = bytearray()
    assert e.read_to(tree, fid, 0, -1, got.extend, dl()) == SIZE
    assert bytes(got) == content
    assert e.read_chunk == 2 * 1024 * 1024  # PROTECTED_CHUNK: every message is signed or encrypted
    assert len([n for n in seen if n >= OFFLOAD_MIN]) >= SIZE // e.read_chunk
    # and the other way: what we write (signed / encrypted part by part) lands on the disk
    data = os.urandom(3 * 1024 * 1024 + 7)
    w = e.create(tree, "up.bin", desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    assert e.write_from(tree, w.file_id, 0, io.BytesIO(data).read, dl()) == len(data)
    e.close_file(tree, w.file_id, dl())
    with open(os.path.join(info.share_path, "up.bin"), "rb") as f:
        assert f.read() == data
    assert e.echo(b"x", dl()) == b"x"  # small messages after the worker's are still fine
    e.close()


def _run_threads(target, n):
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hangs"


def _third_large(pred):
    count = [0]

    def when(msg):
        if len(msg) >= OFFLOAD_MIN and pred(msg):
            count[0] += 1
            return count[0] == 3
        return False
    return when


@pytest.mark.parametrize("where", ["payload", "signature", "last-byte"])
@pytest.mark.parametrize("case", ["gmac-3.1.1", "cmac-3.0", "hmac-2.1", "gcm128-3.1.1", "ccm128-3.0"])
def test_tampered_large_response_delivers_nothing_of_it(server, case, where):
    variant, conf, cfg, _dialect, _alg = CASES[case]
    info, e, tap, tree = _session(server, variant, conf, cfg)
    seen = _count_offloaded(e)
    fid, content = _file(e, tree, info, "tamper-big.bin")
    encrypted = variant == "encrypt"
    offset = {"payload": 64 + 16 + 500000, "signature": 4 if encrypted else 50, "last-byte": -1}[where]
    tap.arm(offset, _third_large(is_transform if encrypted
                                 else lambda m: command_of(m) == C.READ))
    got = bytearray()
    with pytest.raises(ProtocolError, match="decryption failed" if encrypted else "signature"):
        e.read_to(tree, fid, 0, -1, got.extend, dl())
    assert tap.tampered is not None and seen
    # only responses checked before the tampered one, in order
    assert len(got) <= 2 * e.read_chunk and bytes(got) == content[:len(got)]
    assert_unusable(e, tree)


@pytest.mark.parametrize("case", ["gmac-3.1.1", "gcm128-3.1.1"])
def test_threads_share_the_worker(server, case):
    variant, conf, cfg, _dialect, _alg = CASES[case]
    info, e, _tap, tree = _session(server, variant, conf, cfg)
    seen = _count_offloaded(e)
    files = [_file(e, tree, info, "t%d.bin" % i, 3 * 1024 * 1024 + i) for i in range(4)]
    results, errors = {}, []

    def reader(i):
        try:
            got = bytearray()
            for _ in range(2):
                got.clear()
                e.read_to(tree, files[i][0], 0, -1, got.extend, dl())
            results[i] = bytes(got)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    _run_threads(reader, 4)
    assert not errors
    assert all(results[i] == files[i][1] for i in range(4))
    # READs long enough for the worker: 4 threads x 2 reads x those of one file
    chunk = e.read_chunk
    per_file = [s // chunk + (s % chunk >= OFFLOAD_MIN) for s in (3 * 1024 * 1024 + i for i in range(4))]
    assert len([n for n in seen if n >= OFFLOAD_MIN]) >= 2 * sum(per_file)
    e.close()


def test_tampered_response_with_threads_waiting(server):
    variant, conf, cfg, _dialect, _alg = CASES["gmac-3.1.1"]
    info, e, tap, tree = _session(server, variant, conf, cfg)
    _count_offloaded(e)
    files = [_file(e, tree, info, "tt%d.bin" % i) for i in range(3)]
    tap.arm(64 + 16 + 4096, _third_large(lambda m: command_of(m) == C.READ))
    outcomes = {}

    def reader(i):
        got = bytearray()
        try:
            e.read_to(tree, files[i][0], 0, -1, got.extend, dl())
            outcomes[i] = ("ok", bytes(got))
        except (ProtocolError, NotConnectedError) as exc:
            outcomes[i] = (type(exc).__name__, bytes(got))

    _run_threads(reader, 3)
    assert len(outcomes) == 3
    kinds = [k for k, _ in outcomes.values()]
    for i, (kind, got) in outcomes.items():
        # whatever each thread received is the true start of its file; a complete file only
        # when it was read entirely before the tampered response
        assert got == files[i][1][:len(got)]
        assert kind != "ok" or len(got) == SIZE
    assert "ProtocolError" in kinds
    assert_unusable(e, tree)
