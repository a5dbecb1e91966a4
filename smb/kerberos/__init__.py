"""A Kerberos 5 client in pure Python (pyasn1 + pycryptodome) for SMB authentication.

Modules, each citing its specifications:

* :mod:`~smb.kerberos.crypto` -- RFC 3961/3962/8009/4757 encryption and checksum types;
* :mod:`~smb.kerberos.asn1` -- the RFC 4120 section 5 messages;
* :mod:`~smb.kerberos.kdc` -- UDP/TCP transport to KDCs (RFC 4120 7.2);
* :mod:`~smb.kerberos.exchange` -- AS and TGS exchanges (RFC 4120 3.1, 3.3);
* :mod:`~smb.kerberos.gss` -- the GSS-API Kerberos mechanism (RFC 4121, RFC 1964 framing);
* :mod:`~smb.kerberos.spnego` -- Kerberos (and NTLM fallback) inside SPNEGO (RFC 4178);
* :mod:`~smb.kerberos.ccache`, :mod:`~smb.kerberos.config` -- MIT ccache/keytab files, krb5.conf;
* :mod:`~smb.kerberos.client` -- getting a ``cifs/`` service ticket for an SMB connection.

``SMBConnection(..., use_kerberos=True)`` is the way in (see docs/kerberos.rst); failures raise
:class:`KerberosError`.
"""

from smb.kerberos.errors import KDCUnreachable, KerberosError

__all__ = ["KerberosError", "KDCUnreachable"]
