"""Watching a directory for changes: ``SMBConnection.watchDirectory``.

The engines keep one change notification request outstanding on an open of the directory
(SMB2 CHANGE_NOTIFY, [MS-SMB2] 2.2.35 / 3.2.4.18: :mod:`smb.smb2.notify`; SMB1
NT_TRANSACT_NOTIFY_CHANGE, [MS-CIFS] 2.2.7.4: :mod:`smb.smb1.notify`); this module opens and
closes the directory, decodes the answers (FILE_NOTIFY_INFORMATION, [MS-FSCC] 2.7.1) and hands
them over one :class:`Change` at a time. Completion filter bits: [MS-SMB2] 2.2.35 /
[MS-FSCC] 2.7.1 actions.

Memory is bounded: each answer is at most the buffer the client asked for (64 KiB) and the
next request is sent only when the previous answer arrived, so a server (or a busy share)
can make the watcher hold at most one answer's changes.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import List, NamedTuple

from smb import fscc
from smb.engine import CLOSE_AFTER_FAILURE_TIMEOUT, Timeout
from smb.errors import ProtocolError

# --- CompletionFilter ([MS-SMB2] 2.2.35) --------------------------------------------------
FILE_NOTIFY_CHANGE_FILE_NAME = 0x00000001
FILE_NOTIFY_CHANGE_DIR_NAME = 0x00000002
FILE_NOTIFY_CHANGE_ATTRIBUTES = 0x00000004
FILE_NOTIFY_CHANGE_SIZE = 0x00000008
FILE_NOTIFY_CHANGE_LAST_WRITE = 0x00000010
FILE_NOTIFY_CHANGE_LAST_ACCESS = 0x00000020
FILE_NOTIFY_CHANGE_CREATION = 0x00000040
FILE_NOTIFY_CHANGE_EA = 0x00000080
FILE_NOTIFY_CHANGE_SECURITY = 0x00000100
FILE_NOTIFY_CHANGE_STREAM_NAME = 0x00000200
FILE_NOTIFY_CHANGE_STREAM_SIZE = 0x00000400
FILE_NOTIFY_CHANGE_STREAM_WRITE = 0x00000800
#: names appearing, disappearing or renamed, and files written to: the default filter
DEFAULT_FILTER = (FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_DIR_NAME
                  | FILE_NOTIFY_CHANGE_SIZE | FILE_NOTIFY_CHANGE_LAST_WRITE)

# --- Action ([MS-FSCC] 2.7.1) ---------------------------------------------------------------
#: not a server action: the server dropped changes (STATUS_NOTIFY_ENUM_DIR, or an empty
#: answer); list the directory again to learn its state
FILE_ACTION_RESCAN = 0x00000000
FILE_ACTION_ADDED = 0x00000001
FILE_ACTION_REMOVED = 0x00000002
FILE_ACTION_MODIFIED = 0x00000003
FILE_ACTION_RENAMED_OLD_NAME = 0x00000004
FILE_ACTION_RENAMED_NEW_NAME = 0x00000005
FILE_ACTION_ADDED_STREAM = 0x00000006
FILE_ACTION_REMOVED_STREAM = 0x00000007
FILE_ACTION_MODIFIED_STREAM = 0x00000008
FILE_ACTION_REMOVED_BY_DELETE = 0x00000009
FILE_ACTION_ID_NOT_TUNNELLED = 0x0000000A
FILE_ACTION_TUNNELLED_ID_COLLISION = 0x0000000B

ACTION_NAMES = {v: k[12:].lower() for k, v in list(globals().items()) if k.startswith("FILE_ACTION_")}

_ENTRY = struct.Struct("<III")  # NextEntryOffset, Action, FileNameLength
#: the directory open: list it (needed for notifications) and share it with everyone
_WATCH_ACCESS = fscc.FILE_LIST_DIRECTORY | fscc.FILE_READ_ATTRIBUTES | fscc.SYNCHRONIZE


class Change(NamedTuple):
    """One change: ``action`` (a FILE_ACTION_* value) and ``name``, the path relative to the
    watched directory ('\\'-separated below it with ``recursive``; '' for
    FILE_ACTION_RESCAN)."""

    action: int
    name: str

    @property
    def action_name(self) -> str:
        return ACTION_NAMES.get(self.action, "0x%X" % self.action)


RESCAN = Change(FILE_ACTION_RESCAN, "")


def parse_notify_information(buf) -> List[Change]:
    """The FILE_NOTIFY_INFORMATION chain of ``buf`` ([MS-FSCC] 2.7.1). Entries must lie in the
    buffer and follow each other (NextEntryOffset moves forward); names are checked so that
    callers may join them to the watched path."""
    mv = memoryview(buf)
    n = len(mv)
    out = []
    pos = 0
    while n:
        if pos + _ENTRY.size > n:
            raise ProtocolError("FILE_NOTIFY_INFORMATION at %d truncated (%d bytes)" % (pos, n))
        nxt, action, length = _ENTRY.unpack_from(mv, pos)
        end = pos + _ENTRY.size + length
        if length & 1 or end > n or (nxt and pos + nxt < end):
            raise ProtocolError("malformed FILE_NOTIFY_INFORMATION at %d" % pos)
        name = bytes(mv[pos + _ENTRY.size:end]).decode("utf-16-le", "surrogatepass")
        _check_name(name)
        out.append(Change(action, name))
        if nxt == 0:
            break
        pos += nxt
    return out


def _check_name(name: str) -> None:
    parts = name.split("\\")
    if not name or "\0" in name or "/" in name or any(p in ("", ".", "..") for p in parts):
        raise ProtocolError("change notification with an invalid name %r" % name[:100])


class DirectoryWatch:
    """The iterator ``SMBConnection.watchDirectory`` returns: the folder is open and the
    first request armed when it is created, so every change after that is reported. Use it
    in a ``for`` loop or a ``with`` block; ``close()`` (also on ``break`` followed by garbage
    collection, or leaving the ``with`` block) cancels the request and closes the folder."""

    def __init__(self, conn, service_name: str, path: str, completion_filter: int,
                 recursive: bool, timeout):
        from smb.operations import normalize_path

        self._conn, self._service, self._path = conn, service_name, path
        self._wait = wait = Timeout(timeout)
        self._engine = engine = conn._need_engine()
        self._pending: deque = deque()
        self._answers = None
        with conn._failure("watch", service_name, path):
            self._tree = conn._tree(service_name, wait)
            opened = engine.create(self._tree, normalize_path(path), desired_access=_WATCH_ACCESS,
                                   share_access=7, create_options=fscc.FILE_DIRECTORY_FILE,
                                   timeout=wait)
            self._file_id = opened.file_id
            try:
                self._answers = engine.notify_changes(self._tree, opened.file_id, completion_filter,
                                                      recursive, wait)
            except BaseException:
                self._close_handle()
                raise

    def __iter__(self):
        return self

    def __next__(self) -> Change:
        while not self._pending:
            if self._answers is None:
                raise StopIteration
            try:
                with self._conn._failure("watch", self._service, self._path):
                    _status, raw = next(self._answers)
                    self._pending.extend(parse_notify_information(raw) if raw else [RESCAN])
            except BaseException:
                self.close()
                raise
        return self._pending.popleft()

    def close(self) -> None:
        """Cancel the request outstanding and close the folder (idempotent)."""
        answers, self._answers = self._answers, None
        if answers is not None:
            try:
                answers.close()
            finally:
                self._close_handle()

    def _close_handle(self) -> None:
        self._engine.close_after_failure(self._tree, self._file_id,
                                         Timeout(CLOSE_AFTER_FAILURE_TIMEOUT))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
