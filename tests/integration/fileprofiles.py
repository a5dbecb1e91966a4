"""Fixtures of the file-object and lock tests (test_file_objects.py, test_locks.py): one
connection per profile -- SMB 3.1.1, SMB 3.1.1 on a share that requires encryption, and SMB1
(NT LM 0.12) -- a fresh folder on the share, and the share's files on the server's disk."""

import itertools
import os

import pytest

from tests.integration.conftest import Disk, make_connection

# (id, server variant, SMB1 forced?, expected dialect)
FILE_PROFILES = [
    ("smb311", "default", False, 0x0311),
    ("smb311-encrypted", "encrypt", False, 0x0311),
    ("smb1", "default", True, 0x0001),
]

_counter = itertools.count()


@pytest.fixture(params=FILE_PROFILES, ids=[p[0] for p in FILE_PROFILES])
def fprofile(request):
    return request.param


@pytest.fixture
def fserver(fprofile, samba_factory):
    info = samba_factory(fprofile[1])
    if info.share_path is None:
        pytest.skip("needs the private Samba (checks files on the server's disk)")
    return info


def connect(info, profile):
    c, ok = make_connection(info, True, profile[2])
    assert ok, "authentication failed"
    assert c.dialect == profile[3]
    if profile[1] == "encrypt":
        assert c.security.encrypted
    return c


@pytest.fixture
def fconn(fprofile, fserver):
    c = connect(fserver, fprofile)
    yield c
    c.close()


@pytest.fixture
def fconn2(fprofile, fserver):
    """A second, independent connection (another smbd process, another lock owner)."""
    c = connect(fserver, fprofile)
    yield c
    c.close()


@pytest.fixture
def fdir(fconn, fserver):
    name = "fo%d-%d" % (os.getpid(), next(_counter))
    fconn.createDirectory(fserver.share, name)
    return name


@pytest.fixture
def fdisk(fserver):
    return Disk(fserver)
