"""Getting a service ticket for an SMB server: the client side of [MS-KILE] 3.1.5 for SMB.

:class:`KerberosOptions` is what ``SMBConnection(use_kerberos=True, ...)`` carries into
:class:`smb.engine.ClientConfig`. :func:`acquire_service_ticket` finds a ticket for the
server's ``cifs`` service principal, in this order:

1. a still-valid ticket for one of the candidate names in the credential cache (``ccache=``,
   else ``$KRB5CCNAME``);
2. a TGS exchange with a valid TGT from that cache;
3. an AS exchange (RFC 4120 3.1) with the password or the keytab's keys, then a TGS exchange.

New tickets are written back to the cache file when one is named, so the next connection (or
``smbclient -k``) reuses them. Candidate service names ([MS-KILE] 3.1.5.11, the forms Windows
registers): ``service_principal`` if given; else ``cifs/NAME`` for the NetBIOS name and the
host name (not an IP address), each also as ``cifs/NAME.realm`` when it is a short name. The
realm: ``realm=``, else the user name's ``@REALM``, else krb5.conf's default_realm, else the
domain in upper case. KDCs: ``kdc=`` (``host``, ``host:port``, or a list), else krb5.conf.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Union

from smb.kerberos import config as krbconf
from smb.kerberos import crypto
from smb.kerberos.ccache import CCache, ccache_path, load_keytab
from smb.kerberos.creds import NT_PRINCIPAL, Credential, Principal
from smb.kerberos.errors import KDC_ERR_S_PRINCIPAL_UNKNOWN, KRB_AP_ERR_TKT_EXPIRED, KerberosError
from smb.kerberos.exchange import get_service_ticket, get_tgt
from smb.kerberos.kdc import KDCClient


def clock() -> float:
    """This client's idea of the current time (POSIX seconds): the one place that reads the
    clock for authenticators and timestamps, so tests can shift it."""
    return time.time()


@dataclass
class KerberosOptions:
    """Kerberos settings of one connection (see ``SMBConnection``'s keyword arguments)."""

    kdc: Union[None, str, Sequence[str]] = None
    realm: Optional[str] = None
    keytab: Optional[str] = None
    ccache: Optional[str] = None
    service_principal: Optional[str] = None
    ntlm_fallback: bool = False
    krb5_conf: Optional[str] = None
    etypes: Optional[Sequence[int]] = None
    host: str = ""  # the address connect() was given (filled in by the facade)


@dataclass
class Request:
    """Who asks for which server."""

    username: str
    password: object = field(repr=False)  # str, callable, or None/'' (keytab or ccache only)
    domain: str
    remote_name: str
    options: KerberosOptions


def _password(p) -> Optional[str]:
    if callable(p):
        p = p()
    if isinstance(p, bytes):
        p = p.decode("utf-8")
    return p or None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def client_principal(req: Request, conf: krbconf.KrbConfig) -> Principal:
    user = req.username or ""
    if "\\" in user:  # DOMAIN\\user
        user = user.split("\\", 1)[1]
    default_realm = req.options.realm or conf.default_realm or (req.domain or "").upper()
    p = Principal.parse(user, default_realm, NT_PRINCIPAL)
    if not p.realm:
        raise KerberosError("no Kerberos realm: pass realm=..., use user@REALM, or set default_realm "
                            "in krb5.conf")
    if req.options.realm and "@" not in user:
        p = Principal(p.components, req.options.realm.upper(), p.name_type)
    return p


def service_candidates(req: Request, realm: str) -> List[Principal]:
    opts = req.options
    if opts.service_principal:
        p = Principal.parse(opts.service_principal, realm)
        return [Principal(p.components, p.realm, 2)]
    hosts: List[str] = []
    for h in (req.remote_name, opts.host):
        if h and h != "*SMBSERVER" and not _is_ip(h) and h.lower() not in [x.lower() for x in hosts]:
            hosts.append(h)
    names = []
    for h in hosts:
        names.append(h)
        if "." not in h:
            names.append("%s.%s" % (h, realm.lower()))
    if not names:
        raise KerberosError("no server name for the Kerberos service ticket: pass the server's NetBIOS "
                            "or DNS name as remote_name, or service_principal='cifs/host@REALM'")
    return [Principal.service("cifs", n, realm) for n in names]


def kdc_locator(opts: KerberosOptions, conf: krbconf.KrbConfig) -> Callable[[str], KDCClient]:
    explicit = [opts.kdc] if isinstance(opts.kdc, str) else list(opts.kdc or [])

    def locate(realm: str) -> KDCClient:
        entries = [krbconf.parse_kdc(k) for k in explicit] or conf.kdcs(realm)
        return KDCClient(realm, entries, conf.udp_preference_limit)
    return locate


def acquire_service_ticket(req: Request, deadline: float) -> Credential:
    opts = req.options
    conf = krbconf.load(opts.krb5_conf)
    client = client_principal(req, conf)
    etypes = tuple(opts.etypes or crypto.DEFAULT_ETYPES)
    locate = kdc_locator(opts, conf)
    path = ccache_path(opts.ccache)
    cache = _open_cache(path, client)
    candidates = service_candidates(req, client.realm)
    now = clock()
    for server in candidates:
        cred = cache.find(server, client, now)
        if cred is not None:
            return cred
    tgs = Principal(("krbtgt", client.realm), client.realm, 2)
    tgt = cache.find(tgs, client, now)
    if tgt is None:
        password = _password(req.password)
        keys = load_keytab(opts.keytab, client) if opts.keytab else None
        if password is None and not keys:
            _raise_if_expired(cache, client, path, now)
            raise KerberosError("no Kerberos credentials for %s: no password, no key in the keytab and no "
                                "valid ticket in the credential cache %s" % (client, path or "(none)"))
        tgt = get_tgt(client, locate(client.realm), deadline, password=None if keys else password,
                      keys=keys, etypes=etypes, clock=clock)
        cache.add(tgt)
    cred = _service_ticket(tgt, candidates, locate, deadline, etypes)
    cache.add(cred)
    if path:
        cache.save(path)
    return cred


def _raise_if_expired(cache: CCache, client: Principal, path, now: float) -> None:
    expired = [c for c in cache.credentials if c.client.same_name(client) and c.endtime <= now + 60]
    if expired:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(max(c.endtime for c in expired)))
        raise KerberosError("ticket expired: the tickets of %s in the credential cache %s expired at %s "
                            "(run kinit again, or pass a password or keytab)" % (client, path, when),
                            KRB_AP_ERR_TKT_EXPIRED)


def _open_cache(path: Optional[str], client: Principal) -> CCache:
    import os

    if path and os.path.exists(path):
        cache = CCache.load(path)
        if cache.principal is not None and cache.principal.same_name(client):
            return cache
        # another principal's cache: not used, and replaced only if we get new tickets
    return CCache(client)


def _service_ticket(tgt, candidates, locate, deadline, etypes) -> Credential:
    unknown = []
    for server in candidates:
        try:
            return get_service_ticket(tgt, server, locate, deadline, etypes=etypes, clock=clock)
        except KerberosError as e:
            if e.code != KDC_ERR_S_PRINCIPAL_UNKNOWN:
                raise
            unknown.append(str(server))
    raise KerberosError("no such service principal: the KDC knows none of %s (pass service_principal=...)"
                        % ", ".join(unknown), KDC_ERR_S_PRINCIPAL_UNKNOWN)
