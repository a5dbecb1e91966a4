"""Benchmark: this library vs pysmb vs Samba's smbclient, on one private Samba, in one run.

    python benchmarks/bench.py [--size-mib 256] [--entries 5000] [--repeat 2] [--no-smb1]

Rows: retrieveFile and storeFile of a SIZE MiB file (MB/s), listPath of a folder of ENTRIES
entries (ms), and connect + listShares + close (ms); over SMB2/3 (default dialect) and, unless
--no-smb1, SMB1. pysmb is installed into its own virtual environment (benchmarks/.venv-pysmb,
from PyPI) and never imported here; the same client script (runner.py) drives both libraries.
smbclient timings include its process start-up (measured separately and printed).
Memory: the peak RSS of our client process during the transfers is printed too.
The clients take turns round by round (``--repeat`` rounds, each keeps its best), each task
in its own process; every upload writes a new file, after the page cache has been written
back (``sync``, not timed), so that no client pays for the writeback of another's data.

Issue 12 rows (``--issue12``; ``--only-issue12`` for these alone): 1,000 x 16 KiB files
retrieved and stored one by one on one connection, over SMB 3.1.1 and SMB1 (files/s;
smbclient: mget / mput),
connect + listPath('/') + close (ms), and a 128 MiB get/put on an encryption-required and on
a signing-required server (MB/s; pysmb cannot connect to the first). ``--ours-root DIR``
runs "ours" from another checkout (e.g. an export of the branch before a change);
``--baseline-root DIR`` adds a "baseline" client (ours from DIR) to the connect rows, for an
A/B of two checkouts in one run. The connect + listPath row is repeated at ``--rtt-ms``
(default 1) of round-trip time through a delaying relay (benchmarks/relay.py; ``tc netem``
needs root), with the round trips each client needed counted by the relay;
``--connect-only`` runs these connect rows alone.
``--pysmb-python`` picks pysmb's interpreter (default: /work/pysmb-venv when present).
"""

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from benchmarks.relay import DelayRelay  # noqa: E402
from benchmarks.runner import server_cpu  # noqa: E402
from tests.sambaserver import SambaServer  # noqa: E402

PYSMB_VENV = os.path.join(HERE, ".venv-pysmb")
SHARED_PYSMB = "/work/pysmb-venv/bin/python"
OURS_ROOT = ROOT


def pysmb_python():
    if os.path.exists(SHARED_PYSMB):
        return SHARED_PYSMB
    py = os.path.join(PYSMB_VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", PYSMB_VENV], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "pysmb"], check=True)
    return py


#: pid of the smbd whose CPU the runner measures per task (BENCH_SERVER_PID); set per server
SERVER_PID = [0]


def run_client(python, isolated, info, smb1, tasks, ours_root=None):
    args = [python] + (["-I"] if isolated else []) + [
        os.path.join(HERE, "runner.py"), info.host, str(info.port), info.user, info.password,
        info.share, info.server_name, "1", "1" if smb1 else "0"] + tasks
    # ours from this checkout (pysmb runs with -I); the smbd whose CPU the runner measures
    env = dict(os.environ, PYTHONPATH=ours_root or OURS_ROOT, BENCH_SERVER_PID=str(SERVER_PID[0]))
    r = subprocess.run(args, capture_output=True, text=True, cwd="/tmp", env=env)
    if r.returncode != 0:
        raise RuntimeError("client failed: %s" % r.stderr[-2000:])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out, out.pop("maxrss_kib", 0)


def smbclient(info, smb1, command, service=None, cwd=None):
    args = ["smbclient", "-p", str(info.port), "-U", "%s%%%s" % (info.user, info.password)]
    if smb1:
        args += ["-m", "NT1", "--option=client min protocol=NT1"]
    if service is None:
        args += ["-L", "//%s" % info.host]
    else:
        args += ["//%s/%s" % (info.host, service), "-c", command]
    cpu0 = server_cpu(SERVER_PID[0])
    t = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, cwd=cwd)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError("smbclient failed: %s %s" % (r.stdout[-500:], r.stderr[-500:]))
    if SERVER_PID[0]:
        time.sleep(0.2)  # its smbd child has exited and been reaped
        SMBCLIENT_CPU[0] = server_cpu(SERVER_PID[0]) - cpu0
    return dt


#: smbd CPU seconds of the last smbclient run (with its connection set-up)
SMBCLIENT_CPU = [None]


def _smbclient_put(info, smb1, local, remote):
    """smbclient's upload of ``local`` as the new file ``remote``, after the page cache is
    written back (untimed), as :func:`_interleaved` does before each client's put."""
    os.sync()
    return smbclient(info, smb1, "put %s %s" % (local, remote), info.share)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--entries", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--no-smb1", action="store_true")
    ap.add_argument("--no-pysmb", action="store_true")
    ap.add_argument("--issue12", action="store_true")
    ap.add_argument("--only-issue12", action="store_true")
    ap.add_argument("--small-files", type=int, default=1000)
    ap.add_argument("--secure-mib", type=int, default=128)
    ap.add_argument("--ours-root", default=ROOT)
    ap.add_argument("--pysmb-python", default=None)
    ap.add_argument("--baseline-root", default=None)
    ap.add_argument("--rtt-ms", type=float, default=1.0)
    ap.add_argument("--connect-only", action="store_true")
    args = ap.parse_args()
    global OURS_ROOT
    OURS_ROOT = os.path.abspath(args.ours_root)
    if args.pysmb_python:
        global SHARED_PYSMB
        SHARED_PYSMB = args.pysmb_python
    size = args.size_mib << 20
    pysmb = None if args.no_pysmb else pysmb_python()
    if args.connect_only:
        print_rows(connect_rows(args, pysmb))
        return
    if args.only_issue12:
        print_rows(issue12_rows(args, pysmb))
        return
    srv = SambaServer("default")
    info = srv.start()
    try:
        share = info.share_path
        with open(os.path.join(share, "big.bin"), "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                f.write(block)
        local_big = os.path.join(srv.base, "local-big.bin")
        os.link(os.path.join(share, "big.bin"), local_big)
        os.makedirs(os.path.join(share, "many"))
        for i in range(args.entries):
            open(os.path.join(share, "many", "entry-%05d.txt" % i), "w").close()
        t0 = time.perf_counter()
        subprocess.run(["python3", "-c", "pass"])
        print("(process start-up alone: %.0f ms)" % ((time.perf_counter() - t0) * 1000))

        smbclient(info, False, None)  # smbd starts samba-dcerpcd for the first share listing: not timed
        modes = [("SMB2/3", False)] + ([] if args.no_smb1 else [("SMB1", True)])
        rows = []
        for mode, smb1 in modes:
            def upload(label, rnd):
                # a new file per client and round (_interleaved writes the page cache back
                # first): truncating a file another client has just written, or writing while
                # the kernel writes back its data, would time ext4, not the client
                return "up-%s-%s-%d.bin" % (mode[:4], label, rnd)

            def tasks(label, rnd):
                out = ["get:big.bin", "put:%s:%d" % (upload(label, rnd), size), "list:many",
                       "cycle:%d" % args.cycles]
                return out + ([] if smb1 else ["cycle202:%d" % args.cycles])

            rss: dict = {}
            res = _interleaved(_clients(pysmb), info, tasks, args.repeat, smb1, {
                "get": lambda rnd: smbclient(info, smb1, "get big.bin /dev/null", info.share),
                "put": lambda rnd: _smbclient_put(info, smb1, local_big, upload("smbclient", rnd)),
                "list": lambda rnd: smbclient(info, smb1, "ls many\\*", info.share),
                "cycle": lambda rnd: smbclient(info, smb1, None)}, rss=rss)
            mb = size / 1e6
            row = lambda name, unit, ours, other, sclient: rows.append((mode, name, unit, ours, other, sclient))  # noqa
            g = lambda lbl, key: res.get(lbl, {}).get(key)  # noqa
            to_mbs = lambda s: mb / s if s else None  # noqa
            ms = lambda s: s * 1000 if s else None  # noqa
            for kind, name, unit, conv in (
                    ("get", "retrieveFile %d MiB" % args.size_mib, "MB/s", to_mbs),
                    ("put", "storeFile %d MiB" % args.size_mib, "MB/s", to_mbs),
                    ("list", "listPath %d entries" % args.entries, "ms", ms),
                    ("cycle", "connect+listShares+close", "ms", ms)):
                row(name, unit, conv(g("ours", kind)), conv(g("pysmb", kind)), conv(g("smbclient", kind)))
            if not smb1:  # pysmb speaks at most SMB 2.1; ours 3.1.1 by default
                row("  same, both at SMB 2.0.2", "ms", ms(g("ours", "cycle202")),
                    ms(g("pysmb", "cycle202")), None)
            print("%s peak RSS: ours %d MiB, pysmb %s MiB" % (
                mode, rss.get("ours", 0) // 1024,
                rss.get("pysmb", 0) // 1024 if pysmb else "-"), flush=True)
    finally:
        srv.stop()
    if args.issue12:
        rows += issue12_rows(args, pysmb)
    print_rows(rows)


def print_rows(rows):
    fmt = "%-9s %-34s %-7s %10s %10s %10s %12s %14s"
    print(fmt % ("mode", "benchmark", "unit", "ours", "pysmb", "smbclient", "ours/pysmb", "ours/smbclient"))
    for mode, name, unit, ours, other, sclient in rows:
        f = lambda v: "%.1f" % v if v is not None else "-"  # noqa
        if unit in ("MB/s", "files/s"):
            r1 = ours / other if ours and other else None
            r2 = ours / sclient if ours and sclient else None
        else:  # lower is better: speed-up factor
            r1 = other / ours if ours and other else None
            r2 = sclient / ours if ours and sclient else None
        print(fmt % (mode, name, unit, f(ours), f(other), f(sclient),
                     ("%.2fx" % r1) if r1 else "-", ("%.2fx" % r2) if r2 else "-"))
    print("(ratios: >1 means ours is faster; on the smbd CPU rows, that serving ours cost the "
          "server less)", flush=True)


def _clients(pysmb):
    return [("ours", sys.executable, False)] + ([("pysmb", pysmb, True)] if pysmb else [])


def _run(py, iso, info, tasks, ours_root=None, smb1=False):
    """One runner process: ``({task: (seconds, smbd CPU seconds or None)}, peak RSS in KiB)``;
    ``({}, 0)`` when the client cannot do the tasks (pysmb on an encryption-required server)."""
    try:
        r, peak = run_client(py, iso, info, smb1, tasks, ours_root)
    except RuntimeError:
        return {}, 0
    return {k: (v[0], v[2] if len(v) > 2 else None) for k, v in r.items()}, peak


def _interleaved(clients, info, tasks, repeat, smb1, smbclient_runs, rss=None):
    """``{label: {kind: best seconds}}`` for the library clients and for ``"smbclient"``.
    ``tasks(label, round)``: the runner tasks of that client in that round (their kind, the
    part before the first ``:``, names the result); ``smbclient_runs``: name -> timed call
    of the round. The clients take turns, ``repeat`` rounds, so that a slow spell of the
    machine falls on all of them rather than on one. ``"cpu:KIND"``: the CPU seconds smbd
    spent in that best run (None unless ``SERVER_PID`` is set). ``rss``: a dict that receives
    each library client's peak RSS (KiB) over its runs. Before each ``put`` task the page
    cache is written back (``sync``, untimed), as the callers' smbclient uploads do."""
    res: dict = {label: {} for label, _py, _iso in clients}
    res["smbclient"] = {}
    failed = set()

    def keep(label, kind, seconds, cpu):
        if seconds < res[label].get(kind, math.inf):
            res[label][kind] = seconds
            res[label]["cpu:" + kind] = cpu

    for rnd in range(repeat):
        for label, py, iso in clients:
            if label in failed:
                continue
            for task in tasks(label, rnd):  # one run per task: smbd's CPU is the task's alone
                if task.startswith("put:"):
                    os.sync()
                r, peak = _run(py, iso, info, [task], smb1=smb1)
                if not r:
                    failed.add(label)
                    break
                keep(label, task.split(":", 1)[0], *r[task])
                if rss is not None:
                    rss[label] = max(rss.get(label, 0), peak)
        for name, run in smbclient_runs.items():
            keep("smbclient", name, run(rnd), SMBCLIENT_CPU[0])
    return res


def _tree(base, name, n, size):
    path = os.path.join(base, name)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o777)
    for i in range(n):
        with open(os.path.join(path, "f%04d.bin" % i), "wb") as f:
            f.write(os.urandom(size))
    return path


def _cycle_clients(args, pysmb):
    """``(label, python, isolated, ours_root)`` of the clients of the connect rows."""
    out = [("ours", sys.executable, False, OURS_ROOT)]
    if args.baseline_root:
        out.append(("baseline", sys.executable, False, os.path.abspath(args.baseline_root)))
    if pysmb:
        out.append(("pysmb", pysmb, True, None))
    return out


def _count_round_trips(relay, fn, index):
    relay.reset()
    fn()
    time.sleep(0.1)  # the relay's readers have seen the last bytes
    trips = relay.round_trips()
    return trips[index] if len(trips) > index else None


def connect_rows(args, pysmb, info=None):
    """connect + listPath('/') + close (ms) at 0 ms and at ``--rtt-ms`` of round-trip time
    (through a DelayRelay), and the round trips of one such cycle as the relay counted them.
    The clients take turns, ``--repeat`` times; the best time of each is kept."""
    if info is None:
        srv = SambaServer("default")
        try:
            return connect_rows(args, pysmb, srv.start())
        finally:
            srv.stop()
    task = "cyclelist:%d" % args.cycles
    relay = DelayRelay((info.host, info.port), args.rtt_ms / 2000)
    rinfo = dataclasses.replace(info, port=relay.port)
    times: dict = {}
    trips: dict = {}

    cpu_of: dict = {}

    def keep(key, value, cpu=None):
        if value is not None and value < times.get(key, math.inf):
            times[key] = value
            cpu_of[key] = cpu

    try:
        clients = _cycle_clients(args, pysmb)
        for _ in range(args.repeat):
            for label, py, iso, root in clients:
                for rtt, where in ((0, info), (1, rinfo)):
                    keep((label, rtt), *_run(py, iso, where, [task], root)[0].get(task, (None, None)))
            for rtt, where in ((0, info), (1, rinfo)):
                keep(("smbclient", rtt), smbclient(where, False, "ls", where.share), SMBCLIENT_CPU[0])
        for label, py, iso, root in clients:  # [0]: the runner's first connection, [1]: the cycle
            trips[label] = _count_round_trips(
                relay, lambda: _run(py, iso, rinfo, ["cyclelist:1"], root), 1)
        trips["smbclient"] = _count_round_trips(
            relay, lambda: smbclient(rinfo, False, "ls", rinfo.share), 0)
    finally:
        relay.close()
    ms = lambda s: s * 1000 if s else None  # noqa
    t = lambda label, rtt: ms(times.get((label, rtt)))  # noqa
    rows = []
    labels = ["ours"] + (["baseline"] if args.baseline_root else [])
    for label in labels:
        mode = "SMB3.1.1" if label == "ours" else "baseline"
        rows.append((mode, "connect+listPath('/')+close", "ms", t(label, 0), t("pysmb", 0), t("smbclient", 0)))
        per_cycle = [cpu_of.get((who, 0)) for who in (label, "pysmb", "smbclient")]
        if any(v is not None for v in per_cycle):
            scale = [1000 / args.cycles, 1000 / args.cycles, 1000]  # the runner's task: --cycles of them
            rows.append(("", "  smbd CPU", "ms", *(v * k if v is not None else None
                                                  for v, k in zip(per_cycle, scale))))
        rows.append((mode, "  same at %g ms RTT" % args.rtt_ms, "ms", t(label, 1), t("pysmb", 1),
                     t("smbclient", 1)))
        rows.append((mode, "  its round trips", "RTs", trips.get(label), trips.get("pysmb"),
                     trips.get("smbclient")))
    return rows


def issue12_rows(args, pysmb):
    """Small files, connection set-up, encrypted and signed transfers (issue 12)."""
    rows = []
    n, small = args.small_files, 16 * 1024
    srv = SambaServer("default")
    info = srv.start()
    SERVER_PID[0] = srv.proc.pid
    try:
        _tree(info.share_path, "small", n, small)
        local = _tree(srv.base, "local-small", n, small)
        sink = _tree(srv.base, "local-sink", 0, 0)
        fps = lambda s: n / s if s else None  # noqa

        def up(who, rnd):
            # every upload goes to a new, empty folder: creating files costs the server the
            # same for every client, where overwriting the files another client has just
            # written (still in the page cache, or already written back) does not
            return _tree(info.share_path, "smallup-%s-%d-%s" % (mode, rnd, who), 0, 0).rsplit("/", 1)[1]

        for mode, smb1 in (("SMB3.1.1", False), ("SMB1", True)):
            res = _interleaved(_clients(pysmb), info, lambda label, rnd: [
                "mget:small:%d" % n, "mput:%s:%d:%d" % (up(label, rnd), n, small)], args.repeat, smb1, {
                "sc_get": lambda rnd: smbclient(info, smb1, "prompt off; cd small; lcd %s; mget *" % sink,
                                                info.share),
                "sc_put": lambda rnd: smbclient(info, smb1, "prompt off; cd %s; mput *" % up("smbclient", rnd),
                                                info.share, cwd=local)})
            sc_get, sc_put = res["smbclient"].get("sc_get"), res["smbclient"].get("sc_put")
            g = lambda label, key: res.get(label, {}).get(key)  # noqa
            rows.append((mode, "%d x 16 KiB retrieveFile" % n, "files/s", fps(g("ours", "mget")),
                         fps(g("pysmb", "mget")), fps(sc_get)))
            rows += _server_cpu_row(res, "mget", "sc_get", "ms/file", 1000 / n)
            rows.append((mode, "%d x 16 KiB storeFile, new files" % n, "files/s", fps(g("ours", "mput")),
                         fps(g("pysmb", "mput")), fps(sc_put)))
            rows += _server_cpu_row(res, "mput", "sc_put", "ms/file", 1000 / n)
        rows += connect_rows(args, pysmb, info)
    finally:
        srv.stop()
    size = args.secure_mib << 20
    for variant, label in (("encrypt", "encrypted"), ("signing", "signed")):
        srv = SambaServer(variant)
        info = srv.start()
        SERVER_PID[0] = srv.proc.pid
        try:
            with open(os.path.join(info.share_path, "sec.bin"), "wb") as f:
                block = os.urandom(1 << 20)
                for _ in range(args.secure_mib):
                    f.write(block)
            local_big = os.path.join(srv.base, "local-sec.bin")
            os.link(os.path.join(info.share_path, "sec.bin"), local_big)
            res = _interleaved(_clients(pysmb), info, lambda label, rnd: [
                "get:sec.bin", "put:secup-%s-%d.bin:%d" % (label, rnd, size)], args.repeat, False, {
                "sc_get": lambda rnd: smbclient(info, False, "get sec.bin /dev/null", info.share),
                "sc_put": lambda rnd: _smbclient_put(info, False, local_big, "secup-smbclient-%d.bin" % rnd)})
            sc_get, sc_put = res["smbclient"].get("sc_get"), res["smbclient"].get("sc_put")
            mbs = lambda s: size / 1e6 / s if s else None  # noqa
            g = lambda lbl, key: res.get(lbl, {}).get(key)  # noqa
            rows.append(("SMB3.1.1", "%d MiB get, %s" % (args.secure_mib, label), "MB/s",
                         mbs(g("ours", "get")), mbs(g("pysmb", "get")), mbs(sc_get)))
            rows += _server_cpu_row(res, "get", "sc_get", "ms/MiB", 1000 / args.secure_mib)
            rows.append(("SMB3.1.1", "%d MiB put, %s" % (args.secure_mib, label), "MB/s",
                         mbs(g("ours", "put")), mbs(g("pysmb", "put")), mbs(sc_put)))
            rows += _server_cpu_row(res, "put", "sc_put", "ms/MiB", 1000 / args.secure_mib)
        finally:
            srv.stop()
            SERVER_PID[0] = 0
    return rows


def _server_cpu_row(res, kind, sc_kind, unit, scale):
    """The "smbd CPU" row under a timed row: what serving each client's best run cost the
    server (smbclient's includes its connection set-up), ``scale`` x seconds."""
    vals = [res.get(label, {}).get("cpu:" + k) for label, k in
            (("ours", kind), ("pysmb", kind), ("smbclient", sc_kind))]
    if all(v is None for v in vals):
        return []
    return [("", "  smbd CPU", unit) + tuple(v * scale if v is not None else None for v in vals)]


if __name__ == "__main__":
    main()
