"""SMB3 security against the private Samba: signing and encryption for every algorithm,
tampering, preauth integrity, secure negotiate and encryption policy.

What these tests prove ([MS-SMB2] sections in brackets):

* the signing / encrypting profiles really sign / encrypt: every message after the session
  setup is signed (3.1.4.1) or is a TRANSFORM_HEADER (2.2.41, 3.1.4.3) on the wire, with
  nonces never repeated, and no plaintext (file content, file name) appears in a recording
  of every byte on the socket, while it does in an unencrypted control connection;
* one flipped byte in a signed response (header, signature, body) or in an encrypted one
  (tag, nonce, SessionId, ciphertext) raises ProtocolError and the connection refuses any
  further use, for HMAC-SHA256 (2.1 and 3.1.1), AES-CMAC (3.0, 3.0.2, 3.1.1), AES-GMAC
  (3.1.1), AES-128-CCM (3.0, 3.0.2, 3.1.1), AES-128-GCM, AES-256-CCM and AES-256-GCM (3.1.1),
  each forced through Samba's "server smb3 signing/encryption algorithms" and asserted;
* a modified NEGOTIATE response breaks the 3.1.1 preauth integrity hash (3.2.5.3.1: the
  keys differ, the signed final SESSION_SETUP response fails) and, on 3.0/3.0.2, is caught
  by FSCTL_VALIDATE_NEGOTIATE_INFO (3.2.5.14.12), which is sent signed and checked;
* a share with "server smb encrypt = required" is encrypted (TreeConnect.EncryptData,
  3.2.5.5) while another share of the same session is not;
* require_encryption fails at connect, before credentials are sent, when the server cannot
  encrypt (SMB 2.1, SMB1, no acceptable cipher).
"""

import io
import os
import struct
import time

import pytest

from nmb import transport as nmb_transport
from smb.engine import ClientConfig, Timeout
from smb.errors import NotConnectedError, ProtocolError, UnsupportedFeature
from smb.negotiate import open_engine
from smb.smb2 import constants as C
from tests import sambaserver
from tests.integration.conftest import make_connection

pytestmark = pytest.mark.integration

SECRET_SHARE = "secret"  # "server smb encrypt = required" on this share only
PATTERN = b"<<CANARY:plaintext-must-not-leak:0123456789>>"
CONTENT = PATTERN * 3000  # ~130 KiB: several reads and writes
FILE_NAME = "Canary-Secret-Name.txt"
NAME_UTF16 = FILE_NAME.encode("utf-16-le")
RW = C.GENERIC_READ | C.GENERIC_WRITE | C.DELETE
FSCTL_VALIDATE_NEGOTIATE_INFO = 0x00140204

HMAC, CMAC, GMAC = C.SIGNING_HMAC_SHA256, C.SIGNING_AES_CMAC, C.SIGNING_AES_GMAC
CCM128, GCM128, CCM256, GCM256 = (C.CIPHER_AES_128_CCM, C.CIPHER_AES_128_GCM,
                                  C.CIPHER_AES_256_CCM, C.CIPHER_AES_256_GCM)
SIGN_ALGS = "server smb3 signing algorithms"
ENC_ALGS = "server smb3 encryption algorithms"


def dl(s=30.0):
    """Each wait of an engine call may last ``s`` seconds."""
    return Timeout(s)


# --- servers -----------------------------------------------------------------------------

class SecurityServer(sambaserver.SambaServer):
    """The private Samba plus a share that alone requires encryption."""

    def _config(self, share, shadow, port, nb_port):
        secret = os.path.join(self.base, "secret")
        os.makedirs(secret)
        pw = sambaserver.pwd.getpwnam(sambaserver.TEST_USER)
        os.chown(secret, pw.pw_uid, pw.pw_gid)
        return super()._config(share, shadow, port, nb_port) + "\n".join([
            "", "[%s]" % SECRET_SHARE, "    path = %s" % secret, "    read only = no",
            "    valid users = %s" % sambaserver.TEST_USER, "    server smb encrypt = required", ""])


@pytest.fixture(scope="module")
def server():
    """``server(variant, **smb_conf_global)``: a running SecurityServer, one per config."""
    if sambaserver.external_server() is not None:
        pytest.skip("needs the private Samba (per-test smb.conf)")
    started = {}

    def get(variant, **conf):
        key = (variant, tuple(sorted(conf.items())))
        if key not in started:
            srv = SecurityServer(variant, extra_conf=conf)
            try:
                srv.start()
            except sambaserver.SambaUnavailable as e:
                srv.stop()
                pytest.fail(str(e), pytrace=False)
            started[key] = srv
        return started[key].info

    yield get
    for srv in started.values():
        srv.stop()


# --- recording and tampering ------------------------------------------------------------

class RecordingSocket:
    """Wraps a socket: keeps every byte sent and received (the real wire, framing included)."""

    def __init__(self, sock):
        self._sock = sock
        self.sent = bytearray()
        self.received = bytearray()

    def sendmsg(self, buffers, *args):
        buffers = [bytes(b) for b in buffers]
        n = self._sock.sendmsg(buffers, *args)
        self.sent += b"".join(buffers)[:n]
        return n

    def send(self, data, *args):
        n = self._sock.send(data, *args)
        self.sent += bytes(memoryview(data)[:n])
        return n

    def recv_into(self, buf, nbytes=0, *args):
        n = self._sock.recv_into(buf, nbytes, *args)
        self.received += bytes(memoryview(buf)[:n])
        return n

    def __getattr__(self, name):
        return getattr(self._sock, name)


@pytest.fixture
def wire(monkeypatch):
    """Every socket opened by the transport is recorded; returns the list of recorders."""
    sockets = []
    real = nmb_transport._open_socket

    def open_recorded(*args, **kwargs):
        rec = RecordingSocket(real(*args, **kwargs))
        sockets.append(rec)
        return rec

    monkeypatch.setattr(nmb_transport, "_open_socket", open_recorded)
    return sockets


def messages(stream):
    """The session messages of a recorded byte stream (NetBIOS / direct TCP framing)."""
    out, i = [], 0
    while i + 4 <= len(stream):
        ptype, length = stream[i], int.from_bytes(stream[i + 1:i + 4], "big")
        if ptype == 0:
            out.append(bytes(stream[i + 4:i + 4 + length]))
        i += 4 + length
    return out


class Tap:
    """Wraps one transport's send/recv: keeps the messages, flips one byte of a chosen
    received message (``arm``)."""

    def __init__(self, transport):
        self.sent, self.received = [], []
        self._send, self._recv = transport.send, transport.recv
        transport.send, transport.recv = self.send, self.recv
        self._armed = None
        self.tampered = None

    def send(self, *buffers, deadline=None):
        self.sent.append(b"".join(bytes(b) for b in buffers))
        return self._send(*buffers, deadline=deadline)

    def arm(self, offset, when=lambda msg: True):
        self._armed = (offset, when)

    def recv(self, deadline=None):
        data = self._recv(deadline)
        self.received.append(bytes(data))
        if self._armed is not None and self._armed[1](bytes(data)):
            offset, _ = self._armed
            self._armed = None
            buf = bytearray(data)
            buf[offset] ^= 0x5A
            self.tampered = bytes(buf)
            return memoryview(buf)
        return data


def tapped_engine(info, direct=True, **cfg):
    t = nmb_transport.connect(info.host, info.port if direct else info.netbios_port, direct_tcp=direct,
                              remote_name=info.server_name, timeout=30)
    tap = Tap(t)
    config = ClientConfig(username=info.user, password=info.password, domain=info.domain,
                          my_name="TESTCLIENT", remote_name=info.server_name, **cfg)
    return open_engine(t, config, dl().deadline()), tap


def command_of(msg):
    return struct.unpack_from("<H", msg, 12)[0] if msg[:4] == C.SMB2_MAGIC else None


def is_command(command, status=None):
    """Predicate: an SMB2 response to ``command`` (with ``status``; never an interim
    STATUS_PENDING response, which is not signed)."""
    def pred(msg):
        st = struct.unpack_from("<I", msg, 8)[0] if len(msg) >= 64 else None
        return command_of(msg) == command and st != C.STATUS_PENDING and (status is None or st == status)
    return pred


def is_transform(msg):
    return msg[:4] == C.TRANSFORM_MAGIC


def assert_unusable(e, tree):
    with pytest.raises(NotConnectedError):
        e.echo(b"", dl())
    with pytest.raises(NotConnectedError):
        e.create(tree, "x.txt", desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    assert e.transport.closed


def round_trip(e, tree, info, name="rt.bin"):
    """Write, read back, list and delete a file through the engine; check the disk."""
    r = e.create(tree, name, desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    assert e.write_from(tree, r.file_id, 0, io.BytesIO(CONTENT).read, dl()) == len(CONTENT)
    got = bytearray()
    assert e.read_to(tree, r.file_id, 0, -1, got.extend, dl()) == len(CONTENT)
    assert bytes(got) == CONTENT
    e.close_file(tree, r.file_id, dl())
    if info.share_path and tree.share_name == info.share:
        with open(os.path.join(info.share_path, name), "rb") as f:
            assert f.read() == CONTENT
    assert e.echo(b"x", dl()) == b"x"


# --- 1 + 2: the profiles of test_api really sign / encrypt ----------------------------

def _store_and_fetch(conn, share):
    conn.storeFile(share, FILE_NAME, io.BytesIO(CONTENT))
    out = io.BytesIO()
    conn.retrieveFile(share, FILE_NAME, out)
    assert out.getvalue() == CONTENT
    assert FILE_NAME in [f.filename for f in conn.listPath(share, "/")]
    conn.deleteFiles(share, FILE_NAME)


FACADE = [  # id, variant, direct, kwargs, signing expected, encryption expected
    ("signing-direct", "signing", True, {}, True, False),
    ("signing-netbios", "signing", False, {}, True, False),
    ("signing-when-supported", "default", True, {"sign_options": 1}, True, False),
    ("encrypt-direct", "encrypt", True, {}, False, True),
    ("encrypt-netbios", "encrypt", False, {}, False, True),
    ("clientenc-direct", "default", True, {"require_encryption": True}, False, True),
    ("clientenc-netbios", "default", False, {"require_encryption": True}, False, True),
    ("plain-control", "default", True, {}, False, False),
]


@pytest.mark.parametrize("variant,direct,kwargs,signed,encrypted",
                         [p[1:] for p in FACADE], ids=[p[0] for p in FACADE])
def test_facade_round_trip_is_signed_or_encrypted_on_the_wire(samba_factory, wire, variant, direct,
                                                               kwargs, signed, encrypted):
    info = samba_factory(variant)
    conn, ok = make_connection(info, direct, False, **dict(kwargs))
    assert ok
    try:
        e = conn._engine
        assert e.dialect == 0x0311
        assert e.signing_active == signed and e.encryption_active == encrypted
        if encrypted:
            assert e.cipher_id == GCM128  # Samba's and our first choice
        assert e.signing_algorithm == GMAC
        _store_and_fetch(conn, info.share)
    finally:
        conn.close()
    [rec] = wire
    sent, received = messages(rec.sent), messages(rec.received)
    # after the last SESSION_SETUP exchange, everything is protected
    last_setup = max(i for i, m in enumerate(sent) if command_of(m) == C.SESSION_SETUP)
    after_sent = sent[last_setup + 1:]
    # (the final SESSION_SETUP response is never encrypted; close() does not wait for the
    # LOGOFF's answer, and reads sent past the end of file are abandoned, so some answers may
    # still be on their way when the socket closes, while interim STATUS_PENDING answers add
    # frames: the two counts need not match)
    last_setup_response = max(i for i, m in enumerate(received)
                              if not is_transform(m) and command_of(m) == C.SESSION_SETUP)
    after_received = received[last_setup_response + 1:]
    # TREE_CONNECT, CREATE+WRITE+CLOSE, CREATE+READ+CLOSE (one compound each, issue 12), the
    # listing (CREATE+QUERY_DIRECTORY+QUERY_DIRECTORY+CLOSE), CREATE+CLOSE (delete), LOGOFF
    assert len(after_received) >= 5
    assert len(after_sent) >= 6
    wire_bytes = bytes(rec.sent) + bytes(rec.received)
    leaked = PATTERN in wire_bytes, NAME_UTF16 in wire_bytes
    if encrypted:
        assert all(is_transform(m) for m in after_sent + after_received)
        nonces = [m[20:36] for m in after_sent]
        assert len(set(nonces)) == len(nonces)  # never reused
        assert leaked == (False, False)
    else:
        assert not any(is_transform(m) for m in sent + received)
        assert leaked == (True, True)  # the control: the recording does see plaintext
        for m in after_sent + after_received:
            flags = struct.unpack_from("<I", m, 16)[0]
            if signed and struct.unpack_from("<I", m, 8)[0] != C.STATUS_PENDING:
                assert flags & C.FLAGS_SIGNED and m[48:64] != bytes(16), m[:64].hex()
            if not signed and command_of(m) != C.TREE_CONNECT:  # 3.1.1 always signs TREE_CONNECT
                assert not flags & C.FLAGS_SIGNED


# --- 3: tampering, for every signing algorithm and cipher -------------------------------

SIGNED_CASES = [  # id, variant, server conf, client config, dialect, algorithm
    ("hmac-2.1", "signing", {}, {"dialects": (0x0202, 0x0210)}, 0x0210, HMAC),
    ("hmac-3.1.1", "signing", {SIGN_ALGS: "HMAC-SHA256"}, {}, 0x0311, HMAC),
    ("cmac-3.0", "signing", {}, {"dialects": (0x0300,)}, 0x0300, CMAC),
    ("cmac-3.0.2", "signing", {}, {"dialects": (0x0302,)}, 0x0302, CMAC),
    ("cmac-3.1.1", "signing", {SIGN_ALGS: "AES-128-CMAC, HMAC-SHA256"}, {}, 0x0311, CMAC),
    ("gmac-3.1.1", "signing", {SIGN_ALGS: "AES-128-GMAC, HMAC-SHA256"}, {}, 0x0311, GMAC),
]
ENCRYPTED_CASES = [  # id, variant, server conf, client config, dialect, cipher
    ("ccm128-3.0", "encrypt", {}, {"dialects": (0x0300,)}, 0x0300, CCM128),
    ("ccm128-3.0.2", "encrypt", {}, {"dialects": (0x0302,)}, 0x0302, CCM128),
    ("ccm128-3.1.1", "encrypt", {ENC_ALGS: "AES-128-CCM"}, {}, 0x0311, CCM128),
    ("gcm128-3.1.1", "encrypt", {ENC_ALGS: "AES-128-GCM"}, {}, 0x0311, GCM128),
    ("ccm256-3.1.1", "encrypt", {ENC_ALGS: "AES-256-CCM"}, {}, 0x0311, CCM256),
    ("gcm256-3.1.1", "encrypt", {ENC_ALGS: "AES-256-GCM"}, {}, 0x0311, GCM256),
]
SIGNED_FLIPS = {"credit-field": 14, "status": 8, "signature": 50, "body": 66, "last-byte": -1}
ENCRYPTED_FLIPS = {"tag": 4, "nonce": 22, "session-id": 44, "ciphertext": 60, "last-byte": -1}


def _session(server, variant, conf, cfg, direct=True, share=None):
    info = server(variant, **conf)
    e, tap = tapped_engine(info, direct, **cfg)
    assert e.authenticate(dl())
    return info, e, tap, e.tree_connect(share or info.share, dl())


@pytest.mark.parametrize("variant,conf,cfg,dialect,algorithm", [c[1:] for c in SIGNED_CASES],
                         ids=[c[0] for c in SIGNED_CASES])
def test_signed_round_trip_and_algorithm(server, variant, conf, cfg, dialect, algorithm):
    info, e, tap, tree = _session(server, variant, conf, cfg)
    assert (e.dialect, e.signing_algorithm, e.signing_active, e.encryption_active) == (
        dialect, algorithm, True, False)
    round_trip(e, tree, info)
    setup = max(i for i, m in enumerate(tap.sent) if command_of(m) == C.SESSION_SETUP)
    for m in tap.sent[setup + 1:]:
        assert struct.unpack_from("<I", m, 16)[0] & C.FLAGS_SIGNED
    e.close()


@pytest.mark.parametrize("where", list(SIGNED_FLIPS))
@pytest.mark.parametrize("variant,conf,cfg,dialect,algorithm", [c[1:] for c in SIGNED_CASES],
                         ids=[c[0] for c in SIGNED_CASES])
def test_tampered_signed_response_breaks_connection(server, variant, conf, cfg, dialect, algorithm, where):
    info, e, tap, tree = _session(server, variant, conf, cfg)
    assert e.signing_algorithm == algorithm
    r = e.create(tree, "tamper.bin", desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    e.write(tree, r.file_id, 0, CONTENT[:4096], dl())
    tap.arm(SIGNED_FLIPS[where], is_command(C.READ))
    with pytest.raises(ProtocolError, match="signature"):
        e.read(tree, r.file_id, 0, 4096, dl())
    assert tap.tampered is not None
    assert_unusable(e, tree)


@pytest.mark.parametrize("variant,conf,cfg,dialect,cipher", [c[1:] for c in ENCRYPTED_CASES],
                         ids=[c[0] for c in ENCRYPTED_CASES])
def test_encrypted_round_trip_and_cipher(server, variant, conf, cfg, dialect, cipher):
    info, e, tap, tree = _session(server, variant, conf, cfg)
    assert (e.dialect, e.cipher_id, e.encryption_active) == (dialect, cipher, True)
    round_trip(e, tree, info)
    setup = max(i for i, m in enumerate(tap.sent) if command_of(m) == C.SESSION_SETUP)
    protected = tap.sent[setup + 1:] + tap.received[setup + 1:]
    assert protected and all(is_transform(m) for m in protected)
    flags = {struct.unpack_from("<H", m, 42)[0] for m in protected}
    assert flags == {1}  # Flags (3.1.1) / EncryptionAlgorithm AES-128-CCM (3.0.x)
    blob = b"".join(protected)
    assert PATTERN not in blob and NAME_UTF16 not in blob
    nonces = [m[20:36] for m in tap.sent[setup + 1:]]
    assert len(set(nonces)) == len(nonces)
    e.close()


@pytest.mark.parametrize("where", list(ENCRYPTED_FLIPS))
@pytest.mark.parametrize("variant,conf,cfg,dialect,cipher", [c[1:] for c in ENCRYPTED_CASES],
                         ids=[c[0] for c in ENCRYPTED_CASES])
def test_tampered_encrypted_response_breaks_connection(server, variant, conf, cfg, dialect, cipher, where):
    info, e, tap, tree = _session(server, variant, conf, cfg)
    assert e.cipher_id == cipher
    r = e.create(tree, "tamper.bin", desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF, timeout=dl())
    e.write(tree, r.file_id, 0, CONTENT[:4096], dl())
    tap.arm(ENCRYPTED_FLIPS[where], is_transform)
    match = "unknown session" if where == "session-id" else "decryption failed"
    with pytest.raises(ProtocolError, match=match):
        e.read(tree, r.file_id, 0, 4096, dl())
    assert_unusable(e, tree)


def test_tampered_final_session_setup_rejected(server):
    info = server("signing")
    e, tap = tapped_engine(info)
    # SessionFlags' high byte: no flag there, so only the signature can tell (the security
    # blob is read first: the session key may come from it, as with Kerberos)
    tap.arm(67, is_command(C.SESSION_SETUP, C.STATUS_SUCCESS))
    with pytest.raises(ProtocolError, match="signature"):
        e.authenticate(dl())
    assert tap.tampered is not None
    with pytest.raises(NotConnectedError):
        e.echo(b"", dl())


# --- 4: preauth integrity (3.1.1) and VALIDATE_NEGOTIATE_INFO (3.0 / 3.0.2) --------------

SERVER_GUID = 64 + 8  # NEGOTIATE response: ServerGuid, read by nothing but the checks


@pytest.mark.parametrize("variant", ["default", "encrypt"])
def test_311_tampered_negotiate_breaks_preauth_keys(server, variant):
    info = server(variant)
    e, _tap = tapped_engine(info)
    assert e.dialect == 0x0311 and e.authenticate(dl())  # sanity: untampered, it works
    e.close()
    t = nmb_transport.connect(info.host, info.port, direct_tcp=True, timeout=30)
    tap = Tap(t)
    # the second message received is the SMB2 NEGOTIATE response (the first answers the
    # multi-protocol SMB1 NEGOTIATE with the 0x02FF wildcard)
    tap.arm(SERVER_GUID, lambda m: command_of(m) == C.NEGOTIATE and m[64 + 4:64 + 6] == b"\x11\x03")
    e = open_engine(t, ClientConfig(username=info.user, password=info.password, my_name="TESTCLIENT",
                                    remote_name=info.server_name), dl().deadline())
    assert tap.tampered is not None and e.dialect == 0x0311
    # both sides hash the NEGOTIATE exchange into the keys; the final SESSION_SETUP response
    # (signed by the server with its key) then fails verification
    with pytest.raises(ProtocolError, match="signature"):
        e.authenticate(dl())
    with pytest.raises(NotConnectedError):
        e.echo(b"", dl())


@pytest.mark.parametrize("variant", ["signing", "encrypt"])
@pytest.mark.parametrize("dialect", [0x0300, 0x0302])
def test_30_keys_and_validate_negotiate(server, variant, dialect):
    info, e, tap, tree = _session(server, variant, {}, {"dialects": (dialect,)})
    assert e.dialect == dialect and e.negotiate_validations == 1
    assert e.signing_algorithm == CMAC
    assert e.encryption_active == (variant == "encrypt")
    if variant == "signing":
        ioctls = [m for m in tap.sent if command_of(m) == C.IOCTL
                  and struct.unpack_from("<I", m, 64 + 4)[0] == FSCTL_VALIDATE_NEGOTIATE_INFO]
        assert len(ioctls) == 1 and struct.unpack_from("<I", ioctls[0], 16)[0] & C.FLAGS_SIGNED
        [rsp] = [m for m in tap.received if command_of(m) == C.IOCTL]
        assert struct.unpack_from("<I", rsp, 16)[0] & C.FLAGS_SIGNED
    round_trip(e, tree, info)
    # a second tree does not validate again
    e.tree_connect(info.share, dl())
    assert e.negotiate_validations == 1
    e.close()


@pytest.mark.parametrize("dialect", [0x0300, 0x0302])
def test_30_tampered_negotiate_caught_by_validate(server, dialect):
    info = server("default")
    t = nmb_transport.connect(info.host, info.port, direct_tcp=True, timeout=30)
    tap = Tap(t)
    tap.arm(SERVER_GUID, lambda m: command_of(m) == C.NEGOTIATE
            and struct.unpack_from("<H", m, 64 + 4)[0] == dialect)
    e = open_engine(t, ClientConfig(username=info.user, password=info.password, my_name="TESTCLIENT",
                                    remote_name=info.server_name, dialects=(dialect,)), dl().deadline())
    assert tap.tampered is not None and e.dialect == dialect
    assert e.authenticate(dl())  # 3.0 keys do not depend on the NEGOTIATE exchange
    with pytest.raises(ProtocolError, match="VALIDATE_NEGOTIATE_INFO mismatch"):
        e.tree_connect(info.share, dl())
    with pytest.raises(NotConnectedError):
        e.echo(b"", dl())


@pytest.mark.parametrize("where", [50, 64 + 48])  # signature; inside the validate output
def test_30_forged_validate_response_breaks_connection(server, where):
    info = server("signing")
    e, tap = tapped_engine(info, dialects=(0x0300,))
    assert e.authenticate(dl())
    tap.arm(where, is_command(C.IOCTL))
    with pytest.raises(ProtocolError, match="signature"):
        e.tree_connect(info.share, dl())
    assert e.negotiate_validations == 0
    with pytest.raises(NotConnectedError):
        e.echo(b"", dl())


# --- 5: per-share encryption ----------------------------------------------------------------

@pytest.mark.parametrize("direct", [True, False], ids=["direct", "netbios"])
def test_share_requiring_encryption_is_encrypted_and_other_share_is_not(server, wire, direct):
    info = server("default")
    conn, ok = make_connection(info, direct, False)
    assert ok
    try:
        e = conn._engine
        assert not e.encryption_active
        _store_and_fetch(conn, SECRET_SHARE)
        secret_tree = conn._trees[SECRET_SHARE.upper()]
        assert secret_tree.encrypt
        assert secret_tree.tree_id in e.session.encrypted_trees
        rec = wire[0]
        secret_wire = bytes(rec.sent) + bytes(rec.received)
        assert PATTERN not in secret_wire and NAME_UTF16 not in secret_wire
        assert any(is_transform(m) for m in messages(rec.sent))
        mark = len(rec.sent), len(rec.received)
        _store_and_fetch(conn, info.share)  # the public share is not encrypted
        assert not conn._trees[info.share.upper()].encrypt
        public_wire = bytes(rec.sent[mark[0]:]) + bytes(rec.received[mark[1]:])
        assert PATTERN in public_wire
        # back to the secret share: encrypted again, same session
        mark = len(rec.sent), len(rec.received)
        _store_and_fetch(conn, SECRET_SHARE)
        assert PATTERN not in bytes(rec.sent[mark[0]:]) + bytes(rec.received[mark[1]:])
    finally:
        conn.close()


def test_first_listing_of_a_share_travels_encrypted_with_its_tree_connect(server, wire):
    """The first listPath of a share not connected yet sends TREE_CONNECT and the listing as
    one encrypted chain (issue 12) even on a session that does not encrypt: a folder name
    never crosses in clear, not even towards the share that alone requires encryption. That
    share's tree is then encrypted; the public one goes on in clear."""
    info = server("default")
    folder = "Folder-" + PATTERN.decode("ascii").strip("<>").replace(":", "-")
    for share in (SECRET_SHARE, info.share):
        base = os.path.join(os.path.dirname(info.share_path), SECRET_SHARE) if share == SECRET_SHARE \
            else info.share_path
        os.makedirs(os.path.join(base, folder, "inner"), exist_ok=True)
    conn, ok = make_connection(info, True, False)
    assert ok
    try:
        e = conn._engine
        assert not e.encryption_active
        rec = wire[0]
        for share, encrypted in ((SECRET_SHARE, True), (info.share, False)):
            mark = len(rec.sent), len(rec.received)
            names = sorted(f.filename for f in conn.listPath(share, folder))
            assert names == [".", "..", "inner"]
            sent, received = messages(rec.sent[mark[0]:]), messages(rec.received[mark[1]:])
            assert len(sent) == 1 and all(is_transform(m) for m in sent + received)
            assert folder.encode("utf-16-le") not in bytes(rec.sent) + bytes(rec.received)
            tree = conn._trees[share.upper()]
            assert tree.encrypt is encrypted and (tree.tree_id in e.session.encrypted_trees) is encrypted
        mark = len(rec.sent)
        assert conn.listPath(info.share, folder)[-1].filename == "inner"  # the tree is known now
        assert not any(is_transform(m) for m in messages(rec.sent[mark:]))
        assert folder.encode("utf-16-le") in bytes(rec.sent[mark:])
    finally:
        conn.close()


def test_client_refuses_clear_text_on_encrypted_tree(server):
    info, e, tap, tree = _session(server, "default", {}, {}, share=SECRET_SHARE)
    assert tree.encrypt and not e.encryption_active
    n = len(tap.sent)
    with pytest.raises(ProtocolError, match="refusing to send"):
        e.conn.send([(C.ECHO, b"\x04\x00\x00\x00", None, 1)], session=e.session, tree_id=tree.tree_id,
                    deadline=dl().deadline())
    assert len(tap.sent) == n  # nothing left the client
    with pytest.raises(NotConnectedError):
        e.echo(b"", dl())


# --- 6: require_encryption against servers that cannot encrypt ---------------------------

@pytest.mark.parametrize("variant,smb1,reason", [("smb2only", False, "2.1"), ("smb1only", True, "SMB1")])
def test_require_encryption_fails_at_connect(samba_factory, wire, variant, smb1, reason):
    info = samba_factory(variant)
    with pytest.raises(UnsupportedFeature, match="require_encryption.*%s.*no encryption" % reason):
        make_connection(info, True, smb1, require_encryption=True)
    sent = bytes(wire[0].sent)
    assert b"NTLMSSP" not in sent  # refused before any credentials were sent
    assert wire[0]._sock.fileno() == -1  # closed


def test_require_encryption_without_acceptable_cipher(samba_factory):
    info = samba_factory("default")
    t = nmb_transport.connect(info.host, info.port, direct_tcp=True, timeout=30)
    cfg = ClientConfig(username=info.user, password=info.password, my_name="TESTCLIENT",
                       dialects=(0x0300,), ciphers=(GCM128,), require_encryption=True)
    with pytest.raises(UnsupportedFeature, match="no cipher this client accepts"):
        open_engine(t, cfg, dl().deadline())
    assert t.closed


# --- client-side algorithm restriction (ClientConfig.ciphers / signing_algorithms) -----------

@pytest.mark.parametrize("cipher", [CCM128, GCM128, CCM256, GCM256])
def test_client_cipher_choice(samba_factory, cipher):
    info = samba_factory("encrypt")
    e, tap = tapped_engine(info, ciphers=(cipher,))
    assert e.authenticate(dl())
    assert e.cipher_id == cipher and e.encryption_active
    round_trip(e, e.tree_connect(info.share, dl()), info)
    e.close()


@pytest.mark.parametrize("algorithm", [HMAC, CMAC, GMAC])
def test_client_signing_algorithm_choice(samba_factory, algorithm):
    info = samba_factory("signing")
    e, tap = tapped_engine(info, signing_algorithms=(algorithm,))
    assert e.dialect == 0x0311
    assert e.authenticate(dl())
    assert e.signing_algorithm == algorithm and e.signing_active
    round_trip(e, e.tree_connect(info.share, dl()), info)
    e.close()
