"""The SMB2 NEGOTIATE exchange of the client.

Implements [MS-SMB2] 3.2.4.2.2.2 (sending the SMB2 NEGOTIATE request: dialects, SecurityMode,
Capabilities, ClientGuid and the 3.1.1 negotiate contexts of 2.2.3.1.1 PREAUTH_INTEGRITY,
2.2.3.1.2 ENCRYPTION and 2.2.3.1.7 SIGNING capabilities), 3.2.5.2 (receiving the response:
dialect, security mode, sizes, the selected contexts, Connection.PreauthIntegrityHashValue)
and the checks that the server picked something that was offered. ``ClientConfig.ciphers``
and ``ClientConfig.signing_algorithms`` restrict the contexts (and the dialects whose only
signing algorithm is excluded, 3.1.4.1).
"""

from __future__ import annotations

import os

from smb.errors import ProtocolError, UnsupportedFeature
from smb.records import smb2_failure
from smb.smb2 import constants as C
from smb.smb2 import messages as M
from smb.smb2.session import PREAUTH_INITIAL_HASH, preauth_update

SIGN_NEVER = 0
SIGN_WHEN_SUPPORTED = 1
SIGN_WHEN_REQUIRED = 2

#: ciphers / signing algorithms offered with 3.1.1, in order of preference
CIPHERS = (C.CIPHER_AES_128_GCM, C.CIPHER_AES_128_CCM, C.CIPHER_AES_256_GCM, C.CIPHER_AES_256_CCM)
SIGNING_ALGORITHMS = (C.SIGNING_AES_GMAC, C.SIGNING_AES_CMAC, C.SIGNING_HMAC_SHA256)


def offered_ciphers(config) -> tuple:
    """The ciphers of the 3.1.1 ENCRYPTION_CAPABILITIES context (``config.ciphers`` order)."""
    wanted = getattr(config, "ciphers", None)
    if wanted is None:
        return CIPHERS
    return tuple(c for c in dict.fromkeys(wanted) if c in CIPHERS)


def offered_signing_algorithms(config) -> tuple:
    """The algorithms of the 3.1.1 SIGNING_CAPABILITIES context."""
    wanted = getattr(config, "signing_algorithms", None)
    if wanted is None:
        return SIGNING_ALGORITHMS
    return tuple(a for a in dict.fromkeys(wanted) if a in SIGNING_ALGORITHMS)


def offered_dialects(config) -> tuple:
    """The SMB2 dialects this config allows, ascending.

    2.0.2/2.1 sign with HMAC-SHA256 only and 3.0/3.0.2 with AES-CMAC only ([MS-SMB2]
    3.1.4.1): they are left out when ``config.signing_algorithms`` excludes that algorithm,
    and 3.1.1 when no algorithm or cipher remains for its negotiate contexts."""
    if not getattr(config, "support_smb2x", True):
        wanted: tuple[int, ...] = (C.DIALECT_2_0_2,)
    else:
        wanted = C.ALL_DIALECTS
    if config.dialects:
        wanted = tuple(d for d in wanted if d in tuple(config.dialects))
    algs = offered_signing_algorithms(config)
    if C.SIGNING_HMAC_SHA256 not in algs:
        wanted = tuple(d for d in wanted if d >= C.DIALECT_3_0)
    if C.SIGNING_AES_CMAC not in algs:
        wanted = tuple(d for d in wanted if d not in (C.DIALECT_3_0, C.DIALECT_3_0_2))
    if not algs or not offered_ciphers(config):
        wanted = tuple(d for d in wanted if d != C.DIALECT_3_1_1)
    if not wanted:
        raise UnsupportedFeature("no SMB2 dialect left to offer (config.dialects=%r)" % (config.dialects,))
    return tuple(sorted(wanted))


def client_security_mode(config) -> int:
    """SecurityMode of NEGOTIATE and SESSION_SETUP: a client that will sign anyway
    (SIGN_WHEN_SUPPORTED: every SMB2 server can sign; ``require_signing``) says it requires
    signing, so that the server signs the final SESSION_SETUP response too."""
    if getattr(config, "require_signing", False) or config.sign_options == SIGN_WHEN_SUPPORTED:
        return C.NEGOTIATE_SIGNING_ENABLED | C.NEGOTIATE_SIGNING_REQUIRED
    return 0 if config.sign_options == SIGN_NEVER else C.NEGOTIATE_SIGNING_ENABLED


class NegotiateState:
    """What the NEGOTIATE exchange established ([MS-SMB2] 3.2.1.2 Connection)."""

    def __init__(self, response, offered, client_guid, security_mode, capabilities, preauth_hash):
        self.response = response
        self.dialect = response.dialect
        self.offered = offered
        self.client_guid = client_guid
        self.security_mode = security_mode
        self.capabilities = capabilities
        self.preauth_hash = preauth_hash


def build_request(config, offered, client_guid: bytes, salt: bytes | None = None):
    """(body, security_mode, capabilities) of the SMB2 NEGOTIATE request."""
    mode = client_security_mode(config)
    caps = 0
    if max(offered) >= C.DIALECT_3_0:
        caps = C.GLOBAL_CAP_LARGE_MTU | C.GLOBAL_CAP_ENCRYPTION
    contexts: tuple = ()
    if C.DIALECT_3_1_1 in offered:
        contexts = (M.preauth_integrity_context(salt if salt is not None else os.urandom(32)),
                    M.encryption_context(offered_ciphers(config)),
                    M.signing_context(offered_signing_algorithms(config)))
    return M.negotiate_request(offered, mode, caps, client_guid, contexts), mode, caps


def negotiate(conn, config, deadline: float) -> NegotiateState:
    """Send SMB2 NEGOTIATE on ``conn`` and process the response."""
    offered = offered_dialects(config)
    client_guid = os.urandom(16) if max(offered) > C.DIALECT_2_0_2 else bytes(16)
    body, mode, caps = build_request(config, offered, client_guid)
    capture = C.DIALECT_3_1_1 in offered
    [req] = conn.send([(C.NEGOTIATE, body, None, 1)], deadline=deadline, capture=capture)
    conn.wait(req, deadline)
    hdr = req.header
    if hdr.status != C.STATUS_SUCCESS:
        raise smb2_failure("SMB2 NEGOTIATE failed", req)
    neg = M.parse_negotiate_response(req.response)
    check_response(neg, offered, config)
    preauth = None
    if neg.dialect == C.DIALECT_3_1_1:
        preauth = preauth_update(preauth_update(PREAUTH_INITIAL_HASH, req.sent), req.response)
    req.release()
    return NegotiateState(neg, offered, client_guid, mode, caps, preauth)


def check_response(neg, offered, config) -> None:
    """Reject a response that picks anything not offered ([MS-SMB2] 3.2.5.2)."""
    if neg.dialect not in offered:
        raise ProtocolError("server selected SMB2 dialect 0x%04X, which was not offered" % neg.dialect)
    if neg.dialect == C.DIALECT_3_1_1:
        if neg.preauth_hash_id != C.HASH_SHA_512:
            raise ProtocolError("SMB 3.1.1 server selected preauth hash %r (SHA-512 offered)"
                                % (neg.preauth_hash_id,))
        if neg.cipher_id not in (None, 0) and neg.cipher_id not in offered_ciphers(config):
            raise ProtocolError("server selected cipher 0x%04X, which was not offered" % neg.cipher_id)
        if (neg.signing_algorithm_id is not None
                and neg.signing_algorithm_id not in offered_signing_algorithms(config)):
            raise ProtocolError("server selected signing algorithm 0x%04X, which was not offered"
                                % neg.signing_algorithm_id)
        if neg.signing_algorithm_id is None and C.SIGNING_AES_CMAC not in offered_signing_algorithms(config):
            # no SIGNING_CAPABILITIES answer means AES-CMAC ([MS-SMB2] 3.1.4.1)
            raise UnsupportedFeature("the server would sign with AES-CMAC, excluded by "
                                     "config.signing_algorithms")
    if (neg.security_mode & C.NEGOTIATE_SIGNING_REQUIRED and config.sign_options == SIGN_NEVER
            and not getattr(config, "require_signing", False)):
        raise UnsupportedFeature("the server requires SMB2 signing but sign_options is SIGN_NEVER")
    if neg.max_read_size < 4096 or neg.max_write_size < 4096 or neg.max_transact_size < 4096:
        raise ProtocolError("server announced unusable maximum sizes (read %d, write %d, transact %d)"
                            % (neg.max_read_size, neg.max_write_size, neg.max_transact_size))


def cipher_for(neg, config=None):
    """The cipher of an SMB3 connection (Connection.CipherId), or None when encryption is
    impossible: 3.1.1 takes the ENCRYPTION_CAPABILITIES choice (0: no common cipher);
    3.0/3.0.2 use AES-128-CCM when the server has SMB2_GLOBAL_CAP_ENCRYPTION ([MS-SMB2]
    3.2.5.2) and the config accepts that cipher."""
    if neg.dialect == C.DIALECT_3_1_1:
        return neg.cipher_id or None
    if neg.dialect in (C.DIALECT_3_0, C.DIALECT_3_0_2) and neg.capabilities & C.GLOBAL_CAP_ENCRYPTION:
        if config is not None and C.CIPHER_AES_128_CCM not in offered_ciphers(config):
            return None
        return C.CIPHER_AES_128_CCM
    return None
