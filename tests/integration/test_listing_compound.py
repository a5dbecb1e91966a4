"""listPath in one round trip on SMB 3.1.1 (issue 12): CREATE + QUERY_DIRECTORY +
QUERY_DIRECTORY + CLOSE as one related compound, counted on the wire through a relaying proxy
on a plain, a signed and an encrypted session; a directory larger than the first page listed
whole; the error paths (a missing directory: every request of the chain carries the CREATE's
status; a pattern matching nothing) leave no open behind. Names are checked against the
server's disk."""

import os

import pytest

from smb import ntstatus
from smb.base import OperationFailure
from smb.engine import Timeout
from smb.smb2 import compounds
from tests.integration.test_compounds import CLOSE, CREATE, Wire, _expect_chain, _forge_status, chain
from tests.integration.test_compounds import wire  # noqa: F401  (the fixture: plain, signed, encrypted)

pytestmark = pytest.mark.integration

QUERY_DIRECTORY = 14


def _folder(info, name, n):
    path = os.path.join(info.share_path, name)
    os.makedirs(path, exist_ok=True)
    for i in range(n):
        open(os.path.join(path, "entry-%05d-%s.txt" % (i, "x" * (i % 40))), "w").close()
    return path


def _names(entries):
    return sorted(e.filename for e in entries)


def _no_open_left(wire, folder):
    """An exclusive open of ``folder`` (no sharing at all) from a second session succeeds only
    when no open of ours is left on it."""
    conn = wire.conn
    engine = conn._engine
    wait = Timeout(10)
    tree = conn._tree(wire.info.share, wait)
    opened = engine.create(tree, folder, desired_access=0x00100081, share_access=0,
                           create_options=0x1, timeout=wait)
    engine.close_file(tree, opened.file_id, wait)


def test_small_directory_is_one_round_trip(wire):
    info, conn = wire.info, wire.conn
    name = "l-small-%d" % id(wire)
    disk = _folder(info, name, 25)
    entries, reqs, resps = wire.frames(lambda: conn.listPath(info.share, name))
    assert _names(entries) == sorted([".", ".."] + os.listdir(disk))
    clear = conn.security.encrypted is False
    chain = [CREATE, QUERY_DIRECTORY, QUERY_DIRECTORY, CLOSE]
    _expect_chain(reqs, chain, clear)
    parsed = _expect_chain(resps, chain, clear)
    if parsed:
        assert [s for _c, s in parsed] == [0, 0, ntstatus.STATUS_NO_MORE_FILES, 0]
    # pysmb's semantics are kept: a pattern, the search attributes, '.' and '..'
    entries, reqs, _ = wire.frames(lambda: conn.listPath(info.share, name, pattern="entry-0000?-*"))
    assert _names(entries) == sorted(n for n in os.listdir(disk) if n.startswith("entry-0000"))
    assert len(reqs) == 1
    _no_open_left(wire, name)


def test_large_directory_is_listed_whole(wire, monkeypatch):
    """3,000 entries do not fit a (shrunk) first page: the listing starts over on a new open
    and goes page by page; every name comes back once and the open is closed."""
    info, conn = wire.info, wire.conn
    name = "l-large-%d" % id(wire)
    disk = _folder(info, name, 3000)
    monkeypatch.setattr(compounds, "FIRST_LISTING_PAGE", 16 * 1024)
    entries, reqs, _ = wire.frames(lambda: conn.listPath(info.share, name))
    names = [e.filename for e in entries]
    assert len(names) == len(set(names)) == 3002
    assert sorted(names) == sorted([".", ".."] + os.listdir(disk))
    assert len(reqs) > 3
    _no_open_left(wire, name)
    monkeypatch.undo()  # the real first page holds them all
    entries, reqs, _ = wire.frames(lambda: conn.listPath(info.share, name))
    assert len(entries) == 3002 and len(reqs) == 1


def test_missing_directory_cascades_and_leaves_nothing_open(wire):
    info, conn = wire.info, wire.conn
    clear = conn.security.encrypted is False
    missing = "l-missing-%d" % id(wire)

    def fail():
        with pytest.raises(OperationFailure) as e:
            conn.listPath(info.share, missing)
        return e.value
    err, reqs, resps = wire.frames(fail)
    assert err.status == ntstatus.STATUS_OBJECT_NAME_NOT_FOUND and missing in str(err)
    assert len(reqs) == 1  # nothing to close
    parsed = _expect_chain(resps, [CREATE, QUERY_DIRECTORY, QUERY_DIRECTORY, CLOSE], clear)
    if parsed:  # the later requests of the chain fail with the CREATE's status
        assert [s for _c, s in parsed] == [ntstatus.STATUS_OBJECT_NAME_NOT_FOUND] * 4
    # a file is not a directory: FILE_DIRECTORY_FILE refuses it
    open(os.path.join(info.share_path, missing + ".txt"), "w").close()
    with pytest.raises(OperationFailure) as e:
        conn.listPath(info.share, missing + ".txt")
    assert e.value.status == ntstatus.STATUS_NOT_A_DIRECTORY
    assert conn.echo(b"still usable") == b"still usable"


def test_pattern_matching_nothing_closes_the_open(wire):
    info, conn = wire.info, wire.conn
    name = "l-nomatch-%d" % id(wire)
    _folder(info, name, 3)
    entries, reqs, _ = wire.frames(lambda: conn.listPath(info.share, name, pattern="nothing-*"))
    assert entries == [] and len(reqs) == 1
    _no_open_left(wire, name)
    # an empty folder lists '.' and '..'
    os.makedirs(os.path.join(info.share_path, name, "empty"))
    entries, reqs, _ = wire.frames(lambda: conn.listPath(info.share, name + "/empty"))
    assert _names(entries) == [".", ".."] and len(reqs) == 1


# --- the CREATE succeeds, a later request of the chain fails (forged on a clear-text session) --
def _forging_wire(samba, command):
    forge = _forge_status(command, ntstatus.STATUS_ACCESS_DENIED, listing=True)
    w = Wire(samba, {}, on_response=lambda proxy, p: forge(proxy, p) if proxy.state.get("armed") else p)
    w.info = samba
    w.proxy.state["armed"] = True
    return w


@pytest.mark.parametrize("command", [QUERY_DIRECTORY, CLOSE], ids=["query", "close"])
def test_a_failure_after_the_create_raises_its_status_and_closes(samba, command):
    """The first QUERY_DIRECTORY fails: the chain's CLOSE has closed the open. The CLOSE
    fails: the client closes the FileId on its own. Either way the status is raised and
    nothing stays open."""
    name = "l-forged-%d" % command
    _folder(samba, name, 3)
    w = _forging_wire(samba, command)
    try:
        def fail():
            with pytest.raises(OperationFailure) as e:
                w.conn.listPath(samba.share, name)
            return e.value
        err, reqs, _ = w.frames(fail)
        assert err.status == ntstatus.STATUS_ACCESS_DENIED and name in str(err)
        expected = [CREATE] if command == QUERY_DIRECTORY else [CREATE, CLOSE]
        assert [chain(r)[0][0] for r in reqs] == expected
        assert w.conn.echo(b"ok") == b"ok"
        _no_open_left(w, name)
    finally:
        w.close()


# --- the first listing of a share carries its TREE_CONNECT ---------------------------------
def _fresh(info):
    from tests.hostile import MitmProxy
    from tests.integration.test_compounds import _connect
    proxy = MitmProxy((info.host, info.port))
    return proxy, _connect(info, proxy.port)


def test_first_listing_carries_the_tree_connect(samba, monkeypatch):
    """Connect + listPath is TREE_CONNECT and the listing in one (encrypted) frame; a server
    that would not carry the new TreeId over to the CREATE gets the listing again on the tree
    (simulated: every status counts as 'not carried')."""
    name = "l-first-%d" % id(samba)
    disk = _folder(samba, name, 5)
    for not_carried, frames in (((), 1), ((0,), 2)):
        monkeypatch.setattr(compounds, "_TREE_NOT_CARRIED", not_carried)
        proxy, conn = _fresh(samba)
        try:
            before = len(proxy.requests)
            entries = conn.listPath(samba.share, name)
            assert _names(entries) == sorted([".", ".."] + os.listdir(disk))
            assert len(proxy.requests) - before == frames
            assert proxy.requests[before][:4] == b"\xfdSMB"  # a TRANSFORM_HEADER: encrypted
            assert conn._trees[samba.share.upper()].tree_id == conn.connected_trees[samba.share]
            with pytest.raises(OperationFailure) as e:
                conn.listPath(samba.share + "-missing", name)
            assert e.value.status == ntstatus.STATUS_BAD_NETWORK_NAME
            assert samba.share.upper() + "-MISSING" not in conn._trees
        finally:
            conn.close()
            proxy.close()
    # a missing folder in the first listing: its status raised, the tree kept for later calls
    monkeypatch.undo()
    proxy, conn = _fresh(samba)
    try:
        with pytest.raises(OperationFailure) as e:
            conn.listPath(samba.share, name + "-missing")
        assert e.value.status == ntstatus.STATUS_OBJECT_NAME_NOT_FOUND
        assert samba.share.upper() in conn._trees
        before = len(proxy.requests)
        assert len(conn.listPath(samba.share, name)) == 7 and len(proxy.requests) - before == 1
    finally:
        conn.close()
        proxy.close()
