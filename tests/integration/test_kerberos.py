"""Kerberos against a real Active Directory KDC: a private Samba AD DC (tests/addc.py) started
once for this module, skipped (with the reason) only when port 88 is taken.

Connections with a password, a keytab and a ccache made by MIT ``kinit``; listing, reading and
writing on the signed share and the encrypted one, over SMB 3.1.1, 2.1 and SMB1; errors for a
wrong password, an unknown user, an unreachable KDC, a skewed clock, an unknown server name and
expired tickets; and the cross-check: Samba's ``smbclient -k`` authenticates with the service
ticket this client wrote to a ccache.
"""

import io
import os
import shutil
import subprocess
import time

import pytest

from smb import smb_structs
from smb.kerberos import ccache as kcc
from smb.kerberos import client as kclient
from smb.kerberos.errors import KDCUnreachable, KerberosError
from smb.SMBConnection import SMBConnection
from tests import addc
from tests.sambaserver import SambaUnavailable


@pytest.fixture(scope="module")
def dc():
    server = addc.ADDC()
    try:
        server.start()
    except (addc.PortTaken, addc.ToolsMissing) as e:
        server.stop()
        pytest.skip(str(e))
    except SambaUnavailable as e:
        server.stop()
        pytest.fail(str(e), pytrace=False)
    print("\nAD DC: provision %.1f s, start %.1f s" % (server.timings["provision"], server.timings["start"]))
    yield server
    server.stop()


@pytest.fixture
def info(dc, monkeypatch):
    # SMB2/3 unless a test asks for SMB1 (a test elsewhere may leave pysmb's switch flipped)
    monkeypatch.setattr(smb_structs, "SUPPORT_SMB2", True)
    return dc.info


def connect(info, user=None, password=None, smb1=False, **kw):
    kw.setdefault("kdc", "127.0.0.1")
    kw.setdefault("realm", info.realm)
    conn = SMBConnection(info.user if user is None else user, info.password if password is None else password,
                         "KRBCLIENT", info.server_name, is_direct_tcp=True, use_kerberos=True, **kw)
    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = not smb1
    try:
        assert conn.connect(info.host, info.port, timeout=30)
    finally:
        smb_structs.SUPPORT_SMB2 = old
    return conn


def exercise(conn, info, share, name):
    """Write, list, read back and delete a file; check it on the server's disk."""
    data = os.urandom(200_000)
    conn.storeFile(share, "/" + name, io.BytesIO(data))
    with open(os.path.join(info.share_paths[share], name), "rb") as f:
        assert f.read() == data
    assert name in [f.filename for f in conn.listPath(share, "/")]
    buf = io.BytesIO()
    conn.retrieveFile(share, "/" + name, buf)
    assert buf.getvalue() == data
    conn.deleteFiles(share, "/" + name)
    assert not os.path.exists(os.path.join(info.share_paths[share], name))


def test_password_signed_share_smb311(info):
    with connect(info) as conn:
        assert conn._engine.dialect == 0x0311
        exercise(conn, info, addc.SHARE, "pw-signed.bin")
        assert conn._engine.signing_active


def test_password_encrypted_share(info):
    with connect(info) as conn:
        exercise(conn, info, addc.ENC_SHARE, "pw-enc.bin")
        assert conn._trees[addc.ENC_SHARE.upper()].encrypt  # the share demands encryption: every message sealed


def test_whole_session_encrypted(info):
    with connect(info, require_encryption=True) as conn:
        exercise(conn, info, addc.SHARE, "pw-reqenc.bin")
        assert conn._engine.encryption_active


def test_smb1_extended_security(info):
    with connect(info, smb1=True) as conn:
        assert conn._engine.dialect == 0x0001 and conn._engine.signing
        exercise(conn, info, addc.SHARE, "smb1.bin")


@pytest.mark.parametrize("etype", [17, 23], ids=["aes128", "rc4"])
def test_other_encryption_types(info, etype, tmp_path):
    conn = SMBConnection(info.user, info.password, "KRBCLIENT", info.server_name, is_direct_tcp=True,
                         use_kerberos=True, kdc="127.0.0.1", realm=info.realm, ccache=str(tmp_path / "cc"))
    conn._kerberos.etypes = (etype,)
    assert conn.connect(info.host, info.port, timeout=30)
    with conn:
        exercise(conn, info, addc.ENC_SHARE, "etype%d.bin" % etype)
    creds = kcc.CCache.load(str(tmp_path / "cc")).credentials
    assert {c.key.etype for c in creds} == {etype}


def test_keytab_and_ticket_reuse(info, tmp_path):
    cc = str(tmp_path / "ccache")
    with connect(info, password="", keytab=info.keytab, ccache=cc) as conn:
        exercise(conn, info, addc.SHARE, "keytab.bin")
    servers = [str(c.server) for c in kcc.CCache.load(cc).credentials]
    assert servers == ["krbtgt/TEST.LAN@TEST.LAN", "cifs/%s@TEST.LAN" % info.server_name]
    # the next connection needs no KDC at all: the service ticket comes from the ccache
    with connect(info, password="", ccache=cc, kdc="127.0.0.1:1") as conn:
        assert conn.listPath(addc.SHARE, "/")


def test_kinit_ccache_via_krb5ccname_and_krb5_conf(info, dc, tmp_path, monkeypatch):
    if shutil.which("kinit") is None:
        pytest.skip("MIT kinit is not installed (apt-get install krb5-user)")
    cc = str(tmp_path / "kinit.cc")
    env = dict(dc.env(), KRB5CCNAME="FILE:" + cc)
    r = subprocess.run(["kinit", "%s@%s" % (info.user, info.realm)], input=info.password + "\n",
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    monkeypatch.setenv("KRB5CCNAME", "FILE:" + cc)
    monkeypatch.setenv("KRB5_CONFIG", info.krb5_conf)  # the KDC and realm come from krb5.conf
    conn = SMBConnection(info.user, "", "KRBCLIENT", info.server_name, is_direct_tcp=True, use_kerberos=True)
    assert conn.connect(info.host, info.port, timeout=30)
    with conn:
        exercise(conn, info, addc.SHARE, "kinit.bin")
    r = subprocess.run(["klist", "-c", cc], capture_output=True, text=True, env=env, timeout=30)
    assert "cifs/%s@TEST.LAN" % info.server_name in r.stdout  # written back for the next connection


def test_smbclient_uses_the_ticket_we_wrote(info, dc, tmp_path):
    cc = str(tmp_path / "ours.cc")
    with connect(info, ccache=cc) as conn:
        conn.storeFile(addc.SHARE, "/crosscheck.txt", io.BytesIO(b"written by smbclient-py\n"))
    cache = kcc.CCache.load(cc)
    cache.credentials = [c for c in cache.credentials if c.server.components[0] == "cifs"]
    cache.save(cc)  # service ticket only: smbclient cannot get another one
    r = subprocess.run(["smbclient", "//%s/%s" % (info.server_name, addc.SHARE), "-I", info.host,
                        "-p", str(info.port), "--use-kerberos=required", "-N", "-c", "get crosscheck.txt -"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
                       env=dict(dc.env(), KRB5CCNAME="FILE:" + cc))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "written by smbclient-py" in r.stdout


def _fails(info, match, code=None, exc=KerberosError, **kw):
    start = time.monotonic()
    with pytest.raises(exc, match=match) as e:
        connect(info, **kw)
    assert time.monotonic() - start < 15  # no hang
    if code is not None:
        assert e.value.code == code
    return e.value


def test_wrong_password(info):
    _fails(info, "wrong password", 24, password="not-the-password")


def test_unknown_user(info):
    _fails(info, "no such principal", 6, user="nobody-here")


def test_unreachable_kdc(info):
    err = _fails(info, "no KDC reachable", exc=KDCUnreachable, kdc="127.0.0.1:1")
    assert "connection refused" in str(err)


def test_unreachable_kdc_falls_back_to_ntlm_when_asked(info):
    with connect(info, kdc="127.0.0.1:1", ntlm_fallback=True, domain=info.domain) as conn:
        exercise(conn, info, addc.SHARE, "fallback.bin")


def test_clock_skew(info, monkeypatch):
    monkeypatch.setattr(kclient, "clock", lambda: time.time() + 600)
    _fails(info, "clock skew", 37)


def test_clock_skew_at_the_server(info, tmp_path, monkeypatch):
    cc = str(tmp_path / "skew.cc")
    connect(info, ccache=cc).close()  # a valid service ticket: the KDC is not asked again
    monkeypatch.setattr(kclient, "clock", lambda: time.time() + 600)
    _fails(info, "clock skew", 37, password="", ccache=cc)


def test_unknown_server_name(info):
    _fails(info, "no such service principal", 7, service_principal="cifs/no-such-host")


def test_expired_tickets(info, tmp_path):
    cc = str(tmp_path / "old.cc")
    connect(info, ccache=cc).close()
    cache = kcc.CCache.load(cc)
    for cred in cache.credentials:
        cred.endtime = int(time.time()) - 3600
    cache.save(cc)
    _fails(info, "ticket expired", 32, password="", ccache=cc)


def test_smbhandler_url_with_kerberos(info):
    """``smb://...?auth=kerberos&realm=&kdc=``: urllib downloads and uploads with a ticket."""
    import urllib.request
    from urllib.parse import quote

    from smb.SMBHandler import SMBHandler

    data = os.urandom(70_000)
    with open(os.path.join(info.share_paths[addc.SHARE], "url-krb.bin"), "wb") as f:
        f.write(data)
    url = "smb://%s:%s@%s,%s:%d/%s/url-krb.bin?auth=kerberos&kdc=127.0.0.1&realm=%s" % (
        info.user, quote(info.password, safe=""), info.server_name, info.host, info.port, addc.SHARE,
        info.realm)
    opener = urllib.request.build_opener(SMBHandler)
    with opener.open(url) as fh:
        assert fh.read() == data
    opener.open(url.replace("url-krb.bin", "url-krb-up.bin"), data=data[::-1]).close()
    with open(os.path.join(info.share_paths[addc.SHARE], "url-krb-up.bin"), "rb") as f:
        assert f.read() == data[::-1]


def test_cli_with_kerberos_keytab(info, tmp_path):
    """``smbpy -k --keytab --realm --kdc``: no password anywhere, the keytab's keys log on."""
    import sys

    with open(os.path.join(info.share_paths[addc.SHARE], "cli-krb.txt"), "wb") as f:
        f.write(b"kerberos from the command line\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SMB_PASSWORD", "KRB5CCNAME")}
    env["KRB5CCNAME"] = "FILE:" + str(tmp_path / "none")  # no cache to lean on
    url = "smb://%s@%s:%d/%s/cli-krb.txt" % (info.user, info.host, info.port, addc.SHARE)
    base = [sys.executable, "-m", "smb"]
    opts = ["-k", "--keytab", info.keytab, "--realm", info.realm, "--kdc", "127.0.0.1",
            "--server-name", info.server_name]
    r = subprocess.run(base + ["cat"] + opts + [url], env=env, capture_output=True, timeout=60,
                       start_new_session=True)
    assert (r.returncode, r.stdout) == (0, b"kerberos from the command line\n"), r.stderr
    r = subprocess.run(base + ["cat", "--kdc", "127.0.0.1", url], env=env, capture_output=True,
                       timeout=60, start_new_session=True)
    assert r.returncode != 0 and b"need -k" in r.stderr
