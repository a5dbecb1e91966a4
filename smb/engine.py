"""The operation interface shared by the SMB1 and SMB2/3 engines.

``SMBConnection`` (the facade) is written once over this interface; each dialect family has
one engine implementing it (``smb.smb2.engine.SMB2Engine``, ``smb.smb1.engine.SMB1Engine``).

Conventions, for every engine:

* Paths are relative to the share, components separated by backslashes, no leading
  backslash (``"dir\\file.txt"``; the share root is ``""``). The facade normalises them.
* Every blocking method takes ``deadline``: an absolute ``time.monotonic()`` value. The
  engine raises :class:`smb.errors.SMBTimeout` once it passes (after trying to cancel what is
  outstanding where the protocol allows).
* A server error status raises :class:`smb.errors.OperationFailure` with ``status`` set to the
  NTSTATUS (SMB1 DOS error classes are mapped to NTSTATUS) and ``smb_messages`` holding
  the request and response records (``smb.records``: pysmb's ``SMBMessage`` / ``SMB2Message``) of the failed operation. The
  facade re-raises with a message naming the operation and the path.
* Malformed, unsigned-where-required or forged server data raises
  :class:`smb.errors.ProtocolError`; after that the connection is unusable (``NotConnectedError``
  on the next call).
* Information classes, access masks, create options and dispositions are those of
  [MS-FSCC] and [MS-SMB2] 2.2.13; the SMB1 engine maps them (NT_CREATE_ANDX takes the same
  values; file information classes go through the SMB_INFO_PASSTHROUGH levels, 0x03E8 + class).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

from smb import fscc

# [MS-SMB2] 2.2.37 InfoType
INFO_FILE = 0x01
INFO_FILESYSTEM = 0x02
INFO_SECURITY = 0x03
INFO_QUOTA = 0x04

#: named pipe access
PIPE_ACCESS = fscc.FILE_READ_DATA | fscc.FILE_WRITE_DATA | fscc.FILE_READ_ATTRIBUTES | fscc.SYNCHRONIZE


@dataclass
class ClientConfig:
    """Everything the engines need to know about the client, filled in by the facade."""

    username: str
    #: str, or a callable returning str (pysmb accepts both); kept out of repr()
    password: object = field(repr=False)
    domain: str = ""
    my_name: str = ""
    remote_name: str = ""
    use_ntlm_v2: bool = True
    sign_options: int = 2  # SIGN_NEVER=0, SIGN_WHEN_SUPPORTED=1, SIGN_WHEN_REQUIRED=2
    require_encryption: bool = False  # client insists on SMB3 encryption (issue #5)
    support_smb2: bool = True  # smb.smb_structs.SUPPORT_SMB2, read at connect time
    support_smb2x: bool = True  # smb.smb_structs.SUPPORT_SMB2x
    extended_security: bool = True  # smb.smb_structs.SUPPORT_EXTENDED_SECURITY (SMB1 only)
    dialects: Optional[tuple] = None  # restrict SMB2 dialects (e.g. (0x0202, 0x0210)); None = all
    #: SMB3 ciphers the client accepts, most preferred first ([MS-SMB2] 2.2.3.1.2 ids: 1
    #: AES-128-CCM, 2 AES-128-GCM, 3 AES-256-CCM, 4 AES-256-GCM); None = all. 3.0/3.0.2 only
    #: know AES-128-CCM: without it they cannot encrypt.
    ciphers: Optional[tuple] = None
    #: signing algorithms the client accepts, most preferred first ([MS-SMB2] 2.2.3.1.7 ids: 0
    #: HMAC-SHA256, 1 AES-CMAC, 2 AES-GMAC); None = all. Dialects whose only algorithm is
    #: excluded are not offered (no HMAC-SHA256: no 2.0.2/2.1; no AES-CMAC: no 3.0/3.0.2).
    signing_algorithms: Optional[tuple] = None


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


class Engine(abc.ABC):
    """One authenticated SMB session on one transport."""

    #: True for SMB2/3, False for SMB1 (drives ``SMBConnection.isUsingSMB2``).
    is_smb2: bool = False
    #: negotiated dialect: 0x0202, 0x0210, 0x0300, 0x0302, 0x0311; 0x0001 for SMB1 NT LM 0.12
    dialect: int = 0
    #: largest payload for a single read / write / transact, as negotiated
    max_read_size: int = 65536
    max_write_size: int = 65536
    max_transact_size: int = 65536
    #: the [MS-FSCC] information class of the buffers :meth:`list_directory` yields:
    #: FileIdBothDirectoryInformation (37), or FileBothDirectoryInformation (3) on an SMB1
    #: server without SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO; parse with fscc.DIRECTORY_PARSERS
    listing_class: int = fscc.FileIdBothDirectoryInformation

    # --- session ---------------------------------------------------------------
    @abc.abstractmethod
    def authenticate(self, deadline: float) -> bool:
        """Session setup with the config's credentials. False when the server rejects them
        (STATUS_LOGON_FAILURE and friends); other failures raise."""

    @abc.abstractmethod
    def logoff(self, deadline: float, wait: bool = True) -> None:
        """End the session (and with it its tree connects). ``wait=False`` sends the LOGOFF
        without waiting for its answer: for a client about to close the connection."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the transport; never raises."""

    @abc.abstractmethod
    def echo(self, data: bytes, deadline: float) -> bytes:
        """SMB1 ECHO returns ``data``; SMB2 ECHO carries no data, so the engine returns ``data``
        after a successful round trip."""

    # --- trees -------------------------------------------------------------------
    @abc.abstractmethod
    def tree_connect(self, share: str, deadline: float) -> Tree:
        """``share`` is the bare share name (``"IPC$"``, ``"public"``)."""

    @abc.abstractmethod
    def tree_disconnect(self, tree: Tree, deadline: float) -> None: ...

    # --- opens -------------------------------------------------------------------
    @abc.abstractmethod
    def create(self, tree: Tree, path: str, *, desired_access: int, file_attributes: int = 0,
               share_access: int = 7, create_disposition: int = 1, create_options: int = 0,
               deadline: float) -> OpenResult:
        """NT create ([MS-SMB2] 2.2.13 values; disposition 1 = FILE_OPEN)."""

    @abc.abstractmethod
    def close_file(self, tree: Tree, file_id: object, deadline: float) -> None: ...

    @abc.abstractmethod
    def read(self, tree: Tree, file_id: object, offset: int, length: int, deadline: float) -> bytes:
        """One read of at most ``max_read_size`` bytes; b'' at end of file."""

    @abc.abstractmethod
    def read_to(self, tree: Tree, file_id: object, offset: int, length: int,
                sink: Callable[[memoryview], object], deadline: float,
                progress: Optional[Callable[[int], object]] = None,
                size_hint: Optional[int] = None) -> int:
        """Pipelined read of ``length`` bytes (``-1``: to end of file) starting at ``offset``.

        Keeps several reads in flight, calls ``sink`` with consecutive chunks in file order
        (the memoryview is only valid during the call) and ``progress(nbytes)`` after each.
        Returns the number of bytes delivered; stops early at end of file. Memory stays
        bounded by the window, whatever the file size. ``size_hint``: the file size the open
        reported; a short read ending before it is not taken for the end of file unless a
        read of the missing part confirms it."""

    @abc.abstractmethod
    def write_from(self, tree: Tree, file_id: object, offset: int,
                   source: Callable[[int], bytes], deadline: float,
                   progress: Optional[Callable[[int], object]] = None) -> int:
        """Pipelined write: calls ``source(n)`` for up to ``n`` bytes until it returns b''.
        Returns the number of bytes written (the next offset is ``offset + result``)."""

    @abc.abstractmethod
    def list_directory(self, tree: Tree, path: str, pattern: str, deadline: float) -> Iterator[memoryview]:
        """Yield the raw buffers of directory entries of class :attr:`listing_class`
        (FileIdBothDirectoryInformation, [MS-FSCC] 2.4.17, the same layout as SMB1
        SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO), one buffer per server response, until the
        listing ends (every page). An empty folder yields '.' and '..' as the
        server returns them. A missing path raises OperationFailure."""

    @abc.abstractmethod
    def query_info(self, tree: Tree, file_id: object, info_type: int, info_class: int,
                   deadline: float, additional_information: int = 0,
                   output_buffer_length: int = 65536) -> bytes:
        """QUERY_INFO: INFO_FILE/INFO_FILESYSTEM with an [MS-FSCC] class, or INFO_SECURITY with
        ``additional_information`` (OWNER|GROUP|DACL... = 0x1|0x2|0x4) returning the
        self-relative security descriptor."""

    @abc.abstractmethod
    def set_info(self, tree: Tree, file_id: object, info_type: int, info_class: int,
                 data: bytes, deadline: float) -> None: ...

    @abc.abstractmethod
    def ioctl(self, tree: Tree, file_id: object, ctl_code: int, input_data: bytes,
              max_output: int, deadline: float) -> bytes:
        """FSCTL on a file (SMB1: NT_TRANSACT_IOCTL). Returns the output buffer."""

    @abc.abstractmethod
    def transact_pipe(self, tree: Tree, file_id: object, data: bytes, deadline: float) -> bytes:
        """Write ``data`` to a named pipe and read the whole reply (FSCTL_PIPE_TRANSCEIVE or
        SMB1 TRANSACTION TransactNmPipe; reads again while the server says BUFFER_OVERFLOW)."""

    def open_pipe(self, tree: Tree, name: str, messages, deadline: float):
        """Open the named pipe ``name`` and exchange each of ``messages`` in order
        (:meth:`transact_pipe`). Returns ``(OpenResult, replies)``; the pipe stays open.
        Engines that can batch (SMB2 compounds) do it in one round trip."""
        opened = self.create(tree, name, desired_access=PIPE_ACCESS, share_access=3,
                             deadline=deadline)
        try:
            replies = [self.transact_pipe(tree, opened.file_id, m, deadline) for m in messages]
        except BaseException:
            try:
                self.close_file(tree, opened.file_id, deadline)
            except Exception:
                pass
            raise
        return opened, replies

    def rename_information(self, new_path: str, replace_if_exists: bool = False) -> bytes:
        """The FileRenameInformation buffer this dialect expects ([MS-FSCC] 2.4.37; SMB2
        uses the 64-bit RootDirectory layout, SMB1 passthrough the 32-bit one)."""
        return fscc.rename_information(new_path, replace_if_exists, wide_root=self.is_smb2)
