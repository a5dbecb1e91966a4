"""Authentication through SMBConnection.connect() against the private Samba (NTLM over SPNEGO)."""

import pytest

from smb import smb_structs
from smb.SMBConnection import SMBConnection
from smb.errors import UnsupportedFeature

pytestmark = pytest.mark.integration


def _connect(info, user=None, password=None, v2=True, direct=True, smb1=False, **kwargs):
    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = not smb1
    try:
        c = SMBConnection(info.user if user is None else user,
                          info.password if password is None else password,
                          "AUTHTEST", info.server_name, use_ntlm_v2=v2, is_direct_tcp=direct, **kwargs)
        ok = c.connect(info.host, info.port if direct else info.netbios_port, timeout=30)
    finally:
        smb_structs.SUPPORT_SMB2 = old
    return c, ok


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "netbios"])
def test_ntlmv2_right_wrong_unknown(samba, direct):
    c, ok = _connect(samba, direct=direct)
    assert ok is True
    assert "public" in [s.name for s in c.listShares()]
    c.close()
    assert _connect(samba, password="not-the-password", direct=direct)[1] is False
    assert _connect(samba, user="nobody-here", direct=direct)[1] is False


def test_password_callable(samba):
    c, ok = _connect(samba, password=lambda: samba.password)
    assert ok is True
    c.close()


@pytest.mark.parametrize("smb1", [False, True], ids=["smb2", "smb1"])
def test_ntlmv1_where_permitted(samba_factory, smb1):
    info = samba_factory("ntlmv1")
    c, ok = _connect(info, v2=False, smb1=smb1)
    assert ok is True and c.isUsingSMB2 is (not smb1)
    assert c.listPath(info.share, "/")
    c.close()
    assert _connect(info, password="wrong", v2=False, smb1=smb1)[1] is False


def test_ntlmv1_refused_by_default_server(samba):
    # Samba's default "ntlm auth = ntlmv2-only" refuses NTLMv1 responses
    assert _connect(samba, v2=False)[1] is False


@pytest.mark.parametrize("smb1", [False, True], ids=["smb2", "smb1"])
def test_anonymous_null_session_lists_shares(samba, smb1):
    c, ok = _connect(samba, user="", password="", smb1=smb1)
    assert ok is True
    names = [s.name for s in c.listShares()]
    assert "IPC$" in names and "public" in names
    c.close()


@pytest.mark.parametrize("smb1", [False, True], ids=["smb2", "smb1"])
def test_guest_login(samba_factory, smb1):
    info = samba_factory("guest")
    if info.external:
        pytest.skip("needs the private Samba's guest share")
    import io
    import os

    from tests.sambaserver import GUEST_SHARE

    # refused by default: the caller named a user, the server mapped it to guest
    c, ok = _connect(info, user="some-unknown-user", password="whatever", smb1=smb1)
    assert ok is False and c.security is None
    with pytest.raises(Exception):
        c.storeFile(GUEST_SHARE, "/refused.txt", io.BytesIO(b"must not land"))
    assert not os.path.exists(os.path.join(info.extra["conf"].rsplit("/", 1)[0], "guestshare",
                                           "refused.txt"))
    # never when signing is required, even with the opt-in
    try:
        c, ok = _connect(info, user="some-unknown-user", password="whatever", smb1=smb1,
                         allow_guest=True, require_signing=True)
        assert ok is False
    except UnsupportedFeature as e:  # Samba's SMB1 does not offer signing by default
        assert smb1 and "signing" in str(e)
    c, ok = _connect(info, user="some-unknown-user", password="whatever", smb1=smb1, allow_guest=True)
    assert ok is True  # the caller accepted the guest mapping
    assert c.security.is_guest and not c.security.signed
    if not smb1:  # what was derived and made during the AUTHENTICATE's wait is dropped
        e = c._engine
        assert e.session.signer is None and e.session._ahead is None
        assert e.conn.encryption is None or e.conn.encryption._ready is None
    c.storeFile(GUEST_SHARE, "/from-guest.txt", io.BytesIO(b"guest data"))
    with open(os.path.join(info.extra["conf"].rsplit("/", 1)[0], "guestshare", "from-guest.txt"), "rb") as f:
        assert f.read() == b"guest data"
    assert "from-guest.txt" in [f.filename for f in c.listPath(GUEST_SHARE, "/")]
    c.deleteFiles(GUEST_SHARE, "/from-guest.txt")
    c.close()
    # the real user still logs on as itself and sees its own share
    c, ok = _connect(info, smb1=smb1)
    assert ok is True and c.listPath(info.share, "/")
    c.close()
