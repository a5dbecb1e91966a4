"""Fixtures for the facade tests: connected ``SMBConnection`` objects per profile.

A profile is (variant, transport, SMB1 forced?, extra constructor keywords). Tests that take
``conn`` run once per profile in ``PROFILES``; ``workdir`` is a fresh folder on the share.
"""

import itertools
import os
import pwd

import pytest

from smb import smb_structs
from smb.SMBConnection import SMBConnection
from tests import sambaserver

# (id, variant, direct_tcp, smb1, kwargs, expected dialect or None); kwargs go to the
# SMBConnection constructor, except extended_security (smb_structs.SUPPORT_EXTENDED_SECURITY)
PROFILES = [
    ("default-direct", "default", True, False, {}, 0x0311),
    ("default-netbios", "default", False, False, {}, 0x0311),
    ("smb2only-direct", "smb2only", True, False, {}, 0x0210),
    ("smb2only-netbios", "smb2only", False, False, {}, 0x0210),
    ("smb3only-direct", "smb3only", True, False, {}, 0x0311),
    ("smb3only-netbios", "smb3only", False, False, {}, 0x0311),
    ("signing-direct", "signing", True, False, {}, 0x0311),
    ("signing-netbios", "signing", False, False, {}, 0x0311),
    ("signing21-direct", "signing", True, False, {"sign_options": 1}, 0x0311),
    ("encrypt-direct", "encrypt", True, False, {}, 0x0311),
    ("encrypt-netbios", "encrypt", False, False, {}, 0x0311),
    ("clientenc-direct", "default", True, False, {"require_encryption": True}, 0x0311),
    ("clientenc-netbios", "default", False, False, {"require_encryption": True}, 0x0311),
    ("smb1only-direct", "smb1only", True, True, {}, 0x0001),
    ("smb1only-netbios", "smb1only", False, True, {}, 0x0001),
    ("default-smb1-direct", "default", True, True, {}, 0x0001),
    ("default-smb1-netbios", "default", False, True, {}, 0x0001),
    ("signing-smb1-direct", "signing", True, True, {}, 0x0001),
    ("signing-smb1-netbios", "signing", False, True, {}, 0x0001),
    ("ntlmv1-smb1-direct", "ntlmv1", True, True, {"use_ntlm_v2": False}, 0x0001),
    ("ntlmv1-smb1-nonext-netbios", "ntlmv1", False, True,
     {"use_ntlm_v2": False, "extended_security": False}, 0x0001),
    ("ntlmv2-smb1-nonext-direct", "ntlmv1", True, True, {"extended_security": False}, 0x0001),
    ("ntlmv1-smb2-direct", "ntlmv1", True, False, {"use_ntlm_v2": False}, 0x0311),
]

_counter = itertools.count()


def make_connection(info, direct_tcp=True, smb1=False, extended_security=True, **kwargs):
    old = smb_structs.SUPPORT_SMB2, smb_structs.SUPPORT_EXTENDED_SECURITY
    smb_structs.SUPPORT_SMB2 = not smb1
    smb_structs.SUPPORT_EXTENDED_SECURITY = extended_security
    try:
        conn = SMBConnection(info.user, kwargs.pop("password", info.password), "TESTCLIENT",
                             info.server_name, domain=info.domain, is_direct_tcp=direct_tcp, **kwargs)
        port = info.port if direct_tcp else info.netbios_port
        if port is None:
            pytest.skip("server has no NetBIOS port configured")
        ok = conn.connect(info.host, port, timeout=30)
    finally:
        smb_structs.SUPPORT_SMB2, smb_structs.SUPPORT_EXTENDED_SECURITY = old
    return conn, ok


@pytest.fixture(params=PROFILES, ids=[p[0] for p in PROFILES])
def profile(request):
    return request.param


@pytest.fixture
def server(profile, samba_factory):
    return samba_factory(profile[1])


@pytest.fixture
def conn(profile, server):
    _, _, direct, smb1, kwargs, dialect = profile
    c, ok = make_connection(server, direct, smb1, **dict(kwargs))
    assert ok, "authentication failed"
    if dialect is not None and not server.external:
        assert c.dialect == dialect
    yield c
    c.close()


@pytest.fixture
def share(server):
    return server.share


@pytest.fixture
def workdir(conn, server):
    """A fresh, empty folder on the share (relative path)."""
    name = "t%d-%d" % (os.getpid(), next(_counter))
    conn.createDirectory(server.share, name)
    return name


class Disk:
    """The share's files as the server stores them (private Samba only)."""

    def __init__(self, info):
        self.root = info.share_path
        pw = pwd.getpwnam(sambaserver.TEST_USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def path(self, rel):
        return os.path.join(self.root, *rel.replace("\\", "/").split("/"))

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read()

    def write(self, rel, data):
        p = self.path(rel)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, self.uid, self.gid)

    def exists(self, rel):
        return os.path.exists(self.path(rel))


@pytest.fixture
def disk(server):
    if server.share_path is None:
        pytest.skip("needs the private Samba (checks files on the server's disk)")
    return Disk(server)
