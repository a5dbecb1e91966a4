"""Demo of the main job: connect, list shares, upload, list, download and verify.

    python -m examples.demo                       # starts a private Samba on loopback
    python -m examples.demo --host 192.0.2.10 --user alice --password secret --share public

With no --host, the private Samba of the test suite (tests/sambaserver.py) is started and
stopped around the demo (needs smbd installed and root, as in CI).
"""

import argparse
import hashlib
import io
import os
import sys
import time

from smb.SMBConnection import SMBConnection


def run(host, port, user, password, share, server_name, direct_tcp):
    step = lambda msg: print("-- " + msg, flush=True)  # noqa: E731
    conn = SMBConnection(user, password, "DEMOCLIENT", server_name, is_direct_tcp=direct_tcp)
    step("connecting to %s:%d (%s)" % (host, port, "direct TCP" if direct_tcp else "NetBIOS"))
    if not conn.connect(host, port, timeout=30):
        print("authentication failed", file=sys.stderr)
        return 1
    with conn:
        step("connected, dialect 0x%04X (%s)" % (conn.dialect, "SMB2/3" if conn.isUsingSMB2 else "SMB1"))
        step("shares:")
        for dev in conn.listShares():
            print("     %-12s type=%d special=%s  %s" % (dev.name, dev.type, dev.isSpecial, dev.comments))
        payload = os.urandom(3 * 1024 * 1024 + 7)
        folder = "demo-%d" % int(time.time() * 1000)
        conn.createDirectory(share, folder)
        remote = "%s/hello.bin" % folder
        t = time.perf_counter()
        n = conn.storeFile(share, remote, io.BytesIO(payload))
        step("uploaded %s: %d bytes in %.3fs" % (remote, n, time.perf_counter() - t))
        step("listing %s:" % folder)
        for f in conn.listPath(share, folder):
            print("     %-12s %9d bytes dir=%s" % (f.filename, f.file_size, f.isDirectory))
        out = io.BytesIO()
        t = time.perf_counter()
        attrs, n = conn.retrieveFile(share, remote, out)
        step("downloaded %d bytes in %.3fs (attributes 0x%x)" % (n, time.perf_counter() - t, attrs))
        same = hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(payload).digest()
        step("verified: contents %s" % ("identical" if same else "DIFFER"))
        conn.deleteFiles(share, remote)
        conn.deleteDirectory(share, folder)
        step("cleaned up; echo says %r" % conn.echo(b"bye"))
        return 0 if same else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host")
    ap.add_argument("--port", type=int)
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--share", default="public")
    ap.add_argument("--server-name", default="*SMBSERVER")
    ap.add_argument("--netbios", action="store_true", help="use NetBIOS session service (port 139)")
    args = ap.parse_args(argv)
    if args.host:
        port = args.port or (139 if args.netbios else 445)
        return run(args.host, port, args.user, args.password, args.share, args.server_name,
                   not args.netbios)
    from tests.sambaserver import SambaServer

    print("-- no --host given: starting a private Samba on loopback", flush=True)
    with SambaServer("default") as info:
        return run(info.host, info.netbios_port if args.netbios else info.port, info.user,
                   info.password, info.share, info.server_name, not args.netbios)


if __name__ == "__main__":
    sys.exit(main())
