"""``smb://`` URLs for :mod:`urllib.request`, as pysmb has them.

URL form: ``smb://[domain;]user:password@[server_name,]host[:port]/share/path``. Opening a
URL downloads the file into a spooled temporary file; passing ``data=`` (a file object or
bytes) uploads it instead. Port 445 (or ``IS_DIRECT_TCP``) uses direct TCP, anything else
NetBIOS session service. Without a server name in the URL, the host is asked for it
(``NetBIOS.queryIPForName``, as pysmb does) when NetBIOS session service is used; a host
that does not answer is called ``*SMBSERVER``.

Kerberos (not in pysmb): ``?auth=kerberos`` authenticates with Kerberos instead of NTLM,
with the optional ``realm``, ``kdc``, ``ccache``, ``keytab`` and ``spn`` (the service
principal) parameters and ``ntlm_fallback=1`` (see ``docs/kerberos.rst``), e.g.
``smb://alice@fs1.example.com:445/share/f.txt?auth=kerberos&ccache=/tmp/krb5cc_1000``.

Example::

    import urllib.request
    from smb.SMBHandler import SMBHandler

    opener = urllib.request.build_opener(SMBHandler)
    with opener.open("smb://user:secret@192.0.2.10/share/dir/file.txt") as fh:
        data = fh.read()
"""

from __future__ import annotations

import email.message
import io
import mimetypes
import os
import socket
import tempfile
import urllib.error
import urllib.request
import urllib.response
from urllib.parse import parse_qs, unquote, urlparse

from nmb.NetBIOS import NetBIOS
from smb.SMBConnection import SMBConnection

#: NTLMv2 (True) or NTLMv1 (False)
USE_NTLM = True
#: this machine's NetBIOS name; None: :meth:`SMBHandler.generateClientMachineName`
MACHINE_NAME = None
#: always use direct TCP, whatever the port (not in pysmb)
IS_DIRECT_TCP = False
#: where and how long to ask a host for its NetBIOS name when the URL names no server
#: (not in pysmb, which always asks port 137 for up to 30 s)
NETBIOS_PORT = 137
NAME_QUERY_TIMEOUT = 5


def parse_smb_url(url):
    """Split an ``smb://`` URL into its parts (a dict); raises ``urllib.error.URLError``.
    ``server_name`` is '' when the URL names no server."""
    parsed = urlparse(url)
    if parsed.scheme.lower() != "smb":
        raise urllib.error.URLError("not an smb:// URL: %r" % redact_url(url))
    userinfo, _, hostport = parsed.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    domain = ""
    if ";" in user:
        domain, _, user = user.partition(";")
    server_name = ""
    if "," in hostport:
        server_name, _, hostport = hostport.partition(",")
    host, port = hostport, None
    try:
        if hostport.startswith("["):  # IPv6 literal
            end = hostport.find("]")
            host, rest = hostport[1:end], hostport[end + 1:]
            if rest.startswith(":"):
                port = int(rest[1:])
        elif ":" in hostport:
            host, _, p = hostport.rpartition(":")
            port = int(p)
    except ValueError:
        raise urllib.error.URLError("bad port in smb:// URL %r" % redact_url(url)) from None
    if not host:
        raise urllib.error.URLError("SMB error: no host given")
    parts = [unquote(p) for p in parsed.path.split("/") if p]
    if not parts:
        raise urllib.error.URLError("smb:// URL names no share: %r" % redact_url(url))
    return {
        "kerberos": _kerberos_options(parsed.query, url),
        "domain": unquote(domain), "user": unquote(user), "password": unquote(password),
        "server_name": unquote(server_name), "host": host, "port": port,
        "share": parts[0], "path": "/" + "/".join(parts[1:]),
    }


#: query parameter -> SMBConnection keyword argument (for ``auth=kerberos``)
_KERBEROS_PARAMETERS = {"realm": "realm", "kdc": "kdc", "ccache": "ccache", "keytab": "keytab",
                        "spn": "service_principal"}


def _kerberos_options(query: str, url: str) -> dict:
    """The SMBConnection keyword arguments the URL's query asks for ({} for NTLM)."""
    try:
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True, strict_parsing=bool(query),
                                                 max_num_fields=16).items()}
    except ValueError:
        raise urllib.error.URLError("bad query in smb:// URL %r" % redact_url(url)) from None
    unknown = set(params) - set(_KERBEROS_PARAMETERS) - {"auth", "ntlm_fallback"}
    if unknown:
        raise urllib.error.URLError("unknown parameter %s in smb:// URL" % ", ".join(sorted(unknown)))
    auth = params.get("auth", "ntlm").lower()
    if auth not in ("ntlm", "kerberos"):
        raise urllib.error.URLError("auth=%s in smb:// URL: use ntlm or kerberos" % auth)
    if auth == "ntlm":
        if len(params) > ("auth" in params):
            raise urllib.error.URLError("Kerberos parameters in an smb:// URL without auth=kerberos")
        return {}
    kwargs: dict[str, object] = {"use_kerberos": True,
              "ntlm_fallback": params.get("ntlm_fallback", "0").lower() in ("1", "yes", "true")}
    for name, keyword in _KERBEROS_PARAMETERS.items():
        if params.get(name):
            kwargs[keyword] = params[name]
    return kwargs


def redact_url(url: str) -> str:
    """``url`` with the password of its user information replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return scheme + sep + userinfo + at + hostport + slash + tail


class SMBHandler(urllib.request.BaseHandler):
    """A urllib handler for the ``smb`` scheme (register with ``build_opener``).

    Every failure, from name resolution to the file transfer, raises
    ``urllib.error.URLError``; its message never contains the URL's password."""

    def smb_open(self, req):
        url = req.get_full_url()
        try:
            return self._open(req, url)
        except urllib.error.URLError:
            raise
        except Exception as e:
            raise urllib.error.URLError("smb error: %s" % e) from e

    def _open(self, req, url):
        parts = parse_smb_url(url)
        port = parts["port"] or 139
        direct = IS_DIRECT_TCP or port == 445
        server_name = parts["server_name"] or self._server_name(parts["host"], direct)
        conn = SMBConnection(parts["user"], parts["password"], MACHINE_NAME or self.generateClientMachineName(),
                             server_name, domain=parts["domain"], use_ntlm_v2=USE_NTLM,
                             is_direct_tcp=direct, **parts["kerberos"])
        try:
            # urllib's default timeout is a sentinel object, not a number
            timeout = req.timeout if isinstance(req.timeout, (int, float)) and req.timeout else 60
            if not conn.connect(parts["host"], port, timeout=timeout):
                raise urllib.error.URLError("smb error: authentication failed for %s" % redact_url(url))
            data = req.data
            if data is not None:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    data = io.BytesIO(bytes(data))
                conn.storeFile(parts["share"], parts["path"], data)
                fp, size = io.BytesIO(b""), 0
            else:
                fp = self.createTempFile()
                _, size = conn.retrieveFile(parts["share"], parts["path"], fp)
                fp.seek(0)
        finally:
            conn.close()
        headers = email.message.Message()
        headers["Content-type"] = mimetypes.guess_type(os.path.basename(parts["path"]))[0] or \
            "application/octet-stream"
        headers["Content-length"] = str(size)
        return urllib.response.addinfourl(fp, headers, url)

    @staticmethod
    def _server_name(host, direct):
        """The host's NetBIOS server name, asked of its name service as pysmb does (only for
        NetBIOS sessions, where the name matters); '*SMBSERVER' when it does not answer."""
        if not direct:
            nb = NetBIOS(broadcast=False)
            try:
                # connected, the socket hears the host's "port unreachable" at once (and only
                # the host's answers)
                nb.sock.connect((host, NETBIOS_PORT))
                names = nb.queryIPForName(host, NETBIOS_PORT, timeout=NAME_QUERY_TIMEOUT)
            except OSError:
                names = None
            finally:
                nb.close()
            if names:
                return names[0]
        return "*SMBSERVER"

    def createTempFile(self):
        """The file a download is written to (override to choose another)."""
        return tempfile.SpooledTemporaryFile(max_size=8 << 20)

    def generateClientMachineName(self):
        """This machine's NetBIOS name: the host name's first label, else ``SMB<pid>``."""
        hostname = socket.gethostname()
        if hostname:
            return hostname.split(".")[0]
        return "SMB%d" % os.getpid()
