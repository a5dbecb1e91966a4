"""Logging (issue 15.2): the standard ``logging`` module with pysmb's logger names.

``SMB.SMBConnection`` gets an INFO record per connection (dialect, authentication
mechanism, signing, encryption); ``SMB.SMB`` a DEBUG record per message sent and received
(command, message id, status, size). A handler on the ``SMB`` parent sees both. No record
carries the password, its NT hash, a session key or a signing/encryption key, in any form.
"""

import io
import logging

import pytest

from smb import ntlm_crypto, smb_structs
from smb.SMBConnection import SMBConnection

pytestmark = pytest.mark.integration


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def text(self):
        return "\n".join("%s %s %s" % (r.name, r.levelname, r.getMessage()) for r in self.records)


@pytest.fixture
def records():
    handler = _Records()
    root = logging.getLogger("SMB")
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


def _forms(secret: bytes):
    """The ways a secret could appear in a message: raw, repr, hex (both cases)."""
    return {secret.hex(), secret.hex().upper(), repr(secret)[2:-1]} if secret else set()


@pytest.mark.parametrize("variant,smb1,expect", [
    ("signing", False, ("SMB 3.1.1", "NTLMv2", "signing AES-")),
    ("encrypt", False, ("SMB 3.1.1", "NTLMv2", "encryption AES-")),
    ("signing", True, ("SMB1", "NTLMv2", "signing MD5")),
], ids=["smb311-signed", "smb311-encrypted", "smb1-signed"])
def test_records_and_no_secrets(samba_factory, records, variant, smb1, expect):
    info = samba_factory(variant)
    smb_structs.SUPPORT_SMB2 = not smb1  # restored after the test (tests/conftest.py)
    conn = SMBConnection(info.user, info.password, "LOGTEST", info.server_name, is_direct_tcp=True,
                         sign_options=SMBConnection.SIGN_WHEN_SUPPORTED,
                         require_encryption=variant == "encrypt")
    assert conn.connect(info.host, info.port, timeout=30)
    data = b"logged transfer " * 1000
    conn.storeFile(info.share, "logged.bin", io.BytesIO(data))
    out = io.BytesIO()
    conn.retrieveFile(info.share, "logged.bin", out)
    assert out.getvalue() == data
    conn.deleteFiles(info.share, "logged.bin")
    engine = conn._engine
    keys = [getattr(engine, "session_key", b"") or b"", getattr(engine.conn, "signing_key", b"") or b""]
    session = getattr(engine, "session", None)
    if session is not None:
        keys += [session.session_key or b"", session.encryption_key or b"", session.decryption_key or b"",
                 session.application_key or b""]
    conn.close()

    info_records = [r for r in records.records if r.name == "SMB.SMBConnection" and r.levelno == logging.INFO]
    assert len(info_records) == 1
    line = info_records[0].getMessage()
    for word in expect + (info.user,):
        assert word in line, line
    debug = [r.getMessage() for r in records.records if r.name == "SMB.SMB" and r.levelno == logging.DEBUG]
    family = "SMB1" if smb1 else "SMB2"
    sent = [m for m in debug if m.startswith(family + " send")]
    received = [m for m in debug if m.startswith(family + " recv")]
    # small files: one message each (issue 12), SMB1 AndX chains logged as NT_CREATE_ANDX+...
    assert len(sent) >= 6 and len(received) >= 6
    names = ("NT_CREATE_ANDX", "WRITE_ANDX", "READ_ANDX", "CLOSE") if smb1 else ("CREATE", "WRITE", "READ", "CLOSE")

    def commands(m):
        return m.split()[2].split("+")
    for name in names:
        assert any(name in commands(m) for m in sent), name
        assert any(name in commands(m) and "status=0x00000000" in m for m in received), name

    text = records.text()
    secrets = {info.password} | _forms(info.password.encode("utf-16-le")) | _forms(ntlm_crypto.ntowf_v1(info.password))
    for key in keys:
        secrets |= _forms(bytes(key))
    assert sum(1 for k in keys if k) >= 1  # the keys of this session are among those checked
    for secret in secrets:
        assert secret not in text, "a secret in the log"


def test_a_failed_logon_logs_no_password(samba, records):
    secret = "Not-The-Password-%d" % id(records)
    conn = SMBConnection(samba.user, secret, "LOGTEST", samba.server_name, is_direct_tcp=True)
    assert conn.connect(samba.host, samba.port, timeout=30) is False
    text = records.text()
    assert "authentication failed" in text and samba.user in text
    for form in {secret} | _forms(secret.encode("utf-16-le")) | _forms(ntlm_crypto.ntowf_v1(secret)):
        assert form not in text
