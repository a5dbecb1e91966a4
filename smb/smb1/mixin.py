"""The base of the SMB1 engine's feature mixins (:mod:`smb.smb1.locks`, ``notify``,
``security``, ``chains``): what they use of :class:`smb.smb1.engine.SMB1Engine`, declared once for the
type checker. At run time it is an empty class."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from smb.smb1.connection import Connection


class EngineMixin:
    if TYPE_CHECKING:  # provided by SMB1Engine and smb.engine.Engine
        conn: Connection
        capabilities: int
        unicode: bool
        max_read_size: int
        max_write_size: int
        max_transact_size: int
        close_after_failure: Callable[..., None]
        create: Callable[..., Any]
        close_file: Callable[..., None]
        read: Callable[..., bytes]
        write: Callable[..., int]
        _response: Callable[..., Any]
        _do_close: Callable[..., Any]
        _open_do_close: Callable[..., Any]
