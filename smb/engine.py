"""The operation interface shared by the SMB1 and SMB2/3 engines.

``SMBConnection`` (the facade) is written once over this interface; each dialect family has
one engine implementing it (``smb.smb2.engine.SMB2Engine``, ``smb.smb1.engine.SMB1Engine``).

Conventions, for every engine:

* Paths are relative to the share, components separated by backslashes, no leading
  backslash (``"dir\\file.txt"``; the share root is ``""``). The facade normalises them.
* Every blocking method takes ``timeout``, a :class:`Timeout`: the longest wait for each
  response (pysmb's meaning: a long transfer succeeds as long as every answer comes in
  time). An engine raises :class:`smb.errors.SMBTimeout` when one wait runs out, after
  cancelling what it has outstanding where the protocol allows; the connection stays usable.
* Every method may be called from any number of threads at once.
* A server error status raises :class:`smb.errors.OperationFailure` with ``status`` set to the
  NTSTATUS (SMB1 DOS error classes are mapped to NTSTATUS) and ``smb_messages`` holding
  the request and response records (``smb.records``: pysmb's ``SMBMessage`` / ``SMB2Message``) of the failed operation. The
  facade re-raises with a message naming the operation and the path.
* Malformed, unsigned-where-required or forged server data raises
  :class:`smb.errors.ProtocolError`; after that the connection is unusable (``NotConnectedError``
  on the next call). This contract is enforced once, for every operation of every engine, by
  :class:`Engine` itself (``__init_subclass__`` wraps them).
* Information classes, access masks, create options and dispositions are those of
  [MS-FSCC] and [MS-SMB2] 2.2.13; the SMB1 engine maps them (NT_CREATE_ANDX takes the same
  values; file information classes go through the SMB_INFO_PASSTHROUGH levels, 0x03E8 + class).
"""

from __future__ import annotations

import abc
import functools
import inspect
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Tuple

from smb import fscc
from smb.errors import NotConnectedError, OperationFailure, ProtocolError, SMBTimeout, UnsupportedFeature
from smb.mux import Multiplexer

# [MS-SMB2] 2.2.37 InfoType
INFO_FILE = 0x01
INFO_FILESYSTEM = 0x02
INFO_SECURITY = 0x03
INFO_QUOTA = 0x04

#: the longest named pipe message (one transceive and the reads after BUFFER_OVERFLOW) a
#: client accepts: DCE/RPC replies are far smaller; a server streaming more is hostile
MAX_PIPE_REPLY = 16 * 1024 * 1024


def check_pipe_reply(size: int) -> None:
    if size > MAX_PIPE_REPLY:
        raise ProtocolError("named pipe reply exceeds %d bytes" % MAX_PIPE_REPLY)


class Timeout:
    """How long each wait for the server may last: ``Timeout(30)`` gives every response 30
    seconds from the moment the client starts waiting for it; ``Timeout(None)`` (or 0) waits
    forever. ``deadline()`` is the absolute ``time.monotonic()`` limit of a wait starting now."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: Optional[float]):
        self.seconds = float(seconds) if seconds is not None and seconds > 0 else None

    def deadline(self) -> float:
        s = self.seconds
        return float("inf") if s is None else time.monotonic() + s

    def shorter(self, seconds: float) -> "Timeout":
        """This timeout, at most ``seconds``."""
        return Timeout(seconds if self.seconds is None else min(self.seconds, seconds))

    def __repr__(self):
        return "Timeout(%r)" % self.seconds


#: named pipe access
PIPE_ACCESS = fscc.FILE_READ_DATA | fscc.FILE_WRITE_DATA | fscc.FILE_READ_ATTRIBUTES | fscc.SYNCHRONIZE


@dataclass
class ClientConfig:
    """Everything the engines need to know about the client, filled in by the facade."""

    username: str
    password: object = field(repr=False)  # str, or a callable returning str (pysmb accepts both)
    domain: str = ""
    my_name: str = ""
    remote_name: str = ""
    use_ntlm_v2: bool = True
    sign_options: int = 2  # SIGN_NEVER=0, SIGN_WHEN_SUPPORTED=1, SIGN_WHEN_REQUIRED=2
    require_encryption: bool = False  # client insists on SMB3 encryption (issue #5)
    support_smb2: bool = True  # smb.smb_structs.SUPPORT_SMB2, read at connect time
    support_smb2x: bool = True  # smb.smb_structs.SUPPORT_SMB2x
    extended_security: bool = True  # smb.smb_structs.SUPPORT_EXTENDED_SECURITY (SMB1 only)
    #: offer SMB1 (NT LM 0.12) beside SMB2 in a multi-protocol NEGOTIATE; off by default, as
    #: in Samba since 4.11 and Windows: a man in the middle could otherwise select it
    allow_smb1: bool = False
    #: refuse any session that is not signed (or encrypted): guest and anonymous sessions,
    #: and servers that cannot sign
    require_signing: bool = False
    #: accept a session the server mapped to guest although a user name was given
    allow_guest: bool = False
    #: allow the LAN Manager response (from the LM hash) in NTLMv1 without extended session
    #: security (smbclient's ``client lanman auth``); otherwise the NT response is sent twice
    lanman_auth: bool = False
    dialects: Optional[tuple] = None  # restrict SMB2 dialects (e.g. (0x0202, 0x0210)); None = all
    #: SMB3 ciphers the client accepts, most preferred first ([MS-SMB2] 2.2.3.1.2 ids: 1
    #: AES-128-CCM, 2 AES-128-GCM, 3 AES-256-CCM, 4 AES-256-GCM); None = all. 3.0/3.0.2 only
    #: know AES-128-CCM: without it they cannot encrypt.
    ciphers: Optional[tuple] = None
    #: signing algorithms the client accepts, most preferred first ([MS-SMB2] 2.2.3.1.7 ids: 0
    #: HMAC-SHA256, 1 AES-CMAC, 2 AES-GMAC); None = all. Dialects whose only algorithm is
    #: excluded are not offered (no HMAC-SHA256: no 2.0.2/2.1; no AES-CMAC: no 3.0/3.0.2).
    signing_algorithms: Optional[tuple] = None
    #: Kerberos settings (smb.kerberos.client.KerberosOptions); None = NTLM (smb.auth)
    kerberos: Optional[object] = None


def session_refusal(config: ClientConfig, *, guest: bool, null: bool,
                    server_requires_signing: bool) -> Optional[str]:
    """Why a session the server granted as guest or null must not be used (None: usable).

    The server says so in the final SESSION_SETUP response (SMB2_SESSION_FLAG_IS_GUEST /
    IS_NULL, [MS-SMB2] 2.2.6; SMB1 Action bit 0, [MS-CIFS] 2.2.4.53.2), before anything can
    be verified: such a session has no key, so nothing on it is signed. A null session is
    used only when the caller asked for one (empty user name); a guest mapping of a named
    user only with ``allow_guest``; neither when either side requires signing."""
    if not (guest or null):
        return None
    kind = "guest" if guest else "anonymous (null)"
    if config.require_signing or server_requires_signing:
        return ("the server granted a %s session, which cannot be signed, but %s requires signing"
                % (kind, "this client" if config.require_signing else "the server"))
    if config.username:
        if null:
            return "the server granted an anonymous (null) session to user %r" % config.username
        if not config.allow_guest:
            return ("the server mapped user %r to guest (wrong user name or password?); "
                    "SMBConnection(..., allow_guest=True) accepts that" % config.username)
    return None


@dataclass
class Tree:
    """A connected share ([MS-SMB2] 3.2.1.4 TreeConnect)."""

    tree_id: int
    share_name: str
    share_type: int = 0  # SMB2_SHARE_TYPE_DISK=1, PIPE=2, PRINT=3 (SMB1 engines map to these)
    share_flags: int = 0
    capabilities: int = 0
    maximal_access: int = 0
    encrypt: bool = False
    #: 'server\\share' when the share is in DFS ([MS-SMB2] 3.2.5.5 TreeConnect.IsDfsShare,
    #: [MS-CIFS] 3.2.5.x SMB_SHARE_IS_IN_DFS): its paths then go on the wire in full, with the
    #: DFS flag in the header (:meth:`wire_path`); "" for any other share
    dfs_prefix: str = ""

    def wire_path(self, path: str) -> str:
        """``path`` (relative to the share) as a request names it: 'server\\share\\path' on
        a DFS share ([MS-DFSC] 2.2.1, [MS-SMB2] 2.2.13 NameOffset), else ``path`` itself."""
        if not self.dfs_prefix:
            return path
        return self.dfs_prefix + "\\" + path if path else self.dfs_prefix


@dataclass
class OpenResult:
    """A successful create/open ([MS-SMB2] 3.2.1.6 Open); times are FILETIME ints."""

    file_id: object  # opaque: bytes(16) for SMB2, int FID for SMB1
    create_action: int = 0
    creation_time: int = 0
    last_access_time: int = 0
    last_write_time: int = 0
    change_time: int = 0
    allocation_size: int = 0
    end_of_file: int = 0
    file_attributes: int = 0
    is_directory: bool = False


#: how long the CLOSE of a handle may take after the operation on it failed (the operation's
#: own wait may be the one that ran out)
CLOSE_AFTER_FAILURE_TIMEOUT = 5.0


@dataclass(frozen=True)
class SessionSecurity:
    """What protects a session, as negotiated and verified (``SMBConnection.security``)."""

    dialect: int
    #: the server mapped the user to its guest account (only with ``allow_guest``)
    is_guest: bool
    #: a null session (empty user name and password)
    is_anonymous: bool
    #: every request and response of the session is signed (and verified)
    signed: bool
    #: every message of the session is encrypted (shares may encrypt on their own too)
    encrypted: bool
    #: "HMAC-SHA256", "AES-CMAC", "AES-GMAC", "MD5" (SMB1) or None
    signing_algorithm: Optional[str] = None
    #: "AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM" or None
    cipher: Optional[str] = None
    #: how the user was authenticated: "NTLMv2", "NTLMv1", "Kerberos", "NTLMv2 (Kerberos
    #: fallback)", "anonymous"; None before authentication
    auth_mechanism: Optional[str] = None


class Engine(abc.ABC):
    """One authenticated SMB session on one transport, shared by any number of threads.

    Subclasses implement the abstract operations; every method named in :data:`OPERATIONS`
    is wrapped once, here, with the engine contract: malformed server data (ProtocolError)
    breaks the connection wherever it is found, and the transport buffer is released to the
    other threads when the operation returns (:meth:`smb.mux.Multiplexer.unpin_all`).
    """

    #: the operations the contract wrapper guards (generators are wrapped as generators)
    OPERATIONS = ("authenticate", "logoff", "echo", "tree_connect", "tree_disconnect", "create",
                  "close_file", "read", "write", "read_to", "write_from", "list_directory",
                  "query_info", "set_info", "ioctl", "transact_pipe", "open_pipe", "rename",
                  "flush",
                  "lock", "unlock",  # byte-range locks (issue 13.2: smb.smb2.locks, smb.smb1.locks)
                  "set_security", "notify_changes", "request_resume_key", "copy_chunks",  # issue 13.3-5
                  "open_close", "open_read_close", "open_write_close",  # issue 12: one-trip file ops
                  "get_dfs_referral",  # DFS (issue 13.7)
                  "tree_connect_listing",  # issue 12: a first listing with its tree connect
                  )

    #: True for SMB2/3, False for SMB1 (drives ``SMBConnection.isUsingSMB2``).
    is_smb2: bool = False
    #: negotiated dialect: 0x0202, 0x0210, 0x0300, 0x0302, 0x0311; 0x0001 for SMB1 NT LM 0.12
    dialect: int = 0
    #: largest payload for a single read / write / transact, as negotiated
    max_read_size: int = 65536
    max_write_size: int = 65536
    max_transact_size: int = 65536
    #: the connection (an :class:`smb.mux.Multiplexer`)
    conn: Multiplexer = None  # type: ignore[assignment]  # set by every engine's __init__
    #: set by :meth:`authenticate` (see :attr:`SessionSecurity.auth_mechanism`)
    auth_mechanism: Optional[str] = None
    #: the [MS-FSCC] information class of the buffers :meth:`list_directory` yields:
    #: FileIdBothDirectoryInformation (37), or FileBothDirectoryInformation (3) on an SMB1
    #: server without SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO; parse with fscc.DIRECTORY_PARSERS
    listing_class: int = fscc.FileIdBothDirectoryInformation

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in Engine.OPERATIONS:  # mixins and inherited implementations included
            method = getattr(cls, name, None)
            if method is None or getattr(method, "_guarded", False):
                continue
            setattr(cls, name, _guard(method))

    # --- connection state ----------------------------------------------------------
    def abort(self, exc: BaseException) -> BaseException:
        """Mark the connection broken by ``exc`` (later calls raise NotConnectedError), close
        the transport and wake every waiting thread; returns ``exc``."""
        return self.conn.fail(exc)

    @property
    def broken(self) -> bool:
        """True once the connection is unusable (aborted, closed or failed)."""
        return self.conn.broken is not None

    def close(self) -> None:
        """Close the transport; never raises."""
        self.conn.close()

    def end_of_operation(self) -> None:
        """Give the transport buffer back to the other threads (called by the wrapper)."""
        self.conn.unpin_all()

    @abc.abstractmethod
    def security(self) -> SessionSecurity:
        """What protects the authenticated session."""

    # --- session ---------------------------------------------------------------------
    @abc.abstractmethod
    def authenticate(self, timeout: Timeout) -> bool:
        """Session setup with the config's credentials. False when the server rejects them
        (STATUS_LOGON_FAILURE and friends) or grants a session the policy refuses
        (``refusal`` says why); other failures raise."""

    @abc.abstractmethod
    def logoff(self, timeout: Timeout, wait: bool = True) -> None:
        """End the session (and with it its tree connects). ``wait=False`` sends the LOGOFF
        without waiting for its answer: for a client about to close the connection."""

    @abc.abstractmethod
    def echo(self, data: bytes, timeout: Timeout) -> bytes:
        """SMB1 ECHO returns ``data``; SMB2 ECHO carries no data, so the engine returns ``data``
        after a successful round trip."""

    # --- trees -------------------------------------------------------------------------
    @abc.abstractmethod
    def tree_connect(self, share: str, timeout: Timeout) -> Tree:
        """``share`` is the bare share name (``"IPC$"``, ``"public"``)."""

    @abc.abstractmethod
    def tree_disconnect(self, tree: Tree, timeout: Timeout) -> None: ...

    def tree_connect_listing(self, share: str, path: str, pattern: str,
                             timeout: Timeout) -> Tuple[Tree, Iterator[memoryview]]:
        """Connect ``share`` and list ``path`` in it: ``(tree, pages)``, ``pages`` as
        :meth:`list_directory` yields them (a listing failure is raised while iterating,
        once the caller holds the tree). Engines that can send both at once override this."""
        tree = self.tree_connect(share, timeout)
        return tree, self.list_directory(tree, path, pattern, timeout)

    # --- opens -------------------------------------------------------------------------
    @abc.abstractmethod
    def create(self, tree: Tree, path: str, *, desired_access: int, file_attributes: int = 0,
               share_access: int = 7, create_disposition: int = 1, create_options: int = 0,
               timeout: Timeout) -> OpenResult:
        """NT create ([MS-SMB2] 2.2.13 values; disposition 1 = FILE_OPEN)."""

    @abc.abstractmethod
    def close_file(self, tree: Tree, file_id: object, timeout: Timeout) -> None: ...

    @abc.abstractmethod
    def flush(self, tree: Tree, file_id: object, timeout: Timeout) -> None:
        """Ask the server to write the file's cached data to disk ([MS-SMB2] FLUSH,
        [MS-CIFS] SMB_COM_FLUSH)."""

    def close_after_failure(self, tree: Tree, file_id: object, timeout: Optional[Timeout] = None) -> None:
        """Close a handle after an operation on it failed, keeping that failure the one
        raised. The CLOSE gets a fresh wait (at most :data:`CLOSE_AFTER_FAILURE_TIMEOUT`); if
        it cannot be sent or answered (timeout, broken connection, malformed answer) the
        connection is aborted: a server handle is never left open silently on a connection
        that goes on being used. A server's error status means it holds no such handle."""
        if self.broken:
            return
        wait = (timeout or Timeout(None)).shorter(CLOSE_AFTER_FAILURE_TIMEOUT)
        try:
            self.close_file(tree, file_id, wait)
        except OperationFailure:
            pass
        except (NotConnectedError, ProtocolError, SMBTimeout) as e:
            self.abort(e)

    # --- whole-file operations of one open (issue 12): one round trip each where the
    # dialect chains requests (SMB2 related compounds, smb.smb2.compounds; SMB1 AndX
    # chains, smb.smb1.chains); these
    # defaults take one round trip per request. ``compounds`` tells the facade which.
    compounds: bool = False

    def open_close(self, tree: Tree, path: str, *, timeout: Timeout, **create_args) -> OpenResult:
        """Open ``path`` (``create_args`` as :meth:`create`) and close it at once: its
        attributes, a creation, or a delete (FILE_DELETE_ON_CLOSE)."""
        opened = self.create(tree, path, timeout=timeout, **create_args)
        self.close_file(tree, opened.file_id, timeout)
        return opened

    def open_read_close(self, tree: Tree, path: str, offset: int, length: int, *,
                        timeout: Timeout, **create_args):
        """Open, one READ of at most ``length`` bytes at ``offset``, close:
        ``(OpenResult, data)`` (data b'' at end of file; the handle is closed either way)."""
        return self._open_do_close(tree, path, timeout, create_args,
                                   lambda fid: self.read(tree, fid, offset, length, timeout))

    def open_write_close(self, tree: Tree, path: str, offset: int, data, *,
                         timeout: Timeout, **create_args):
        """Open, one WRITE of ``data`` (at most ``max_write_size`` bytes; none when empty)
        at ``offset``, close: ``(OpenResult, bytes written)``."""
        return self._open_do_close(tree, path, timeout, create_args,
                                   lambda fid: self.write(tree, fid, offset, data, timeout) if len(data) else 0)

    def _open_do_close(self, tree, path, timeout, create_args, action):
        opened = self.create(tree, path, timeout=timeout, **create_args)
        return opened, self._do_close(tree, opened.file_id, timeout, action)

    def _do_close(self, tree, file_id, timeout, action):
        """``action(file_id)``'s result, the file closed after it (after its failure too,
        which stays the one raised)."""
        try:
            result = action(file_id)
        except BaseException:
            self.close_after_failure(tree, file_id, timeout)
            raise
        self.close_file(tree, file_id, timeout)
        return result

    @abc.abstractmethod
    def read(self, tree: Tree, file_id: object, offset: int, length: int, timeout: Timeout) -> bytes:
        """One read of at most ``max_read_size`` bytes; b'' at end of file."""

    @abc.abstractmethod
    def write(self, tree: Tree, file_id: object, offset: int, data, timeout: Timeout) -> int:
        """One write of at most ``max_write_size`` bytes; returns the count written."""

    def read_to(self, tree: Tree, file_id: object, offset: int, length: int,
                sink: Callable[[memoryview], object], timeout: Timeout,
                progress: Optional[Callable[[int], object]] = None) -> int:
        """Pipelined read of ``length`` bytes (``-1``: to end of file) starting at ``offset``
        (:func:`smb.transfer.read_to`): several reads in flight, ``sink`` called with
        consecutive chunks in file order (the memoryview is only valid during the call),
        ``progress(nbytes)`` after each. Returns the bytes delivered; fewer at end of file."""
        from smb import transfer

        return transfer.read_to(self, tree, file_id, offset, length, sink, timeout, progress)

    def write_from(self, tree: Tree, file_id: object, offset: int,
                   source: Callable[[int], bytes], timeout: Timeout,
                   progress: Optional[Callable[[int], object]] = None) -> int:
        """Pipelined write (:func:`smb.transfer.write_from`): calls ``source(n)`` for up to
        ``n`` bytes until it returns b''. Returns the number of bytes written."""
        from smb import transfer

        return transfer.write_from(self, tree, file_id, offset, source, timeout, progress)

    # --- the per-engine half of the pipelined transfers (smb.transfer) -------------------
    #: bytes per READ / WRITE request and requests in flight per transfer
    read_chunk: int = 65536
    write_chunk: int = 65536
    read_window: int = 1
    write_window: int = 1
    #: whether a READ of ``read_chunk`` bytes is known to be answered in full; while it is
    #: not (an SMB1 server may cap READs below it), a pipelined read sends its first READ
    #: alone and learns the cap from it (:func:`smb.transfer.read_to`)
    read_chunk_honoured: bool = True

    def cap_reads(self, honoured: int) -> None:
        """The server answered ``honoured`` bytes to a longer READ of a file that went on:
        it caps READs. Later READs on this connection ask that much, more of them in flight
        (:func:`smb.transfer.capped_sizes`)."""
        from smb import transfer

        self.read_chunk, self.read_window = transfer.capped_sizes(self.read_chunk, self.read_window,
                                                                  honoured)
        self.read_chunk_honoured = True

    @abc.abstractmethod
    def can_submit(self, nbytes: int) -> bool:
        """Whether a request moving ``nbytes`` can be sent now without waiting (credits,
        MID slots)."""

    @abc.abstractmethod
    def submit_read(self, tree: Tree, file_id: object, offset: int, length: int, timeout: Timeout):
        """Send one READ; returns a handle for :meth:`complete_read`."""

    @abc.abstractmethod
    def complete_read(self, handle, timeout: Timeout) -> Optional[memoryview]:
        """Wait for a READ: its data (valid until :meth:`release`), or None at end of file.
        OperationFailure for an error status; ProtocolError when it carries more than asked."""

    @abc.abstractmethod
    def submit_write(self, tree: Tree, file_id: object, offset: int, data, timeout: Timeout):
        """Send one WRITE of ``data`` (sent without a copy); returns a handle."""

    @abc.abstractmethod
    def complete_write(self, handle, timeout: Timeout) -> int:
        """Wait for a WRITE: the count the server wrote (at most what was sent)."""

    @abc.abstractmethod
    def release(self, handle) -> None:
        """The caller is done with what :meth:`complete_read` returned."""

    @abc.abstractmethod
    def abandon(self, handles, cancel: bool) -> None:
        """Give up on requests in flight: their answers are dropped when they come; with
        ``cancel`` (after a timeout) the server is asked to cancel them too."""

    # --- directories and information -------------------------------------------------------
    @abc.abstractmethod
    def list_directory(self, tree: Tree, path: str, pattern: str, timeout: Timeout) -> Iterator[memoryview]:
        """Yield the raw buffers of directory entries of class :attr:`listing_class`
        (FileIdBothDirectoryInformation, [MS-FSCC] 2.4.17, the same layout as SMB1
        SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO), one buffer per server response, until the
        listing ends (every page). An empty folder yields '.' and '..' as the
        server returns them. A missing path raises OperationFailure."""

    @abc.abstractmethod
    def query_info(self, tree: Tree, file_id: object, info_type: int, info_class: int,
                   timeout: Timeout, additional_information: int = 0,
                   output_buffer_length: int = 65536) -> bytes:
        """QUERY_INFO: INFO_FILE/INFO_FILESYSTEM with an [MS-FSCC] class, or INFO_SECURITY with
        ``additional_information`` (OWNER|GROUP|DACL... = 0x1|0x2|0x4) returning the
        self-relative security descriptor."""

    @abc.abstractmethod
    def set_info(self, tree: Tree, file_id: object, info_type: int, info_class: int,
                 data: bytes, timeout: Timeout) -> None: ...

    @abc.abstractmethod
    def rename(self, tree: Tree, old_path: str, new_path: str, timeout: Timeout,
               replace_if_exists: bool = False) -> None:
        """Rename (or move within the share) the file or folder ``old_path``: one round trip
        where the dialect allows (SMB2: CREATE + SET_INFO FileRenameInformation + CLOSE as a
        related compound; SMB1: SMB_COM_RENAME, or NT_RENAME for folders)."""

    @abc.abstractmethod
    def ioctl(self, tree: Tree, file_id: object, ctl_code: int, input_data: bytes,
              max_output: int, timeout: Timeout) -> bytes:
        """FSCTL on a file (SMB1: NT_TRANSACT_IOCTL). Returns the output buffer."""

    @abc.abstractmethod
    def transact_pipe(self, tree: Tree, file_id: object, data: bytes, timeout: Timeout) -> bytes:
        """Write ``data`` to a named pipe and read the whole reply (FSCTL_PIPE_TRANSCEIVE or
        SMB1 TRANSACTION TransactNmPipe; reads again while the server says BUFFER_OVERFLOW,
        at most :data:`MAX_PIPE_REPLY` bytes)."""

    # --- byte-range locks (smb.smb2.locks / smb.smb1.locks) ---------------------------------
    def lock(self, tree: Tree, file_id: object, offset: int, length: int, *, exclusive: bool = True,
             wait: Optional[float] = 0.0, timeout: Timeout) -> None:
        """Lock ``length`` bytes at ``offset`` of an open file, exclusive or shared. ``wait``
        0: fail at once on a conflict (STATUS_LOCK_NOT_GRANTED); seconds to wait for the
        range; None: wait without limit. A wait that runs out raises OperationFailure
        (STATUS_CANCELLED on SMB2, STATUS_FILE_LOCK_CONFLICT on SMB1)."""
        raise UnsupportedFeature("%s has no byte-range locks" % type(self).__name__)

    def unlock(self, tree: Tree, file_id: object, offset: int, length: int, timeout: Timeout) -> None:
        """Release the lock held on exactly that range (STATUS_RANGE_NOT_LOCKED if none)."""
        raise UnsupportedFeature("%s has no byte-range locks" % type(self).__name__)

    # --- server-side copy (smb.smb2.copychunk; SMB1 has none: smb.copy copies through the client)
    #: whether :meth:`request_resume_key` and :meth:`copy_chunks` work on this engine
    supports_copy_chunk: bool = False

    def request_resume_key(self, tree: Tree, file_id: object, timeout: Timeout) -> bytes:
        """FSCTL_SRV_REQUEST_RESUME_KEY of an open source file ([MS-SMB2] 3.2.4.20.1)."""
        raise UnsupportedFeature("%s has no server-side copy" % type(self).__name__)

    def copy_chunks(self, tree: Tree, file_id: object, resume_key: bytes, chunks, timeout: Timeout):
        """FSCTL_SRV_COPYCHUNK_WRITE of ``chunks`` into an open target ([MS-SMB2] 3.2.4.20.2)."""
        raise UnsupportedFeature("%s has no server-side copy" % type(self).__name__)

    def open_pipe(self, tree: Tree, name: str, messages, timeout: Timeout):
        """Open the named pipe ``name`` and exchange each of ``messages`` in order
        (:meth:`transact_pipe`). Returns ``(OpenResult, replies)``; the pipe stays open.
        Engines that can batch (SMB2 compounds) do it in one round trip."""
        opened = self.create(tree, name, desired_access=PIPE_ACCESS, share_access=3, timeout=timeout)
        try:
            replies = [self.transact_pipe(tree, opened.file_id, m, timeout) for m in messages]
        except BaseException:
            self.close_after_failure(tree, opened.file_id, timeout)
            raise
        return opened, replies


def _guard(method):
    """The engine contract around one operation (see :class:`Engine`)."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def generator(self, *args, **kwargs):
            try:
                for item in method(self, *args, **kwargs):
                    self.end_of_operation()  # the caller may take its time with the item
                    yield item
            except ProtocolError as e:
                raise self.abort(e)
            finally:
                self.end_of_operation()
        generator._guarded = True
        return generator

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except ProtocolError as e:
            raise self.abort(e)
        finally:
            self.end_of_operation()
    guarded._guarded = True
    return guarded
