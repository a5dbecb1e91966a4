"""Benchmark: many threads, one connection (issue 11) -- this library vs pysmb, one run.

    python benchmarks/threads.py [--files 1000] [--threads 8] [--big-mib 64] [--repeat 2]

Rows (SMB2/3, private Samba on loopback, every byte verified):

* small files (FILES x 16 KiB) get and put, files/s: ours with THREADS threads on ONE
  connection; ours and pysmb with THREADS threads on THREADS connections; ours and pysmb
  with one thread;
* THREADS threads each reading a different BIG-MiB file on one connection: aggregate MB/s,
  against one thread reading one such file alone.

pysmb runs from its own virtual environment (``PYSMB_PYTHON``, else benchmarks/.venv-pysmb
made from PyPI), never imported by the library.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from bench import pysmb_python  # noqa: E402
from tests.sambaserver import SambaServer  # noqa: E402
from threads_runner import content  # noqa: E402


def run(python, isolated, info, mode, threads, tasks):
    args = [python] + (["-I"] if isolated else []) + [
        os.path.join(HERE, "threads_runner.py"), info.host, str(info.port), info.user, info.password,
        info.share, info.server_name, mode, str(threads)] + tasks
    r = subprocess.run(args, capture_output=True, text=True, cwd="/tmp", env=dict(os.environ, PYTHONPATH=ROOT))
    if r.returncode != 0:
        raise RuntimeError("client failed: %s" % (r.stderr[-2000:] or r.stdout[-2000:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--big-mib", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-pysmb", action="store_true")
    args = ap.parse_args()
    pysmb = None if args.no_pysmb else (os.environ.get("PYSMB_PYTHON") or pysmb_python())
    srv = SambaServer("default")
    info = srv.start()
    try:
        small = os.path.join(info.share_path, "small")
        os.makedirs(small)
        for i in range(args.files):
            with open(os.path.join(small, "f%05d" % i), "wb") as f:
                f.write(content(i, 16384))
        digests = {}
        for k in range(args.threads):
            data = os.urandom(1 << 20) * args.big_mib
            digests[str(k)] = hashlib.sha256(data).hexdigest()
            with open(os.path.join(info.share_path, "big%d.bin" % k), "wb") as f:
                f.write(data)
        os.makedirs(os.path.join(info.share_path, "up"))
        os.chmod(os.path.join(info.share_path, "up"), 0o777)
        get = "smallget:small:%d" % args.files
        put = "smallput:up:%d:16384" % args.files
        clients = [("ours", sys.executable, False)] + ([("pysmb", pysmb, True)] if pysmb else [])
        results = {}

        def best(label, py, iso, mode, threads, tasks):
            runs = [run(py, iso, info, mode, threads, tasks) for _ in range(args.repeat)]
            for r in runs:
                if "digests" in r:
                    want = {k: digests[k] for k in r["digests"]}
                    assert r.pop("digests") == want, "a big file came back wrong"
            results.setdefault((label, mode, threads), {}).update({t: min(r[t] for r in runs) for t in tasks})

        best("ours", sys.executable, False, "shared", args.threads, [get, put])
        for label, py, iso in clients:
            best(label, py, iso, "per-thread", args.threads, [get, put])
            best(label, py, iso, "per-thread", 1, [get, put])
        best("ours", sys.executable, False, "shared", args.threads, ["bigget:big"])
        best("ours", sys.executable, False, "shared", 1, ["bigget:big"])

        fps = lambda key, task: args.files / results[key][task] if key in results else None  # noqa
        print("\n%-58s %10s %10s" % ("small files, 16 KiB (files/s)", "get", "put"))
        rows = [("ours, %d threads, ONE connection" % args.threads, ("ours", "shared", args.threads))]
        for label, _, _ in clients:
            rows.append(("%s, %d threads, %d connections" % (label, args.threads, args.threads),
                         (label, "per-thread", args.threads)))
            rows.append(("%s, 1 thread" % label, (label, "per-thread", 1)))
        for title, key in rows:
            print("%-58s %10.0f %10.0f" % (title, fps(key, get), fps(key, put)))
        if pysmb:
            ref = ("pysmb", "per-thread", args.threads)
            ours = ("ours", "shared", args.threads)
            print("ratio ours-one-connection / pysmb-%d-connections: get %.2fx, put %.2fx" % (
                args.threads, fps(ours, get) / fps(ref, get), fps(ours, put) / fps(ref, put)))
        mb = args.big_mib * 1.048576
        many = args.threads * mb / results[("ours", "shared", args.threads)]["bigget:big"]
        one = mb / results[("ours", "shared", 1)]["bigget:big"]
        print("\n%d threads x %d MiB get on one connection: %.0f MB/s aggregate; one thread alone: "
              "%.0f MB/s (ratio %.2f)" % (args.threads, args.big_mib, many, one, many / one))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
