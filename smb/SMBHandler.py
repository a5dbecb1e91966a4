"""``smb://`` URLs for :mod:`urllib.request`, as pysmb has them.

URL form: ``smb://[domain;]user:password@[server_name,]host[:port]/share/path``. Opening a
URL downloads the file into a spooled temporary file; passing ``data=`` (a file object or
bytes) uploads it instead. Port 445 (or ``IS_DIRECT_TCP``) uses direct TCP, anything else
NetBIOS session service. The server's NetBIOS name defaults to ``*SMBSERVER``.

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
from urllib.parse import unquote, urlparse

from smb.base import OperationFailure
from smb.SMBConnection import SMBConnection

#: NTLMv2 (True) or NTLMv1 (False)
USE_NTLM = True
#: this machine's NetBIOS name; None: derived from the host name
MACHINE_NAME = None
#: always use direct TCP, whatever the port
IS_DIRECT_TCP = False


def parse_smb_url(url):
    """Split an ``smb://`` URL into its parts (a dict); raises ``urllib.error.URLError``."""
    parsed = urlparse(url)
    if parsed.scheme.lower() != "smb":
        raise urllib.error.URLError("not an smb:// URL: %r" % url)
    userinfo, _, hostport = parsed.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    domain = ""
    if ";" in user:
        domain, _, user = user.partition(";")
    server_name = ""
    if "," in hostport:
        server_name, _, hostport = hostport.partition(",")
    host, port = hostport, None
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        host, rest = hostport[1:end], hostport[end + 1:]
        if rest.startswith(":"):
            port = int(rest[1:])
    elif ":" in hostport:
        host, _, p = hostport.rpartition(":")
        port = int(p)
    parts = [unquote(p) for p in parsed.path.split("/") if p]
    if not parts:
        raise urllib.error.URLError("smb:// URL names no share: %r" % url)
    return {
        "domain": unquote(domain), "user": unquote(user), "password": unquote(password),
        "server_name": unquote(server_name) or "*SMBSERVER", "host": host, "port": port,
        "share": parts[0], "path": "/" + "/".join(parts[1:]),
    }


class SMBHandler(urllib.request.BaseHandler):
    """A urllib handler for the ``smb`` scheme (register with ``build_opener``)."""

    def smb_open(self, req):
        url = req.get_full_url()
        parts = parse_smb_url(url)
        port = parts["port"] or 139
        direct = IS_DIRECT_TCP or port == 445
        family = socket.AF_INET6 if ":" in parts["host"] else socket.AF_INET
        my_name = MACHINE_NAME or socket.gethostname().split(".")[0][:15] or "PYCLIENT"
        conn = SMBConnection(parts["user"], parts["password"], my_name, parts["server_name"],
                             domain=parts["domain"], use_ntlm_v2=USE_NTLM, is_direct_tcp=direct)
        try:
            # urllib's default timeout is a sentinel object, not a number
            timeout = req.timeout if isinstance(req.timeout, (int, float)) and req.timeout else 60
            if not conn.connect(parts["host"], port, sock_family=family, timeout=timeout):
                raise urllib.error.URLError("authentication failed for %r" % url)
            data = req.data
            if data is not None:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    data = io.BytesIO(bytes(data))
                conn.storeFile(parts["share"], parts["path"], data)
                fp, size = io.BytesIO(b""), 0
            else:
                fp = tempfile.SpooledTemporaryFile(max_size=8 << 20)
                _, size = conn.retrieveFile(parts["share"], parts["path"], fp)
                fp.seek(0)
        except OperationFailure as e:
            raise urllib.error.URLError(e) from e
        finally:
            conn.close()
        headers = email.message.Message()
        headers["Content-type"] = mimetypes.guess_type(os.path.basename(parts["path"]))[0] or \
            "application/octet-stream"
        headers["Content-length"] = str(size)
        return urllib.response.addinfourl(fp, headers, url)
