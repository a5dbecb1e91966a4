"""retrieveFile/storeFile stream: a 1 GiB transfer raises peak RSS by less than 32 MiB.

Runs the transfer in a fresh interpreter so that the peak RSS (ru_maxrss) is its own.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

GIB = 1 << 30

CLIENT = r'''
import json, resource, sys
from smb.SMBConnection import SMBConnection
host, port, user, pw, share, direct = sys.argv[1:7]
class Sink:
    n = 0
    def write(self, b):
        self.n += len(b)
class Source:
    def __init__(self, size):
        self.left = size
        self.block = b"z" * (1 << 20)
    def read(self, n):
        n = min(n, self.left, len(self.block))
        self.left -= n
        return self.block[:n]
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
c = SMBConnection(user, pw, "MEMTEST", "SMBPYTEST", is_direct_tcp=direct == "1")
assert c.connect(host, int(port))
# warm-up: code paths, buffers of ordinary size
s = Sink(); c.retrieveFile(share, "warm.bin", s); c.storeFile(share, "warm2.bin", Source(4 << 20))
base = peak()
s = Sink(); attrs, n = c.retrieveFile(share, "huge.bin", s, timeout=600)
after_get = peak()
stored = c.storeFile(share, "huge-up.bin", Source(%d), timeout=600)
after_put = peak()
c.close()
print(json.dumps({"base": base, "get": after_get, "put": after_put, "n": n, "sink": s.n, "stored": stored}))
''' % GIB


def test_one_gib_transfer_has_bounded_memory(samba, tmp_path):
    _one_gib_each_way(samba)


@pytest.mark.parametrize("variant", ["signing", "encrypt"])
def test_signed_or_encrypted_gib_has_bounded_memory(samba_factory, variant):
    """The same on a signing-required and an encryption-required server, where READs and
    WRITEs are PROTECTED_CHUNK (2 MiB) long."""
    _one_gib_each_way(samba_factory(variant))


def _one_gib_each_way(samba):
    share = samba.share_path
    if share is None:
        pytest.skip("needs the private Samba")
    with open(os.path.join(share, "huge.bin"), "wb") as f:
        f.truncate(GIB)
    with open(os.path.join(share, "warm.bin"), "wb") as f:
        f.write(os.urandom(4 << 20))
    try:
        r = subprocess.run([sys.executable, "-c", CLIENT, samba.host, str(samba.port), samba.user,
                            samba.password, samba.share, "1"], capture_output=True, text=True,
                           timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        res = json.loads(r.stdout.strip().splitlines()[-1])
        assert res["n"] == GIB and res["sink"] == GIB and res["stored"] == GIB
        assert os.path.getsize(os.path.join(share, "huge-up.bin")) == GIB
        grown_kib = res["put"] - res["base"]
        assert grown_kib < 32 * 1024, "peak RSS grew by %d KiB during 2 GiB of transfers" % grown_kib
    finally:
        for n in ("huge.bin", "huge-up.bin", "warm.bin", "warm2.bin"):
            try:
                os.unlink(os.path.join(share, n))
            except OSError:
                pass
