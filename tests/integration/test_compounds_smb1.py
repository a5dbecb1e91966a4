"""One round trip per small-file operation on SMB1 (issue 12): AndX chains ([MS-CIFS]
2.2.3.4) -- NT_CREATE_ANDX + READ_ANDX + CLOSE, NT_CREATE_ANDX + WRITE_ANDX + CLOSE,
NT_CREATE_ANDX + CLOSE -- counted on the wire through a relaying proxy, on a plain and a
signed session, with their error paths (the NT_CREATE_ANDX fails: its status, nothing
else sent; a later request fails: the file is closed again; no handle is left open), a
server that does not chain, and files larger than the chained READ or changed between the
chain and the follow-up reads. Contents are checked against the server's disk."""

import io
import os
import struct

import pytest

from smb import ntstatus, smb_structs
from smb.smb1 import header as H
from smb.smb1.chains import MAX_CHAINED_READ
from smb.SMBConnection import SMBConnection
from tests.integration import test_compounds as compounds
from tests.integration.test_compounds import _disk, _no_handle_open, _put_on_disk

pytestmark = pytest.mark.integration

CREATE, READ, WRITE, CLOSE = (H.SMB_COM_NT_CREATE_ANDX, H.SMB_COM_READ_ANDX, H.SMB_COM_WRITE_ANDX,
                              H.SMB_COM_CLOSE)
VARIANTS = [("plain", "default"), ("signed", "signing")]


def _connect(info, port):
    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = False
    try:
        c = SMBConnection(info.user, info.password, "CHAIN1", info.server_name, is_direct_tcp=True)
        assert c.connect(info.host, port, timeout=30)
    finally:
        smb_structs.SUPPORT_SMB2 = old
    assert not c.isUsingSMB2
    return c


def chain(payload):
    """``([command of each block], status)`` of an SMB1 message."""
    r = H.parse_response(payload)
    return [b[0] for b in r.blocks], r.status


def Wire(info, on_request=None, on_response=None):
    """An SMB1 connection through a recording proxy (see test_compounds.Wire)."""
    return compounds.Wire(info, {}, on_response=on_response, on_request=on_request, connect=_connect)


@pytest.fixture(params=VARIANTS, ids=[v[0] for v in VARIANTS])
def wire(request, samba_factory):
    info = samba_factory(request.param[1])
    if info.share_path is None:
        pytest.skip("needs the private Samba (checks files on the server's disk)")
    w = Wire(info)
    assert w.conn.security.signed is (request.param[0] == "signed")
    yield w
    w.close()


def _expect(frames, commands, status=0):
    assert len(frames) == 1, "%d messages" % len(frames)
    assert chain(frames[0]) == (commands, status)


@pytest.mark.parametrize("size", [0, 1, 16 * 1024 + 7, MAX_CHAINED_READ])
def test_small_retrieve_is_one_round_trip(wire, size):
    info, name = wire.info, "a-small-%d-%s.bin" % (size, id(wire))
    data = os.urandom(size)
    _put_on_disk(info, name, data)
    out = io.BytesIO()
    (_attrs, n), reqs, resps = wire.frames(lambda: wire.conn.retrieveFile(info.share, name, out))
    assert (n, out.getvalue()) == (size, data)
    _expect(reqs, [CREATE, READ, CLOSE])
    _expect(resps, [CREATE, READ, CLOSE])
    _no_handle_open(info, name)


def test_small_store_is_one_round_trip(wire):
    info, name = wire.info, "a-up-%s.bin" % id(wire)
    _put_on_disk(info, name, b"x" * 100000)  # replaced, truncated
    data = os.urandom(16 * 1024)
    n, reqs, resps = wire.frames(lambda: wire.conn.storeFile(info.share, name, io.BytesIO(data)))
    assert n == len(data)
    _expect(reqs, [CREATE, WRITE, CLOSE])
    _expect(resps, [CREATE, WRITE, CLOSE])
    with open(_disk(info, name), "rb") as f:
        assert f.read() == data
    # an empty source: NT_CREATE_ANDX + CLOSE, and the file is empty
    n, reqs, _ = wire.frames(lambda: wire.conn.storeFile(info.share, name, io.BytesIO(b"")))
    assert n == 0 and os.path.getsize(_disk(info, name)) == 0
    _expect(reqs, [CREATE, CLOSE])
    # from an offset, without truncating
    n, reqs, _ = wire.frames(lambda: wire.conn.storeFileFromOffset(info.share, name, io.BytesIO(b"ab"), 3))
    assert n == 5 and open(_disk(info, name), "rb").read() == b"\0\0\0ab"
    _expect(reqs, [CREATE, WRITE, CLOSE])
    # more than fits the server's MaxBufferSize: separate requests, the same result
    big = os.urandom(100000)
    n, reqs, _ = wire.frames(lambda: wire.conn.storeFile(info.share, name, io.BytesIO(big)))
    assert n == len(big) and open(_disk(info, name), "rb").read() == big
    assert [chain(r)[0] for r in reqs] == [[CREATE], [WRITE], [CLOSE]]
    _no_handle_open(info, name)


def test_attributes_folders_and_deletes_are_one_round_trip(wire):
    info, name = wire.info, "a-meta-%s.bin" % id(wire)
    _put_on_disk(info, name, b"m" * 1234)
    attrs, reqs, _ = wire.frames(lambda: wire.conn.getAttributes(info.share, name))
    assert attrs.file_size == 1234 and not attrs.isDirectory
    _expect(reqs, [CREATE, CLOSE])
    _, reqs, _ = wire.frames(lambda: wire.conn.deleteFiles(info.share, name))
    _expect(reqs, [CREATE, CLOSE])
    assert not os.path.exists(_disk(info, name))
    folder = "a-dir-%s" % id(wire)
    _, reqs, _ = wire.frames(lambda: wire.conn.createDirectory(info.share, folder))
    _expect(reqs, [CREATE, CLOSE])
    assert os.path.isdir(_disk(info, folder))
    assert wire.conn.getAttributes(info.share, folder).isDirectory
    wire.conn.deleteDirectory(info.share, folder)
    assert not os.path.exists(_disk(info, folder))


def test_a_file_larger_than_the_chained_read_comes_back_whole(wire):
    info, name = wire.info, "a-large-%s.bin" % id(wire)
    data = os.urandom(3 * 1024 * 1024 + 4321)
    _put_on_disk(info, name, data)
    out = io.BytesIO()
    (_attrs, n), reqs, _ = wire.frames(lambda: wire.conn.retrieveFile(info.share, name, out))
    assert n == len(data) and out.getvalue() == data
    # the chain, the second open, then READs of the size the server answers in full: no
    # READ is repeated for the tail of a short one
    reads = [struct.unpack_from("<I", r, 33 + 6)[0] for r in reqs if chain(r)[0] == [READ]]
    assert len(reads) == len(set(reads))
    out = io.BytesIO()
    _, n = wire.conn.retrieveFileFromOffset(info.share, name, out, 1000, 2 * 1024 * 1024)
    assert out.getvalue() == data[1000:1000 + 2 * 1024 * 1024] and n == 2 * 1024 * 1024
    _no_handle_open(info, name)


def test_create_failure_reports_its_status_and_sends_nothing_else(wire):
    cases = compounds.failing_opens(wire, "a")
    for name, status in cases:
        err, reqs, resps = compounds.retrieve_failure(wire, name)
        assert err.status == status and name in str(err)
        _expect(reqs, [CREATE, READ, CLOSE])
        _expect(resps, [CREATE], status)  # the chain stops at the failed open
    compounds.other_failed_opens(wire, cases, "a")


# --- a clear-text session: the proxy rewrites the chain ----------------------------------
def _once(proxy, key):
    if proxy.state.get(key):
        return False
    proxy.state[key] = True
    return True


def _fail_block(command, status):
    """A response hook: the chained answer stops at ``command``'s block, failed with
    ``status`` (what a server sends when that request of the chain fails)."""
    def on_response(proxy, payload):
        commands, _st = chain(payload)
        if commands[:1] == [CREATE] and command in commands and _once(proxy, "done"):
            r = H.parse_response(payload)
            at = next(b[3] - 3 - len(b[1]) for b in r.blocks if b[0] == command)
            out = bytearray(payload[:at]) + b"\0\0\0"
            struct.pack_into("<I", out, 5, status)
            return bytes(out)
        return payload
    return on_response


@pytest.mark.parametrize("command", [READ, CLOSE], ids=["read", "close"])
def test_a_failed_request_after_the_open_closes_the_file_again(samba, command):
    name = "a-fails-%d.bin" % command
    _put_on_disk(samba, name, b"z" * 5000)
    w = Wire(samba, on_response=_fail_block(command, ntstatus.STATUS_ACCESS_DENIED))
    try:
        err, reqs, _resps = compounds.retrieve_failure(w, name)
        assert err.status == ntstatus.STATUS_ACCESS_DENIED and name in str(err)
        assert [chain(r)[0] for r in reqs] == [[CREATE, READ, CLOSE], [CLOSE]]
        assert w.conn.echo(b"ok") == b"ok"
    finally:
        w.close()
    _no_handle_open(samba, name)


def _unchain(proxy, payload):
    """A request hook: the server sees only the NT_CREATE_ANDX of a chain."""
    commands, _st = chain(payload)
    if commands[:1] == [CREATE] and len(commands) > 1:
        out = bytearray(payload)
        out[33] = H.SMB_COM_NO_ANDX_COMMAND
        return bytes(out)
    return payload


def test_a_server_that_does_not_chain_gets_separate_requests(samba):
    name = "a-nochain.bin"
    data = os.urandom(3000)
    _put_on_disk(samba, name, data)
    w = Wire(samba, on_request=_unchain)
    try:
        out = io.BytesIO()
        (_a, n), reqs, _ = w.frames(lambda: w.conn.retrieveFile(samba.share, name, out))
        assert n == len(data) and out.getvalue() == data
        assert [chain(r)[0] for r in reqs] == [[CREATE, READ, CLOSE], [READ], [CLOSE]]
        attrs, reqs, _ = w.frames(lambda: w.conn.getAttributes(samba.share, name))
        assert attrs.file_size == len(data) and [chain(r)[0] for r in reqs] == [[CREATE], [CLOSE]]
    finally:
        w.close()
    _no_handle_open(samba, name)


@pytest.mark.parametrize("change", [compounds._grow, compounds._shrink, compounds._rewrite],
                         ids=["grows", "shrinks", "rewritten"])
def test_a_file_changed_after_the_chain_is_never_mixed(samba, change):
    """The file changes on the server's disk right when the chained answer passes: what
    comes back is the file as the second open saw it, whole."""
    name = "a-change-%s.bin" % change.__name__
    path = _put_on_disk(samba, name, os.urandom(2 * 1024 * 1024 + 5))

    def on_response(proxy, payload):
        if chain(payload)[0] == [CREATE, READ, CLOSE] and _once(proxy, "done"):
            change(path)
        return payload
    compounds.retrieved_as_on_disk(Wire(samba, on_response=on_response), name, path)
