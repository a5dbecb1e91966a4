"""benchmarks/runner.py's ``server_cpu``: the CPU of a process, its live descendants and the
children it has reaped (what the issue-12 rows report as "smbd CPU")."""

import os
import subprocess
import sys
import time

from benchmarks.runner import server_cpu

# burn CPU, then idle a while (so that the burn is over while the process still lives)
BURN = ("import time\nt = time.process_time()\nwhile time.process_time() - t < %s: pass\n"
        "time.sleep(0.8)\n")


def _spawn_burner(seconds, grandchild=False):
    code = BURN % seconds
    if grandchild:  # the burner is a grandchild: counted while its parent lives
        code = "import subprocess, sys\nsubprocess.run([sys.executable, '-c', %r])\n" % code
    return subprocess.Popen([sys.executable, "-c", code])


def test_counts_a_live_descendant_and_a_reaped_child():
    before = server_cpu(os.getpid())
    child = _spawn_burner(0.3, grandchild=True)
    deadline = time.monotonic() + 20
    during = before
    while during - before < 0.25 and time.monotonic() < deadline:  # the grandchild, alive
        time.sleep(0.05)
        during = server_cpu(os.getpid())
    assert child.poll() is None, "the burner ended before its CPU was seen while alive"
    assert 0.25 <= during - before < 5
    child.wait()  # reaped: its CPU (and its own reaped child's) moves into ours
    after = server_cpu(os.getpid())
    assert 0.25 <= after - before < 5
    assert after >= during - 0.02


def test_gone_or_absent_process():
    assert server_cpu(0) is None
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert server_cpu(p.pid) == 0  # exited and reaped: nothing to read, no exception
