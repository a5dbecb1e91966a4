"""smb:// URLs through urllib, against the private Samba."""

import io
import os
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from smb.SMBHandler import SMBHandler, parse_smb_url

pytestmark = pytest.mark.integration


def _url(info, path, port=None, name=""):
    port = port or info.port
    host = ("%s," % name if name else "") + "%s:%d" % (info.host, port)
    return "smb://%s:%s@%s/%s/%s" % (quote(info.user), quote(info.password), host, info.share,
                                     quote(path))


def test_download_and_upload(samba):
    opener = urllib.request.build_opener(SMBHandler)
    data = os.urandom(300_000)
    with opener.open(_url(samba, "handler-up.bin"), data=io.BytesIO(data)) as fh:
        assert fh.read() == b""
    with open(os.path.join(samba.share_path, "handler-up.bin"), "rb") as f:
        assert f.read() == data
    with opener.open(_url(samba, "handler-up.bin")) as fh:
        assert fh.read() == data
        assert fh.headers["Content-length"] == str(len(data))
    # NetBIOS port, with the server's name given before the host
    with opener.open(_url(samba, "handler-up.bin", samba.netbios_port, samba.server_name)) as fh:
        assert fh.read() == data
    os.unlink(os.path.join(samba.share_path, "handler-up.bin"))


def test_missing_file_and_bad_password(samba):
    opener = urllib.request.build_opener(SMBHandler)
    with pytest.raises(urllib.error.URLError):
        opener.open(_url(samba, "does-not-exist.txt"))
    bad = "smb://%s:wrong@%s:%d/%s/x" % (samba.user, samba.host, samba.port, samba.share)
    with pytest.raises(urllib.error.URLError):
        opener.open(bad)


def test_parse_smb_url():
    p = parse_smb_url("smb://DOM;bob:p%40ss@SRV,10.0.0.1:1445/share/a/b%20c.txt")
    assert p == {"domain": "DOM", "user": "bob", "password": "p@ss", "server_name": "SRV",
                 "host": "10.0.0.1", "port": 1445, "share": "share", "path": "/a/b c.txt",
                 "kerberos": {}}
    p = parse_smb_url("smb://[::1]:445/s/f")
    assert (p["host"], p["port"], p["user"], p["server_name"]) == ("::1", 445, "", "")


def test_kerberos_parameters_in_the_url():
    p = parse_smb_url("smb://bob@fs1:445/s/f?auth=kerberos&realm=EX.ORG&kdc=10.0.0.2&ccache=/tmp/c"
                      "&keytab=/k&spn=cifs/fs1.ex.org&ntlm_fallback=1")
    assert p["kerberos"] == {"use_kerberos": True, "ntlm_fallback": True, "realm": "EX.ORG",
                             "kdc": "10.0.0.2", "ccache": "/tmp/c", "keytab": "/k",
                             "service_principal": "cifs/fs1.ex.org"}
    assert p["path"] == "/f"
    assert parse_smb_url("smb://h/s/f?auth=ntlm")["kerberos"] == {}
    for bad in ("smb://h/s/f?auth=basic", "smb://h/s/f?realm=X", "smb://h/s/f?auth=kerberos&nope=1",
                "smb://u:secret@h/s/f?auth=kerberos&&=="):
        with pytest.raises(urllib.error.URLError) as e:
            parse_smb_url(bad)
        assert "secret" not in str(e.value)
