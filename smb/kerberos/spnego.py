"""SPNEGO (RFC 4178) with the Kerberos 5 mechanism, optionally falling back to NTLMSSP.

The NegTokenInit offers Kerberos (1.2.840.113554.1.2.2) first -- and NTLMSSP second when
``ntlm_fallback`` is set -- with the AP-REQ as the optimistic mechToken (RFC 4178 3.2). The
acceptor's NegTokenResp carries the AP-REP (mutual authentication, RFC 4121 4.1) and, for
the RFC 4121 (CFX) encryption types, a mechListMIC over the DER MechTypeList (RFC 4178 5);
the initiator's own mechListMIC is sent when the acceptor asks for one (negState
request-mic or accept-incomplete after the AP-REP, [MS-SPNG] 3.2.5.1). An acceptor MIC that
does not verify, or a missing AP-REP, is a :class:`smb.errors.ProtocolError`.

Fallback to NTLM ([MS-SPNG] 3.1.5.1, the NTLM mechanism as the second choice) happens when
the server does not offer Kerberos, when no ticket can be had for it (KDC unreachable, no
such principal, no credentials) or when the acceptor selects NTLMSSP instead; a wrong
password or a clock skew at the KDC is reported, not hidden behind NTLM.
"""

from __future__ import annotations

from typing import Callable, List, Optional

from smb import securityblob as sb
from smb.errors import ProtocolError, UnsupportedFeature
from smb.kerberos.errors import (KDC_ERR_C_PRINCIPAL_UNKNOWN, KDC_ERR_S_PRINCIPAL_UNKNOWN, KDCUnreachable,
                                 KerberosError)
from smb.kerberos.gss import KRB5_OID, InitiatorContext

_KRB5_MECHS = (sb.KRB5_OID, sb.MS_KRB5_OID)
# failures after which NTLM may be tried instead (the password itself was not refused)
_FALLBACK_CODES = (None, KDC_ERR_C_PRINCIPAL_UNKNOWN, KDC_ERR_S_PRINCIPAL_UNKNOWN)


class KerberosSPNEGOAuthenticator:
    """The interface of :class:`smb.securityblob.SPNEGOAuthenticator` over Kerberos.

    ``acquire()`` returns the service ticket (a :class:`smb.kerberos.creds.Credential`);
    ``ntlm_factory()``, when given, builds the NTLM authenticator to fall back to.
    """

    def __init__(self, acquire: Callable, clock: Callable[[], float],
                 ntlm_factory: Optional[Callable] = None):
        self.acquire = acquire
        self.clock = clock
        self.ntlm_factory = ntlm_factory
        self.mech_types: List[str] = [KRB5_OID] + ([sb.NTLMSSP_OID] if ntlm_factory else [])
        self.context: Optional[InitiatorContext] = None
        self.fallback: Optional[sb.SPNEGOAuthenticator] = None
        self.completed = False
        self.mic_sent = False
        self.mic_verified = False
        #: why Kerberos was not used (set when falling back to NTLM)
        self.fallback_reason: Optional[str] = None

    # --- the SPNEGOAuthenticator interface --------------------------------------------------
    def initial_token(self, server_hint: Optional[bytes] = None) -> bytes:
        server_mechs = sb.parse_negotiate_hint(server_hint)
        if server_mechs and not any(m in server_mechs for m in _KRB5_MECHS):
            return self._fall_back("the server does not offer Kerberos (it offers %s)"
                                   % ", ".join(server_mechs), server_hint)
        try:
            cred = self.acquire()
        except KDCUnreachable as e:
            return self._fall_back(str(e), server_hint, e)
        except KerberosError as e:
            if e.code not in _FALLBACK_CODES:
                raise
            return self._fall_back(str(e), server_hint, e)
        self.context = InitiatorContext(cred, clock=self.clock)
        return sb.encode_neg_token_init(self.mech_types, mech_token=self.context.initial_token())

    def respond(self, server_token: bytes) -> bytes:
        if self.fallback is not None:
            return self.fallback.respond(server_token)
        resp = sb.decode_neg_token_resp(server_token)
        if resp["negState"] == sb.RESULT_REJECT:
            raise sb.AuthenticationRejected("the server rejected the Kerberos authentication")
        if resp["negState"] not in (None, sb.RESULT_ACCEPT_INCOMPLETE, sb.RESULT_REQUEST_MIC):
            raise ProtocolError("SPNEGO: unexpected negState %d after the AP-REQ" % resp["negState"])
        mech = resp["supportedMech"]
        if mech == sb.NTLMSSP_OID and self.ntlm_factory is not None and resp["responseToken"] is None:
            # the acceptor chose NTLM: start NTLMSSP in a NegTokenResp (RFC 4178 3.2 step 4)
            self.fallback_reason = "the server selected NTLM"
            self.fallback = sb.SPNEGOAuthenticator(self.ntlm_factory())
            self.fallback.MECH_TYPES = tuple(self.mech_types)
            return sb.encode_neg_token_resp(response_token=self.fallback.ntlm.negotiate_message())
        self._check_mech(mech)
        self._accept(resp)
        if self.context is None or not self.context.complete:
            raise ProtocolError("SPNEGO: the server asked for more without completing Kerberos")
        mic = self.context.get_mic(sb.encode_mech_type_list(self.mech_types))
        self.mic_sent = True
        return sb.encode_neg_token_resp(mech_list_mic=mic)

    def finish(self, server_token: Optional[bytes]) -> None:
        if self.fallback is not None:
            self.fallback.finish(server_token)
            self.completed = True
            return
        if server_token:
            resp = sb._server_resp(server_token, sb.RESULT_ACCEPT_COMPLETED,
                                   "the server rejected the Kerberos authentication", "after authentication")
            self._check_mech(resp["supportedMech"])
            self._accept(resp)
        if self.context is None or not self.context.complete:
            raise ProtocolError("Kerberos mutual authentication failed: the server sent no AP-REP")
        self.completed = True

    @property
    def key_before_reply(self) -> Optional[bytes]:
        """Only an NTLM fallback knows its key before the reply; Kerberos may learn a
        subkey from the AP-REP."""
        return self.fallback.key_before_reply if self.fallback is not None else None

    @property
    def session_key(self) -> bytes:
        if self.fallback is not None:
            return self.fallback.session_key
        assert self.context is not None, "no session key before authentication"
        return self.context.session_key.contents

    @property
    def is_anonymous(self) -> bool:
        return self.fallback is not None and self.fallback.is_anonymous

    @property
    def mechanism(self) -> str:
        """ "Kerberos", or the NTLM mechanism it fell back to."""
        if self.fallback is not None:
            return "%s (Kerberos fallback)" % self.fallback.mechanism
        return "Kerberos"

    @property
    def ntlm(self):
        """The NTLM authenticator after a fallback (None with Kerberos)."""
        return self.fallback.ntlm if self.fallback is not None else None

    # --- helpers ---------------------------------------------------------------------------
    def _fall_back(self, reason: str, server_hint, cause: Exception | None = None) -> bytes:
        if self.ntlm_factory is None:
            if cause is not None:
                raise cause
            raise UnsupportedFeature("Kerberos: %s (pass ntlm_fallback=True to allow NTLM)" % reason)
        self.fallback_reason = reason
        self.fallback = sb.SPNEGOAuthenticator(self.ntlm_factory())
        return self.fallback.initial_token(server_hint)

    @staticmethod
    def _check_mech(mech: Optional[str]) -> None:
        if mech is not None and mech not in _KRB5_MECHS:
            raise ProtocolError("SPNEGO: server selected mechanism %s, not Kerberos" % mech)

    def _accept(self, resp: dict) -> None:
        assert self.context is not None, "initial_token() made the Kerberos context"
        token = resp["responseToken"]
        if token is not None and not (self.context.complete and self.context.recv_seq is not None):
            try:
                self.context.step(token)
            except KerberosError as e:
                if e.code is None:  # not a KRB-ERROR: the server's token is malformed
                    raise ProtocolError("Kerberos: %s" % e) from None
                raise
        mic = resp["mechListMIC"]
        if mic is not None:
            if not self.context.complete:
                raise ProtocolError("SPNEGO: a mechListMIC before the Kerberos context is complete")
            if not self.context.verify_mic(sb.encode_mech_type_list(self.mech_types), mic):
                raise ProtocolError("SPNEGO: the server's mechListMIC does not verify")
            self.mic_verified = True
