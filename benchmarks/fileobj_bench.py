"""Benchmark: remote file objects (``openFile``) against retrieveFile / storeFile.

    python benchmarks/fileobj_bench.py [--size-mib 256] [--repeat 3] [--no-smb1]

On one private Samba (tests/sambaserver.py), per dialect family (SMB 3.1.1, SMB1):

* read:  ``retrieveFile`` of a SIZE MiB file into a discarding sink, against
  ``shutil.copyfileobj(conn.openFile(..., 'rb'), sink, 1 MiB)``;
* write: ``storeFile`` of SIZE MiB from a generated stream, against
  ``shutil.copyfileobj(stream, conn.openFile(..., 'wb'), 1 MiB)``;
* random: 2000 reads of 4 KiB at random offsets (seek + read), reads per second.

Runs alternate (retrieveFile, file object, retrieveFile, ...) and the best of ``--repeat``
is kept, so that the other load of the machine hits both alike. The issue's target is a
file-object/retrieveFile (and /storeFile) ratio of at least 0.80.
"""

import argparse
import os
import random
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from runner import Sink, Source  # noqa: E402  (benchmarks/runner.py: the same sink and source)
from tests.integration.conftest import make_connection  # noqa: E402
from tests.sambaserver import SambaServer  # noqa: E402

BLOCK = 1 << 20


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(conn, share, size, repeat):
    def retrieve():
        sink = Sink()
        conn.retrieveFile(share, "big.bin", sink, timeout=600)
        assert sink.n == size

    def fileobj_read():
        sink = Sink()
        with conn.openFile(share, "big.bin", "rb", timeout=600) as f:
            shutil.copyfileobj(f, sink, BLOCK)
        assert sink.n == size

    def store():
        assert conn.storeFile(share, "up1.bin", Source(size), timeout=600) == size

    def fileobj_write():
        with conn.openFile(share, "up2.bin", "wb", timeout=600) as f:
            shutil.copyfileobj(Source(size), f, BLOCK)

    def random_reads():
        rnd = random.Random(1)
        with conn.openFile(share, "big.bin", "rb", buffering=0) as f:
            for _ in range(2000):
                f.seek(rnd.randrange(size - 4096))
                assert len(f.read(4096)) == 4096

    best = {}
    for _ in range(repeat):
        for name, fn in (("retrieveFile", retrieve), ("openFile read", fileobj_read),
                         ("storeFile", store), ("openFile write", fileobj_write),
                         ("random 4 KiB reads", random_reads)):
            best[name] = min(best.get(name, float("inf")), timed(fn))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-smb1", action="store_true")
    args = ap.parse_args()
    size = args.size_mib << 20
    srv = SambaServer("default")
    info = srv.start()
    try:
        with open(os.path.join(info.share_path, "big.bin"), "wb") as f:
            block = os.urandom(BLOCK)
            for _ in range(args.size_mib):
                f.write(block)
        rows = []
        for mode, smb1 in [("SMB3.1.1", False)] + ([] if args.no_smb1 else [("SMB1", True)]):
            conn, ok = make_connection(info, True, smb1)
            assert ok
            try:
                best = measure(conn, info.share, size, args.repeat)
            finally:
                conn.close()
            mbs = lambda s: size / 1e6 / s  # noqa: E731
            rows.append((mode, "retrieveFile", mbs(best["retrieveFile"]), None))
            rows.append((mode, "openFile + copyfileobj (read)", mbs(best["openFile read"]),
                         best["retrieveFile"] / best["openFile read"]))
            rows.append((mode, "storeFile", mbs(best["storeFile"]), None))
            rows.append((mode, "openFile + copyfileobj (write)", mbs(best["openFile write"]),
                         best["storeFile"] / best["openFile write"]))
            rows.append((mode, "random 4 KiB reads (reads/s)", 2000 / best["random 4 KiB reads"], None))
        print("%-9s %-32s %10s %8s" % ("mode", "benchmark (%d MiB)" % args.size_mib, "MB/s", "ratio"))
        for mode, name, value, ratio in rows:
            print("%-9s %-32s %10.1f %8s" % (mode, name, value, "%.2f" % ratio if ratio else "-"))
        print("(ratio: file object / retrieveFile or storeFile; target >= 0.80)")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
