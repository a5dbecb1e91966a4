"""``smb://`` URLs: ``smb://[domain;]user@host[:port]/share/path``.

The form follows the SMB URI draft (draft-crhertel-smb-url): user information before ``@``,
an optional domain before ``;``, the share as the first path segment. Percent escapes are
decoded in the user information and the path (write a literal ``%`` as ``%25``). A password
in the URL (``user:password@``) is refused: command lines show up in process listings and
shell histories.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Tuple
from urllib.parse import quote, unquote

SCHEME = "smb://"
WILDCARDS = frozenset("*?")


class URLError(ValueError):
    """Not a usable ``smb://`` URL (the message says why; it never contains a password)."""


@dataclass(frozen=True)
class SMBURL:
    host: str
    port: Optional[int] = None
    user: str = ""
    domain: str = ""
    share: str = ""
    #: path inside the share, segments joined with '/', no leading or trailing '/'
    path: str = ""

    @property
    def server(self) -> Tuple[str, Optional[int], str, str]:
        """What identifies one connection: (host, port, user, domain)."""
        return self.host, self.port, self.user, self.domain

    @property
    def name(self) -> str:
        """The last path segment (the share's name at the share's root)."""
        return self.path.rpartition("/")[2] if self.path else self.share

    @property
    def parent(self) -> "SMBURL":
        return replace(self, path=self.path.rpartition("/")[0])

    def child(self, name: str) -> "SMBURL":
        return replace(self, path=self.path + "/" + name if self.path else name)

    def has_wildcard(self) -> bool:
        return bool(WILDCARDS & set(self.name)) if self.path else False

    def __str__(self) -> str:
        who = ""
        if self.user:
            who = (quote(self.domain, safe="") + ";" if self.domain else "") + \
                quote(self.user, safe="") + "@"
        host = "[%s]" % self.host if ":" in self.host else self.host
        port = ":%d" % self.port if self.port is not None else ""
        rest = "/".join(quote(p) for p in [self.share] + self.path.split("/") if p)
        return "%s%s%s%s/%s" % (SCHEME, who, host, port, rest)


def is_url(text: str) -> bool:
    return text[:len(SCHEME)].lower() == SCHEME


def parse_url(text: str) -> SMBURL:
    """Parse ``smb://[domain;]user@host[:port]/share/path``; raise :class:`URLError`."""
    if not is_url(text):
        raise URLError("not an smb:// URL: %r" % text)
    authority, _, rest = text[len(SCHEME):].partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        userinfo, hostport = "", authority
    domain, user = _split_userinfo(userinfo)
    host, port = _split_hostport(hostport)
    segments = _path_segments(unquote(rest))
    share, path = (segments[0], "/".join(segments[1:])) if segments else ("", "")
    return SMBURL(host=host, port=port, user=user, domain=domain, share=share, path=path)


def _split_userinfo(userinfo: str) -> Tuple[str, str]:
    if ":" in userinfo:
        raise URLError("a password in the URL is not accepted (it would be visible in process "
                       "listings): use the SMB_PASSWORD environment variable, --password-file "
                       "or the prompt")
    domain, semi, user = userinfo.partition(";")
    if not semi:
        domain, user = "", userinfo
    return unquote(domain), unquote(user)


def _split_hostport(hostport: str) -> Tuple[str, Optional[int]]:
    if hostport.startswith("["):  # [IPv6 address]
        host, close, tail = hostport[1:].partition("]")
        if not close or (tail and not tail.startswith(":")):
            raise URLError("bad IPv6 address in URL: %r" % hostport)
        port_text = tail[1:] if tail else None
    else:
        host, colon, port_text = hostport.partition(":")
        port_text = port_text if colon else None
    if not host:
        raise URLError("the URL names no host")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise URLError("bad port in URL: %r" % port_text)
    return host, int(port_text)


def _path_segments(path: str):
    """'/a/./b//c/../d' -> ['a', 'b', 'd']; '..' above the share's root is an error."""
    out: list[str] = []
    for seg in path.replace("\\", "/").split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if len(out) < 2:  # would leave the share
                raise URLError("'..' leads outside the share in %r" % path)
            out.pop()
        else:
            out.append(seg)
    return out
