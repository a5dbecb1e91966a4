"""``SMBConnection``: the blocking, pysmb-compatible client API.

Written once over the operation interface of :mod:`smb.engine`; the dialect (SMB1, or
SMB 2.0.2 to 3.1.1) is chosen at :meth:`SMBConnection.connect` by :mod:`smb.negotiate`.
File operations map onto NT create / read / write / query and set info ([MS-SMB2] 3.2.4,
[MS-CIFS] 3.2.4); share listing is SRVSVC NetrShareEnum ([MS-SRVS] 3.1.4.8) over the
``srvsvc`` named pipe.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from contextlib import contextmanager
from typing import (TYPE_CHECKING, Any, AnyStr, Callable, Dict, List, Optional, Protocol, Sequence, Tuple,
                    Union)

import nmb.transport
from nmb.nmb_constants import TYPE_SERVER
from smb import dfs, fscc, smb_structs, wholefile
from smb import tree as tree_helpers
from smb.base import NotConnectedError, NotReadyError, OperationFailure, SharedDevice, SharedFile
from smb.engine import INFO_FILE, INFO_SECURITY, ClientConfig, Engine, SessionSecurity, Timeout, Tree
from smb.errors import ProtocolError, SMBTimeout, UnsupportedFeature  # noqa: F401 (pysmb exports it here)
from smb.ntstatus import STATUS_FILE_IS_A_DIRECTORY, STATUS_NO_SUCH_FILE
from smb.operations import (
    ListingNames,
    entry_to_shared_file,
    has_wildcard,
    join,
    matches_search,
    normalize_path,
    split_parent,
)
from smb.smb_constants import *  # noqa: F401,F403  (pysmb's SMBConnection module exports them)
from smb.smb_constants import (
    ATTR_NORMAL,
    SMB_FILE_ATTRIBUTE_ARCHIVE,
    SMB_FILE_ATTRIBUTE_DIRECTORY,
    SMB_FILE_ATTRIBUTE_HIDDEN,
    SMB_FILE_ATTRIBUTE_INCL_NORMAL,
    SMB_FILE_ATTRIBUTE_READONLY,
    SMB_FILE_ATTRIBUTE_SYSTEM,
)
from smb.smb_structs import *  # noqa: F401,F403
from smb.smb_structs import SUPPORT_EXTENDED_SECURITY, SUPPORT_SMB2  # noqa: F401

#: listPath's default search: every entry (pysmb's default)
_SEARCH_ALL = (SMB_FILE_ATTRIBUTE_READONLY | SMB_FILE_ATTRIBUTE_HIDDEN | SMB_FILE_ATTRIBUTE_SYSTEM
               | SMB_FILE_ATTRIBUTE_DIRECTORY | SMB_FILE_ATTRIBUTE_ARCHIVE | SMB_FILE_ATTRIBUTE_INCL_NORMAL)

log = logging.getLogger("SMB.SMBConnection")


_DIALECT_NAMES = {0x0001: "SMB1 (NT LM 0.12)", 0x0202: "SMB 2.0.2", 0x0210: "SMB 2.1", 0x0300: "SMB 3.0",
                  0x0302: "SMB 3.0.2", 0x0311: "SMB 3.1.1"}


def _dialect_name(dialect: int) -> str:
    return _DIALECT_NAMES.get(dialect, "dialect 0x%04X" % dialect)


# [MS-SMB2] 2.2.13 values (also NT_CREATE_ANDX's)
_SHARE_ALL = fscc.FILE_SHARE_READ | fscc.FILE_SHARE_WRITE | fscc.FILE_SHARE_DELETE
_READ_ACCESS = fscc.FILE_READ_DATA | fscc.FILE_READ_ATTRIBUTES | fscc.SYNCHRONIZE
_WRITE_ACCESS = (fscc.FILE_WRITE_DATA | fscc.FILE_READ_ATTRIBUTES | fscc.FILE_WRITE_ATTRIBUTES
                 | fscc.SYNCHRONIZE)
_ATTR_ACCESS = fscc.FILE_READ_ATTRIBUTES | fscc.SYNCHRONIZE
_SECURITY_INFO = 0x00000001 | 0x00000002 | 0x00000004  # OWNER, GROUP, DACL ([MS-DTYP] 2.4.7)

if TYPE_CHECKING:
    from datetime import datetime

    from smb.security_descriptors import SecurityDescriptor


class _Writable(Protocol):
    """What retrieveFile needs of ``file_obj``: a file-like object with ``write`` (given a
    memoryview of each chunk, valid during the call)."""

    def write(self, data: memoryview, /) -> Any: ...


class _Readable(Protocol):
    """What storeFile needs of ``file_obj``: a file-like object with ``read``."""

    def read(self, size: int, /) -> bytes: ...


class SMBConnection:
    """A connection to one SMB server, authenticated as one user.

    :param username: user name ('' with password '' for an anonymous null session)
    :param password: password, or a callable returning it
    :param my_name: this machine's NetBIOS name (up to 15 characters)
    :param remote_name: the server's NetBIOS name (used on port 139)
    :param domain: the user's domain or workgroup
    :param use_ntlm_v2: NTLMv2 (True) or NTLMv1 (False) authentication
    :param sign_options: :attr:`SIGN_NEVER`, :attr:`SIGN_WHEN_SUPPORTED` or :attr:`SIGN_WHEN_REQUIRED`
    :param is_direct_tcp: direct TCP (port 445) instead of NetBIOS session service (port 139)
    :param require_encryption: (keyword only, not in pysmb) insist on SMB3 encryption of every
        message even when the server does not require it; connecting to a server that cannot
        encrypt then fails.
    :param require_signing: (keyword only) refuse any session that is not signed (or
        encrypted): servers that cannot sign, guest and anonymous sessions.
    :param allow_smb1: (keyword only) offer SMB1 (NT LM 0.12) beside SMB2 and use whichever
        the server picks. Off by default: SMB1 has no protection against a man in the middle
        choosing it (``smb.smb_structs.SUPPORT_SMB2 = False`` still means SMB1 only).
    :param allow_guest: (keyword only) accept a session the server mapped to its guest
        account although a user name was given (a mistyped user with ``map to guest = bad
        user``); refused by default: connect() returns False.
    :param lanman_auth: (keyword only) allow the LAN Manager response (from the weak LM hash)
        with NTLMv1 against servers without extended session security.
    :param use_kerberos: (keyword only) authenticate with Kerberos instead of NTLM; with
        ``kdc``, ``realm``, ``keytab``, ``ccache``, ``service_principal`` and ``ntlm_fallback``
        (try Kerberos, use NTLM when no ticket can be had). See ``docs/kerberos.rst``.

    After :meth:`connect` the connection carries pysmb's state attributes: ``sock`` (the
    socket, None once closed), ``is_using_smb2``, ``has_negotiated``, ``has_authenticated``,
    ``is_signing_active``, ``connected_trees`` (share name -> tree id), ``capabilities``,
    ``security_mode``, ``max_read_size`` / ``max_write_size`` / ``max_transact_size``,
    ``max_buffer_size``, ``max_mpx_count``, ``max_raw_size``, ``session_id`` and ``uid``.
    ``signing_session_key`` stays None: session keys are not handed out.
    """

    log = logging.getLogger("SMB.SMBConnection")

    #: never sign (access fails where the server requires signing)
    SIGN_NEVER = 0
    #: sign when the server supports signing
    SIGN_WHEN_SUPPORTED = 1
    #: sign only when the server requires it (the default)
    SIGN_WHEN_REQUIRED = 2

    def __init__(self, username: str, password: Union[str, Callable[[], str]], my_name: str,
                 remote_name: str, domain: str = "", use_ntlm_v2: bool = True,
                 sign_options: int = SIGN_WHEN_REQUIRED, is_direct_tcp: bool = False, *,
                 require_encryption: bool = False, require_signing: bool = False,
                 allow_smb1: bool = False, allow_guest: bool = False, lanman_auth: bool = False,
                 use_kerberos: bool = False, kdc: Union[None, str, Sequence[str]] = None,
                 realm: Optional[str] = None, keytab: Optional[str] = None,
                 ccache: Optional[str] = None, service_principal: Optional[str] = None,
                 ntlm_fallback: bool = False) -> None:
        self.username = username
        self._password = password
        # NetBIOS names are upper case (pysmb upper-cases them too)
        self.my_name = (my_name or "").upper()
        self.remote_name = (remote_name or "").upper()
        self.host_type = TYPE_SERVER
        self.domain = domain
        self.use_ntlm_v2 = use_ntlm_v2
        self.sign_options = sign_options
        self.is_direct_tcp = is_direct_tcp
        self.require_encryption = require_encryption
        self.require_signing = require_signing
        self.allow_smb1 = allow_smb1
        self.allow_guest = allow_guest
        self.lanman_auth = lanman_auth
        self._kerberos = None
        if use_kerberos:
            from smb.kerberos.client import KerberosOptions

            self._kerberos = KerberosOptions(kdc=kdc, realm=realm, keytab=keytab, ccache=ccache,
                                             service_principal=service_principal, ntlm_fallback=ntlm_fallback)
        self.auth_result: Optional[bool] = None
        self.is_busy = False
        self.pbar = None  # progress bars are closed when their transfer ends
        self.use_plaintext_authentication = False  # never: passwords do not leave in clear
        self.signing_session_key = None  # session keys are not handed out
        self.signing_challenge_response = None
        self._engine: Optional[Engine] = None
        self._trees: Dict[str, Tree] = {}
        self._tree_lock = threading.Lock()
        self._tree_locks: Dict[str, threading.Lock] = {}
        self._mirror_state(None)

    @property
    def password(self) -> str:
        """The password; a callable given as password is called each time it is read."""
        return self._password() if callable(self._password) else self._password

    @password.setter
    def password(self, value: Union[str, Callable[[], str]]) -> None:
        self._password = value

    def __repr__(self):
        return "<SMBConnection %s@%s%s>" % (self.username, self.remote_name,
                                              " connected" if self._engine else "")

    def _mirror_state(self, engine) -> None:
        """pysmb's state attributes, from the engine (None: not connected)."""
        neg = getattr(engine, "negotiate_response", None) or getattr(engine, "neg", None)
        session = getattr(engine, "session", None)
        transport = getattr(engine, "transport", None) or getattr(getattr(engine, "conn", None),
                                                                  "transport", None)
        self.sock = getattr(transport, "sock", None)
        self.is_using_smb2 = bool(engine is not None and engine.is_smb2)
        self.has_negotiated = engine is not None
        self.has_authenticated = bool(engine is not None and self.auth_result)
        self.is_signing_active = bool(getattr(engine, "signing_active", getattr(engine, "signing", False)))
        self.connected_trees: Dict[str, int] = {}
        self.capabilities = getattr(neg, "capabilities", 0)
        self.security_mode = getattr(neg, "security_mode", 0)
        self.max_read_size = getattr(engine, "max_read_size", 0)
        self.max_write_size = getattr(engine, "max_write_size", 0)
        self.max_transact_size = getattr(engine, "max_transact_size", 0)
        self.max_buffer_size = getattr(neg, "max_buffer_size", 0)
        self.max_mpx_count = getattr(neg, "max_mpx_count", 0)
        self.max_raw_size = getattr(neg, "max_raw_size", 0)
        self.session_id = getattr(session, "session_id", 0)
        self.uid = getattr(getattr(engine, "conn", None), "uid", 0) if engine is not None and not engine.is_smb2 else 0

    def onAuthOK(self) -> None:
        """Called by :meth:`connect` when authentication succeeded (a hook, as in pysmb)."""
        self.auth_result = True

    def onAuthFailed(self) -> None:
        """Called by :meth:`connect` when the server rejected the credentials."""
        self.auth_result = False

    # ------------------------------------------------------------------ lifecycle
    def connect(self, ip: str, port: int = 139, sock_family: Optional[int] = None,
                timeout: Optional[float] = 60) -> bool:
        """Connect, negotiate the dialect and authenticate.

        :param sock_family: None (any: IPv4 or IPv6 address, or a host name), or
            ``socket.AF_INET`` / ``socket.AF_INET6`` to insist on one
        :return: True if authentication succeeded, False if the server rejected the
            credentials. Other failures raise: ``NotConnectedError`` (for a failed TCP connect
            also the socket's own ``ConnectionRefusedError``, ``socket.gaierror``...),
            ``SMBTimeout`` (also ``socket.timeout`` for the TCP connect), ``ProtocolError``.
        """
        self.close()
        self.auth_result = None
        self._mirror_state(None)
        wait = Timeout(timeout)
        config = ClientConfig(
            username=self.username, password=self._password, domain=self.domain,
            my_name=self.my_name, remote_name=self.remote_name, use_ntlm_v2=self.use_ntlm_v2,
            sign_options=self.sign_options, require_encryption=self.require_encryption,
            support_smb2=smb_structs.SUPPORT_SMB2, support_smb2x=smb_structs.SUPPORT_SMB2x,
            extended_security=smb_structs.SUPPORT_EXTENDED_SECURITY,
            require_signing=self.require_signing, allow_smb1=self.allow_smb1,
            allow_guest=self.allow_guest, lanman_auth=self.lanman_auth,
            kerberos=dataclasses.replace(self._kerberos, host=ip) if self._kerberos else None)
        transport = nmb.transport.connect(
            ip, port, direct_tcp=self.is_direct_tcp, my_name=self.my_name,
            remote_name=self.remote_name, sock_family=sock_family, timeout=timeout)
        try:
            from smb.negotiate import open_engine

            engine = open_engine(transport, config, wait.deadline())
            if config.require_encryption and not engine.is_smb2:
                # SMB1 has no standard encryption: refuse before sending credentials
                raise UnsupportedFeature("require_encryption: the server negotiated SMB1 (NT LM 0.12), "
                                         "which has no encryption (SMB 3.0 or later is needed)")
            ok = bool(engine.authenticate(wait))
        except BaseException:
            transport.close()
            raise
        if not ok:
            refusal = getattr(engine, "refusal", None)
            if refusal:
                log.warning("session refused: %s", refusal)
            else:
                log.info("authentication failed for user %r", self.username)
            engine.close()
            self.onAuthFailed()
            return False
        self._engine = engine
        self._dfs_address = (ip, port, sock_family)  # where DFS links to this server lead
        self.auth_result = True
        self._mirror_state(engine)
        if log.isEnabledFor(logging.INFO):
            sec = engine.security()
            log.info("connected to %s port %s: %s, %s as %r, signing %s, encryption %s", ip, port,
                     _dialect_name(sec.dialect), sec.auth_mechanism or "?", self.username or "",
                     sec.signing_algorithm or "off", sec.cipher or "off")
        self.onAuthOK()
        return bool(self.auth_result)

    def close(self) -> None:
        """Log off (which also ends the tree connects) and close the socket. Safe to call twice.
        Files opened with :meth:`openFile` are closed first (their pending writes written)."""
        if self.__dict__.get("_open_files"):
            from smb.fileobj import close_files

            close_files(self.__dict__["_open_files"])
        engine, self._engine = self._engine, None
        self._trees = {}
        dfs.resolver(self).close()
        self.sock = None
        self.connected_trees = {}
        if engine is None:
            return
        try:
            # LOGOFF ends the session's tree connects too ([MS-SMB2] 3.3.5.6, [MS-CIFS]
            # 3.3.5.4): no TREE_DISCONNECT round trip per share; and as the connection closes
            # right after, its answer is not waited for
            engine.logoff(Timeout(5), wait=False)
        except Exception:
            pass
        finally:
            engine.close()

    def __enter__(self) -> SMBConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def isUsingSMB2(self) -> bool:
        """True when the connection uses SMB2 or SMB3."""
        return bool(self._engine is not None and self._engine.is_smb2)

    @property
    def security(self) -> Optional[SessionSecurity]:
        """What protects this session (guest or not, signed, encrypted, algorithms): a
        :class:`smb.engine.SessionSecurity`; None when not connected."""
        return self._engine.security() if self._engine is not None else None

    @property
    def dialect(self) -> Optional[int]:
        """The negotiated dialect (0x0202 ... 0x0311, or 0x0001 for SMB1); None before connect."""
        return self._engine.dialect if self._engine is not None else None

    # ------------------------------------------------------------------ internals
    def _need_engine(self) -> Engine:
        if self._engine is None:
            if self.auth_result is False:
                raise NotReadyError("SMB connection not authenticated")
            raise NotConnectedError("not connected: call connect() first")
        return self._engine

    def _tree(self, service_name, wait) -> Tree:
        """The tree connect of ``service_name``, made once per connection whatever the
        number of threads asking for it at the same time."""
        engine = self._need_engine()
        return self._tree_with(service_name, lambda: (engine.tree_connect(service_name, wait), None))[0]

    def _tree_with(self, service_name, connect):
        """``(tree, what connect() gave with it)``: ``connect()`` returns ``(tree, extra)`` and
        runs only when ``service_name`` is not connected yet (then ``extra`` is None)."""
        key = service_name.upper()
        tree = self._trees.get(key)
        if tree is not None:
            return tree, None
        with self._tree_lock:
            lock = self._tree_locks.setdefault(key, threading.Lock())
        with lock:
            tree = self._trees.get(key)
            if tree is not None:
                return tree, None
            tree, extra = connect()
            self._trees[key] = tree
            self.connected_trees[service_name] = tree.tree_id
        return tree, extra

    @contextmanager
    def _failure(self, what, service_name, path=None):
        """Re-raise an engine's OperationFailure with the operation and path in its message;
        malformed server data (ProtocolError), wherever found, breaks the connection."""
        try:
            yield
        except ProtocolError as e:
            engine = self._engine
            if engine is not None:
                engine.abort(e)
            raise
        except OperationFailure as e:
            where = "'%s' on share '%s'" % (path, service_name) if path is not None else \
                "share '%s'" % service_name
            raise OperationFailure("Failed to %s %s" % (what, where), e.smb_messages,
                                   status=e.status) from None

    @contextmanager
    def _open(self, tree, path, wait, **create_args):
        engine = self._engine
        opened = engine.create(tree, path, timeout=wait, **create_args)
        try:
            yield opened
        except BaseException:
            engine.close_after_failure(tree, opened.file_id, wait)
            raise
        engine.close_file(tree, opened.file_id, wait)

    # ------------------------------------------------------------------ shares
    def listShares(self, timeout: Optional[float] = 30) -> List[SharedDevice]:
        """The server's shares: a list of :class:`smb.base.SharedDevice`."""
        from smb.dcerpc import srvsvc

        wait = Timeout(timeout)
        engine = self._need_engine()
        opened = None

        def exchange(pdus):
            nonlocal opened
            opened, replies = engine.open_pipe(tree, "srvsvc", pdus, wait)
            fid = opened.file_id
            return (replies, lambda data: engine.transact_pipe(tree, fid, data, wait),
                    lambda: engine.read(tree, fid, 0, 65536, wait))

        with self._failure("list shares", "IPC$"):
            tree = self._tree("IPC$", wait)
            try:
                shares = srvsvc.pipelined_share_enum(exchange, self.remote_name or "*SMBSERVER")
            except BaseException:
                if opened is not None:
                    engine.close_after_failure(tree, opened.file_id, wait)
                raise
            # pipelined_share_enum returned, so exchange() has opened the pipe
            engine.close_file(tree, opened.file_id, wait)  # type: ignore[union-attr]
        return [SharedDevice(stype, name, remark) for name, stype, remark in shares]

    # ------------------------------------------------------------------ listings
    def listPath(self, service_name: str, path: str, search: int = _SEARCH_ALL, pattern: str = "*",
                 timeout: Optional[float] = 30) -> List[SharedFile]:
        """List the folder ``path`` on ``service_name`` (with '.' and '..').

        :param search: pysmb's rule: an entry whose low attribute byte is 0 or ATTR_NORMAL is
            listed when ``search`` is ``SMB_FILE_ATTRIBUTE_NORMAL`` (0) or includes
            ``SMB_FILE_ATTRIBUTE_INCL_NORMAL``; any other entry when it has one of the
            ``search`` attribute bits. The default lists everything.
        :param pattern: wildcard filter applied by the server (``*``, ``?``); a pattern that
            matches nothing gives ``[]``
        :return: a list of :class:`smb.base.SharedFile`
        """
        wait = Timeout(timeout)
        npath = normalize_path(path)
        results: List[SharedFile] = []
        append = results.append
        with self._failure("list", service_name, path):
            engine = self._need_engine()
            # a share not connected yet: its TREE_CONNECT goes with the listing (issue 12)
            tree, pages = self._tree_with(service_name, lambda: engine.tree_connect_listing(
                service_name, npath, pattern, wait))
            for entry in self._listing(tree, npath, pattern, wait, pages):
                if matches_search(entry.file_attributes, search):
                    append(entry_to_shared_file(entry))
        return results

    def listSnapshots(self, service_name: str, path: str,
                      timeout: Optional[float] = 30) -> List[datetime]:
        """The shadow copies of ``path``: a list of naive UTC ``datetime`` objects."""
        wait = Timeout(timeout)
        npath = normalize_path(path)
        engine = self._need_engine()
        with self._failure("list snapshots of", service_name, path):
            tree = self._tree(service_name, wait)
            with self._open(tree, npath, wait, desired_access=_READ_ACCESS,
                            share_access=_SHARE_ALL) as opened:
                size = 16
                while True:
                    out = engine.ioctl(tree, opened.file_id, fscc.FSCTL_SRV_ENUMERATE_SNAPSHOTS,
                                       b"", size, wait)
                    snap = fscc.parse_snapshot_array(out)
                    if snap.returned >= snap.total or size >= (1 << 20):
                        break
                    size = 16 + snap.array_size + 2
        return [fscc.snapshot_to_datetime(name) for name in snap.names]

    def getAttributes(self, service_name: str, path: str, timeout: Optional[float] = 30) -> SharedFile:
        """Attributes of the file or folder at ``path``: a :class:`smb.base.SharedFile`."""
        wait = Timeout(timeout)
        npath = normalize_path(path)
        with self._failure("get attributes of", service_name, path):
            tree = self._tree(service_name, wait)
            o = self._need_engine().open_close(tree, npath, timeout=wait, desired_access=_ATTR_ACCESS,
                                               share_access=_SHARE_ALL)
            to_epoch = fscc.filetime_to_epoch
            name = split_parent(npath)[1]
            # pysmb puts the name in short_name too
            return SharedFile(to_epoch(o.creation_time), to_epoch(o.last_access_time),
                              to_epoch(o.last_write_time), to_epoch(o.change_time),
                              o.end_of_file, o.allocation_size, o.file_attributes, name, name)

    def getSecurity(self, service_name: str, path: str,
                    timeout: Optional[float] = 30) -> SecurityDescriptor:
        """The security descriptor (owner, group, DACL) of ``path``:
        a :class:`smb.security_descriptors.SecurityDescriptor`."""
        from smb.security_descriptors import SecurityDescriptor

        wait = Timeout(timeout)
        npath = normalize_path(path)
        engine = self._need_engine()
        with self._failure("get the security descriptor of", service_name, path):
            tree = self._tree(service_name, wait)
            with self._open(tree, npath, wait, desired_access=fscc.READ_CONTROL | fscc.SYNCHRONIZE,
                            share_access=_SHARE_ALL) as o:
                data = engine.query_info(tree, o.file_id, INFO_SECURITY, 0, wait,
                                         additional_information=_SECURITY_INFO)
        return SecurityDescriptor.from_bytes(data)

    # ------------------------------------------------------------------ issue 13.3-5
    def setSecurity(self, service_name, path, security_descriptor, info=_SECURITY_INFO, timeout=30):
        """Write the parts ``info`` names (SECURITY_INFORMATION bits: OWNER 0x1, GROUP 0x2,
        DACL 0x4, SACL 0x8) of ``security_descriptor`` (a
        :class:`smb.security_descriptors.SecurityDescriptor` or its self-relative bytes) to
        ``path`` (:mod:`smb.acl`)."""
        from smb.acl import set_security

        set_security(self, service_name, path, security_descriptor, info, timeout)

    def copyFile(self, service_name, src_path, dst_path, dst_service_name=None, show_progress=False,
                 tqdm_kwargs=None, timeout=30):
        """Copy ``src_path`` to ``dst_path`` (replacing it) on the server: server-side
        (FSCTL_SRV_COPYCHUNK_WRITE) over SMB2/3, else a pipelined copy through the client
        (:mod:`smb.copy`). ``dst_service_name``: another share (default: the same).

        :return: the number of bytes copied
        """
        from smb.copy import copy_file

        return copy_file(self, service_name, src_path, dst_path, dst_service_name, show_progress,
                         tqdm_kwargs, timeout)

    def watchDirectory(self, service_name, path, completion_filter=None, recursive=False, timeout=None):
        """A blocking iterator (:class:`smb.notify.DirectoryWatch`, armed when this returns)
        of the changes under the folder ``path``, as they happen:
        :class:`smb.notify.Change` named tuples ``(action, name)`` (:mod:`smb.notify`).
        ``completion_filter``: FILE_NOTIFY_CHANGE_* bits (default
        :data:`smb.notify.DEFAULT_FILTER`); ``timeout``: the longest wait for each change
        (None: for ever), SMBTimeout after it. Stopping the iteration (``break``,
        ``close()``) cancels the request and closes the folder."""
        from smb.notify import DEFAULT_FILTER, DirectoryWatch

        if completion_filter is None:
            completion_filter = DEFAULT_FILTER
        return DirectoryWatch(self, service_name, path, completion_filter, recursive, timeout)

    # ------------------------------------------------------------------ transfers
    def retrieveFile(self, service_name: str, path: str, file_obj: _Writable,
                     timeout: Optional[float] = 30, show_progress: bool = False,
                     tqdm_kwargs: Dict[str, Any] = {},  # noqa: B006  (pysmb's default; never modified)
                     ) -> Tuple[int, int]:
        """Download ``path`` into ``file_obj`` (anything with ``write``).

        :return: ``(file_attributes, number_of_bytes_written)``
        """
        return self.retrieveFileFromOffset(service_name, path, file_obj, 0, -1, timeout,
                                           show_progress=show_progress, tqdm_kwargs=tqdm_kwargs)

    def retrieveFileFromOffset(self, service_name: str, path: str, file_obj: _Writable,
                               offset: int = 0, max_length: int = -1, timeout: Optional[float] = 30,
                               show_progress: bool = False,
                               tqdm_kwargs: Dict[str, Any] = {},  # noqa: B006
                               ) -> Tuple[int, int]:
        """Download up to ``max_length`` bytes (all when negative) of ``path`` from ``offset``.

        :return: ``(file_attributes, number_of_bytes_written)``
        """
        if offset < 0:
            raise ValueError("offset must be >= 0")
        wait = Timeout(timeout)
        npath = normalize_path(path)
        engine = self._need_engine()
        with self._failure("retrieve", service_name, path):
            tree = self._tree(service_name, wait)
            return wholefile.retrieve(self, engine, tree, npath, file_obj, offset, max_length, wait,
                                      show_progress, tqdm_kwargs)

    def storeFile(self, service_name: str, path: str, file_obj: _Readable,
                  timeout: Optional[float] = 30, show_progress: bool = False,
                  tqdm_kwargs: Dict[str, Any] = {},  # noqa: B006
                  ) -> int:
        """Upload ``file_obj`` (anything with ``read``) to ``path``, replacing any existing file.

        :return: the number of bytes uploaded
        """
        return self.storeFileFromOffset(service_name, path, file_obj, 0, True, timeout,
                                        show_progress=show_progress, tqdm_kwargs=tqdm_kwargs)

    def storeFileFromOffset(self, service_name: str, path: str, file_obj: _Readable,
                            offset: int = 0, truncate: bool = False, timeout: Optional[float] = 30,
                            show_progress: bool = False,
                            tqdm_kwargs: Dict[str, Any] = {},  # noqa: B006
                            ) -> int:
        """Write ``file_obj``'s contents into ``path`` from ``offset``, creating the file when
        missing; with ``truncate`` an existing file is emptied first.

        :return: the offset just past the last byte written
        """
        if offset < 0:
            raise ValueError("offset must be >= 0")
        wait = Timeout(timeout)
        npath = normalize_path(path)
        engine = self._need_engine()
        with self._failure("store", service_name, path):
            tree = self._tree(service_name, wait)
            return wholefile.store(self, engine, tree, npath, file_obj, offset, truncate, wait,
                                   show_progress, tqdm_kwargs)

    def openFile(self, service_name, path, mode="rb", buffering=-1, encoding=None, errors=None,
                 newline=None, share_access=None, timeout=30):
        """(Not in pysmb.) Open ``path`` as a Python file object, as :func:`open` would a
        local file: ``mode`` ``rb wb ab xb r+b w+b a+b`` (or text modes, through
        ``io.TextIOWrapper`` with ``encoding``, ``errors``, ``newline``); ``buffering=0`` gives
        the unbuffered raw file. Sequential reads read ahead and writes are written behind;
        the file objects also have ``lock(offset, length, exclusive=True, wait=False,
        timeout=None)`` and ``unlock(offset, length)``. ``share_access`` (FILE_SHARE_READ |
        FILE_SHARE_WRITE by default) is what other opens may do meanwhile; ``timeout``
        bounds each response of each operation. Failures are OSError subclasses
        (``FileNotFoundError``...) that are also OperationFailure. See ``docs/fileobjects.rst``.
        """
        from smb.fileobj import open_file

        return open_file(self, service_name, path, mode, buffering, encoding, errors, newline,
                         share_access, timeout)

    # ------------------------------------------------------------------ changes
    def createDirectory(self, service_name: str, path: str, timeout: Optional[float] = 30) -> None:
        """Create the folder ``path`` (its parent must exist)."""
        wait = Timeout(timeout)
        npath = normalize_path(path)
        with self._failure("create directory", service_name, path):
            tree = self._tree(service_name, wait)
            self._need_engine().open_close(tree, npath, timeout=wait, desired_access=_ATTR_ACCESS,
                                           share_access=_SHARE_ALL, create_disposition=fscc.FILE_CREATE,
                                           create_options=fscc.FILE_DIRECTORY_FILE)

    def deleteDirectory(self, service_name: str, path: str, timeout: Optional[float] = 30) -> None:
        """Delete the empty folder ``path``."""
        wait = Timeout(timeout)
        npath = normalize_path(path)
        with self._failure("delete directory", service_name, path):
            self._delete(self._tree(service_name, wait), npath, True, wait)

    def deleteFiles(self, service_name: str, path_file_pattern: str,
                    delete_matching_folders: bool = False, timeout: Optional[float] = 30) -> None:
        """Delete the files matching ``path_file_pattern`` (wildcards allowed in its last
        component; a pattern matching nothing deletes nothing). With
        ``delete_matching_folders``, matching folders are deleted too, with everything in
        them; without it, naming a folder exactly raises OperationFailure (as in pysmb)."""
        wait = Timeout(timeout)
        parent, pattern = split_parent(normalize_path(path_file_pattern))
        with self._failure("delete", service_name, path_file_pattern):
            tree = self._tree(service_name, wait)
            if pattern and not has_wildcard(pattern):
                self._delete_exact(tree, join(parent, pattern), delete_matching_folders, wait)
                return
            for entry in self._entries(tree, parent, pattern or "*", wait):
                target = join(parent, entry.file_name)
                if entry.file_attributes & fscc.FILE_ATTRIBUTE_DIRECTORY:
                    if delete_matching_folders:
                        self._delete_tree(tree, target, wait)
                else:
                    self._delete(tree, target, False, wait)

    def resetFileAttributes(self, service_name: str, path_file_pattern: str,
                            file_attributes: int = ATTR_NORMAL, timeout: Optional[float] = 30) -> None:
        """Set the attributes of the files and folders matching ``path_file_pattern``
        (wildcards allowed) to ``file_attributes`` (default: ATTR_NORMAL, clearing them)."""
        wait = Timeout(timeout)
        parent, pattern = split_parent(normalize_path(path_file_pattern))
        data = fscc.basic_information(file_attributes=file_attributes or ATTR_NORMAL)
        with self._failure("reset attributes of", service_name, path_file_pattern):
            tree = self._tree(service_name, wait)
            for entry in self._entries(tree, parent, pattern or "*", wait):
                self._set_basic(tree, join(parent, entry.file_name), data, wait)

    def setLastWriteTime(self, service_name: str, path: str, last_write_time: float,
                         timeout: Optional[float] = 30) -> None:
        """Set the last write (modification) time of ``path``, in seconds since the epoch."""
        wait = Timeout(timeout)
        npath = normalize_path(path)
        data = fscc.basic_information(last_write_time=fscc.epoch_to_filetime(last_write_time))
        with self._failure("set the last write time of", service_name, path):
            self._set_basic(self._tree(service_name, wait), npath, data, wait)

    def rename(self, service_name: str, old_path: str, new_path: str,
               timeout: Optional[float] = 30) -> None:
        """Rename (or move, within the share) a file or folder."""
        wait = Timeout(timeout)
        old, new = normalize_path(old_path), normalize_path(new_path)
        with self._failure("rename", service_name, old_path):
            self._need_engine().rename(self._tree(service_name, wait), old, new, wait)

    def echo(self, data: AnyStr, timeout: Optional[float] = 10) -> AnyStr:
        """Send ``data`` to the server in an ECHO and return it."""
        wait = Timeout(timeout)
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self._need_engine().echo(raw, wait)
        return data

    # ------------------------------------------------------------------ trees (smb.tree)
    def walk(self, service_name, top, topdown=True, timeout=30):
        """Like :func:`os.walk`, with :class:`SharedFile` lists: see :func:`smb.tree.walk`."""
        return tree_helpers.walk(self, service_name, top, topdown, timeout)

    def makedirs(self, service_name, path, exist_ok=False, timeout=30):
        """Create ``path`` and its missing parents: see :func:`smb.tree.makedirs`."""
        tree_helpers.makedirs(self, service_name, path, exist_ok, timeout)

    def deleteTree(self, service_name, path, timeout=30):
        """Delete the folder ``path`` with everything in it: see :func:`smb.tree.deleteTree`."""
        tree_helpers.deleteTree(self, service_name, path, timeout)

    def uploadTree(self, service_name, local_dir, remote_dir, show_progress=False, timeout=30):
        """Upload a local folder tree: see :func:`smb.tree.uploadTree`."""
        return tree_helpers.uploadTree(self, service_name, local_dir, remote_dir, show_progress,
                                       timeout)

    def downloadTree(self, service_name, remote_dir, local_dir, show_progress=False, timeout=30):
        """Download a folder tree: see :func:`smb.tree.downloadTree`."""
        return tree_helpers.downloadTree(self, service_name, remote_dir, local_dir, show_progress,
                                         timeout)

    # ------------------------------------------------------------------ helpers
    def _listing(self, tree, path, pattern, wait, pages=None):
        """Directory entries (``fscc.DirectoryEntry``) of ``path`` matching ``pattern``, every
        name checked (:class:`ListingNames`); none when nothing matches (the server's
        STATUS_NO_SUCH_FILE, as pysmb treats it). ``pages``: the listing's pages when they
        are already on their way (:meth:`smb.engine.Engine.tree_connect_listing`)."""
        engine = self._need_engine()
        names = ListingNames()
        if pages is None:
            pages = engine.list_directory(tree, path, pattern, wait)
        try:
            for page in pages:
                for entry in fscc.DIRECTORY_PARSERS[engine.listing_class](page):
                    names.check(entry.file_name)
                    yield entry
        except OperationFailure as e:
            if e.status != STATUS_NO_SUCH_FILE:
                raise

    def _entries(self, tree, parent, pattern, wait):
        """Entries of ``parent`` matching ``pattern``, without '.' and '..'."""
        return [e for e in self._listing(tree, parent, pattern, wait)
                if e.file_name not in (".", "..")]

    def _delete_exact(self, tree, path, with_folders, wait):
        """Delete the file ``path``; a folder only ``with_folders`` (recursively)."""
        try:
            self._delete(tree, path, False, wait)
        except OperationFailure as e:
            if not (with_folders and e.status == STATUS_FILE_IS_A_DIRECTORY):
                raise
            self._delete_tree(tree, path, wait)

    def _delete(self, tree, path, is_directory, wait):
        if not is_directory and self._engine.compounds:  # one round trip (issue 12)
            self._engine.open_close(tree, path, timeout=wait, desired_access=fscc.DELETE | fscc.SYNCHRONIZE,
                                    share_access=_SHARE_ALL, create_options=fscc.FILE_NON_DIRECTORY_FILE
                                    | fscc.FILE_DELETE_ON_CLOSE)
            return
        options = fscc.FILE_DIRECTORY_FILE if is_directory else fscc.FILE_NON_DIRECTORY_FILE
        with self._open(tree, path, wait, desired_access=fscc.DELETE | fscc.SYNCHRONIZE,
                        share_access=_SHARE_ALL, create_options=options) as o:
            self._engine.set_info(tree, o.file_id, INFO_FILE, fscc.FileDispositionInformation,
                                  fscc.disposition_information(True), wait)

    def _delete_tree(self, tree, path, wait):
        for entry in self._entries(tree, path, "*", wait):
            child = join(path, entry.file_name)
            if entry.file_attributes & fscc.FILE_ATTRIBUTE_DIRECTORY:
                self._delete_tree(tree, child, wait)
            else:
                self._delete(tree, child, False, wait)
        self._delete(tree, path, True, wait)

    def _set_basic(self, tree, path, data, wait):
        with self._open(tree, path, wait,
                        desired_access=fscc.FILE_WRITE_ATTRIBUTES | fscc.SYNCHRONIZE,
                        share_access=_SHARE_ALL) as o:
            self._engine.set_info(tree, o.file_id, INFO_FILE, fscc.FileBasicInformation, data,
                                  wait)


dfs.install(SMBConnection)  # path operations follow DFS links (smb.dfs)

#: pysmb's base class of SMBConnection; here the same class (``smb.base.SMB`` too)
SMB = SMBConnection
