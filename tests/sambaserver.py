"""A private Samba ``smbd`` on loopback, for the integration tests and by hand.

Every path it uses lives in one temporary directory; it listens on two free high ports
(direct TCP and NetBIOS session service) on 127.0.0.1 only, with one test user and
read-write shares. Run it by hand with::

    python -m tests.sambaserver --variant encrypt

Variants (``VARIANTS``): default (NT1..SMB3_11), signing (mandatory), encrypt (SMB3 only,
encryption required), smb1only, smb2only (2.0.2-2.1), smb3only, ntlmv1 (NTLMv1 and non-extended
NTLMv2 permitted), guest (unknown users become guest; share ``guestshare`` allows guests).

:class:`NmbdServer` runs a private ``nmbd`` (NetBIOS name service) the same way, on loopback
and a free high UDP port, for the live NetBIOS name service tests.

When ``SMB_TEST_HOST`` is set, :func:`external_server` describes that server instead (see
README, "Testing against another server").
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Optional

TEST_USER = "smbpytest"
TEST_PASSWORD = "Secr3t-pw"
TEST_SHARE = "public"
SHADOW_SHARE = "shadow"
GUEST_SHARE = "guestshare"  # only on the "guest" variant
ACL_SHARE = "acls"  # NT ACLs stored by vfs_acl_xattr (setSecurity tests)
SNAPSHOTS = ("@GMT-2024.01.02-03.04.05", "@GMT-2025.06.07-08.09.10")

_COMMON = {
    "ntlm auth": "ntlmv2-only",
    "server min protocol": "NT1",
    "server max protocol": "SMB3_11",
}
VARIANTS = {
    "default": {},
    "signing": {"server signing": "mandatory"},
    "encrypt": {"server min protocol": "SMB3_00", "server smb encrypt": "required"},
    "smb1only": {"server max protocol": "NT1"},
    "smb2only": {"server min protocol": "SMB2_02", "server max protocol": "SMB2_10"},
    "smb3only": {"server min protocol": "SMB3_00"},
    "ntlmv1": {"ntlm auth": "yes", "raw NTLMv2 auth": "yes"},
    "guest": {"map to guest": "bad user"},
}


class SambaUnavailable(RuntimeError):
    pass


@dataclass
class ServerInfo:
    host: str
    port: int  # direct TCP (445-style)
    netbios_port: Optional[int]  # NetBIOS session service (139-style); None if unknown
    user: str
    password: str
    share: str
    server_name: str
    variant: str = "default"
    shadow_share: Optional[str] = None
    share_path: Optional[str] = None  # local path of the share when the server is ours
    domain: str = ""
    external: bool = False
    extra: dict = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_smbd() -> str:
    for cand in (shutil.which("smbd"), "/usr/sbin/smbd", "/usr/local/samba/sbin/smbd"):
        if cand and os.path.exists(cand):
            return cand
    raise SambaUnavailable(
        "smbd not found: install Samba (Debian/Ubuntu: 'apt-get install samba smbclient'), "
        "or point the tests at another server with SMB_TEST_HOST/SMB_TEST_PORT/SMB_TEST_USER/"
        "SMB_TEST_PASSWORD/SMB_TEST_SHARE")


def _ensure_unix_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise SambaUnavailable("the private Samba needs root to create the Unix user %r" % name)
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_processes(current) -> None:
    """SIGTERM, then SIGKILL, the processes ``current()`` lists (pids), until none is left
    (five seconds per signal)."""
    pids = current()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        end = time.monotonic() + 5
        while time.monotonic() < end:
            pids = current()
            if not pids:
                return
            time.sleep(0.05)


class _Daemon:
    """A Samba daemon run in the foreground in its own session, with every path under
    ``self.base``: what :class:`SambaServer` and :class:`NmbdServer` share."""

    proc: Optional[subprocess.Popen] = None
    base: Optional[str] = None

    def start(self, timeout: float = 30.0):
        raise NotImplementedError

    _STATE_DIRS = {"private dir": "private", "lock directory": "lock", "state directory": "state",
                   "cache directory": "cache", "pid directory": "pid", "ncalrpc dir": "ncalrpc"}

    def _make_base(self, prefix: str) -> None:
        """A fresh temporary directory with a private directory for each Samba state path."""
        self.base = tempfile.mkdtemp(prefix=prefix)
        for d in list(self._STATE_DIRS.values()) + ["log"]:
            os.makedirs(os.path.join(self.base, d))

    def _state_paths(self) -> dict:
        """The smb.conf [global] entries pointing every state path into ``self.base``."""
        paths = {k: os.path.join(self.base, d) for k, d in self._STATE_DIRS.items()}
        paths["log file"] = os.path.join(self.base, "log", "log.%m")
        return paths

    def _spawn(self, argv) -> None:
        # a new session and stdin from /dev/null: Samba daemons signal their whole process
        # group on exit, and die with an inherited pipe as stdin. _NO_WINBINDD=1 keeps a
        # winbindd of the machine (nsswitch "winbind", e.g. a test AD DC) out of our user
        # and SID mapping: it would map our user to its own uids and every logon would fail
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=open(os.path.join(self.base, "log", "stdout"), "wb"),
            stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ, _NO_WINBINDD="1"))

    def helper_pids(self) -> list:
        """Processes started for this daemon outside its session: smbd runs ``samba-dcerpcd``
        and the ``rpcd_*`` workers on demand, in their own session, with
        ``--configfile=<our smb.conf>``; they outlive smbd unless stopped by pid."""
        if not self.base:
            return []
        marker = ("--configfile=" + self.base + os.sep).encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if any(a.startswith(marker) for a in argv):
                found.append(int(entry))
        return found

    def _stop_helpers(self) -> None:
        stop_processes(self.helper_pids)

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(5)
            self.proc = None
        if self.base:
            self._stop_helpers()
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    #: the daemon's name in error messages
    daemon_name = "smbd"

    def _wait_port(self, port: int, timeout: float, host: str = "127.0.0.1") -> None:
        """Until ``host``:``port`` accepts connections; SambaUnavailable (with the log's end)
        if the daemon exits first or the timeout passes."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SambaUnavailable("%s exited with %s:\n%s" % (self.daemon_name, self.proc.returncode,
                                                                   self.log_tail()))
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise SambaUnavailable("%s did not listen on port %d within %ss:\n%s" % (
            self.daemon_name, port, timeout, self.log_tail()))

    def run_until_interrupted(self) -> None:
        """For ``python -m``: wait until the daemon exits or Ctrl-C, then stop it."""
        print("Ctrl-C to stop.", flush=True)
        try:
            while self.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def log_tail(self, n: int = 40) -> str:
        path = os.path.join(self.base or "", "log", "stdout")
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class SambaServer(_Daemon):
    """Start with :meth:`start`, stop with :meth:`stop` (also a context manager)."""

    def __init__(self, variant: str = "default", extra_conf: Optional[dict] = None, *,
                 host: str = "127.0.0.1", ports: Optional[tuple] = None):
        """``host``: the loopback address to listen on (127.0.0.1: the ``lo`` interface;
        another 127/8 address, e.g. 127.0.0.2, is bound alone, so that a second server can
        use the same ``ports``, direct TCP and NetBIOS, as the first one)."""
        if variant not in VARIANTS:
            raise ValueError("unknown variant %r (one of %s)" % (variant, ", ".join(VARIANTS)))
        self.variant = variant
        self.extra_conf = extra_conf or {}
        self.host = host
        self.ports = ports
        self.proc: Optional[subprocess.Popen] = None
        self.base: Optional[str] = None
        self.info: Optional[ServerInfo] = None

    # -- lifecycle ---------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> ServerInfo:
        smbd = find_smbd()
        _ensure_unix_user(TEST_USER)
        self._make_base("smbpy-samba-")
        os.chmod(self.base, 0o755)
        share = os.path.join(self.base, "share")
        shadow = os.path.join(self.base, "shadow")
        uid = pwd.getpwnam(TEST_USER).pw_uid
        gid = pwd.getpwnam(TEST_USER).pw_gid
        for d in (share, shadow, os.path.join(self.base, ACL_SHARE)):
            os.makedirs(d)
            os.chown(d, uid, gid)
        guest_dir = os.path.join(self.base, "guestshare")
        os.makedirs(guest_dir)
        os.chmod(guest_dir, 0o777)
        self._make_snapshots(shadow, uid, gid)
        if self.ports is not None:
            port, nb_port = self.ports
        else:
            port, nb_port = _free_port(), _free_port()
            while nb_port == port:
                nb_port = _free_port()
        conf = os.path.join(self.base, "smb.conf")
        with open(conf, "w") as f:
            f.write(self._config(share, shadow, port, nb_port))
        self.conf = conf
        r = subprocess.run(["smbpasswd", "-c", conf, "-s", "-a", TEST_USER],
                           input=("%s\n%s\n" % (TEST_PASSWORD, TEST_PASSWORD)).encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise SambaUnavailable("smbpasswd failed: %s" % r.stdout.decode(errors="replace"))
        self._spawn([smbd, "-s", conf, "-F", "--no-process-group", "--debug-stdout", "-d", "1"])
        self._wait_port(port, timeout, self.host)
        self._wait_port(nb_port, timeout, self.host)
        self.info = ServerInfo(host=self.host, port=port, netbios_port=nb_port, user=TEST_USER,
                               password=TEST_PASSWORD, share=TEST_SHARE, server_name="SMBPYTEST",
                               variant=self.variant, shadow_share=SHADOW_SHARE, share_path=share,
                               extra={"shadow_path": shadow, "conf": conf,
                                      "acl_share": ACL_SHARE,
                                      "acl_path": os.path.join(self.base, ACL_SHARE)})
        return self.info


    # -- helpers -----------------------------------------------------------------
    @staticmethod
    def _make_snapshots(shadow: str, uid: int, gid: int) -> None:
        with open(os.path.join(shadow, "file.txt"), "w") as f:
            f.write("current\n")
        for i, snap in enumerate(SNAPSHOTS):
            d = os.path.join(shadow, ".snapshots", snap)
            os.makedirs(d)
            with open(os.path.join(d, "file.txt"), "w") as f:
                f.write("snapshot %d\n" % i)
        for root, dirs, files in os.walk(shadow):
            for n in dirs + files:
                os.chown(os.path.join(root, n), uid, gid)

    def _config(self, share: str, shadow: str, port: int, nb_port: int) -> str:
        b = self.base
        glob = {
            "workgroup": "WORKGROUP",
            "netbios name": "SMBPYTEST",
            "server role": "standalone server",
            "interfaces": "lo" if self.host == "127.0.0.1" else "%s/8" % self.host,
            "bind interfaces only": "yes",
            "smb ports": "%d %d" % (port, nb_port),
            "disable netbios": "yes",
            **self._state_paths(),
            "passdb backend": "tdbsam:%s" % os.path.join(b, "private", "passdb.tdb"),
            "load printers": "no",
            "printing": "bsd",
            "printcap name": "/dev/null",
            "disable spoolss": "yes",
            "map to guest": "never",
            "smb encrypt": "auto",
            "usershare path": "",
            "max log size": "1000",
            "log level": "1",
            "unix extensions": "no",
            "store dos attributes": "yes",
            "ea support": "yes",
        }
        glob.update(_COMMON)
        glob.update(VARIANTS[self.variant])
        guest = self.variant == "guest"
        glob.update(self.extra_conf)
        out = ["[global]"] + ["    %s = %s" % kv for kv in glob.items()]
        out += ["", "[%s]" % TEST_SHARE, "    path = %s" % share, "    read only = no",
                "    valid users = %s" % TEST_USER, "    comment = smbpy test share",
                "    create mask = 0644", "    directory mask = 0755"]
        if guest:  # a share anyone may use, as the guest account (nobody)
            out += ["", "[%s]" % GUEST_SHARE, "    path = %s" % os.path.join(b, "guestshare"),
                    "    read only = no", "    guest ok = yes", "    comment = guest share"]
        out += ["", "[%s]" % ACL_SHARE, "    path = %s" % os.path.join(b, ACL_SHARE),
                "    read only = no", "    valid users = %s" % TEST_USER,
                "    comment = NT ACLs in xattrs", "    vfs objects = acl_xattr",
                "    acl_xattr:ignore system acls = yes"]
        out += ["", "[%s]" % SHADOW_SHARE, "    path = %s" % shadow, "    read only = no",
                "    valid users = %s" % TEST_USER, "    comment = shadow copies",
                "    vfs objects = shadow_copy2", "    shadow:mountpoint = %s" % shadow,
                "    shadow:snapdir = .snapshots", "    shadow:format = @GMT-%Y.%m.%d-%H.%M.%S",
                "    shadow:sort = desc"]
        return "\n".join(out) + "\n"


# -- nmbd (NetBIOS name service) -----------------------------------------------------------

NMBD_ADDRESS = "127.0.0.2"  # the address nmbd registers its names with (see NmbdServer)


@dataclass
class NmbdInfo:
    host: str  # where to send queries (nmbd answers unicast queries on both loopback addresses)
    port: int  # the name service port (UDP; 137-style)
    netbios_name: str
    workgroup: str
    address: str  # the address nmbd registers for its names


def find_nmbd() -> str:
    for cand in (shutil.which("nmbd"), "/usr/sbin/nmbd", "/usr/local/samba/sbin/nmbd"):
        if cand and os.path.exists(cand):
            return cand
    raise SambaUnavailable("nmbd not found: install Samba (Debian/Ubuntu: 'apt-get install samba')")


def _free_udp_port(*addresses: str) -> int:
    """A UDP port that is free on every one of ``addresses`` (first address picks it)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((addresses[0], 0))
            port = s.getsockname()[1]
            others = []
            try:
                for a in addresses[1:]:
                    o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    others.append(o)
                    o.bind((a, port))
                return port
            except OSError:
                continue
            finally:
                for o in others:
                    o.close()
    raise SambaUnavailable("no free UDP port on %s" % ", ".join(addresses))


def _name_query_packet(trn_id: int, name: str, name_type: int = 0x20) -> bytes:
    """A unicast NAME QUERY REQUEST (RFC 1002 4.2.12), built here so the readiness probe does
    not depend on the library under test."""
    raw = name.upper().ljust(15)[:15].encode("ascii") + bytes([name_type])
    encoded = bytes(b for c in raw for b in (0x41 + (c >> 4), 0x41 + (c & 0x0F)))
    return (trn_id.to_bytes(2, "big") + b"\x01\x00" + b"\x00\x01\x00\x00\x00\x00\x00\x00"
            + b"\x20" + encoded + b"\x00" + b"\x00\x20\x00\x01")


class NmbdServer(_Daemon):
    """A private Samba ``nmbd`` answering NetBIOS name service queries on loopback only.

    nmbd refuses to serve only the loopback interface (it waits for a "non-loopback" IPv4
    interface, and counts only 127.0.0.1 as loopback), so its one interface is the fake
    ``127.0.0.2/8`` (Linux routes all of 127/8 to ``lo``; broadcasts go to 127.255.255.255).
    The name service listens on a free high UDP port (``nmbd -p``; the smb.conf ``nbt port``
    is ignored by nmbd) on 127.0.0.2, 127.255.255.255 and, through ``nbt client socket
    address``, 127.0.0.1. nmbd's datagram service port is hard-coded to 138; it is bound on
    those loopback addresses only, so nmbd needs root. Every state path is private.
    Start with :meth:`start`, stop with :meth:`stop` (also a context manager).
    """

    def __init__(self, netbios_name: str = "SMBPYTEST", workgroup: str = "WORKGROUP",
                 address: str = NMBD_ADDRESS):
        self.netbios_name = netbios_name
        self.workgroup = workgroup
        self.address = address
        self.proc: Optional[subprocess.Popen] = None
        self.base: Optional[str] = None
        self.info: Optional[NmbdInfo] = None

    def start(self, timeout: float = 30.0) -> NmbdInfo:
        nmbd = find_nmbd()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((self.address, 0))
        except OSError as e:
            raise SambaUnavailable("cannot bind to %s (needs Linux-style 127/8 loopback): %s"
                                   % (self.address, e))
        self._make_base("smbpy-nmbd-")
        port = _free_udp_port("127.0.0.1", self.address, "127.255.255.255")
        conf = os.path.join(self.base, "smb.conf")
        with open(conf, "w") as f:
            f.write(self._config())
        self.conf = conf
        self._spawn([nmbd, "-F", "--no-process-group", "--debug-stdout", "-d", "2", "-s", conf,
                     "-p", str(port)])
        self._wait_ready(port, timeout)
        self.info = NmbdInfo(host="127.0.0.1", port=port, netbios_name=self.netbios_name,
                             workgroup=self.workgroup, address=self.address)
        return self.info


    def _wait_ready(self, port: int, timeout: float) -> None:
        """Until nmbd answers a unicast name query for its own name (registration takes a
        few seconds: nmbd first broadcasts registration requests on the subnet)."""
        end = time.monotonic() + timeout
        trn_id = 0x4E4D
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            while time.monotonic() < end:
                if self.proc.poll() is not None:
                    raise SambaUnavailable("nmbd exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
                trn_id = (trn_id + 1) & 0xFFFF or 1
                s.sendto(_name_query_packet(trn_id, self.netbios_name), ("127.0.0.1", port))
                s.settimeout(0.5)
                try:
                    while True:
                        data = s.recv(2048)
                        if data[:2] == trn_id.to_bytes(2, "big") and data[2] & 0x80 and not data[3] & 0x0F:
                            return
                except socket.timeout:
                    pass
                except OSError:  # ICMP port unreachable: not listening yet
                    time.sleep(0.2)
        raise SambaUnavailable("nmbd did not answer name queries on 127.0.0.1:%d within %ss:\n%s"
                               % (port, timeout, self.log_tail()))

    def _config(self) -> str:
        glob = {
            "workgroup": self.workgroup,
            "netbios name": self.netbios_name,
            "server role": "standalone server",
            "interfaces": "%s/8" % self.address,
            "bind interfaces only": "yes",
            "nbt client socket address": "127.0.0.1",  # the catch-all socket: loopback only
            "disable netbios": "no",
            "local master": "no",
            "preferred master": "no",
            "domain master": "no",
            "os level": "0",
            "wins support": "no",
            "dns proxy": "no",
            "lm announce": "no",
            "name resolve order": "lmhosts",
            **self._state_paths(),
            "max log size": "1000",
            "load printers": "no",
            "printcap name": "/dev/null",
            "disable spoolss": "yes",
        }
        return "[global]\n" + "".join("    %s = %s\n" % kv for kv in glob.items())


def external_server() -> Optional[ServerInfo]:
    """The server named by SMB_TEST_* environment variables, or None."""
    host = os.environ.get("SMB_TEST_HOST")
    if not host:
        return None
    nb = os.environ.get("SMB_TEST_NETBIOS_PORT")
    return ServerInfo(
        host=host, port=int(os.environ.get("SMB_TEST_PORT", "445")),
        netbios_port=int(nb) if nb else None,
        user=os.environ.get("SMB_TEST_USER", ""), password=os.environ.get("SMB_TEST_PASSWORD", ""),
        share=os.environ.get("SMB_TEST_SHARE", "public"),
        server_name=os.environ.get("SMB_TEST_SERVER_NAME", "*SMBSERVER"),
        domain=os.environ.get("SMB_TEST_DOMAIN", ""),
        variant=os.environ.get("SMB_TEST_VARIANT", "default"),
        shadow_share=os.environ.get("SMB_TEST_SHADOW_SHARE") or None, external=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", default="default", choices=sorted(VARIANTS))
    args = ap.parse_args(argv)
    srv = SambaServer(args.variant)
    info = srv.start()
    print("variant:      %s" % info.variant)
    print("host:         %s" % info.host)
    print("direct port:  %d" % info.port)
    print("netbios port: %d" % info.netbios_port)
    print("server name:  %s" % info.server_name)
    print("user:         %s" % info.user)
    print("password:     %s" % info.password)
    print("share:        %s (path %s)" % (info.share, info.share_path))
    print("shadow share: %s" % info.shadow_share)
    print("config:       %s" % info.extra["conf"])
    srv.run_until_interrupted()
    return 0


if __name__ == "__main__":
    sys.exit(main())
