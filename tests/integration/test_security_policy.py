"""Security defaults against a man in the middle and hostile servers (issue 10).

Every test puts :class:`tests.hostile.MitmProxy` between the client and the private smbd and
plays the attacker: it rewrites, forges, replays or delays messages. Each asserts the secure
outcome from the outside: forged data is never returned as success, memory stays bounded,
names from the server are checked before anything uses them, no credentials go to an SMB1
downgrade, and the server's disk shows what really happened.

SMB2 header offsets used below ([MS-SMB2] 2.2.1): Status 8, Command 12, CreditResponse 14,
Flags 16, MessageId 24, (sync) TreeId 36 / (async) AsyncId 32, SessionId 40; bodies start
at 64.
"""

import io
import os
import struct
import time
import tracemalloc

import pytest

from smb import smb_structs
from smb.errors import NotConnectedError, OperationFailure, ProtocolError, SMBTimeout, UnsupportedFeature
from smb.SMBConnection import SMBConnection
from tests.hostile import MitmProxy, frame

pytestmark = pytest.mark.integration

NEGOTIATE, SESSION_SETUP, TREE_CONNECT, CREATE, CLOSE, READ, IOCTL, QUERY_DIRECTORY = (
    0, 1, 3, 5, 6, 8, 0x0B, 0x0E)
STATUS_PENDING = 0x00000103
STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_NO_MORE_FILES = 0x80000006
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
FLAGS_SERVER_TO_REDIR, FLAGS_ASYNC = 0x1, 0x2
SESSION_FLAG_IS_GUEST, SESSION_FLAG_IS_NULL = 0x1, 0x2


def u16(p, off):
    return struct.unpack_from("<H", p, off)[0]


def u32(p, off):
    return struct.unpack_from("<I", p, off)[0]


def put(p, off, fmt, value):
    b = bytearray(p)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


def is_smb2(p):
    return p[:4] == b"\xfeSMB"


def carries_read(p):
    """A READ request/response, alone or in a compound (CREATE + READ + CLOSE, issue 12)."""
    from tests.hostile_mutations import _chain_offsets
    return is_smb2(p) and READ in [struct.unpack_from("<H", p, b + 12)[0] for b in _chain_offsets(p)]


def command(p):
    return u16(p, 12) if is_smb2(p) else None


def response_header(request, status, credits=1, flags=FLAGS_SERVER_TO_REDIR):
    """A server header answering ``request`` (sync, same MessageId, SessionId, TreeId)."""
    h = bytearray(request[:64])
    struct.pack_into("<IHH", h, 8, status, command(request), credits)
    struct.pack_into("<I", h, 16, flags)
    h[48:64] = bytes(16)
    return h


def connect(info, port, user=None, password=None, **kwargs):
    c = SMBConnection(info.user if user is None else user,
                      info.password if password is None else password,
                      "MITMTEST", info.server_name, is_direct_tcp=True, **kwargs)
    return c, c.connect("127.0.0.1", port, timeout=10)


def share_file(info, name, data):
    path = os.path.join(info.share_path, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o666)
    return path


@pytest.fixture
def smb1():
    """SMB1 for the duration of a test (pysmb's switch)."""
    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = False
    yield
    smb_structs.SUPPORT_SMB2 = old


# --- finding 2: no SMB1 unless asked for -------------------------------------------------------
def test_smb1_is_not_offered_by_default(samba):
    with MitmProxy((samba.host, samba.port)) as proxy:
        c, ok = connect(samba, proxy.port)
        assert ok and c.dialect == 0x0311
        c.close()
    first = proxy.requests[0]
    assert is_smb2(first) and command(first) == NEGOTIATE and b"NT LM 0.12" not in first


def test_forged_smb1_answer_gets_no_credentials(samba):
    """A man in the middle answers the NEGOTIATE with an unsigned SMB1 one: the client fails
    before it sends any SESSION_SETUP (no credentials for a downgrade)."""
    smb1_answer = bytearray(b"\xffSMB\x72" + bytes(27))
    smb1_answer[9] = 0x80  # FLAGS: reply
    smb1_answer += b"\x11" + struct.pack("<HBHHIIIIQhB", 0, 0x03, 50, 1, 65536, 65536, 0, 0x8000F3FD,
                                         0, 0, 8) + b"\x08\x00" + bytes(8)

    def answer_smb1(proxy, p):
        proxy.to_client(bytes(smb1_answer))
        return None

    with MitmProxy((samba.host, samba.port), on_request=answer_smb1) as proxy:
        with pytest.raises(ProtocolError):
            connect(samba, proxy.port)
    assert len(proxy.requests) == 1


def test_smb1_only_server_names_the_switch(samba_factory, smb1):
    info = samba_factory("smb1only")
    smb_structs.SUPPORT_SMB2 = True  # the default: SMB2 only
    with pytest.raises(UnsupportedFeature, match="allow_smb1=True"):
        connect(info, info.port)
    c, ok = connect(info, info.port, allow_smb1=True)  # "SMB1 or SMB2, whichever"
    assert ok and c.dialect == 0x0001 and c.listPath(info.share, "/")
    c.close()
    smb_structs.SUPPORT_SMB2 = False  # pysmb's opt-in: SMB1 only
    c, ok = connect(info, info.port)
    assert ok and c.dialect == 0x0001
    c.close()


def test_allow_smb1_still_prefers_smb2(samba):
    c, ok = connect(samba, samba.port, allow_smb1=True)
    assert ok and c.dialect == 0x0311
    c.close()


# --- finding 3: downgrade within SMB2 ------------------------------------------------------------
def _rewrite_dialects_to_21(proxy, p):
    if is_smb2(p) and command(p) == NEGOTIATE:
        n = u16(p, 66)
        p = p[:100] + struct.pack("<%dH" % n, *([0x0210] * n)) + p[100 + 2 * n:]
    return p


def _clear_security_mode(proxy, p):
    if is_smb2(p) and command(p) == NEGOTIATE:
        p = put(p, 66, "<H", 0)
    return p


@pytest.mark.parametrize("sign_options", [1, 2], ids=["when-supported", "when-required"])
def test_dialect_downgrade_to_21_is_detected(samba, sign_options):
    """[MS-SMB2] 3.2.5.14.12: FSCTL_VALIDATE_NEGOTIATE_INFO, signed, before any share is used,
    for every dialect before 3.1.1: the rewritten NEGOTIATE is caught and no file data is
    ever returned."""
    share_file(samba, "downgrade.txt", b"genuine")
    with MitmProxy((samba.host, samba.port), on_request=_rewrite_dialects_to_21,
                   on_response=_clear_security_mode) as proxy:
        c = SMBConnection(samba.user, samba.password, "MITMTEST", samba.server_name,
                          is_direct_tcp=True, sign_options=sign_options)
        try:
            if c.connect("127.0.0.1", proxy.port, timeout=10):
                assert c.dialect == 0x0210  # the downgrade itself went through ...
                with pytest.raises((ProtocolError, NotConnectedError)):
                    c.retrieveFile(samba.share, "downgrade.txt", io.BytesIO())  # ... and is caught
        except (ProtocolError, NotConnectedError):
            pass
        finally:
            c.close()


def test_validation_proxy_control(samba):
    """The same proxy without the rewrite: everything works (the test above is not vacuous)."""
    share_file(samba, "control.txt", b"genuine")
    with MitmProxy((samba.host, samba.port)) as proxy:
        c, ok = connect(samba, proxy.port, sign_options=1, allow_smb1=False)
        buf = io.BytesIO()
        assert ok and c.retrieveFile(samba.share, "control.txt", buf)[1] == 7
        assert buf.getvalue() == b"genuine"
        c.close()


def test_sign_when_supported_signs_whatever_the_security_mode_says(samba):
    share_file(samba, "signed.txt", b"x" * 1000)
    with MitmProxy((samba.host, samba.port), on_response=_clear_security_mode) as proxy:
        c = SMBConnection(samba.user, samba.password, "MITMTEST", samba.server_name,
                          is_direct_tcp=True, sign_options=SMBConnection.SIGN_WHEN_SUPPORTED)
        # 3.1.1: the cleared SecurityMode breaks the preauth hash; whatever happens, no
        # unsigned session comes out of it
        try:
            ok = c.connect("127.0.0.1", proxy.port, timeout=10)
            assert not ok or c.security.signed
        except (ProtocolError, NotConnectedError):
            pass
        c.close()
    c, ok = connect(samba, samba.port, sign_options=SMBConnection.SIGN_WHEN_SUPPORTED,
                    allow_smb1=False)
    assert ok and c.security.signed and c.security.signing_algorithm == "AES-GMAC"
    c.close()


@pytest.mark.parametrize("use_smb1", [False, True], ids=["smb2", "smb1"])
def test_require_signing(samba_factory, use_smb1):
    """The caller can refuse any unsigned session; every response is then signed. (Samba's
    SMB1 offers signing only when configured: the "signing" variant.)"""
    info = samba_factory("signing" if use_smb1 else "default")
    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = not use_smb1
    try:
        with MitmProxy((info.host, info.port)) as proxy:
            c, ok = connect(info, proxy.port, require_signing=True)
            assert ok and c.security.signed
            assert c.listPath(info.share, "/")
            assert c.listPath(info.share, "/")  # on the tree connected now
            c.close()
        if use_smb1:  # an SMB1 server that does not sign: refused before authentication
            default = samba_factory("default")
            with pytest.raises(UnsupportedFeature, match="signing"):
                connect(default, default.port, require_signing=True)
    finally:
        smb_structs.SUPPORT_SMB2 = old
    if use_smb1:
        after_logon = [p for p in proxy.responses if p[4] not in (0x72, 0x73)]
        assert after_logon and all(u16(p, 10) & 0x0004 for p in after_logon)  # FLAGS2 signature
    else:
        # signed, or encrypted (the first listing of a share travels encrypted with its
        # TREE_CONNECT on 3.1.1, issue 12)
        after_logon = [p for p in proxy.responses if command(p) not in (NEGOTIATE, SESSION_SETUP)]
        assert after_logon and all(u32(p, 16) & 0x8 or p[:4] == b"\xfdSMB" for p in after_logon)
        assert any(is_smb2(p) for p in after_logon)  # the second listing's answer: signed


# --- finding 1: guest and null sessions ------------------------------------------------------------
@pytest.mark.parametrize("flag", [SESSION_FLAG_IS_GUEST, SESSION_FLAG_IS_NULL], ids=["guest", "null"])
def test_forged_guest_or_null_flag_is_refused(samba, flag):
    """The final SESSION_SETUP response claims guest/null before anything can be verified:
    for a named user the session is refused and nothing is sent on it."""
    def forge(proxy, p):
        if is_smb2(p) and command(p) == SESSION_SETUP and u32(p, 8) == 0:
            p = put(p, 66, "<H", flag)
        return p

    with MitmProxy((samba.host, samba.port), on_response=forge) as proxy:
        c, ok = connect(samba, proxy.port)
        assert ok is False and c.security is None
        c.close()
    assert not any(command(p) == TREE_CONNECT for p in proxy.requests)


# --- finding 4: bounded memory --------------------------------------------------------------------
def _bounded(func, limit_mb=48):
    tracemalloc.start()
    try:
        t0 = time.monotonic()
        with pytest.raises(ProtocolError) as e:
            func()
        elapsed = time.monotonic() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit_mb * 1024 * 1024, "peak %.1f MiB" % (peak / 2**20)
    return e.value, elapsed


def test_endless_pipe_reply_is_capped(samba):
    """The pipe transceive says BUFFER_OVERFLOW and every READ of the pipe brings 64 KiB more,
    forever: listShares stops with ProtocolError at the pipe reply bound."""
    def overflow(proxy, p):
        if is_smb2(p) and command(p) == IOCTL and u32(p, 8) == 0 and u32(p, 20) == 0:
            p = put(p, 8, "<I", STATUS_BUFFER_OVERFLOW)
        return p

    chunk = bytes(range(256)) * 256

    def endless_reads(proxy, p):
        if is_smb2(p) and command(p) == READ:
            body = struct.pack("<HBBIII", 17, 80, 0, len(chunk), 0, 0)
            proxy.to_client(bytes(response_header(p, STATUS_BUFFER_OVERFLOW)) + body + chunk)
            return None
        return p

    with MitmProxy((samba.host, samba.port), on_request=endless_reads, on_response=overflow) as proxy:
        c, ok = connect(samba, proxy.port)
        assert ok
        err, elapsed = _bounded(lambda: c.listShares(timeout=30))
        assert "pipe reply exceeds" in str(err) and elapsed < 20
        c.close()


def _page(names):
    """FileIdBothDirectoryInformation entries ([MS-FSCC] 2.4.17) for ``names``."""
    out = b""
    for i, name in enumerate(names):
        raw = name.encode("utf-16-le")
        entry = struct.pack("<II6QIIIBB24sHQ", 0, 0, 0, 0, 0, 0, 0, 0, 0x80, len(raw), 0, 0, 0, b"",
                            0, i + 1) + raw
        if i < len(names) - 1:
            entry += bytes((8 - len(entry) % 8) % 8)
            entry = struct.pack("<I", len(entry)) + entry[4:]
        out += entry
    return out


def _rewrite_chain(p, fn):
    """``p`` with each SMB2 message of its (compound) chain replaced by ``fn(message)``, the
    NextCommand offsets recomputed (8-byte aligned)."""
    if not is_smb2(p):
        return p
    from smb.smb2.header import split_compound
    msgs = [fn(bytes(p[o:e])) for o, e in split_compound(p)]
    out = b""
    for i, m in enumerate(msgs):
        last = i == len(msgs) - 1
        m = m if last else m + bytes((8 - len(m) % 8) % 8)
        out += put(m, 20, "<I", 0 if last else len(m))
    return out


def test_listing_that_repeats_forever_is_refused(samba):
    """Instead of STATUS_NO_MORE_FILES the server sends the same page again, forever."""
    page = _page(["loop-a", "loop-b"])

    def forever(proxy, p):
        # alone, or in the CREATE + QUERY_DIRECTORY x 2 + CLOSE chain of a listing (issue 12)
        return _rewrite_chain(p, lambda m: bytes(response_header(m, 0, credits=u16(m, 14), flags=u32(m, 16)))
                              + struct.pack("<HHI", 9, 72, len(page)) + page
                              if command(m) == QUERY_DIRECTORY and u32(m, 8) == STATUS_NO_MORE_FILES else m)

    os.makedirs(os.path.join(samba.share_path, "loopdir"), exist_ok=True)
    with MitmProxy((samba.host, samba.port), on_response=forever) as proxy:
        c, ok = connect(samba, proxy.port)
        c.getAttributes(samba.share, "loopdir")  # the tree connect: the listing then goes in clear
        err, _elapsed = _bounded(lambda: c.listPath(samba.share, "loopdir", timeout=30))
        assert "repeats" in str(err)
        with pytest.raises(NotConnectedError):  # malformed data broke the connection
            c.listPath(samba.share, "/")
        c.close()


@pytest.mark.parametrize("use_smb1", [False, True], ids=["smb2", "smb1"])
def test_read_stops_at_the_size_known_at_open(samba, use_smb1):
    """The open claims 10 bytes: retrieveFile asks for 10 and returns 10, whatever the file
    really holds (the server cannot push more into the caller's buffer)."""
    data = bytes(range(256)) * 400
    share_file(samba, "ten.bin", data)

    def shrink(proxy, p):
        if is_smb2(p) and command(p) == CREATE and u32(p, 8) == 0 and u16(p, 64) == 89:
            p = put(p, 64 + 48, "<Q", 10)  # EndOfFile
        elif p[:5] == b"\xffSMB\xa2" and u32(p, 5) == 0 and p[32] >= 34:
            p = put(p, 33 + 55, "<Q", 10)  # NT_CREATE_ANDX EndOfFile
        return p

    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = not use_smb1
    try:
        with MitmProxy((samba.host, samba.port), on_response=shrink) as proxy:
            c, ok = connect(samba, proxy.port)
            buf = io.BytesIO()
            assert c.retrieveFile(samba.share, "ten.bin", buf)[1] == 10
            assert buf.getvalue() == data[:10]
            c.close()
    finally:
        smb_structs.SUPPORT_SMB2 = old


# --- finding 5: forged interim responses ------------------------------------------------------
@pytest.mark.parametrize("count", [1, 2])
def test_forged_interim_response(samba, count):
    """Interim responses are never signed, so anyone can forge one: it cannot grant more
    credits than its request charged, and a second one for a request is malformed."""
    share_file(samba, "interim.txt", b"interim")

    def forge(proxy, p):
        if carries_read(p) and not proxy.state.get("done"):
            proxy.state["done"] = True
            h = response_header(p, STATUS_PENDING, credits=65535, flags=FLAGS_SERVER_TO_REDIR | FLAGS_ASYNC)
            struct.pack_into("<Q", h, 32, 0x1234)  # AsyncId
            struct.pack_into("<I", h, 20, 0)  # one message (the first of a chain's answers)
            interim = bytes(h) + struct.pack("<HBBI", 9, 0, 0, 0) + b"\0"
            for _ in range(count):
                proxy.to_client(interim)
        return p

    with MitmProxy((samba.host, samba.port), on_response=forge) as proxy:
        c, ok = connect(samba, proxy.port)
        buf = io.BytesIO()
        if count == 1:
            assert c.retrieveFile(samba.share, "interim.txt", buf)[1] == 7
            assert buf.getvalue() == b"interim"
            assert c._engine.conn.credits < 2048
        else:
            with pytest.raises(ProtocolError, match="second interim"):
                c.retrieveFile(samba.share, "interim.txt", buf)
        c.close()


# --- finding 6: no LM hash response ------------------------------------------------------------
@pytest.mark.parametrize("lanman", [False, True])
def test_no_lm_response_unless_asked(samba_factory, smb1, lanman):
    """NTLMv1 against a server without extended session security: the LM field carries a
    copy of the NT response, never DESL(LM hash), unless ``lanman_auth``."""
    info = samba_factory("ntlmv1")
    old = smb_structs.SUPPORT_EXTENDED_SECURITY
    smb_structs.SUPPORT_EXTENDED_SECURITY = False
    try:
        with MitmProxy((info.host, info.port)) as proxy:
            c, ok = connect(info, proxy.port, use_ntlm_v2=False, lanman_auth=lanman)
            c.close()
    finally:
        smb_structs.SUPPORT_EXTENDED_SECURITY = old
    setup = [p for p in proxy.requests if p[:5] == b"\xffSMB\x73"][0]
    assert setup[32] == 13  # the non-extended SESSION_SETUP_ANDX
    oem_len, uni_len = struct.unpack_from("<HH", setup, 33 + 14)
    data = setup[33 + 26 + 2:]
    oem, uni = data[:oem_len], data[oem_len:oem_len + uni_len]
    assert len(uni) == 24
    assert (oem == uni) is (not lanman)


# --- finding 8: names from the server --------------------------------------------------------------
BAD_NAMES = {"slash": "../x.txt", "backslash": "a\\bb.txt", "nul": "aa\0a.txt", "unc": "\\\\h\\s.tx"}


@pytest.mark.parametrize("use_smb1", [False, True], ids=["smb2", "smb1"])
@pytest.mark.parametrize("case", sorted(BAD_NAMES) + ["second-dotdot"])
def test_invalid_names_from_the_server_are_refused(samba, case, use_smb1):
    folder = "names-%s-%d" % (case, use_smb1)
    os.makedirs(os.path.join(samba.share_path, folder), exist_ok=True)
    os.chmod(os.path.join(samba.share_path, folder), 0o777)
    for n in ("aaaa.txt", "keep.txt", "zq"):
        share_file(samba, os.path.join(folder, n), b"keep me")
    old_name, new_name = ("zq", "..") if case == "second-dotdot" else ("aaaa.txt", BAD_NAMES[case])

    def rename(proxy, p):
        return p.replace(old_name.encode("utf-16-le"), new_name.encode("utf-16-le"))

    old = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = not use_smb1
    try:
        for op in ("list", "delete"):
            with MitmProxy((samba.host, samba.port), on_response=rename) as proxy:
                c, ok = connect(samba, proxy.port)
                assert ok
                # the tree connect first: the first listing of a share is encrypted on 3.1.1
                c.getAttributes(samba.share, folder + "/keep.txt")
                with pytest.raises(ProtocolError):
                    if op == "list":
                        c.listPath(samba.share, folder)
                    else:
                        c.deleteFiles(samba.share, folder + "/*", delete_matching_folders=True)
                c.close()
    finally:
        smb_structs.SUPPORT_SMB2 = old
    assert sorted(os.listdir(os.path.join(samba.share_path, folder))) == ["aaaa.txt", "keep.txt", "zq"]


# --- finding 9: session setup legs ----------------------------------------------------------------
def test_endless_session_setup_is_bounded(samba):
    """Every SESSION_SETUP is answered MORE_PROCESSING_REQUIRED with the first challenge."""
    def again(proxy, p):
        if is_smb2(p) and command(p) == SESSION_SETUP:
            if "first" not in proxy.state:
                proxy.state["first"] = p
            elif u32(p, 8) != STATUS_MORE_PROCESSING_REQUIRED or True:
                first = proxy.state["first"]
                p = first[:24] + p[24:32] + first[32:]
        return p

    with MitmProxy((samba.host, samba.port), on_response=again) as proxy:
        t0 = time.monotonic()
        with pytest.raises((ProtocolError, NotConnectedError)):
            connect(samba, proxy.port)
        assert time.monotonic() - t0 < 5
    assert sum(1 for p in proxy.requests if command(p) == SESSION_SETUP) <= 8


# --- finding 10: no handle left open after a timeout ------------------------------------------------
def test_handle_closed_after_timeout(samba):
    """READ answers come 3 s late; retrieveFile(timeout=1) times out, the handle is closed
    (by the CLOSE of the small file's CREATE + READ + CLOSE chain, or with a fresh deadline
    after a separate READ), and the file (opened without FILE_SHARE_DELETE) can be deleted on
    the same connection right away."""
    path = share_file(samba, "slow.bin", b"s" * 5000)

    def slow(proxy, p):
        if carries_read(p):
            proxy.to_client(p, delay=3.0)
            return None
        return p

    with MitmProxy((samba.host, samba.port), on_response=slow) as proxy:
        c, ok = connect(samba, proxy.port)
        with pytest.raises(SMBTimeout):
            c.retrieveFile(samba.share, "slow.bin", io.BytesIO(), timeout=1)
        c.deleteFiles(samba.share, "slow.bin", timeout=5)
        assert not os.path.exists(path)
        c.close()


# --- finding 7: no secret in errors, reprs or logs --------------------------------------------
def test_no_secret_in_errors_reprs_or_logs(samba, caplog):
    import logging

    secret = "Pa55-" + samba.password[::-1]
    caplog.set_level(logging.DEBUG)
    texts = []
    for password in (secret, lambda: secret):
        c = SMBConnection(samba.user, password, "MITMTEST", samba.server_name, is_direct_tcp=True)
        assert c.connect(samba.host, samba.port, timeout=10) is False
        texts += [repr(c), str(c)]
        c.close()
    c = SMBConnection(samba.user, samba.password, "MITMTEST", samba.server_name, is_direct_tcp=True)
    assert c.connect(samba.host, samba.port, timeout=10)
    texts += [repr(c), repr(c._engine), repr(c._engine.config), repr(c.security)]
    try:
        c.retrieveFile(samba.share, "no-such-file-%s" % os.getpid(), io.BytesIO())
    except OperationFailure as e:
        texts += [str(e), repr(e), repr(e.smb_messages)]
    c.close()
    texts += [r.getMessage() for r in caplog.records]
    for t in texts:
        assert secret not in t and samba.password not in t, t
