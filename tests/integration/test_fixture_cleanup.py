"""The private Samba fixture leaves no process behind (issue 10, finding 12).

smbd starts ``samba-dcerpcd`` and ``rpcd_*`` workers for IPC$ pipes in their own session,
so killing smbd's process group does not stop them: :meth:`SambaServer.stop` finds them by
their ``--configfile=`` argument and stops them by pid.
"""

import os

from smb.SMBConnection import SMBConnection
from tests import sambaserver


def _processes_mentioning(path: str) -> list:
    needle = path.encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if needle in f.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


def test_stop_leaves_no_rpc_helpers():
    srv = sambaserver.SambaServer("default")
    info = srv.start()
    base = srv.base
    try:
        conn = SMBConnection(info.user, info.password, "CLEANUP", info.server_name,
                             is_direct_tcp=True)
        assert conn.connect(info.host, info.port, timeout=30)
        with conn:
            names = {s.name for s in conn.listShares()}  # IPC$ srvsvc: starts samba-dcerpcd
        assert info.share in names
        assert srv.helper_pids(), "listShares should have started samba-dcerpcd/rpcd_* helpers"
    finally:
        srv.stop()
    assert _processes_mentioning(base) == []
