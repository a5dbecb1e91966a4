"""The engine contract, checked once over both engines (issue 11.2).

Malformed server data (ProtocolError) breaks the connection wherever it is found: the call
raises ProtocolError and every later call NotConnectedError. The contract lives in
``smb.engine.Engine`` (every method of ``Engine.OPERATIONS`` is wrapped once); these tests
check the wrapping of both engines and then break a CREATE answer on the wire, through
:class:`tests.hostile.MitmProxy`, for the two paths that once escaped it: the CREATE of a
named pipe (SMB2 ``open_pipe``, behind ``listShares``) and SMB1's NT_CREATE_ANDX words
(behind ``retrieveFile``).
"""

import io
import os
import struct

import pytest

from smb import smb_structs
from smb.engine import Engine
from smb.errors import NotConnectedError, ProtocolError
from smb.smb1.engine import SMB1Engine
from smb.smb2.engine import SMB2Engine
from smb.SMBConnection import SMBConnection
from tests.hostile import MitmProxy

pytestmark = pytest.mark.integration

SMB2_CREATE = 5
SMB1_NT_CREATE_ANDX = 0xA2


@pytest.mark.parametrize("engine", [SMB1Engine, SMB2Engine], ids=["smb1", "smb2"])
def test_every_operation_is_guarded(engine):
    for name in Engine.OPERATIONS:
        method = getattr(engine, name, None)
        assert method is not None, name
        assert getattr(method, "_guarded", False), "%s.%s escapes the contract" % (engine.__name__, name)


def _break_smb2_create(proxy, p):
    """Every successful SMB2 CREATE answer in the frame (compounds included) gets a create
    context list pointing far past the message."""
    out = bytearray(p)
    pos = 0
    while out[pos:pos + 4] == b"\xfeSMB":
        status, cmd = struct.unpack_from("<IH", out, pos + 8)
        if cmd == SMB2_CREATE and status == 0:
            struct.pack_into("<II", out, pos + 64 + 80, 0x00FFFF00, 200)
            proxy.state["broken"] = proxy.state.get("broken", 0) + 1
        nxt = struct.unpack_from("<I", out, pos + 20)[0]
        if not nxt:
            break
        pos += nxt
    return bytes(out)


def _break_smb1_create(proxy, p):
    """A successful NT_CREATE_ANDX answer cut to 3 parameter words (it has 34 or more)."""
    if p[:4] == b"\xffSMB" and p[4] == SMB1_NT_CREATE_ANDX and p[5:9] == bytes(4):
        proxy.state["broken"] = proxy.state.get("broken", 0) + 1
        return p[:32] + b"\x03" + b"\xff\x00\x00\x00\x00\x00" + b"\x00\x00"
    return p


@pytest.mark.parametrize("smb1", [False, True], ids=["smb2-open_pipe", "smb1-create"])
def test_malformed_create_breaks_the_connection(samba, smb1):
    path = os.path.join(samba.share_path, "contract.bin")
    with open(path, "wb") as f:
        f.write(b"c" * 1000)
    os.chmod(path, 0o666)
    smb_structs.SUPPORT_SMB2 = not smb1  # restored after the test (tests/conftest.py)
    hook = _break_smb1_create if smb1 else _break_smb2_create
    def on_response(proxy, p):
        return hook(proxy, p) if proxy.state.get("armed") else p

    with MitmProxy((samba.host, samba.port), on_response=on_response) as proxy:
        conn = SMBConnection(samba.user, samba.password, "CONTRACT", samba.server_name, is_direct_tcp=True)
        assert conn.connect(samba.host, proxy.port, timeout=10)
        assert not conn.security.signed  # so that the parser, not the signature, meets the damage
        assert conn.echo(b"before", timeout=10) == b"before"
        proxy.state["armed"] = True
        with pytest.raises(ProtocolError):
            if smb1:
                conn.retrieveFile(samba.share, "contract.bin", io.BytesIO(), timeout=10)
            else:
                conn.listShares(timeout=10)
        assert proxy.state["broken"] >= 1
        proxy.state["armed"] = False
        for call in (lambda: conn.echo(b"after", timeout=10),
                     lambda: conn.listPath(samba.share, "/", timeout=10)):
            with pytest.raises(NotConnectedError):
                call()
        conn.close()
