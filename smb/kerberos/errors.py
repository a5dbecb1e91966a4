"""Kerberos errors: :class:`KerberosError` and the RFC 4120 section 7.5.9 error codes.

Every failure of the Kerberos client (KDC unreachable, KRB-ERROR from the KDC or the server,
a reply that does not decrypt or verify) raises :class:`KerberosError` with a message saying
what failed in words; ``code`` is the Kerberos error code when there is one. Messages never
carry keys, passwords or ciphertext.
"""

from __future__ import annotations

from typing import Optional

# RFC 4120 7.5.9 (and the Windows/Heimdal additions used by AD)
KDC_ERR_NAME_EXP = 1
KDC_ERR_SERVICE_EXP = 2
KDC_ERR_C_PRINCIPAL_UNKNOWN = 6
KDC_ERR_S_PRINCIPAL_UNKNOWN = 7
KDC_ERR_PRINCIPAL_NOT_UNIQUE = 8
KDC_ERR_NULL_KEY = 9
KDC_ERR_BADOPTION = 13
KDC_ERR_ETYPE_NOSUPP = 14
KDC_ERR_CLIENT_REVOKED = 18
KDC_ERR_SERVICE_REVOKED = 19
KDC_ERR_TGT_REVOKED = 20
KDC_ERR_KEY_EXPIRED = 23
KDC_ERR_PREAUTH_FAILED = 24
KDC_ERR_PREAUTH_REQUIRED = 25
KDC_ERR_WRONG_REALM = 68
KRB_AP_ERR_BAD_INTEGRITY = 31
KRB_AP_ERR_TKT_EXPIRED = 32
KRB_AP_ERR_TKT_NYV = 33
KRB_AP_ERR_REPEAT = 34
KRB_AP_ERR_SKEW = 37
KRB_AP_ERR_MODIFIED = 41
KRB_ERR_RESPONSE_TOO_BIG = 52
KRB_ERR_GENERIC = 60

_MEANINGS = {
    KDC_ERR_NAME_EXP: "the client's entry in the KDC database has expired",
    KDC_ERR_SERVICE_EXP: "the server's entry in the KDC database has expired",
    KDC_ERR_C_PRINCIPAL_UNKNOWN: "no such principal (the KDC does not know the user)",
    KDC_ERR_S_PRINCIPAL_UNKNOWN: "no such service principal (the KDC does not know the server name)",
    KDC_ERR_PRINCIPAL_NOT_UNIQUE: "the principal name is not unique in the KDC database",
    KDC_ERR_NULL_KEY: "the principal has no key",
    KDC_ERR_BADOPTION: "the KDC cannot honour a requested option",
    KDC_ERR_ETYPE_NOSUPP: "no common encryption type (the KDC supports none that this client offers)",
    KDC_ERR_CLIENT_REVOKED: "the account is disabled, locked out or revoked",
    KDC_ERR_SERVICE_REVOKED: "the service's credentials have been revoked",
    KDC_ERR_TGT_REVOKED: "the ticket-granting ticket has been revoked",
    KDC_ERR_KEY_EXPIRED: "the password has expired (change it)",
    KDC_ERR_PREAUTH_FAILED: "wrong password (pre-authentication failed)",
    KDC_ERR_PREAUTH_REQUIRED: "pre-authentication required",
    KDC_ERR_WRONG_REALM: "wrong realm",
    KRB_AP_ERR_BAD_INTEGRITY: "integrity check failed (wrong password or key)",
    KRB_AP_ERR_TKT_EXPIRED: "ticket expired",
    KRB_AP_ERR_TKT_NYV: "ticket not yet valid",
    KRB_AP_ERR_REPEAT: "request is a replay",
    KRB_AP_ERR_SKEW: "clock skew too great (this machine's clock and the KDC's/server's differ "
                     "by more than the allowed skew, usually 5 minutes)",
    KRB_AP_ERR_MODIFIED: "message modified (the server cannot decrypt the ticket: wrong key, "
                         "or the ticket is for another server)",
    KRB_ERR_RESPONSE_TOO_BIG: "response too big for UDP",
    KRB_ERR_GENERIC: "generic error",
}


def error_meaning(code: int) -> str:
    return _MEANINGS.get(code, "Kerberos error %d" % code)


class KerberosError(Exception):
    """Kerberos authentication failed; ``code`` is the RFC 4120 error code (None when the
    failure is local: no KDC reachable, a reply that does not verify, a bad file)."""

    def __init__(self, message: str, code: Optional[int] = None):
        super().__init__(message)
        self.code = code

    @classmethod
    def from_code(cls, code: int, what: str, e_text: str = "") -> "KerberosError":
        msg = "%s: %s (Kerberos error %d)" % (what, error_meaning(code), code)
        if e_text:
            msg += "; the KDC says: %s" % e_text[:200]
        return cls(msg, code)


class KDCUnreachable(KerberosError):
    """No KDC of the realm answered (connection refused, timeout, name not resolved)."""
