"""The one place that picks the authentication mechanism for a session setup.

:func:`make_authenticator` builds, from :class:`smb.engine.ClientConfig`, the SPNEGO
authenticator both engines drive ([MS-SMB2] 3.2.4.2.3, [MS-SMB] 3.2.4.2.4): NTLMSSP
([MS-NLMP]) by default; Kerberos ([MS-KILE], :mod:`smb.kerberos`) when ``config.kerberos``
is set, falling back to NTLM when its ``ntlm_fallback`` is. Every authenticator has
``initial_token(hint)``, ``respond(token)``, ``finish(token)``, ``session_key`` and
``is_anonymous``.
"""

from __future__ import annotations


def make_authenticator(config, timeout=None):
    """``timeout`` (:class:`smb.engine.Timeout`) bounds each answer of the KDC, as it bounds
    each answer of the SMB server."""
    from smb import ntlm, securityblob

    def ntlm_auth():
        return ntlm.NTLMAuthenticator(config.username, config.password, config.domain,
                                      config.my_name, use_ntlm_v2=config.use_ntlm_v2,
                                      lanman=getattr(config, "lanman_auth", False))

    opts = getattr(config, "kerberos", None)
    if opts is None:
        return securityblob.SPNEGOAuthenticator(ntlm_auth())
    from smb.kerberos import client
    from smb.kerberos.spnego import KerberosSPNEGOAuthenticator

    req = client.Request(config.username, config.password, config.domain, config.remote_name, opts)
    if timeout is None:
        from smb.engine import Timeout

        timeout = Timeout(30)
    return KerberosSPNEGOAuthenticator(
        lambda: client.acquire_service_ticket(req, timeout.deadline()),
        clock=lambda: client.clock(),
        ntlm_factory=ntlm_auth if opts.ntlm_fallback else None)
