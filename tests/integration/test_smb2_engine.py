"""SMB2Engine against the private Samba, without the facade."""

import hashlib
import io
import os
import struct
import time

import pytest

from nmb.transport import connect
from smb.engine import INFO_FILE, INFO_FILESYSTEM, INFO_SECURITY, ClientConfig, Timeout
from smb.errors import NotConnectedError, OperationFailure, UnsupportedFeature
from smb.negotiate import open_engine
from smb.smb2 import constants as C
from smb.smb2.engine import SMB2Engine

pytestmark = pytest.mark.integration

RW = C.GENERIC_READ | C.GENERIC_WRITE | C.DELETE
CASES = [("default", 0x0311), ("smb2only", 0x0210), ("smb3only", 0x0311)]


def dl(s=30.0):
    """Each wait of an engine call may last ``s`` seconds."""
    return Timeout(s)


def engine(info, direct=True, user=None, password=None, **cfg):
    port = info.port if direct else info.netbios_port
    t = connect(info.host, port, direct_tcp=direct, remote_name=info.server_name, timeout=30)
    config = ClientConfig(username=info.user if user is None else user,
                          password=info.password if password is None else password,
                          domain=info.domain, my_name="TESTCLIENT", remote_name=info.server_name, **cfg)
    return open_engine(t, config, dl().deadline())


def session(info, **cfg):
    e = engine(info, **cfg)
    assert e.authenticate(dl())
    return e, e.tree_connect(info.share, dl())


def find_names(bufs):
    """Names from FileIdBothDirectoryInformation entries ([MS-FSCC] 2.4.17)."""
    names = []
    for buf in bufs:
        buf = bytes(buf)
        off = 0
        while True:
            nxt, = struct.unpack_from("<I", buf, off)
            nlen, = struct.unpack_from("<I", buf, off + 60)
            names.append(buf[off + 104:off + 104 + nlen].decode("utf-16-le"))
            if not nxt:
                break
            off += nxt
    return names


@pytest.mark.parametrize("variant,dialect", CASES)
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "netbios"])
def test_negotiate_auth_and_file_round_trip(samba_factory, variant, dialect, direct):
    info = samba_factory(variant)
    e = engine(info, direct=direct)
    assert isinstance(e, SMB2Engine) and e.is_smb2
    if not info.external:
        assert e.dialect == dialect
    assert e.authenticate(dl())
    tree = e.tree_connect(info.share, dl())
    assert tree.share_type == C.SHARE_TYPE_DISK and tree.tree_id
    name = "rt-%s-%d.txt" % (variant, direct)
    r = e.create(tree, name, desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    assert r.create_action in (2, 3) and not r.is_directory and len(r.file_id) == 16
    assert e.write(tree, r.file_id, 0, b"hello, smb2 world", dl()) == 17
    assert e.read(tree, r.file_id, 7, 100, dl()) == b"smb2 world"
    assert e.read(tree, r.file_id, 1000, 10, dl()) == b""
    e.flush(tree, r.file_id, dl())
    e.close_file(tree, r.file_id, dl())
    if info.share_path:
        with open(os.path.join(info.share_path, name), "rb") as f:
            assert f.read() == b"hello, smb2 world"
    assert e.echo(b"ping", dl()) == b"ping"
    e.tree_disconnect(tree, dl())
    e.logoff(dl())
    e.close()


@pytest.mark.parametrize("variant", ["default", "smb2only"])
def test_wrong_password_and_unknown_user(samba_factory, variant):
    info = samba_factory(variant)
    e = engine(info, password="not-the-password")
    assert e.authenticate(dl()) is False
    e.close()
    e = engine(info, user="nosuchuser-xyz", password="whatever")
    assert e.authenticate(dl()) is False
    e.close()


def test_missing_file_status(samba_factory):
    info = samba_factory("default")
    e, tree = session(info)
    with pytest.raises(OperationFailure) as ei:
        e.create(tree, "does-not-exist.txt", desired_access=C.GENERIC_READ, timeout=dl())
    assert ei.value.status == C.STATUS_OBJECT_NAME_NOT_FOUND
    assert ei.value.smb_messages[0].command == C.CREATE
    with pytest.raises(OperationFailure) as ei:
        e.create(tree, "no-dir\\x.txt", desired_access=C.GENERIC_READ, timeout=dl())
    assert ei.value.status == C.STATUS_OBJECT_PATH_NOT_FOUND
    with pytest.raises(OperationFailure) as ei:
        list(e.list_directory(tree, "no-such-folder", "*", dl()))
    assert ei.value.status == C.STATUS_OBJECT_NAME_NOT_FOUND
    # the connection stays usable after failures
    assert e.echo(b"", dl()) == b""
    e.close()


@pytest.mark.parametrize("variant", ["default", "smb2only"])
def test_list_directory_3000_entries(samba_factory, variant, monkeypatch):
    from smb.smb2 import compounds

    # a first page too small for them: the listing is made again page by page
    monkeypatch.setattr(compounds, "FIRST_LISTING_PAGE", 16 * 1024)
    info = samba_factory(variant)
    if not info.share_path:
        pytest.skip("needs the private Samba")
    folder = "many-%s" % variant
    path = os.path.join(info.share_path, folder)
    os.makedirs(path, exist_ok=True)
    expected = {"entry-%04d-with-a-longish-name.dat" % i for i in range(3000)}
    for n in expected:
        open(os.path.join(path, n), "wb").close()
    e, tree = session(info)
    bufs = list(e.list_directory(tree, folder, "*", dl(60)))
    assert len(bufs) > 1  # several pages
    names = find_names(bufs)
    assert set(names) == expected | {".", ".."}
    assert len(names) == len(expected) + 2
    pattern = find_names(e.list_directory(tree, folder, "entry-000*", dl()))
    assert sorted(pattern) == sorted(n for n in expected if n.startswith("entry-000"))
    e.close()


@pytest.mark.parametrize("variant", ["default", "smb2only", "signing"])
def test_pipelined_read_to_and_write_from(samba_factory, variant):
    info = samba_factory(variant)
    cfg = {"dialects": (0x0202, 0x0210)} if variant == "signing" else {}
    e, tree = session(info, **cfg)
    size = 20 * 1024 * 1024 + 12345
    data = os.urandom(size)
    name = "big-%s.bin" % variant
    w = e.create(tree, name, desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    pos = [0]
    progress = []

    def source(n):
        chunk = data[pos[0]:pos[0] + min(n, 700000)]
        pos[0] += len(chunk)
        return chunk

    assert e.write_from(tree, w.file_id, 0, source, dl(120), progress.append) == size
    assert sum(progress) == size
    e.close_file(tree, w.file_id, dl())
    if info.share_path:
        with open(os.path.join(info.share_path, name), "rb") as f:
            assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    r = e.create(tree, name, desired_access=C.GENERIC_READ, timeout=dl())
    assert r.end_of_file == size
    h = hashlib.sha256()
    got = e.read_to(tree, r.file_id, 0, -1, h.update, dl(120))
    assert got == size and h.digest() == hashlib.sha256(data).digest()
    # a range in the middle
    parts = []
    assert e.read_to(tree, r.file_id, 1000, 3 * 1024 * 1024, lambda mv: parts.append(bytes(mv)), dl()) == 3 * 1024 * 1024
    assert b"".join(parts) == data[1000:1000 + 3 * 1024 * 1024]
    # past the end
    assert e.read_to(tree, r.file_id, size + 10, -1, parts.append, dl()) == 0
    e.close_file(tree, r.file_id, dl())
    e.close()


def test_signing_variant_on_2_1_and_3_1_1(samba_factory):
    info = samba_factory("signing")
    for dialects, expect in (((0x0202, 0x0210), 0x0210), (None, 0x0311)):
        e, tree = session(info, dialects=dialects)
        assert e.dialect == expect
        assert e.session.signing_required and e.session.signer is not None
        r = e.create(tree, "signed.txt", desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
        e.write(tree, r.file_id, 0, b"signed data", dl())
        assert e.read(tree, r.file_id, 0, 64, dl()) == b"signed data"
        e.close_file(tree, r.file_id, dl())
        e.close()


def test_query_info_set_info_ioctl_and_compound(samba_factory):
    info = samba_factory("default")
    e, tree = session(info)
    r = e.create(tree, "info.txt", desired_access=RW | C.READ_CONTROL, create_disposition=C.FILE_OVERWRITE_IF,
                 timeout=dl())
    e.write(tree, r.file_id, 0, b"12345", dl())
    std = e.query_info(tree, r.file_id, INFO_FILE, 5, dl())  # FileStandardInformation
    alloc, eof, links, delete_pending, is_dir = struct.unpack_from("<qqIBB", std)
    assert eof == 5 and links == 1 and not is_dir
    # FileEndOfFileInformation (class 20)
    e.set_info(tree, r.file_id, INFO_FILE, 20, struct.pack("<q", 2), dl())
    assert struct.unpack_from("<qq", e.query_info(tree, r.file_id, INFO_FILE, 5, dl()))[1] == 2
    sd = e.query_info(tree, r.file_id, INFO_SECURITY, 0, dl(), additional_information=0x7)
    assert sd[0] == 1 and len(sd) >= 20  # self-relative SD, revision 1
    fs = e.query_info(tree, r.file_id, INFO_FILESYSTEM, 5, dl())  # FileFsAttributeInformation
    assert len(fs) >= 12
    e.close_file(tree, r.file_id, dl())
    # CREATE + QUERY_INFO + CLOSE compound
    std = e.query_path_info(tree, "info.txt", INFO_FILE, 5, dl())
    assert struct.unpack_from("<qq", std)[1] == 2
    with pytest.raises(OperationFailure) as ei:
        e.query_path_info(tree, "missing.txt", INFO_FILE, 5, dl())
    assert ei.value.status == C.STATUS_OBJECT_NAME_NOT_FOUND
    e.close()


def test_enumerate_snapshots_ioctl(samba_factory):
    info = samba_factory("default")
    if not info.shadow_share:
        pytest.skip("no shadow share")
    e = engine(info)
    assert e.authenticate(dl())
    tree = e.tree_connect(info.shadow_share, dl())
    d = e.create(tree, "", desired_access=C.FILE_READ_ATTRIBUTES | C.SYNCHRONIZE | C.FILE_LIST_DIRECTORY,
                 create_options=C.FILE_DIRECTORY_FILE, timeout=dl())
    out = e.ioctl(tree, d.file_id, C.FSCTL_SRV_ENUMERATE_SNAPSHOTS, b"", 65536, dl())
    count, returned, size = struct.unpack_from("<III", out)
    assert count == 2 and returned == 2
    names = bytes(out[12:12 + size]).decode("utf-16-le").split("\0")
    assert {"@GMT-2024.01.02-03.04.05", "@GMT-2025.06.07-08.09.10"} <= set(names)
    e.close_file(tree, d.file_id, dl())
    e.close()


def test_pipe_transceive_srvsvc_bind(samba_factory):
    info = samba_factory("default")
    e = engine(info)
    assert e.authenticate(dl())
    tree = e.tree_connect("IPC$", dl())
    assert tree.share_type == C.SHARE_TYPE_PIPE
    p = e.create(tree, "srvsvc", desired_access=C.FILE_READ_DATA | C.FILE_WRITE_DATA, share_access=3,
                 timeout=dl())
    # DCE/RPC bind to srvsvc 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0, NDR 2.0
    iface = bytes.fromhex("c84f324b7016d30112785a47bf6ee188") + struct.pack("<HH", 3, 0)
    ndr = bytes.fromhex("045d888aeb1cc9119fe808002b104860") + struct.pack("<I", 2)
    ctx = struct.pack("<HBB", 0, 1, 0) + iface + ndr
    body = struct.pack("<HHI", 4280, 4280, 0) + struct.pack("<B3x", 1) + ctx
    pdu = struct.pack("<BBBB4sHHI", 5, 0, 11, 3, b"\x10\x00\x00\x00", 16 + len(body), 0, 1) + body
    reply = e.transact_pipe(tree, p.file_id, pdu, dl())
    assert reply[0] == 5 and reply[2] == 12  # bind_ack
    assert struct.unpack_from("<H", reply, 8)[0] == len(reply)
    e.close_file(tree, p.file_id, dl())
    e.close()


def test_encrypt_variant(samba_factory):
    info = samba_factory("encrypt")
    e, tree = session(info)
    assert e.dialect >= 0x0300 and (tree.encrypt or e.session.encrypt_data)
    r = e.create(tree, "enc.txt", desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    e.write(tree, r.file_id, 0, b"secret" * 1000, dl())
    assert e.read(tree, r.file_id, 0, 6000, dl()) == b"secret" * 1000
    e.close_file(tree, r.file_id, dl())
    e.close()


def test_dialect_restrictions(samba_factory):
    info = samba_factory("default")
    e = engine(info, dialects=(0x0202,))
    assert e.dialect == 0x0202 and e.max_read_size == 65536
    assert e.authenticate(dl())
    e.close()
    e = engine(info, support_smb2x=False)
    assert e.dialect == 0x0202
    e.close()
    for d in (0x0300, 0x0302):
        e = engine(info, dialects=(0x0202, d))
        assert e.dialect == d
        assert e.authenticate(dl())
        tree = e.tree_connect(info.share, dl())
        assert tree.tree_id
        assert e._validated  # FSCTL_VALIDATE_NEGOTIATE_INFO round trip succeeded (signed)
        assert e.echo(b"", dl()) == b""
        e.close()


def test_smb1only_server_goes_to_smb1_engine(samba_factory):
    info = samba_factory("smb1only")
    try:
        e = engine(info)
    except UnsupportedFeature as exc:
        assert "SMB1" in str(exc)
        return
    assert not e.is_smb2
    e.close()


def test_closed_engine_raises_not_connected(samba_factory):
    info = samba_factory("default")
    e, tree = session(info)
    e.close()
    with pytest.raises(NotConnectedError):
        e.echo(b"", dl())


def test_pending_read_times_out_cancels_and_connection_survives(samba_factory):
    info = samba_factory("default")
    e = engine(info)
    assert e.authenticate(dl())
    tree = e.tree_connect("IPC$", dl())
    p = e.create(tree, "srvsvc", desired_access=C.FILE_READ_DATA | C.FILE_WRITE_DATA, share_access=3,
                 timeout=dl())
    from smb.errors import SMBTimeout

    t0 = time.monotonic()
    with pytest.raises(SMBTimeout):
        e.read(tree, p.file_id, 0, 1024, dl(0.5))  # nothing to read: server pends
    assert time.monotonic() - t0 < 5
    assert e.echo(b"", dl()) == b""  # the cancelled read's late answer is absorbed
    assert e.echo(b"", dl()) == b""
    assert not [r for r in e.conn.outstanding.values() if not r.abandoned]
    e.close_file(tree, p.file_id, dl())
    with pytest.raises(SMBTimeout):
        e.echo(b"", dl(1e-9))
    e.close()


def test_sign_when_supported_and_credit_window(samba_factory):
    info = samba_factory("default")
    e, tree = session(info, sign_options=1)
    assert e.session.signing_required
    r = e.create(tree, "sws.txt", desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    e.write(tree, r.file_id, 0, b"x" * 100000, dl())
    assert e.read(tree, r.file_id, 0, 100000, dl()) == b"x" * 100000
    e.close_file(tree, r.file_id, dl())
    assert e.conn.credits >= 64  # the window grew towards the target
    e.close()


@pytest.mark.parametrize("variant,cfg,protected", [
    ("default", {}, False), ("default", {"sign_options": 1}, True),
    ("signing", {}, True), ("encrypt", {}, True)], ids=["clear", "sign-when-supported", "signing", "encrypt"])
def test_transfer_sizes_follow_message_protection(samba_factory, variant, cfg, protected):
    """Signed or encrypted sessions READ and WRITE PROTECTED_CHUNK bytes at a time (fewer
    AES set-ups per MiB), in a window that keeps the same bytes in flight; the data is intact."""
    from smb.smb2.engine import CHUNK, IN_FLIGHT, PROTECTED_CHUNK
    info = samba_factory(variant)
    e, tree = session(info, **cfg)
    chunk = PROTECTED_CHUNK if protected else CHUNK
    assert (e.read_chunk, e.write_chunk) == (chunk, chunk)
    assert e.read_window * e.read_chunk <= IN_FLIGHT and e.write_window * e.write_chunk <= IN_FLIGHT
    assert e.read_window == IN_FLIGHT // chunk
    data = os.urandom(5 * 1024 * 1024 + 3)
    r = e.create(tree, "chunks.bin", desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    sizes = []
    assert e.write_from(tree, r.file_id, 0, io.BytesIO(data).read, dl()) == len(data)
    with open(os.path.join(info.share_path, "chunks.bin"), "rb") as f:
        assert f.read() == data
    got = bytearray()
    assert e.read_to(tree, r.file_id, 0, -1, lambda b: sizes.append(len(b)) or got.extend(b), dl()) == len(data)
    assert bytes(got) == data and max(sizes) == chunk
    e.close_file(tree, r.file_id, dl())
    e.close()
