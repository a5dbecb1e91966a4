"""Kerberos client plumbing without a KDC: principals, krb5.conf, ccache and keytab files, the
choice of service names, and the KDC transport against deliberately odd local servers."""

import socket
import struct
import threading
import time

import pytest

from smb.kerberos import asn1, ccache, client, config, crypto
from smb.kerberos.creds import Credential, Principal
from smb.kerberos.errors import KDCUnreachable, KerberosError
from smb.kerberos.kdc import KDCClient


def test_principal_parse_and_format():
    p = Principal.parse("cifs/fs1.example.com@EXAMPLE.COM")
    assert p.components == ("cifs", "fs1.example.com") and p.realm == "EXAMPLE.COM"
    assert str(p) == "cifs/fs1.example.com@EXAMPLE.COM"
    q = Principal.parse(r"odd\/name\@x", "R")
    assert q.components == ("odd/name@x",) and q.realm == "R"
    assert str(q) == r"odd\/name\@x@R"
    assert Principal.parse("Alice@example.com").same_name(Principal(("alice",), "EXAMPLE.COM"))


def test_krb5_conf(tmp_path):
    inc = tmp_path / "extra.conf"
    inc.write_text("[realms]\n OTHER.ORG = {\n  kdc = tcp/kdc.other.org:8888\n }\n")
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        "# comment\n[libdefaults]\n default_realm = EXAMPLE.COM\n udp_preference_limit = 1\n"
        "include %s\n[realms]\n EXAMPLE.COM = {\n  kdc = dc1.example.com\n  kdc = [2001:db8::1]:750\n"
        "  admin_server = dc1\n  auth_to_local = {\n   x = y\n  }\n }\n[domain_realm]\n .example.com = EXAMPLE.COM\n"
        % inc)
    cfg = config.load(str(conf))
    assert cfg.default_realm == "EXAMPLE.COM" and cfg.udp_preference_limit == 1
    assert cfg.kdcs("example.com") == [("", "dc1.example.com", 88), ("", "2001:db8::1", 750)]
    assert cfg.kdcs("OTHER.ORG") == [("tcp", "kdc.other.org", 8888)]
    assert cfg.kdcs("NOWHERE") == []
    assert config.load(str(tmp_path / "missing")).default_realm == ""


def _cred(server="cifs/fs1", endtime=None):
    key = crypto.get_etype(18).random_key()
    return Credential(Principal(("alice",), "EXAMPLE.COM"), Principal.parse(server, "EXAMPLE.COM", 2), key,
                      b"\x61\x03ticket", authtime=1000, starttime=1000,
                      endtime=endtime or int(time.time()) + 3600, renew_till=0, flags=0x40E10000)


def test_ccache_round_trip_and_lookup(tmp_path, monkeypatch):
    cache = ccache.CCache(Principal(("alice",), "EXAMPLE.COM"))
    cache.add(_cred("krbtgt/EXAMPLE.COM"))
    cache.add(_cred("cifs/fs1"))
    cache.add(_cred("cifs/old", endtime=int(time.time()) - 10))
    path = tmp_path / "cc"
    cache.save(str(path))
    assert (path.stat().st_mode & 0o777) == 0o600
    back = ccache.CCache.load(str(path))
    assert back.principal.same_name(cache.principal)
    assert [(str(c.server), c.key, c.ticket, c.flags) for c in back.credentials] == \
        [(str(c.server), c.key, c.ticket, c.flags) for c in cache.credentials]
    assert back.find(Principal.parse("cifs/FS1@example.com")) is not None
    assert back.find(Principal.parse("cifs/old@EXAMPLE.COM")) is None  # expired
    monkeypatch.setenv("KRB5CCNAME", "FILE:" + str(path))
    assert ccache.ccache_path() == str(path)
    with pytest.raises(KerberosError, match="KEYRING"):
        ccache.ccache_path("KEYRING:persistent:0")
    with pytest.raises(KerberosError, match="truncated or corrupt"):
        ccache.CCache.parse(path.read_bytes()[:60])
    with pytest.raises(KerberosError, match="version"):
        ccache.CCache.parse(b"\x05\x01\x00\x00")


def _keytab_entry(comps, realm, kvno, etype, key):
    body = struct.pack(">H", len(comps)) + struct.pack(">H", len(realm)) + realm.encode()
    body += b"".join(struct.pack(">H", len(c)) + c.encode() for c in comps)
    body += struct.pack(">IIBHH", 1, 0, kvno & 0xFF, etype, len(key)) + key + struct.pack(">I", kvno)
    return struct.pack(">i", len(body)) + body


def test_keytab(tmp_path):
    data = b"\x05\x02" + _keytab_entry(["alice"], "EXAMPLE.COM", 2, 18, b"A" * 32)
    data += struct.pack(">i", -12) + bytes(12)  # a hole
    data += _keytab_entry(["alice"], "EXAMPLE.COM", 3, 18, b"B" * 32)
    data += _keytab_entry(["alice"], "EXAMPLE.COM", 3, 23, b"C" * 16)
    data += _keytab_entry(["bob"], "EXAMPLE.COM", 9, 17, b"D" * 16)
    path = tmp_path / "kt"
    path.write_bytes(data)
    keys = ccache.load_keytab("FILE:" + str(path), Principal(("alice",), "EXAMPLE.COM"))
    assert keys == {18: crypto.Key(18, b"B" * 32), 23: crypto.Key(23, b"C" * 16)}
    with pytest.raises(KerberosError, match="cannot read the keytab"):
        ccache.load_keytab(str(tmp_path / "none"), Principal(("alice",), "EXAMPLE.COM"))


def _request(username="alice", remote="FS1", host="10.0.0.5", **opts):
    return client.Request(username, "pw", "EXAMPLE", remote, client.KerberosOptions(host=host, **opts))


def test_client_principal_and_service_names():
    conf = config.KrbConfig(default_realm="EXAMPLE.COM")
    assert str(client.client_principal(_request(), conf)) == "alice@EXAMPLE.COM"
    assert str(client.client_principal(_request("EXAMPLE\\alice", realm="corp.example.com"), conf)) == \
        "alice@CORP.EXAMPLE.COM"
    assert str(client.client_principal(_request("bob@OTHER.ORG"), conf)) == "bob@OTHER.ORG"
    names = [str(p) for p in client.service_candidates(_request(host="fs1.example.com"), "EXAMPLE.COM")]
    assert names == ["cifs/FS1@EXAMPLE.COM", "cifs/FS1.example.com@EXAMPLE.COM",
                     "cifs/fs1.example.com@EXAMPLE.COM"]
    assert [str(p) for p in client.service_candidates(
        _request(service_principal="cifs/x.example.com"), "EXAMPLE.COM")] == ["cifs/x.example.com@EXAMPLE.COM"]
    with pytest.raises(KerberosError, match="no server name"):
        client.service_candidates(_request(remote="*SMBSERVER", host="10.0.0.5"), "EXAMPLE.COM")


def _krb_error(code):
    return asn1.encode(asn1.build(asn1.KRBError(), {
        "pvno": 5, "msg-type": 30, "stime": "20300101000000Z", "susec": 0, "error-code": code,
        "realm": "EXAMPLE.COM", "sname": asn1.principal(2, ["krbtgt", "EXAMPLE.COM"])}))


def _udp_and_tcp_on_one_port():
    """A UDP and a listening TCP socket on the same free port (retried: a port free for
    UDP may be taken for TCP by another process)."""
    for _ in range(50):
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(1)
        return udp, tcp, port
    raise RuntimeError("no port free for both UDP and TCP")


def test_kdc_transport_udp_too_big_then_tcp():
    udp, tcp, port = _udp_and_tcp_on_one_port()

    def serve():
        data, addr = udp.recvfrom(4096)
        udp.sendto(_krb_error(52), addr)  # KRB_ERR_RESPONSE_TOO_BIG
        conn, _ = tcp.accept()
        with conn:
            n = struct.unpack(">I", conn.recv(4))[0]
            got = b""
            while len(got) < n:
                got += conn.recv(n - len(got))
            conn.sendall(struct.pack(">I", len(got)) + got)  # echo

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        assert KDCClient("EXAMPLE.COM", [("", "127.0.0.1", port)]).send(b"hello kdc", time.monotonic() + 5) \
            == b"hello kdc"
    finally:
        t.join(5)
        udp.close()
        tcp.close()


def test_kdc_transport_refuses_huge_tcp_length_and_reports_unreachable():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        conn, _ = srv.accept()
        with conn:
            conn.recv(100)
            conn.sendall(struct.pack(">I", 0x7FFFFFFF))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    start = time.monotonic()
    with pytest.raises(KDCUnreachable) as e:
        KDCClient("EXAMPLE.COM", [("tcp", "127.0.0.1", port)]).send(b"x", time.monotonic() + 5)
    assert "not acceptable" in str(e.value) and time.monotonic() - start < 5
    t.join(5)
    srv.close()
    with pytest.raises(KDCUnreachable, match="no KDC known"):
        KDCClient("EXAMPLE.COM", []).send(b"x", time.monotonic() + 1)
