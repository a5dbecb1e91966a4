"""Deliberately hostile fake SMB servers for the robustness tests.

A real exchange with the private Samba is recorded once through :class:`RecordingProxy`
(client -> proxy -> smbd, direct TCP framing of [MS-SMB2] 2.1 / [MS-CIFS] 2.1.1.2) while the
client's randomness is pinned (:func:`deterministic_client`): replaying the same operations
then makes the client send byte-identical requests, so the recorded answers -- signatures
included -- stay valid. :class:`FakeServer` plays such a :class:`Script` back over a loopback
socket, letting a *mutation* rewrite, truncate, drop or replace one chosen server message,
and also runs hand-written hostile handlers (garbage right after accept, silence, ...).

Canned and mutated bytes live only here and in the tests: this is the "deliberately hostile
fake server" of the project rules.
"""

from __future__ import annotations

import contextlib
import io
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

from smb.SMBConnection import SMBConnection

_LEN = struct.Struct(">I")


# --- framing helpers (direct TCP: a zero byte and a 24-bit length) -----------------------
def frame(payload: bytes) -> bytes:
    return _LEN.pack(len(payload) & 0xFFFFFF) + bytes(payload)


def recv_exact(sock: socket.socket, n: int) -> Optional[bytes]:
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except (socket.timeout, OSError):
            return None
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame(sock: socket.socket) -> Optional[bytes]:
    """The payload of the next direct-TCP frame, or None on EOF / error / timeout."""
    hdr = recv_exact(sock, 4)
    if hdr is None:
        return None
    n = _LEN.unpack(hdr)[0] & 0xFFFFFF
    return recv_exact(sock, n) if n else b""


def drain(sock: socket.socket) -> None:
    """Read and discard until the peer closes (or the socket times out)."""
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


# --- deterministic client ------------------------------------------------------------------
class _FixedSecrets:
    @staticmethod
    def token_bytes(n: int) -> bytes:
        return bytes((0x5A + i) & 0xFF for i in range(n))


class _FixedOs:
    @staticmethod
    def urandom(n: int) -> bytes:
        return bytes((0xA5 + 3 * i) & 0xFF for i in range(n))


@contextlib.contextmanager
def deterministic_client():
    """Pin every random or time-dependent value the client puts on the wire (NTLM client
    challenge and exported session key, timestamp, ClientGuid, 3.1.1 preauth salt, SMB3
    encryption nonces)."""
    import smb.ntlm
    import smb.smb2.negotiation

    import smb.smb2.transform

    saved = (smb.ntlm.secrets, smb.ntlm.filetime_now, smb.smb2.negotiation.os, smb.smb2.transform.os)
    smb.ntlm.secrets = _FixedSecrets
    smb.ntlm.filetime_now = lambda: 133000000000000000
    smb.smb2.negotiation.os = _FixedOs
    smb.smb2.transform.os = _FixedOs  # SMB3 encryption nonces
    try:
        yield
    finally:
        (smb.ntlm.secrets, smb.ntlm.filetime_now, smb.smb2.negotiation.os,
         smb.smb2.transform.os) = saved


# --- recording -------------------------------------------------------------------------------
@dataclass
class Script:
    """Frames seen by the proxy, in causal order: ('c', payload) client to server, ('s',
    payload) server to client. A server frame is logged before it is forwarded, so every
    request it answers precedes it."""

    events: List[Tuple[str, bytes]] = field(default_factory=list)

    @property
    def server_messages(self) -> List[bytes]:
        return [p for d, p in self.events if d == "s"]

    @property
    def client_messages(self) -> List[bytes]:
        return [p for d, p in self.events if d == "c"]


class RecordingProxy:
    """Relays one direct-TCP connection to ``upstream`` and records every frame."""

    def __init__(self, upstream: Tuple[str, int]):
        self.upstream = upstream
        self.script = Script()
        self._lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _pump(self, src, dst, tag) -> None:
        while True:
            payload = read_frame(src)
            if payload is None:
                break
            with self._lock:
                self.script.events.append((tag, payload))
            try:
                dst.sendall(frame(payload))
            except OSError:
                break
        for s in (dst, src):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        up = socket.create_connection(self.upstream)
        t = threading.Thread(target=self._pump, args=(up, client, "s"), daemon=True)
        t.start()
        self._pump(client, up, "c")
        t.join(10)
        client.close()
        up.close()

    def close(self) -> Script:
        self._thread.join(10)
        self.listener.close()
        return self.script


# --- fake servers ------------------------------------------------------------------------------
class FakeServer:
    """A thread answering ``connections`` connections, one after the other, on 127.0.0.1 with
    ``handler(sock)``."""

    def __init__(self, handler: Callable[[socket.socket], None], io_timeout: float = 20.0,
                 connections: int = 1):
        self.handler = handler
        self.io_timeout = io_timeout
        self.connections = connections
        self.error: Optional[BaseException] = None
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.listener.settimeout(io_timeout)
        self.port = self.listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        for _ in range(self.connections):
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self._handle(sock)

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(self.io_timeout)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.handler(sock)
        except OSError:
            pass  # the client went away: expected when it gives up on hostile data
        except BaseException as e:  # pragma: no cover - a bug in the test server itself
            self.error = e
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept
        with contextlib.suppress(OSError):
            self.listener.close()
        self._thread.join(self.io_timeout + 5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Actions a mutation returns: raw bytes to write, then what to do next.
CONTINUE, CLOSE, HANG = "continue", "close", "hang"


def replay(script: Script, target: Optional[int] = None,
           mutation: Optional[Callable[[bytes], Tuple[bytes, str]]] = None,
           received: Optional[list] = None) -> Callable[[socket.socket], None]:
    """A handler playing ``script`` back; server message number ``target`` goes through
    ``mutation(payload) -> (raw bytes to send, CONTINUE | CLOSE | HANG)``. Client frames
    are read (and kept in ``received``) where the script has them."""

    def handler(sock: socket.socket) -> None:
        k = 0
        for tag, payload in script.events:
            if tag == "c":
                got = read_frame(sock)
                if got is None:
                    return
                if received is not None:
                    received.append(got)
                continue
            if k == target and mutation is not None:
                raw, then = mutation(payload)
                if raw:
                    sock.sendall(raw)
                if then == CLOSE:
                    return
                if then == HANG:
                    drain(sock)
                    return
            else:
                sock.sendall(frame(payload))
            k += 1
        while True:  # past the script: swallow the client's last frames (LOGOFF) until it closes
            got = read_frame(sock)
            if got is None:
                return
            if received is not None:
                received.append(got)

    return handler


# --- the scenario driven through the facade ------------------------------------------------------
FILE_SIZE = 70000
UPLOAD = bytes((i * 7 + 3) & 0xFF for i in range(23456))
DIR = "hostile"


def file_content() -> bytes:
    return bytes((i * 31 + 11) & 0xFF for i in range(FILE_SIZE))


@dataclass
class Outcome:
    results: dict = field(default_factory=dict)  # op name -> comparable result
    error: Optional[BaseException] = None
    failed_op: Optional[str] = None
    timings: dict = field(default_factory=dict)  # op name -> seconds
    connected: Optional[bool] = None


#: getAttributes before listPath: the share's TREE_CONNECT alone, so that the listing goes in
#: clear for the mutations (the first listing of a share travels encrypted with its TREE_CONNECT
#: on SMB 3.1.1, issue 12)
OPS = ("listShares", "getAttributes", "listPath", "retrieveFile", "storeFile")


def run_scenario(info, port: int, *, timeout: float = 2.0, sign_options: int = 2, ops=OPS,
                 use_ntlm_v2: bool = True) -> Outcome:
    """connect, then each of ``ops``, then close; stops at the first exception."""
    out = Outcome()
    conn = SMBConnection(info.user, info.password, "TESTCLIENT", info.server_name, domain=info.domain,
                         use_ntlm_v2=use_ntlm_v2, sign_options=sign_options, is_direct_tcp=True)

    def step(name, func):
        t0 = time.monotonic()
        try:
            out.results[name] = func()
        finally:
            out.timings[name] = time.monotonic() - t0

    share = info.share
    steps = {
        "listShares": lambda: sorted((s.name, s.type, s.comments) for s in conn.listShares(timeout=timeout)),
        "listPath": lambda: sorted((f.filename, f.file_size, f.file_attributes, f.last_write_time)
                                   for f in conn.listPath(share, DIR, timeout=timeout)),
        "retrieveFile": lambda: _retrieve(conn, share, timeout),
        "storeFile": lambda: conn.storeFile(share, DIR + "/up.bin", io.BytesIO(UPLOAD), timeout=timeout),
        "getAttributes": lambda: _attrs(conn.getAttributes(share, DIR + "/data.bin", timeout=timeout)),
        # optional extras
        "getSecurity": lambda: repr(conn.getSecurity(share, DIR + "/data.bin", timeout=timeout)),
        "echo": lambda: conn.echo(b"hostile", timeout=timeout),
        "rename": lambda: conn.rename(share, DIR + "/up.bin", DIR + "/up2.bin", timeout=timeout),
        "deleteFiles": lambda: conn.deleteFiles(share, DIR + "/up*.bin", timeout=timeout),
        "listSnapshots": lambda: conn.listSnapshots(info.shadow_share, "", timeout=timeout),
    }
    try:
        try:
            step("connect", lambda: conn.connect("127.0.0.1", port, timeout=timeout))
        except BaseException as e:
            out.error, out.failed_op = e, "connect"
            return out
        out.connected = out.results["connect"]
        if not out.connected:
            return out
        for name in ops:
            try:
                step(name, steps[name])
            except BaseException as e:
                out.error, out.failed_op = e, name
                return out
    finally:
        t0 = time.monotonic()
        try:
            conn.close()
        except BaseException as e:  # close must never raise
            if out.error is None:
                out.error, out.failed_op = e, "close"
        out.timings["close"] = time.monotonic() - t0
    return out


def _retrieve(conn, share, timeout):
    buf = io.BytesIO()
    attrs, n = conn.retrieveFile(share, DIR + "/data.bin", buf, timeout=timeout)
    data = buf.getvalue()
    if n != len(data):
        raise AssertionError("retrieveFile returned %d but wrote %d bytes" % (n, len(data)))
    return data


def _attrs(f):
    return (f.file_size, f.alloc_size, f.file_attributes, f.create_time, f.last_write_time)


# --- a man in the middle in front of the real server -----------------------------------------------
class MitmProxy:
    """Relays direct-TCP connections to ``upstream`` (the private smbd), letting a test play
    the network attacker: ``on_request(proxy, payload)`` and ``on_response(proxy, payload)``
    return the payload to forward (possibly rewritten) or None to drop it; they may also
    answer the client themselves with :meth:`to_client` (forged responses) or hold frames
    back with :meth:`to_client` and a delay. ``requests``/``responses`` keep every payload
    as it arrived, before any rewrite."""

    def __init__(self, upstream: Tuple[str, int], on_request=None, on_response=None,
                 connections: int = 4):
        self.upstream = upstream
        self.on_request = on_request or (lambda proxy, p: p)
        self.on_response = on_response or (lambda proxy, p: p)
        self.requests: List[bytes] = []
        self.responses: List[bytes] = []
        self.state: dict = {}  # scratch space for the hooks
        self.error: Optional[BaseException] = None
        self._client: Optional[socket.socket] = None
        self._send_lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(connections)
        self.port = self.listener.getsockname()[1]
        self._connections = connections
        self._threads: List[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def to_client(self, payload: bytes, delay: float = 0.0) -> None:
        """Send ``payload`` to the client now, or after ``delay`` seconds."""
        def send():
            with self._send_lock, contextlib.suppress(OSError):
                self._client.sendall(frame(payload))
        if delay:
            t = threading.Timer(delay, send)
            t.daemon = True
            t.start()
        else:
            send()

    def _pump(self, src, dst, keep, hook, to_client: bool) -> None:
        while True:
            payload = read_frame(src)
            if payload is None:
                break
            keep.append(payload)
            try:
                out = hook(self, payload)
            except BaseException as e:  # pragma: no cover - a bug in the test's hook
                self.error = e
                break
            if out is None:
                continue
            try:
                if to_client:
                    with self._send_lock:
                        dst.sendall(frame(out))
                else:
                    dst.sendall(frame(out))
            except OSError:
                break
        for s in (dst, src):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        self.listener.settimeout(60)
        for _ in range(self._connections):
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self._client = client
            up = socket.create_connection(self.upstream)
            t = threading.Thread(target=self._pump, daemon=True,
                                 args=(up, client, self.responses, self.on_response, True))
            t.start()
            self._pump(client, up, self.requests, self.on_request, False)
            t.join(10)
            client.close()
            up.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.listener.close()
        self._thread.join(15)
        if self.error is not None:
            raise self.error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
