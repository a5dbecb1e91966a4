"""The client side of one SMB2/3 connection, safe for many threads: message ids, credits, the
outstanding request table, signing and encryption of what is sent, and one reader at a time
demultiplexing responses by MessageId.

Implements [MS-SMB2] 3.2.1.2 (Connection: SequenceWindow, OutstandingRequests), 3.2.4.1.1 -
3.2.4.1.5 (signing, MessageId and CreditCharge/CreditRequest, compounding; the framing itself
is :func:`smb.smb2.header.frame_chain`), 3.2.4.24 (CANCEL), 3.2.5.1.2 - 3.2.5.1.5 (matching
responses to requests by MessageId, signature verification, granted credits, interim
STATUS_PENDING responses) and the TRANSFORM_HEADER hook of 3.2.4.1.8 / 3.2.5.1.1.1.

Concurrency: the reader role, pinned views, turns and the broken state come from
:class:`smb.mux.Multiplexer`. Credits are reserved first, in arrival order; then, under the
send lock, message ids are allocated, the chain is framed, signed, encrypted (nonces come
from one generator) and written with one ``send``: message ids and nonces are unique and the
bytes of two chains never interleave. With cores to spare (``OFFLOAD_MIN_CORES``), a signed
or encrypted response of ``OFFLOAD_MIN`` bytes or more is checked or decrypted by the crypto
worker of :mod:`smb.mux` while the reader reads on; it is dispatched, in order, only after.

Security policy enforced here: a request on a session with EncryptData or a tree with
TreeConnect.EncryptData is never sent in clear; a response to an encrypted request must be
encrypted, interim ones included; a decrypted message must carry the TRANSFORM_HEADER's
SessionId, the one of its request; what an unverifiable interim response may change is
capped.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from logging import DEBUG

from smb.errors import NotConnectedError, ProtocolError, SMBTimeout
from smb.mux import Multiplexer
from smb.smb2 import constants as C
from smb.smb2.header import frame_chain, parse_header, split_compound
from smb.smb2.session import Session, Smb3Encryption

#: pysmb's logger of the SMB layer: one DEBUG record per message sent and received (never a
#: key, signature or payload)
log = logging.getLogger("SMB.SMB")

_monotonic = time.monotonic
_get_ident = threading.get_ident
MAX_CREDIT_REQUEST = 8192
#: credits held at most, whatever servers grant: bounds how much one connection puts in flight
MAX_CREDITS = 2 * MAX_CREDIT_REQUEST
_CANCEL_BODY = b"\x04\x00\x00\x00"
_U32 = struct.Struct("<I")
#: signed or encrypted transport messages at least this long are checked by the crypto worker
OFFLOAD_MIN = 256 * 1024
#: the worker pays only with a core to spare beside the reader and the server: on 2 cores
#: shared with smbd it cost 0.3-0.45 ms of CPU per MiB more than it saved and lowered
#: signed/encrypted 128 MiB gets by 15-25% (thread hand-offs), so below this many cores it
#: stays off (``Connection.offload_min`` None)
OFFLOAD_MIN_CORES = 4


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Request:
    """One outstanding request ([MS-SMB2] 3.2.1.7 Request)."""

    __slots__ = ("message_id", "command", "credit_charge", "session_id", "tree_id", "async_id",
                 "header", "response", "done", "abandoned", "sent", "encrypted", "signed",
                 "owner", "conn")

    def __init__(self, conn, message_id, command, credit_charge, session_id, tree_id):
        self.conn = conn
        self.message_id = message_id
        self.command = command
        self.credit_charge = credit_charge
        self.session_id = session_id
        self.tree_id = tree_id
        self.async_id = None
        self.header = None
        #: the whole response message (header first): bytes, or a view into the transport
        #: buffer that stays valid until ``release()`` (the connection copies it first if the
        #: owner waits again before releasing it)
        self.response = None
        self.done = False
        self.abandoned = False
        self.sent = None  # bytes of the request as sent, when captured (preauth hash)
        self.encrypted = False
        self.signed = False
        self.owner = _get_ident()

    @property
    def status(self) -> int:
        return self.header.status

    def release(self) -> None:
        """Drop the response (the caller consumed it): unpins the transport buffer."""
        self.response = None
        self.conn.unpin(self)

    def detach(self) -> None:
        """Copy the response out of the transport buffer (it is about to be reused)."""
        if type(self.response) is memoryview:
            self.response = bytes(self.response)

    def __repr__(self):
        return "<Request %s mid=%d done=%s>" % (C.COMMAND_NAMES.get(self.command, self.command),
                                                 self.message_id, self.done)


class Connection(Multiplexer):
    """Message ids, credits and the request table over a transport; thread-safe."""

    name = "SMB2"

    def __init__(self, transport, target_credits: int = 512):
        super().__init__(transport)
        self.dialect = 0
        self.multi_credit = False
        self.next_message_id = 0
        #: message ids granted beyond next_message_id (the sequence window), not reserved
        self.credits = 1
        self.target_credits = target_credits
        self.outstanding: dict[int, Request] = {}
        #: session_id -> object with ``signer``, ``signing_required``, ``encrypt_data``
        self.sessions: dict[int, Session] = {}
        #: SMB3 encryption hook: ``encrypt(parts, session) -> list of buffers`` and
        #: ``decrypt(view) -> (bytes_like_plain_message, session_id)``; None until SMB3 crypto
        self.encryption: Smb3Encryption | None = None
        self._reserved = 0  # credits reserved and not yet spent on a message id
        #: signed/encrypted messages at least this long go to the crypto worker; None: never
        self.offload_min: int | None = OFFLOAD_MIN if _cores() >= OFFLOAD_MIN_CORES else None

    @property
    def outstanding_charge(self) -> int:
        return sum(r.credit_charge for r in self.outstanding.values())

    def consume_message_id(self, charge: int = 1) -> int:
        """Take ``charge`` message ids (used for the SMB1 multi-protocol NEGOTIATE)."""
        with self._cv:
            mid = self.next_message_id
            self.next_message_id += charge
            self.credits -= charge
            return mid

    # --- sending ------------------------------------------------------------------------
    def acquire_credits(self, charge: int, deadline: float) -> None:
        """Reserve ``charge`` credits, first come first served, reading responses (which
        grant credits) while waiting."""
        def take():
            if self.credits >= charge:
                self.credits -= charge
                self._reserved += charge
                return True
            if not self.outstanding and not self._reserved:
                raise self.fail(ProtocolError("server granted too few credits (%d available, %d needed)"
                                              % (self.credits, charge)))
            return False

        self.take_turn(take, deadline)

    def send(self, items, *, session=None, tree_id: int = 0, deadline: float, related: bool = False,
             capture: bool = False, encrypt: bool = False, sign: bool = False,
             dfs: bool = False) -> list:
        """Send one message or a compound chain; returns its :class:`Request` objects.

        ``items``: ``(command, body, payload, credit_charge)`` tuples
        (:class:`smb.smb2.header.RequestItem`); ``payload`` (bytes-like or None) follows
        ``body`` on the wire as a separate buffer (no copy). With ``related`` the chain is a
        related compound (the later requests use the FileId of the first CREATE as 0xFF..FF).
        ``sign`` signs even when the session does not require it (3.1.1 TREE_CONNECT).
        ``dfs``: the tree is in DFS (its CREATEs carry SMB2_FLAGS_DFS_OPERATIONS).
        """
        self.check_usable()
        if _monotonic() >= deadline:
            raise SMBTimeout("SMB2 request not sent: deadline passed")
        charges = [max(1, it[3]) for it in items]
        total = sum(charges)
        session_id = session.session_id if session is not None else 0
        if not encrypt and session is not None and (getattr(session, "encrypt_data", False)
                                                    or tree_id in getattr(session, "encrypted_trees", ())):
            # [MS-SMB2] 3.2.4.1.8: Session.EncryptData / TreeConnect.EncryptData mean every
            # message MUST be encrypted; a clear-text request would leak what it carries
            raise self.fail(ProtocolError("refusing to send %s in clear on a session/tree that "
                                          "requires encryption" % C.COMMAND_NAMES.get(items[0][0], "?")))
        if encrypt and self.encryption is None:
            raise self.fail(ProtocolError("encryption required but no SMB3 encryption available"))
        signer = session.signer if (session is not None and (session.signing_required or sign)
                                    and not encrypt) else None
        self.unpin_all()
        self.acquire_credits(total, deadline)
        sent = False
        reqs = []
        try:
            with self._send_lock:
                with self._cv:
                    self.check_usable()
                    want = self.target_credits - self.credits - self.outstanding_charge - total
                    mids = []
                    for (command, _b, _p, _c), charge in zip(items, charges):
                        mid = self.next_message_id
                        self.next_message_id += charge
                        mids.append(mid)
                        req = Request(self, mid, command, charge, session_id, tree_id)
                        req.encrypted = encrypt
                        req.signed = signer is not None
                        self.outstanding[mid] = req
                        reqs.append(req)
                    self._reserved -= total
                credit_request = min(charges[-1] + max(0, want), MAX_CREDIT_REQUEST)
                messages = frame_chain(items, mids, tree_id=tree_id, session_id=session_id,
                                       related=related, signer=signer, multi_credit=self.multi_credit,
                                       credit_request=credit_request, dfs=dfs)
                if capture:
                    for req, parts in zip(reqs, messages):
                        req.sent = b"".join(bytes(p) for p in parts)
                parts = [p for m in messages for p in m]
                if log.isEnabledFor(DEBUG):
                    for req, m in zip(reqs, messages):
                        log.debug("SMB2 send %s mid=%d credits=%d tree=0x%X %d bytes%s%s",
                                  C.COMMAND_NAMES.get(req.command, req.command), req.message_id,
                                  req.credit_charge, tree_id or 0, sum(len(x) for x in m),
                                  " signed" if req.signed else "", " encrypted" if encrypt else "")
                if encrypt:
                    # checked above: send() refused encrypt=True without encryption
                    parts = self.encryption.encrypt(parts, session)  # type: ignore[union-attr]
                self._transmit(parts, deadline, reqs)
                sent = True
        finally:
            if not sent:
                with self._cv:
                    for r in reqs:
                        self.outstanding.pop(r.message_id, None)
                    if not reqs:  # failed before the ids were allocated: give the credits back
                        self._reserved -= total
                        self.credits += total
                    self._cv.notify_all()
        if signer is not None:
            self._prepare_macs(signer, reqs, session)
        elif encrypt:
            self.encryption.prepare(session)  # type: ignore[union-attr]
        return reqs

    def _prepare_macs(self, signer, reqs, session) -> None:
        """While the server works on ``reqs``: make ahead the MAC objects that will verify
        their signed answers, and those that will sign this session's next request, taken
        to be like this one (the same messages and credit charges: a small file's CREATE +
        READ + CLOSE after another's, a READ after a READ). AES-GMAC set-ups cost more than
        MACing a short message; see :meth:`smb.smb2.crypto.Signer.prepare`."""
        for r in reqs:
            signer.prepare(r.message_id, True)
        if session.signing_required:
            mid = self.next_message_id  # a guess: another thread may take these ids
            for r in reqs:
                signer.prepare(mid, False)
                mid += r.credit_charge

    def _transmit(self, parts, deadline: float, reqs) -> None:
        try:
            self.transport.send(*parts, deadline=deadline)
        except SMBTimeout:
            if getattr(self.transport, "closed", False):
                raise self.fail(SMBTimeout("timed out sending an SMB2 request"))
            # nothing was written: the message ids are spent but their credits come back
            with self._cv:
                self.credits += sum(r.credit_charge for r in reqs)
            raise
        except (NotConnectedError, ProtocolError, OSError) as e:
            raise self.fail(e)

    def cancel(self, req: Request, session=None, abandon: bool = True) -> None:
        """Send SMB2 CANCEL for ``req`` ([MS-SMB2] 3.2.4.24); its late response is dropped,
        unless ``abandon`` is False: then the caller waits for that final answer (a blocking
        LOCK may have been granted before the CANCEL arrived)."""
        if abandon:
            req.abandoned = True
        if self.broken is not None or req.done:
            return
        signer = session.signer if (session is not None and session.signing_required
                                    and not req.encrypted) else None
        async_id = req.async_id
        [parts] = frame_chain([(C.CANCEL, _CANCEL_BODY, None, 0)],
                              [req.message_id if async_id is None else 0],
                              tree_id=req.tree_id, session_id=req.session_id, related=False,
                              signer=signer, multi_credit=False, credit_request=0,
                              async_ids=None if async_id is None else [async_id])
        # CreditCharge 0 and CreditRequest 0: a CANCEL consumes no message id ([MS-SMB2] 3.2.4.24)
        try:
            with self._send_lock:
                if req.encrypted and self.encryption is not None:
                    parts = self.encryption.encrypt(parts, session)
                self.transport.send(*parts, deadline=_monotonic() + 5.0)
        except Exception:  # best effort
            pass

    # --- receiving ----------------------------------------------------------------------
    def _dispatch(self, data, me) -> None:
        """Complete the requests one transport message answers (under the lock); a large
        signed or encrypted one goes to the crypto worker (see :mod:`smb.mux`)."""
        limit = self.offload_min
        if self._offloaded or (limit is not None and len(data) >= limit and self._worth_offloading(data)):
            self.offload(data)
            return
        self._dispatch_now(data, me)

    def _worth_offloading(self, data) -> bool:
        magic = bytes(data[:4])
        if magic == C.TRANSFORM_MAGIC:
            return self.encryption is not None
        # one signed message (a compound is verified part by part, under the lock)
        return (magic == C.SMB2_MAGIC and len(data) >= 64 and not _U32.unpack_from(data, 20)[0]
                and bool(_U32.unpack_from(data, 16)[0] & C.FLAGS_SIGNED))

    def _process_offloaded(self, data):
        """In the crypto worker, without the lock: decrypt, or check the signature of a
        single message; the dispatch itself follows under the lock."""
        if bytes(data[:4]) == C.TRANSFORM_MAGIC:
            plain, sid = self._decrypt(data)  # in the worker's own buffer
            return lambda: self._dispatch_now(plain, None, decrypted_sid=sid, owned=True)
        signer = self._preverify(data)
        return lambda: self._dispatch_now(data, None, verified=signer, owned=True)

    def _decrypt(self, data):
        """``(plaintext view, SessionId)`` of the TRANSFORM_HEADER message ``data``,
        decrypted in place when ``data`` is writable (else into a new buffer)."""
        if self.encryption is None:
            raise ProtocolError("encrypted SMB3 message received but encryption is not active")
        plain, sid = self.encryption.decrypt(data, in_place=True)
        return memoryview(plain), sid

    def _preverify(self, data):
        """Check the signature of the single message ``data`` with the signer :meth:`_verify`
        would pick; that signer, or None when there was nothing to check here."""
        hdr = parse_header(data)
        req = self.outstanding.get(hdr.message_id)
        if req is None or not hdr.flags & C.FLAGS_SIGNED or hdr.next_command:
            return None
        sid = hdr.session_id if req.command == C.SESSION_SETUP else req.session_id
        session = self.sessions.get(sid) if sid else None
        if session is None or session.signer is None:
            return None
        signer = session.signer
        verify_signature(signer, data)
        return signer

    def _dispatch_now(self, data, me, *, decrypted_sid=None, verified=None, owned=False) -> None:
        """Complete the requests one transport message answers (under the lock).
        ``decrypted_sid``: ``data`` is the plaintext of a TRANSFORM_HEADER of that SessionId;
        ``verified``: the signer that already checked ``data`` (one message); ``owned``:
        ``data`` is no longer in the transport buffer."""
        if decrypted_sid is None:
            magic = bytes(data[:4])
            if magic == C.TRANSFORM_MAGIC:
                source = data
                data, decrypted_sid = self._decrypt(data)
                # decrypted in place: still the transport's buffer, unless it was not writable
                owned = owned or data.obj is not memoryview(source).obj
            elif magic == C.COMPRESSION_MAGIC:
                raise ProtocolError("compressed SMB2 message received (compression was not negotiated)")
            elif magic != C.SMB2_MAGIC:
                raise ProtocolError("not an SMB2 message (protocol id %r)" % magic)
        encrypted = decrypted_sid is not None
        transform_sid = decrypted_sid or 0  # the TRANSFORM_HEADER's SessionId when encrypted
        for start, end in split_compound(data):
            msg = data[start:end]
            hdr = parse_header(msg)
            if not hdr.flags & C.FLAGS_SERVER_TO_REDIR:
                raise ProtocolError("SMB2 message without SMB2_FLAGS_SERVER_TO_REDIR")
            if hdr.message_id == C.UNSOLICITED_MESSAGE_ID:
                # oplock / lease break notification: we never request oplocks or leases
                if hdr.command != C.OPLOCK_BREAK:
                    raise ProtocolError("unsolicited SMB2 message with command 0x%X" % hdr.command)
                continue
            if encrypted and hdr.session_id != transform_sid:
                # decrypted with one session's key but claiming another session
                raise ProtocolError("decrypted SMB2 message for SessionId 0x%X inside a "
                                    "TRANSFORM_HEADER of SessionId 0x%X" % (hdr.session_id, transform_sid))
            req = self.outstanding.get(hdr.message_id)
            if req is None:
                raise ProtocolError("SMB2 response for unknown MessageId %d" % hdr.message_id)
            if hdr.command != req.command:
                raise ProtocolError("SMB2 response command 0x%X for a 0x%X request (MessageId %d)"
                                    % (hdr.command, req.command, hdr.message_id))
            pending = hdr.status == C.STATUS_PENDING
            if not pending and not encrypted:
                self._verify(req, hdr, msg, verified)
            if req.encrypted and not encrypted:
                # interim responses included: they would set AsyncId and grant credits
                raise ProtocolError("unencrypted response to an encrypted request")
            if encrypted and req.session_id and req.session_id != transform_sid:
                raise ProtocolError("response encrypted for SessionId 0x%X to a request of SessionId "
                                    "0x%X" % (transform_sid, req.session_id))
            if log.isEnabledFor(DEBUG):
                log.debug("SMB2 recv %s mid=%d status=0x%08X credits+%d %d bytes%s",
                          C.COMMAND_NAMES.get(hdr.command, hdr.command), hdr.message_id, hdr.status,
                          hdr.credits, len(msg), " (interim)" if pending else "")
            self.progressed(req.owner)
            if pending:
                self._interim(req, hdr)
                continue
            self.credits = min(self.credits + hdr.credits, MAX_CREDITS)
            del self.outstanding[hdr.message_id]
            if req.abandoned:
                continue
            req.header = hdr
            # ``owned``: not in the transport buffer (an offloaded message, or plaintext
            # decrypted into a buffer of its own)
            req.response = msg if owned else self.hand_over(req, msg, req.owner, me)
            req.done = True

    def _interim(self, req: Request, hdr) -> None:
        """An interim response ([MS-SMB2] 3.2.5.1.5): it is never signed (3.3.4.1.1, and
        3.2.5.1.3 skips its verification), so a man in the middle can forge one. What it may
        change is capped: it must be asynchronous, it comes once per request (its AsyncId is
        kept for CANCEL), and it gives back at most the credits its request charged."""
        if not hdr.flags & C.FLAGS_ASYNC_COMMAND:
            raise ProtocolError("synchronous STATUS_PENDING response (MessageId %d)" % hdr.message_id)
        if req.async_id is not None:
            raise ProtocolError("second interim response for MessageId %d" % hdr.message_id)
        req.async_id = hdr.async_id
        self.credits = min(self.credits + min(hdr.credits, req.credit_charge), MAX_CREDITS)

    def _verify(self, req: Request, hdr, msg, verified=None) -> None:
        sid = hdr.session_id if req.command == C.SESSION_SETUP else req.session_id
        if not sid:
            return
        session = self.sessions.get(sid)
        if session is None or session.signer is None:
            return
        if hdr.flags & C.FLAGS_SIGNED:
            if verified is not session.signer:  # not already checked by the crypto worker
                verify_signature(session.signer, msg)
        elif session.signing_required or req.signed:
            raise ProtocolError("unsigned %s response (status 0x%08X) on a signed session"
                                % (C.COMMAND_NAMES.get(hdr.command, hdr.command), hdr.status))

    def wait(self, req: Request, deadline: float, session=None) -> Request:
        """Receive until ``req`` completes; on timeout cancel it and raise SMBTimeout."""
        if req.done:
            return req
        try:
            self.pump(lambda: req.done, deadline)
        except SMBTimeout:
            self.cancel(req, session)
            raise SMBTimeout("timed out waiting for the SMB2 %s response"
                             % C.COMMAND_NAMES.get(req.command, req.command)) from None
        return req

    def wait_all(self, reqs, deadline: float, session=None) -> list:
        for r in reqs:
            try:
                self.wait(r, deadline, session)
            except SMBTimeout:
                for other in reqs:
                    if not other.done:
                        self.cancel(other, session)
                raise
        return reqs


def verify_signature(signer, msg) -> None:
    """Check the signature of one received message (``msg`` starts at its header)."""
    if not signer.verify(msg):
        raise ProtocolError("bad SMB2 signature on a %s response"
                            % C.COMMAND_NAMES.get(parse_header(msg).command, "?"))
