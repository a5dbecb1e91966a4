"""The SMB1 (NT LM 0.12) engine behind :class:`smb.engine.Engine`.

Session: NEGOTIATE response (CIFS 4.1.1), SESSION_SETUP_ANDX with SPNEGO/NTLMSSP (extended
security) or with LM/NT challenge responses (CIFS 4.1.2), MD5 signing once the session key
is known ([MS-CIFS] 3.1.5.1, MAC key = session key (+ NT response without extended
security), first signed request sequence number 2), LOGOFF_ANDX 4.1.3, ECHO 4.1.7.
Trees: TREE_CONNECT_ANDX 4.1.4 / TREE_DISCONNECT 4.1.5. Files: NT_CREATE_ANDX 4.2.1, CLOSE
4.2.9 (chained with a READ_ANDX or WRITE_ANDX for small files: :mod:`smb.smb1.chains`),
READ_ANDX / WRITE_ANDX 4.2.4-4.2.5 (pipelined by :mod:`smb.transfer` over this engine's
submit/complete interface), RENAME 4.2.11,
TRANS2_FIND_FIRST2 / FIND_NEXT2 4.3.4-4.3.5 with FIND_CLOSE2 4.3.6, TRANS2_QUERY_FILE /
QUERY_FS / SET_FILE_INFORMATION (SMB_INFO_PASSTHROUGH levels when the server has
CAP_INFOLEVEL_PASSTHRU, else the native levels of 4.2.14 / 4.1.6 / 4.2.17),
NT_TRANSACT_IOCTL 4.5.1, NT_TRANSACT_QUERY_SECURITY_DESC 4.5.2 and TransactNmPipe.
"""

from __future__ import annotations

import time
from typing import Iterator, Optional

from smb import engine as E
from smb import fscc
from smb.errors import OperationFailure, ProtocolError, SMBTimeout, UnsupportedFeature
from smb.ntstatus import (STATUS_END_OF_FILE, STATUS_INVALID_LEVEL, STATUS_INVALID_PARAMETER,
                          STATUS_NOT_SUPPORTED)
from smb.smb1 import header as H
from smb.smb1 import messages as M
from smb.smb1.messages import tree_path as _path
from smb.smb1 import signing
from smb.smb1 import trans as T
from smb.smb1.chains import AndXChains, open_result
from smb.smb1.connection import Connection, failure
from smb.smb1.dfs import DfsOperations
from smb.smb1.locks import LockOperations
from smb.smb1.notify import ChangeNotify
from smb.smb1.security import SetSecurity

STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_NO_SUCH_FILE = 0xC000000F
STATUS_NO_MORE_FILES = 0x80000006
STATUS_BUFFER_OVERFLOW = 0x80000005
LOGON_FAILURES = frozenset((0xC000006D, 0xC000006A, 0xC0000064, 0xC000006E, 0xC000006F,
                            0xC0000070, 0xC0000071, 0xC0000072, 0xC0000193, 0xC0000234,
                            0xC0000224, 0xC000015B, 0xC0000022))

# [MS-FSCC] class -> native SMB1 level, for servers without CAP_INFOLEVEL_PASSTHRU
_NATIVE_QUERY_FILE = {4: 0x101, 5: 0x102, 7: 0x103, 9: 0x104, 18: 0x107, 21: 0x108, 22: 0x109,
                      28: 0x10B}
_NATIVE_QUERY_FS = {1: 0x102, 3: 0x103, 4: 0x104, 5: 0x105}
_NATIVE_SET_FILE = {4: 0x101, 13: 0x102, 19: 0x103, 20: 0x104}

_UNSIGNED = (bytes(8), b"BSRSPYL ")
MAX_MPX_CLIENT = 50
READ_WINDOW_BYTES = 8 * 1024 * 1024
#: READ_ANDX data that fits a response within a 17-bit NetBIOS length (0x1FFFF; the header,
#: 12 words, ByteCount and a pad byte take 60 bytes)
NETBIOS_READ_FIT = 0x1FFFF - 60


def _resolve_password(password) -> str:
    if callable(password):
        password = password()
    if isinstance(password, bytes):
        password = password.decode("utf-8")
    return password or ""


class SMB1Engine(AndXChains, DfsOperations, LockOperations, ChangeNotify, SetSecurity, E.Engine):
    conn: Connection
    is_smb2 = False
    dialect = 0x0001

    def __init__(self, transport, config: E.ClientConfig, neg: M.NegotiateInfo):
        self.config = config
        self.neg = neg
        caps = neg.capabilities
        self.unicode = bool(caps & H.CAP_UNICODE)
        self.max_mpx = max(1, min(neg.max_mpx_count or 1, MAX_MPX_CLIENT))
        self.conn = Connection(transport, unicode=self.unicode,
                               extended_security=neg.extended_security, max_mpx=self.max_mpx)
        self.conn.max_request = max(neg.max_buffer_size, 1024)
        self.capabilities = caps
        self.passthrough = bool(caps & H.CAP_INFOLEVEL_PASSTHRU)
        self.session_key = b""
        self.authenticated = False
        self.signing = False
        #: why authenticate() refused the session the server granted (guest/null), if it did
        self.refusal: Optional[str] = None
        self.session_action = 0  # SESSION_SETUP_ANDX Action of the final response
        self.anonymous = False
        self._set_sizes()

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_negotiate_response(cls, transport, config: E.ClientConfig, response) -> "SMB1Engine":
        resp = H.parse_response(response if isinstance(response, (bytes, bytearray, memoryview))
                                else bytes(response))
        if resp.command != H.SMB_COM_NEGOTIATE:
            raise ProtocolError("expected a NEGOTIATE response, got command 0x%02X" % resp.command)
        if resp.status != 0:
            raise failure(resp, "negotiate")
        neg = M.parse_negotiate(resp)
        if not neg.capabilities & H.CAP_NT_SMBS and neg.dialect_index == 0xFFFF:
            raise UnsupportedFeature("the server offers no NT LM 0.12 dialect")
        return cls(transport, config, neg)

    @classmethod
    def connect(cls, host: str, port: int, config: E.ClientConfig, *, direct_tcp: bool = True,
                deadline: Optional[float] = None) -> "SMB1Engine":
        """Open a transport, negotiate NT LM 0.12 only, and return the (unauthenticated) engine."""
        from nmb import transport as nt

        if deadline is None:
            deadline = time.monotonic() + 60
        t = nt.connect(host, port, direct_tcp=direct_tcp, my_name=config.my_name,
                       remote_name=config.remote_name, timeout=max(1.0, deadline - time.monotonic()))
        try:
            flags2 = H.DEFAULT_FLAGS2
            if config.extended_security:
                flags2 |= H.SMB_FLAGS2_EXTENDED_SECURITY
            if config.sign_options:
                flags2 |= H.SMB_FLAGS2_SMB_SECURITY_SIGNATURE
            t.send(M.negotiate_request(["NT LM 0.12"], flags2), deadline=deadline)
            return cls.from_negotiate_response(t, config, bytes(t.recv(deadline=deadline)))
        except BaseException:
            t.close()
            raise

    def _set_sizes(self) -> None:
        caps = self.capabilities
        direct = getattr(self.conn.transport, "direct_tcp", True)
        # 126 KiB fits a 17-bit NetBIOS frame and Samba's 17-bit WRITE_ANDX count; reads may
        # go up to 1 MiB on direct TCP when unsigned (Samba refuses >128 KiB reads signed)
        mid_size = 126 * 1024
        maxbuf = self.neg.max_buffer_size
        small = max(1024, min(maxbuf, 0xFFFF) - 128)
        if caps & H.CAP_LARGE_READX:
            self.max_read_size = 1024 * 1024 if direct and not self.signing else mid_size
        else:
            self.max_read_size = min(small, 0xFFFF - 128)
        self.max_write_size = mid_size if caps & H.CAP_LARGE_WRITEX else small
        self.max_transact_size = max(1024, min(maxbuf, 0xFFFF) - 256)
        self.read_chunk, self.write_chunk = self.max_read_size, self.max_write_size
        # a READ_ANDX answer longer than a 17-bit NetBIOS length may be cut short (Samba
        # answers at most 131,011 bytes): the first pipelined READ finds out
        self.read_chunk_honoured = self.max_read_size <= NETBIOS_READ_FIT
        self.read_window = max(1, min(self.max_mpx - 1 or 1, READ_WINDOW_BYTES // self.max_read_size, 32))
        self.write_window = max(1, min(self.max_mpx - 1 or 1, READ_WINDOW_BYTES // self.max_write_size, 32))

    # --- session ----------------------------------------------------------------------------
    def authenticate(self, timeout: E.Timeout) -> bool:
        if self.config.require_signing and not self.neg.signing_enabled:
            raise UnsupportedFeature("require_signing: the SMB1 server does not offer signing")
        if self.neg.extended_security:
            ok = self._auth_extended(timeout)
        else:
            ok = self._auth_challenge_response(timeout)
        if not ok:
            return False
        if self.config.require_signing and not self.signing:
            raise self.conn.fail(ProtocolError("require_signing: the SMB1 session is not signed"))
        self.authenticated = True
        return True

    def _want_signing(self) -> bool:
        if self.neg.signing_required or self.config.require_signing:
            return True
        return self.config.sign_options == 1 and self.neg.signing_enabled

    def _refuse(self, action: int, anonymous: bool) -> bool:
        """Whether the final SESSION_SETUP_ANDX response grants a session that must not be
        used (guest: Action bit 0, [MS-CIFS] 2.2.4.53.2; null: an anonymous logon)."""
        self.session_action, self.anonymous = action, anonymous
        self.refusal = E.session_refusal(self.config, guest=bool(action & 1), null=anonymous,
                                         server_requires_signing=self.neg.signing_required)
        return self.refusal is not None

    def _start_signing(self, mac_key: bytes, last_response: Optional[bytes]) -> None:
        if not self._want_signing() or not any(mac_key):
            return
        # Samba signs the final SESSION_SETUP_ANDX response (sequence number 1) after SPNEGO,
        # but leaves a placeholder after a non-extended logon: verify it when it is signed
        sig = last_response[H.SIGNATURE_OFFSET:H.SIGNATURE_OFFSET + 8] if last_response else b""
        if sig and sig not in _UNSIGNED and not signing.verify(mac_key, 1, last_response):
            raise self.conn.fail(ProtocolError("bad SMB1 signature on the SESSION_SETUP_ANDX response"))
        self.conn.activate_signing(mac_key, 2)
        self.signing = True
        self._set_sizes()

    def _setup(self, req, timeout: E.Timeout) -> H.Response:
        return self._response(self.conn.send(req, 0, deadline=timeout.deadline()), timeout)

    def _auth_extended(self, timeout: E.Timeout) -> bool:
        from smb import securityblob
        from smb.auth import make_authenticator

        spnego = make_authenticator(self.config, timeout)
        token = spnego.initial_token(self.neg.security_blob or None)
        caps = M.CLIENT_CAPABILITIES | H.CAP_EXTENDED_SECURITY
        for _leg in range(8):
            resp = self._setup(M.session_setup_extended(token, max_mpx_count=self.max_mpx,
                                                        capabilities=caps), timeout)
            if resp.status in LOGON_FAILURES:
                return False
            if resp.status not in (0, STATUS_MORE_PROCESSING_REQUIRED):
                raise failure(resp, "session setup")
            if self.conn.uid == 0 or resp.status == STATUS_MORE_PROCESSING_REQUIRED:
                self.conn.uid = resp.uid
            action, blob = M.parse_session_setup(resp)
            if resp.status == 0:
                if self._refuse(action, spnego.is_anonymous):
                    return False
                last = bytes(resp.raw)
                try:
                    spnego.finish(blob or None)
                except securityblob.AuthenticationRejected:
                    return False
                self.conn.uid = resp.uid
                self.auth_mechanism = spnego.mechanism
                self.session_key = spnego.session_key
                self._start_signing(self.session_key, last)
                return True
            try:
                token = spnego.respond(blob)
            except securityblob.AuthenticationRejected:
                return False
        raise self.conn.fail(ProtocolError("SMB1 session setup did not complete"))

    def _auth_challenge_response(self, timeout: E.Timeout) -> bool:
        from smb import ntlm, ntlm_crypto, securityblob

        cfg = self.config
        challenge = self.neg.challenge
        if len(challenge) != 8:
            raise ProtocolError("NEGOTIATE response carries a %d-byte challenge" % len(challenge))
        password = _resolve_password(cfg.password)
        anonymous = not cfg.username and not password
        if anonymous:
            nt, lm, key = b"", b"\0", b""
        elif cfg.use_ntlm_v2:
            nt, lm, key = ntlm.generateChallengeResponseV2(password, cfg.username, challenge,
                                                           ntlm.encode_av_pairs([]), cfg.domain)
        else:
            nt, lm, key = ntlm_crypto.ntlm_v1_responses(password, challenge, False,
                                                        lanman=cfg.lanman_auth)
        del password
        req = M.session_setup_ntlm(lm, nt, cfg.username, cfg.domain, unicode=self.unicode,
                                   max_mpx_count=self.max_mpx)
        resp = self._setup(req, timeout)
        if resp.status in LOGON_FAILURES:
            return False
        if resp.status != 0:
            raise failure(resp, "session setup")
        if self._refuse(M.parse_session_setup(resp)[0], anonymous):
            return False
        self.conn.uid = resp.uid
        self.auth_mechanism = securityblob.ntlm_mechanism(anonymous, cfg.use_ntlm_v2)
        self.session_key = key
        self._start_signing(key + nt if key else b"", bytes(resp.raw))
        return True

    def logoff(self, timeout: E.Timeout, wait: bool = True) -> None:
        if wait:
            self.conn.request(M.logoff(), 0, timeout, what="logoff")
        else:
            self.conn.send(M.logoff(), 0, deadline=timeout.deadline(), expect_response=False)
        self.authenticated = False

    def security(self) -> E.SessionSecurity:
        guest = bool(self.session_action & 1)
        return E.SessionSecurity(self.dialect, guest, self.anonymous, self.signing, False,
                                 "MD5" if self.signing else None, None, self.auth_mechanism)

    def echo(self, data: bytes, timeout: E.Timeout) -> bytes:
        resp = self.conn.request(M.echo(bytes(data)), 0xFFFF, timeout, what="echo")
        return M.parse_echo(resp)[1]

    # --- trees ------------------------------------------------------------------------------
    def tree_connect(self, share: str, timeout: E.Timeout) -> E.Tree:
        server = self.config.remote_name or self.conn.transport.host or "*SMBSERVER"
        path = "\\\\%s\\%s" % (server, share)
        resp = self.conn.request(M.tree_connect(path, unicode=self.unicode), 0, timeout,
                                 what="tree connect to %s" % share)
        optional, service, _fs = M.parse_tree_connect(resp)
        # TreeConnect.IsDfsShare ([MS-CIFS] 3.2.5.x): CAP_DFS and SMB_SHARE_IS_IN_DFS; its
        # paths are named from the server by the address the client connected to
        dfs = self.capabilities & H.CAP_DFS and optional & H.SMB_SHARE_IS_IN_DFS
        host = getattr(self.conn.transport, "host", "") or server
        return E.Tree(tree_id=resp.tid, share_name=share, share_type=M.share_type(service),
                      share_flags=optional, dfs_prefix="%s\\%s" % (host, share) if dfs else "")

    def tree_disconnect(self, tree: E.Tree, timeout: E.Timeout) -> None:
        self.conn.request(M.tree_disconnect(), tree.tree_id, timeout, what="tree disconnect")

    # --- requests that name a path ------------------------------------------------------------
    def _path_request(self, tree: E.Tree, req, timeout: E.Timeout, what: str):
        """Send ``req``, which names a path of ``tree``, and wait for its answer; on a DFS
        share the header says so (SMB_FLAGS2_DFS, [MS-CIFS] 2.2.3.1)."""
        return self.conn.request(req, tree.tree_id, timeout, what=what, dfs=bool(tree.dfs_prefix))

    def _path_transact(self, tree: E.Tree, req, timeout: E.Timeout, max_param: int, max_data: int,
                       what: str):
        """:meth:`_path_request` for a TRANSACTION2 naming a path: ``(assembler, status)``."""
        return self.conn.transact(req, tree.tree_id, timeout, max_param=max_param, max_data=max_data,
                                  what=what, dfs=bool(tree.dfs_prefix))

    # --- opens ------------------------------------------------------------------------------
    def create(self, tree: E.Tree, path: str, *, desired_access: int, file_attributes: int = 0,
               share_access: int = 7, create_disposition: int = 1, create_options: int = 0,
               timeout: E.Timeout) -> E.OpenResult:
        req = M.nt_create(_path(tree, path), desired_access=desired_access, file_attributes=file_attributes,
                          share_access=share_access, create_disposition=create_disposition,
                          create_options=create_options, unicode=self.unicode)
        resp = self._path_request(tree, req, timeout, "create %s" % path)
        return open_result(M.parse_nt_create(resp))

    def close_file(self, tree: E.Tree, file_id, timeout: E.Timeout) -> None:
        self.conn.request(M.close(file_id), tree.tree_id, timeout, what="close")

    def flush(self, tree: E.Tree, file_id, timeout: E.Timeout) -> None:
        self.conn.request(M.flush(file_id), tree.tree_id, timeout, what="flush")

    def read(self, tree: E.Tree, file_id, offset: int, length: int, timeout: E.Timeout) -> bytes:
        length = min(length, self.max_read_size)
        resp = self.conn.request(M.read_andx(file_id, offset, length), tree.tree_id, timeout,
                                 ok=(0, STATUS_END_OF_FILE), what="read")
        if resp.status:
            return b""
        data = M.parse_read_andx(resp)
        if len(data) > length:
            raise ProtocolError("READ_ANDX returned %d bytes for a %d-byte request" % (len(data), length))
        return bytes(data)

    def write(self, tree: E.Tree, file_id, offset: int, data, timeout: E.Timeout) -> int:
        resp = self.conn.request(M.write_andx(file_id, offset, data), tree.tree_id, timeout,
                                 what="write")
        return M.parse_write_andx(resp)

    # --- the per-engine half of smb.transfer -------------------------------------------------
    def can_submit(self, nbytes: int) -> bool:
        return self.conn.can_send()

    def submit_read(self, tree: E.Tree, file_id, offset: int, length: int, timeout: E.Timeout):
        return self.conn.send(M.read_andx(file_id, offset, length), tree.tree_id,
                              deadline=timeout.deadline())

    def _response(self, mid, timeout: E.Timeout) -> H.Response:
        """The response to ``mid`` (cancelled when its wait times out)."""
        try:
            return self.conn.receive(mid, timeout.deadline())
        except SMBTimeout:
            self.conn.cancel([mid])
            raise
        finally:
            self.conn.done(mid)

    def complete_read(self, mid, timeout: E.Timeout):
        resp = self._response(mid, timeout)
        if resp.status == STATUS_END_OF_FILE:
            return None
        if resp.status != 0:
            raise failure(resp, "read")
        return M.parse_read_andx(resp) or None

    def submit_write(self, tree: E.Tree, file_id, offset: int, data, timeout: E.Timeout):
        return self.conn.send(M.write_andx(file_id, offset, data), tree.tree_id,
                              deadline=timeout.deadline())

    def complete_write(self, mid, timeout: E.Timeout) -> int:
        resp = self._response(mid, timeout)
        if resp.status != 0:
            raise failure(resp, "write")
        return M.parse_write_andx(resp)

    def release(self, mid) -> None:
        self.conn.unpin_all()

    def abandon(self, mids, cancel: bool) -> None:
        if cancel:
            self.conn.cancel(mids)
        else:
            self.conn.forget(mids)

    # --- directories --------------------------------------------------------------------------
    def list_directory(self, tree: E.Tree, path: str, pattern: str, timeout: E.Timeout) -> Iterator[memoryview]:
        search = _path(tree, path).rstrip("\\") + "\\" + (pattern or "*")
        max_data = 0xFFFF - 512
        # entries with FileId ([MS-SMB] 2.2.8.1.3) unless the server refused that level once
        with_id = self.listing_class == fscc.FileIdBothDirectoryInformation
        level, fixed = ((T.SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO, T.ID_BOTH_DIR_FIXED) if with_id
                        else (T.SMB_FIND_FILE_BOTH_DIRECTORY_INFO, T.BOTH_DIR_FIXED))
        params = T.find_first2_params(search, search_attributes=0x37, search_count=1024,
                                      level=level, unicode=self.unicode)
        # nothing matching the pattern is STATUS_NO_SUCH_FILE, an OperationFailure as on SMB2
        try:
            req = T.trans2(T.TRANS2_FIND_FIRST2, params, max_param=10, max_data=max_data)
            asm, _st = self._path_transact(tree, req, timeout, 10, max_data, "list %s" % search)
        except OperationFailure as e:
            if with_id and e.status in (STATUS_INVALID_LEVEL, STATUS_NOT_SUPPORTED, STATUS_INVALID_PARAMETER):
                self.listing_class = fscc.FileBothDirectoryInformation
                yield from self.list_directory(tree, path, pattern, timeout)
                return
            raise
        sid, count, eos, _ea, _last = T.parse_find_first2(asm.params)
        closed = bool(eos)
        try:
            while True:
                end, index, name = T.terminate_entries(asm.data, count, self.unicode, fixed)
                if count and end:
                    yield memoryview(asm.data)[:end]
                if eos or count == 0:
                    closed = True
                    return
                params = T.find_next2_params(sid, index, name, search_count=1024, level=level,
                                             unicode=self.unicode)
                try:
                    asm, _st = self.conn.transact(
                        T.trans2(T.TRANS2_FIND_NEXT2, params, max_param=8, max_data=max_data),
                        tree.tree_id, timeout, max_param=8, max_data=max_data, what="list %s" % search)
                except OperationFailure as e:
                    if e.status in (STATUS_NO_SUCH_FILE, STATUS_NO_MORE_FILES):
                        closed = True
                        return
                    raise
                count, eos, _ea, _last = T.parse_find_next2(asm.params)
        finally:
            if not closed and self.conn.broken is None:
                try:
                    self.conn.request(M.find_close2(sid), tree.tree_id,
                                      timeout.shorter(E.CLOSE_AFTER_FAILURE_TIMEOUT), what="find close")
                except Exception:
                    pass

    # --- information ------------------------------------------------------------------------
    def _level(self, info_class: int, native: dict) -> int:
        if self.passthrough:
            return T.SMB_INFO_PASSTHROUGH + info_class
        level = native.get(info_class)
        if level is None:
            raise UnsupportedFeature("information class %d needs CAP_INFOLEVEL_PASSTHRU" % info_class)
        return level

    def query_info(self, tree: E.Tree, file_id, info_type: int, info_class: int, timeout: E.Timeout,
                   additional_information: int = 0, output_buffer_length: int = 65536) -> bytes:
        max_data = min(output_buffer_length, 0xFFFF)
        if info_type == E.INFO_FILE:
            level = self._level(info_class, _NATIVE_QUERY_FILE)
            req = T.trans2(T.TRANS2_QUERY_FILE_INFORMATION, T.query_file_info_params(file_id, level),
                           max_param=2, max_data=max_data)
        elif info_type == E.INFO_FILESYSTEM:
            level = self._level(info_class, _NATIVE_QUERY_FS)
            req = T.trans2(T.TRANS2_QUERY_FS_INFORMATION, T.query_fs_info_params(level),
                           max_param=2, max_data=max_data)
        elif info_type == E.INFO_SECURITY:
            req = T.nt_transact(T.NT_TRANSACT_QUERY_SECURITY_DESC, b"",
                                T.query_security_params(file_id, additional_information),
                                max_param=4, max_data=output_buffer_length)
            asm, _st = self.conn.transact(req, tree.tree_id, timeout, max_param=4,
                                          max_data=output_buffer_length, nt=True,
                                          what="query security")
            return bytes(asm.data)
        else:
            raise UnsupportedFeature("SMB1 cannot query info type %d" % info_type)
        asm, _st = self.conn.transact(req, tree.tree_id, timeout, max_param=2, max_data=max_data,
                                      what="query info class %d" % info_class)
        return bytes(asm.data)

    def set_info(self, tree: E.Tree, file_id, info_type: int, info_class: int, data: bytes,
                 timeout: E.Timeout) -> None:
        if info_type != E.INFO_FILE:
            raise UnsupportedFeature("SMB1 set_info supports file information only")
        level = self._level(info_class, _NATIVE_SET_FILE)
        req = T.trans2(T.TRANS2_SET_FILE_INFORMATION, T.set_file_info_params(file_id, level),
                       bytes(data), max_param=2, max_data=0)
        self.conn.transact(req, tree.tree_id, timeout, max_param=2, max_data=0,
                           what="set info class %d" % info_class)

    def ioctl(self, tree: E.Tree, file_id, ctl_code: int, input_data: bytes, max_output: int,
              timeout: E.Timeout) -> bytes:
        req = T.nt_transact(T.NT_TRANSACT_IOCTL, T.ioctl_setup(ctl_code, file_id), b"",
                            bytes(input_data), max_param=0, max_data=max_output, max_setup=1)
        asm, _st = self.conn.transact(req, tree.tree_id, timeout, max_param=0, max_data=max_output,
                                      nt=True, what="ioctl 0x%08X" % ctl_code)
        return bytes(asm.data)

    def transact_pipe(self, tree: E.Tree, file_id, data: bytes, timeout: E.Timeout) -> bytes:
        max_data = self.max_transact_size
        req = T.transaction(T.transact_nmpipe_setup(file_id), b"", bytes(data), max_param=0,
                            max_data=max_data, unicode=self.unicode)
        asm, st = self.conn.transact(req, tree.tree_id, timeout, max_param=0, max_data=max_data,
                                     what="transact named pipe")
        out = bytearray(asm.data)
        while st == STATUS_BUFFER_OVERFLOW:
            resp = self.conn.request(M.read_andx(file_id, 0, max_data), tree.tree_id, timeout,
                                     ok=(0, STATUS_BUFFER_OVERFLOW), what="read named pipe")
            st = resp.status
            out += M.parse_read_andx(resp)
            E.check_pipe_reply(len(out))
        return bytes(out)

    def rename(self, tree: E.Tree, old_path: str, new_path: str, timeout: E.Timeout,
               replace_if_exists: bool = False) -> None:
        """SMB_COM_RENAME (CIFS 4.2.11): files and folders, within the share, one round trip.
        It never replaces an existing target."""
        if replace_if_exists:
            raise UnsupportedFeature("SMB1 rename cannot replace an existing file")
        self.rename_path(tree, old_path, new_path, timeout)

    # --- extras: the path-based SMB1 commands ---------------------------------------------------
    def delete_path(self, tree: E.Tree, path: str, timeout: E.Timeout, search_attributes: int = 0x06) -> None:
        self._path_request(tree, M.delete(_path(tree, path), search_attributes, unicode=self.unicode),
                           timeout, "delete %s" % path)

    def rename_path(self, tree: E.Tree, old: str, new: str, timeout: E.Timeout) -> None:
        self._path_request(tree, M.rename(_path(tree, old), _path(tree, new), unicode=self.unicode),
                           timeout, "rename %s" % old)

    def create_directory(self, tree: E.Tree, path: str, timeout: E.Timeout) -> None:
        req = T.trans2(T.TRANS2_CREATE_DIRECTORY,
                       T.create_directory_params(_path(tree, path), unicode=self.unicode),
                       max_param=2, max_data=0)
        self._path_transact(tree, req, timeout, 2, 0, "mkdir %s" % path)

    def delete_directory(self, tree: E.Tree, path: str, timeout: E.Timeout) -> None:
        self._path_request(tree, M.delete_directory(_path(tree, path), unicode=self.unicode), timeout,
                           "rmdir %s" % path)

    def check_directory(self, tree: E.Tree, path: str, timeout: E.Timeout) -> None:
        self._path_request(tree, M.check_directory(_path(tree, path), unicode=self.unicode), timeout,
                           "check directory %s" % path)

    def query_path_info(self, tree: E.Tree, path: str, info_class: int, timeout: E.Timeout) -> bytes:
        level = self._level(info_class, _NATIVE_QUERY_FILE)
        req = T.trans2(T.TRANS2_QUERY_PATH_INFORMATION,
                       T.query_path_info_params(level, _path(tree, path), unicode=self.unicode),
                       max_param=2, max_data=0xFFFF - 512)
        asm, _st = self._path_transact(tree, req, timeout, 2, 0xFFFF - 512, "query path info %s" % path)
        return bytes(asm.data)
