"""The command line (``smbpy`` / ``python -m smb``) end to end against the private Samba.

Checks run the real program -- as a process (the console script and ``python -m smb``) where
the process boundary matters (exit statuses, standard streams, a terminal, a closed pipe),
and in-process through ``smb.cli.program.main`` elsewhere, which is the same code without
the interpreter start-up. Results are checked on the server's disk.
"""

import fcntl
import io
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import termios
import time
from typing import NamedTuple

import pytest

from smb.cli import program, transfer
from smb.cli.exitcodes import ExitCode
from smb.cli.session import PASSWORD_ENV, accepts_keyword, open_connection
from smb.cli.url import parse_url
from tests import hostile
from tests.integration.conftest import Disk

pytestmark = pytest.mark.integration
SCRIPT = os.path.join(os.path.dirname(sys.executable), "smbpy")
MODULE = [sys.executable, "-m", "smb"]


class Result(NamedTuple):
    code: int
    out: bytes
    err: str

    @property
    def text(self):
        return self.out.decode("utf-8")


@pytest.fixture(scope="module")
def srv(samba_factory):
    info = samba_factory("default")
    if info.share_path is None:
        pytest.skip("needs the private Samba (checks files on the server's disk)")
    return info


@pytest.fixture(scope="module")
def disk(srv):
    return Disk(srv)


@pytest.fixture
def env(srv, monkeypatch):
    """The environment of a CLI run: the password in SMB_PASSWORD, nothing else of ours."""
    monkeypatch.setenv(PASSWORD_ENV, srv.password)
    return dict(os.environ)


def server_url(srv, user=None, host=None, port=None):
    return "smb://%s@%s:%d" % (srv.user if user is None else user, host or srv.host,
                               port or srv.port)


_count = iter(range(10**6))


@pytest.fixture
def top(srv, env):
    """A fresh folder on the share: (its URL, its path relative to the share)."""
    rel = "cli%d-%d" % (os.getpid(), next(_count))
    url = "%s/%s/%s" % (server_url(srv), srv.share, rel)
    assert smbpy("mkdir", url).code == 0
    return url, rel


def smbpy(*argv, stdin=b"") -> Result:
    """Run the CLI in this process (the same ``main`` as the console script)."""
    out, err = io.BytesIO(), io.BytesIO()
    streams = [io.TextIOWrapper(b, encoding="utf-8", write_through=True)
               for b in (out, err, io.BytesIO(stdin))]
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = streams
    try:
        code = program.main(list(argv))
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
    return Result(code, out.getvalue(), err.getvalue().decode("utf-8"))


def run(*argv, env, script=True, stdin=b"", cwd=None) -> Result:
    """Run the CLI as a process: the console script, or ``python -m smb``."""
    r = subprocess.run(([SCRIPT] if script else MODULE) + list(argv), input=stdin, env=env,
                       capture_output=True, cwd=cwd, timeout=60,
                       start_new_session=True)  # no controlling terminal: nobody to prompt
    return Result(r.returncode, r.stdout, r.stderr.decode("utf-8"))


# ---------------------------------------------------------------------------- processes
def test_console_script_and_module_list_shares(srv, env):
    r = run("shares", "--json", server_url(srv), env=env)
    assert (r.code, r.err) == (0, "")
    shares = {s["name"]: s for s in json.loads(r.out)}
    assert shares[srv.share] == {"name": srv.share, "type": "disk", "special": False,
                                 "temporary": False, "comment": "smbpy test share"}
    assert shares["IPC$"]["type"] == "ipc" and shares["IPC$"]["special"]
    r = run("shares", server_url(srv), env=env, script=False)
    assert r.code == 0
    assert re.search(r"^%s\s+disk\s+smbpy test share$" % srv.share, r.text, re.M)


def test_round_trip_as_processes(srv, env, top, disk, tmp_path):
    """put, ls, cat and get as real processes: quiet when piped, files on the disk."""
    url, rel = top
    data = os.urandom(300_000)
    (tmp_path / "up.bin").write_bytes(data)
    r = run("put", "up.bin", url + "/", env=env, cwd=tmp_path)
    assert (r.code, r.out, r.err) == (0, b"", "")  # no progress bar when not on a terminal
    assert disk.read(rel + "/up.bin") == data
    r = run("ls", url, env=env, script=False)
    assert r.code == 0
    assert re.fullmatch(r"----a 300000 \d{4}-\d\d-\d\d \d\d:\d\d up\.bin\n", r.text)
    rec = json.loads(smbpy("stat", "--json", url + "/up.bin").out)
    assert (rec["path"], rec["type"], rec["size"]) == ("/%s/up.bin" % rel, "file", 300000)
    mtime = os.stat(disk.path(rel + "/up.bin")).st_mtime
    assert rec["modified"].startswith(time.strftime("%Y-%m-%dT%H:%M", time.gmtime(mtime)))
    r = run("cat", url + "/up.bin", env=env)
    assert (r.code, r.out) == (0, data)
    r = run("get", url + "/up.bin", "down.bin", env=env, cwd=tmp_path)
    assert (r.code, r.err) == (0, "")
    assert (tmp_path / "down.bin").read_bytes() == data


def test_exit_codes_of_the_process(srv, env):
    base = server_url(srv)
    r = run("ls", base + "/" + srv.share + "/no-such-file", env=env)
    assert r.code == ExitCode.NOT_FOUND
    assert r.err == ("smbpy ls: Failed to get attributes of 'no-such-file' on share '%s' "
                     "(STATUS_OBJECT_NAME_NOT_FOUND, 0xC0000034)\n" % srv.share)
    wrong = dict(env, **{PASSWORD_ENV: "not-the-password"})
    r = run("ls", base + "/" + srv.share, env=wrong, script=False)
    assert r.code == ExitCode.AUTH
    assert r.err == "python -m smb ls: authentication failed for %s on %s\n" % (srv.user, srv.host)
    r = run("ls", "smb://%s:%s@%s/%s" % (srv.user, srv.password, srv.host, srv.share), env=env)
    assert r.code == ExitCode.USAGE and srv.password not in r.err


def test_password_from_file_or_standard_input(srv, env, tmp_path):
    del env[PASSWORD_ENV]
    url = server_url(srv) + "/" + srv.share
    pw = tmp_path / "pw"
    pw.write_text(srv.password + "\n")
    pw.chmod(0o600)
    r = run("ls", "--password-file", str(pw), url, env=env)
    assert (r.code, r.err) == (0, "")
    r = run("ls", "--password-file", "-", url, env=env, stdin=srv.password.encode() + b"\n")
    assert (r.code, r.err) == (0, "")
    r = run("ls", url, env=env)  # no password anywhere, and no terminal to ask on
    assert r.code == ExitCode.USAGE and PASSWORD_ENV in r.err


def test_prompt_and_progress_bar_on_a_terminal(srv, env, tmp_path, disk, top):
    """On a terminal the password is asked for (not echoed) and a progress bar is drawn."""
    url, rel = top
    disk.write(rel + "/big.bin", os.urandom(2_000_000))
    del env[PASSWORD_ENV]
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([SCRIPT, "get", url + "/big.bin", str(tmp_path)], stdin=slave,
                            stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    screen = _read_pty(master, proc, answer=(b"Password for ", srv.password.encode() + b"\n"))
    assert proc.wait(30) == 0, screen
    assert "Password for %s@%s: " % (srv.user, srv.host) in screen
    assert srv.password not in screen  # the prompt turned echo off
    assert re.search(r"big\.bin: 100%\|.*\| 1\.91M/1\.91M", screen), screen
    assert (tmp_path / "big.bin").read_bytes() == disk.read(rel + "/big.bin")


def _read_pty(fd, proc, answer):
    seen, answered = b"", False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
        if not answered and answer[0] in seen:
            os.write(fd, answer[1])
            answered = True
    os.close(fd)
    return seen.decode("utf-8", "replace")


def test_cat_into_a_closed_pipe_exits_141(srv, env, disk, top):
    url, rel = top
    disk.write(rel + "/big.bin", os.urandom(3_000_000))
    proc = subprocess.Popen([SCRIPT, "cat", url + "/big.bin"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert len(proc.stdout.read(10)) == 10
    proc.stdout.close()
    assert proc.wait(30) == ExitCode.BROKEN_PIPE
    assert proc.stderr.read() == b""


# ---------------------------------------------------------------------------- in-process
def test_listing_formats(srv, env, top, disk):
    url, rel = top
    disk.write(rel + "/b.txt", b"12345")
    disk.write(rel + "/a.bin", b"")
    assert smbpy("mkdir", url + "/sub").code == 0
    r = smbpy("ls", "--json", url)
    recs = json.loads(r.out)
    assert [(x["name"], x["type"], x["size"], x["path"]) for x in recs] == [
        ("a.bin", "file", 0, "/%s/a.bin" % rel), ("b.txt", "file", 5, "/%s/b.txt" % rel),
        ("sub", "directory", 0, "/%s/sub" % rel)]
    assert set(recs[0]) == {"name", "path", "type", "size", "allocation_size", "attributes",
                            "attribute_names", "created", "modified", "accessed", "changed"}
    assert "DIRECTORY" in recs[2]["attribute_names"]
    assert smbpy("ls", "-1", url).text == "a.bin\nb.txt\nsub\n"
    assert smbpy("ls", "-1", url + "/*.txt").text == "b.txt\n"
    assert re.fullmatch(r"d---- 0 \S+ \S+ %s\n" % rel, smbpy("ls", "-d", url).text)
    stat = smbpy("stat", url + "/b.txt").text
    assert "size:        5\n" in stat and "type:        file\n" in stat
    assert smbpy("ls", url + "/*.none").code == ExitCode.NOT_FOUND


def test_recursive_trees_and_copies(srv, env, top, disk, tmp_path):
    url, rel = top
    src = tmp_path / "tree"
    files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(70_000), "sub/deeper/empty": b"",
             "sub/deeper/c.txt": b"gamma"}
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    (src / "emptydir").mkdir()
    assert smbpy("put", str(src), url + "/").code == 1  # a folder needs -r
    assert smbpy("put", "-r", str(src), url + "/").code == 0
    for name, data in files.items():
        assert disk.read(rel + "/tree/" + name) == data
    assert os.path.isdir(disk.path(rel + "/tree/emptydir"))
    # get -r into a new folder, cp -r on the server, cp between two "servers"
    assert smbpy("get", "-r", url + "/tree", str(tmp_path / "back")).code == 0
    assert smbpy("cp", "-r", url + "/tree", url + "/copy").code == 0
    other = url.replace("@%s:" % srv.host, "@localhost:")  # a second connection
    assert smbpy("cp", url + "/tree/sub/b.bin", other + "/b-copy.bin").code == 0
    for name, data in files.items():
        assert (tmp_path / "back" / name).read_bytes() == data
        assert disk.read(rel + "/copy/" + name) == data
    assert disk.read(rel + "/b-copy.bin") == files["sub/b.bin"]
    assert os.path.isdir(tmp_path / "back" / "emptydir")
    assert smbpy("cp", "-r", url + "/tree", url + "/tree/sub").code == ExitCode.USAGE


def test_continue_transfers_only_the_missing_range(srv, env, top, disk, tmp_path, monkeypatch):
    """--continue keeps what is there (even wrong bytes prove it was not sent again) and moves
    the rest in ranged pieces (made small here, so that there are several)."""
    monkeypatch.setattr(transfer, "PIECE", 64 * 1024)
    url, rel = top
    data = os.urandom(300_001)
    disk.write(rel + "/f.bin", data)
    local = tmp_path / "f.bin"
    local.write_bytes(b"X" * 100_000)
    assert smbpy("get", "--continue", url + "/f.bin", str(local)).code == 0
    assert local.read_bytes() == b"X" * 100_000 + data[100_000:]
    assert smbpy("get", "-c", url + "/f.bin", str(local)).code == 0  # complete: untouched
    assert local.read_bytes()[:5] == b"XXXXX"
    assert smbpy("get", url + "/f.bin", str(local)).code == 0  # without -c: a fresh copy
    assert local.read_bytes() == data
    disk.write(rel + "/g.bin", b"Y" * 200_000)
    assert smbpy("put", "-c", str(local), url + "/g.bin").code == 0
    assert disk.read(rel + "/g.bin") == b"Y" * 200_000 + data[200_000:]
    assert smbpy("put", str(local), url + "/g.bin").code == 0
    assert disk.read(rel + "/g.bin") == data
    local.write_bytes(data + b"more")
    r = smbpy("get", "-c", url + "/f.bin", str(local))  # the local copy is longer
    assert r.code == ExitCode.ERROR and "larger than the source" in r.err
    assert smbpy("cp", url + "/f.bin", url + "/f2.bin").code == 0  # in several pieces too
    assert disk.read(rel + "/f2.bin") == data


def test_standard_streams(srv, env, top, disk):
    url, rel = top
    assert smbpy("put", "-", url + "/in.txt", stdin=b"from stdin\n").code == 0
    assert disk.read(rel + "/in.txt") == b"from stdin\n"
    assert smbpy("get", url + "/in.txt", "-").out == b"from stdin\n"
    assert smbpy("cat", url + "/in.txt", url + "/in.txt").out == b"from stdin\n" * 2


def test_changes_and_their_exit_codes(srv, env, top, disk):
    url, rel = top
    assert smbpy("mkdir", "-p", url + "/a/b/c").code == 0
    assert smbpy("mkdir", "-p", url + "/a/b").code == 0
    assert smbpy("mkdir", url + "/a").code == ExitCode.EXISTS
    assert os.path.isdir(disk.path(rel + "/a/b/c"))
    disk.write(rel + "/a/f.txt", b"f")
    assert smbpy("mv", url + "/a/f.txt", url + "/a/b").code == 0  # into a folder
    assert disk.read(rel + "/a/b/f.txt") == b"f"
    assert smbpy("mv", url + "/a/b/f.txt", url + "/g.txt").code == 0
    disk.write(rel + "/h.txt", b"h")
    assert smbpy("mv", url + "/g.txt", url + "/h.txt").code == ExitCode.EXISTS  # no overwrite
    assert smbpy("mv", url + "/g.txt", server_url(srv) + "/shadow/g.txt").code == ExitCode.USAGE
    assert smbpy("rmdir", url + "/a").code == ExitCode.ERROR  # not empty
    assert smbpy("rm", url + "/a").code == ExitCode.ERROR  # a folder needs -r
    assert smbpy("rm", url + "/missing").code == ExitCode.NOT_FOUND
    assert smbpy("put", "/no/such/local/file", url + "/x").code == ExitCode.NOT_FOUND
    assert smbpy("put", "-", url + "/no-such-folder/", stdin=b"").code == ExitCode.NOT_FOUND
    assert smbpy("rmdir", url + "/a/b/c").code == 0
    assert not disk.exists(rel + "/a/b/c")
    assert smbpy("rm", "-f", url + "/missing", url + "/*.txt").code == 0
    assert not disk.exists(rel + "/g.txt") and not disk.exists(rel + "/h.txt")
    assert smbpy("rm", "-r", url + "/a").code == 0
    assert os.listdir(disk.path(rel)) == []
    assert smbpy("rm", "-r", server_url(srv) + "/" + srv.share).code == ExitCode.USAGE


def test_connection_failures_and_their_exit_codes(srv, env):
    anonymous = "smb://%s:%d/%s" % (srv.host, srv.port, srv.share)
    assert smbpy("ls", anonymous).code == ExitCode.ACCESS_DENIED
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    r = smbpy("ls", server_url(srv, port=closed_port) + "/s")
    assert r.code == ExitCode.CONNECTION and "could not connect" in r.err
    with hostile.FakeServer(hostile.drain, io_timeout=10) as silent:
        r = smbpy("ls", "--timeout", "0.5", server_url(srv, port=silent.port) + "/s")
    assert r.code == ExitCode.TIMEOUT

    def garbage(sock):
        hostile.read_frame(sock)
        sock.sendall(hostile.frame(b"\xfeSMB" + b"\x41" * 60))
        hostile.drain(sock)
    with hostile.FakeServer(garbage, io_timeout=10) as liar:
        assert smbpy("ls", server_url(srv, port=liar.port) + "/s").code == ExitCode.PROTOCOL


def test_smb1_and_netbios_options(srv, env, top, disk, monkeypatch):
    url = parse_url("%s/%s" % (server_url(srv), srv.share))
    nb_url = parse_url("%s/%s" % (server_url(srv, port=srv.netbios_port), srv.share))
    options = program.build_parser().parse_args(["ls", "--smb1", "--netbios", str(nb_url)])
    conn = open_connection(nb_url, options, srv.password)
    try:
        assert conn.dialect == 0x0001 and not conn.is_direct_tcp
    finally:
        conn.close()
    options = program.build_parser().parse_args(["ls", "--encrypt", str(url)])
    conn = open_connection(url, options, srv.password)
    try:
        assert conn.dialect == 0x0311 and conn.is_direct_tcp
    finally:
        conn.close()
    assert smbpy("ls", "--smb1", "--netbios", str(nb_url)).code == 0
    monkeypatch.setattr(transfer, "PIECE", 64 * 1024)  # several ranged pieces over SMB1
    url, rel = top
    data = os.urandom(200_000)
    assert smbpy("put", "--smb1", "-", url + "/one.bin", stdin=data).code == 0
    assert smbpy("cp", "--smb1", url + "/one.bin", url + "/two.bin").code == 0
    assert disk.read(rel + "/two.bin") == data
    assert smbpy("get", "--smb1", url + "/two.bin", "-").out == data


def test_kerberos_option_says_when_it_is_unavailable(srv, env):
    if accepts_keyword("use_kerberos"):
        pytest.skip("this library has Kerberos: tested with a KDC elsewhere")
    r = smbpy("ls", "--kerberos", "%s/%s" % (server_url(srv), srv.share))
    assert r.code == ExitCode.USAGE and "no Kerberos support" in r.err


def test_watch_prints_changes_as_they_happen(srv, env, top):
    """``smbpy watch --json -n 3`` in a process; another connection creates, writes and
    deletes a file: three JSON lines, then exit 0. ``--for`` ends a quiet watch."""
    url, rel = top
    proc = subprocess.Popen([SCRIPT, "watch", "--json", "-n", "3", url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        time.sleep(1.5)  # connected and armed
        from smb.SMBConnection import SMBConnection

        c = SMBConnection(srv.user, srv.password, "WATCHER", srv.server_name, is_direct_tcp=True)
        assert c.connect(srv.host, srv.port)
        c.storeFile(srv.share, rel + "/w1.txt", io.BytesIO(b"one"))
        c.storeFile(srv.share, rel + "/w2.txt", io.BytesIO(b"two"))
        c.deleteFiles(srv.share, rel + "/w1.txt")
        c.close()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.decode().splitlines()]
    assert len(events) == 3
    assert events[0] == {"action": "added", "path": "%s/w1.txt" % rel}
    assert {e["path"] for e in events} <= {"%s/w1.txt" % rel, "%s/w2.txt" % rel}
    t0 = time.monotonic()
    r = run("watch", "--for", "1", url, env=env)
    assert (r.code, r.out) == (0, b"") and time.monotonic() - t0 < 15
