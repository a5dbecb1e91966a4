"""A private Samba Active Directory domain controller on loopback: a real KDC for the Kerberos
tests, and an smbd that accepts Kerberos.

``samba-tool domain provision`` writes everything under one temporary directory (about 10 s,
done once per test session); ``samba -i`` then runs the KDC on 127.0.0.1:88 (the port is
fixed: Kerberos clients reach a KDC there unless told otherwise, and Samba's KDC has no port
option) and smbd on a free high port. The DC has a test user with a password, a keytab
exported for it, a private ``krb5.conf`` and two shares: ``share`` (signed, as every DC
requires) and ``enc`` (``smb encrypt = required``). SMB1 (NT1) is enabled too.

Run by hand with ``python -m tests.addc``. :class:`PortTaken` is raised when port 88 is
already in use (the tests skip then, and say so).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from tests.sambaserver import SambaUnavailable, _Daemon, _free_port, stop_processes

REALM = "TEST.LAN"
DOMAIN = "TEST"
DC_NAME = "SMBPYDC"
ADMIN_PASSWORD = "Adm1n-Passw0rd!"
KRB_USER = "kuser"
KRB_PASSWORD = "Kerb3ros-Pw!"
SHARE, ENC_SHARE = "share", "enc"
KDC_PORT = 88


class PortTaken(SambaUnavailable):
    """Port 88 on 127.0.0.1 is in use: no private KDC can run here."""


class ToolsMissing(SambaUnavailable):
    """samba (samba-ad-dc) or samba-tool is not installed and could not be."""


@dataclass
class DCInfo:
    host: str
    port: int  # smbd, direct TCP
    realm: str
    domain: str
    server_name: str  # the DC's NetBIOS name
    user: str
    password: str
    keytab: str  # a keytab with the user's keys
    krb5_conf: str  # a krb5.conf naming the KDC
    base: str
    share_paths: dict


def _free_range(size: int = 64) -> str:
    """A range of ``size`` ports for samba's RPC endpoints, free now: the default range
    (49152-) is shared with every other samba on the machine."""
    import random

    for _ in range(200):
        base = random.randrange(20000, 40000 - size)
        if all(_port_free(p) for p in range(base, base + size)):
            return "%d-%d" % (base, base + size - 1)
    return "49152-65535"


def _port_free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _tool(*args, check=True, env=None):
    r = subprocess.run(list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env, timeout=120)
    if check and r.returncode != 0:
        raise SambaUnavailable("%s failed (%d):\n%s" % (" ".join(args[:3]), r.returncode,
                                                         r.stdout.decode(errors="replace")[-3000:]))
    return r.stdout.decode(errors="replace")


class ADDC(_Daemon):
    """Start with :meth:`start`, stop with :meth:`stop` (also a context manager)."""

    daemon_name = "samba"

    def __init__(self):
        self.proc = None
        self.base = None
        self.info = None
        self.conf = None
        self.timings = {}

    def start(self, timeout: float = 60.0) -> DCInfo:
        for tool in ("samba", "samba-tool"):
            if not (shutil.which(tool) or os.path.exists("/usr/sbin/" + tool)):
                raise ToolsMissing("%s not found: install samba-ad-dc and krb5-user "
                                       "(apt-get install samba-ad-dc krb5-user)" % tool)
        if not _port_free(KDC_PORT):
            raise PortTaken("port %d on 127.0.0.1 is taken (another KDC?): the private AD DC cannot "
                            "run its KDC" % KDC_PORT)
        self._make_base("smbpy-addc-")
        os.chmod(self.base, 0o755)
        t0 = time.monotonic()
        dc = os.path.join(self.base, "dc")
        _tool("samba-tool", "domain", "provision", "--realm=" + REALM, "--domain=" + DOMAIN,
              "--server-role=dc", "--dns-backend=NONE", "--targetdir=" + dc,
              "--host-name=" + DC_NAME.lower(), "--adminpass=" + ADMIN_PASSWORD,
              "--option=interfaces=lo", "--option=bind interfaces only=yes")
        self.conf = os.path.join(dc, "etc", "smb.conf")
        port = _free_port()
        shares = self._write_conf(port)
        _tool("samba-tool", "user", "add", KRB_USER, KRB_PASSWORD, "-s", self.conf)
        _tool("samba-tool", "user", "setexpiry", KRB_USER, "--noexpiry", "-s", self.conf)
        keytab = os.path.join(self.base, "user.keytab")
        _tool("samba-tool", "domain", "exportkeytab", keytab, "--principal=%s@%s" % (KRB_USER, REALM),
              "-s", self.conf)
        krb5_conf = os.path.join(self.base, "krb5.conf")
        with open(krb5_conf, "w") as f:
            f.write("[libdefaults]\n    default_realm = %s\n    dns_lookup_kdc = false\n"
                    "    dns_lookup_realm = false\n[realms]\n    %s = {\n        kdc = 127.0.0.1\n    }\n"
                    % (REALM, REALM))
        self.timings["provision"] = time.monotonic() - t0
        t1 = time.monotonic()
        port = self._run(port, timeout)
        self.timings["start"] = time.monotonic() - t1
        self.info = DCInfo(host="127.0.0.1", port=port, realm=REALM, domain=DOMAIN, server_name=DC_NAME,
                           user=KRB_USER, password=KRB_PASSWORD, keytab=keytab, krb5_conf=krb5_conf,
                           base=self.base, share_paths=shares)
        return self.info

    def _run(self, port: int, timeout: float, attempts: int = 3) -> int:
        """Start samba; when it exits early (a port taken between choosing and binding it, on a
        busy machine), try again on another port. Returns the smbd port."""
        failures = []
        for _ in range(attempts):
            self._spawn(["samba", "-i", "-s", self.conf, "--debuglevel=1"])
            try:
                self._wait_port(KDC_PORT, timeout)
                self._wait_port(port, timeout)
                return port
            except SambaUnavailable as e:
                failures.append(str(e))
                self._stop_daemons()
                if not _port_free(KDC_PORT):
                    raise PortTaken("port %d on 127.0.0.1 was taken while the AD DC started" % KDC_PORT)
                port = _free_port()
                with open(self.conf) as f:
                    text = f.read()
                fresh = {"smb ports": str(port), "rpc server dynamic port range": _free_range()}
                with open(self.conf, "w") as f:  # a port and an RPC range another process may not hold
                    f.write("\n".join(next(("\t%s = %s" % (k, v) for k, v in fresh.items()
                                            if ln.strip().startswith(k)), ln) for ln in text.split("\n")))
        raise SambaUnavailable("samba did not start (%d attempts):\n%s" % (attempts, "\n---\n".join(failures)))

    def _write_conf(self, port: int) -> dict:
        with open(self.conf) as f:
            text = f.read()
        start = text.index("[global]")
        end = text.find("\n[", start)
        lines = text[start:end if end >= 0 else len(text)].splitlines()  # [global] only; shares are ours
        drop = ("server services", "log file", "logging")
        glob = [ln for ln in lines if ln.strip().split("=")[0].strip() not in drop]
        glob += ["\t%s = %s" % kv for kv in {
            "server services": "-dns -nbt -wrepl -ntp_signd -kcc -dnsupdate",
            "smb ports": str(port), "disable netbios": "yes", "server min protocol": "NT1",
            "log file": os.path.join(self.base, "log", "log.%m"), "pid directory": os.path.join(self.base, "pid"),
            "load printers": "no", "printing": "bsd", "printcap name": "/dev/null", "disable spoolss": "yes",
            "max log size": "1000", "prefork children": "1",
            "rpc server dynamic port range": _free_range()}.items()]
        shares = {}
        for name, extra in ((SHARE, []), (ENC_SHARE, ["\tsmb encrypt = required"])):
            path = os.path.join(self.base, name)
            os.makedirs(path)
            os.chmod(path, 0o777)
            shares[name] = path
            glob += ["", "[%s]" % name, "\tpath = %s" % path, "\tread only = no"] + extra
        with open(self.conf, "w") as f:
            f.write("\n".join(glob) + "\n")
        return shares

    def stop(self) -> None:
        """Stop samba and everything it started: its process tree (taken before the first
        signal: samba's helpers live in process groups and sessions of their own) and the
        daemons naming its configuration file (smbd, samba-dcerpcd, rpcd_*)."""
        self._stop_daemons()
        super().stop()

    def _stop_daemons(self) -> None:
        tree = _descendants(self.proc.pid) if self.proc is not None else set()
        stop_processes(lambda: {p for p in tree if _alive(p)} | set(self.helper_pids()))
        if self.proc is not None:
            self.proc.wait(5)
            self.proc = None

    def env(self) -> dict:
        """Environment for MIT tools (kinit, klist, smbclient -k) using this DC's KDC."""
        return dict(os.environ, KRB5_CONFIG=self.info.krb5_conf)


def _processes():
    """{pid: (ppid, cmdline bytes)} of every process."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid, "rb") as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        out[int(pid)] = (ppid, cmd)
    return out


def _descendants(root: int) -> set:
    procs = _processes()
    found, todo = {root}, [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, _cmd) in procs.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                todo.append(pid)
    return found


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] != b"Z"


def main() -> int:
    dc = ADDC()
    info = dc.start()
    for k, v in vars(info).items():
        print("%-12s %s" % (k + ":", v))
    print("timings:     %s" % {k: round(v, 1) for k, v in dc.timings.items()})
    dc.run_until_interrupted()
    return 0


if __name__ == "__main__":
    sys.exit(main())
