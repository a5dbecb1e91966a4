"""One multi-threaded benchmark client run, printed as JSON; runs unchanged with this library
or with pysmb (same API)::

    python threads_runner.py HOST PORT USER PASSWORD SHARE NAME MODE THREADS TASK...

MODE ``shared``: THREADS threads on ONE connection (this library only: pysmb's connections
are not thread-safe); ``per-thread``: one connection per thread (what pysmb users do).
Tasks (each result: seconds, and every byte is verified):

* ``smallget:DIR:N`` -- THREADS threads retrieve the N files ``DIR/f%05d`` between them;
* ``smallput:DIR:N:SIZE`` -- THREADS threads store N files of SIZE bytes into DIR;
* ``bigget:PREFIX`` -- thread k retrieves ``PREFIX%d.bin`` % k.
"""

import hashlib
import json
import sys
import threading
import time


class Sink:
    def __init__(self):
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        return len(b)


def content(i, size):
    """The bytes of small file ``i`` (the caller wrote the same)."""
    seed = hashlib.sha256(b"%d" % i).digest()
    return (seed * (size // len(seed) + 1))[:size]


def main(argv):
    host, port, user, password, share, name, mode, threads = argv[:8]
    port, threads = int(port), int(threads)
    import io

    from smb.SMBConnection import SMBConnection

    def connect():
        c = SMBConnection(user, password, "BENCHT", name, is_direct_tcp=True)
        assert c.connect(host, port, timeout=120)
        return c

    shared = connect() if mode == "shared" else None
    conns = [shared or connect() for _ in range(threads)]
    out = {}
    for task in argv[8:]:
        kind, _, arg = task.partition(":")
        errors = []

        def run(k, job):
            try:
                job(k, conns[k])
            except BaseException as e:  # reported below
                errors.append(repr(e))

        if kind == "smallget":
            folder, n = arg.split(":")
            n = int(n)

            def job(k, c, folder=folder, n=n):
                for i in range(k, n, threads):
                    s = Sink()
                    c.retrieveFile(share, "%s/f%05d" % (folder, i), s, timeout=120)
                    if s.n != 16384 or s.h.digest() != hashlib.sha256(content(i, 16384)).digest():
                        raise AssertionError("file %d differs" % i)
        elif kind == "smallput":
            folder, n, size = arg.split(":")
            n, size = int(n), int(size)

            def job(k, c, folder=folder, n=n, size=size):
                for i in range(k, n, threads):
                    c.storeFile(share, "%s/p%05d" % (folder, i), io.BytesIO(content(i, size)), timeout=120)
        elif kind == "bigget":
            def job(k, c, prefix=arg):
                s = Sink()
                c.retrieveFile(share, "%s%d.bin" % (prefix, k), s, timeout=600)
                out.setdefault("digests", {})["%d" % k] = s.h.hexdigest()
        else:
            raise SystemExit("unknown task %r" % task)
        ts = [threading.Thread(target=run, args=(k, job)) for k in range(threads)]
        t = time.perf_counter()
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        out[task] = time.perf_counter() - t
        if errors:
            raise SystemExit("errors: %s" % errors[:3])
    for c in ({id(c): c for c in conns}).values():
        c.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
