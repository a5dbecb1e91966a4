"""One benchmark client run, printed as JSON. Runs unchanged with this library or with pysmb
(the API is the same): ``python runner.py HOST PORT USER PASSWORD SHARE NAME DIRECT SMB1 TASK...``

Tasks: ``get:PATH`` (retrieveFile into ``/dev/null``, a file object), ``put:PATH:SIZE`` (storeFile of SIZE
bytes from a generated stream), ``list:PATH`` (listPath), ``cycle:N`` (N x connect, listShares,
close), ``cycle202:N`` (the same with SMB2 limited to 2.0.2), ``cyclelist:N`` (N x connect,
listPath('/'), close), ``mget:DIR:N`` (retrieveFile of DIR/f0000.bin .. N files, one
connection), ``mput:DIR:N:SIZE`` (storeFile of N files of SIZE bytes into DIR). Each result
is seconds (best of the repeats done by the caller).

With ``BENCH_SERVER_PID`` set (the pid of the smbd parent, on this machine), each result also
carries the CPU seconds smbd spent during the task: the parent and every live descendant
(the connection's child, notifyd, cleanupd), plus the children it reaped meanwhile.
"""

import io
import json
import os
import resource
import sys
import time


def _ticks(pid, children):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:  # exited meanwhile
        return 0, None
    # fields[1]: ppid; [11], [12]: utime, stime; [13], [14]: cutime, cstime (reaped children)
    t = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return t, int(fields[1])


def server_cpu(root):
    """CPU seconds of process ``root``, its reaped children and its live descendants."""
    if not root:
        return None
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            t, ppid = _ticks(int(name), False)
            if ppid is not None:
                parents[int(name)] = (ppid, t)
    total, _ = _ticks(root, True)
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, t) in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                total += t
                grew = True
    return total / os.sysconf("SC_CLK_TCK")


class Sink:
    def __init__(self):
        self.n = 0

    def write(self, b):
        self.n += len(b)
        return len(b)


class Source:
    """Yields SIZE bytes without holding them (a repeated 1 MiB block)."""

    def __init__(self, size):
        self.left = size
        self.block = bytes(range(256)) * 4096

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.left
        n = min(n, self.left, len(self.block))
        self.left -= n
        return self.block[:n]


def main(argv):
    host, port, user, password, share, name, direct, smb1 = argv[:8]
    port, direct, smb1 = int(port), direct == "1", smb1 == "1"
    from smb import smb_structs
    from smb.SMBConnection import SMBConnection

    smb_structs.SUPPORT_SMB2 = not smb1

    def connect():
        c = SMBConnection(user, password, "BENCH", name, is_direct_tcp=direct)
        assert c.connect(host, port, timeout=120)
        return c

    out = {}
    server = int(os.environ.get("BENCH_SERVER_PID", "0"))
    conn = connect()
    for task in argv[8:]:
        kind, _, arg = task.partition(":")
        cpu0 = server_cpu(server)
        t = time.perf_counter()
        if kind == "get":
            # into /dev/null through a file object, as smbclient's "get FILE /dev/null" does
            with open(os.devnull, "wb") as sink:
                _attrs, n = conn.retrieveFile(share, arg, sink, timeout=600)
            out[task] = [time.perf_counter() - t, n]
        elif kind == "put":
            path, size = arg.rsplit(":", 1)
            conn.storeFile(share, path, Source(int(size)), timeout=600)
            out[task] = [time.perf_counter() - t, int(size)]
        elif kind == "list":
            n = len(conn.listPath(share, arg, timeout=600))
            out[task] = [time.perf_counter() - t, n]
        elif kind == "mget":
            folder, n = arg.rsplit(":", 1)
            for i in range(int(n)):
                conn.retrieveFile(share, "%s/f%04d.bin" % (folder, i), Sink(), timeout=600)
            out[task] = [time.perf_counter() - t, int(n)]
        elif kind == "mput":
            folder, n, size = arg.rsplit(":", 2)
            data = bytes(range(256)) * (int(size) // 256) + bytes(int(size) % 256)
            t = time.perf_counter()
            for i in range(int(n)):
                conn.storeFile(share, "%s/u%04d.bin" % (folder, i), io.BytesIO(data), timeout=600)
            out[task] = [time.perf_counter() - t, int(n)]
        elif kind == "cyclelist":
            t = time.perf_counter()
            for _ in range(int(arg)):
                c = connect()
                c.listPath(share, "/")
                c.close()
            out[task] = [(time.perf_counter() - t) / int(arg), int(arg)]
        elif kind in ("cycle", "cycle202"):
            # cycle202: the same with SMB2 limited to 2.0.2 (SUPPORT_SMB2x = False, in both
            # libraries), so that both sides speak the same dialect
            smb_structs.SUPPORT_SMB2x = kind == "cycle"
            t = time.perf_counter()
            for _ in range(int(arg)):
                c = connect()
                c.listShares()
                c.close()
            out[task] = [(time.perf_counter() - t) / int(arg), int(arg)]
            smb_structs.SUPPORT_SMB2x = True
        if server:
            if kind.startswith("cycle"):
                time.sleep(0.2)  # the last connection's smbd child has exited and been reaped
            out[task].append(server_cpu(server) - cpu0)
    conn.close()
    out["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
