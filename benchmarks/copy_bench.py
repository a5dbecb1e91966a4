"""Benchmark: ``copyFile`` (server-side copy) against download + upload, on one private Samba.

    python benchmarks/copy_bench.py [--size-mib 256] [--repeat 3] [--no-smb1]

Rows (MB/s of file copied, best of REPEAT; ratio = copyFile / download+upload, >1 means
copyFile is faster):

* SMB 3.1.1 copyFile: FSCTL_SRV_COPYCHUNK_WRITE, the data never leaves the server;
* SMB 3.1.1 copyFile, client-side: the pipelined fallback (forced), READs feeding WRITEs;
* SMB1 copyFile: the pipelined client-side copy (SMB1 has no copy-chunk here);
* download + upload: retrieveFile into memory, then storeFile from it.

Run by hand (not in the test suite); kept apart from bench.py so that the two evolve freely.
"""

import argparse
import io
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import smb.copy  # noqa: E402
from tests.integration.conftest import make_connection  # noqa: E402
from tests.sambaserver import SambaServer  # noqa: E402


def timed(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def download_upload(conn, share, size):
    buf = io.BytesIO()
    conn.retrieveFile(share, "bench-src.bin", buf)
    assert buf.tell() == size
    buf.seek(0)
    conn.storeFile(share, "bench-du.bin", buf)


def rows(conn, share, size, repeat, label, client_side=False):
    real = smb.copy.server_side_copy
    if client_side:
        smb.copy.server_side_copy = lambda *a: None
    try:
        t_copy = timed(lambda: conn.copyFile(share, "bench-src.bin", "bench-cp.bin", timeout=120), repeat)
    finally:
        smb.copy.server_side_copy = real
    t_du = timed(lambda: download_upload(conn, share, size), repeat)
    mb = size / 1e6
    return ("%-34s %10.1f %16.1f %8.2f" % (label, mb / t_copy, mb / t_du, t_du / t_copy))


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
        with open(os.path.join(info.share_path, "bench-src.bin"), "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        os.chmod(os.path.join(info.share_path, "bench-src.bin"), 0o666)
        print("%d MiB file, best of %d" % (args.size_mib, args.repeat))
        print("%-34s %10s %16s %8s" % ("", "copyFile", "download+upload", "ratio"))
        print("%-34s %10s %16s %8s" % ("", "MB/s", "MB/s", ""))
        profiles = [("SMB 3.1.1 copyFile (server-side)", False, False),
                    ("SMB 3.1.1 copyFile (client-side)", False, True)]
        if not args.no_smb1:
            profiles.append(("SMB1 copyFile (client-side)", True, False))
        for label, smb1, client_side in profiles:
            conn, ok = make_connection(info, True, smb1)
            assert ok
            try:
                print(rows(conn, info.share, size, args.repeat, label, client_side))
            finally:
                conn.close()
        print("(ratio: download+upload time / copyFile time; >1 means copyFile is faster)")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
