"""The byte transport under the SMB engines: one TCP connection, framed messages.

Framing is NetBIOS session service (RFC 1002 4.3, port 139) or direct TCP ([MS-SMB2] 2.1,
port 445); the header codec is :mod:`nmb.framing`. On NetBIOS the session is opened with a
SESSION REQUEST (RFC 1002 4.3.2) and its POSITIVE / NEGATIVE / RETARGET response
(RFC 1002 4.3.3-4.3.5; session establishment procedure RFC 1001 16.1.1 and RFC 1002 5.2.2,
one retarget followed). SESSION KEEP ALIVE packets (RFC 1002 4.3.7) are skipped.

Design notes:

* The socket is non-blocking; every blocking call takes ``deadline`` (absolute
  ``time.monotonic()``; ``None`` = wait at most ``Transport.timeout`` seconds per wait, or for
  ever when that is ``None``) and waits with poll/select. Running out of time raises
  :class:`smb.errors.SMBTimeout`, also when data keeps arriving: the deadline is checked
  before every packet is read.
* :meth:`Transport.send` writes one framed message with one ``sendmsg`` (header plus the
  caller's buffers, no joining); partial writes continue where they stopped.
* :meth:`Transport.recv` reads into one reused buffer (grown when a message needs it, never
  shrunk) and returns a memoryview of the payload that stays valid until the next ``recv``
  (or for good after :meth:`Transport.detach_buffer`).
  Small messages are read with a bounded read-ahead (fewer system calls); the remainder of a
  large body is read exactly, so at most a read-ahead's worth of bytes is ever moved.
  A length above ``max_message_size`` raises :class:`smb.errors.ProtocolError` before any
  buffer grows.
* Errors: refused / reset / peer closed -> :class:`smb.errors.NotConnectedError`, malformed
  framing -> ProtocolError; both close the transport, and every later call raises
  NotConnectedError. A receive timeout keeps the transport usable (bytes already received
  stay buffered); a send timeout closes it when part of the message was already written.
"""

from __future__ import annotations

import math
import select
import socket
import sys
import time
from typing import Optional, Tuple

from smb.errors import NotConnectedError, ProtocolError, SMBTimeout, connect_error, connect_timeout
from nmb import framing
from nmb.framing import (HEADER_SIZE, NEGATIVE_SESSION_RESPONSE, POSITIVE_SESSION_RESPONSE,
                         RETARGET_SESSION_RESPONSE, SERVER_NAME_TYPE, SESSION_KEEPALIVE,
                         SESSION_MESSAGE, WORKSTATION_NAME_TYPE)

DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024 + 1024 * 1024  # 16 MiB payloads + 1 MiB headroom
DEFAULT_RECV_BUFFER = 256 * 1024
READAHEAD = 64 * 1024
DEFAULT_REMOTE_NAME = "*SMBSERVER"
_IOV_MAX = 512
_HAS_POLL = hasattr(select, "poll")
_HAS_SENDMSG = hasattr(socket.socket, "sendmsg")
_monotonic = time.monotonic
_encode_header = framing.encode_header
#: detached buffers remembered for reuse (CPython: a buffer is free when only the transport
#: refers to it)
_MAX_DETACHED = 3
_getrefcount = getattr(sys, "getrefcount", None)


def default_my_name() -> str:
    """This host's name as a NetBIOS workstation name (first DNS label, 15 chars, upper case)."""
    try:
        name = socket.gethostname().split(".")[0]
    except OSError:
        name = ""
    return (name or "PYSMBCLIENT")[:15].upper()


def _byte_view(b) -> memoryview:
    mv = memoryview(b)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


def _nbytes(b) -> int:
    return b.nbytes if isinstance(b, memoryview) else len(b)


def _open_socket(host: str, port: int, family: Optional[int], deadline: Optional[float]) -> socket.socket:
    """A connected, non-blocking TCP socket with TCP_NODELAY and SO_KEEPALIVE.

    ``family`` None (pysmb's default) accepts IPv4 and IPv6 addresses and host names. Failures
    raise exceptions that are also the socket's own (``socket.gaierror``,
    ``ConnectionRefusedError``, ``socket.timeout``...), as pysmb lets those through."""
    where = "%s:%d" % (host, port)
    try:
        infos = socket.getaddrinfo(host, port, family or socket.AF_UNSPEC, socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise connect_error("cannot resolve %s for %s: %s" % (
            host, getattr(family, "name", family or "any address family"), e.strerror), e) from e
    except UnicodeError as e:
        raise connect_error("cannot resolve %s: %s" % (host, e), socket.gaierror(socket.EAI_NONAME, str(e))) from e
    last = None
    for af, kind, proto, _canon, addr in infos:
        remaining = None
        if deadline is not None:
            remaining = deadline - _monotonic()
            if remaining <= 0:
                raise connect_timeout("timed out connecting to %s" % where)
        sock = socket.socket(af, kind, proto)
        try:
            sock.settimeout(remaining)
            sock.connect(addr)
        except socket.timeout as e:
            sock.close()
            raise connect_timeout("timed out connecting to %s" % where) from e
        except OSError as e:
            sock.close()
            last = e
            continue
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        except OSError:
            pass
        sock.setblocking(False)
        return sock
    if last is None:
        last = socket.gaierror(socket.EAI_NONAME, "no address")
    raise connect_error("could not connect to %s: %s" % (where, last.strerror or last), last) from last


class Transport:
    """One framed connection. Build it with :meth:`connect` (or wrap a connected socket)."""

    def __init__(self, sock: socket.socket, *, direct_tcp: bool,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE, timeout: Optional[float] = 60.0,
                 host: str = "", port: int = 0):
        if max_message_size <= 0:
            raise ValueError("max_message_size must be positive, got %r" % (max_message_size,))
        self.direct_tcp = bool(direct_tcp)
        self.max_message_size = int(max_message_size)
        self.timeout = timeout
        self.host = host
        self.port = port
        self._closed = False
        self._buf = bytearray(DEFAULT_RECV_BUFFER)
        self._view = memoryview(self._buf)
        self._detached: list = []  # buffers given up by detach_buffer(), reused once free
        self._start = 0  # first unread byte
        self._end = 0  # end of received bytes
        self._attach(sock)

    def _attach(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.setblocking(False)
        self._start = self._end = 0
        if _HAS_POLL:
            self._rpoll = select.poll()
            self._rpoll.register(sock.fileno(), select.POLLIN)
            self._wpoll = select.poll()
            self._wpoll.register(sock.fileno(), select.POLLOUT)

    # --- construction ---------------------------------------------------------------
    @classmethod
    def connect(cls, host: str, port: int, *, direct_tcp: bool, my_name: str = "",
                remote_name: str = "", sock_family: Optional[int] = None,
                timeout: Optional[float] = 60.0, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                called_name_type: int = SERVER_NAME_TYPE,
                calling_name_type: int = WORKSTATION_NAME_TYPE) -> "Transport":
        """Connect to ``host:port``; on NetBIOS (``direct_tcp=False``) also open the session.

        ``remote_name`` defaults to ``*SMBSERVER``, ``my_name`` to this host's name; the name
        types (16th byte) default to 0x20 (server) and 0x00 (workstation). ``timeout`` bounds
        the whole connect and is then the per-wait limit of calls made without a deadline.
        """
        deadline = None if timeout is None else _monotonic() + timeout
        sock = _open_socket(host, port, sock_family, deadline)
        t = cls(sock, direct_tcp=direct_tcp, max_message_size=max_message_size, timeout=timeout,
                host=host, port=port)
        if not direct_tcp:
            try:
                t._open_session(remote_name or DEFAULT_REMOTE_NAME, my_name or default_my_name(),
                                called_name_type, calling_name_type, deadline)
            except BaseException:
                t.close()
                raise
        return t

    def _open_session(self, called, calling, called_type, calling_type, deadline) -> None:
        packet = framing.session_request(called, calling, called_type, calling_type)
        retargeted = False
        while True:
            self._send_parts([packet], deadline)
            ptype, payload = self._read_packet(deadline)
            while ptype == SESSION_KEEPALIVE:
                ptype, payload = self._read_packet(deadline)
            if ptype == POSITIVE_SESSION_RESPONSE:
                if len(payload):
                    raise self._fail(ProtocolError(
                        "POSITIVE SESSION RESPONSE with %d payload bytes (expected none)" % len(payload)))
                return
            if ptype == NEGATIVE_SESSION_RESPONSE:
                code = self._guard(framing.negative_response_code, payload)
                raise self._fail(NotConnectedError("%s (server %s:%d, remote_name %r, my_name %r)" % (
                    framing.negative_response_message(code), self.host, self.port, called, calling)))
            if ptype == RETARGET_SESSION_RESPONSE:
                ip, port = self._guard(framing.decode_retarget, payload)
                if retargeted:
                    raise self._fail(NotConnectedError(
                        "NetBIOS session retargeted twice (second time to %s:%d); giving up" % (ip, port)))
                retargeted = True
                try:
                    self.sock.close()
                except OSError:
                    pass
                self._attach(_open_socket(ip, port, socket.AF_INET, deadline))
                self.host, self.port = ip, port
                continue
            raise self._fail(ProtocolError("unexpected NetBIOS %s in answer to SESSION REQUEST"
                                           % framing.PACKET_TYPE_NAMES.get(ptype, hex(ptype))))

    # --- state ----------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        """Close the connection; safe to call more than once, never raises."""
        if self._closed:
            return
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in poll on this socket
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<Transport %s:%s %s%s>" % (self.host, self.port, "direct" if self.direct_tcp else "netbios",
                                          " closed" if self._closed else "")

    def _fail(self, exc: Exception) -> Exception:
        """Close and hand back ``exc`` for raising."""
        self.close()
        return exc

    def _guard(self, func, *args):
        try:
            return func(*args)
        except ProtocolError as e:
            raise self._fail(e)

    def _check_open(self) -> None:
        if self._closed:
            raise NotConnectedError("transport to %s:%s is closed" % (self.host, self.port))

    def _wait(self, writable: bool, deadline: Optional[float]) -> None:
        if deadline is None:
            timeout = self.timeout
        else:
            timeout = deadline - _monotonic()
            if timeout <= 0:
                raise SMBTimeout("timed out %s %s:%s" % ("sending to" if writable else "waiting for data from",
                                                          self.host, self.port))
            if timeout == math.inf:  # Timeout(None): wait for ever
                timeout = None
        if _HAS_POLL:
            ms = -1 if timeout is None else max(1, math.ceil(timeout * 1000))
            ready: list = (self._wpoll if writable else self._rpoll).poll(ms)
        else:  # pragma: no cover - Windows
            fd = [self.sock]
            rlist, wlist, xlist = select.select([] if writable else fd, fd if writable else [], fd, timeout)
            ready = rlist or wlist or xlist
        if not ready:
            raise SMBTimeout("timed out %s %s:%s" % ("sending to" if writable else "waiting for data from",
                                                      self.host, self.port))

    # --- sending --------------------------------------------------------------------
    def send(self, *buffers, deadline: Optional[float] = None) -> None:
        """Send one session message whose payload is the concatenation of ``buffers``.

        Buffers may be bytes, bytearray or memoryview; they are not joined.
        """
        self._check_open()
        total = 0
        for b in buffers:
            total += _nbytes(b)
        try:
            header = _encode_header(total, self.direct_tcp)
        except ValueError as e:
            raise ProtocolError("cannot send: %s" % e) from None
        self._send_parts([header, *buffers], deadline)

    def _send_parts(self, parts: list, deadline: Optional[float]) -> None:
        sock = self.sock
        started = False
        i = 0
        n_parts = len(parts)
        while i < n_parts:
            try:
                if _HAS_SENDMSG:
                    n = sock.sendmsg(parts if i == 0 and n_parts <= _IOV_MAX else parts[i:i + _IOV_MAX])
                else:  # pragma: no cover - Windows
                    n = sock.send(parts[i])
            except (BlockingIOError, InterruptedError):
                try:
                    self._wait(True, deadline)
                except SMBTimeout as e:
                    if started:
                        self.close()
                        raise SMBTimeout("%s; connection closed after a partial message" % e) from None
                    raise
                continue
            except OSError as e:
                raise self._fail(NotConnectedError("connection to %s:%s lost while sending: %s"
                                                   % (self.host, self.port, e))) from e
            if n:
                started = True
            while i < n_parts:
                size = _nbytes(parts[i])
                if n >= size:
                    n -= size
                    i += 1
                else:
                    if n:
                        parts[i] = _byte_view(parts[i])[n:]
                    break

    # --- receiving ------------------------------------------------------------------
    def recv(self, deadline: Optional[float] = None) -> memoryview:
        """The payload of the next session message (keep-alives skipped).

        The view points into the transport's buffer: valid until the next ``recv``.
        """
        while True:
            ptype, payload = self._read_packet(deadline)
            if ptype == SESSION_MESSAGE:
                return payload
            if ptype != SESSION_KEEPALIVE:
                raise self._fail(ProtocolError("unexpected NetBIOS %s during the session"
                                               % framing.PACKET_TYPE_NAMES.get(ptype, hex(ptype))))

    def _read_packet(self, deadline: Optional[float]) -> Tuple[int, memoryview]:
        self._check_open()
        if deadline is not None and _monotonic() >= deadline:
            # checked per packet, not only when the socket runs dry: a peer streaming
            # keep-alives (or messages nobody waits for) faster than they are read would
            # otherwise keep every caller's loop busy past its deadline
            raise SMBTimeout("timed out waiting for data from %s:%s" % (self.host, self.port))
        if self._start == self._end:
            self._start = self._end = 0
        self._fill(HEADER_SIZE, deadline, True)
        try:
            ptype, length = framing.decode_header(self._buf, self.direct_tcp, self._start)
        except ProtocolError as e:
            raise self._fail(e)
        if length > self.max_message_size:
            raise self._fail(ProtocolError(
                "%s:%s announced a message of %d bytes, above max_message_size %d"
                % (self.host, self.port, length, self.max_message_size)))
        total = HEADER_SIZE + length
        if self._end - self._start < total:
            self._fill(total, deadline, False)
        s = self._start
        self._start = s + total
        return ptype, self._view[s + HEADER_SIZE:s + total]

    def _fill(self, n: int, deadline: Optional[float], header: bool) -> None:
        """Make at least ``n`` bytes available from ``self._start``."""
        have = self._end - self._start
        if have >= n:
            return
        if self._start + n > len(self._buf):
            self._make_room(n, have)
        sock = self.sock
        view = self._view
        size = len(self._buf)
        while True:
            need = n - (self._end - self._start)
            if need <= 0:
                return
            want = min(size - self._end, max(need, READAHEAD))
            try:
                k = sock.recv_into(view[self._end:], want)
            except (BlockingIOError, InterruptedError):
                self._wait(False, deadline)
                continue
            except OSError as e:
                self._check_open()
                raise self._fail(NotConnectedError("connection to %s:%s lost while receiving: %s"
                                                   % (self.host, self.port, e))) from e
            if not k:
                self._check_open()  # closed locally (by another thread) while waiting
                got = self._end - self._start
                if header and got == 0:
                    msg = "connection closed by %s:%s" % (self.host, self.port)
                elif header:
                    msg = "connection closed by %s:%s in the middle of a message header (%d of 4 bytes)" % (
                        self.host, self.port, got)
                else:
                    msg = "connection closed by %s:%s in the middle of a message (%d of %d bytes)" % (
                        self.host, self.port, got - HEADER_SIZE, n - HEADER_SIZE)
                raise self._fail(NotConnectedError(msg))
            self._end += k

    def detach_buffer(self) -> None:
        """Leave the buffer of the messages received so far to the views of them: the
        next :meth:`recv` reads into a new buffer of the same size (bytes already read
        ahead move there), so that those views stay valid while later messages arrive."""
        have = self._end - self._start
        new = self._spare_buffer(len(self._buf))
        new[:have] = self._view[self._start:self._end]
        self._detached.append(self._buf)
        if len(self._detached) > _MAX_DETACHED:
            del self._detached[0]  # forgotten here; freed once its views are gone
        self._buf = new
        self._view = memoryview(new)
        self._start = 0
        self._end = have

    def _spare_buffer(self, size: int) -> bytearray:
        """A detached buffer of ``size`` bytes that nothing refers to any more (reused: no
        allocation, no page faults), else a new one."""
        if _getrefcount is not None:
            for i in range(len(self._detached)):  # (not enumerate: its tuple holds a reference)
                buf = self._detached[i]
                # referenced only by the list, ``buf`` and the call's argument: no view left
                if len(buf) == size and _getrefcount(buf) <= 3:
                    del self._detached[i]
                    return buf
        return bytearray(size)

    def _make_room(self, n: int, have: int) -> None:
        size = len(self._buf)
        if n > size:
            new_size = max(n, min(2 * size, self.max_message_size + HEADER_SIZE))
            new = bytearray(new_size)
            new[:have] = self._view[self._start:self._end]
            self._buf = new
            self._view = memoryview(new)
        elif have:
            self._view[:have] = self._view[self._start:self._end]
        self._start = 0
        self._end = have


def connect(host: str, port: int, **kwargs) -> Transport:
    """Shorthand for :meth:`Transport.connect`."""
    return Transport.connect(host, port, **kwargs)


def session_request(sock: socket.socket, called: str, calling: str, called_type: int = SERVER_NAME_TYPE,
                    calling_type: int = WORKSTATION_NAME_TYPE, timeout: Optional[float] = 30.0) -> Tuple[int, bytes]:
    """Low level: send a SESSION REQUEST on a connected blocking socket and return the answer
    as ``(packet_type, payload)`` without interpreting it (diagnostics and tests)."""
    sock.settimeout(timeout)
    sock.sendall(framing.session_request(called, calling, called_type, calling_type))
    header = _recv_exact_blocking(sock, HEADER_SIZE)
    ptype, length = framing.decode_header(header, False)
    return ptype, _recv_exact_blocking(sock, length)


def _recv_exact_blocking(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        try:
            k = sock.recv_into(view[got:])
        except socket.timeout as e:
            raise SMBTimeout("timed out waiting for a NetBIOS session response") from e
        except OSError as e:
            raise NotConnectedError("connection lost: %s" % e) from e
        if not k:
            raise NotConnectedError("connection closed after %d of %d bytes" % (got, n))
        got += k
    return bytes(buf)
