"""The client side of one SMB2/3 connection: message ids, credits, the outstanding request
table, compounding, signing and the receive loop.

Implements [MS-SMB2] 3.2.1.2 (Connection: SequenceWindow, OutstandingRequests),
3.2.4.1.1-3.2.4.1.5 (signing, MessageId and CreditCharge/CreditRequest, compounding with
NextCommand/SMB2_FLAGS_RELATED_OPERATIONS and 8-byte alignment), 3.2.4.24 (CANCEL),
3.2.5.1.2-3.2.5.1.5 (matching responses to requests by MessageId, signature verification,
granted credits, interim STATUS_PENDING responses with AsyncId) and 3.1.4.1/3.1.5.1 (the
signature computed over each message of a compound, padding included).

No message bodies are interpreted here (see :mod:`smb.smb2.messages`). Signing algorithms are
pluggable objects with ``sign(parts) -> 16 bytes`` (see :mod:`smb.smb2.session`); an
``encryption`` hook (SMB3 TRANSFORM_HEADER, [MS-SMB2] 3.2.4.1.8 / 3.2.5.1.1.1) may wrap
send and receive. Encryption policy enforced here: a request on a session with EncryptData
or a tree with TreeConnect.EncryptData is never sent in clear (the connection fails
instead); a response to an encrypted request must be encrypted, interim ones included; a
decrypted message must carry the TRANSFORM_HEADER's SessionId, the one of its request.
"""

from __future__ import annotations

import time

from smb.errors import NotConnectedError, ProtocolError, SMBTimeout
from smb.smb2 import constants as C
from smb.smb2.header import HEADER, SIGNATURE_OFFSET, ZERO_SIGNATURE, parse_header, split_compound

_monotonic = time.monotonic
_PADS = [bytes(i) for i in range(8)]
MAX_CREDIT_REQUEST = 8192
#: credits held at most, whatever servers grant: bounds how much one connection puts in flight
MAX_CREDITS = 2 * MAX_CREDIT_REQUEST


class Request:
    """One outstanding request ([MS-SMB2] 3.2.1.7 Request)."""

    __slots__ = ("message_id", "command", "credit_charge", "session_id", "tree_id", "async_id",
                 "header", "response", "done", "abandoned", "sent", "encrypted", "signed")

    def __init__(self, message_id, command, credit_charge, session_id, tree_id):
        self.message_id = message_id
        self.command = command
        self.credit_charge = credit_charge
        self.session_id = session_id
        self.tree_id = tree_id
        self.async_id = None
        self.header = None
        #: the whole response message (header first); a memoryview into the transport buffer
        #: until the next receive, then bytes (unless ``release()``\\ d first)
        self.response = None
        self.done = False
        self.abandoned = False
        self.sent = None  # bytes of the request as sent, when captured (preauth hash)
        self.encrypted = False
        self.signed = False

    @property
    def status(self) -> int:
        return self.header.status

    def release(self) -> None:
        """Drop the response (the caller consumed it)."""
        self.response = None

    def __repr__(self):
        return "<Request %s mid=%d done=%s>" % (C.COMMAND_NAMES.get(self.command, self.command),
                                                 self.message_id, self.done)


class Connection:
    """Message ids, credits and the request table over a transport."""

    def __init__(self, transport, target_credits: int = 512):
        self.transport = transport
        self.dialect = 0
        self.multi_credit = False
        self.next_message_id = 0
        #: message ids granted beyond next_message_id (the sequence window's size)
        self.credits = 1
        self.target_credits = target_credits
        self.outstanding = {}
        #: session_id -> object with ``signer``, ``signing_required``, ``encrypt_data``
        self.sessions = {}
        #: SMB3 encryption hook: ``encrypt(parts, session) -> list of buffers`` and
        #: ``decrypt(view) -> (bytes_like_plain_message, session_id)``; None until SMB3 crypto
        self.encryption = None
        self.broken = None
        self._volatile = []

    # --- state ------------------------------------------------------------------------
    def check_usable(self) -> None:
        if self.broken is not None:
            raise NotConnectedError("SMB2 connection is unusable after an earlier error: %s" % self.broken)

    def fail(self, exc: Exception) -> Exception:
        """Mark the connection broken (closing the transport) and return ``exc``."""
        if self.broken is None:
            self.broken = exc
        try:
            self.transport.close()
        except Exception:  # pragma: no cover - close must not mask the real error
            pass
        return exc

    @property
    def outstanding_charge(self) -> int:
        return sum(r.credit_charge for r in self.outstanding.values())

    def consume_message_id(self, charge: int = 1) -> int:
        """Take ``charge`` message ids (used for the SMB1 multi-protocol NEGOTIATE)."""
        mid = self.next_message_id
        self.next_message_id += charge
        self.credits -= charge
        return mid

    # --- sending ------------------------------------------------------------------------
    def acquire_credits(self, charge: int, deadline: float) -> None:
        """Receive responses until ``charge`` credits are available."""
        while self.credits < charge:
            if not self.outstanding:
                raise self.fail(ProtocolError("server granted too few credits (%d available, %d needed)"
                                              % (self.credits, charge)))
            self.receive(deadline)

    def send(self, items, *, session=None, tree_id: int = 0, deadline: float, related: bool = False,
             capture: bool = False, encrypt: bool = False, sign: bool = False) -> list:
        """Send one message or a compound chain; returns its :class:`Request` objects.

        ``items``: list of ``(command, body, payload, credit_charge)``; ``payload`` (bytes-like
        or None) follows ``body`` on the wire as a separate buffer (no copy). With
        ``related`` the chain is a related compound (the later requests carry
        SMB2_FLAGS_RELATED_OPERATIONS and use the FileId of the first CREATE as 0xFF..FF).
        ``sign`` signs even when the session does not require it (3.1.1 TREE_CONNECT).
        """
        self.check_usable()
        if _monotonic() >= deadline:
            raise SMBTimeout("SMB2 request not sent: deadline passed")
        total = 0
        for it in items:
            total += max(1, it[3])
        self.acquire_credits(total, deadline)
        session_id = session.session_id if session is not None else 0
        if not encrypt and session is not None and (getattr(session, "encrypt_data", False)
                                                    or tree_id in getattr(session, "encrypted_trees", ())):
            # [MS-SMB2] 3.2.4.1.8: Session.EncryptData / TreeConnect.EncryptData mean every
            # message MUST be encrypted; a clear-text request would leak what it carries
            raise self.fail(ProtocolError("refusing to send %s in clear on a session/tree that "
                                          "requires encryption" % C.COMMAND_NAMES.get(items[0][0], "?")))
        signer = session.signer if (session is not None and (session.signing_required or sign)
                                    and not encrypt) else None
        if encrypt and self.encryption is None:
            raise self.fail(ProtocolError("encryption required but no SMB3 encryption available"))
        want = self.target_credits - (self.credits - total) - self.outstanding_charge - total
        parts = []
        reqs = []
        n = len(items)
        for i, (command, body, payload, charge) in enumerate(items):
            charge = max(1, charge)
            mid = self.next_message_id
            self.next_message_id += charge
            self.credits -= charge
            length = 64 + len(body) + (len(payload) if payload is not None else 0)
            pad = 0
            if i < n - 1:
                pad = (8 - (length & 7)) & 7
            flags = 0
            if related and i:
                flags |= C.FLAGS_RELATED_OPERATIONS
            if signer is not None:
                flags |= C.FLAGS_SIGNED
            credit_req = charge
            if i == n - 1 and want > 0:
                credit_req += want
            if credit_req > MAX_CREDIT_REQUEST:
                credit_req = MAX_CREDIT_REQUEST
            hdr = bytearray(64)
            HEADER.pack_into(hdr, 0, C.SMB2_MAGIC, 64, charge if self.multi_credit else 0, 0,
                             command, credit_req, flags, length + pad if i < n - 1 else 0, mid,
                             (tree_id & 0xFFFFFFFF) << 32, session_id, ZERO_SIGNATURE)
            msg_parts = [hdr, body]
            if payload is not None:
                msg_parts.append(payload)
            if pad:
                msg_parts.append(_PADS[pad])
            if signer is not None:
                hdr[SIGNATURE_OFFSET:64] = signer.sign(msg_parts)
            if capture:
                capture_bytes = b"".join(bytes(p) for p in msg_parts)
            parts.extend(msg_parts)
            req = Request(mid, command, charge, session_id, tree_id)
            if capture:
                req.sent = capture_bytes
            req.encrypted = encrypt
            req.signed = signer is not None
            self.outstanding[mid] = req
            reqs.append(req)
        if encrypt:
            parts = self.encryption.encrypt(parts, session)
        try:
            self.transport.send(*parts, deadline=deadline)
        except SMBTimeout:
            # nothing (or, if the transport closed, everything) was written
            for r in reqs:
                self.outstanding.pop(r.message_id, None)
                self.credits += r.credit_charge
            if getattr(self.transport, "closed", False):
                raise self.fail(SMBTimeout("timed out sending an SMB2 request"))
            raise
        except (NotConnectedError, ProtocolError, OSError) as e:
            raise self.fail(e)
        return reqs

    def cancel(self, req: Request, session=None) -> None:
        """Send SMB2 CANCEL for ``req`` ([MS-SMB2] 3.2.4.24); its late response is dropped."""
        req.abandoned = True
        if self.broken is not None or req.done:
            return
        flags = 0
        x = (req.tree_id & 0xFFFFFFFF) << 32
        if req.async_id is not None:
            flags |= C.FLAGS_ASYNC_COMMAND
            x = req.async_id
        signer = session.signer if (session is not None and session.signing_required
                                    and not req.encrypted) else None
        if signer is not None:
            flags |= C.FLAGS_SIGNED
        hdr = bytearray(64)
        HEADER.pack_into(hdr, 0, C.SMB2_MAGIC, 64, 0, 0, C.CANCEL, 0, flags, 0,
                         req.message_id if req.async_id is None else 0, x, req.session_id,
                         ZERO_SIGNATURE)
        body = b"\x04\x00\x00\x00"
        if signer is not None:
            hdr[SIGNATURE_OFFSET:64] = signer.sign([hdr, body])
        parts = [hdr, body]
        try:
            if req.encrypted and self.encryption is not None:
                parts = self.encryption.encrypt(parts, session)
            self.transport.send(*parts, deadline=_monotonic() + 5.0)
        except Exception:  # best effort
            pass

    # --- receiving ----------------------------------------------------------------------
    def receive(self, deadline: float) -> None:
        """Receive one transport message and complete the requests it answers.

        Completed requests get ``done``, ``header`` and ``response`` (a view valid until
        the next ``receive``, when it is copied unless the owner released it first)."""
        for r in self._volatile:
            if r.response is not None and type(r.response) is memoryview:
                r.response = bytes(r.response)
        self._volatile.clear()
        self.check_usable()
        try:
            data = self.transport.recv(deadline)
        except SMBTimeout:
            raise
        except (NotConnectedError, ProtocolError, OSError) as e:
            raise self.fail(e if not isinstance(e, OSError) else NotConnectedError(str(e)))
        try:
            self._dispatch(data)
        except ProtocolError as e:
            raise self.fail(e)

    def _dispatch(self, data) -> None:
        encrypted = False
        magic = bytes(data[:4])
        transform_sid = None
        if magic == C.TRANSFORM_MAGIC:
            if self.encryption is None:
                raise ProtocolError("encrypted SMB3 message received but encryption is not active")
            data, transform_sid = self.encryption.decrypt(data)
            data = memoryview(data)
            encrypted = True
        elif magic == C.COMPRESSION_MAGIC:
            raise ProtocolError("compressed SMB2 message received (compression was not negotiated)")
        elif magic != C.SMB2_MAGIC:
            raise ProtocolError("not an SMB2 message (protocol id %r)" % magic)
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
                self._verify(req, hdr, msg)
            if req.encrypted and not encrypted:
                # interim responses included: they would set AsyncId and grant credits
                raise ProtocolError("unencrypted response to an encrypted request")
            if encrypted and req.session_id and req.session_id != transform_sid:
                raise ProtocolError("response encrypted for SessionId 0x%X to a request of SessionId "
                                    "0x%X" % (transform_sid, req.session_id))
            if pending:
                self._interim(req, hdr)
                continue
            self.credits = min(self.credits + hdr.credits, MAX_CREDITS)
            del self.outstanding[hdr.message_id]
            if req.abandoned:
                continue
            req.header = hdr
            req.response = msg
            req.done = True
            self._volatile.append(req)

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

    def _verify(self, req: Request, hdr, msg) -> None:
        sid = hdr.session_id if req.command == C.SESSION_SETUP else req.session_id
        if not sid:
            return
        session = self.sessions.get(sid)
        if session is None or session.signer is None:
            return
        if hdr.flags & C.FLAGS_SIGNED:
            verify_signature(session.signer, msg)
        elif session.signing_required or req.signed:
            raise ProtocolError("unsigned %s response (status 0x%08X) on a signed session"
                                % (C.COMMAND_NAMES.get(hdr.command, hdr.command), hdr.status))

    def wait(self, req: Request, deadline: float, session=None) -> Request:
        """Receive until ``req`` completes; on timeout cancel it and raise SMBTimeout."""
        while not req.done:
            try:
                self.receive(deadline)
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
