"""One round trip per small-file operation on SMB 3.1.1 (issue 12): SMB2 related compounds
([MS-SMB2] 3.2.4.1.4) counted on the wire through a relaying proxy, on a plain, a signed
and an encrypted session, with their error paths (the CREATE fails: the related READ and
CLOSE carry its status; no handle is left open) and files larger than the first READ or
changed between the compound and the follow-up reads. Contents are checked against the
server's disk."""

import io
import os
import struct

import pytest

from smb import ntstatus, smb_structs
from smb.base import OperationFailure
from smb.SMBConnection import SMBConnection
from smb.smb_constants import ATTR_READONLY
from smb.smb2.header import parse_header, split_compound
from tests.hostile import MitmProxy

pytestmark = pytest.mark.integration

CREATE, CLOSE, READ, WRITE, QUERY_DIRECTORY, SET_INFO = 5, 6, 8, 9, 14, 17
VARIANTS = [("plain", "default", {}), ("signed", "signing", {}), ("encrypted", "encrypt", {}),
            ("client-encrypted", "default", {"require_encryption": True})]


def _connect(info, port, **kwargs):
    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = True
    try:
        c = SMBConnection(info.user, info.password, "COMPOUND", info.server_name, is_direct_tcp=True,
                          **kwargs)
        assert c.connect(info.host, port, timeout=30)
    finally:
        smb_structs.SUPPORT_SMB2 = old
    assert c.dialect == 0x0311
    return c


def chain(payload):
    """``[(command, status)]`` of each message of a clear-text SMB2 frame; None when the
    frame is encrypted (a TRANSFORM_HEADER)."""
    if payload[:4] != b"\xfeSMB":
        return None
    return [(h.command, h.status) for h in (parse_header(payload, off) for off, _end in split_compound(payload))]


class Wire:
    """A connection through a recording proxy (``connect(info, port, **kwargs)``, SMB 3.1.1
    by default); ``frames(fn)`` runs ``fn`` and returns the request and response frames it
    cost."""

    def __init__(self, info, kwargs, on_response=None, on_request=None, connect=None):
        self.proxy = MitmProxy((info.host, info.port), on_request=on_request, on_response=on_response)
        self.conn = (connect or _connect)(info, self.proxy.port, **kwargs)
        self.info = info
        self.conn.listPath(info.share, "/")  # the tree connect, out of the counts

    def frames(self, fn):
        before_req, before_resp = len(self.proxy.requests), len(self.proxy.responses)
        result = fn()
        return result, self.proxy.requests[before_req:], self.proxy.responses[before_resp:]

    def close(self):
        self.conn.close()
        self.proxy.close()


@pytest.fixture(params=VARIANTS, ids=[v[0] for v in VARIANTS])
def wire(request, samba_factory):
    _id, variant, kwargs = request.param
    info = samba_factory(variant)
    if info.share_path is None:
        pytest.skip("needs the private Samba (checks files on the server's disk)")
    w = Wire(info, kwargs)
    yield w
    w.close()


def _disk(info, name):
    return os.path.join(info.share_path, name)


def _put_on_disk(info, name, data, mode=0o666):
    p = _disk(info, name)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)
    return p


def _no_handle_open(info, name):
    """Deleting the file from a second connection succeeds only when no open (ours were
    opened without FILE_SHARE_DELETE) is left on it."""
    other = _connect(info, info.port)
    try:
        other.deleteFiles(info.share, name)
    finally:
        other.close()
    assert not os.path.exists(_disk(info, name))


def _expect_chain(frames, commands, clear):
    assert len(frames) == 1, "%d frames" % len(frames)
    parsed = chain(frames[0])
    if clear:
        assert parsed is not None and [c for c, _s in parsed] == commands
    return parsed


def test_small_retrieve_is_one_round_trip(wire):
    info, name = wire.info, "c-small-%s.bin" % id(wire)
    data = os.urandom(16 * 1024 + 7)
    _put_on_disk(info, name, data)
    out = io.BytesIO()
    (attrs, n), reqs, resps = wire.frames(lambda: wire.conn.retrieveFile(info.share, name, out))
    assert (n, out.getvalue()) == (len(data), data)
    clear = wire.conn.security.encrypted is False
    _expect_chain(reqs, [CREATE, READ, CLOSE], clear)
    parsed = _expect_chain(resps, [CREATE, READ, CLOSE], clear)
    if parsed:
        assert all(s == 0 for _c, s in parsed)
    _no_handle_open(info, name)


def test_small_store_is_one_round_trip(wire):
    info, name = wire.info, "c-up-%s.bin" % id(wire)
    _put_on_disk(info, name, b"x" * 100000)  # replaced, truncated
    data = os.urandom(20000)
    n, reqs, resps = wire.frames(lambda: wire.conn.storeFile(info.share, name, io.BytesIO(data)))
    assert n == len(data)
    clear = wire.conn.security.encrypted is False
    _expect_chain(reqs, [CREATE, WRITE, CLOSE], clear)
    _expect_chain(resps, [CREATE, WRITE, CLOSE], clear)
    with open(_disk(info, name), "rb") as f:
        assert f.read() == data
    # an empty source: CREATE + CLOSE, and the file is empty
    n, reqs, _ = wire.frames(lambda: wire.conn.storeFile(info.share, name, io.BytesIO(b"")))
    assert n == 0 and os.path.getsize(_disk(info, name)) == 0
    _expect_chain(reqs, [CREATE, CLOSE], clear)
    # from an offset, without truncating
    n, reqs, _ = wire.frames(lambda: wire.conn.storeFileFromOffset(info.share, name, io.BytesIO(b"ab"), 3))
    assert n == 5 and open(_disk(info, name), "rb").read() == b"\0\0\0ab"
    _expect_chain(reqs, [CREATE, WRITE, CLOSE], clear)
    _no_handle_open(info, name)


def test_attributes_delete_rename_are_one_round_trip(wire):
    info, name = wire.info, "c-meta-%s.bin" % id(wire)
    _put_on_disk(info, name, b"m" * 1234)
    clear = wire.conn.security.encrypted is False
    attrs, reqs, _ = wire.frames(lambda: wire.conn.getAttributes(info.share, name))
    assert attrs.file_size == 1234 and not attrs.isDirectory
    _expect_chain(reqs, [CREATE, CLOSE], clear)
    _, reqs, _ = wire.frames(lambda: wire.conn.rename(info.share, name, name + ".r"))
    _expect_chain(reqs, [CREATE, SET_INFO, CLOSE], clear)
    assert os.path.exists(_disk(info, name + ".r")) and not os.path.exists(_disk(info, name))
    _, reqs, _ = wire.frames(lambda: wire.conn.deleteFiles(info.share, name + ".r"))
    _expect_chain(reqs, [CREATE, CLOSE], clear)
    assert not os.path.exists(_disk(info, name + ".r"))


def test_a_file_larger_than_the_first_read_comes_back_whole(wire):
    info, name = wire.info, "c-large-%s.bin" % id(wire)
    data = os.urandom(3 * 1024 * 1024 + 4321)
    _put_on_disk(info, name, data)
    out = io.BytesIO()
    attrs, n = wire.conn.retrieveFile(info.share, name, out)
    assert n == len(data) and out.getvalue() == data
    # and from an offset, bounded
    out = io.BytesIO()
    _, n = wire.conn.retrieveFileFromOffset(info.share, name, out, 1000, 2 * 1024 * 1024)
    assert out.getvalue() == data[1000:1000 + 2 * 1024 * 1024] and n == 2 * 1024 * 1024
    _no_handle_open(info, name)


def failing_opens(wire, prefix):
    """``[(name, status)]`` of files whose open fails: a missing one, and one nobody may read
    (when the server does not run as this user)."""
    info = wire.info
    cases = [("%s-missing-%s.bin" % (prefix, id(wire)), ntstatus.STATUS_OBJECT_NAME_NOT_FOUND)]
    if os.geteuid() == 0 or os.stat(info.share_path).st_uid != os.geteuid():
        locked = "%s-locked-%s.bin" % (prefix, id(wire))
        _put_on_disk(info, locked, b"secret", mode=0o000)
        cases.append((locked, ntstatus.STATUS_ACCESS_DENIED))
    return cases


def retrieve_failure(wire, name):
    """``(OperationFailure, request frames, response frames)`` of retrieveFile(name)."""
    def fail():
        with pytest.raises(OperationFailure) as e:
            wire.conn.retrieveFile(wire.info.share, name, io.BytesIO())
        return e.value
    return wire.frames(fail)


def other_failed_opens(wire, cases, prefix):
    """getAttributes, deleteFiles and retrieveFile of a folder fail with the open's status,
    no handle is left on the unreadable file, and the connection goes on."""
    info, conn = wire.info, wire.conn
    with pytest.raises(OperationFailure) as e:
        conn.getAttributes(info.share, cases[0][0])
    assert e.value.status == ntstatus.STATUS_OBJECT_NAME_NOT_FOUND and cases[0][0] in str(e.value)
    with pytest.raises(OperationFailure) as e:
        conn.deleteFiles(info.share, cases[0][0])
    assert e.value.status == ntstatus.STATUS_OBJECT_NAME_NOT_FOUND
    # a folder given to retrieveFile: the open refuses it (FILE_NON_DIRECTORY_FILE)
    folder = "%s-dir-%s" % (prefix, id(wire))
    os.makedirs(_disk(info, folder), exist_ok=True)
    with pytest.raises(OperationFailure) as e:
        conn.retrieveFile(info.share, folder, io.BytesIO())
    assert e.value.status == ntstatus.STATUS_FILE_IS_A_DIRECTORY
    os.rmdir(_disk(info, folder))
    for name, _status in cases[1:]:
        os.chmod(_disk(info, name), 0o666)
        _no_handle_open(info, name)
    assert conn.echo(b"still usable") == b"still usable"


def test_create_failure_cascades_and_names_the_path(wire):
    clear = wire.conn.security.encrypted is False
    cases = failing_opens(wire, "c")
    for name, status in cases:
        err, reqs, resps = retrieve_failure(wire, name)
        assert err.status == status and name in str(err)
        parsed = _expect_chain(resps, [CREATE, READ, CLOSE], clear)
        if parsed:
            # the READ and the CLOSE of the chain fail with the CREATE's status
            assert [s for _c, s in parsed] == [status] * 3
        assert len(reqs) == 1  # nothing else sent: no handle to close
    other_failed_opens(wire, cases, "c")


def test_delete_on_close_keeps_delete_rules(wire):
    """A read-only file is not deleted (FILE_DELETE_ON_CLOSE is refused as the disposition
    was), a file open elsewhere without FILE_SHARE_DELETE neither."""
    info, conn = wire.info, wire.conn
    name = "c-ro-%s.bin" % id(wire)
    _put_on_disk(info, name, b"r")
    conn.resetFileAttributes(info.share, name, ATTR_READONLY)
    with pytest.raises(OperationFailure) as e:
        conn.deleteFiles(info.share, name)
    assert e.value.status == ntstatus.STATUS_CANNOT_DELETE and name in str(e.value)
    assert os.path.exists(_disk(info, name))
    conn.resetFileAttributes(info.share, name)
    conn.deleteFiles(info.share, name)
    assert not os.path.exists(_disk(info, name))


# --- the file changes between the compound and the follow-up reads ----------------------
def _after_first_compound(path, change):
    """A response hook applying ``change`` to the file on the server's disk once the
    CREATE + READ + CLOSE answer passes (before the client sees it)."""
    def on_response(proxy, payload):
        parsed = chain(payload)
        if parsed and [c for c, _s in parsed] == [CREATE, READ, CLOSE] and not proxy.state.get("done"):
            proxy.state["done"] = True
            change(path)
        return payload
    return on_response


def _grow(path):
    with open(path, "ab") as f:
        f.write(os.urandom(300000))


def _shrink(path):
    os.truncate(path, 1024 * 1024 + 100)


def _rewrite(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.write(os.urandom(size))
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10 ** 9))


@pytest.mark.parametrize("change", [_grow, _shrink, _rewrite], ids=["grows", "shrinks", "rewritten"])
def test_a_file_changed_after_the_compound_is_never_mixed(samba, change):
    """The clear-text session lets the proxy spot the compound's answer; the file on disk
    changes right then: what comes back is the file as the second open saw it, whole."""
    name = "c-change-%s.bin" % change.__name__
    path = _put_on_disk(samba, name, os.urandom(2 * 1024 * 1024 + 5))
    retrieved_as_on_disk(Wire(samba, {}, on_response=_after_first_compound(path, change)), name, path)


def retrieved_as_on_disk(w, name, path):
    """retrieveFile through ``w`` (whose proxy hook changes the file once, setting
    ``state["done"]``) delivers the file as it is on the disk now, whole; ``w`` is closed."""
    try:
        out = io.BytesIO()
        _, n = w.conn.retrieveFile(w.info.share, name, out)
        assert w.proxy.state.get("done")
        with open(path, "rb") as f:
            now = f.read()
        assert n == len(now) and out.getvalue() == now
    finally:
        w.close()
    _no_handle_open(w.info, name)


# --- the CREATE succeeds, a later request of the chain fails ----------------------------
def _forge_status(command, status, listing=False):
    """Rewrites the status of ``command`` in the first chain that starts with CREATE (a
    listing's chain when ``listing``, another one otherwise)."""
    def on_response(proxy, payload):
        parsed = chain(payload)
        if parsed and len(parsed) > 1 and parsed[0][0] == CREATE and not proxy.state.get("done") \
                and (parsed[1][0] == QUERY_DIRECTORY) == listing:
            offsets = [off for off, _e in split_compound(payload)]
            for (cmd, _s), off in zip(parsed, offsets):
                if cmd == command:
                    proxy.state["done"] = True
                    payload = bytearray(payload)
                    struct.pack_into("<I", payload, off + 8, status)
                    return bytes(payload)
        return payload
    return on_response


def test_a_failed_close_in_the_chain_is_closed_again(samba):
    """The chain's CLOSE answer says it failed (rewritten on a clear-text session): the
    client closes the handle on its own, then raises; nothing stays open."""
    name = "c-close-fails.bin"
    _put_on_disk(samba, name, b"z" * 5000)
    w = Wire(samba, {}, on_response=_forge_status(CLOSE, ntstatus.STATUS_ACCESS_DENIED))
    try:
        def fail():
            with pytest.raises(OperationFailure) as e:
                w.conn.retrieveFile(samba.share, name, io.BytesIO())
            return e.value
        err, reqs, _resps = w.frames(fail)
        assert err.status == ntstatus.STATUS_ACCESS_DENIED and name in str(err)
        assert [chain(r)[0][0] for r in reqs] == [CREATE, CLOSE]  # the chain, then a CLOSE of the FileId
        assert w.conn.echo(b"ok") == b"ok"
    finally:
        w.close()
    _no_handle_open(samba, name)


def test_a_failed_read_in_the_chain_raises_its_status(samba):
    name = "c-read-fails.bin"
    _put_on_disk(samba, name, b"y" * 5000)
    w = Wire(samba, {}, on_response=_forge_status(READ, ntstatus.STATUS_ACCESS_DENIED))
    try:
        with pytest.raises(OperationFailure) as e:
            w.conn.retrieveFile(samba.share, name, io.BytesIO())
        assert e.value.status == ntstatus.STATUS_ACCESS_DENIED and name in str(e.value)
    finally:
        w.close()
    _no_handle_open(samba, name)
