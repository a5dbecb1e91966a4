"""Live tests of the SMB1 engine (smb.smb1.engine.SMB1Engine) against the private Samba.

Runs the engine directly (no facade) on the smb1only variant and on the default variant with
SMB2 switched off, over both transports, plus the signing, ntlmv1 and non-extended-security
configurations.
"""

import os
import pwd
import struct
import time

import pytest

from smb.engine import Timeout

from smb import engine as E
from smb import fscc
from smb.errors import OperationFailure, ProtocolError
from smb.smb1.engine import SMB1Engine
from tests import sambaserver

pytestmark = pytest.mark.integration

GENERIC_ALL = 0x10000000
READ_WRITE = 0x0012019F
DELETE = 0x00010000
FILE_OVERWRITE_IF = 5
FILE_OPEN = 1
FILE_CREATE = 2
FILE_DIRECTORY_FILE = 0x01
FILE_NON_DIRECTORY_FILE = 0x40
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_OBJECT_PATH_NOT_FOUND = 0xC000003A
FSCTL_SRV_ENUMERATE_SNAPSHOTS = 0x00144064

_seq = [0]


def deadline(seconds=60):
    """Each wait of an engine call may last ``seconds``."""
    return Timeout(seconds)


def config(info, **kw):
    kw.setdefault("support_smb2", False)
    return E.ClientConfig(username=info.user, password=kw.pop("password", info.password),
                          domain=info.domain, my_name="TESTCLIENT", remote_name=info.server_name, **kw)


def open_engine(info, direct=True, **kw):
    port = info.port if direct else info.netbios_port
    eng = SMB1Engine.connect(info.host, port, config(info, **kw), direct_tcp=direct, deadline=deadline().deadline())
    return eng


def login(info, direct=True, **kw):
    eng = open_engine(info, direct, **kw)
    assert eng.authenticate(deadline()) is True
    return eng


def unique(prefix):
    _seq[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _seq[0])


def chown(path):
    pw = pwd.getpwnam(sambaserver.TEST_USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)


PROFILES = [("smb1only", True), ("smb1only", False), ("default", True), ("default", False)]


@pytest.fixture(params=PROFILES, ids=["%s-%s" % (v, "direct" if d else "netbios") for v, d in PROFILES])
def s1(request, samba_factory):
    variant, direct = request.param
    info = samba_factory(variant)
    if not direct and info.netbios_port is None:
        pytest.skip("no NetBIOS port")
    eng = login(info, direct)
    tree = eng.tree_connect(info.share, deadline())
    yield info, eng, tree
    eng.close()


def write_file(eng, tree, path, data):
    o = eng.create(tree, path, desired_access=READ_WRITE, create_disposition=FILE_OVERWRITE_IF,
                   timeout=deadline())
    pos = [0]

    def source(n):
        chunk = data[pos[0]:pos[0] + n]
        pos[0] += len(chunk)
        return chunk

    assert eng.write_from(tree, o.file_id, 0, source, deadline()) == len(data)
    eng.close_file(tree, o.file_id, deadline())


def read_file(eng, tree, path):
    o = eng.create(tree, path, desired_access=0x00120089, timeout=deadline())
    out = bytearray()
    eng.read_to(tree, o.file_id, 0, -1, out.extend, deadline())
    eng.close_file(tree, o.file_id, deadline())
    return bytes(out)


# --- session / trees ---------------------------------------------------------------------------

def test_session_basics(s1):
    info, eng, tree = s1
    assert eng.is_smb2 is False and eng.dialect == 0x0001
    assert tree.share_type == 1
    assert eng.echo(b"ping-123", deadline()) == b"ping-123"
    ipc = eng.tree_connect("IPC$", deadline())
    assert ipc.share_type == 2
    eng.tree_disconnect(ipc, deadline())
    eng.tree_disconnect(tree, deadline())
    eng.logoff(deadline())


@pytest.mark.parametrize("variant", ["smb1only", "default"])
def test_wrong_password(samba_factory, variant):
    info = samba_factory(variant)
    eng = open_engine(info, password="not-the-password")
    try:
        assert eng.authenticate(deadline()) is False
    finally:
        eng.close()


def test_missing_share(s1):
    info, eng, _tree = s1
    with pytest.raises(OperationFailure):
        eng.tree_connect("no-such-share", deadline())


# --- files ---------------------------------------------------------------------------------------

def test_create_write_read_close(s1):
    info, eng, tree = s1
    name = unique("f") + ".bin"
    o = eng.create(tree, name, desired_access=READ_WRITE, create_disposition=FILE_OVERWRITE_IF,
                   create_options=FILE_NON_DIRECTORY_FILE, timeout=deadline())
    assert isinstance(o.file_id, int) and not o.is_directory and o.create_action == 2
    payload = b"hello smb1 " * 100
    assert eng.write(tree, o.file_id, 0, payload, deadline()) == len(payload)
    assert eng.read(tree, o.file_id, 6, 4, deadline()) == b"smb1"
    assert eng.read(tree, o.file_id, len(payload), 10, deadline()) == b""
    eng.flush(tree, o.file_id, deadline())  # SMB_COM_FLUSH: the data is on the server's disk
    with open(os.path.join(info.share_path, name), "rb") as f:
        assert f.read() == payload
    eng.close_file(tree, o.file_id, deadline())
    with pytest.raises(OperationFailure):  # the FID is gone
        eng.flush(tree, o.file_id, deadline())


def test_large_offset_write(s1):
    info, eng, tree = s1
    name = unique("sparse")
    o = eng.create(tree, name, desired_access=READ_WRITE, create_disposition=FILE_OVERWRITE_IF,
                   timeout=deadline())
    off = (5 << 30) + 3  # beyond 32 bits: OffsetHigh
    eng.write(tree, o.file_id, off, b"tail", deadline())
    assert eng.read(tree, o.file_id, off, 4, deadline()) == b"tail"
    eng.close_file(tree, o.file_id, deadline())
    assert os.path.getsize(os.path.join(info.share_path, name)) == off + 4
    os.unlink(os.path.join(info.share_path, name))


def test_pipelined_20mib(s1):
    info, eng, tree = s1
    name = unique("big")
    data = os.urandom(20 * 1024 * 1024 + 12345)
    progress = []
    o = eng.create(tree, name, desired_access=READ_WRITE, create_disposition=FILE_OVERWRITE_IF,
                   timeout=deadline())
    view = memoryview(data)
    pos = [0]

    def source(n):
        chunk = view[pos[0]:pos[0] + n]
        pos[0] += len(chunk)
        return chunk

    assert eng.write_from(tree, o.file_id, 0, source, deadline(120), progress.append) == len(data)
    assert sum(progress) == len(data)
    eng.close_file(tree, o.file_id, deadline())
    with open(os.path.join(info.share_path, name), "rb") as f:
        assert f.read() == data
    o = eng.create(tree, name, desired_access=0x00120089, timeout=deadline())
    out = bytearray()
    sizes = []

    def sink(mv):
        sizes.append(len(mv))
        out.extend(mv)

    assert eng.read_to(tree, o.file_id, 0, -1, sink, deadline(120)) == len(data)
    assert bytes(out) == data
    assert max(sizes) <= eng.max_read_size
    # a bounded range in the middle
    part = bytearray()
    assert eng.read_to(tree, o.file_id, 1000, 3 * 1024 * 1024, part.extend, deadline()) == 3 * 1024 * 1024
    assert bytes(part) == data[1000:1000 + 3 * 1024 * 1024]
    # past the end
    assert eng.read_to(tree, o.file_id, len(data) + 10, 100, bytearray().extend, deadline()) == 0
    eng.close_file(tree, o.file_id, deadline())
    os.unlink(os.path.join(info.share_path, name))


def test_missing_path(s1):
    info, eng, tree = s1
    with pytest.raises(OperationFailure) as ei:
        eng.create(tree, "does-not-exist.txt", desired_access=0x00120089, timeout=deadline())
    assert ei.value.status == STATUS_OBJECT_NAME_NOT_FOUND
    with pytest.raises(OperationFailure) as ei:
        list(eng.list_directory(tree, "no-such-dir", "*", deadline()))
    assert ei.value.status in (STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND)


def test_delete_on_disposition(s1):
    info, eng, tree = s1
    name = unique("del")
    write_file(eng, tree, name, b"x")
    assert os.path.exists(os.path.join(info.share_path, name))
    o = eng.create(tree, name, desired_access=DELETE, timeout=deadline())
    eng.set_info(tree, o.file_id, E.INFO_FILE, 13, fscc.disposition_information(True), deadline())
    eng.close_file(tree, o.file_id, deadline())
    assert not os.path.exists(os.path.join(info.share_path, name))


def test_rename_is_one_engine_operation(s1):
    """SMB_COM_RENAME: in place and into another folder, for files and folders."""
    info, eng, tree = s1
    old, new = unique("old"), unique("new")
    write_file(eng, tree, old, b"content")
    eng.rename(tree, old, new, deadline())
    assert not os.path.exists(os.path.join(info.share_path, old))
    with open(os.path.join(info.share_path, new), "rb") as f:
        assert f.read() == b"content"
    d = unique("movedir")
    os.mkdir(os.path.join(info.share_path, d))
    chown(os.path.join(info.share_path, d))
    eng.rename(tree, new, d + "\\moved", deadline())
    assert not os.path.exists(os.path.join(info.share_path, new))
    with open(os.path.join(info.share_path, d, "moved"), "rb") as f:
        assert f.read() == b"content"
    eng.rename(tree, d, d + "-renamed", deadline())  # a folder
    assert os.path.isdir(os.path.join(info.share_path, d + "-renamed"))
    with pytest.raises(OperationFailure):
        eng.rename(tree, "no-such-" + d, d + "-x", deadline())

def test_query_and_set_info(s1):
    info, eng, tree = s1
    name = unique("info")
    write_file(eng, tree, name, b"12345")
    o = eng.create(tree, name, desired_access=READ_WRITE, timeout=deadline())
    std = fscc.parse_standard_information(eng.query_info(tree, o.file_id, E.INFO_FILE, 5, deadline()))
    assert std.end_of_file == 5 and not std.directory
    eng.set_info(tree, o.file_id, E.INFO_FILE, 20, fscc.end_of_file_information(100), deadline())
    std = fscc.parse_standard_information(eng.query_info(tree, o.file_id, E.INFO_FILE, 5, deadline()))
    assert std.end_of_file == 100
    allinfo = eng.query_info(tree, o.file_id, E.INFO_FILE, 18, deadline())
    # Samba answers passthrough level 1018 in the SMB1 SMB_QUERY_FILE_ALL_INFO layout (72 fixed
    # bytes), not [MS-FSCC]'s FileAllInformation (100): either way it ends with the name
    assert len(allinfo) >= 72 and allinfo.endswith(name.encode("utf-16-le"))
    size = fscc.parse_fs_size_information(eng.query_info(tree, o.file_id, E.INFO_FILESYSTEM, 3, deadline()))
    assert size.total_allocation_units > 0
    attr = eng.query_info(tree, o.file_id, E.INFO_FILESYSTEM, 5, deadline())
    assert len(attr) >= 12
    sd = eng.query_info(tree, o.file_id, E.INFO_SECURITY, 0, deadline(), additional_information=0x7)
    assert sd[0] == 1 and len(sd) >= 20  # self-relative SD, revision 1
    eng.close_file(tree, o.file_id, deadline())
    assert os.path.getsize(os.path.join(info.share_path, name)) == 100


# --- directories -----------------------------------------------------------------------------

def test_list_directory_many(s1):
    info, eng, tree = s1
    d = unique("dir")
    o = eng.create(tree, d, desired_access=GENERIC_ALL, create_disposition=FILE_CREATE,
                   create_options=FILE_DIRECTORY_FILE, timeout=deadline())
    assert o.is_directory
    eng.close_file(tree, o.file_id, deadline())
    local = os.path.join(info.share_path, d)
    names = {"file-%04d-%s.txt" % (i, "x" * (i % 40)) for i in range(1200)}
    for n in names:
        p = os.path.join(local, n)
        with open(p, "w"):
            pass
        chown(p)
    seen = []
    buffers = 0
    for buf in eng.list_directory(tree, d, "*", deadline()):
        buffers += 1
        entries = fscc.parse_id_both_directory_information(buf)  # SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO
        seen.extend(e.file_name for e in entries)
        # the chain of each buffer ends with NextEntryOffset 0
        pos = 0
        while True:
            nxt = struct.unpack_from("<I", buf, pos)[0]
            if nxt == 0:
                break
            pos += nxt
        assert pos < len(buf)
    assert buffers > 1
    assert set(seen) == names | {".", ".."}
    assert len(seen) == len(names) + 2
    # a pattern
    few = [e.file_name for b in eng.list_directory(tree, d, "file-000*", deadline())
           for e in fscc.DIRECTORY_PARSERS[eng.listing_class](b)]
    assert len(few) == 10
    # no match: nothing
    with pytest.raises(OperationFailure) as e:  # as on SMB2: nothing matches
        list(eng.list_directory(tree, d, "nothing-here*", deadline()))
    assert e.value.status == 0xC000000F  # STATUS_NO_SUCH_FILE


def test_extra_path_commands(s1):
    info, eng, tree = s1
    d = unique("mk")
    eng.create_directory(tree, d, deadline())
    assert os.path.isdir(os.path.join(info.share_path, d))
    eng.check_directory(tree, d, deadline())
    write_file(eng, tree, d + "\\a.txt", b"a")
    eng.rename_path(tree, d + "\\a.txt", d + "\\b.txt", deadline())
    assert os.path.exists(os.path.join(info.share_path, d, "b.txt"))
    basic = eng.query_path_info(tree, d + "\\b.txt", 4, deadline())
    assert len(basic) >= 36
    eng.delete_path(tree, d + "\\b.txt", deadline())
    eng.delete_directory(tree, d, deadline())
    assert not os.path.exists(os.path.join(info.share_path, d))
    with pytest.raises(OperationFailure):
        eng.check_directory(tree, d, deadline())


def test_snapshots_ioctl(samba_factory):
    info = samba_factory("smb1only")
    eng = login(info)
    try:
        tree = eng.tree_connect(info.shadow_share, deadline())
        o = eng.create(tree, "", desired_access=0x00120089, create_options=FILE_DIRECTORY_FILE,
                       timeout=deadline())
        out = eng.ioctl(tree, o.file_id, FSCTL_SRV_ENUMERATE_SNAPSHOTS, b"", 65536, deadline())
        count, returned, size = struct.unpack_from("<III", out)
        assert count == 2 and returned == 2
        names = out[12:12 + size].decode("utf-16-le").split("\0")
        assert set(sambaserver.SNAPSHOTS) <= set(names)
        eng.close_file(tree, o.file_id, deadline())
    finally:
        eng.close()


# --- signing, NTLMv1, non-extended security ------------------------------------------------

@pytest.mark.parametrize("direct", [True, False])
def test_signing_mandatory(samba_factory, direct):
    info = samba_factory("signing")
    eng = login(info, direct)
    try:
        assert eng.signing and eng.conn.signing_key
        tree = eng.tree_connect(info.share, deadline())
        name = unique("signed")
        data = os.urandom(3 * 1024 * 1024 + 7)
        write_file(eng, tree, name, data)
        assert read_file(eng, tree, name) == data
        d = list(eng.list_directory(tree, "", "*", deadline()))
        assert d
        assert eng.echo(b"signed", deadline()) == b"signed"
    finally:
        eng.close()


def test_signing_forged_response(samba_factory):
    info = samba_factory("signing")
    eng = login(info)
    real_recv = eng.conn.transport.recv

    def tampering_recv(deadline=None):
        mv = real_recv(deadline=deadline)
        buf = bytearray(mv)
        buf[-1] ^= 0xFF
        return memoryview(buf)

    try:
        eng.conn.transport.recv = tampering_recv
        with pytest.raises(ProtocolError):
            eng.echo(b"forge-me", deadline())
    finally:
        eng.close()


def test_sign_when_supported(samba_factory):
    info = samba_factory("default")
    eng = login(info, sign_options=1)
    try:
        tree = eng.tree_connect(info.share, deadline())
        name = unique("maybe-signed")
        write_file(eng, tree, name, b"abc" * 1000)
        assert read_file(eng, tree, name) == b"abc" * 1000
    finally:
        eng.close()


@pytest.mark.parametrize("extended", [True, False])
def test_ntlmv1(samba_factory, extended):
    info = samba_factory("ntlmv1")
    eng = login(info, use_ntlm_v2=False, extended_security=extended)
    try:
        assert eng.neg.extended_security is extended
        tree = eng.tree_connect(info.share, deadline())
        name = unique("v1")
        write_file(eng, tree, name, b"ntlmv1")
        assert read_file(eng, tree, name) == b"ntlmv1"
    finally:
        eng.close()
    bad = open_engine(info, use_ntlm_v2=False, extended_security=extended, password="wrong")
    try:
        assert bad.authenticate(deadline()) is False
    finally:
        bad.close()


@pytest.fixture(scope="module")
def raw_ntlmv2_server():
    srv = sambaserver.SambaServer("smb1only", extra_conf={"raw NTLMv2 auth": "yes"})
    try:
        srv.start()
    except sambaserver.SambaUnavailable as e:  # pragma: no cover
        srv.stop()
        pytest.fail(str(e), pytrace=False)
    yield srv.info
    srv.stop()


@pytest.mark.parametrize("direct", [True, False])
def test_non_extended_ntlmv2(raw_ntlmv2_server, direct):
    info = raw_ntlmv2_server
    eng = login(info, direct, extended_security=False)
    try:
        assert not eng.neg.extended_security and len(eng.neg.challenge) == 8
        tree = eng.tree_connect(info.share, deadline())
        name = unique("nonext")
        data = os.urandom(300000)
        write_file(eng, tree, name, data)
        assert read_file(eng, tree, name) == data
        entries = [e.file_name for b in eng.list_directory(tree, "", "*", deadline())
                   for e in fscc.DIRECTORY_PARSERS[eng.listing_class](b)]
        assert name in entries
    finally:
        eng.close()
    bad = open_engine(info, extended_security=False, password="wrong")
    try:
        assert bad.authenticate(deadline()) is False
    finally:
        bad.close()


def test_open_engine_via_negotiate(samba_factory):
    """The shared multi-protocol negotiation hands an NT LM 0.12 answer to SMB1Engine."""
    from nmb import transport as nt
    from smb.negotiate import open_engine as negotiate_open

    info = samba_factory("smb1only")
    t = nt.connect(info.host, info.port, direct_tcp=True)
    eng = negotiate_open(t, config(info, support_smb2=True, allow_smb1=True), deadline().deadline())
    try:
        assert isinstance(eng, SMB1Engine)
        assert eng.authenticate(deadline())
        assert eng.tree_connect(info.share, deadline()).share_type == 1
    finally:
        eng.close()
