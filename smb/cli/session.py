"""Credentials and connections for the command line.

The password comes from ``--password-file``, else the ``SMB_PASSWORD`` environment variable,
else an interactive prompt (only on a terminal); it is never taken from the command line.
A URL without a user name means an anonymous (null) session. One connection per server
(host, port, user, domain) is opened on first use and reused by the rest of the command.
"""

from __future__ import annotations

import getpass
import inspect
import os
import socket
import stat
import sys
from typing import Dict, Optional

from smb import smb_structs
from smb.cli.exitcodes import CLIError, ExitCode
from smb.cli.url import SMBURL
from smb.SMBConnection import SMBConnection

PASSWORD_ENV = "SMB_PASSWORD"
DIRECT_TCP_PORT = 445
NETBIOS_PORT = 139


def read_password(options, url: SMBURL, stdin=None, prompt=getpass.getpass) -> str:
    """The password for ``url``'s user, from the first source that has one."""
    stdin = stdin if stdin is not None else sys.stdin
    if not url.user:
        return ""  # anonymous (null) session
    if options.password_file:
        return _password_from_file(options.password_file, stdin)
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    if options.kerberos:
        return ""  # the Kerberos credential cache authenticates
    if _can_prompt(stdin):
        who = "%s\\%s" % (url.domain, url.user) if url.domain else url.user
        return prompt("Password for %s@%s: " % (who, url.host))
    raise CLIError("no password for %s: set %s, use --password-file FILE, or run on a terminal "
                   "to be prompted" % (url.user, PASSWORD_ENV), ExitCode.USAGE)


def _can_prompt(stdin) -> bool:
    """A person can be asked: standard input is a terminal, or there is a controlling
    terminal (which getpass uses, as ssh and sudo do, when standard input carries data)."""
    if stdin is not None and stdin.isatty():
        return True
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | getattr(os, "O_NOCTTY", 0)))
        return True
    except OSError:
        return False


def _password_from_file(path: str, stdin) -> str:
    """The first line of ``path`` ('-' reads standard input), without its line ending."""
    if path == "-":
        return stdin.readline().rstrip("\r\n")
    with open(path, encoding="utf-8") as f:
        if os.name == "posix" and stat.S_IMODE(os.fstat(f.fileno()).st_mode) & 0o077:
            print("warning: password file %s is readable by other users (chmod 600 it)" % path,
                  file=sys.stderr)
        return f.readline().rstrip("\r\n")


def accepts_keyword(name: str) -> bool:
    """True when ``SMBConnection(...)`` takes the keyword ``name`` (e.g. ``use_kerberos``)."""
    return name in inspect.signature(SMBConnection).parameters


def _netbios_names(host: str, server_name: Optional[str]):
    mine = (socket.gethostname().split(".")[0] or "SMBPY")[:15].upper()
    if server_name:
        return mine, server_name
    is_address = ":" in host or host.replace(".", "").isdigit()
    return mine, "*SMBSERVER" if is_address else host.split(".")[0][:15].upper()


_KERBEROS_OPTIONS = (("realm", "realm"), ("kdc", "kdc"), ("ccache", "ccache"), ("keytab", "keytab"),
                     ("spn", "service_principal"))


def kerberos_arguments(options) -> dict:
    """The SMBConnection keyword arguments of ``-k`` and its options; CLIError (usage) for
    Kerberos options without ``-k``."""
    if not options.kerberos:
        if options.ntlm_fallback or any(getattr(options, o) for o, _ in _KERBEROS_OPTIONS):
            raise CLIError("--realm, --kdc, --ccache, --keytab, --spn and --ntlm-fallback need -k",
                           ExitCode.USAGE)
        return {}
    if not accepts_keyword("use_kerberos"):
        raise CLIError("--kerberos: this version of the library has no Kerberos support", ExitCode.USAGE)
    kwargs = {"use_kerberos": True, "ntlm_fallback": options.ntlm_fallback}
    for option, keyword in _KERBEROS_OPTIONS:
        if getattr(options, option):
            kwargs[keyword] = getattr(options, option)
    return kwargs


def open_connection(url: SMBURL, options, password: str) -> SMBConnection:
    """A connected, authenticated :class:`SMBConnection` to ``url``'s server."""
    kwargs = kerberos_arguments(options)
    if options.encrypt:
        kwargs["require_encryption"] = True
    port = url.port or (NETBIOS_PORT if options.netbios else DIRECT_TCP_PORT)
    direct = not options.netbios and port != NETBIOS_PORT
    my_name, remote_name = _netbios_names(url.host, options.server_name)
    conn = SMBConnection(url.user, password, my_name, remote_name, domain=url.domain,
                         is_direct_tcp=direct, **kwargs)
    family = socket.AF_INET6 if ":" in url.host else socket.AF_INET
    saved = smb_structs.SUPPORT_SMB2
    smb_structs.SUPPORT_SMB2 = not options.smb1
    try:
        ok = conn.connect(url.host, port, sock_family=family, timeout=options.timeout)
    finally:
        smb_structs.SUPPORT_SMB2 = saved
    if not ok:
        raise CLIError("authentication failed for %s on %s" % (url.user or "(anonymous)", url.host),
                       ExitCode.AUTH)
    return conn


class Connections:
    """One open connection per server for the duration of a command."""

    def __init__(self, options, stdin=None):
        self.options = options
        self.stdin = stdin
        self._open: Dict[tuple, SMBConnection] = {}

    def get(self, url: SMBURL) -> SMBConnection:
        conn = self._open.get(url.server)
        if conn is None:
            kerberos_arguments(self.options)  # a usage error before any password prompt
            password = read_password(self.options, url, self.stdin)
            conn = self._open[url.server] = open_connection(url, self.options, password)
        return conn

    def close(self) -> None:
        for conn in self._open.values():
            conn.close()
        self._open.clear()
