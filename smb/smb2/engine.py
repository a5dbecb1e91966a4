"""The SMB2/3 engine: :class:`smb.engine.Engine` over one SMB2 connection and session.

Implements the client operations of [MS-SMB2] 3.2.4 / 3.2.5 that concern the session:
session setup with SPNEGO/NTLM (3.2.4.2.3, 3.2.5.3: STATUS_MORE_PROCESSING_REQUIRED loop, key
derivation, signature of the final response), LOGOFF (3.2.4.22), ECHO (3.2.4.19),
TREE_CONNECT / TREE_DISCONNECT (3.2.4.2.4, 3.2.4.22) and secure negotiate; the file
operations are in :mod:`smb.smb2.fileops`, pipelined transfers in :mod:`smb.transfer` over
this engine's READ/WRITE submit/complete interface (3.2.4.7, 3.2.4.8).

Security state: Session.EncryptData from SMB2_SESSION_FLAG_ENCRYPT_DATA or the client's
``require_encryption`` (3.2.5.3.1; refused right after NEGOTIATE when the connection has no
cipher), TreeConnect.EncryptData from SMB2_SHAREFLAG_ENCRYPT_DATA (3.2.5.5), and
FSCTL_VALIDATE_NEGOTIATE_INFO after the first tree connect on every dialect before 3.1.1
(3.2.5.14.12).
``signing_algorithm``, ``cipher_id``, ``signing_active``, ``encryption_active`` and
``negotiate_validations`` expose what was negotiated.
"""

from __future__ import annotations

from typing import Optional

from smb.engine import Engine, SessionSecurity, Timeout, Tree, session_refusal
from smb.errors import OperationFailure, ProtocolError, SMBTimeout, UnsupportedFeature
from smb.records import smb2_failure
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2.compounds import Compounds
from smb.smb2.connection import Connection, verify_signature
from smb.smb2.copychunk import ServerSideCopy
from smb.smb2.dfs import DfsOperations
from smb.smb2.fileops import FileOperations
from smb.smb2.locks import LockOperations
from smb.smb2.negotiation import SIGN_WHEN_SUPPORTED, cipher_for
from smb.smb2.notify import ChangeNotify
from smb.smb2.security import SetSecurity
from smb.smb2.session import Session, Smb3Encryption

MAX_IO_SIZE = 8 * 1024 * 1024  # the transport's buffer allows 8 MiB payloads (+ headers)
#: SPNEGO/NTLM needs two legs, Kerberos one or two: more is a server stalling the client
MAX_SESSION_SETUP_LEGS = 8
#: bytes per READ/WRITE of a pipelined transfer, and requests in flight per transfer at most
CHUNK = 1024 * 1024
WINDOW = 8
#: bytes per READ/WRITE once every message is signed or encrypted: besides its bytes, each
#: message then costs two AES-GCM (or CMAC/HMAC) set-ups, and halving their number cut the
#: client's CPU per MiB by about a fifth (benchmarks/bench.py, issue 12). The window
#: shrinks to match: a transfer keeps at most IN_FLIGHT bytes requested either way.
PROTECTED_CHUNK = 2 * CHUNK
IN_FLIGHT = CHUNK * WINDOW
_DIALECT_NAMES = {C.DIALECT_2_0_2: "2.0.2", C.DIALECT_2_1: "2.1", C.DIALECT_3_0: "3.0",
                  C.DIALECT_3_0_2: "3.0.2", C.DIALECT_3_1_1: "3.1.1"}


_SIGNING_NAMES: dict[Optional[int], str] = {
    C.SIGNING_HMAC_SHA256: "HMAC-SHA256", C.SIGNING_AES_CMAC: "AES-CMAC", C.SIGNING_AES_GMAC: "AES-GMAC"}
_CIPHER_NAMES: dict[Optional[int], str] = {
    C.CIPHER_AES_128_CCM: "AES-128-CCM", C.CIPHER_AES_128_GCM: "AES-128-GCM",
    C.CIPHER_AES_256_CCM: "AES-256-CCM", C.CIPHER_AES_256_GCM: "AES-256-GCM"}
#: signed answers of servers that cannot validate a pre-3.0 negotiation ([MS-SMB2] 3.2.5.14.12)
_CANNOT_VALIDATE = (C.STATUS_FILE_CLOSED, C.STATUS_NOT_SUPPORTED, C.STATUS_INVALID_DEVICE_REQUEST)


class SMB2Engine(DfsOperations, Compounds, FileOperations, LockOperations, ServerSideCopy, ChangeNotify, SetSecurity,
                 Engine):
    conn: Connection
    is_smb2 = True

    def __init__(self, conn, config, state, server_name: str = ""):
        self.conn = conn
        self.transport = conn.transport
        self.config = config
        self.state = state
        neg = state.response
        self.negotiate_response = neg
        self.dialect = neg.dialect
        conn.dialect = neg.dialect
        self.multi_credit = neg.dialect >= C.DIALECT_2_1 and bool(neg.capabilities & C.GLOBAL_CAP_LARGE_MTU)
        conn.multi_credit = neg.dialect >= C.DIALECT_2_1
        cap = MAX_IO_SIZE if self.multi_credit else 65536
        self.max_read_size = min(neg.max_read_size, cap)
        self.max_write_size = min(neg.max_write_size, cap)
        self.max_transact_size = min(neg.max_transact_size, cap)
        self.read_chunk = min(self.max_read_size, CHUNK)
        self.write_chunk = min(self.max_write_size, CHUNK)
        self.read_window = self._window(self.read_chunk)
        self.write_window = self._window(self.write_chunk)
        self.server_requires_signing = bool(neg.security_mode & C.NEGOTIATE_SIGNING_REQUIRED)
        self.server_name = server_name or config.remote_name or getattr(self.transport, "host", "") or "*SMBSERVER"
        #: the server's name in DFS paths ([MS-DFSC] 2.2.1): the address connected to
        self.dfs_host = getattr(self.transport, "host", "") or self.server_name
        #: Connection.CipherId (None: this connection cannot encrypt)
        self.cipher_id = cipher_for(neg, config)
        self.session: Optional[Session] = None
        #: why authenticate() refused the session the server granted (guest/null), if it did
        self.refusal: Optional[str] = None
        #: FSCTL_VALIDATE_NEGOTIATE_INFO exchanges completed (before 3.1.1, [MS-SMB2] 3.2.5.14.12)
        self.negotiate_validations = 0
        self._validated = False
        if config.require_encryption and self.cipher_id is None:
            # fail before any credentials are sent, never fall back to a clear-text session
            raise UnsupportedFeature(
                "require_encryption: the server negotiated SMB dialect %s, which %s" % (
                    _DIALECT_NAMES.get(neg.dialect, "0x%04X" % neg.dialect),
                    "has no encryption (SMB 3.0 or later is needed)" if neg.dialect < C.DIALECT_3_0
                    else "offers no cipher this client accepts"))

    # --- security state (read-only views) ------------------------------------------------
    @property
    def signing_algorithm(self) -> Optional[int]:
        """The session's signing algorithm (C.SIGNING_*), None before/without signing keys."""
        s = self.session
        return s.signer.algorithm if s is not None and s.signer is not None else None

    @property
    def signing_active(self) -> bool:
        """Every request of the session is signed (Session.SigningRequired)."""
        return bool(self.session is not None and self.session.signing_required)

    @property
    def encryption_active(self) -> bool:
        """Every message of the session is encrypted (Session.EncryptData)."""
        return bool(self.session is not None and self.session.encrypt_data)

    def security(self) -> SessionSecurity:
        s = self.session
        if s is None:
            return SessionSecurity(self.dialect, False, False, False, False)
        signed = bool(s.signing_required or s.encrypt_data)
        return SessionSecurity(
            self.dialect, s.is_guest, s.is_anonymous, signed, bool(s.encrypt_data),
            _SIGNING_NAMES.get(self.signing_algorithm) if signed else None,
            _CIPHER_NAMES.get(self.cipher_id) if s.encryption_key is not None else None,
            self.auth_mechanism)

    # --- plumbing ---------------------------------------------------------------------
    def charge(self, nbytes: int) -> int:
        """CreditCharge for a payload of ``nbytes`` ([MS-SMB2] 3.1.5.2)."""
        if not self.multi_credit or nbytes <= 65536:
            return 1
        return (nbytes - 1) // 65536 + 1

    def _encrypt(self, tree) -> bool:
        s = self.session
        return s is not None and (s.encrypt_data or (tree is not None and (
            tree.encrypt or tree.tree_id in s.encrypted_trees)))

    def _window(self, chunk: int) -> int:
        """Requests in flight per transfer: at most WINDOW and IN_FLIGHT bytes, and a fair
        share of the credits."""
        return max(1, min(WINDOW, IN_FLIGHT // chunk, self.conn.target_credits // (2 * self.charge(chunk))))

    def _protected_chunks(self) -> None:
        """PROTECTED_CHUNK-sized READs and WRITEs from now on (every message is signed or
        encrypted), unless the server's limits, or READs it answered short, say less."""
        if self.read_chunk == min(self.max_read_size, CHUNK) and self.read_chunk_honoured:
            self.read_chunk = min(self.max_read_size, PROTECTED_CHUNK)
            self.read_window = self._window(self.read_chunk)
        if self.write_chunk == min(self.max_write_size, CHUNK):
            self.write_chunk = min(self.max_write_size, PROTECTED_CHUNK)
            self.write_window = self._window(self.write_chunk)

    def _send(self, command, body, tree, timeout: Timeout, payload=None, charge=1,
              sign=False):
        [req] = self.conn.send([(command, body, payload, charge)], session=self.session,
                               tree_id=tree.tree_id if tree is not None else 0,
                               deadline=timeout.deadline(), encrypt=self._encrypt(tree), sign=sign,
                               dfs=tree is not None and bool(tree.dfs_prefix))
        return req

    def _call(self, command, body, tree, timeout: Timeout, payload=None, charge=1,
              sign=False):
        req = self._send(command, body, tree, timeout, payload, charge, sign)
        return self.conn.wait(req, timeout.deadline(), self.session)

    def _compound(self, items, tree, timeout: Timeout):
        reqs = self.conn.send(items, session=self.session, tree_id=tree.tree_id,
                              deadline=timeout.deadline(), related=True, encrypt=self._encrypt(tree),
                              dfs=bool(tree.dfs_prefix))
        return self.conn.wait_all(reqs, timeout.deadline(), self.session)

    @staticmethod
    def failure(req, what: str, status=None) -> OperationFailure:
        """The OperationFailure for the error status of ``req``'s response."""
        return smb2_failure("%s failed" % what, req, status)

    def _check(self, req, what: str, ok=(C.STATUS_SUCCESS,)):
        if req.header.status not in ok:
            raise self.failure(req, what)

    # --- the per-engine half of smb.transfer ------------------------------------------
    def can_submit(self, nbytes: int) -> bool:
        return self.conn.credits >= self.charge(nbytes)

    def submit_read(self, tree: Tree, file_id, offset: int, length: int, timeout: Timeout):
        return self._send(C.READ, M.read_request(file_id, offset, length), tree, timeout,
                          charge=self.charge(length))

    def complete_read(self, req, timeout: Timeout):
        self.conn.wait(req, timeout.deadline(), self.session)
        if req.header.status == C.STATUS_END_OF_FILE:
            return None
        self._check(req, "READ")
        return M.parse_read_response(req.response)[0]

    def submit_write(self, tree: Tree, file_id, offset: int, data, timeout: Timeout):
        return self._send(C.WRITE, M.write_request(file_id, offset, len(data)), tree, timeout,
                          payload=data, charge=self.charge(len(data)))

    def complete_write(self, req, timeout: Timeout) -> int:
        self.conn.wait(req, timeout.deadline(), self.session)
        self._check(req, "WRITE")
        count = M.parse_write_response(req.response)
        req.release()
        return count

    def release(self, req) -> None:
        req.release()

    def abandon(self, reqs, cancel: bool) -> None:
        for req in reqs:
            if req.done:
                req.release()
            elif cancel:
                self.conn.cancel(req, self.session)
            else:
                req.abandoned = True

    # --- session ------------------------------------------------------------------------
    def authenticate(self, timeout: Timeout) -> bool:
        from smb import securityblob
        from smb.auth import make_authenticator

        auth = make_authenticator(self.config, timeout)
        session = Session(self.dialect, self.state.preauth_hash)
        self.session = None
        try:
            token = auth.initial_token(self.negotiate_response.security_buffer or None)
        except securityblob.AuthenticationRejected:
            return False
        mode = self.state.security_mode
        is311 = self.dialect == C.DIALECT_3_1_1
        for _leg in range(MAX_SESSION_SETUP_LEGS):
            body = M.session_setup_request(token, mode, 0)
            [req] = self.conn.send([(C.SESSION_SETUP, body, None, 1)], session=session,
                                   deadline=timeout.deadline(), capture=is311)
            session.update_preauth(req.sent)
            early_key = getattr(auth, "key_before_reply", None)
            if early_key is not None:  # work done while the server checks the AUTHENTICATE
                session.keys_ahead(early_key, self.negotiate_response.signing_algorithm_id,
                                   self.cipher_id, req.message_id)
                if is311 and self.cipher_id is not None:
                    # 3.1.1 encrypts the first listing's chain (tree_connect_listing) and
                    # every message of an encrypted session: its cipher object, made now
                    self._start_encryption()
                    self.conn.encryption.prepare_for(session.encryption_key_ahead)  # type: ignore[union-attr]
            self.conn.wait(req, timeout.deadline(), session)
            hdr = req.header
            status = hdr.status
            if status == C.STATUS_MORE_PROCESSING_REQUIRED:
                if not hdr.session_id or (session.session_id and hdr.session_id != session.session_id):
                    raise self.conn.fail(ProtocolError("SESSION_SETUP response with SessionId 0x%X"
                                                       % hdr.session_id))
                session.session_id = hdr.session_id
                session.update_preauth(req.response)
                _flags, server_token = M.parse_session_setup_response(req.response)
                try:
                    token = auth.respond(server_token)
                except securityblob.AuthenticationRejected:
                    return False
                continue
            if status != C.STATUS_SUCCESS:
                if status in C.LOGON_REJECTED_STATUSES:
                    return False
                raise self.failure(req, "SESSION_SETUP")
            if session.session_id and hdr.session_id != session.session_id:
                raise self.conn.fail(ProtocolError("SESSION_SETUP success for another SessionId"))
            session.session_id = hdr.session_id
            flags, server_token = M.parse_session_setup_response(req.response)
            self.refusal = session_refusal(
                self.config, guest=bool(flags & C.SESSION_FLAG_IS_GUEST),
                null=bool(flags & C.SESSION_FLAG_IS_NULL), server_requires_signing=self.server_requires_signing)
            if self.refusal is not None:
                return False
            try:  # before the keys: Kerberos learns its session key from the final AP-REP
                auth.finish(server_token or None)
            except securityblob.AuthenticationRejected:
                return False
            except ProtocolError as e:
                raise self.conn.fail(e)
            self._finish_session(session, flags, hdr, req, auth)
            req.release()
            self.session = session
            self.auth_mechanism = auth.mechanism
            self.conn.sessions[session.session_id] = session
            return True
        raise self.conn.fail(ProtocolError("SESSION_SETUP did not complete in %d legs"
                                           % MAX_SESSION_SETUP_LEGS))

    def _finish_session(self, session, flags, hdr, req, auth) -> None:
        session.is_guest = bool(flags & C.SESSION_FLAG_IS_GUEST)
        # Samba answers an NTLM anonymous logon with SessionFlags 0, not IS_NULL: the client
        # knows it logged on anonymously (its session key is all zero), so no signing either way
        session.is_anonymous = bool(flags & C.SESSION_FLAG_IS_NULL) or auth.is_anonymous
        unsigned_session = session.is_guest or session.is_anonymous
        if unsigned_session:
            session.forget_ahead()
            if self.conn.encryption is not None:
                self.conn.encryption.forget_prepared()
            if self.config.require_encryption or self.config.require_signing:
                raise UnsupportedFeature("%s required but the session is guest/anonymous" % (
                    "encryption" if self.config.require_encryption else "signing"))
            return
        try:
            session.establish_keys(auth.session_key, self.negotiate_response.signing_algorithm_id,
                                   self.cipher_id)
        except ValueError as e:
            raise self.conn.fail(ProtocolError("cannot derive SMB2 keys: %s" % e))
        signed = bool(hdr.flags & C.FLAGS_SIGNED)
        if signed:
            try:
                verify_signature(session.signer, req.response)
            except ProtocolError as e:
                raise self.conn.fail(e)
        # every SMB2 server can sign ([MS-SMB2] 3.3.5.4): "when supported" means always, and
        # does not depend on SecurityMode bits a man in the middle could clear
        want_sign = (self.server_requires_signing or self.config.require_signing
                     or self.config.sign_options == SIGN_WHEN_SUPPORTED)
        session.encrypt_data = bool(flags & C.SESSION_FLAG_ENCRYPT_DATA) or self.config.require_encryption
        if (want_sign or self.dialect == C.DIALECT_3_1_1 or session.encrypt_data) and not signed:
            raise self.conn.fail(ProtocolError("the final SESSION_SETUP response is not signed"))
        session.signing_required = bool(want_sign)
        if session.encrypt_data:
            if self.cipher_id is None or session.encryption_key is None:
                raise UnsupportedFeature("SMB3 encryption is required but dialect 0x%04X / the server "
                                         "offers no cipher" % self.dialect)
            self._start_encryption()
        if session.signing_required or session.encrypt_data:
            self._protected_chunks()

    def logoff(self, timeout: Timeout, wait: bool = True) -> None:
        if self.session is None:
            return
        if wait:
            self._check(self._call(C.LOGOFF, M.SIMPLE_BODY, None, timeout), "LOGOFF")
        else:
            self._send(C.LOGOFF, M.SIMPLE_BODY, None, timeout)
        self.conn.sessions.pop(self.session.session_id, None)
        self.session = None

    def close(self) -> None:
        self.conn.close()  # closes the transport and ends the crypto worker; never raises

    def echo(self, data: bytes, timeout: Timeout) -> bytes:
        req = self._call(C.ECHO, M.SIMPLE_BODY, None, timeout)
        self._check(req, "ECHO")
        M.parse_simple_response(req.response, "ECHO")
        return data

    # --- trees ----------------------------------------------------------------------------
    def tree_connect(self, share: str, timeout: Timeout) -> Tree:
        # 3.1.1 clients sign TREE_CONNECT even when signing is not required ([MS-SMB2]
        # 3.2.4.1.1): it protects the negotiation (which replaced VALIDATE_NEGOTIATE_INFO)
        sign = self.dialect == C.DIALECT_3_1_1
        req = self._call(C.TREE_CONNECT, M.tree_connect_request(self._unc(share)), None, timeout, sign=sign)
        return self._connected_tree(req, share, timeout)

    def _unc(self, share: str) -> str:
        return "\\\\%s\\%s" % (self.server_name, share)

    def _connected_tree(self, req, share: str, timeout: Timeout) -> Tree:
        """The Tree a TREE_CONNECT response describes, once checked: encryption the share
        requires ([MS-SMB2] 3.2.5.5), VALIDATE_NEGOTIATE_INFO before 3.1.1."""
        self._check(req, "TREE_CONNECT to %s" % share)
        stype, sflags, caps, access = M.parse_tree_connect_response(req.response)
        encrypt = bool(sflags & C.SHAREFLAG_ENCRYPT_DATA)
        # TreeConnect.IsDfsShare ([MS-SMB2] 3.2.5.5): paths are then named from the server
        # by the address the client connected to (as the DFS links that lead here do)
        prefix = "%s\\%s" % (self.dfs_host, share) if caps & C.SHARE_CAP_DFS else ""
        tree = Tree(tree_id=req.header.tree_id, share_name=share, share_type=stype, share_flags=sflags,
                    capabilities=caps, maximal_access=access, encrypt=encrypt, dfs_prefix=prefix)
        if encrypt:
            # TreeConnect.EncryptData ([MS-SMB2] 3.2.5.5): impossible without a cipher and keys,
            # then the client disconnects the tree instead of using it in clear
            if self.cipher_id is None or self.session is None or self.session.encryption_key is None:
                try:
                    self.tree_disconnect(tree, timeout)
                except (OperationFailure, SMBTimeout):
                    pass
                raise UnsupportedFeature("share %s requires SMB3 encryption, unavailable on this "
                                             "connection (dialect 0x%04X)" % (share, self.dialect))
            self._start_encryption()
            self.session.encrypted_trees.add(tree.tree_id)
            self._protected_chunks()
        if self.dialect < C.DIALECT_3_1_1 and not self._validated:
            self._validate_negotiate(tree, timeout)
        return tree

    def _start_encryption(self) -> None:
        """SMB3 encryption on this connection from now on (when it has a cipher; without
        one, an encrypted send is refused)."""
        if self.conn.encryption is None and self.cipher_id is not None:
            self.conn.encryption = Smb3Encryption(self.conn, self.cipher_id)

    def _validate_negotiate(self, tree: Tree, timeout: Timeout) -> None:
        """FSCTL_VALIDATE_NEGOTIATE_INFO ([MS-SMB2] 3.2.5.5 / 3.2.5.14.12, 2.2.31.4, 2.2.32.6):
        a signed round trip proving that nobody tampered with the NEGOTIATE, sent for every
        dialect before 3.1.1 (which has preauth integrity instead) whenever the session has a
        key, whether or not it requires signing -- as Samba's client does. Servers before
        SMB 3.0 may answer a signed FILE_CLOSED / NOT_SUPPORTED / INVALID_DEVICE_REQUEST
        (they cannot validate); anything else but a matching signed answer fails."""
        s = self.session
        if s is None or s.signer is None or s.is_guest or s.is_anonymous:
            return
        st = self.state
        neg = self.negotiate_response
        body = M.ioctl_request(M.RELATED_FILE_ID, C.FSCTL_VALIDATE_NEGOTIATE_INFO,
                               M.validate_negotiate_request(st.capabilities, st.client_guid,
                                                            st.security_mode, st.offered), 24)
        req = self._call(C.IOCTL, body, tree, timeout, sign=not self._encrypt(tree))
        status = req.header.status
        if not (req.header.flags & C.FLAGS_SIGNED or self._encrypt(tree)):
            raise self.conn.fail(ProtocolError("VALIDATE_NEGOTIATE_INFO answered unsigned"))
        if status == C.STATUS_SUCCESS:
            info = M.parse_validate_negotiate_response(M.parse_ioctl_response(req.response).output)
            if info != (neg.capabilities, neg.server_guid, neg.security_mode, neg.dialect):
                raise self.conn.fail(ProtocolError("VALIDATE_NEGOTIATE_INFO mismatch: the NEGOTIATE "
                                                   "exchange was tampered with"))
        elif not (self.dialect < C.DIALECT_3_0 and status in _CANNOT_VALIDATE):
            raise self.conn.fail(ProtocolError("VALIDATE_NEGOTIATE_INFO failed with status 0x%08X"
                                               % status))
        self.negotiate_validations += 1
        self._validated = True

    def tree_disconnect(self, tree: Tree, timeout: Timeout) -> None:
        req = self._call(C.TREE_DISCONNECT, M.SIMPLE_BODY, tree, timeout)
        self._check(req, "TREE_DISCONNECT")
        if self.session is not None:
            self.session.encrypted_trees.discard(tree.tree_id)
