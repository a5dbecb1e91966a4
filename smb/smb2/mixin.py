"""The base of the SMB2 engine's feature mixins (:mod:`smb.smb2.fileops`, ``locks``,
``notify``, ``copychunk``, ``security``): what they use of :class:`smb.smb2.engine.SMB2Engine`
and :class:`smb.engine.Engine`, declared once for the type checker. At run time it is an
empty class."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, List, Optional

if TYPE_CHECKING:
    from smb.engine import Tree
    from smb.errors import OperationFailure
    from smb.smb2.connection import Connection, Request
    from smb.smb2.session import Session


class EngineMixin:
    if TYPE_CHECKING:  # provided by SMB2Engine and smb.engine.Engine
        conn: Connection
        session: Optional[Session]
        dialect: int
        cipher_id: Optional[int]
        multi_credit: bool
        max_read_size: int
        max_write_size: int
        max_transact_size: int
        charge: Callable[[int], int]
        _send: Callable[..., Request]
        _call: Callable[..., Request]
        _compound: Callable[..., List[Request]]
        _check: Callable[..., None]
        failure: Callable[..., OperationFailure]
        close_after_failure: Callable[..., None]
        ioctl: Callable[..., bytes]
        _unc: Callable[[str], str]
        _start_encryption: Callable[[], None]
        _connected_tree: Callable[..., Tree]
