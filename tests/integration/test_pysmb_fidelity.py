"""pysmb 1.2.15 behaviours this library keeps (issue "pysmb drop-in fidelity"), live against the
private Samba, on SMB2/3 and on SMB1 where both apply.

Each test names the pysmb behaviour it checks; the public surface itself (names, signatures,
values) is compared in tests/unit/test_pysmb_surface.py.
"""

import io
import os
import socket
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from nmb.NetBIOS import NetBIOS
from smb import smb_constants as K
from smb import smb_structs
from smb.base import NotConnectedError, OperationFailure, SMBTimeout
from smb.ntstatus import (STATUS_FILE_IS_A_DIRECTORY, STATUS_OBJECT_NAME_NOT_FOUND,
                          STATUS_OBJECT_PATH_NOT_FOUND)
from smb.smb2_structs import SMB2Message
from smb.smb_structs import SMBError, SMBMessage
from smb.SMBConnection import SMBConnection
from smb import SMBHandler as handler_module
from tests.integration.conftest import Disk, make_connection
from tests.integration.test_netbios_live import nmbd  # noqa: F401  (the private nmbd fixture)

pytestmark = pytest.mark.integration

DIALECTS = ["smb2", "smb1"]


@pytest.fixture(params=DIALECTS)
def dialect(request):
    return request.param


@pytest.fixture
def fconn(samba, dialect):
    conn, ok = make_connection(samba, True, dialect == "smb1")
    assert ok
    yield conn
    conn.close()


@pytest.fixture
def folder(fconn, samba, request):
    name = "fid-%d-%s" % (os.getpid(), request.node.name.replace("[", "-").rstrip("]"))
    fconn.createDirectory(samba.share, name)
    return name


@pytest.fixture
def disk(samba):
    return Disk(samba)


def names(entries):
    return sorted(e.filename for e in entries)


# --- item 2: patterns that match nothing, deleteFiles on folders ---------------------------

def test_list_path_pattern_matching_nothing_is_empty(fconn, samba, folder, disk):
    disk.write(folder + "/a.txt", b"1")
    assert fconn.listPath(samba.share, folder, pattern="nomatch*") == []
    assert fconn.listPath(samba.share, folder, pattern="b.txt") == []
    assert names(fconn.listPath(samba.share, folder, pattern="a.*")) == ["a.txt"]
    with pytest.raises(OperationFailure) as e:  # a missing folder still fails
        fconn.listPath(samba.share, folder + "/missing")
    assert e.value.status in (STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND)


def test_delete_files_like_pysmb(fconn, samba, folder, disk):
    fconn.deleteFiles(samba.share, folder + "/nothing*")  # wildcard, no match: no error
    fconn.deleteFiles(samba.share, folder + "/*.none")
    with pytest.raises(OperationFailure) as e:  # an exact name that does not exist fails
        fconn.deleteFiles(samba.share, folder + "/missing.txt")
    assert e.value.status == STATUS_OBJECT_NAME_NOT_FOUND
    fconn.createDirectory(samba.share, folder + "/sub")
    disk.write(folder + "/sub/in.txt", b"x")
    with pytest.raises(OperationFailure) as e:  # an exact folder name without the flag fails
        fconn.deleteFiles(samba.share, folder + "/sub")
    assert e.value.status == STATUS_FILE_IS_A_DIRECTORY
    assert disk.exists(folder + "/sub/in.txt")
    fconn.deleteFiles(samba.share, folder + "/su*")  # a wildcard skips folders without the flag
    assert disk.exists(folder + "/sub/in.txt")
    fconn.deleteFiles(samba.share, folder + "/sub", delete_matching_folders=True)
    assert not disk.exists(folder + "/sub")


# --- items 3 and 4: connect() ------------------------------------------------------------

def _refused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def test_connect_errors_keep_the_socket_exception_types(samba):
    conn = SMBConnection(samba.user, samba.password, "client", samba.server_name, is_direct_tcp=True)
    with pytest.raises(ConnectionRefusedError) as e:
        conn.connect("127.0.0.1", _refused_port(), timeout=5)
    assert isinstance(e.value, NotConnectedError) and isinstance(e.value, OSError)
    assert e.value.errno is not None
    with pytest.raises(socket.gaierror) as e:
        conn.connect("no-such-host.invalid", samba.port, timeout=5)
    assert isinstance(e.value, NotConnectedError) and isinstance(e.value, socket.error)
    try:  # code that catches OSError around connect(), as written for pysmb
        conn.connect("127.0.0.1", _refused_port(), timeout=5)
    except OSError:
        pass
    assert conn.sock is None


def test_connect_deadline_during_the_exchange_is_smbtimeout():
    # a listener that never completes the SMB exchange: the deadline hits during the protocol
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        conn = SMBConnection("u", "p", "client", "server", is_direct_tcp=True)
        with pytest.raises(SMBTimeout):
            conn.connect("127.0.0.1", srv.getsockname()[1], timeout=0.5)


def test_sock_family_none_accepts_ipv4_names_and_ipv6(samba):
    for host in ("127.0.0.1", "localhost"):
        conn = SMBConnection(samba.user, samba.password, "client", samba.server_name, is_direct_tcp=True)
        assert conn.connect(host, samba.port)  # sock_family defaults to None, as in pysmb
        assert conn.sock is not None
        conn.close()
    conn = SMBConnection(samba.user, samba.password, "client", samba.server_name, is_direct_tcp=True)
    assert conn.connect("127.0.0.1", samba.port, sock_family=socket.AF_INET)
    assert conn.sock.family == socket.AF_INET
    conn.close()
    conn = SMBConnection(samba.user, samba.password, "client", samba.server_name, is_direct_tcp=True)
    try:
        ok = conn.connect("::1", samba.port, timeout=5)
    except NotConnectedError:
        pytest.skip("the private Samba does not listen on ::1 here")
    assert ok and conn.sock.family == socket.AF_INET6
    conn.close()


# --- item 6: values and shapes ------------------------------------------------------------

def test_is_normal_and_search_follow_pysmb(fconn, samba, folder, disk):
    disk.write(folder + "/plain.txt", b"1")
    disk.write(folder + "/ro.txt", b"1")
    fconn.createDirectory(samba.share, folder + "/dir")
    fconn.resetFileAttributes(samba.share, folder + "/plain.txt", K.ATTR_NORMAL)
    fconn.resetFileAttributes(samba.share, folder + "/ro.txt", K.ATTR_READONLY)
    by_name = {f.filename: f for f in fconn.listPath(samba.share, folder)}  # pysmb's default: all
    assert set(by_name) == {".", "..", "plain.txt", "ro.txt", "dir"}
    assert by_name["plain.txt"].isNormal and not by_name["ro.txt"].isNormal
    assert not by_name["dir"].isNormal
    assert names(fconn.listPath(samba.share, folder, search=K.SMB_FILE_ATTRIBUTE_NORMAL)) == ["plain.txt"]
    assert names(fconn.listPath(samba.share, folder, search=K.SMB_FILE_ATTRIBUTE_READONLY)) == ["ro.txt"]
    assert names(fconn.listPath(samba.share, folder, search=K.SMB_FILE_ATTRIBUTE_DIRECTORY)) == [
        ".", "..", "dir"]
    # without SMB_FILE_ATTRIBUTE_INCL_NORMAL, "normal" entries are left out
    assert "plain.txt" not in names(fconn.listPath(samba.share, folder, search=0x37))


def test_file_id_and_short_name(fconn, samba, folder, disk):
    for n in ("one.txt", "two.txt"):
        disk.write(folder + "/" + n, b"1")
    first = {f.filename: f.file_id for f in fconn.listPath(samba.share, folder)}
    again = {f.filename: f.file_id for f in fconn.listPath(samba.share, folder, pattern="*.txt")}
    assert isinstance(first["one.txt"], int) and first["one.txt"] > 0
    assert first["one.txt"] != first["two.txt"]
    assert again == {"one.txt": first["one.txt"], "two.txt": first["two.txt"]}
    attrs = fconn.getAttributes(samba.share, folder + "/one.txt")
    assert attrs.short_name == attrs.filename == "one.txt"  # pysmb fills short_name with the name


def test_file_ids_agree_across_dialects(samba, folder, disk, fconn):
    disk.write(folder + "/f.bin", b"1")
    ids = []
    for smb1 in (False, True):
        conn, ok = make_connection(samba, True, smb1)
        assert ok
        with conn:
            ids.append([f.file_id for f in conn.listPath(samba.share, folder, pattern="f.bin")])
    assert ids[0] == ids[1] and ids[0][0]


def test_security_descriptor_sid_shapes(fconn, samba, folder, disk):
    disk.write(folder + "/s.txt", b"1")
    sd = fconn.getSecurity(samba.share, folder + "/s.txt")
    assert isinstance(sd.owner.subauthorities, list)
    assert str(sd.owner) == "S-%d-%d-%s" % (sd.owner.revision, sd.owner.identifier_authority,
                                            "-".join(map(str, sd.owner.subauthorities)))


# --- item 7: SMBConnection attributes -----------------------------------------------------

def test_connection_attributes_as_pysmb(samba, dialect):
    conn = SMBConnection(samba.user, lambda: samba.password, "client-x", samba.server_name.lower(),
                         is_direct_tcp=True)
    assert (conn.my_name, conn.remote_name) == ("CLIENT-X", samba.server_name.upper())
    assert conn.sock is None and conn.connected_trees == {} and not conn.has_authenticated
    assert conn.password == samba.password  # a callable password is resolved
    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = dialect == "smb2"
    try:
        assert conn.connect(samba.host, samba.port)
    finally:
        smb_structs.SUPPORT_SMB2 = old
    try:
        assert isinstance(conn.sock, socket.socket)
        assert conn.is_using_smb2 == conn.isUsingSMB2 == (dialect == "smb2")
        assert conn.has_negotiated and conn.has_authenticated and conn.auth_result is True
        assert conn.max_read_size > 0 and conn.max_write_size > 0 and conn.capabilities
        if dialect == "smb2":
            assert conn.session_id and conn.uid == 0
        else:
            assert conn.uid and conn.max_buffer_size and conn.max_mpx_count
        conn.listPath(samba.share, "/")
        assert set(conn.connected_trees) == {samba.share}
        assert isinstance(conn.connected_trees[samba.share], int)
        assert conn.signing_session_key is None  # never handed out
    finally:
        conn.close()
    assert conn.sock is None and conn.connected_trees == {}


def test_auth_hooks_are_called(samba):
    calls = []

    class Hooked(SMBConnection):
        def onAuthOK(self):
            calls.append("ok")
            super().onAuthOK()

        def onAuthFailed(self):
            calls.append("failed")
            super().onAuthFailed()

    good = Hooked(samba.user, samba.password, "client", samba.server_name, is_direct_tcp=True)
    assert good.connect(samba.host, samba.port)
    good.close()
    bad = Hooked(samba.user, "wrong-password", "client", samba.server_name, is_direct_tcp=True)
    assert bad.connect(samba.host, samba.port) is False
    assert calls == ["ok", "failed"] and bad.auth_result is False and not bad.has_authenticated


# --- item 8: OperationFailure.smb_messages --------------------------------------------------

def test_operation_failure_carries_the_message_history(fconn, samba, folder, dialect):
    with pytest.raises(OperationFailure) as e:
        fconn.retrieveFile(samba.share, folder + "/missing.bin", io.BytesIO())
    request, response = e.value.smb_messages
    assert e.value.args == (e.value.message, e.value.smb_messages)
    tid = fconn.connected_trees[samba.share]
    for m in (request, response):
        assert (m.mid, m.tid) == (response.mid, tid)
        assert m.mid > 0 and isinstance(m.raw_data, bytes) and hasattr(m, "payload")
    assert not request.isReply and response.isReply
    if dialect == "smb2":
        assert isinstance(response, SMB2Message) and response.protocol == 2
        assert response.command == request.command == 0x05  # CREATE
        assert response.status == STATUS_OBJECT_NAME_NOT_FOUND and request.status == 0
        assert response.session_id == fconn.session_id != 0
        assert response.raw_data[:4] == b"\xfeSMB" and response.payload.error_data == b""
        assert SMB2Message().decode(response.raw_data) == len(response.raw_data)
    else:
        assert isinstance(response, SMBMessage) and response.protocol == 1
        assert response.command == request.command == K.SMB_COM_NT_CREATE_ANDX
        assert isinstance(response.status, SMBError) and response.status.is_ntstatus
        assert response.status.internal_value == STATUS_OBJECT_NAME_NOT_FOUND == response.status
        assert response.status.hasError and not request.status.hasError
        assert response.uid == fconn.uid != 0 and response.flags2 & K.SMB_FLAGS2_NT_STATUS
        assert response.raw_data[:4] == b"\xffSMB"
        copy = SMBMessage()
        assert copy.decode(response.encode()) and copy.status == response.status
    assert "missing.bin" in str(e.value) and str(response)


# --- item 10 and the security issue: SMBHandler ---------------------------------------------

def _url(info, path, password=None, port=None, name=""):
    host = ("%s," % name if name else "") + "%s:%d" % (info.host, port or info.port)
    return "smb://%s:%s@%s/%s/%s" % (quote(info.user), quote(password or info.password), host,
                                     info.share, quote(path))


def test_smbhandler_failures_are_url_errors_without_the_password(samba):
    opener = urllib.request.build_opener(handler_module.SMBHandler)
    secret = "S3cret-Pa55"
    cases = [
        _url(samba, "missing.txt"),  # OperationFailure
        _url(samba, "x.txt", password=secret),  # authentication refused
        _url(samba, "x.txt", password=secret, port=_refused_port()),  # ConnectionRefusedError
        "smb://%s:%s@no-such-host.invalid:445/%s/x" % (samba.user, secret, samba.share),  # gaierror
    ]
    for url in cases:
        with pytest.raises(urllib.error.URLError) as e:
            opener.open(url, timeout=10)
        assert secret not in str(e.value) and secret not in repr(e.value.reason)
        assert samba.password not in str(e.value)


def test_smbhandler_helpers():
    h = handler_module.SMBHandler()
    name = h.generateClientMachineName()
    assert name and "." not in name
    f = h.createTempFile()
    f.write(b"abc")
    f.seek(0)
    assert f.read() == b"abc"
    f.close()
    assert handler_module.NetBIOS is NetBIOS


def test_smbhandler_asks_the_host_for_its_name(samba, nmbd, monkeypatch):  # noqa: F811
    """Without a server name in the URL, the handler asks the host (queryIPForName), as pysmb."""
    seen = []
    real = SMBConnection.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        seen.append(self.remote_name)

    monkeypatch.setattr(SMBConnection, "__init__", spy)
    monkeypatch.setattr(handler_module, "NETBIOS_PORT", nmbd.port)
    disk = Disk(samba)
    disk.write("fid-handler.txt", b"via NetBIOS")
    try:
        opener = urllib.request.build_opener(handler_module.SMBHandler)
        with opener.open(_url(samba, "fid-handler.txt", port=samba.netbios_port)) as fh:
            assert fh.read() == b"via NetBIOS"
    finally:
        os.unlink(disk.path("fid-handler.txt"))
    assert seen == [nmbd.netbios_name.upper()]
